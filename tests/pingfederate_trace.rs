//! The requests the PingFederate profile sends match, one by one, the documented shapes of
//! `okta-duo-others.md` §3 (PingFederate SCIM Provisioner / PingOne outbound SCIM). Each test
//! runs the real binary on a bundled scenario with `--report` and reads report.json's exchanges.
//!
//! Sources: P1 https://docs.pingidentity.com/integrations/scim/pf_scim_connector.html,
//! P2 https://docs.pingidentity.com/integrations/scim/setup/pf_scim_connector_scim_connector_settings_reference.html,
//! P4 https://docs.pingidentity.com/pingone/integrations/p1_scim_filter_expressions.html,
//! P5 https://docs.pingidentity.com/r/en-us/pingone/p1_scim_provisioning_features.

use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// PingFederate's requests in the scenario (the harness's read-back and clean-up left out),
/// and the whole report.
fn run(scenario: &str) -> (Vec<Value>, Value) {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_scimulator"))
        .args([
            "run",
            root.join("scenarios/pingfederate")
                .join(scenario)
                .to_str()
                .unwrap(),
            "--no-color",
            "--report",
            dir.path().to_str().unwrap(),
        ])
        .env_remove("SCIM_TOKEN")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    let xs = report["scenarios"][0]["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["harness"] != true)
        .cloned()
        .collect();
    (xs, report)
}

fn header<'a>(x: &'a Value, name: &str) -> Option<&'a str> {
    x["request_headers"]
        .as_array()?
        .iter()
        .find(|h| h[0].as_str().is_some_and(|k| k.eq_ignore_ascii_case(name)))?[1]
        .as_str()
}

fn line(x: &Value) -> String {
    format!(
        "{} {}",
        x["method"].as_str().unwrap(),
        x["path"].as_str().unwrap()
    )
}

/// The run tag the directory appended to every name (`jsmith.r2c0ba01` → `r2c0ba01`).
fn tag(xs: &[Value]) -> String {
    let user = xs
        .iter()
        .find(|x| x["method"] == "POST" && x["path"] == "/Users")
        .unwrap();
    let name = user["request_body"]["userName"].as_str().unwrap();
    name.rsplit('.').next().unwrap().to_string()
}

#[test]
fn initial_provisioning_looks_users_up_with_eq_and_lists_every_group() {
    let (xs, _) = run("initial-provisioning.yaml");
    let t = tag(&xs);
    let id = |i: usize| xs[i]["response_body"]["id"].as_str().unwrap().to_string();
    let lines: Vec<String> = xs.iter().map(line).collect();
    // Connection test [inferred], then per user: the lookup with PingOne's capitalised operator,
    // %20-encoded (P4: `username Eq "%s"`), then the create; groups: no filter, the listing
    // from startIndex 1 (P1: "fetches all groups and matches client-side"), then the create.
    assert!(lines[0].starts_with("GET /Users?filter=userName%20eq%20%22"));
    assert_eq!(
        lines[1..10],
        [
            format!("GET /Users?filter=userName%20Eq%20%22jsmith.{t}%22"),
            "POST /Users".into(),
            format!("GET /Users?filter=userName%20Eq%20%22ofarouk.{t}%22"),
            "POST /Users".into(),
            "GET /Groups?startIndex=1&count=100".into(),
            "POST /Groups".into(),
            "GET /Groups?startIndex=1&count=100".into(),
            "POST /Groups".into(),
            format!("GET /Users?filter=userName%20Eq%20%22lvogel.{t}%22"),
        ]
    );
    // Headers: no public source gives Ping's; the wire sends the SCIM media type, and
    // Content-Type only with a body [inferred] (§5), and never a User-Agent of its own.
    for x in &xs {
        assert_eq!(header(x, "Accept"), Some("application/scim+json"));
        assert_eq!(
            header(x, "Content-Type"),
            x.get("request_body")
                .filter(|b| !b.is_null())
                .map(|_| "application/scim+json"),
            "{}",
            line(x)
        );
        assert_eq!(header(x, "User-Agent"), None, "{}", line(x));
    }
    // The user create: the mapped attributes and active true, nothing else (P1).
    assert_eq!(
        xs[2]["request_body"],
        json!({"schemas": [USER_URN], "userName": format!("jsmith.{t}"),
               "name": {"givenName": "Janet", "familyName": "Smith"},
               "emails": [{"type": "work", "value": format!("janet.smith.{t}@example.org")}],
               "displayName": format!("Janet Smith {t}"), "active": true})
    );
    // The group create carries the members already provisioned.
    assert_eq!(
        xs[6]["request_body"],
        json!({"schemas": [GROUP_URN], "displayName": format!("Engineering {t}"),
               "members": [{"value": id(2)}, {"value": id(4)}]})
    );
    // Lena joins Finance: without group PATCH, GET then PUT of the whole group (P1, P2).
    let finance = id(8);
    assert_eq!(
        lines[10..],
        [
            "POST /Users".to_string(),
            format!("GET /Groups/{finance}"),
            format!("PUT /Groups/{finance}"),
        ]
    );
    let put = &xs[12]["request_body"];
    assert_eq!(put["id"], json!(finance));
    assert_eq!(put["displayName"], json!(format!("Finance {t}")));
    let mut members: Vec<&str> = put["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    members.sort();
    let mut want = vec![
        xs[4]["response_body"]["id"].as_str().unwrap(),
        xs[10]["response_body"]["id"].as_str().unwrap(),
    ];
    want.sort();
    assert_eq!(members, want);
}

#[test]
fn users_are_only_ever_put_never_patched() {
    let (xs, report) = run("update-by-put.yaml");
    let user = format!("/Users/{}", xs[1]["response_body"]["id"].as_str().unwrap());
    let lines: Vec<String> = xs.iter().map(line).collect();
    // "User PATCH is not used" (P1, P2): the update, the disable and the re-enable are PUTs.
    assert_eq!(
        lines[1..],
        [
            "POST /Users".to_string(),
            format!("GET {user}"),
            format!("PUT {user}"),
            format!("GET {user}"),
            format!("PUT {user}"),
            format!("GET {user}"),
            format!("PUT {user}"),
        ]
    );
    assert!(xs.iter().all(|x| x["method"] != "PATCH"));
    // Each PUT is the resource GET returned, edited: the new family name, then active false,
    // then active true.
    let (update, disable, enable) = (
        &xs[3]["request_body"],
        &xs[5]["request_body"],
        &xs[7]["request_body"],
    );
    assert_eq!(update["id"], xs[2]["response_body"]["id"]);
    assert_eq!(update["name"]["familyName"], json!("Smith-Okoye"));
    assert_eq!(disable["active"], json!(false));
    assert_eq!(disable["name"]["familyName"], json!("Smith-Okoye"));
    assert_eq!(enable["active"], json!(true));
    // The GET before each PUT is inferred, the PUT itself documented: the report says which.
    let shapes = report["scenarios"][0]["behaviours"].as_array().unwrap();
    let used = |name: &str| {
        shapes
            .iter()
            .find(|b| b["name"].as_str().unwrap().contains(name))
            .unwrap_or_else(|| panic!("{name}: {shapes:?}"))
    };
    assert_eq!(
        used("read user before a full update")["inferred"],
        json!(true)
    );
    let put = used("update user (PUT /Users/{id}");
    assert_eq!(put["inferred"], json!(false));
    assert!(put["source"]
        .as_str()
        .unwrap()
        .contains("settings_reference"));
}

#[test]
fn provision_disabled_users_creates_them_inactive_and_group_patch_when_enabled() {
    let (xs, _) = run("remove-user-action-disable.yaml");
    let posts: Vec<&Value> = xs
        .iter()
        .filter(|x| x["method"] == "POST" && x["path"] == "/Users")
        .collect();
    // "Provision Disabled Users": the disabled user is created with active false (P5).
    assert_eq!(posts[0]["request_body"]["active"], json!(true));
    assert_eq!(posts[1]["request_body"]["active"], json!(false));
    // Janet leaves the group: Remove User Action = Disable, a PUT with active false; the
    // membership goes as a PATCH (group PATCH enabled, P2).
    let patch = xs.iter().rfind(|x| x["method"] == "PATCH").unwrap();
    assert!(patch["path"].as_str().unwrap().starts_with("/Groups/"));
    let janet = posts[0]["response_body"]["id"].as_str().unwrap();
    assert_eq!(
        patch["request_body"],
        json!({"schemas": [PATCH_URN], "Operations": [
            {"op": "remove", "path": "members", "value": [{"value": janet}]}]})
    );
    let disable = xs
        .iter()
        .rfind(|x| x["method"] == "PUT" && x["path"] == format!("/Users/{janet}"))
        .unwrap();
    assert_eq!(disable["request_body"]["active"], json!(false));
    assert!(xs.iter().all(|x| !(x["method"] == "DELETE"
        || x["method"] == "PATCH" && x["path"].as_str().unwrap().starts_with("/Users"))));
}

#[test]
fn remove_user_action_delete_sends_delete() {
    let (xs, _) = run("remove-user-action-delete.yaml");
    let omar = xs
        .iter()
        .filter(|x| x["method"] == "POST" && x["path"] == "/Users")
        .nth(1)
        .unwrap()["response_body"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let deletes: Vec<String> = xs
        .iter()
        .filter(|x| x["method"] == "DELETE")
        .map(line)
        .collect();
    assert_eq!(deletes[0], format!("DELETE /Users/{omar}"));
    // Unassigning the group deletes Janet, then the group.
    assert_eq!(deletes.len(), 3, "{deletes:?}");
    assert!(deletes[2].starts_with("DELETE /Groups/"));
}

/// The GitHub EMU connector's health probe (P6,
/// https://docs.pingidentity.com/integrations/github/github_emu_provisioner/pf_github_emu_connector_user_and_group_management.html):
/// `GET /Users/0` before the run's operations; the 404 it gets is healthy, not a finding.
#[test]
fn health_probe_goes_first_and_its_404_is_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("probe.yaml");
    std::fs::write(
        &scenario,
        "name: ping-health-probe\nidp: pingfederate\nsettings: { health_probe: true }\n\
         directory:\n  users:\n    - { id: janet, username: jsmith, firstName: Janet, lastName: Smith }\n\
         steps:\n  - assign: { users: [janet] }\n  - expect: { state: derived }\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_scimulator"))
        .args(["run", scenario.to_str().unwrap(), "--no-color", "--report"])
        .arg(dir.path())
        .env_remove("SCIM_TOKEN")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(!stdout.contains("findings:"), "{stdout}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    let xs: Vec<&Value> = report["scenarios"][0]["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["harness"] != true)
        .collect();
    assert_eq!(line(xs[0]), "GET /Users/0");
    assert_eq!(xs[0]["status"], json!(404));
    assert_eq!(header(xs[0], "Accept"), Some("application/scim+json"));
    assert!(line(xs[1]).starts_with("GET /Users?filter=userName%20Eq%20"));
    let shapes = report["scenarios"][0]["behaviours"].to_string();
    assert!(shapes.contains("connector health probe"), "{shapes}");
}
