//! What scimulator says, and which exit code it gives, when the target misbehaves at the wire
//! or is not a SCIM service at all. Every failure is named for what it was (a body cut short, a
//! reset, a redirect loop, a token no header can carry, TLS spoken to a plain-HTTP port) and
//! every subcommand that talks to a target (`run`, `check`, `certify`) gives the same exit
//! code for the same target: 3 when the target cannot be used, 2 for a bad token.

mod hostile;

use hostile::{scimulator, text, Misbehaviour, Wire};

const TOKEN: &str = "wire-test-token-0123";
const SCENARIO: &str = "scenarios/entra/cisco-guide.yaml";

/// `run`, `check` and `certify` against `url`, each as `(name, output)`.
fn all_three(url: &str) -> Vec<(&'static str, std::process::Output)> {
    let common = [
        "--target",
        url,
        "--token",
        TOKEN,
        "--no-color",
        "--timeout",
        "10",
    ];
    let mut run = vec!["run", SCENARIO];
    run.extend(common);
    let mut check = vec!["check"];
    check.extend(common);
    let mut certify = vec!["certify", "--mapping", "entra-default"];
    certify.extend(common);
    vec![
        ("run", scimulator(&run)),
        ("check", scimulator(&check)),
        ("certify", scimulator(&certify)),
    ]
}

#[track_caller]
fn assert_exit(name: &str, out: &std::process::Output, code: i32, needles: &[&str]) {
    let t = text(out);
    assert_eq!(out.status.code(), Some(code), "{name}: exit code\n{t}");
    for n in needles {
        assert!(t.contains(n), "{name}: expected {n:?} in\n{t}");
    }
    assert!(
        !t.contains("TLS or protocol error"),
        "{name}: the old catch-all message\n{t}"
    );
}

#[test]
fn a_body_cut_short_is_named_truncation() {
    let s = Wire::start(Misbehaviour::TruncatedBody);
    for (name, out) in all_three(&s.url) {
        assert_exit(name, &out, 3, &["truncated response: the body ended early"]);
    }
}

#[test]
fn a_reset_is_named_reset() {
    let s = Wire::start(Misbehaviour::Reset);
    for (name, out) in all_three(&s.url) {
        assert_exit(name, &out, 3, &["connection reset by the server"]);
    }
}

#[test]
fn a_connection_closed_without_an_answer_is_named_so() {
    let s = Wire::start(Misbehaviour::CloseWithoutAnswer);
    for (name, out) in all_three(&s.url) {
        assert_exit(
            name,
            &out,
            3,
            &["the server closed the connection before answering"],
        );
    }
}

#[test]
fn a_redirect_loop_is_named_redirect_loop() {
    let s = Wire::start(Misbehaviour::RedirectLoop);
    for (name, out) in all_three(&s.url) {
        assert_exit(name, &out, 3, &["redirect loop: too many redirects"]);
    }
}

#[test]
fn tls_spoken_to_a_plain_http_port_is_named_tls() {
    let s = Wire::start(Misbehaviour::HtmlSite);
    let https = s.url.replace("http://", "https://");
    let out = scimulator(&[
        "check",
        "--target",
        &https,
        "--token",
        TOKEN,
        "--timeout",
        "10",
    ]);
    assert_exit("check", &out, 3, &["TLS error"]);
}

#[test]
fn a_token_with_a_line_break_is_refused_before_anything_is_sent() {
    // A server that would answer anything: the refusal must come from scimulator, up front.
    let s = Wire::start(Misbehaviour::HtmlSite);
    for token in ["abc123def\r\nX-Injected: 1", "abc123def456\n"] {
        for cmd in [
            &["check"][..],
            &["run", SCENARIO],
            &["certify", "--mapping", "entra-default"],
        ] {
            let mut args = cmd.to_vec();
            args.extend(["--target", &s.url, "--token", token]);
            let out = scimulator(&args);
            assert_exit(cmd[0], &out, 2, &["line break (CR or LF)"]);
            let t = text(&out);
            assert!(!t.contains("abc123def"), "the token was printed:\n{t}");
        }
    }
    // The same read from a variable, with the usual culprit: a trailing newline.
    let out = hostile::scimulator_env(
        &["check", "--target", &s.url, "--token-env", "MY_TOKEN"],
        &[("MY_TOKEN", "abc123def456\n")],
    );
    assert_exit("check --token-env", &out, 2, &["trailing newline"]);
}

#[test]
fn an_html_site_is_not_a_scim_endpoint() {
    let s = Wire::start(Misbehaviour::HtmlSite);
    for (name, out) in all_three(&s.url) {
        assert_exit(
            name,
            &out,
            3,
            &[
                &format!("{} is not a SCIM endpoint", s.url),
                "answered 200 text/html",
            ],
        );
        let t = text(&out);
        assert!(
            !t.contains("MUST"),
            "{name}: findings against a web site\n{t}"
        );
    }
}

#[test]
fn a_wrong_base_path_is_not_a_scim_endpoint() {
    let s = Wire::start(Misbehaviour::NotFoundHtml);
    for (name, out) in all_three(&s.url) {
        assert_exit(
            name,
            &out,
            3,
            &[
                "is not a SCIM endpoint: GET /Users?filter=",
                "answered 404 text/html; GET /ServiceProviderConfig answered 404 text/html",
            ],
        );
    }
}

#[test]
fn a_target_that_dies_after_the_first_request_is_exit_3_everywhere() {
    for (name, args) in [
        ("run", vec!["run", SCENARIO]),
        ("check", vec!["check"]),
        ("certify", vec!["certify", "--mapping", "entra-default"]),
    ] {
        // One server per command: it dies after its first answer.
        let s = Wire::start(Misbehaviour::DiesAfterFirst);
        let mut args = args.clone();
        args.extend(["--target", &s.url, "--token", TOKEN, "--timeout", "10"]);
        let out = scimulator(&args);
        assert_exit(name, &out, 3, &["the target is unusable"]);
    }
}
