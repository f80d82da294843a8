//! `scimulator certify` (issue 5, acceptance point 3): every bundled mapping certifies against
//! the built-in server; a server that silently drops extension attributes fails the Cisco
//! Secure Access mapping, naming nativeObjectId.

mod buggy;

use std::process::Command;

const NATIVE: &str = "urn:ietf:params:scim:schemas:extension:ciscoumbrella:2.0:User:nativeObjectId";
/// Long enough that redacting it cannot touch anything else in the output.
const TOKEN: &str = "buggy-proxy-token-certify-7c41d9";

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn certify(args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_scimulator"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("SCIM_TOKEN")
        .arg("certify")
        .args(args)
        .arg("--no-color")
        .output()
        .expect("run scimulator");
    Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The table line of `attribute` (the first whose attribute column is exactly it).
fn row<'a>(stdout: &'a str, attribute: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.split('|').nth(1).is_some_and(|c| c.trim() == attribute))
        .unwrap_or_else(|| panic!("no row {attribute}:\n{stdout}"))
}

fn cells(line: &str) -> Vec<String> {
    line.split('|')
        .skip(2)
        .map(|c| c.trim().to_string())
        .collect()
}

fn assert_passes(mapping: &str, idp: Option<&str>) -> Out {
    let mut args = vec!["--mapping", mapping];
    if let Some(i) = idp {
        args.extend(["--idp", i]);
    }
    let o = certify(&args);
    assert_eq!(o.code, Some(0), "{mapping}:\n{}\n{}", o.stdout, o.stderr);
    assert!(!o.stdout.contains("FAIL "), "{}", o.stdout);
    assert!(o.stdout.contains("certification passed"), "{}", o.stdout);
    o
}

#[test]
fn cisco_secure_access_entra_passes_on_the_builtin_server() {
    let dir = tempfile::tempdir().unwrap();
    let o = certify(&[
        "--mapping",
        "cisco-secure-access-entra",
        "--report",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.code, Some(0), "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("Entra ID (default dialect)"),
        "{}",
        o.stdout
    );
    let native = cells(row(&o.stdout, NATIVE));
    assert_eq!(
        native,
        ["pass", "pass", "pass", "pass", "n/a"],
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("Entra never clears"), "{}", o.stdout);
    assert!(o.stdout.contains(
        "https://learn.microsoft.com/en-us/entra/identity/app-provisioning/known-issues"
    ));
    // Groups have their own rows.
    assert_eq!(
        cells(row(&o.stdout, "externalId"))[..4],
        ["pass", "pass", "pass", "pass"]
    );
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("certification.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["mapping"], "cisco-secure-access-entra");
    assert_eq!(json["matrices"][0]["idp"], "entra");
    assert_eq!(json["summary"]["failed"], 0);
    let r = json["matrices"][0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["attribute"] == NATIVE)
        .unwrap();
    assert_eq!(r["update"]["result"], "pass");
    assert_eq!(r["clear"]["result"], "n/a");
}

#[test]
fn entra_default_passes_on_the_builtin_server() {
    let o = assert_passes("entra-default", None);
    // Every non-reference attribute has a row; the manager reference has none.
    assert!(o.stdout.contains("phoneNumbers[type eq \"fax\"].value"));
    assert!(!o.stdout.contains(":manager"));
}

#[test]
fn okta_default_passes_on_the_builtin_server_with_put_clears() {
    let o = assert_passes("okta-default", None);
    assert!(o.stdout.contains("Okta (OIN)"), "{}", o.stdout);
    // Okta clears by leaving the attribute out of the PUT.
    assert_eq!(cells(row(&o.stdout, "locale")), ["pass"; 5], "{}", o.stdout);
    let o = assert_passes("okta-default", Some("okta-aiw"));
    assert!(o.stdout.contains("Okta (AIW)"), "{}", o.stdout);
}

#[test]
fn duo_secure_access_passes_on_the_builtin_server() {
    let o = assert_passes("duo-secure-access", None);
    assert!(o.stdout.contains("Duo"), "{}", o.stdout);
    assert_eq!(
        cells(row(&o.stdout, "name.familyName")),
        ["pass"; 5],
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("PATCH remove [inferred]"), "{}", o.stdout);
}

// branch ping: PingFederate's matrix uses its wire: GET then PUT updates, a capitalised `Eq`
// user filter, no group filter at all, and no published way to clear a value.
#[test]
fn pingfederate_default_passes_on_the_builtin_server() {
    let o = assert_passes("pingfederate-default", None);
    assert!(o.stdout.contains("PingFederate"), "{}", o.stdout);
    let family = cells(row(&o.stdout, "name.familyName"));
    assert_eq!(family[..4], ["pass"; 4], "{}", o.stdout);
    assert!(
        o.stdout.contains("not published [inferred]"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("PingFederate sends no group filter"),
        "{}",
        o.stdout
    );
}

#[test]
fn every_idp_matrix_for_one_mapping() {
    let o = certify(&[
        "--mapping",
        "cisco-secure-access-entra",
        "--idp",
        "entra",
        "--idp",
        "okta",
        "--idp",
        "duo",
    ]);
    assert_eq!(o.code, Some(0), "{}\n{}", o.stdout, o.stderr);
    for l in ["Entra ID (default dialect)", "Okta (OIN)", "Duo against"] {
        assert!(o.stdout.contains(l), "{l}:\n{}", o.stdout);
    }
}

#[test]
fn usage_errors_exit_2() {
    let o = certify(&["--mapping", "no-such-mapping"]);
    assert_eq!(o.code, Some(2), "{}", o.stderr);
    assert!(o.stderr.contains("unknown mapping"), "{}", o.stderr);
    let o = certify(&["--mapping", "entra-default", "--idp", "ping"]);
    assert_eq!(o.code, Some(2), "{}", o.stderr);
    assert!(
        o.stderr.contains("entra, okta, okta-aiw, duo"),
        "{}",
        o.stderr
    );
}

#[test]
fn unreachable_target_exits_3() {
    // A port nothing listens on: bind, read it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/scim/v2");
    let o = certify(&[
        "--mapping",
        "entra-default",
        "--target",
        &url,
        "--token",
        "t",
    ]);
    assert_eq!(o.code, Some(3), "{}\n{}", o.stdout, o.stderr);
}

#[test]
fn custom_mapping_file_with_group_limit() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("small.json");
    std::fs::write(
        &file,
        r#"{"name": "small", "users": [{"target": "userName", "source": "[upn]", "matching": 1},
            {"target": "title", "source": "[jobTitle]"}],
           "groups": [{"target": "displayName", "source": "[displayName]", "matching": 1}],
           "limits": {"groups": 3}}"#,
    )
    .unwrap();
    let o = certify(&["--mapping", file.to_str().unwrap(), "--check-limits"]);
    assert_eq!(o.code, Some(0), "{}\n{}", o.stdout, o.stderr);
    // No `idp` field: Entra ID by default.
    assert!(
        o.stdout.contains("Entra ID (default dialect)"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout
            .contains("the server accepted all 4 groups: it does not enforce the app's limit of 3"),
        "{}",
        o.stdout
    );
}

/// A server that accepts the Cisco extension and silently drops it fails the certification,
/// naming nativeObjectId; everything else still passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_extension_attributes_fail_naming_native_object_id() {
    let server = buggy::start(buggy::Bug::DropUnknownExtensions, TOKEN).await;
    let url = server.url.clone();
    let upstream = server.upstream.url.clone();
    let o = tokio::task::spawn_blocking(move || {
        certify(&[
            "--mapping",
            "cisco-secure-access-entra",
            "--target",
            &url,
            "--token",
            TOKEN,
        ])
    })
    .await
    .unwrap();
    // Cleanup left nothing behind.
    let left = reqwest::Client::new()
        .get(format!("{upstream}/Users"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    server.stop().await;
    assert_eq!(o.code, Some(1), "{}\n{}", o.stdout, o.stderr);
    assert!(!o.stdout.contains(TOKEN) && !o.stderr.contains(TOKEN));
    let native = cells(row(&o.stdout, NATIVE));
    assert_eq!(native[0], "pass", "{}", o.stdout);
    assert_eq!(native[1], "FAIL", "{}", o.stdout);
    assert_eq!(native[2], "FAIL", "{}", o.stdout);
    assert!(
        o.stdout
            .contains(&format!("FAIL User {NATIVE} read: read back absent")),
        "{}",
        o.stdout
    );
    assert_eq!(
        cells(row(&o.stdout, "userName")),
        ["pass", "pass", "pass", "pass", "n/a"]
    );
    assert!(o.stdout.contains("certification FAILED"), "{}", o.stdout);
    assert_eq!(left["totalResults"], 0, "{left}");
}
