//! The requests the Okta profiles send match, one by one, the documented shapes of
//! `okta-duo-others.md` §1 (OIN and AIW apps). Each test runs the real binary with `--report`
//! and reads report.json's exchanges.
//!
//! Sources: S1 https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20/,
//! S3 https://developer.okta.com/docs/reference/scim/scim-20/ (headers).

use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

fn exchanges(scenario: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_scimulator"))
        .args([
            "run",
            root.join("scenarios/okta").join(scenario).to_str().unwrap(),
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
    // Okta's requests only: the harness's own read-back and clean-up are marked as such.
    report["scenarios"][0]["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["harness"] != true)
        .cloned()
        .collect()
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
        x["path"].as_str().unwrap().split('?').next().unwrap()
    )
}

#[test]
fn oin_user_lifecycle_sends_the_documented_shapes() {
    let xs = exchanges("oin-lifecycle.yaml");
    let lines: Vec<String> = xs.iter().map(line).collect();
    let id = xs[1]["response_body"]["id"].as_str().unwrap().to_string();
    let user = format!("/Users/{id}");
    assert_eq!(
        lines,
        vec![
            "GET /Users".to_string(),
            "POST /Users".into(),
            format!("GET {user}"),
            format!("PUT {user}"),
            format!("PATCH {user}"),
            "GET /Users".into(),
            format!("PATCH {user}"),
        ]
    );
    // Every request carries Okta's client headers (S3).
    for x in &xs {
        assert_eq!(header(x, "User-Agent"), Some("Okta SCIM Client 1.0.0"));
        assert_eq!(header(x, "Accept"), Some("application/scim+json"));
        assert_eq!(header(x, "Accept-Charset"), Some("utf-8"));
        assert_eq!(
            header(x, "Content-Type").is_some(),
            x.get("request_body").is_some(),
            "Content-Type only with a body"
        );
    }
    // Lookup: userName eq, %20-encoded, with startIndex=1&count=100 (S1).
    let lookup = xs[0]["path"].as_str().unwrap();
    assert!(
        lookup.starts_with("/Users?filter=userName%20eq%20%22vic."),
        "{lookup}"
    );
    assert!(
        lookup.ends_with("%40example.com%22&startIndex=1&count=100"),
        "{lookup}"
    );
    // Create: externalId (the Okta id), a throwaway password, groups: [], active: true (S1).
    let post = &xs[1]["request_body"];
    for k in [
        "userName",
        "name",
        "emails",
        "displayName",
        "locale",
        "externalId",
        "password",
    ] {
        assert!(post.get(k).is_some(), "POST /Users carries {k}: {post}");
    }
    assert_eq!(post["groups"], json!([]));
    assert_eq!(post["active"], json!(true));
    assert_eq!(post["emails"][0]["primary"], json!(true));
    // Profile update: the PUT is what GET returned, edited: same id, meta kept (S1).
    let got = &xs[2]["response_body"];
    let put = &xs[3]["request_body"];
    assert_eq!(put["id"], got["id"]);
    assert_eq!(put["meta"], got["meta"]);
    assert_eq!(put["name"]["familyName"], json!("Hale-Ward"));
    assert_eq!(
        put["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
        json!("Finance")
    );
    assert!(put["schemas"].as_array().unwrap().contains(&json!(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    )));
    // Deactivate: a path-less, lowercase replace of active (S1).
    assert_eq!(
        xs[4]["request_body"],
        json!({"schemas": [PATCH_URN], "Operations": [{"op": "replace", "value": {"active": false}}]})
    );
    // Reassignment: the lookup again, then the reactivating PATCH (S1, S16).
    assert!(xs[5]["path"]
        .as_str()
        .unwrap()
        .starts_with("/Users?filter=userName%20eq%20"));
    assert_eq!(
        xs[6]["request_body"],
        json!({"schemas": [PATCH_URN], "Operations": [{"op": "replace", "value": {"active": true}}]})
    );
}

#[test]
fn aiw_user_lifecycle_is_get_then_put() {
    let xs = exchanges("aiw-lifecycle.yaml");
    let methods: Vec<&str> = xs.iter().map(|x| x["method"].as_str().unwrap()).collect();
    assert_eq!(
        methods,
        vec!["GET", "POST", "GET", "PUT", "GET", "PUT", "GET", "GET", "PUT"]
    );
    assert_eq!(
        xs[5]["request_body"]["active"],
        json!(false),
        "deactivation is a PUT with active false"
    );
    assert_eq!(
        xs[8]["request_body"]["active"],
        json!(true),
        "reactivation is a PUT with active true"
    );
    assert!(
        xs.iter().all(|x| x["method"] != "PATCH"),
        "AIW apps never PATCH users"
    );
}

#[test]
fn oin_group_push_sends_rename_op_filtered_removes_and_add() {
    let xs = exchanges("group-push.yaml");
    let posts: Vec<&Value> = xs
        .iter()
        .filter(|x| x["method"] == "POST" && x["path"] == "/Groups")
        .collect();
    assert_eq!(posts.len(), 2);
    for p in &posts {
        let b = &p["request_body"];
        assert_eq!(b["schemas"], json!([GROUP_URN]));
        assert_eq!(b["members"], json!([]), "pushed with empty members (S1)");
    }
    // Group lookup before the push, with paging parameters (S1, S17).
    assert!(xs.iter().any(|x| x["path"]
        .as_str()
        .unwrap()
        .starts_with("/Groups?filter=displayName%20eq%20%22Engineering")
        && x["path"]
            .as_str()
            .unwrap()
            .ends_with("&startIndex=1&count=100")));
    let patches: Vec<&Value> = xs.iter().filter(|x| x["method"] == "PATCH").collect();
    for p in &patches {
        let ops = p["request_body"]["Operations"].as_array().unwrap();
        let first = &ops[0];
        assert_eq!(first["op"], "replace");
        if first.get("path").is_none() {
            // The rename operation Okta sends with every membership change (S1).
            let gid = p["path"].as_str().unwrap().trim_start_matches("/Groups/");
            assert_eq!(first["value"]["id"], json!(gid));
            assert!(first["value"]["displayName"].is_string());
        }
        for op in &ops[1..] {
            match op["op"].as_str().unwrap() {
                "remove" => {
                    let path = op["path"].as_str().unwrap();
                    assert!(
                        path.starts_with("members[value eq \"") && path.ends_with("\"]"),
                        "{path}"
                    );
                    assert!(op.get("value").is_none());
                }
                "add" => {
                    assert_eq!(op["path"], "members");
                    for m in op["value"].as_array().unwrap() {
                        assert!(m["value"].is_string() && m["display"].is_string(), "{m}");
                        assert!(m.get("type").is_none(), "no type on members (S20)");
                    }
                }
                other => panic!("unexpected op {other}"),
            }
        }
    }
    // Push Now replaces all members; unlink with delete sends DELETE (S1).
    assert!(patches
        .iter()
        .any(|p| p["request_body"]["Operations"][0]["path"] == "members"));
    assert_eq!(xs.last().unwrap()["method"], "DELETE");
}

#[test]
fn import_pages_by_100_until_total_results() {
    let xs = exchanges("import-paging.yaml");
    let pages: Vec<&str> = xs
        .iter()
        .map(|x| x["path"].as_str().unwrap())
        .filter(|p| p.starts_with("/Users?startIndex="))
        .collect();
    assert_eq!(
        pages,
        vec![
            "/Users?startIndex=1&count=100",
            "/Users?startIndex=101&count=100"
        ]
    );
}

/// `group_rename: separate`: the membership PATCH carries remove and add alone, as S1's
/// examples show it (`{"op":"add","path":"members","value":[…]}` without the rename op), and a
/// rename goes out in a PATCH of its own.
#[test]
fn separate_rename_leaves_membership_patches_with_member_ops_only() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("separate.yaml");
    std::fs::write(
        &scenario,
        "name: okta-separate-rename
description: membership PATCH without the rename op
idp: okta
settings: { mapping: okta-default, group_rename: separate }
directory:
  users:
    - { id: wes, login: wes@example.com, firstName: Wes, lastName: Ng, email: wes@example.com, displayName: Wes Ng }
    - { id: yan, login: yan@example.com, firstName: Yan, lastName: Bo, email: yan@example.com, displayName: Yan Bo }
  groups:
    - { id: eng, displayName: Engineering, members: [wes] }
steps:
  - assign: { users: [wes, yan] }
  - push_groups: { groups: [eng] }
  - add_member: { group: eng, users: [yan] }
  - rename_group: { group: eng, name: Platform }
  - expect: { state: derived }
",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_scimulator"))
        .args([
            "run",
            scenario.to_str().unwrap(),
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
    let patches: Vec<Value> = report["scenarios"][0]["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["harness"] != true && x["method"] == "PATCH")
        .map(|x| x["request_body"]["Operations"].clone())
        .collect();
    // The initial membership, Yan's add, then the rename alone.
    let member_patches: Vec<&Value> = patches
        .iter()
        .filter(|ops| {
            ops.as_array()
                .unwrap()
                .iter()
                .any(|o| o["path"] == "members")
        })
        .collect();
    assert!(!member_patches.is_empty(), "{patches:?}");
    for ops in &member_patches {
        for op in ops.as_array().unwrap() {
            assert!(op.get("path").is_some(), "no path-less rename op: {ops}");
        }
    }
    let last = patches.last().unwrap().as_array().unwrap();
    assert_eq!(last.len(), 1, "{last:?}");
    assert_eq!(last[0]["op"], "replace");
    assert_eq!(
        last[0]["value"]["displayName"]
            .as_str()
            .map(|n| n.starts_with("Platform")),
        Some(true),
        "{last:?}"
    );
}
