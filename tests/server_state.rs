//! `scimulator serve --state FILE`: every acknowledged write survives a `kill -9` (issue 2). These
//! tests run the real binary, write through HTTP, kill it with SIGKILL (no shutdown path runs),
//! restart it on the same file and read everything back.

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

/// `scimulator serve` as a child process on a free loopback port.
struct Serve {
    child: Child,
    /// Kept open: the server prints a second line, and a closed pipe would fail that write.
    _stdout: BufReader<ChildStdout>,
    api: Api,
}

impl Serve {
    fn start(state: &Path) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_scimulator"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--token",
                TOKEN,
                "--state",
            ])
            .arg(state)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("scimulator serve starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        // `scimulator: SCIM 2.0 server at http://127.0.0.1:PORT/scim/v2 (bearer token required)`:
        // printed once the socket is bound, so no waiting is needed after it.
        let mut line = String::new();
        stdout.read_line(&mut line).expect("first stdout line");
        let url = line
            .split(" at ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no URL in the first line: {line:?}"))
            .to_string();
        assert!(
            url.starts_with("http://127.0.0.1:") && url.ends_with("/scim/v2"),
            "{url}"
        );
        Serve {
            child,
            _stdout: stdout,
            api: Api::new(&url),
        }
    }

    /// SIGKILL (`Child::kill`), then reap.
    fn kill_9(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl std::ops::Deref for Serve {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

/// `v` with its server's base URL (which names the port) replaced: `meta.location` and `$ref`
/// change with the port, everything else must not.
fn port_free(v: &Value, base_url: &str) -> Value {
    serde_json::from_str(&v.to_string().replace(base_url, "BASE")).expect("JSON")
}

fn ids(list: &Value) -> std::collections::BTreeSet<String> {
    list["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn every_acknowledged_write_survives_kill_9_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("directory.json");

    // ---- first life: creates, updates, memberships, deletes
    let srv = Serve::start(&state);
    let alice = srv
        .create(
            "/Users",
            json!({"schemas": [USER_URN, ENTERPRISE_URN, UMBRELLA_URN], "userName": "alice@contoso.com",
                   "externalId": "ext-alice", "active": true, "password": "never-shown",
                   "name": {"givenName": "Alice", "familyName": "Smith"},
                   ENTERPRISE_URN: {"department": "R&D"},
                   UMBRELLA_URN: {"nativeObjectId": "N-1"}}),
        )
        .await;
    let alice_id = alice["id"].as_str().unwrap().to_string();
    let bob = srv.user("bob@contoso.com").await;
    let carol = srv.user("carol@contoso.com").await;
    let dave = srv.user("dave@contoso.com").await;
    let admins = srv.group("IT-Admins", &[&alice_id, &bob]).await;
    let cloud = srv.group("IT-Cloud-Admins", &[&bob, &carol]).await;
    let doomed = srv.group("Doomed", &[&alice_id]).await;

    srv.patch_ops(
        &format!("/Users/{alice_id}"),
        json!([{"op": "Replace", "path": "active", "value": "False"},
               {"op": "replace", "path": "name.familyName", "value": "Jones"},
               {"op": "add", "path": format!("{ENTERPRISE_URN}:manager"), "value": dave}]),
    )
    .await
    .expect(204);
    srv.put(
        &format!("/Users/{dave}"),
        &json!({"schemas": [USER_URN], "userName": "dave@contoso.com", "title": "Boss"}),
    )
    .await
    .expect(200);
    srv.patch_ops(
        &format!("/Groups/{cloud}"),
        json!([{"op": "Add", "path": "members", "value": [{"value": dave}]},
               {"op": "replace", "path": "displayName", "value": "Cloud-Admins"}]),
    )
    .await
    .expect(204);
    // Deleting bob also takes him out of both groups.
    srv.delete(&format!("/Users/{bob}")).await.expect(204);
    srv.delete(&format!("/Users/{carol}")).await.expect(204);
    srv.delete(&format!("/Groups/{doomed}")).await.expect(204);
    let alice_before = srv.read(&format!("/Users/{alice_id}")).await;
    let admins_before = srv.read(&format!("/Groups/{admins}")).await;
    let cloud_before = srv.read(&format!("/Groups/{cloud}")).await;
    let first_url = srv.url.clone();
    srv.kill_9();

    // ---- second life: everything answered is there, nothing deleted came back
    let srv = Serve::start(&state);
    let alice_after = srv.read(&format!("/Users/{alice_id}")).await;
    assert_eq!(
        port_free(&alice_after, &srv.url),
        port_free(&alice_before, &first_url)
    );
    assert_eq!(alice_after["active"], false);
    assert_eq!(alice_after["name"]["familyName"], "Jones");
    assert_eq!(alice_after[ENTERPRISE_URN]["manager"]["value"], json!(dave));
    assert_eq!(alice_after[UMBRELLA_URN]["nativeObjectId"], "N-1");
    assert!(alice_after.get("password").is_none());
    assert_eq!(srv.read(&format!("/Users/{dave}")).await["title"], "Boss");
    srv.get(&format!("/Users/{bob}"))
        .await
        .assert_error(404, None);
    srv.get(&format!("/Users/{carol}"))
        .await
        .assert_error(404, None);
    srv.get(&format!("/Groups/{doomed}"))
        .await
        .assert_error(404, None);

    let admins_after = srv.read(&format!("/Groups/{admins}")).await;
    assert_eq!(member_ids(&admins_after), set(&[&alice_id]));
    assert_eq!(
        port_free(&admins_after, &srv.url),
        port_free(&admins_before, &first_url)
    );
    let cloud_after = srv.read(&format!("/Groups/{cloud}")).await;
    assert_eq!(cloud_after["displayName"], "Cloud-Admins");
    assert_eq!(member_ids(&cloud_after), set(&[&dave]));
    assert_eq!(
        port_free(&cloud_after, &srv.url),
        port_free(&cloud_before, &first_url)
    );
    // Indexes were rebuilt: lookups, uniqueness and reverse membership work.
    assert_eq!(
        srv.users_matching("userName eq \"ALICE@contoso.com\"")
            .await,
        ["alice@contoso.com"]
    );
    assert_eq!(
        srv.users_matching("externalId eq \"ext-alice\"").await,
        ["alice@contoso.com"]
    );
    assert!(srv
        .users_matching("userName eq \"bob@contoso.com\"")
        .await
        .is_empty());
    srv.post(
        "/Users",
        &json!({"schemas": [USER_URN], "userName": "Dave@contoso.com"}),
    )
    .await
    .assert_error(409, Some("uniqueness"));
    assert_eq!(
        group_ids(&srv.read(&format!("/Users/{alice_id}")).await),
        set(&[&admins])
    );
    assert_eq!(srv.list("/Users", &[]).await["totalResults"], 2);
    assert_eq!(srv.list("/Groups", &[]).await["totalResults"], 2);
    // A deleted name is free again, and versions continue where they were.
    let bob2 = srv.user("bob@contoso.com").await;
    assert_ne!(bob2, bob);
    let r = srv
        .patch_ops(
            &format!("/Groups/{admins}"),
            json!([{"op": "add", "path": "members", "value": [{"value": bob2}]}]),
        )
        .await;
    r.expect(204);
    let admins_version = r.header("etag").unwrap().to_string();
    assert_ne!(
        Some(admins_version.as_str()),
        admins_before["meta"]["version"].as_str()
    );
    srv.delete(&format!("/Users/{dave}")).await.expect(204);
    srv.kill_9();

    // ---- third life: the writes made after the first restart are there too
    let srv = Serve::start(&state);
    let admins_now = srv.read(&format!("/Groups/{admins}")).await;
    assert_eq!(member_ids(&admins_now), set(&[&alice_id, &bob2]));
    assert_eq!(admins_now["meta"]["version"], json!(admins_version));
    assert_eq!(
        group_ids(&srv.read(&format!("/Users/{bob2}")).await),
        set(&[&admins])
    );
    srv.get(&format!("/Users/{dave}"))
        .await
        .assert_error(404, None);
    assert!(member_ids(&srv.read(&format!("/Groups/{cloud}")).await).is_empty());
    let users = srv.list("/Users", &[]).await;
    assert_eq!(ids(&users), set(&[&alice_id, &bob2]));
    srv.kill_9();
}

#[tokio::test]
async fn a_burst_of_parallel_writes_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("burst.json");
    let srv = Serve::start(&state);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (http, url) = (srv.http.clone(), srv.at("/Users"));
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(TOKEN)
                .header("content-type", SCIM_JSON)
                .body(
                    json!({"schemas": [USER_URN], "userName": format!("burst{i:02}@x")})
                        .to_string(),
                )
                .send()
                .await
                .expect("request");
            assert_eq!(r.status().as_u16(), 201);
            let v: Value = r.json().await.unwrap();
            v["id"].as_str().unwrap().to_string()
        }));
    }
    let mut acknowledged = std::collections::BTreeSet::new();
    for t in tasks {
        acknowledged.insert(t.await.unwrap());
    }
    srv.kill_9();

    let srv = Serve::start(&state);
    let listed = srv.list("/Users", &[]).await;
    assert_eq!(listed["totalResults"], 40);
    assert_eq!(ids(&listed), acknowledged);
    srv.kill_9();
}

#[tokio::test]
async fn the_state_file_is_replaced_atomically_and_readable_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.json");
    let srv = Serve::start(&state);
    let id = srv.user("only@x").await;
    srv.kill_9();
    // Start-up folds the journal into the state file (temp file + rename).
    let srv = Serve::start(&state);
    let on_disk: Value =
        serde_json::from_slice(&std::fs::read(&state).expect("state file exists")).expect("JSON");
    assert_eq!(on_disk["users"][0]["id"], json!(id));
    assert!(on_disk.to_string().contains("only@x"));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(
        srv.read(&format!("/Users/{id}")).await["userName"],
        "only@x"
    );
    srv.kill_9();
}
