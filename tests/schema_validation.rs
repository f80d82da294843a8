//! Issue 5, acceptance point 2, through the real binary: every answer of every scenario is
//! checked against the SCIM JSON Schemas (`fixtures/schemas/`), and a violation is a finding in
//! report.json with the instance path it sits at. The reference server must be schema-clean.

mod buggy;

use buggy::Bug;
use serde_json::Value;
use std::process::Command;

/// Long enough that redacting it cannot touch anything else in the output.
const TOKEN: &str = "schema-proxy-token-3b9e41";

const SCHEMA_BEHAVIOUR: &str = "RFC 7643/7644: ";

/// Runs `scimulator run ARGS... --report DIR --no-color` from the crate root and returns the
/// output and every finding of report.json.
fn run_with_report(args: Vec<String>) -> (String, Vec<Value>) {
    let root = env!("CARGO_MANIFEST_DIR");
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_scimulator"))
        .current_dir(root)
        .env_remove("SCIM_TOKEN")
        .env("NO_COLOR", "1")
        .arg("run")
        .args(&args)
        .arg("--report")
        .arg(dir.path())
        .arg("--no-color")
        .output()
        .expect("run scimulator");
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report = std::fs::read_to_string(dir.path().join("report.json"))
        .unwrap_or_else(|e| panic!("report.json: {e}\n{output}"));
    let report: Value = serde_json::from_str(&report).expect("report.json parses");
    let findings = report["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .flat_map(|s| s["findings"].as_array().cloned().unwrap_or_default())
        .collect();
    (output, findings)
}

fn schema_findings(findings: &[Value]) -> Vec<&Value> {
    findings
        .iter()
        .filter(|f| {
            f["behaviour"]
                .as_str()
                .is_some_and(|b| b.starts_with(SCHEMA_BEHAVIOUR))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_string_active_is_reported_at_its_path() {
    let server = buggy::start(Bug::ActiveAsString, TOKEN).await;
    let args = vec![
        "scenarios/entra/incremental-attributes.yaml".to_owned(),
        "--target".to_owned(),
        server.url.clone(),
        "--token".to_owned(),
        TOKEN.to_owned(),
    ];
    let (output, findings) = tokio::task::spawn_blocking(move || run_with_report(args))
        .await
        .expect("join");
    server.stop().await;
    assert!(!output.contains(TOKEN), "the token leaked:\n{output}");
    let schema = schema_findings(&findings);
    let active = schema
        .iter()
        .find(|f| {
            f["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("/active: "))
        })
        .unwrap_or_else(|| panic!("no schema finding at /active in {findings:#?}\n{output}"));
    assert_eq!(active["severity"], "MUST");
    assert_eq!(active["behaviour"], "RFC 7643/7644: User response schema");
    assert_eq!(active["source"], "RFC 7643 §4.1");
    assert_eq!(active["inferred"], false);
    assert!(active["exchange"].is_u64(), "{active:#}");
    assert!(
        active["message"].as_str().unwrap().contains("boolean"),
        "{active:#}"
    );
    // Only the rewritten attribute is wrong.
    assert!(
        schema.iter().all(|f| f["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("/active: "))),
        "{schema:#?}"
    );
    // The terminal shows it too.
    assert!(output.contains("/active: "), "{output}");
}

#[test]
fn the_reference_server_is_schema_clean() {
    // No PATH: every bundled scenario against the built-in server.
    let (output, findings) = run_with_report(vec![]);
    let schema = schema_findings(&findings);
    assert!(
        schema.is_empty(),
        "the built-in server broke a SCIM schema:\n{schema:#?}\n{output}"
    );
}

/// The answers no bundled IdP scenario asks for: discovery, errors, `.search`, `count=0`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_server_answers_discovery_and_errors_cleanly() {
    use scimulator::report::model::Exchange;
    use scimulator::server::{start, ServerConfig};
    use serde_json::json;

    let server = start(ServerConfig::local().with_token(TOKEN))
        .await
        .expect("reference server");
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "schema.clean@example.com",
        "active": true,
        "emails": [{"value": "schema.clean@example.com", "type": "work", "primary": true}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "QA"}
    });
    let search = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "userName eq \"schema.clean@example.com\""
    });
    let requests: Vec<(&str, &str, Option<Value>, bool)> = vec![
        ("GET", "/ServiceProviderConfig", None, true),
        ("GET", "/ResourceTypes", None, true),
        ("GET", "/ResourceTypes/User", None, true),
        ("GET", "/Schemas", None, true),
        (
            "GET",
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
            None,
            true,
        ),
        ("POST", "/Users", Some(user.clone()), true),
        ("POST", "/Users", Some(user), true),
        ("GET", "/Users?count=0", None, true),
        ("GET", "/Users?attributes=emails", None, true),
        ("POST", "/Users/.search", Some(search), true),
        ("GET", "/Users/no-such-id", None, true),
        ("GET", "/Groups/no-such-id", None, true),
        ("GET", "/Users?filter=bogus%20%22", None, true),
        ("GET", "/Users", None, false),
    ];
    let mut violations = Vec::new();
    let mut statuses = Vec::new();
    for (i, (method, path, body, auth)) in requests.into_iter().enumerate() {
        let mut rb = http.request(
            method.parse().expect("method"),
            format!("{}{path}", server.url),
        );
        if auth {
            rb = rb.bearer_auth(TOKEN);
        }
        if let Some(b) = &body {
            rb = rb
                .header("Content-Type", "application/scim+json")
                .body(b.to_string());
        }
        let answer = rb.send().await.expect("answer");
        let status = answer.status().as_u16();
        statuses.push(status);
        let bytes = answer.bytes().await.expect("body");
        let response_body = (!bytes.is_empty()).then(|| {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        });
        let ex = Exchange {
            id: i as u64,
            step: 1,
            method: method.into(),
            path: path.into(),
            request_headers: Default::default(),
            request_body: body.map(Into::into),
            status: Some(status),
            response_body: response_body.map(Into::into),
            duration_ms: 0.0,
            error: None,
            fault: None,
            harness: false,
        };
        for v in scimulator::validate::validate_exchange(&ex) {
            violations.push(format!("{method} {path} → {status}: {v:?}"));
        }
    }
    // Each answer is the kind the request was meant to draw.
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 200, 201, 409, 200, 200, 200, 404, 404, 400, 401]
    );
    assert!(violations.is_empty(), "{violations:#?}");
}

/// Issue 8 item 6 (RFC 7643 §2.5: unassigned, `null` and `[]` are equivalent): a server that
/// answers `"externalId": null` and `"documentationUri": null` breaks no schema, through the
/// real binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn null_for_an_unset_attribute_is_no_schema_violation() {
    let flaws = buggy::strict::Flaws {
        nothing_required: true,
        ..Default::default()
    };
    let server = buggy::strict::start(flaws, TOKEN).await;
    let url = server.url.clone();
    let dir = tempfile::tempdir().expect("temp dir");
    let report_dir = dir.path().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_scimulator"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("SCIM_TOKEN")
            .args(["check", "--target", &url, "--token", TOKEN, "--no-color"])
            .arg("--report")
            .arg(&report_dir)
            .output()
            .expect("run scimulator")
    })
    .await
    .expect("join");
    server.stop().await;
    let output = String::from_utf8_lossy(&out.stdout).into_owned();
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("report.json")).expect("report.json"),
    )
    .expect("report.json parses");
    // The server did answer nulls: the test is not vacuous.
    let exchanges = report["scenarios"][0]["exchanges"]
        .as_array()
        .expect("exchanges");
    let nulls = |key: &str| {
        exchanges
            .iter()
            .any(|e| e["response_body"].get(key) == Some(&Value::Null))
    };
    assert!(nulls("documentationUri") && nulls("externalId"), "{output}");
    let findings = report["scenarios"][0]["findings"]
        .as_array()
        .expect("findings");
    let schema: Vec<&Value> = findings
        .iter()
        .filter(|f| {
            f["behaviour"]
                .as_str()
                .is_some_and(|b| b.ends_with("response schema"))
        })
        .collect();
    assert!(schema.is_empty(), "{schema:#?}\n{output}");
}
