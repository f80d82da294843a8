//! Verdicts a server team can trust (issue 8): against servers shaped like the independent ones
//! that exposed scimulator's own mistakes, findings name the exchange, operation and attribute
//! that really failed; a cause is counted, not repeated; a step that cannot run because an
//! earlier one failed is "not run"; and the exit code, the terminal verdicts, report.json and
//! junit.xml say the same thing.

mod buggy;

use buggy::Bug;
use serde_json::Value;

/// Long enough that redacting it cannot touch anything else in the output.
const TOKEN: &str = "buggy-proxy-token-verdicts-5e07b2";

/// What one run of the binary left: exit code, output, and the report files.
struct Ran {
    code: Option<i32>,
    output: String,
    report: Value,
    junit: String,
}

/// `scimulator <command> [scenario] --target <buggy server> --report <tmp>`.
async fn run_with_report(bug: Bug, command: &str, scenario: Option<&str>) -> Ran {
    let server = buggy::start(bug, TOKEN).await;
    let url = server.url.clone();
    let dir = tempfile::tempdir().expect("tempdir");
    let report_dir = dir.path().to_str().expect("utf-8 path").to_owned();
    let root = env!("CARGO_MANIFEST_DIR");
    let mut args: Vec<String> = vec![command.into()];
    if let Some(s) = scenario {
        args.push(format!("{root}/{s}"));
    }
    args.extend(
        [
            "--target",
            &url,
            "--token",
            TOKEN,
            "--report",
            &report_dir,
            "--no-color",
        ]
        .map(String::from),
    );
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_scimulator"))
            .current_dir(root)
            .env_remove("SCIM_TOKEN")
            .args(&args)
            .output()
            .expect("run scimulator")
    })
    .await
    .expect("join");
    server.stop().await;
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!output.contains(TOKEN), "the token leaked:\n{output}");
    let report = std::fs::read_to_string(dir.path().join("report.json"))
        .map(|t| serde_json::from_str(&t).expect("report.json is JSON"))
        .unwrap_or(Value::Null);
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap_or_default();
    Ran {
        code: out.status.code(),
        output,
        report,
        junit,
    }
}

fn findings(report: &Value) -> Vec<&Value> {
    report["scenarios"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["findings"].as_array().into_iter().flatten())
        .collect()
}

/// Item 7: a server that accepts Entra's `"op":"Replace"` but refuses an `Add` on
/// `emails[type eq "work"].value` is told exactly that: the operation (its index, op and
/// path), the attribute and what the server said, never "PascalCase ops, True/False strings".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_add_on_a_filtered_path_names_that_operation() {
    let r = run_with_report(
        Bug::RejectAddOnFilteredPath,
        "run",
        Some("tests/scenarios/verdicts/entra-mail-added.yaml"),
    )
    .await;
    assert_eq!(r.code, Some(1), "{}", r.output);
    let f = findings(&r.report);
    let refused = f
        .iter()
        .find(|f| {
            f["behaviour"]
                .as_str()
                .unwrap_or("")
                .contains("update user")
        })
        .unwrap_or_else(|| panic!("a finding about the update PATCH:\n{}", r.output));
    assert_eq!(
        refused["behaviour"],
        "Entra ID: update user (PATCH /Users/{id})"
    );
    let message = refused["message"].as_str().expect("message");
    assert!(
        message.contains(r#"refused operation 2 of 2: "Add" emails[type eq "work"].value"#),
        "{message}"
    );
    assert!(message.contains("(attribute emails)"), "{message}");
    assert!(message.contains("scimType invalidPath"), "{message}");
    assert!(
        message.contains("add is not supported on a filtered path"),
        "{message}"
    );
    // What the server accepted is not blamed.
    assert!(!r.output.contains("PascalCase"), "{}", r.output);
    assert!(
        !r.output.contains("True\"/\"False\" strings"),
        "{}",
        r.output
    );
}

/// Item 7 (diff blame) and the missed "PUT that merges" bug: Okta's profile PUT leaves a
/// cleared `title` out; a server that merges keeps it. The diff is about `title` of that user,
/// so the blame names the PUT that omitted it (the write the server acknowledged and then
/// ignored), not the create POST that first set it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_that_merges_fails_okta_profile_put_and_the_put_is_blamed() {
    let r = run_with_report(
        Bug::PutMergesTopLevel,
        "run",
        Some("scenarios/okta/profile-put.yaml"),
    )
    .await;
    assert_eq!(r.code, Some(1), "{}", r.output);
    let line = r
        .output
        .lines()
        .find(|l| l.contains("differs at") && l.contains("title"))
        .unwrap_or_else(|| panic!("a diff at title:\n{}", r.output));
    assert!(
        line.contains("last written by Okta: profile update (PUT /Users/{id}"),
        "{line}"
    );
    assert!(!line.contains("POST"), "{line}");
}

/// Item 11: a users-only server refuses the Group Push POST, so the groups are never pushed;
/// the later Push Now and unlink steps, which need them pushed, are "not run: needs step 2",
/// not errors ("group is not pushed: push it first").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_that_need_a_failed_push_are_not_run() {
    let r = run_with_report(
        Bug::NoGroupsEndpoint,
        "run",
        Some("scenarios/okta/group-push.yaml"),
    )
    .await;
    assert_eq!(r.code, Some(1), "{}", r.output);
    let steps = r.report["scenarios"][0]["steps"].as_array().expect("steps");
    assert!(
        steps.iter().all(|s| s["outcome"] != "error"),
        "no step errors:\n{}",
        r.output
    );
    let push_now = steps
        .iter()
        .find(|s| s["kind"] == "push_now")
        .expect("push_now step");
    assert_eq!(push_now["outcome"], "skipped");
    assert!(
        push_now["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("not run: needs step 2")),
        "{push_now}"
    );
    assert_eq!(r.report["scenarios"][0]["outcome"], "failed");
    assert!(
        r.output
            .contains("not run: step 9 (needs step 2, which failed"),
        "{}",
        r.output
    );
    assert!(!r.output.contains(": ERROR"), "{}", r.output);
}

/// Item 11, Okta's SPEC test: the first step finds no user (a 0-based startIndex skips it), so
/// `ISVUserid` is never set; the step that reads `/Users/{{ISVUserid}}` is not sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_step_whose_variable_was_not_set_is_not_run() {
    let r = run_with_report(
        Bug::ZeroBasedStartIndex,
        "run",
        Some("scenarios/okta/spec-test.yaml"),
    )
    .await;
    let scenario = &r.report["scenarios"][0];
    let sent_literally = scenario["exchanges"]
        .as_array()
        .expect("exchanges")
        .iter()
        .any(|x| x["path"].as_str().unwrap_or("").contains("ISVUserid"));
    assert!(!sent_literally, "{}", r.output);
    let checks: Vec<&Value> = scenario["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .flat_map(|s| s["checks"].as_array().into_iter().flatten())
        .collect();
    let second = checks
        .iter()
        .find(|c| c["name"].as_str().unwrap_or("").starts_with("spec 02"))
        .expect("spec 02");
    assert_eq!(second["outcome"], "skipped", "{second}");
    assert!(
        second["message"]
            .as_str()
            .is_some_and(|m| m.contains("not run: needs spec 01") && m.contains("ISVUserid")),
        "{second}"
    );
}

/// Item 12: a server whose lists give `itemsPerPage` as a string breaks RFC 7644 §3.4.2 (a
/// MUST finding) though every Entra expectation holds. The exit code is 1 and the terminal,
/// report.json and junit.xml all say the RFC verdict FAILed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_must_finding_fails_the_exit_code_terminal_report_and_junit_alike() {
    let r = run_with_report(
        Bug::ListCountsAsStrings,
        "run",
        Some("scenarios/entra/cisco-guide.yaml"),
    )
    .await;
    assert!(
        r.output.contains("RFC 7643/7644 conformance: FAIL"),
        "{}",
        r.output
    );
    assert_eq!(r.code, Some(1), "{}", r.output);
    let rfc = r.report["verdicts"]
        .as_array()
        .expect("verdicts in report.json")
        .iter()
        .find(|v| v["name"] == "RFC 7643/7644 conformance")
        .expect("the RFC verdict");
    assert_eq!(rfc["passed"], false);
    let must = findings(&r.report)
        .into_iter()
        .filter(|f| f["severity"] == "MUST")
        .count();
    assert!(must >= 1, "{}", r.output);
    // junit.xml: the verdict is a failed testcase of the `verdicts` suite.
    let at = r
        .junit
        .find(r#"<testcase name="RFC 7643/7644 conformance" classname="verdicts""#)
        .unwrap_or_else(|| panic!("the RFC verdict in junit.xml:\n{}", r.junit));
    let case = &r.junit[at..];
    let end = case.find("</testcase>").unwrap_or(case.len());
    assert!(case[..end].contains("<failure"), "{}", &case[..end]);
    // One cause seen on every list answer is one finding with a count.
    let schema: Vec<&Value> = findings(&r.report)
        .into_iter()
        .filter(|f| {
            f["behaviour"]
                .as_str()
                .unwrap_or("")
                .contains("ListResponse")
        })
        .collect();
    assert!(!schema.is_empty(), "{}", r.output);
    assert!(
        schema.iter().any(|f| f["count"].as_u64().unwrap_or(0) > 1),
        "{schema:?}"
    );
    assert!(r.output.contains(" ×"), "{}", r.output);
}

/// Item 12, the other way round: against a faithful server everything passes and the exit code
/// is 0, with the same PASS in the terminal, report.json and junit.xml.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passing_run_passes_everywhere() {
    let r = run_with_report(Bug::None, "run", Some("scenarios/entra/cisco-guide.yaml")).await;
    assert_eq!(r.code, Some(0), "{}", r.output);
    assert!(r.output.contains(": PASS"), "{}", r.output);
    assert!(!r.output.contains(": FAIL"), "{}", r.output);
    let verdicts = r.report["verdicts"].as_array().expect("verdicts");
    assert!(!verdicts.is_empty());
    assert!(verdicts.iter().all(|v| v["passed"] == true), "{verdicts:?}");
    assert!(!r.junit.contains("<failure"), "{}", r.junit);
}

/// Item 8: a server that requires `name.givenName` and `name.familyName` together. Entra's
/// create POST carries the whole mapping, so every cell Entra would pass passes: each row's
/// object is created in that shape, and only the row's attribute is varied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certify_creates_in_the_idp_shape_so_jointly_required_names_pass() {
    let server = buggy::start(Bug::RequireGivenAndFamilyName, TOKEN).await;
    let url = server.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_scimulator"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("SCIM_TOKEN")
            .args([
                "certify",
                "--mapping",
                "cisco-secure-access-entra",
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
    server.stop().await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("certification passed"), "{stdout}");
    assert!(!stdout.contains("FAIL "), "{stdout}");
    // The rows that carry neither name part are the ones an isolated create broke.
    for attribute in ["userName", "displayName", "active"] {
        let line = stdout
            .lines()
            .find(|l| l.split('|').nth(1).is_some_and(|c| c.trim() == attribute))
            .unwrap_or_else(|| panic!("no row {attribute}:\n{stdout}"));
        let cells: Vec<&str> = line.split('|').skip(2).map(str::trim).collect();
        assert_eq!(cells[..4], ["pass", "pass", "pass", "pass"], "{line}");
    }
}
