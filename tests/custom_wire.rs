//! `idp: custom`: an IdP described by a wire file beside the scenario. The engine sends what the
//! file says (headers, filter encoding, create extras, update and deactivate shapes) and
//! nothing else; a bad wire file is a scenario error (exit 2) pointing at the wire file's line,
//! with a hint. Runs the real binary with `--report` and reads report.json's exchanges.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_scimulator"))
        .args(args)
        .arg("--no-color")
        .env_remove("SCIM_TOKEN")
        .output()
        .unwrap()
}

fn header<'a>(x: &'a Value, name: &str) -> Option<&'a str> {
    x["request_headers"]
        .as_array()?
        .iter()
        .find(|h| h[0].as_str().is_some_and(|k| k.eq_ignore_ascii_case(name)))?[1]
        .as_str()
}

#[test]
fn the_bundled_custom_wire_is_what_goes_out() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = run(&[
        "run",
        root.join("scenarios/custom/acme.yaml").to_str().unwrap(),
        "--report",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    let sc = &report["scenarios"][0];
    let ex: Vec<&Value> = sc["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["harness"] != true)
        .collect();
    // Every request: the file's headers, and only those (no Accept-Charset: it lists none).
    for x in &ex {
        assert_eq!(header(x, "User-Agent"), Some("Acme-Provisioner/2.3"), "{x}");
        assert_eq!(header(x, "Accept"), Some("application/scim+json"), "{x}");
        assert_eq!(header(x, "Accept-Charset"), None, "{x}");
        let body = !x["request_body"].is_null();
        assert_eq!(
            header(x, "Content-Type"),
            body.then_some("application/json"),
            "{x}"
        );
    }
    // `lookup: { encoding: plus, users: "filter={filter}&" }`
    let lookup = ex
        .iter()
        .find(|x| x["path"].as_str().unwrap().starts_with("/Users?filter="))
        .unwrap();
    let path = lookup["path"].as_str().unwrap();
    assert!(
        path.starts_with("/Users?filter=userName+eq+%22ana."),
        "{path}"
    );
    assert!(path.ends_with("%22&"), "{path}");
    // `create: { external_id: true, user_extras: { roles: [] } }`, active last.
    let post = ex
        .iter()
        .find(|x| x["method"] == "POST" && x["path"] == "/Users")
        .unwrap();
    let body = post["request_body"].as_object().unwrap();
    assert_eq!(body["roles"], serde_json::json!([]));
    assert!(body["externalId"].is_string());
    assert_eq!(body.keys().next_back().map(String::as_str), Some("active"));
    // `update: { user: put }` and `deactivate: { user: pathless }`.
    assert!(ex.iter().any(|x| x["method"] == "PUT"));
    let disable = ex
        .iter()
        .find(|x| x["method"] == "PATCH" && x["path"].as_str().unwrap().starts_with("/Users/"))
        .unwrap();
    assert_eq!(
        disable["request_body"]["Operations"][0],
        serde_json::json!({"op": "replace", "value": {"active": false}})
    );
    // `members: { remove: filter_path }`
    let filtered_remove = |x: &&Value| {
        x["request_body"]["Operations"]
            .as_array()
            .is_some_and(|ops| {
                ops.iter().any(|o| {
                    o["op"] == "remove"
                        && o["path"]
                            .as_str()
                            .is_some_and(|p| p.starts_with("members[value eq "))
                })
            })
    };
    assert!(ex.iter().any(filtered_remove));
    // The file's name and grades reach the report: every behaviour inferred.
    let behaviours = sc["behaviours"].as_array().unwrap();
    assert!(!behaviours.is_empty());
    for b in behaviours {
        assert!(
            b["name"].as_str().unwrap().starts_with("Acme Directory: "),
            "{b}"
        );
        assert_eq!(b["inferred"], true, "{b}");
    }
}

const SCENARIO: &str = "name: bad-wire
description: a custom IdP whose wire file is wrong
idp: custom
settings: { wire: ./acme.wire.yaml }
directory:
  users:
    - { id: ana, username: ana@example.org, displayName: Ana }
steps:
  - assign: { users: [ana] }
";

#[test]
fn a_bad_wire_file_is_a_scenario_error_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/custom/acme.wire.yaml"),
    )
    .unwrap();
    let bad = good.replace("  user: put", "  user: post");
    let line = bad.lines().position(|l| l.contains("user: post")).unwrap() + 1;
    std::fs::write(dir.path().join("acme.wire.yaml"), bad).unwrap();
    let scenario = dir.path().join("bad.yaml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let out = run(&["run", scenario.to_str().unwrap()]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains(&format!("acme.wire.yaml:{line}:")),
        "the wire file's line {line}: {text}"
    );
    assert!(text.contains("post"), "{text}");
    assert!(text.contains("hint"), "{text}");

    // A missing file says which path it looked for.
    std::fs::remove_file(dir.path().join("acme.wire.yaml")).unwrap();
    let out = run(&["run", scenario.to_str().unwrap()]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("acme.wire.yaml"), "{text}");
}
