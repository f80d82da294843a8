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

use buggy::strict::Flaws;
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
            .contains("RFC 7643/7644 conformance: PASS (60 probes: 59 passed, 0 failed, 1 skipped"),
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

/// Runs `scimulator check` against `url` with the test token; report.json is read back.
async fn check_against(url: &str) -> (Out, Value) {
    let dir = tempfile::tempdir().unwrap();
    let out = scimulator(vec![
        "check".into(),
        "--target".into(),
        url.into(),
        "--token".into(),
        TOKEN.into(),
        "--no-color".into(),
        "--report".into(),
        dir.path().display().to_string(),
    ])
    .await;
    let report = std::fs::read_to_string(dir.path().join("report.json"))
        .unwrap_or_else(|e| panic!("report.json: {e}\n{}", out.text));
    (out, serde_json::from_str(&report).unwrap())
}

/// The checks of the probe step and the findings of report.json.
fn checks_and_findings(report: &Value) -> (Vec<Value>, Vec<Value>) {
    let s = &report["scenarios"][0];
    (
        s["steps"][0]["checks"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
        s["findings"].as_array().cloned().unwrap_or_default(),
    )
}

fn check_named<'a>(checks: &'a [Value], name: &str) -> &'a Value {
    checks
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name:?} in {checks:#?}"))
}

/// Findings that fail a run (anything but INFO), as `SEVERITY behaviour: first line`.
fn failing(findings: &[Value]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f["severity"] != "INFO")
        .map(|f| {
            format!(
                "{} {}: {}",
                f["severity"].as_str().unwrap(),
                f["behaviour"].as_str().unwrap(),
                f["message"].as_str().unwrap().lines().next().unwrap_or("")
            )
        })
        .collect()
}

async fn check_strict(flaws: Flaws) -> (Out, Vec<Value>, Vec<Value>) {
    let server = buggy::strict::start(flaws, TOKEN).await;
    let (out, report) = check_against(&server.url).await;
    server.stop().await;
    let (checks, findings) = checks_and_findings(&report);
    (out, checks, findings)
}

const NOTHING_REQUIRED: Flaws = Flaws {
    nothing_required: true,
    hides_required: false,
    ignores_filter: false,
    ignores_excluded_attributes: false,
    non_atomic_patch: false,
    put_merges: false,
    soft_delete: false,
};

/// Issue 8 item 2: a filter operator answered `400 invalidFilter` is "not supported"
/// (information), never a MUST failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsupported_filter_operator_is_information_not_a_failure() {
    let (out, checks, findings) = check_strict(NOTHING_REQUIRED).await;
    for op in ["ne", "co", "sw", "gt", "pr", "or", "not"] {
        let c = check_named(&checks, &format!("rfc filter {op}"));
        assert_eq!(c["outcome"], "skipped", "filter {op}: {c:#}\n{}", out.text);
        assert!(
            c["message"]
                .as_str()
                .unwrap()
                .starts_with("not supported: "),
            "filter {op}: {c:#}"
        );
        let info = findings
            .iter()
            .find(|f| f["behaviour"] == format!("RFC 7643/7644: filter {op}"))
            .unwrap_or_else(|| panic!("no finding for filter {op}:\n{}", out.text));
        assert_eq!(info["severity"], "INFO", "{info:#}");
        assert_eq!(info["source"], "RFC 7644 §3.4.2.2, §3.12", "{info:#}");
    }
    // eq is supported, and works.
    assert_eq!(check_named(&checks, "rfc filter eq")["outcome"], "passed");
    assert!(
        !failing(&findings).iter().any(|f| f.contains(": filter ")),
        "{:#?}",
        failing(&findings)
    );
}

/// Issue 8 item 3: pagination probes depend on `eq` only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_probes_pass_on_a_server_with_only_eq() {
    let (out, checks, _) = check_strict(NOTHING_REQUIRED).await;
    for name in [
        "count=0 returns totalResults only",
        "negative count is read as 0",
        "startIndex past the end is an empty page",
        "pages are stable and cover every result once",
        "startIndex 0 is read as 1",
    ] {
        let c = check_named(&checks, &format!("rfc pagination {name}"));
        assert_eq!(c["outcome"], "passed", "{name}: {c:#}\n{}", out.text);
    }
}

/// Issue 8 item 4: probes use attributes the server's /Schemas declares, and say which.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_use_only_declared_attributes_and_name_them() {
    let (out, checks, findings) = check_strict(NOTHING_REQUIRED).await;
    assert!(
        !out.text.contains("claimed in ServiceProviderConfig"),
        "{}",
        out.text
    );
    for name in [
        "patch add with path",
        "patch add without path",
        "patch replace with path",
        "patch replace without path",
        "patch replace sub-attribute",
        "patch replace with URN path",
        "patch remove with path",
        "crud GET /Users/{id}",
    ] {
        let c = check_named(&checks, &format!("rfc {name}"));
        assert_eq!(c["outcome"], "passed", "{name}: {c:#}\n{}", out.text);
        let msg = c["message"].as_str().unwrap();
        assert!(msg.contains("attribute used: "), "{name}: {msg}");
        for undeclared in ["title", "nickName", "profileUrl", "displayName"] {
            assert!(
                !msg.contains(&format!("attribute used: {undeclared}")),
                "{name}: {msg}"
            );
        }
    }
    assert_eq!(failing(&findings), Vec::<String>::new(), "{}", out.text);
}

/// Issue 8 item 5: probe users carry the attributes /Schemas marks required, so no set-up
/// fails on a server that enforces them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_users_carry_the_required_attributes() {
    let (out, checks, findings) = check_strict(Flaws::default()).await;
    for c in &checks {
        let msg = c["message"].as_str().unwrap();
        for attr in ["name", "name.familyName", "name.formatted", "emails"] {
            assert!(
                !msg.contains(&format!("{attr} is required")),
                "{}: {msg}\n{}",
                c["name"],
                out.text
            );
        }
        assert!(!msg.contains("set-up failed"), "{}: {msg}", c["name"]);
    }
    assert_eq!(
        check_named(&checks, "rfc crud POST /Users is 201 with Location and id")["outcome"],
        "passed"
    );
    assert_eq!(failing(&findings), Vec::<String>::new(), "{}", out.text);
}

/// Issue 8 item 5: a probe whose set-up failed is "not run: set-up failed (reason)", never a
/// finding about the feature it did not reach. The server requires attributes its /Schemas
/// does not mark required, so every probe user's POST fails: the one finding is the POST's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_set_up_is_not_run_and_no_finding_about_the_feature() {
    let (out, checks, findings) = check_strict(Flaws {
        hides_required: true,
        ..Flaws::default()
    })
    .await;
    assert_eq!(out.code, Some(1), "{}", out.text);
    assert_eq!(
        failing(&findings),
        ["MUST RFC 7643/7644: crud POST /Users is 201 with Location and id: 1 of 1 assertions failed"],
        "{}",
        out.text
    );
    for name in [
        "rfc filter eq",
        "rfc pagination count=0 returns totalResults only",
        "rfc attributes excludedAttributes leaves a returned attribute out",
        "rfc patch add with path",
        "rfc patch a failing operation leaves the resource unchanged",
        "rfc uniqueness duplicate userName is 409 uniqueness",
        "rfc content types request with charset, scim+json response",
        "rfc crud DELETE then 404",
    ] {
        let c = check_named(&checks, name);
        assert_eq!(c["outcome"], "skipped", "{name}: {c:#}");
        let msg = c["message"].as_str().unwrap();
        assert!(
            msg.starts_with("not run: set-up failed (POST /Users got HTTP 400: ")
                && msg.contains(" is required"),
            "{name}: {msg}"
        );
    }
}

/// Issue 8 acceptance 1: a minimal RFC-legal server passes, and what it does not support is
/// listed as information.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minimal_rfc_legal_server_passes_with_its_gaps_as_information() {
    let (out, checks, findings) = check_strict(Flaws::default()).await;
    assert_eq!(out.code, Some(0), "{}", out.text);
    assert!(
        out.text.contains("RFC 7643/7644 conformance: PASS ("),
        "{}",
        out.text
    );
    assert!(
        out.text
            .contains("    - INFO RFC 7643/7644: filter co [RFC 7644 §3.4.2.2, §3.12]"),
        "{}",
        out.text
    );
    assert!(
        findings.iter().all(|f| f["severity"] == "INFO"),
        "{:#?}",
        failing(&findings)
    );
    assert!(!checks.iter().any(|c| c["outcome"] == "failed"));
}

/// What `check` says about a strict server with one flaw: exit code 1 and the named finding.
async fn flaw_is_found(flaws: Flaws, behaviour: &str, severity: &str, needle: &str) {
    let (out, _, findings) = check_strict(flaws).await;
    assert_eq!(out.code, Some(1), "{}", out.text);
    let f = findings
        .iter()
        .find(|f| f["behaviour"] == format!("RFC 7643/7644: {behaviour}"))
        .unwrap_or_else(|| panic!("no finding {behaviour:?}:\n{}", out.text));
    assert_eq!(f["severity"], severity, "{f:#}");
    assert!(
        f["message"].as_str().unwrap().contains(needle),
        "{needle:?} not in {f:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_ignores_filter_is_a_must_finding() {
    flaw_is_found(
        Flaws {
            ignores_filter: true,
            ..Flaws::default()
        },
        "filter userName eq a random name finds nothing",
        "MUST",
        "resources that do not match",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_ignores_excluded_attributes_is_found_on_users_and_groups() {
    let flaws = Flaws {
        ignores_excluded_attributes: true,
        ..Flaws::default()
    };
    flaw_is_found(
        flaws,
        "attributes excludedAttributes=members on /Groups",
        "MUST",
        "members",
    )
    .await;
    flaw_is_found(
        flaws,
        "attributes excludedAttributes leaves a returned attribute out",
        "MUST",
        "attribute used: ",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_that_is_not_all_or_nothing_is_a_must_finding() {
    flaw_is_found(
        Flaws {
            non_atomic_patch: true,
            ..Flaws::default()
        },
        "patch a failing operation leaves the resource unchanged",
        "MUST",
        "the first operation was applied",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_that_merges_is_found_with_the_rfc_verb() {
    flaw_is_found(
        Flaws {
            put_merges: true,
            ..Flaws::default()
        },
        "crud PUT replaces: an omitted attribute is gone",
        "MAY",
        "attribute used: externalId",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_soft_delete_is_a_must_finding() {
    flaw_is_found(
        Flaws {
            soft_delete: true,
            ..Flaws::default()
        },
        "crud DELETE then 404",
        "MUST",
        "status 404",
    )
    .await;
}

/// Issue 8 acceptance 1, the IdP half: against the minimal RFC-legal server, every bundled IdP
/// scenario's failing finding rests on a request the server really refused (an exchange with a
/// 4xx/5xx answer, named in the finding), and none is an RFC finding: the server is legal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idp_findings_on_a_minimal_legal_server_rest_on_refused_requests() {
    let server = buggy::strict::start(Flaws::default(), TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    let out = scimulator(vec![
        "run".into(),
        "--target".into(),
        server.url.clone(),
        "--token".into(),
        TOKEN.into(),
        "--no-color".into(),
        "--report".into(),
        dir.path().display().to_string(),
    ])
    .await;
    server.stop().await;
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("report.json"))
            .unwrap_or_else(|e| panic!("report.json: {e}\n{}", out.text)),
    )
    .unwrap();
    assert!(
        out.text.contains("RFC 7643/7644 conformance: PASS"),
        "a legal server keeps RFC PASS:\n{}",
        out.text
    );
    let mut refused = 0;
    for s in report["scenarios"].as_array().unwrap() {
        let exchanges = s["exchanges"].as_array().unwrap();
        for f in s["findings"].as_array().unwrap() {
            if f["severity"] == "INFO" {
                continue;
            }
            let behaviour = f["behaviour"].as_str().unwrap();
            assert!(
                !behaviour.starts_with("RFC"),
                "{}: an RFC finding against a legal server: {f:#}",
                s["name"]
            );
            if behaviour.starts_with("scimulator") {
                continue;
            }
            let id = f["exchange"]
                .as_u64()
                .unwrap_or_else(|| panic!("{}: finding without its exchange: {f:#}", s["name"]));
            let ex = exchanges
                .iter()
                .find(|e| e["id"] == id)
                .unwrap_or_else(|| panic!("{}: exchange #{id} not in the report", s["name"]));
            let status = ex["status"].as_u64().unwrap_or(0);
            assert!(
                status >= 400,
                "{}: the finding's exchange was not refused ({status}): {f:#}\n{ex:#}",
                s["name"]
            );
            // The finding quotes what the server said about it.
            let detail = ex["response_body"]["detail"].as_str().unwrap_or("");
            assert!(
                detail.is_empty() || f["message"].as_str().unwrap().contains(detail),
                "{}: the finding does not say what the server answered ({detail}): {f:#}",
                s["name"]
            );
            refused += 1;
        }
    }
    eprintln!(
        "{refused} IdP findings, each on a refused request\n{}",
        out.text
    );
}
