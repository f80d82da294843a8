//! `scimulator run` of the bundled OneLogin scenarios against servers with a bug OneLogin's
//! request shapes expose: the `+`-encoded lookup (https://github.com/goauthentik/authentik/issues/11249
//! logs `GET /Users?filter=userName+eq+%22…%22&`) and the `PUT /Users/{id}?` with its trailing
//! `?` (same log). Each must become a finding that names the OneLogin behaviour that met it,
//! with its source; a faithful proxy and the minimal RFC-legal server get none.

mod buggy;

use buggy::{Bug, Run};
use serde_json::Value;

const TOKEN: &str = "buggy-proxy-token-onelogin-7c41d9";

async fn run(bug: Bug, scenario: &str) -> Run {
    buggy::run_against(bug, TOKEN, &format!("scenarios/onelogin/{scenario}")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faithful_proxy_passes_the_onelogin_scenarios() {
    for scenario in ["lifecycle.yaml", "template-variants.yaml"] {
        run(Bug::None, scenario)
            .await
            .assert_code(0)
            .assert_contains("passed");
    }
}

/// A server that reads `+` in the query literally cannot parse OneLogin's lookup: every user
/// lookup is refused, nothing is provisioned, and the finding names the lookup (observed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plus_encoded_filters_refused() {
    run(Bug::PlusIsLiteral, "lifecycle.yaml")
        .await
        .assert_code(1)
        .assert_contains("FAILED onelogin-lifecycle")
        // The connection check first (documented, O1), then every lookup (observed, O2).
        .assert_contains("MUST OneLogin: enable the app (GET /Users?filter=…&)")
        .assert_contains("MUST OneLogin: user lookup (GET /Users?filter=…&) ×3")
        .assert_contains(r#"cannot parse filter "userName+eq+\"ana."#)
        .assert_contains("source: https://github.com/goauthentik/authentik/issues/11249");
}

/// A server that keeps the `?` of an empty query in the id answers OneLogin's update 404:
/// the update is blamed on Update User (PUT /Users/{id}?), not on the lookup or the create.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trailing_question_mark_breaks_updates() {
    let r = run(Bug::EmptyQueryInId, "lifecycle.yaml").await;
    r.assert_code(1)
        .assert_contains("MUST OneLogin: Update User (PUT /Users/{id}?)")
        .assert_contains("PUT /Users/{id}? answered HTTP 404")
        .assert_contains("last sent by OneLogin: Update User (PUT /Users/{id}?)");
    assert!(
        !r.output.contains("OneLogin: user lookup") && !r.output.contains("OneLogin: Create User"),
        "only the PUT met the bug:\n{}",
        r.output
    );
}

/// The minimal RFC-legal server (strict about what it declares, requiring only userName) works with
/// OneLogin's standard template: no finding at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minimal_legal_server_gets_no_onelogin_finding() {
    // Legal strictness (unknown attributes dropped, undeclared filters refused), with only
    // userName required: what these IdPs' default mappings always send.
    let flaws = buggy::strict::Flaws {
        nothing_required: true,
        ..Default::default()
    };
    let server = buggy::strict::start(flaws, TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    let (url, report) = (server.url.clone(), dir.path().to_path_buf());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_scimulator"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("SCIM_TOKEN")
            .args(["run", "scenarios/onelogin/lifecycle.yaml", "--target", &url])
            .args(["--token", TOKEN, "--no-color", "--report"])
            .arg(&report)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    server.stop().await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    let findings = report["scenarios"][0]["findings"].as_array().unwrap();
    assert!(findings.is_empty(), "{findings:#?}");
}
