//! "Do no harm" (issue 9): the real binary against misbehaving servers on loopback. The harness
//! writes only to objects it can prove are its own, never puts a server-chosen id that is path
//! syntax into a path, and verifies and reports its clean-up.
//!
//! Each test prints the figure it measures (`safety figure: …`) before asserting on it.

mod buggy;

use buggy::Bug;
use scimulator::scim::kind::ObjectKind;
use serde_json::{json, Value};
use std::path::Path;

const TOKEN: &str = "safety-test-token-5b1f0c";

/// Runs the real binary with `args` (plus `--target`, `--token`, `--no-color`) from the crate
/// root; returns the exit code and stdout+stderr.
async fn scimulator(url: &str, args: &[&str]) -> (Option<i32>, String) {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    all.extend([
        "--target".into(),
        url.into(),
        "--token".into(),
        TOKEN.into(),
        "--no-color".into(),
    ]);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_scimulator"))
            .current_dir(root)
            .env_remove("SCIM_TOKEN")
            .args(&all)
            .output()
            .expect("run scimulator")
    })
    .await
    .expect("join");
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

/// Creates 50 users and 10 groups (5 members each) directly on the reference server, not
/// through the proxy and not by the harness: someone else's directory. Returns their paths
/// relative to the base URL (`/Users/{id}`).
async fn populate(base: &str) -> Vec<String> {
    let c = http();
    let post = |path: &str, body: Value| {
        c.post(format!("{base}{path}"))
            .bearer_auth(TOKEN)
            .header("Content-Type", "application/scim+json")
            .body(body.to_string())
            .send()
    };
    let mut paths = Vec::new();
    let mut users = Vec::new();
    for i in 0..50 {
        let r = post(
            "/Users",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": format!("staff{i:02}@example.org"),
                "externalId": format!("hr-{i:04}"),
                "displayName": format!("Staff Member {i}"),
                "name": {"givenName": "Staff", "familyName": format!("Member{i}")},
                "emails": [{"value": format!("staff{i:02}@example.org"), "type": "work", "primary": true}],
                "title": "Engineer",
                "active": i % 7 != 0
            }),
        )
        .await
        .expect("POST /Users");
        assert_eq!(r.status().as_u16(), 201, "populate a user");
        let b: Value = r.json().await.expect("user JSON");
        let id = b["id"].as_str().expect("id").to_string();
        paths.push(format!("/Users/{id}"));
        users.push(id);
    }
    for g in 0..10 {
        let members: Vec<Value> = users[g * 5..g * 5 + 5]
            .iter()
            .map(|id| json!({"value": id}))
            .collect();
        let r = post(
            "/Groups",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": format!("Staff Team {g}"),
                "members": members
            }),
        )
        .await
        .expect("POST /Groups");
        assert_eq!(r.status().as_u16(), 201, "populate a group");
        let b: Value = r.json().await.expect("group JSON");
        paths.push(format!("/Groups/{}", b["id"].as_str().expect("id")));
    }
    paths
}

/// `GET` of each path on the reference server: status and body bytes.
async fn snapshot(base: &str, paths: &[String]) -> Vec<(u16, Vec<u8>)> {
    let c = http();
    let mut out = Vec::new();
    for p in paths {
        let r = c
            .get(format!("{base}{p}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("GET");
        out.push((r.status().as_u16(), r.bytes().await.expect("body").to_vec()));
    }
    out
}

/// How many of the foreign objects are gone or changed.
fn harmed(before: &[(u16, Vec<u8>)], after: &[(u16, Vec<u8>)]) -> (usize, usize) {
    let deleted = after.iter().filter(|(s, _)| *s != 200).count();
    let modified = before
        .iter()
        .zip(after)
        .filter(|(b, a)| a.0 == 200 && b.1 != a.1)
        .count();
    (deleted, modified)
}

fn report(dir: &Path, file: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(file)).expect(file)).expect("JSON")
}

fn findings(report: &Value) -> Vec<Value> {
    report["scenarios"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["findings"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// One command against a fresh filter-ignoring server in front of someone else's directory
/// (50 users, 10 groups): how many of the 60 it deleted and modified, its exit code, output
/// and report.json (when `report` is set).
async fn against_filter_ignoring(args: &[&str], report_file: Option<&str>) -> Harm {
    let server = buggy::start(Bug::IgnoreFilter, TOKEN).await;
    let base = server.upstream.url.clone();
    let foreign = populate(&base).await;
    assert_eq!(foreign.len(), 60);
    let before = snapshot(&base, &foreign).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display().to_string();
    let mut all: Vec<&str> = args.to_vec();
    if report_file.is_some() {
        all.extend(["--report", &d]);
    }
    let (code, out) = scimulator(&server.url, &all).await;
    let after = snapshot(&base, &foreign).await;
    let (deleted, modified) = harmed(&before, &after);
    let report = report_file.map(|f| report(dir.path(), f));
    server.stop().await;
    eprintln!(
        "safety figure: `scimulator {}` against a filter-ignoring server: {deleted} of 60 \
         foreign objects deleted, {modified} modified (exit {code:?})",
        args.join(" ")
    );
    Harm {
        deleted,
        modified,
        code,
        out,
        report,
    }
}

struct Harm {
    deleted: usize,
    modified: usize,
    code: Option<i32>,
    out: String,
    report: Option<Value>,
}

/// A server that ignores `filter` in front of a directory of 50 users and 10 groups the run did
/// not create: every bundled scenario, `check` and `certify` leave all 60 byte-identical, and
/// the answer that ignored the filter is a MUST finding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_ignores_filter_loses_no_foreign_object() {
    // Every bundled scenario (no path: all of them), then `check`, then `certify`, each on a
    // fresh server, so that each figure is its own.
    let run = against_filter_ignoring(&["run"], Some("report.json")).await;
    let check = against_filter_ignoring(&["check"], Some("report.json")).await;
    let certify =
        against_filter_ignoring(&["certify", "--mapping", "cisco-secure-access-entra"], None).await;
    for (what, h) in [("run", &run), ("check", &check), ("certify", &certify)] {
        assert_eq!(
            (h.deleted, h.modified),
            (0, 0),
            "{what} harmed foreign objects\n{}",
            h.out
        );
    }
    let r = run.report.as_ref().expect("report.json");
    let scenarios = r["scenarios"].as_array().expect("scenarios").len();
    assert!(scenarios >= 27, "every bundled scenario ran: {scenarios}");
    let filter_findings: Vec<Value> = findings(r)
        .into_iter()
        .filter(|f| {
            f["behaviour"]
                .as_str()
                .unwrap_or("")
                .contains("filter ignored")
        })
        .collect();
    assert!(
        filter_findings.len() >= scenarios - 1,
        "a filter-ignored finding in (nearly) every scenario: {}\n{}",
        filter_findings.len(),
        run.out
    );
    for f in &filter_findings {
        assert_eq!(f["severity"], "MUST");
        assert_eq!(f["source"], "RFC 7644 §3.4.2.2");
        assert!(
            f["count"].as_u64().unwrap_or(0) >= 10,
            "counts foreign: {f}"
        );
    }
    assert!(
        run.out.contains("filter ignored"),
        "the terminal says so\n{}",
        run.out
    );
    assert_eq!(
        run.code,
        Some(1),
        "a MUST finding is not a pass\n{}",
        run.out
    );
    let c = check.report.as_ref().expect("report.json");
    assert!(
        findings(c).iter().any(|f| f["behaviour"]
            .as_str()
            .unwrap_or("")
            .contains("filter ignored")),
        "check reports the ignored filter\n{}",
        check.out
    );
    assert!(
        certify.out.contains("filter ignored"),
        "certify says so\n{}",
        certify.out
    );
}

/// Ids that are path syntax (`../../{id}`) never reach a path: every request the proxy saw
/// stays under the base path, and the unsafe id is a finding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_that_are_path_syntax_never_leave_the_base_path() {
    let server = buggy::start(Bug::DotDotIds, TOKEN).await;
    let base_path = server
        .url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|at| rest[at..].to_owned()))
        .expect("base path");
    let dir = tempfile::tempdir().expect("tempdir");
    let run_dir = dir.path().join("run");
    let run_dir_s = run_dir.display().to_string();
    let (code, out) = scimulator(
        &server.url,
        // Every bundled scenario (no path: all of them).
        &["run", "--report", &run_dir_s],
    )
    .await;
    let (_, check_out) = scimulator(&server.url, &["check"]).await;
    let (_, cert_out) = scimulator(
        &server.url,
        &["certify", "--mapping", "cisco-secure-access-entra"],
    )
    .await;
    let seen = server.seen.lock().expect("log").clone();
    let outside: Vec<&String> = seen
        .iter()
        .filter(|line| {
            let path = line.split_once(' ').map_or("", |(_, p)| p);
            !path.starts_with(&format!("{base_path}/"))
                || path.split('?').next().unwrap_or("").split('/').any(|seg| {
                    seg == ".." || seg == "." || seg.contains("%2F") || seg.contains("%2f")
                })
        })
        .collect();
    eprintln!(
        "safety figure: ids `../../X`: {} of {} requests outside the base path {base_path}",
        outside.len(),
        seen.len()
    );
    assert!(seen.len() > 50, "the run did talk to the server");
    assert!(outside.is_empty(), "left the base path: {outside:#?}");
    let r = report(&run_dir, "report.json");
    assert!(
        findings(&r).iter().any(|f| f["message"]
            .as_str()
            .unwrap_or("")
            .contains("contains \"..\" (a parent-directory segment)")),
        "the unsafe id is a finding\n{out}"
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        check_out.contains("parent-directory segment"),
        "check names the unsafe id\n{check_out}"
    );
    assert!(
        cert_out.contains("parent-directory segment"),
        "certify names the unsafe id\n{cert_out}"
    );
    server.stop().await;
}

/// DELETE answers 204 but the object stays readable: residue, reported in the clean-up step,
/// as an RFC 7644 §3.6 finding, on the terminal; exit 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_soft_delete_is_residue_and_fails_the_run() {
    let server = buggy::start(Bug::SoftDelete, TOKEN).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display().to_string();
    let (code, out) = scimulator(
        &server.url,
        &["run", "scenarios/entra/cisco-guide.yaml", "--report", &d],
    )
    .await;
    eprintln!("safety figure: soft-deleting server: exit {code:?}");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("still readable after DELETE"), "{out}");
    let r = report(dir.path(), "report.json");
    let s = &r["scenarios"][0];
    let cleanup = s["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|st| st["kind"] == "cleanup")
        .expect("a cleanup step");
    assert_eq!(cleanup["outcome"], "failed");
    assert_eq!(cleanup["checks"][0]["outcome"], "failed");
    let residue = findings(&r)
        .into_iter()
        .find(|f| f["source"] == "RFC 7644 §3.6")
        .expect("an RFC 7644 §3.6 finding");
    assert_eq!(residue["severity"], "MUST");
    // cisco-guide creates 2 users and 2 groups: all four are residue.
    assert_eq!(residue["count"], 4, "{residue}");
    // The read-back after DELETE is recorded as the harness's own traffic.
    let xs = s["exchanges"].as_array().expect("exchanges");
    let harness: Vec<&Value> = xs.iter().filter(|x| x["harness"] == true).collect();
    assert!(
        harness.iter().filter(|x| x["method"] == "DELETE").count() == 4
            && harness
                .iter()
                .filter(|x| x["method"] == "GET" && x["status"] == 200)
                .count()
                >= 4,
        "clean-up and its read-back are in the exchanges: {harness:#?}"
    );
    assert_eq!(
        r["summary"]["requests"].as_u64().expect("requests") as usize,
        xs.len(),
        "the summary counts the harness's requests too"
    );
    server.stop().await;
}

/// Every DELETE answers 500: the clean-up failure is reported (step, terminal) and exit is 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_delete_is_reported_and_fails_the_run() {
    let server = buggy::start(Bug::DeleteFails, TOKEN).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display().to_string();
    let (code, out) = scimulator(
        &server.url,
        &["run", "scenarios/entra/cisco-guide.yaml", "--report", &d],
    )
    .await;
    eprintln!("safety figure: DELETE answering 500: exit {code:?}");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("4 DELETEs failed, left on the server"),
        "{out}"
    );
    assert!(out.contains("HTTP 500"), "{out}");
    let r = report(dir.path(), "report.json");
    let cleanup = r["scenarios"][0]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|st| st["kind"] == "cleanup")
        .expect("a cleanup step")
        .clone();
    assert_eq!(cleanup["outcome"], "failed", "{cleanup}");
    // Everything the run created is still there: nothing else was touched either.
    assert_eq!(server.upstream.store.len(ObjectKind::User), 2);
    assert_eq!(server.upstream.store.len(ObjectKind::Group), 2);
    server.stop().await;
}

/// The control: a faithful server, a clean clean-up that passes and says what it did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_faithful_server_is_cleaned_up_and_passes() {
    let server = buggy::start(Bug::None, TOKEN).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display().to_string();
    let (code, out) = scimulator(
        &server.url,
        &["run", "scenarios/entra/cisco-guide.yaml", "--report", &d],
    )
    .await;
    assert_eq!(code, Some(0), "{out}");
    let r = report(dir.path(), "report.json");
    let cleanup = r["scenarios"][0]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|st| st["kind"] == "cleanup")
        .expect("a cleanup step")
        .clone();
    assert_eq!(cleanup["outcome"], "passed", "{cleanup}");
    let message = cleanup["checks"][0]["message"].as_str().unwrap_or("");
    assert!(
        message.starts_with("deleted what the run owns: 2 groups and 2 users, groups first; 4 read back after DELETE"),
        "{message}"
    );
    assert!(findings(&r).iter().all(|f| f["source"] != "RFC 7644 §3.6"));
    assert_eq!(server.upstream.store.len(ObjectKind::User), 0);
    assert_eq!(server.upstream.store.len(ObjectKind::Group), 0);
    server.stop().await;
}

/// Every request that reached the server is in the report: the IdP's, and the harness's own
/// read-back and clean-up (marked `harness`), all counted in the summary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_the_server_sees_is_in_the_report() {
    let server = buggy::start(Bug::None, TOKEN).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display().to_string();
    let (code, out) = scimulator(
        &server.url,
        &["run", "scenarios/entra", "scenarios/okta", "--report", &d],
    )
    .await;
    let seen = server.seen.lock().expect("log").len();
    server.stop().await;
    let r = report(dir.path(), "report.json");
    let counted = r["summary"]["requests"].as_u64().expect("requests") as usize;
    let exchanges: Vec<Value> = r["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .flat_map(|s| s["exchanges"].as_array().cloned().unwrap_or_default())
        .collect();
    let harness = exchanges.iter().filter(|x| x["harness"] == true).count();
    // A fault injected client-side (`fail`, `status 500`) is recorded but never sent; a dropped
    // response was sent.
    let not_sent = exchanges
        .iter()
        .filter(|x| x["fault"].as_str().is_some_and(|f| f != "drop-response"))
        .count();
    eprintln!(
        "safety figure: Entra and Okta scenarios: the server saw {seen} requests, the summary \
         counts {counted} ({harness} of them the harness's own, {not_sent} injected faults never \
         sent), plus 1 preflight (exit {code:?})"
    );
    // The one request not in a scenario: the preflight that checks the target is usable.
    assert_eq!(counted - not_sent + 1, seen, "{out}");
    assert!(harness > 0);
}
