//! What JumpCloud's profile puts on the wire, request by request: the bundled scenarios run by
//! the real binary against the built-in server, their report.json's exchanges compared with
//! what JumpCloud's sources show:
//! - J1 https://jumpcloud.com/support/provision-and-manage-users-and-groups-in-apps-using-custom-scim-identity-management-integration
//!   "creates a test user and a test group", deleted when the target supports DELETE
//! - J2 https://jumpcloud.com/wp-json/wp/v2/support/76256 (events: lookup, create, update,
//!   deprovision = set inactive, delete)
//! - J3 https://jumpcloud.com/wp-json/wp/v2/support/85119 (only non-empty groups; same-name
//!   group taken over; renames; group delete)
//! - J4 https://app.uni-moni.com/en/kb/sso-setup-jumpcloud: membership PATCH `path: "members"`,
//!   `value: [{"value": uid}]`, no filter, removal too
//!
//! Verbs and filters JumpCloud does not publish are inferred; the report says so.

use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn run(scenario: &str) -> (Value, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_scimulator"))
        .args(["run", root.join(scenario).to_str().unwrap(), "--no-color"])
        .arg("--report")
        .arg(dir.path())
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
    let sc = report["scenarios"][0].clone();
    let ex = sc["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["harness"] != true)
        .cloned()
        .collect();
    (sc, ex)
}

fn line(x: &Value) -> String {
    format!(
        "{} {}",
        x["method"].as_str().unwrap(),
        x["path"].as_str().unwrap()
    )
}

fn id(x: &Value) -> String {
    x["response_body"]["id"].as_str().unwrap().to_string()
}

fn ops(x: &Value) -> Value {
    assert_eq!(x["request_body"]["schemas"], json!([PATCH_URN]), "{x}");
    x["request_body"]["Operations"].clone()
}

#[test]
fn jumpcloud_lifecycle_is_what_jumpcloud_sends() {
    let (sc, ex) = run("scenarios/jumpcloud/lifecycle.yaml");
    // J1: saving creates a test user and a test group, then deletes them (group first here,
    // then the user): every DELETE goes to an id from the run's own POST.
    let save: Vec<String> = ex[..4].iter().map(line).collect();
    let (test_user, test_group) = (id(&ex[0]), id(&ex[1]));
    assert_eq!(
        save,
        [
            "POST /Users".to_string(),
            "POST /Groups".to_string(),
            format!("DELETE /Groups/{test_group}"),
            format!("DELETE /Users/{test_user}"),
        ]
    );
    let name = ex[0]["request_body"]["userName"].as_str().unwrap();
    assert!(name.starts_with("scimulator-test-"), "{name}");
    assert_eq!(ex[1]["request_body"]["displayName"], json!(name));
    assert_eq!(ex[1]["request_body"]["members"], json!([]));
    // J2 user_lookup_provision, then user_create_provision; the filter is inferred.
    assert!(line(&ex[4]).starts_with("GET /Users?filter=userName%20eq%20%22ana."));
    assert_eq!(line(&ex[5]), "POST /Users");
    let (ana, ben) = (id(&ex[5]), id(&ex[7]));
    // J3: the group is created with its members (it is not empty).
    let group = ex
        .iter()
        .skip(4)
        .find(|x| line(x) == "POST /Groups")
        .unwrap();
    assert_eq!(
        group["request_body"]["members"],
        json!([{"value": ana}, {"value": ben}])
    );
    let gid = id(group);
    // J2 user_deprovision: set inactive [inferred shape].
    let deprovision = ex
        .iter()
        .find(|x| line(x) == format!("PATCH /Users/{ben}") && ops(x)[0]["value"] == json!(false))
        .unwrap();
    assert_eq!(
        ops(deprovision),
        json!([{"op": "replace", "path": "active", "value": false}])
    );
    // J4: removal is `path: "members"` with a value list, no filter; the add alike.
    let group_patches: Vec<Value> = ex
        .iter()
        .filter(|x| line(x) == format!("PATCH /Groups/{gid}"))
        .map(ops)
        .collect();
    assert_eq!(
        group_patches[0],
        json!([{"op": "remove", "path": "members", "value": [{"value": ben}]}])
    );
    assert_eq!(
        group_patches[1],
        json!([{"op": "add", "path": "members", "value": [{"value": ben}]}])
    );
    // J3: a rename is supported: replace displayName.
    assert_eq!(group_patches[2][0]["op"], "replace");
    assert_eq!(group_patches[2][0]["path"], "displayName");
    for p in &group_patches {
        for op in p.as_array().unwrap() {
            assert!(
                !op["path"].as_str().unwrap().contains('['),
                "no filter: {op}"
            );
        }
    }
    // J2 user_delete_provision.
    assert_eq!(line(ex.last().unwrap()), format!("DELETE /Users/{ben}"));
    // Grades reach the report: the save documented, the verbs inferred, J4 observed.
    let graded = |needle: &str| {
        sc["behaviours"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["name"].as_str().unwrap().contains(needle))
            .unwrap_or_else(|| panic!("{needle}"))["inferred"]
            .clone()
    };
    assert_eq!(graded("save the connector"), false);
    assert_eq!(graded("user_deprovision"), true);
    assert_eq!(graded("group_update"), false);
}

#[test]
fn empty_groups_wait_and_same_name_groups_are_taken_over() {
    let (_, ex) = run("scenarios/jumpcloud/groups.yaml");
    // J3: Operations has no member at first: neither looked up nor created.
    let first_four: Vec<String> = ex[..4].iter().map(line).collect();
    assert!(first_four[2].starts_with("GET /Groups?filter=displayName%20eq%20%22Engineering"));
    assert!(!first_four.iter().any(|l| l.contains("Operations")));
    let posts: Vec<&Value> = ex.iter().filter(|x| line(x) == "POST /Groups").collect();
    assert_eq!(
        posts.len(),
        2,
        "one POST per group, never a second for the same name"
    );
    assert_eq!(
        posts[1]["request_body"]["members"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // After the restart, the lookups answer the groups of the same name: no POST follows.
    let after: Vec<String> = ex
        .iter()
        .skip_while(|x| !line(x).starts_with("GET /Users?filter="))
        .skip(1)
        .skip_while(|x| !line(x).starts_with("GET /Users?filter="))
        .map(line)
        .collect();
    assert!(!after.iter().any(|l| l.starts_with("POST")), "{after:?}");
    // A group deleted in JumpCloud is deleted in the app (J3); the unbound one is not.
    let deletes: Vec<&String> = after.iter().filter(|l| l.starts_with("DELETE")).collect();
    assert_eq!(deletes.len(), 1, "{after:?}");
    assert_eq!(*deletes[0], format!("DELETE /Groups/{}", id(posts[0])));
}

/// `certify --idp jumpcloud` works, in JumpCloud's (inferred) PATCH update shape.
#[test]
fn certify_uses_jumpcloud_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_scimulator"))
        .args([
            "certify",
            "--mapping",
            "jumpcloud-default",
            "--idp",
            "jumpcloud",
        ])
        .args(["--no-color", "--report"])
        .arg(dir.path())
        .env_remove("SCIM_TOKEN")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("with JumpCloud"), "{text}");
    let c: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("certification.json")).unwrap(),
    )
    .unwrap();
    let ex = c["matrices"][0]["exchanges"].as_array().unwrap();
    assert!(ex.iter().any(|x| x["method"] == "PATCH"));
    assert!(!ex.iter().any(|x| x["method"] == "PUT"));
}
