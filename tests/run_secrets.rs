//! Acceptance 5 of `scimulator run`: a run with the token `SECRET-TOKEN-123` leaves that string
//! nowhere: not in stdout, not in stderr (even at the most verbose log level), not in any file
//! `--report DIR` writes, whether the token comes from `--token`, `SCIM_TOKEN` or `--token-env`,
//! whether the run passes or fails (failure output prints exchanges), and whether the target is the
//! built-in server or an external one. report.json shows `Authorization: Bearer ***`.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const TOKEN: &str = "SECRET-TOKEN-123";

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// `scimulator run ARGS...` from the crate root with `env` set, SCIM_TOKEN unset unless given.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scimulator"));
    cmd.arg("run")
        .args(args)
        .arg("--no-color")
        .current_dir(manifest_dir())
        .env_remove("SCIM_TOKEN")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the scimulator binary runs")
}

/// The token appears in neither stream nor in any file under `dir` (report.json, junit.xml and
/// anything else the run left there).
#[track_caller]
fn assert_no_token(out: &Output, dir: Option<&Path>) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Also either half of the token (a partial leak).
    let needles = [TOKEN, "SECRET-TOKEN", "TOKEN-123"];
    for n in needles {
        assert!(
            !stdout.contains(n),
            "{n:?} in stdout:\n{stdout}\nstderr:\n{stderr}"
        );
        assert!(!stderr.contains(n), "{n:?} in stderr:\n{stderr}");
    }
    let Some(dir) = dir else { return };
    let mut files = 0;
    for e in std::fs::read_dir(dir).expect("report dir") {
        let path = e.expect("entry").path();
        let bytes = std::fs::read(&path).expect("report file");
        let text = String::from_utf8_lossy(&bytes);
        for n in needles {
            assert!(!text.contains(n), "{n:?} in {}", path.display());
        }
        files += 1;
    }
    assert!(
        dir.join("report.json").exists() && dir.join("junit.xml").exists(),
        "both reports written ({files} files)"
    );
}

/// Every exchange of report.json carries `Authorization: Bearer ***`, and no other header holds
/// a credential. The one exception is Okta's SPEC test's 401 probe (`okta_spec_test`), sent
/// without the token and with the export's own `Authorization: non-token`, which the writer
/// masks whole (`***`, no scheme) and the server answers with 401; and the 401 probes of
/// `rfc_probes`.
#[track_caller]
fn assert_redacted_headers(dir: &Path) -> usize {
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("report.json")).expect("report.json"),
    )
    .expect("JSON");
    let mut n = 0;
    for s in report["scenarios"].as_array().expect("scenarios") {
        for x in s["exchanges"].as_array().expect("exchanges") {
            let headers = x["request_headers"].as_array().expect("headers");
            let auth: Vec<&str> = headers
                .iter()
                .filter(|h| {
                    h[0].as_str()
                        .is_some_and(|k| k.eq_ignore_ascii_case("authorization"))
                })
                .map(|h| h[1].as_str().expect("value"))
                .collect();
            let probe = auth == ["***"] && x["status"] == 401 && s["name"] == "okta-spec-test";
            // `scimulator check`'s 401 probes: one without any Authorization header, one with
            // a made-up bearer token (no credential of the run).
            let rfc_probe = s["name"] == "rfc-conformance"
                && x["status"] == 401
                && (auth.is_empty()
                    || auth == ["***"]
                    || (auth.len() == 1 && auth[0].starts_with("Bearer rfc-wrong-token-")));
            assert!(
                auth == ["Bearer ***"] || probe || rfc_probe,
                "exchange #{} of {}: the Authorization header, redacted: {auth:?}",
                x["id"],
                s["name"]
            );
            n += 1;
        }
    }
    assert!(n > 0, "the report has exchanges");
    n
}

/// Every bundled scenario, built-in server, token from `--token`; the most verbose log level.
#[test]
fn token_from_the_command_line_never_shows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(
        &["--token", TOKEN, "--report", p(dir.path())],
        &[("SCIMULATOR_LOG", "trace")],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_no_token(&out, Some(dir.path()));
    assert_redacted_headers(dir.path());
}

/// The token from `SCIM_TOKEN`.
#[test]
fn token_from_scim_token_never_shows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(
        &["--report", p(dir.path())],
        &[("SCIM_TOKEN", TOKEN), ("SCIMULATOR_LOG", "debug")],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_no_token(&out, Some(dir.path()));
    assert_redacted_headers(dir.path());
}

/// The token from `--token-env VAR`.
#[test]
fn token_from_token_env_never_shows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(
        &["--token-env", "MY_SCIM_SECRET", "--report", p(dir.path())],
        &[("MY_SCIM_SECRET", TOKEN)],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_no_token(&out, Some(dir.path()));
    assert_redacted_headers(dir.path());
}

/// A scenario that fails with exchanges to show: the first user POST's answer is dropped after
/// the server applied it, and a second scenario expects a wrong log.
const FAILING: &str = r#"name: secret-failure
description: A dropped answer makes the expectations fail; the failure output shows exchanges.
idp: entra
settings: { dialect: default, mapping: entra-default }
directory:
  users:
    - { id: mo, userPrincipalName: mo@contoso.com, displayName: Mo }
    - { id: ng, userPrincipalName: ng@contoso.com, displayName: Ng }
  groups:
    - { id: ops, displayName: Ops, members: [mo, ng] }
steps:
  - assign: { groups: [ops] }
  - fault: { match: "POST /Users", effect: drop-response }
  - fault: { match: "PATCH /Groups/*", effect: { status: 500 } }
  - cycle: initial
  - expect:
      state: derived
      log:
        - { identity: Mo, action: Create }
        - { identity: Ng, action: Create }
        - { identity: Ops, action: Create }
        - { identity: Ops, action: Update }
"#;

/// A failing run prints the diff and the exchanges behind it; the token is still nowhere.
#[test]
fn a_failing_run_shows_exchanges_but_not_the_token() {
    let scenarios = tempfile::tempdir().expect("tempdir");
    let failing = scenarios.path().join("failing.yaml");
    std::fs::write(&failing, FAILING).expect("write scenario");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(
        &[p(&failing), "--token", TOKEN, "--report", p(dir.path())],
        &[("SCIMULATOR_LOG", "trace")],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("caused by:") && stdout.contains("POST /Users"),
        "the failure output shows the exchanges (so this test checks something)\n{stdout}"
    );
    assert_no_token(&out, Some(dir.path()));
    assert_redacted_headers(dir.path());
}

/// An external target (the built-in server started by the test) holding the token: the same run
/// against it leaves no trace of the token; a target refusing it (401, exit 3) neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_target_never_sees_the_token_echoed() {
    let server =
        scimulator::server::start(scimulator::server::ServerConfig::local().with_token(TOKEN))
            .await
            .expect("built-in server");
    let url = server.url.clone();
    let (out, dir) = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = run(
            &[
                "--target",
                &url,
                "--token",
                TOKEN,
                "--report",
                p(dir.path()),
            ],
            &[],
        );
        (out, dir)
    })
    .await
    .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_no_token(&out, Some(dir.path()));
    assert_redacted_headers(dir.path());
    server.stop().await;

    // The token is wrong for this server: 401 on the first request, exit 3.
    let other = scimulator::server::start(
        scimulator::server::ServerConfig::local().with_token("another-token"),
    )
    .await
    .expect("built-in server");
    let url = other.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        run(
            &["--target", &url, "--token", TOKEN],
            &[("SCIMULATOR_LOG", "trace")],
        )
    })
    .await
    .expect("run");
    assert_eq!(out.status.code(), Some(3));
    assert_no_token(&out, None);
    other.stop().await;

    // Usage errors around the token do not echo it either.
    let out = run(&["--token", TOKEN, "--token-env", "X"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_no_token(&out, None);
}
