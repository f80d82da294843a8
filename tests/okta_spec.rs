//! Okta's SCIM 2.0 SPEC test (`okta_spec_test`, issue 4): its 12 requests pass against the
//! reference server, and a server with a realistic bug fails the check that names it, where
//! the export's own, weaker assertions would have passed. The interpreter is driven directly
//! (`scimulator::probe::okta_spec::run`) and through the real binary on the bundled scenario.

mod buggy;

use buggy::Bug;
use scimulator::client::{Client, ClientConfig, Request};
use scimulator::probe::okta_spec;
use scimulator::report::model::{CheckReport, Outcome};
use scimulator::secret::Secret;
use scimulator::server::{start, ServerConfig};
use serde_json::json;
use std::process::Command;
use std::time::{Duration, Instant};

/// Long enough that redacting it cannot touch anything else in the output.
const TOKEN: &str = "okta-spec-token-5e0b7a";

fn client(url: &str) -> Client {
    Client::new(ClientConfig {
        base_url: url.to_string(),
        token: Some(Secret::new(TOKEN)),
        timeout: Duration::from_secs(10),
    })
    .expect("client")
}

/// The checks, one line each, for assertion messages.
fn summary(checks: &[CheckReport]) -> String {
    checks
        .iter()
        .map(|c| format!("{} {:?}\n{}\n", c.name, c.outcome, c.message))
        .collect()
}

/// Deletes what the suite created and checks the server holds no user any more.
async fn clean_up(c: &mut Client, created: &[String]) {
    for id in created {
        let r = c
            .send(Request::new(
                reqwest::Method::DELETE,
                format!("/Users/{id}"),
            ))
            .await;
        assert_eq!(r.status, Some(204), "DELETE /Users/{id}: {}", r.describe());
    }
    let left = c.send(Request::new(reqwest::Method::GET, "/Users")).await;
    assert_eq!(
        left.body.as_ref().map(|b| b["totalResults"].clone()),
        Some(json!(0))
    );
}

#[tokio::test]
async fn every_check_passes_against_the_reference_server() {
    let server = start(ServerConfig::local().with_token(TOKEN))
        .await
        .expect("server");
    let mut c = client(&server.url);
    let started = Instant::now();
    let run = okta_spec::run(&mut c, "t0a1b2c01").await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "no pauses: {:?}",
        started.elapsed()
    );
    assert_eq!(run.checks.len(), 12, "{}", summary(&run.checks));
    assert!(
        run.checks.iter().all(|x| x.outcome == Outcome::Passed),
        "{}",
        summary(&run.checks)
    );
    assert_eq!(
        run.checks[8].name,
        r#"spec 09 GET /Users?filter=userName eq "<randomUsernameCaps>""#
    );
    assert!(
        run.checks[8]
            .message
            .contains("ok   strict: the upper-cased userName finds the user"),
        "{}",
        run.checks[8].message
    );
    // The server had no user: one was seeded for step 1, then the suite made its own.
    assert_eq!(run.created_users.len(), 2, "{:?}", run.created_users);
    assert!(run.checks[0]
        .message
        .contains("the target listed no user; created"));
    assert_eq!(
        run.checks[0].exchanges.len(),
        3,
        "probe, seed POST, the step"
    );

    // 12 requests plus the probe and the seed; the 401 step alone went without the token and
    // carried the export's own `Authorization: non-token`.
    let ex = c.exchanges();
    assert_eq!(ex.len(), 14);
    for x in ex {
        let auth: Vec<&str> = x
            .request_headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .map(|(_, v)| v.as_str())
            .collect();
        let want: &[&str] = if x.status == Some(401) {
            &["non-token"]
        } else {
            &["Bearer ***"]
        };
        assert_eq!(auth, want, "exchange #{} {} {}", x.id, x.method, x.path);
    }
    let log = serde_json::to_string(ex).expect("exchanges serialise");
    assert!(
        !log.contains(TOKEN),
        "the token leaked into the exchange log"
    );
    assert_eq!(ex.iter().filter(|x| x.status == Some(401)).count(), 1);

    clean_up(&mut c, &run.created_users).await;
    server.stop().await;
}

#[tokio::test]
async fn a_target_with_users_gets_no_seed_user() {
    let server = start(ServerConfig::local().with_token(TOKEN))
        .await
        .expect("server");
    let mut c = client(&server.url);
    let existing = c
        .send(
            Request::new(reqwest::Method::POST, "/Users")
                .header("Content-Type", "application/scim+json")
                .json(json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "already.there@example.com",
                    "name": {"givenName": "Al", "familyName": "Ready"},
                    "emails": [{"value": "already.there@example.com", "primary": true}],
                    "active": true
                })),
        )
        .await;
    let existing = existing.body.expect("created")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let run = okta_spec::run(&mut c, "t0a1b2c02").await;
    assert!(
        run.checks.iter().all(|x| x.outcome == Outcome::Passed),
        "{}",
        summary(&run.checks)
    );
    assert_eq!(run.created_users.len(), 1, "only the suite's own user");
    assert!(!run.created_users.contains(&existing));
    assert!(!run.checks[0].message.contains("note:"));
    let mut created = run.created_users.clone();
    created.push(existing);
    clean_up(&mut c, &created).await;
    server.stop().await;
}

/// A case-sensitive userName filter still answers 200 with a ListResponse: the export's only
/// assertion on that step passes; the strict one fails, naming what went wrong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_sensitive_user_name_filter_fails_the_strict_check_only() {
    let server = buggy::start(Bug::CaseSensitiveUserNameFilter, TOKEN).await;
    let mut c = client(&server.url);
    let run = okta_spec::run(&mut c, "t0a1b2c03").await;
    let failed: Vec<&CheckReport> = run
        .checks
        .iter()
        .filter(|x| x.outcome != Outcome::Passed)
        .collect();
    assert_eq!(failed.len(), 1, "{}", summary(&run.checks));
    let check = failed[0];
    assert_eq!(
        check.name,
        r#"spec 09 GET /Users?filter=userName eq "<randomUsernameCaps>""#
    );
    assert_eq!(check.outcome, Outcome::Failed);
    let m = &check.message;
    assert!(
        m.starts_with("Required Test: Username Case Sensitivity Check: 1 of 2 assertions failed"),
        "{m}"
    );
    assert!(
        m.contains(r#"ok   status equal_number "200": got 200"#),
        "{m}"
    );
    assert!(
        m.contains("FAIL strict: the upper-cased userName finds the user created in the POST step"),
        "{m}"
    );
    assert!(m.contains("got totalResults 0, ids []"), "{m}");
    assert_eq!(check.exchanges.len(), 1);
    clean_up(&mut c, &run.created_users).await;
    server.stop().await;
}

/// A 409 with a plain-text body passes the export's status-only assertion; the strict SCIM
/// Error and scimType assertions fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_without_a_scim_error_fails_the_duplicate_post() {
    let server = buggy::start(Bug::ConflictAsPlainText, TOKEN).await;
    let mut c = client(&server.url);
    let run = okta_spec::run(&mut c, "t0a1b2c04").await;
    let failed: Vec<&CheckReport> = run
        .checks
        .iter()
        .filter(|x| x.outcome != Outcome::Passed)
        .collect();
    assert_eq!(failed.len(), 1, "{}", summary(&run.checks));
    let m = &failed[0].message;
    assert_eq!(failed[0].name, "spec 08 POST /Users");
    assert!(
        m.contains(r#"ok   status equal_number "409": got 409"#),
        "{m}"
    );
    assert!(
        m.contains(r#"FAIL strict: the 409 is a SCIM Error (RFC 7644 §3.12)"#)
            && m.contains(r#"got no JSON body: "User already exists""#),
        "{m}"
    );
    assert!(m.contains(r#"FAIL strict: scimType "uniqueness""#), "{m}");
    clean_up(&mut c, &run.created_users).await;
    server.stop().await;
}

/// A request that gets no answer is an error, and the steps after it, which build on it, are
/// not sent.
#[tokio::test]
async fn no_answer_stops_the_suite() {
    use scimulator::scenario::model::{Fault, FaultEffect, FaultKind};
    let server = start(ServerConfig::local().with_token(TOKEN))
        .await
        .expect("server");
    let mut c = client(&server.url);
    c.faults.arm(&Fault {
        matches: "GET /Users/*".into(),
        nth: None,
        times: None,
        effect: FaultEffect::Named(FaultKind::Fail),
    });
    let run = okta_spec::run(&mut c, "t0a1b2c05").await;
    let outcomes: Vec<Outcome> = run.checks.iter().map(|x| x.outcome).collect();
    let mut want = vec![Outcome::Passed, Outcome::Error];
    want.extend([Outcome::Skipped; 10]);
    assert_eq!(outcomes, want, "{}", summary(&run.checks));
    assert!(
        run.checks[1]
            .message
            .contains("no answer: connection failed"),
        "{}",
        run.checks[1].message
    );
    assert!(run.checks[2]
        .message
        .starts_with("not run: spec 02 got no answer"));
    assert_eq!(c.exchanges().len(), 4, "probe, seed, spec 01, spec 02");
    clean_up(&mut c, &run.created_users).await;
    server.stop().await;
}

/// `send_without_auth` sends only the request's own headers, and the exchange log never shows
/// the token, even when a caller put it in a header itself.
#[tokio::test]
async fn without_auth_the_token_is_neither_sent_nor_shown() {
    let server = start(ServerConfig::local().with_token(TOKEN))
        .await
        .expect("server");
    let mut c = client(&server.url);
    let bare = c
        .send_without_auth(Request::new(reqwest::Method::GET, "/Users"))
        .await;
    assert_eq!(bare.status, Some(401));
    let echoed = c
        .send_without_auth(
            Request::new(reqwest::Method::GET, "/Users")
                .header("Authorization", &format!("Bearer {TOKEN}")),
        )
        .await;
    assert_eq!(
        echoed.status,
        Some(200),
        "the header the caller set went out"
    );
    // Only the request's own headers: the transport adds none.
    let ex = c.exchanges();
    assert!(
        ex[0].request_headers.is_empty(),
        "{:?}",
        ex[0].request_headers
    );
    assert_eq!(
        *ex[1].request_headers,
        [("Authorization".to_string(), "***".to_string())]
    );
    server.stop().await;
}

/// The bundled scenario through the real binary: exit 0 against a faithful proxy, exit 1
/// naming the strict assertion against a case-sensitive filter; the token never shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundled_scenario_exits_1_naming_the_case_sensitive_filter() {
    for (bug, code) in [(Bug::None, 0), (Bug::CaseSensitiveUserNameFilter, 1)] {
        let server = buggy::start(bug, TOKEN).await;
        let url = server.url.clone();
        let root = env!("CARGO_MANIFEST_DIR");
        let file = format!("{root}/scenarios/okta/spec-test.yaml");
        let out = tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_scimulator"))
                .current_dir(root)
                .env_remove("SCIM_TOKEN")
                .args([
                    "run",
                    &file,
                    "--target",
                    &url,
                    "--token",
                    TOKEN,
                    "--no-color",
                ])
                .output()
                .expect("run scimulator")
        })
        .await
        .expect("join");
        // The run cleaned up after itself: nothing of the suite is left on the server.
        let mut c = client(&server.url);
        let left = c.send(Request::new(reqwest::Method::GET, "/Users")).await;
        server.stop().await;
        let output = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(code), "{bug:?}\n{output}");
        assert!(!output.contains(TOKEN), "the token leaked:\n{output}");
        assert_eq!(
            left.body.as_ref().map(|b| b["totalResults"].clone()),
            Some(json!(0)),
            "{bug:?}: users left behind"
        );
        if code == 1 {
            for needle in [
                "FAILED okta-spec-test",
                r#"step 1 okta_spec_test, line 18: spec 09 GET /Users?filter=userName eq "<randomUsernameCaps>" FAILED"#,
                "FAIL strict: the upper-cased userName finds the user created in the POST step",
                r#"ok   status equal_number "200": got 200"#,
            ] {
                assert!(output.contains(needle), "expected {needle:?} in:\n{output}");
            }
        }
    }
}
