//! `scimulator check` (issue 5): the RFC 7643/7644 conformance probes pass against the built-in
//! server, and the RFC verdict is kept apart from the IdP verdicts (acceptance point 4).
//!
//! On PATCH op case: RFC 7644 §3.5.2 says "Each PATCH operation object MUST have exactly one
//! "op" member, whose value indicates the operation to perform and MAY be one of "add",
//! "remove", or "replace"", and its examples and the PatchOp schema write them in lower case;
//! nothing in the RFC asks a server to accept "Add" or "Replace". So a server that answers a
//! PascalCase op with 400 is RFC-conformant on that point, yet fails with Entra ID, whose
//! default dialect sends PascalCase ops.

mod buggy;

use buggy::Bug;
use serde_json::Value;

/// Long enough that redacting it cannot touch anything else in the output.
const TOKEN: &str = "rfc-check-token-3b9e27a1";

struct Out {
    code: Option<i32>,
    text: String,
}

/// Runs the real binary with `args` from the crate root, without `SCIM_TOKEN`.
async fn scimulator(args: Vec<String>) -> Out {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_scimulator"))
            .current_dir(root)
            .env_remove("SCIM_TOKEN")
            .args(&args)
            .output()
            .expect("run scimulator")
    })
    .await
    .expect("join");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains(TOKEN), "the token leaked:\n{text}");
    Out {
        code: out.status.code(),
        text,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_against_the_built_in_server_passes_every_probe_or_skips_it_for_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let out = scimulator(vec![
        "check".into(),
        "--no-color".into(),
        "--report".into(),
        dir.path().display().to_string(),
    ])
    .await;
    assert_eq!(out.code, Some(0), "{}", out.text);
    assert!(
        out.text
            .contains("RFC 7643/7644 conformance: PASS (57 probes: 56 passed, 0 failed, 1 skipped"),
        "{}",
        out.text
    );
    // No IdP verdict: `check` answers the RFC question only.
    assert!(!out.text.contains("works with"), "{}", out.text);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    let checks = report["scenarios"][0]["steps"][0]["checks"]
        .as_array()
        .unwrap();
    assert!(checks.len() >= 50);
    for c in checks {
        let name = c["name"].as_str().unwrap();
        assert!(name.starts_with("rfc "), "{name}");
        match c["outcome"].as_str().unwrap() {
            "passed" => {}
            "skipped" => assert!(
                c["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("skipped: ServiceProviderConfig says"),
                "{name}: {}",
                c["message"]
            ),
            other => panic!("{name} {other}: {}", c["message"]),
        }
    }
    // The built-in server advertises no bulk: exactly that probe is skipped.
    let skipped: Vec<&str> = checks
        .iter()
        .filter(|c| c["outcome"] == "skipped")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["rfc crud POST /Bulk"]);
    assert_eq!(report["scenarios"][0]["findings"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pascal_case_ops_rejected_passes_rfc_and_fails_entra_default() {
    let server = buggy::start(Bug::RejectPascalCaseOps, TOKEN).await;
    let out = scimulator(vec![
        "check".into(),
        "--target".into(),
        server.url.clone(),
        "--token".into(),
        TOKEN.into(),
        "--no-color".into(),
    ])
    .await;
    assert_eq!(out.code, Some(0), "{}", out.text);
    assert!(
        out.text.contains("  RFC 7643/7644 conformance: PASS ("),
        "{}",
        out.text
    );
    // The probes deleted everything they created.
    let left: Value = reqwest::Client::new()
        .get(format!("{}/Users?count=1000", server.upstream.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(left["totalResults"], 0, "left behind: {left}");
    let groups: Value = reqwest::Client::new()
        .get(format!("{}/Groups", server.upstream.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(groups["totalResults"], 0, "left behind: {groups}");
    server.stop().await;

    let run = buggy::run_against(
        Bug::RejectPascalCaseOps,
        TOKEN,
        "scenarios/entra/cisco-guide.yaml",
    )
    .await;
    run.assert_code(1)
        .assert_contains("  works with Entra ID (default): FAIL (1 of 1 scenarios failed)")
        .assert_contains("    - MUST Entra ID: ");
    assert!(
        !run.output.contains("RFC 7643/7644 conformance: FAIL"),
        "{}",
        run.output
    );
}
