//! Issue 11, the rest of "one result model" and "terminal", through the real binary:
//! - `certify --report` puts the certification matrix in report.json with a verdict per matrix,
//!   and junit.xml, summary.md and index.html show the same FAIL cell;
//! - `check` lists each probe group (and with `-v` each probe) from the model;
//! - no progress line and no control sequence when the output is not a terminal.

mod buggy;

use scimulator::certify::CellResult;
use scimulator::report::model::RunReport;
use std::process::Command;

const TOKEN: &str = "report-outputs-proxy-token-5e2a90";
const NATIVE: &str = "urn:ietf:params:scim:schemas:extension:ciscoumbrella:2.0:User:nativeObjectId";

fn scimulator(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_scimulator"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("SCIM_TOKEN")
        .env_remove("GITHUB_STEP_SUMMARY")
        .args(args)
        .output()
        .expect("run scimulator");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A server that drops the Cisco extension: the nativeObjectId read-back fails, and every
/// format says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certification_is_in_every_format() {
    let server = buggy::start(buggy::Bug::DropUnknownExtensions, TOKEN).await;
    let url = server.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().to_str().unwrap().to_owned();
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || {
        scimulator(&[
            "certify",
            "--mapping",
            "cisco-secure-access-entra",
            "--target",
            &url,
            "--token",
            TOKEN,
            "--no-color",
            "--report",
            &reports,
        ])
    })
    .await
    .unwrap();
    server.stop().await;
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    for f in [
        "certification.json",
        "report.json",
        "junit.xml",
        "summary.md",
        "index.html",
    ] {
        assert!(dir.path().join(f).exists(), "{f} written\n{stdout}");
    }

    let report: RunReport = serde_json::from_str(&read("report.json")).unwrap();
    let cert = report
        .certification
        .as_ref()
        .expect("the matrix is in the model");
    let row = cert.matrices[0]
        .rows
        .iter()
        .find(|r| r.attribute == NATIVE)
        .unwrap();
    assert_eq!(row.read.result, CellResult::Fail);
    let name = "certify cisco-secure-access-entra with Entra ID (default dialect)";
    let verdict = &report.verdicts[0];
    assert_eq!(verdict.verdict.name, name);
    assert!(!verdict.verdict.passed);
    assert!(
        verdict
            .verdict
            .failing
            .iter()
            .any(|l| l.starts_with(&format!("FAIL User {NATIVE} read: read back absent"))),
        "{:?}",
        verdict.verdict.failing
    );
    // The same matrix as certification.json: one model, two files.
    let alone: serde_json::Value = serde_json::from_str(&read("certification.json")).unwrap();
    assert_eq!(alone, serde_json::to_value(cert).unwrap());

    let junit = read("junit.xml");
    assert!(
        junit.contains(&format!("<testsuite name=\"{name}\"")),
        "{junit}"
    );
    let case = junit
        .find(&format!("<testcase name=\"User {NATIVE} read\""))
        .expect("a testcase per attribute and operation");
    assert!(
        junit[case..]
            .split("</testcase>")
            .next()
            .unwrap()
            .contains("<failure"),
        "the FAIL cell is a failure"
    );

    let md = read("summary.md");
    assert!(md.contains(&format!("| {name} | ❌ FAIL")), "{md}");
    assert!(
        md.contains(&format!("FAIL User {NATIVE} read: read back absent")),
        "{md}"
    );

    let html = read("index.html");
    let matrix = html.find("class=\"matrix\"").expect("the matrix table");
    let at = matrix + html[matrix..].find(NATIVE).expect("the row in the matrix");
    let row_html = &html[at..at + html[at..].find("</tr>").unwrap()];
    assert!(
        row_html.contains("class=\"cell-FAIL\""),
        "the FAIL cell is coloured as one: {row_html}"
    );
}

#[test]
fn check_lists_groups_and_with_v_every_probe_and_draws_no_progress_when_piped() {
    let (code, stdout, stderr) = scimulator(&["check", "--no-color"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("\nprobes (rfc-conformance):\n"), "{stdout}");
    for group in [
        "discovery",
        "crud",
        "filters",
        "patch",
        "content_types",
        "etag",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.trim_start().starts_with("PASS") && l.contains(&format!(" {group} "))),
            "{group} listed:\n{stdout}"
        );
    }
    assert!(
        !stdout.contains("        PASS  rfc "),
        "without -v only failed probes are listed:\n{stdout}"
    );
    // Piped: no progress line, no terminal control sequence anywhere.
    assert!(
        !stderr.contains("req/s") && !stderr.contains('\x1b'),
        "{stderr}"
    );
    assert!(!stdout.contains('\x1b'), "{stdout}");

    let (code, verbose, _) = scimulator(&["check", "--no-color", "-v"]);
    assert_eq!(code, Some(0));
    let probes = verbose
        .lines()
        .filter(|l| l.starts_with("        PASS  rfc ") || l.starts_with("        SKIP  rfc "))
        .count();
    // Every probe of the summary line is listed, one line each.
    let total: usize = verbose
        .split("RFC 7643/7644 conformance: PASS (")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the RFC verdict line");
    assert_eq!(probes, total, "{verbose}");
}
