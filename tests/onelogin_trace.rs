//! What OneLogin's profile puts on the wire, request by request: the bundled scenarios run by
//! the real binary against the built-in server, their report.json's exchanges compared with
//! what OneLogin's sources show. Every shape is quoted with its source:
//! - O1 https://developers.onelogin.com/scim/implement-scim-api (call set, connection check)
//! - O2 https://github.com/goauthentik/authentik/issues/11249 (the request log)
//! - O4 https://doc.keepnetlabs.com/Next-Generation-Product/modules/company/company-settings/scim-settings/onelogin-scim-integration
//! - O5 https://scim.dev/guide/applications/onelogin (core 1.0 template)

use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Runs `scenario` with `--report`; the scenario's report and the IdP's exchanges.
fn run(scenario: &Path) -> (Option<i32>, Value, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_scimulator"))
        .args(["run", scenario.to_str().unwrap(), "--no-color", "--report"])
        .arg(dir.path())
        .env_remove("SCIM_TOKEN")
        .output()
        .unwrap();
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    let sc = report["scenarios"][0].clone();
    let ex = sc["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["harness"] != true)
        .cloned()
        .collect();
    (out.status.code(), sc, ex)
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

fn created_id(x: &Value) -> String {
    x["response_body"]["id"].as_str().unwrap().to_string()
}

#[test]
fn onelogin_lifecycle_is_what_onelogin_sends() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (code, sc, ex) = run(&root.join("scenarios/onelogin/lifecycle.yaml"));
    assert_eq!(code, Some(0), "{sc}");
    let tag = sc["run_id"].as_str().map(str::to_string);
    for x in &ex {
        // Headers: Accept on every request, Content-Type only with a body (inferred: no
        // public source gives OneLogin's headers), nothing else of the IdP's own.
        assert_eq!(header(x, "Accept"), Some("application/scim+json"), "{x}");
        let body = !x["request_body"].is_null();
        let ct = header(x, "Content-Type");
        assert_eq!(ct, body.then_some("application/scim+json"), "{x}");
        assert_eq!(header(x, "Accept-Charset"), None, "{x}");
    }
    // O1: "OneLogin makes a Get User request with a userName it knows does not exist"; the
    // same request as the lookup, O2: `GET /Users?filter=userName+eq+%22…%22&`.
    let check = line(&ex[0]);
    assert!(
        check.starts_with("GET /Users?filter=userName+eq+%22"),
        "{check}"
    );
    assert!(check.ends_with("%22&"), "{check}");
    let path = ex[0]["path"].as_str().unwrap();
    assert!(!path.contains("%20") && !path.contains(' '), "{path}");
    // The first user: lookup, plus-encoded (`@` as %40), trailing `&` (O2), then Create User.
    let lookup = line(&ex[1]);
    assert!(
        lookup.starts_with("GET /Users?filter=userName+eq+%22ana."),
        "{lookup} ({tag:?})"
    );
    assert!(lookup.ends_with("%40example.org%22&"), "{lookup}");
    assert_eq!(line(&ex[2]), "POST /Users");
    let post = &ex[2]["request_body"];
    let user_name = post["userName"].as_str().unwrap();
    assert_eq!(
        post,
        &json!({"schemas": [USER_URN], "userName": user_name,
                "name": {"givenName": "Ana", "familyName": "Lima"},
                "emails": [{"type": "work", "value": user_name}], "active": true})
    );
    let ana = created_id(&ex[2]);
    let ben = created_id(&ex[4]);
    // Create Group (O1), members following in a Patch Group (O1, O2).
    let group_post = ex.iter().find(|x| line(x) == "POST /Groups").unwrap();
    let name = group_post["request_body"]["displayName"].clone();
    assert_eq!(
        group_post["request_body"],
        json!({"schemas": [GROUP_URN], "displayName": name, "members": []})
    );
    let gid = created_id(group_post);
    let patch = ex
        .iter()
        .find(|x| line(x) == format!("PATCH /Groups/{gid}"))
        .unwrap();
    assert_eq!(
        patch["request_body"],
        json!({"schemas": [PATCH_URN], "Operations": [
            {"op": "add", "path": "members", "value": [{"value": ana}, {"value": ben}]}]})
    );
    // Update User: Get User by ID (O1), then the full `PUT /Users/{id}?` with its trailing
    // `?` (O2), JSON booleans and the RFC URN (the standard template).
    let at = ex
        .iter()
        .position(|x| line(x) == format!("PUT /Users/{ana}?"))
        .expect("PUT /Users/{id}? with a trailing ?");
    assert_eq!(line(&ex[at - 1]), format!("GET /Users/{ana}"));
    let put = &ex[at]["request_body"];
    assert_eq!(put["name"]["familyName"], "Lima-Souza");
    assert_eq!(put["active"], json!(true));
    assert_eq!(put["schemas"], json!([USER_URN]));
    assert_eq!(put["id"], json!(ana));
    // Delete User on deprovisioning (O1), Ben first, then Ana.
    let deletes: Vec<String> = ex
        .iter()
        .filter(|x| x["method"] == "DELETE")
        .map(line)
        .collect();
    assert_eq!(
        deletes,
        [
            format!("DELETE /Users/{ben}"),
            format!("DELETE /Users/{ana}")
        ]
    );
    // The group stays: OneLogin's call set has no Delete Group.
    assert!(!ex.iter().any(|x| line(x).starts_with("DELETE /Groups")));
    // Grades reach the report: the lookup observed, the group lookup inferred.
    let b = sc["behaviours"].as_array().unwrap();
    let graded = |needle: &str| {
        b.iter()
            .find(|x| x["name"].as_str().unwrap().contains(needle))
            .unwrap_or_else(|| panic!("{needle} in {b:?}"))["inferred"]
            .clone()
    };
    assert_eq!(graded("user lookup (GET /Users?filter=userName+eq"), false);
    assert_eq!(graded("Update User (PUT /Users/{id}?"), false);
    assert_eq!(graded("Get Groups by displayName"), true);
}

#[test]
fn the_template_settings_shape_every_user_body() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // O4: a template with `"active": "{$user.active}"` sends the string; suspension is the
    // template's PUT with "false" [inferred].
    let (code, sc, ex) = run(&root.join("scenarios/onelogin/template-variants.yaml"));
    assert_eq!(code, Some(0), "{sc}");
    let post = ex.iter().find(|x| line(x) == "POST /Users").unwrap();
    assert_eq!(post["request_body"]["active"], json!("true"));
    let puts: Vec<&Value> = ex.iter().filter(|x| x["method"] == "PUT").collect();
    assert_eq!(puts.len(), 2);
    assert!(puts[0]["path"].as_str().unwrap().ends_with('?'));
    assert_eq!(puts[0]["request_body"]["active"], json!("false"));
    assert_eq!(puts[1]["request_body"]["active"], json!("true"));
    let suspend = sc["behaviours"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"].as_str().unwrap().contains("suspend user"))
        .unwrap()
        .clone();
    assert_eq!(suspend["inferred"], true, "{suspend}");

    // O5: the "Core Schema" template lists `urn:scim:schemas:core:1.0`. The built-in server
    // holds to the RFC URNs and refuses it: the finding blames the template's shape, with
    // the template's source, not the RFC.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root.join("scenarios/onelogin/template-variants.yaml"))
        .unwrap()
        .replace(
            "settings: { quoted_booleans: true, deprovisioning: suspend }",
            "settings: { schemas: core-1.0 }",
        );
    assert!(text.contains("core-1.0"));
    let file = dir.path().join("core10.yaml");
    std::fs::write(&file, text).unwrap();
    let (code, sc, ex) = run(&file);
    assert_eq!(code, Some(1), "{sc}");
    let post = ex.iter().find(|x| line(x) == "POST /Users").unwrap();
    assert_eq!(
        post["request_body"]["schemas"],
        json!(["urn:scim:schemas:core:1.0"])
    );
    assert_eq!(post["request_body"]["active"], json!(true));
    let finding = sc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["behaviour"].as_str().unwrap().contains("POST /Users"))
        .unwrap()
        .clone();
    assert_eq!(
        finding["source"], "https://scim.dev/guide/applications/onelogin",
        "{finding}"
    );
    assert!(
        finding["behaviour"]
            .as_str()
            .unwrap()
            .starts_with("OneLogin: Create User"),
        "{finding}"
    );
}

/// `certify --idp onelogin` sends OneLogin's shapes, from its wire: the `+`-encoded lookup
/// with its trailing `&` and the update as GET, then `PUT /Users/{id}?` (O2).
#[test]
fn certify_uses_onelogin_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_scimulator"))
        .args([
            "certify",
            "--mapping",
            "onelogin-default",
            "--idp",
            "onelogin",
        ])
        .args(["--no-color", "--report"])
        .arg(dir.path())
        .env_remove("SCIM_TOKEN")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("with OneLogin"), "{text}");
    let c: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("certification.json")).unwrap(),
    )
    .unwrap();
    let ex = c["matrices"][0]["exchanges"].as_array().unwrap();
    let puts: Vec<&Value> = ex.iter().filter(|x| x["method"] == "PUT").collect();
    assert!(!puts.is_empty());
    for p in puts {
        assert!(p["path"].as_str().unwrap().ends_with('?'), "{p}");
    }
    let lookups: Vec<&str> = ex
        .iter()
        .filter_map(|x| x["path"].as_str())
        .filter(|p| p.starts_with("/Users?"))
        .collect();
    assert!(!lookups.is_empty());
    for l in lookups {
        assert!(l.starts_with("/Users?filter=userName+eq+%22"), "{l}");
        assert!(l.ends_with("%22&"), "{l}");
    }
}
