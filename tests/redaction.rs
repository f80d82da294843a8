//! Secrets never leave the process, whatever a server sends back. A server that quotes the
//! `Authorization` header (and the token base64- and URL-encoded, and inside a `Basic` value)
//! in its error bodies makes every message built from a response (Test Connection failures,
//! findings, provisioning-log details, check messages, exchanges) carry the token; none of it
//! may reach stdout, stderr (at debug log level), report.json, junit.xml or
//! certification.json, for `run`, `check` and `certify`. And credentials in the `--target` URL
//! (`?access_token=...`, `#access_token=...`) are refused without being printed.

mod hostile;

use hostile::{base64, scimulator_env, text, urlencode, Echo, EchoProxy};
use std::path::Path;

/// URL-encoding and base64 both change it: `/`, `+` and `=`.
const TOKEN: &str = "S3cr3t/Tok+en=value-0123456789";

/// Every form of the token a leak could take, and halves of it.
fn needles() -> Vec<String> {
    let b64 = base64(TOKEN.as_bytes());
    let basic = base64(format!("scim:{TOKEN}").as_bytes());
    vec![
        TOKEN.to_string(),
        "S3cr3t/Tok".to_string(),
        "en=value-0123456789".to_string(),
        urlencode(TOKEN),
        urlencode(TOKEN).to_lowercase(),
        // Without the last block, which padding may change.
        b64[..b64.len() - 4].to_string(),
        basic[8..basic.len() - 4].to_string(),
    ]
}

#[track_caller]
fn assert_nowhere(what: &str, out: &std::process::Output, dir: &Path, files: &[&str]) {
    let t = text(out);
    for n in needles() {
        assert!(!t.contains(&n), "{what}: {n:?} in stdout/stderr:\n{t}");
    }
    for f in files {
        let path = dir.join(f);
        let body = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{what}: {} not written ({e}):\n{t}", path.display()));
        for n in needles() {
            assert!(!body.contains(&n), "{what}: {n:?} in {f}");
        }
        if f.ends_with(".json") {
            // The JSON reports hold every exchange, the echoing bodies with them.
            assert!(
                body.contains("***"),
                "{what}: {f} shows where the token was masked"
            );
        }
    }
}

/// Runs `run`, `check` and `certify` against `url` and checks every output; returns the
/// texts, for the checks that the echo was really seen.
fn every_command(url: &str) -> Vec<String> {
    let mut texts = Vec::new();
    let env = [("SCIMULATOR_LOG", "debug"), ("THE_TOKEN", TOKEN)];
    let commands: [(&str, Vec<&str>, &[&str]); 4] = [
        (
            "run (token from --token)",
            vec![
                "run",
                "scenarios/entra/test-connection-on-demand.yaml",
                "scenarios/okta/cisco-guide.yaml",
                "scenarios/duo/cisco-guide.yaml",
                "--token",
                TOKEN,
            ],
            &["report.json", "junit.xml"],
        ),
        (
            "run (token from --token-env)",
            vec![
                "run",
                "scenarios/entra/cisco-guide.yaml",
                "--token-env",
                "THE_TOKEN",
            ],
            &["report.json", "junit.xml"],
        ),
        (
            "check",
            vec!["check", "--token", TOKEN],
            &["report.json", "junit.xml"],
        ),
        (
            "certify",
            vec!["certify", "--mapping", "entra-default", "--token", TOKEN],
            &["certification.json"],
        ),
    ];
    for (what, args, files) in commands {
        let dir = tempfile::tempdir().expect("temp dir");
        let report = dir.path().to_str().expect("utf-8").to_string();
        let mut args = args.clone();
        args.extend(["--target", url, "--report", &report, "--no-color"]);
        let out = scimulator_env(&args, &env);
        assert_nowhere(what, &out, dir.path(), files);
        let mut all = text(&out);
        for f in files {
            all.push_str(&std::fs::read_to_string(dir.path().join(f)).unwrap_or_default());
        }
        texts.push(all);
    }
    texts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_echoing_the_token_in_every_answer_leaks_it_nowhere() {
    let proxy = EchoProxy::start(TOKEN, Echo::Always).await;
    let url = proxy.url.clone();
    let texts = tokio::task::spawn_blocking(move || every_command(&url))
        .await
        .expect("join");
    // The echo was seen (and masked): the Test Connection failure quotes the body.
    assert!(
        texts[0].contains("You sent Authorization: Bearer ***"),
        "the Test Connection failure shows the masked echo:\n{}",
        texts[0]
    );
    for t in &texts {
        assert!(
            t.contains("base64: ***") && t.contains("url-encoded: ***"),
            "every form of the token is masked where it was: {t}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_echoing_the_token_in_its_errors_leaks_it_nowhere() {
    let proxy = EchoProxy::start(TOKEN, Echo::OnError).await;
    let url = proxy.url.clone();
    let texts = tokio::task::spawn_blocking(move || every_command(&url))
        .await
        .expect("join");
    // `check` provokes errors (404s, 409s, 400s) whose bodies quote the token.
    assert!(
        texts[2].contains("You sent Authorization: Bearer ***"),
        "check's report holds masked echoes"
    );
}

#[test]
fn credentials_in_the_target_url_are_refused_and_never_printed() {
    for target in [
        "http://127.0.0.1:9/scim/v2?access_token=QUERYSECRET123",
        "http://127.0.0.1:9/scim/v2?tenant=a&api_key=QUERYSECRET123",
        "http://127.0.0.1:9/scim/v2#access_token=QUERYSECRET123",
        "http://127.0.0.1:9/scim/v2?x=QUERYSECRET123abc456",
        "http://scim:QUERYSECRET123@127.0.0.1:9/scim/v2",
    ] {
        for cmd in [
            &["run", "scenarios/entra/cisco-guide.yaml"][..],
            &["check"],
            &["certify", "--mapping", "entra-default"],
        ] {
            let mut args = cmd.to_vec();
            args.extend(["--target", target, "--token", "a-token-of-some-length"]);
            let out = scimulator_env(&args, &[("SCIMULATOR_LOG", "trace")]);
            let t = text(&out);
            assert_eq!(out.status.code(), Some(2), "{target} {cmd:?}: exit\n{t}");
            assert!(t.contains("--target must not carry"), "{t}");
            assert!(
                !t.contains("QUERYSECRET123"),
                "{target} {cmd:?}: printed\n{t}"
            );
        }
    }
    // A usage error from the argument parser, with the target on the same line, prints none.
    let out = scimulator_env(
        &[
            "check",
            "--target=http://127.0.0.1:9/scim/v2?access_token=QUERYSECRET123",
            "--target",
            "http://x",
        ],
        &[],
    );
    assert!(!text(&out).contains("QUERYSECRET123"), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_cut_in_two_by_a_shortened_message_leaks_no_half() {
    let proxy = EchoProxy::start(TOKEN, Echo::PlainTextCut).await;
    let url = proxy.url.clone();
    let texts = tokio::task::spawn_blocking(move || every_command(&url))
        .await
        .expect("join");
    // The failed writes' log details quote the start of the page, up to where the token was.
    assert!(
        texts[0].contains("-Authorization: Bearer ***"),
        "the page was quoted, masked:\n{}",
        texts[0]
    );
}
