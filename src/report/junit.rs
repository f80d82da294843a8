//! `junit.xml`, for CI dashboards (GitLab, Jenkins, GitHub test reporters): one `<testsuite>` per
//! scenario, one `<testcase>` per step and one per check within a step. A failed check is a
//! `<failure>` (an unmet expectation: the server is wrong); a step that could not run is an
//! `<error>` (a transport problem: the run is wrong); a step not run is `<skipped>`. A sample:
//!
//! ```xml
//! <testsuites name="scimulator" tests="16" failures="1" errors="1" timestamp="2026-11-22T20:44:13.655+00:00" time="30.161">
//!     <testsuite name="entra-initial-cycle-failed" tests="11" disabled="1" errors="1" failures="1" time="30.120">
//!         <properties>
//!             <property name="idp" value="entra"/>
//!             <property name="file" value="scenarios/entra/06-initial-cycle-failed.yaml"/>
//!             <property name="run_id" value="r3f9a1c"/>
//!         </properties>
//!         <testcase name="03 cycle initial" classname="entra-initial-cycle-failed" time="0.030">
//!         </testcase>
//!         <testcase name="07 expect state" classname="entra-initial-cycle-failed">
//!             <failure message="state: Group IT-Admins-r3f9a1c differs from derived (1 member missing)" type="state">--- expected
//! +++ actual
//! ...</failure>
//!             <system-out>#5 PATCH /Groups/g-1 -&gt; no response [fault: drop-response]: timed out after 30 s (the server applied the request)
//! #8 PATCH /Groups/g-1 -&gt; 204</system-out>
//!         </testcase>
//!         <testcase name="08 cycle incremental" classname="entra-initial-cycle-failed" time="0.080">
//!             <error message="target unreachable: connection refused (127.0.0.1:41235)" type="error"/>
//!             <system-out>#9 GET /Groups/g-1 -&gt; no response: connection refused (127.0.0.1:41235)</system-out>
//!         </testcase>
//!         <testcase name="09 expect" classname="entra-initial-cycle-failed" time="0.090">
//!             <skipped/>
//!         </testcase>
//!     </testsuite>
//! </testsuites>
//! ```
//!
//! A failed expectation is counted once, on its check's testcase: the step's own testcase says
//! whether the step ran, so one unmet expectation never shows up as two failures.

use super::model::{
    CheckReport, Exchange, Finding, Outcome, RunReport, ScenarioReport, Severity, StepReport,
};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Writes `dir/junit.xml` (`dir` created if missing) and returns its path.
pub fn write_junit(report: &RunReport, dir: &Path) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let path = dir.join("junit.xml");
    let xml = junit_report(report).to_string().map_err(io::Error::other)?;
    // Through the process-wide redactor: a token a server echoed is masked in the XML as written.
    fs::write(&path, crate::redact::redact(&xml).as_bytes())?;
    Ok(path)
}

fn junit_report(run: &RunReport) -> Report {
    let mut report = Report::new("scimulator");
    report.set_time(Duration::from_millis(run.duration_ms));
    // A malformed timestamp only loses the attribute; the report is still worth writing.
    if let Ok(started) = chrono::DateTime::parse_from_rfc3339(&run.started_at) {
        report.set_timestamp(started);
    }
    report.add_test_suites(run.scenarios.iter().map(|s| suite(run, s)));
    if !run.verdicts.is_empty() {
        report.add_test_suite(verdicts_suite(run));
    }
    report.add_test_suites(certification_suites(run));
    report
}

/// One testcase per verdict, failed exactly when the terminal says FAIL (and the exit code is
/// 1): a CI dashboard shows the same verdicts as the terminal.
fn verdicts_suite(run: &RunReport) -> TestSuite {
    let mut suite = TestSuite::new("verdicts");
    for v in run.verdicts.iter().map(|v| &v.verdict) {
        let status = if v.passed {
            TestCaseStatus::success()
        } else {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message(format!("FAIL ({})", v.summary))
                .set_type("verdict");
            if !v.failing.is_empty() {
                status.set_description(v.failing.join("\n"));
            }
            status
        };
        let mut case = TestCase::new(v.name.as_str(), status);
        case.set_classname("verdicts");
        if v.passed {
            case.set_system_out(format!("PASS ({})", v.summary));
        }
        suite.add_test_case(case);
    }
    suite
}

/// A finding as a testcase: a MUST is a failure (it fails a verdict), anything else passes
/// with its message in `<system-out>`.
fn finding_case(scenario: &ScenarioReport, f: &Finding) -> TestCase {
    let head = format!(
        "finding {} {}{}",
        super::verdicts::severity(f.severity),
        f.behaviour,
        if f.count > 1 {
            format!(" ×{}", f.count)
        } else {
            String::new()
        }
    );
    let text = format!("{}\nstep {}; source: {}", f.message, f.step, f.source);
    let status = if f.severity == Severity::Must {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status
            .set_message(f.message.lines().next().unwrap_or_default())
            .set_type("finding")
            .set_description(text.clone());
        status
    } else {
        TestCaseStatus::success()
    };
    let mut case = TestCase::new(head, status);
    case.set_classname(scenario.name.as_str());
    if f.severity != Severity::Must {
        case.set_system_out(text);
    }
    case
}

fn suite(run: &RunReport, scenario: &ScenarioReport) -> TestSuite {
    let mut suite = TestSuite::new(scenario.name.as_str());
    suite.set_time(Duration::from_millis(scenario.duration_ms));
    suite.add_properties([
        ("idp", scenario.idp.as_str()),
        ("file", scenario.file.as_str()),
        ("run_id", run.run_id.as_str()),
    ]);
    // The verdict the scenario counts towards, worded as in every other format.
    if let Some(v) = super::verdict_of(run, scenario) {
        let result = super::verdict_result(v);
        suite.add_properties([
            ("verdict", v.verdict.name.as_str()),
            ("verdict_result", result.as_str()),
        ]);
    }
    for step in &scenario.steps {
        suite.add_test_case(step_case(scenario, step));
        for check in &step.checks {
            suite.add_test_case(check_case(scenario, step, check));
        }
    }
    for f in &scenario.findings {
        suite.add_test_case(finding_case(scenario, f));
    }
    suite
}

fn step_case(scenario: &ScenarioReport, step: &StepReport) -> TestCase {
    let failed_checks = step.checks.iter().any(|c| c.outcome != Outcome::Passed);
    let status = match (step.outcome, &step.error) {
        (Outcome::Skipped, _) => TestCaseStatus::skipped(),
        (Outcome::Error, _) | (_, Some(_)) => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status
                .set_message(step.error.as_deref().unwrap_or("the step could not run"))
                .set_type("error");
            status
        }
        // Its checks carry the failure; a failed step without a failed check is reported here
        // so that nothing the model says failed ever shows as green.
        (Outcome::Failed, None) if !failed_checks => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message("the step failed").set_type("step");
            status
        }
        _ => TestCaseStatus::success(),
    };
    let mut case = TestCase::new(format!("{:02} {}", step.index, step.kind), status);
    case.set_classname(scenario.name.as_str())
        .set_time(Duration::from_millis(step.duration_ms));
    if step.outcome == Outcome::Error || step.error.is_some() {
        set_exchanges_out(&mut case, scenario, &problem_exchanges(scenario, step));
    }
    case
}

fn check_case(scenario: &ScenarioReport, step: &StepReport, check: &CheckReport) -> TestCase {
    let status = match check.outcome {
        Outcome::Passed => TestCaseStatus::success(),
        Outcome::Skipped => TestCaseStatus::skipped(),
        Outcome::Failed | Outcome::Error => {
            let kind = if check.outcome == Outcome::Failed {
                NonSuccessKind::Failure
            } else {
                NonSuccessKind::Error
            };
            let mut status = TestCaseStatus::non_success(kind);
            // XML parsers fold newlines in an attribute into spaces: a message listing one object
            // a line keeps its first line as the attribute and goes whole into the text.
            let (first, rest) = check
                .message
                .split_once('\n')
                .unwrap_or((&check.message, ""));
            status.set_message(first).set_type(check.name.as_str());
            let text = match (&check.diff, rest.is_empty()) {
                (Some(diff), true) => Some(diff.clone()),
                (Some(diff), false) => Some(format!("{}\n\n{diff}", check.message)),
                (None, false) => Some(check.message.clone()),
                (None, true) => None,
            };
            if let Some(text) = text {
                // A diff of a huge object would make the file unreadable for CI viewers; the
                // whole of it is in report.json.
                status.set_description(crate::client::truncate_marked(
                    &text,
                    crate::report::json::MAX_BODY_IN_REPORT,
                ));
            }
            status
        }
    };
    let mut case = TestCase::new(
        format!("{:02} {} {}", step.index, step.kind, check.name),
        status,
    );
    case.set_classname(scenario.name.as_str());
    if !matches!(check.outcome, Outcome::Passed | Outcome::Skipped) {
        set_exchanges_out(&mut case, scenario, &check.exchanges);
    }
    case
}

/// The exchanges of an errored step worth showing: those without a good answer.
fn problem_exchanges(scenario: &ScenarioReport, step: &StepReport) -> Vec<u64> {
    step.exchanges
        .iter()
        .copied()
        .filter(|id| {
            find(scenario, *id).is_some_and(|x| {
                x.status.is_none_or(|s| s >= 400) || x.error.is_some() || x.fault.is_some()
            })
        })
        .collect()
}

/// One line per exchange in `<system-out>`, which CI tools show next to the failure. No headers
/// and no bodies: those are in report.json, and JUnit viewers render long text badly.
fn set_exchanges_out(case: &mut TestCase, scenario: &ScenarioReport, ids: &[u64]) {
    let lines: Vec<String> = ids
        .iter()
        .filter_map(|id| find(scenario, *id))
        .map(exchange_line)
        .collect();
    if !lines.is_empty() {
        case.set_system_out(lines.join("\n"));
    }
}

fn find(scenario: &ScenarioReport, id: u64) -> Option<&Exchange> {
    scenario.exchanges.iter().find(|x| x.id == id)
}

fn exchange_line(x: &Exchange) -> String {
    let mut line = format!("#{} {} {} -> ", x.id, x.method, x.path);
    match x.status {
        Some(status) => line.push_str(&status.to_string()),
        None => line.push_str("no response"),
    }
    if let Some(fault) = &x.fault {
        line.push_str(&format!(" [fault: {fault}]"));
    }
    if let Some(error) = &x.error {
        line.push_str(&format!(": {error}"));
    }
    line
}

// --- branch `reports`: the certification matrices of `scimulator certify` ---

/// One `<testsuite>` per certification matrix (`certify <mapping> with <IdP>`), one
/// `<testcase>` per attribute and operation: FAIL is a `<failure>`, n/a is `<skipped>`.
fn certification_suites(run: &RunReport) -> Vec<TestSuite> {
    use crate::certify::CellResult;
    let Some(cert) = &run.certification else {
        return Vec::new();
    };
    cert.matrices
        .iter()
        .map(|m| {
            let name = format!("certify {} with {}", cert.mapping, m.label);
            let mut suite = TestSuite::new(name.as_str());
            suite.add_properties([
                ("idp", m.idp.as_str()),
                ("mapping", cert.mapping.as_str()),
                ("run_id", run.run_id.as_str()),
            ]);
            for row in &m.rows {
                for (op, cell) in row.cells() {
                    let status = match cell.result {
                        CellResult::Pass => TestCaseStatus::success(),
                        CellResult::NotApplicable => {
                            let mut s = TestCaseStatus::skipped();
                            if let Some(r) = &cell.reason {
                                s.set_message(r.as_str());
                            }
                            s
                        }
                        CellResult::Fail => {
                            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                            s.set_message(cell.reason.as_deref().unwrap_or("failed"))
                                .set_type(op);
                            s
                        }
                    };
                    let inferred = if row.inferred { " (inferred)" } else { "" };
                    let mut case = TestCase::new(
                        format!("{} {} {op}{inferred}", row.resource, row.attribute),
                        status,
                    );
                    case.set_classname(name.as_str());
                    suite.add_test_case(case);
                }
            }
            suite
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    /// The sample's scenario suites; the verdicts suite is left out here (tests/verdicts.rs and
    /// tests/run_reports.rs check it against the terminal and report.json).
    fn parsed() -> (String, Report) {
        let dir = tempfile::tempdir().unwrap();
        let mut run = sample::run_report();
        run.verdicts.clear();
        let path = write_junit(&run, &dir.path().join("out")).unwrap();
        assert_eq!(path.file_name().unwrap(), "junit.xml");
        let xml = fs::read_to_string(path).unwrap();
        let report = Report::deserialize_from_str(&xml)
            .unwrap_or_else(|e| panic!("junit.xml does not parse: {e}\n{xml}"));
        (xml, report)
    }

    fn names(suite: &TestSuite) -> Vec<&str> {
        suite.test_cases.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn one_suite_per_scenario_with_the_idp_as_a_property() {
        let (xml, report) = parsed();
        assert_eq!(xml.matches("<testsuite ").count(), 2);
        let suites: Vec<_> = report.test_suites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(suites, ["entra-cisco-guide", "entra-initial-cycle-failed"]);
        for suite in &report.test_suites {
            assert!(suite
                .properties
                .iter()
                .any(|p| p.name.as_str() == "idp" && p.value.as_str() == "entra"));
            assert!(suite
                .test_cases
                .iter()
                .all(|c| c.classname.as_ref().map(|n| n.as_str()) == Some(suite.name.as_str())));
        }
        // 16 steps and checks, and the failing scenario's two findings (one MUST).
        assert_eq!(report.tests, 18);
        assert_eq!((report.failures, report.errors), (2, 1));
    }

    #[test]
    fn a_testcase_per_step_and_per_check() {
        let (xml, report) = parsed();
        assert_eq!(xml.matches("<testcase ").count(), 18);
        let passing = &report.test_suites[0];
        assert_eq!(
            names(passing),
            [
                "01 assign",
                "02 cycle initial",
                "03 expect",
                "03 expect state",
                "03 expect log"
            ]
        );
        assert_eq!((passing.failures, passing.errors), (0, 0));
        assert_eq!(passing.test_cases[1].time, Some(Duration::from_millis(20)));
        let failing = &report.test_suites[1];
        let all = names(failing);
        // The findings come last, one testcase each: a MUST fails, a SHOULD passes.
        assert!(all[11].starts_with("finding MUST Entra ID: group membership PATCH"));
        assert!(all[12].starts_with("finding SHOULD Entra ID: a group PATCH"));
        assert_eq!(
            all[..11],
            [
                "01 assign",
                "02 fault",
                "03 cycle initial",
                "04 expect",
                "04 expect log",
                "05 restart full",
                "06 cycle initial",
                "07 expect",
                "07 expect state",
                "08 cycle incremental",
                "09 expect"
            ]
        );
        assert_eq!(
            (
                failing.tests,
                failing.failures,
                failing.errors,
                failing.disabled
            ),
            (13, 2, 1, 1)
        );
    }

    #[test]
    fn failure_for_the_unmet_expectation_error_for_the_transport_problem() {
        let (xml, report) = parsed();
        // The unmet expectation and the MUST finding.
        assert_eq!(xml.matches("<failure").count(), 2);
        assert_eq!(xml.matches("<error").count(), 1);
        assert_eq!(xml.matches("<skipped").count(), 1);
        let failing = &report.test_suites[1];
        let case = |name: &str| {
            failing
                .test_cases
                .iter()
                .find(|c| c.name.as_str() == name)
                .unwrap()
        };

        let TestCaseStatus::NonSuccess {
            kind,
            message,
            description,
            ..
        } = &case("07 expect state").status
        else {
            panic!("07 expect state should have failed");
        };
        assert_eq!(*kind, NonSuccessKind::Failure);
        assert!(message
            .as_ref()
            .unwrap()
            .as_str()
            .contains("1 member missing"));
        assert!(description
            .as_ref()
            .unwrap()
            .as_str()
            .contains("-    {\"display\": \"Test User\"}"));
        assert_eq!(
            case("07 expect state").system_out.as_ref().unwrap().as_str(),
            "#5 PATCH /Groups/g-1 -> no response [fault: drop-response]: timed out after 30 s (the server applied the request)\n\
             #8 PATCH /Groups/g-1 -> 204"
        );
        assert_eq!(case("07 expect").status, TestCaseStatus::success());

        let TestCaseStatus::NonSuccess { kind, message, .. } = &case("08 cycle incremental").status
        else {
            panic!("08 cycle incremental should have errored");
        };
        assert_eq!(*kind, NonSuccessKind::Error);
        assert_eq!(
            message.as_ref().unwrap().as_str(),
            "target unreachable: connection refused (127.0.0.1:41235)"
        );
        assert!(case("08 cycle incremental")
            .system_out
            .as_ref()
            .unwrap()
            .as_str()
            .contains("#9 GET /Groups/g-1 -> no response"));
        assert!(matches!(
            case("09 expect").status,
            TestCaseStatus::Skipped { .. }
        ));
        // The dropped response was handled by the IdP as Entra would: the step passed.
        assert_eq!(case("03 cycle initial").status, TestCaseStatus::success());
    }

    #[test]
    fn a_message_of_several_lines_keeps_its_first_line_as_the_attribute() {
        let mut run = sample::run_report();
        let check = &mut run.scenarios[1].steps[6].checks[0];
        check.message = "the directory differs:\n  group \"IT-Admins\": 1 member missing".into();
        let report = junit_report(&run);
        let case = report.test_suites[1]
            .test_cases
            .iter()
            .find(|c| c.name.as_str() == "07 expect state")
            .unwrap();
        let TestCaseStatus::NonSuccess {
            message,
            description,
            ..
        } = &case.status
        else {
            panic!("07 expect state should have failed");
        };
        assert_eq!(message.as_ref().unwrap().as_str(), "the directory differs:");
        let text = description.as_ref().unwrap().as_str();
        assert!(text.starts_with(
            "the directory differs:\n  group \"IT-Admins\": 1 member missing\n\n--- expected\n"
        ));
    }

    #[test]
    fn a_failed_step_without_a_failed_check_is_still_a_failure() {
        let mut run = sample::run_report();
        run.scenarios[0].steps[1].outcome = Outcome::Failed;
        let report = junit_report(&run);
        assert_eq!(report.test_suites[0].failures, 1);
    }
}
