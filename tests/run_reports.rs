//! Acceptance 1 and 4 of `scimulator run`, through the real binary:
//! - no PATH runs every bundled scenario against the built-in server and exits 0;
//! - `--report DIR` writes a junit.xml that parses (one testsuite per scenario, one testcase per
//!   step or expectation) and a report.json that validates against its JSON Schema, for a run that
//!   passes and for one that fails;
//! - the exit codes of the CLI contract: 1 an expectation failed, 2 a scenario-file error (with
//!   `file:line:col`), 3 an unusable target (unreachable, 401).

use quick_xml::events::Event;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

// ------------------------------------------------------------------------------------ running

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `scimulator run ARGS...` from the crate root, no token from the environment, no colour.
fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scimulator"))
        .arg("run")
        .args(args)
        .arg("--no-color")
        .current_dir(manifest_dir())
        .env_remove("SCIM_TOKEN")
        .env("NO_COLOR", "1")
        .output()
        .expect("the scimulator binary runs")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[track_caller]
fn assert_exit(out: &Output, code: i32) {
    let (stdout, stderr) = text(out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit code\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Every scenario file under `scenarios/` (what `run` without PATH must run), with its `name:`.
fn bundled() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).expect("scenarios/ reads") {
            let path = e.expect("entry").path();
            // scenarios/scale/ (10,000-user tenants) runs only when named: not by a bare `run`.
            if path.is_dir() && !path.ends_with("scenarios/scale") {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "yaml" || x == "yml")
                // A wire file beside a scenario (`*.wire.yaml`) is not a scenario.
                && !path.to_string_lossy().ends_with(".wire.yaml")
            {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&manifest_dir().join("scenarios"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let source = std::fs::read_to_string(&f).expect("scenario reads");
            let name = source
                .lines()
                .find_map(|l| l.strip_prefix("name:"))
                .unwrap_or_else(|| panic!("{} has a top-level name", f.display()))
                .trim()
                .trim_matches(['"', '\''])
                .to_string();
            (f, name)
        })
        .collect()
}

// ------------------------------------------------------------------------------------ junit.xml

/// A parsed XML element: enough of a DOM to check junit.xml's structure.
#[derive(Debug, Default)]
struct Elem {
    name: String,
    attrs: BTreeMap<String, String>,
    children: Vec<Elem>,
}

impl Elem {
    fn attr(&self, name: &str) -> &str {
        self.attrs
            .get(name)
            .unwrap_or_else(|| panic!("<{}> has {name}=: {:?}", self.name, self.attrs))
    }
    fn count(&self, name: &str) -> usize {
        self.attr(name)
            .parse()
            .unwrap_or_else(|_| panic!("{name}= is a count"))
    }
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Elem> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

fn elem(e: &quick_xml::events::BytesStart) -> Elem {
    Elem {
        name: String::from_utf8(e.name().as_ref().to_vec()).expect("utf-8 name"),
        attrs: e
            .attributes()
            .map(|a| {
                let a = a.expect("well-formed attribute");
                (
                    String::from_utf8(a.key.as_ref().to_vec()).expect("utf-8 key"),
                    a.unescape_value().expect("attribute value").into_owned(),
                )
            })
            .collect(),
        children: Vec::new(),
    }
}

/// Parses `xml` with quick-xml (end names checked) into its root element.
fn parse_xml(xml: &str) -> Elem {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<Elem> = vec![Elem::default()];
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => stack.push(elem(&e)),
            Ok(Event::Empty(e)) => {
                let el = elem(&e);
                stack.last_mut().expect("parent").children.push(el);
            }
            Ok(Event::End(_)) => {
                let done = stack.pop().expect("open element");
                stack.last_mut().expect("parent").children.push(done);
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!(
                "junit.xml is not well-formed at byte {}: {e}\n{xml}",
                reader.error_position()
            ),
        }
    }
    assert_eq!(stack.len(), 1, "every element is closed");
    let mut doc = stack.pop().expect("document");
    assert_eq!(doc.children.len(), 1, "one root element");
    doc.children.pop().expect("root")
}

/// junit.xml of `dir`, checked against report.json of the same run: one testsuite per scenario,
/// one testcase per step and per check, counts that add up, a `<failure>` exactly where a check
/// failed. Returns the root.
fn check_junit(dir: &Path, report: &Value) -> Elem {
    let xml = std::fs::read_to_string(dir.join("junit.xml")).expect("junit.xml");
    assert!(xml.starts_with("<?xml"), "an XML declaration");
    let root = parse_xml(&xml);
    assert_eq!(root.name, "testsuites");
    let scenarios = report["scenarios"].as_array().expect("scenarios");
    // One testsuite per scenario, then one `verdicts` suite carrying the verdicts the terminal
    // prints and the exit code follows.
    let all_suites: Vec<&Elem> = root.all("testsuite").collect();
    let (verdict_suites, suites): (Vec<&Elem>, Vec<&Elem>) = all_suites
        .into_iter()
        .partition(|s| s.attr("name") == "verdicts");
    assert_eq!(
        suites.len(),
        scenarios.len(),
        "one testsuite per scenario\n{xml}"
    );
    let (mut tests, mut failures, mut errors) = (0, 0, 0);
    for (suite, s) in suites.iter().zip(scenarios) {
        let name = s["name"].as_str().expect("name");
        assert_eq!(suite.attr("name"), name, "testsuites in scenario order");
        let cases: Vec<&Elem> = suite.all("testcase").collect();
        let steps = s["steps"].as_array().expect("steps");
        let checks: Vec<&Value> = steps
            .iter()
            .flat_map(|st| st["checks"].as_array().expect("checks"))
            .collect();
        let findings = s["findings"].as_array().expect("findings");
        assert_eq!(
            cases.len(),
            steps.len() + checks.len() + findings.len(),
            "{name}: one testcase per step, per expectation and per finding\n{xml}"
        );
        assert_eq!(suite.count("tests"), cases.len(), "{name}: tests=");
        for c in &cases {
            assert_eq!(c.attr("classname"), name);
            assert!(!c.attr("name").is_empty());
        }
        let failed_cases = cases
            .iter()
            .filter(|c| c.all("failure").count() > 0)
            .count();
        let errored_cases = cases.iter().filter(|c| c.all("error").count() > 0).count();
        let failed_checks = checks.iter().filter(|c| c["outcome"] == "failed").count();
        let must_findings = findings.iter().filter(|f| f["severity"] == "MUST").count();
        assert_eq!(
            failed_cases,
            failed_checks + must_findings,
            "{name}: a <failure> for each unmet expectation and each MUST finding\n{xml}"
        );
        assert_eq!(suite.count("failures"), failed_cases, "{name}: failures=");
        assert_eq!(suite.count("errors"), errored_cases, "{name}: errors=");
        for c in &cases {
            for f in c.all("failure").chain(c.all("error")) {
                assert!(!f.attr("message").is_empty(), "a failure says why");
            }
        }
        tests += cases.len();
        failures += failed_cases;
        errors += errored_cases;
    }
    // The verdicts suite: one testcase per verdict of report.json, a failure exactly where the
    // verdict failed.
    let verdicts = report["verdicts"].as_array().expect("verdicts");
    assert_eq!(verdict_suites.len(), usize::from(!verdicts.is_empty()));
    for suite in verdict_suites {
        let cases: Vec<&Elem> = suite.all("testcase").collect();
        assert_eq!(cases.len(), verdicts.len());
        for (c, v) in cases.iter().zip(verdicts) {
            assert_eq!(c.attr("name"), v["name"].as_str().expect("verdict name"));
            assert_eq!(
                c.all("failure").count() > 0,
                v["passed"] == false,
                "the junit verdict is the report's\n{xml}"
            );
        }
        tests += cases.len();
        failures += suite.count("failures");
    }
    assert_eq!(root.count("tests"), tests, "testsuites tests=");
    assert_eq!(root.count("failures"), failures, "testsuites failures=");
    assert_eq!(root.count("errors"), errors, "testsuites errors=");
    root
}

// ------------------------------------------------------------------------------------ report.json

/// report.json of `dir`, validated against `report_schema()` (and the checked-in copy) and
/// read back into the model.
fn check_report_json(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("report.json")).expect("report.json");
    let report: Value = serde_json::from_str(&text).expect("report.json is JSON");
    let schema = scimulator::report::json::report_schema();
    let checked_in: Value = serde_json::from_str(
        &std::fs::read_to_string(manifest_dir().join("fixtures/report.schema.json"))
            .expect("fixtures/report.schema.json"),
    )
    .expect("the checked-in schema is JSON");
    for (which, schema) in [("report_schema()", &schema), ("fixtures", &checked_in)] {
        let validator = jsonschema::validator_for(schema).expect("the report schema compiles");
        let errors: Vec<String> = validator
            .iter_errors(&report)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "report.json does not validate against {which}: {errors:#?}"
        );
    }
    let model: scimulator::report::model::RunReport =
        serde_json::from_value(report.clone()).expect("report.json reads back into the model");
    assert_eq!(
        model.format_version,
        scimulator::report::model::FORMAT_VERSION
    );
    // The summary adds up.
    let scenarios = report["scenarios"].as_array().expect("scenarios");
    let count = |o: &str| scenarios.iter().filter(|s| s["outcome"] == o).count();
    let summary = &report["summary"];
    assert_eq!(summary["scenarios"], scenarios.len());
    assert_eq!(summary["passed"], count("passed"));
    assert_eq!(summary["failed"], count("failed"));
    assert_eq!(summary["errors"], count("error"));
    let requests: usize = scenarios
        .iter()
        .map(|s| s["exchanges"].as_array().expect("exchanges").len())
        .sum();
    assert_eq!(summary["requests"], requests);
    report
}

// ------------------------------------------------------------------------------------ tests

/// Acceptance 1 and 4: `run` alone runs every bundled scenario on the built-in server, passes,
/// and its reports parse and validate.
#[test]
fn run_without_paths_runs_every_bundled_scenario_and_passes() {
    let files = bundled();
    assert!(
        files.len() >= 8,
        "at least the 8 bundled scenarios of the issue"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(&["--report", p(dir.path())]);
    assert_exit(&out, 0);
    let (stdout, _) = text(&out);
    let n = files.len();
    assert!(
        stdout.contains(&format!("{n} scenarios: {n} passed, 0 failed, 0 errors")),
        "the summary line counts every scenario file ({n})\n{stdout}"
    );
    for (f, name) in &files {
        assert!(
            stdout
                .lines()
                .any(|l| l.split_whitespace().next() == Some(name.as_str())
                    || l.contains(&format!(" {name} "))),
            "{} ({name}) is in the summary table\n{stdout}",
            f.display()
        );
    }

    let report = check_report_json(dir.path());
    assert_eq!(report["target"]["builtin"], true);
    let scenarios = report["scenarios"].as_array().expect("scenarios");
    let ran: BTreeSet<PathBuf> = scenarios
        .iter()
        .map(|s| {
            std::fs::canonicalize(manifest_dir().join(s["file"].as_str().expect("file")))
                .expect("the scenario file exists")
        })
        .collect();
    let want: BTreeSet<PathBuf> = files
        .iter()
        .map(|(f, _)| std::fs::canonicalize(f).expect("file"))
        .collect();
    assert_eq!(ran, want, "every bundled scenario file ran once");
    for s in scenarios {
        assert_eq!(s["outcome"], "passed", "{}", s["name"]);
        assert!(
            !s["exchanges"].as_array().expect("exchanges").is_empty(),
            "{} sent requests",
            s["name"]
        );
    }

    let junit = check_junit(dir.path(), &report);
    assert_eq!(junit.count("failures"), 0);
    assert_eq!(junit.count("errors"), 0);
    let names: BTreeSet<&str> = junit
        .all("testsuite")
        .map(|s| s.attr("name"))
        .filter(|n| *n != "verdicts")
        .collect();
    let want: BTreeSet<&str> = files.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, want, "one testsuite per bundled scenario");
}

/// A scenario whose expected provisioning log is deliberately wrong (Josue is created, not
/// updated).
const WRONG_LOG: &str = r#"name: wrong-expected-log
description: The expected log says Update where Entra creates.
idp: entra
settings: { dialect: default, mapping: entra-default }
directory:
  users:
    - { id: josue, userPrincipalName: josue@contoso.com, displayName: Josue }
  groups:
    - { id: it, displayName: IT-Admins, members: [josue] }
steps:
  - assign: { groups: [it] }
  - cycle: initial
  - expect:
      state: derived
      log:
        - { identity: Josue, action: Update }
        - { identity: IT-Admins, action: Create }
        - { identity: IT-Admins, action: Update }
"#;

/// Acceptance 4 on a failing run: exit 1, a `<failure>` for the unmet check and only for it,
/// report.json still valid; a passing scenario of the same run stays green.
#[test]
fn a_failed_expectation_exits_1_with_a_junit_failure_and_a_valid_report() {
    let scenarios = tempfile::tempdir().expect("tempdir");
    let wrong = scenarios.path().join("wrong-log.yaml");
    std::fs::write(&wrong, WRONG_LOG).expect("write scenario");
    let good = manifest_dir().join("scenarios/entra/cisco-guide.yaml");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(&[p(&wrong), p(&good), "--report", p(dir.path())]);
    assert_exit(&out, 1);
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("2 scenarios: 1 passed, 1 failed, 0 errors"),
        "{stdout}"
    );
    assert!(
        stdout.contains("-Josue | Update") && stdout.contains("+Josue | Create"),
        "the terminal shows the log diff\n{stdout}"
    );

    let report = check_report_json(dir.path());
    let s = &report["scenarios"][0];
    assert_eq!(s["name"], "wrong-expected-log");
    assert_eq!(s["outcome"], "failed");
    assert_eq!(report["scenarios"][1]["outcome"], "passed");
    let checks: Vec<&Value> = s["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .flat_map(|st| st["checks"].as_array().expect("checks"))
        .collect();
    let log = checks
        .iter()
        .find(|c| c["name"] == "log")
        .expect("a log check");
    assert_eq!(log["outcome"], "failed");
    assert!(
        log["diff"]
            .as_str()
            .is_some_and(|d| d.contains("Josue | Update") && d.contains("Josue | Create")),
        "{log}"
    );
    let state = checks
        .iter()
        .find(|c| c["name"] == "state")
        .expect("a state check");
    assert_eq!(state["outcome"], "passed", "only the log is wrong");

    let junit = check_junit(dir.path(), &report);
    // The unmet expectation, and the verdict it fails.
    assert_eq!(junit.count("failures"), 2);
    let suite = junit
        .all("testsuite")
        .find(|s| s.attr("name") == "wrong-expected-log")
        .expect("the failing suite");
    assert_eq!(suite.count("failures"), 1);
    let failing: Vec<&Elem> = suite
        .all("testcase")
        .filter(|c| c.all("failure").count() > 0)
        .collect();
    assert_eq!(failing.len(), 1);
    assert!(
        failing[0].attr("name").contains("log"),
        "the failure is on the log expectation: {:?}",
        failing[0].attrs
    );
    let good_suite = junit
        .all("testsuite")
        .find(|s| s.attr("name") == "entra-cisco-guide")
        .expect("the passing suite");
    assert_eq!(good_suite.count("failures"), 0);
}

/// A malformed scenario: exit 2, `file:line:col` and a hint on stderr, nothing run.
#[test]
fn a_malformed_scenario_exits_2_with_file_line_col() {
    let scenarios = tempfile::tempdir().expect("tempdir");
    let bad = scenarios.path().join("bad.yaml");
    // Line 8, column 12: `sideways` is not a cycle kind.
    std::fs::write(
        &bad,
        "name: bad\ndescription: a cycle kind that does not exist\nidp: entra\ndirectory:\n  users:\n    - { id: a, userPrincipalName: a@contoso.com, displayName: A }\nsteps:\n  - cycle: sideways\n",
    )
    .expect("write scenario");
    let dir = tempfile::tempdir().expect("tempdir");
    let reports = dir.path().join("reports");
    let out = run(&[p(&bad), "--report", p(&reports)]);
    assert_exit(&out, 2);
    let (stdout, stderr) = text(&out);
    let at = format!("{}:8:12", bad.display());
    assert!(stderr.contains(&at), "stderr names {at}\nstderr:\n{stderr}");
    assert!(stderr.contains("sideways"), "{stderr}");
    assert!(stderr.contains("hint"), "a hint\n{stderr}");
    assert!(!stdout.contains("passed"), "nothing ran\nstdout:\n{stdout}");
    assert!(
        !reports.join("report.json").exists(),
        "a scenario error stops the run before anything is sent or written"
    );

    // A malformed file among good ones still stops everything.
    let good = manifest_dir().join("scenarios/entra/cisco-guide.yaml");
    let out = run(&[p(&good), p(&bad)]);
    assert_exit(&out, 2);

    // A path that does not exist is a usage error too.
    let out = run(&[p(&scenarios.path().join("missing.yaml"))]);
    assert_exit(&out, 2);
}

/// Nothing listens on the target: exit 3.
#[test]
fn an_unreachable_target_exits_3() {
    let good = manifest_dir().join("scenarios/entra/cisco-guide.yaml");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(&[
        p(&good),
        "--target",
        "http://127.0.0.1:1/scim/v2",
        "--token",
        "t",
        "--timeout",
        "5",
        "--report",
        p(dir.path()),
    ]);
    assert_exit(&out, 3);
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains("127.0.0.1:1"),
        "stderr names the target\n{stderr}"
    );
}

/// The target answers 401 to the first request (wrong token): exit 3, before any scenario ran.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_refusing_the_token_exits_3() {
    let server =
        scimulator::server::start(scimulator::server::ServerConfig::local().with_token("right"))
            .await
            .expect("built-in server");
    let url = server.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        let good = manifest_dir().join("scenarios/entra/cisco-guide.yaml");
        run(&[p(&good), "--target", &url, "--token", "wrong"])
    })
    .await
    .expect("run");
    assert_exit(&out, 3);
    let (stdout, stderr) = text(&out);
    assert!(stderr.contains("401"), "stderr says 401\n{stderr}");
    assert!(
        !stdout.contains("passed"),
        "no scenario ran\nstdout:\n{stdout}"
    );

    // The same server with the right token: the run passes (the 401 was the token's fault).
    let url = server.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        let good = manifest_dir().join("scenarios/entra/cisco-guide.yaml");
        run(&[p(&good), "--target", &url, "--token", "right"])
    })
    .await
    .expect("run");
    assert_exit(&out, 0);
    server.stop().await;
}
