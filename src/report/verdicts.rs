//! The two questions a server author asks, kept apart: "is my server RFC 7643/7644
//! conformant?" and "will it work with Entra ID, Okta, Duo?". Computed from the scenarios'
//! outcomes and findings of one run; printed after the terminal summary:
//!
//! ```text
//! verdicts:
//!   RFC 7643/7644 conformance: PASS (63 probes: 60 passed, 0 failed, 3 skipped; 1 RFC finding (0 MUST), seen 12 times)
//!     - INFO RFC 7644 §3.4.2.2: filter operator not supported [RFC 7644 §3.4.2.2] ×12
//!   works with Entra ID (default): FAIL (3 of 4 scenarios failed)
//!     - MUST Entra ID: create group without members (POST /Groups) [https://learn.microsoft.com/...] ×7 in 3 scenarios
//! ```
//!
//! The RFC verdict rests on the `idp: rfc` scenarios and on every finding whose behaviour starts
//! with "RFC" (from any scenario); it fails on a failed probe or a MUST finding. Each IdP
//! verdict rests on the scenarios of that IdP and setting (Entra's dialect, Okta's app type) and
//! lists their findings, or the failed checks when a scenario failed without one. Findings are
//! listed once per cause, with how often it was seen (`×N`) and, for an IdP, in how many of its
//! failed scenarios. INFO, MAY and SHOULD never fail a
//! verdict. [`exit_code`] derives the process's exit code from these same verdicts, and
//! `report.json` and `junit.xml` carry them: a CI gate and a reader never disagree.

use super::model::{Finding, Outcome, RunReport, ScenarioReport, Severity};
use crate::exit_code;
use std::fmt::Write as _;

pub use super::model::Verdict;

pub const RFC: &str = "RFC 7643/7644 conformance";

/// The IdP verdict a scenario counts towards; `None` for `idp: rfc`.
pub(crate) fn idp_verdict(s: &ScenarioReport) -> Option<String> {
    let name = crate::idp::registry::verdict(&s.idp, &s.settings)?;
    Some(format!("works with {name}"))
}

/// `MUST`, `SHOULD`, `MAY`, `INFO`.
pub(crate) fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Must => "MUST",
        Severity::Should => "SHOULD",
        Severity::May => "MAY",
        Severity::Info => "INFO",
    }
}

/// Whether a finding is about RFC conformance (its behaviour is an RFC section), not an IdP.
pub fn is_rfc(f: &Finding) -> bool {
    f.behaviour.starts_with("RFC")
}

/// Whether a finding fails the scenario it was found in: a MUST about what the scenario tests
/// (any MUST in an `idp: rfc` scenario; a MUST about an IdP behaviour in an IdP scenario; an
/// RFC finding met by an IdP scenario fails the RFC verdict instead). SHOULD, MAY and INFO never
/// fail anything.
pub fn fails_scenario(s: &ScenarioReport, f: &Finding) -> bool {
    f.severity == Severity::Must && (s.idp == "rfc" || !is_rfc(f))
}

/// Findings grouped across scenarios by severity, behaviour and source, their counts added:
/// `MUST RFC 7643 §2.5: … [RFC 7643 §2.5] ×213`. Order of first appearance.
fn cause_lines<'a>(findings: impl Iterator<Item = &'a Finding>) -> Vec<(String, usize, Severity)> {
    let mut out: Vec<(String, usize, Severity)> = Vec::new();
    for f in findings {
        let head = format!("{} {} [{}]", severity(f.severity), f.behaviour, f.source);
        match out.iter_mut().find(|(h, _, _)| *h == head) {
            Some((_, n, _)) => *n += f.count.max(1),
            None => out.push((head, f.count.max(1), f.severity)),
        }
    }
    // MUST first: what fails the verdict leads.
    out.sort_by_key(|(_, _, s)| match s {
        Severity::Must => 0,
        Severity::Should => 1,
        Severity::May => 2,
        Severity::Info => 3,
    });
    out
}

fn with_count(head: &str, n: usize) -> String {
    if n > 1 {
        format!("{head} ×{n}")
    } else {
        head.to_string()
    }
}

fn push_unique(v: &mut Vec<String>, line: String) {
    if !v.contains(&line) {
        v.push(line);
    }
}

/// Failed checks of a scenario, named: `entra-cisco-guide: step 3 expect: state`.
fn failed_checks(s: &ScenarioReport) -> Vec<String> {
    let mut out = Vec::new();
    for st in s
        .steps
        .iter()
        .filter(|st| matches!(st.outcome, Outcome::Failed | Outcome::Error))
    {
        let bad: Vec<&str> = st
            .checks
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Failed | Outcome::Error))
            .map(|c| c.name.as_str())
            .collect();
        let what = match (&st.error, bad.is_empty()) {
            (Some(e), _) => format!("error: {e}"),
            (None, false) => bad.join(", "),
            (None, true) => "failed".into(),
        };
        out.push(format!("{}: step {} {}: {what}", s.name, st.index, st.kind));
    }
    out
}

/// Every verdict the run has material for: RFC first, then the IdPs in the order met.
pub fn verdicts(report: &RunReport) -> Vec<Verdict> {
    let mut out = Vec::new();
    let rfc_scenarios: Vec<&ScenarioReport> =
        report.scenarios.iter().filter(|s| s.idp == "rfc").collect();
    let rfc_findings: Vec<&Finding> = report
        .scenarios
        .iter()
        .flat_map(|s| &s.findings)
        .filter(|f| is_rfc(f))
        .collect();
    if !rfc_scenarios.is_empty() || !rfc_findings.is_empty() {
        let causes = cause_lines(rfc_findings.iter().copied());
        let mut failing: Vec<String> = causes.iter().map(|(h, n, _)| with_count(h, *n)).collect();
        // A probe that failed or errored without a finding: name it.
        for s in &rfc_scenarios {
            if matches!(s.outcome, Outcome::Error | Outcome::Failed) {
                for line in failed_checks(s) {
                    push_unique(&mut failing, line);
                }
            }
        }
        let must = causes
            .iter()
            .filter(|(_, _, s)| *s == Severity::Must)
            .count();
        let passed = rfc_scenarios.iter().all(|s| s.outcome == Outcome::Passed) && must == 0;
        // The harness's clean-up step is not a probe (its failure still fails the scenario).
        let checks: Vec<Outcome> = rfc_scenarios
            .iter()
            .flat_map(|s| &s.steps)
            .filter(|st| st.kind != "cleanup")
            .flat_map(|st| &st.checks)
            .map(|c| c.outcome)
            .collect();
        let count = |o: Outcome| checks.iter().filter(|x| **x == o).count();
        let seen: usize = causes.iter().map(|(_, n, _)| n).sum();
        out.push(Verdict {
            name: RFC.into(),
            passed,
            summary: format!(
                "{} probes: {} passed, {} failed, {} skipped; {} RFC finding{} ({} MUST){}",
                checks.len(),
                count(Outcome::Passed),
                count(Outcome::Failed) + count(Outcome::Error),
                count(Outcome::Skipped),
                causes.len(),
                if causes.len() == 1 { "" } else { "s" },
                must,
                if seen > causes.len() {
                    format!(", seen {seen} times")
                } else {
                    String::new()
                }
            ),
            failing,
        });
    }
    let mut names: Vec<String> = Vec::new();
    for s in &report.scenarios {
        if let Some(n) = idp_verdict(s) {
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    for name in names {
        let mine: Vec<&ScenarioReport> = report
            .scenarios
            .iter()
            .filter(|s| idp_verdict(s).as_ref() == Some(&name))
            .collect();
        let bad: Vec<&&ScenarioReport> = mine
            .iter()
            .filter(|s| s.outcome != Outcome::Passed)
            .collect();
        // One line per cause across the failed scenarios, its counts added and the scenarios
        // it was seen in counted; then the failed checks of scenarios without an IdP finding.
        let per_scenario: Vec<Vec<&Finding>> = bad
            .iter()
            .map(|s| s.findings.iter().filter(|f| !is_rfc(f)).collect())
            .collect();
        let heads: Vec<Vec<String>> = per_scenario
            .iter()
            .map(|fs| {
                cause_lines(fs.iter().copied())
                    .into_iter()
                    .map(|(h, _, _)| h)
                    .collect()
            })
            .collect();
        let mut failing = Vec::new();
        for (h, n, _) in cause_lines(per_scenario.iter().flatten().copied()) {
            let seen_in = heads.iter().filter(|hs| hs.contains(&h)).count();
            let line = with_count(&h, n);
            failing.push(if seen_in > 1 {
                format!("{line} in {seen_in} scenarios")
            } else {
                line
            });
        }
        for (s, _) in bad
            .iter()
            .zip(&per_scenario)
            .filter(|(_, fs)| fs.is_empty())
        {
            for line in failed_checks(s) {
                push_unique(&mut failing, line);
            }
        }
        out.push(Verdict {
            name,
            passed: bad.is_empty(),
            summary: format!("{} of {} scenarios failed", bad.len(), mine.len()),
            failing,
        });
    }
    out
}

/// The exit code of a run, from the same verdicts every report shows: 3 when no scenario got a
/// single answer from the target, 1 when a verdict failed (or a scenario did not pass), else 0.
pub fn exit_code(report: &RunReport, verdicts: &[Verdict]) -> u8 {
    let s = &report.summary;
    if s.errors > 0
        && s.failed == 0
        && report
            .scenarios
            .iter()
            .all(|x| x.outcome != Outcome::Passed)
        && report
            .scenarios
            .iter()
            .flat_map(|x| &x.exchanges)
            .all(|e| e.status.is_none())
    {
        return exit_code::TARGET;
    }
    if verdicts.iter().any(|v| !v.passed)
        || report
            .scenarios
            .iter()
            .any(|x| x.outcome != Outcome::Passed)
    {
        exit_code::FAILED
    } else {
        exit_code::OK
    }
}

/// `verdicts:` and one line per verdict, its failing behaviours under it.
pub fn render(verdicts: &[Verdict], color: bool) -> String {
    if verdicts.is_empty() {
        return String::new();
    }
    let mut out = String::from("\nverdicts:\n");
    for v in verdicts {
        let word = match (v.passed, color) {
            (true, true) => "\x1b[32mPASS\x1b[0m",
            (true, false) => "PASS",
            (false, true) => "\x1b[31mFAIL\x1b[0m",
            (false, false) => "FAIL",
        };
        let _ = writeln!(out, "  {}: {word} ({})", v.name, v.summary);
        for f in &v.failing {
            let _ = writeln!(out, "    - {f}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::{Finding, Summary, TargetInfo};

    fn scenario(name: &str, idp: &str, dialect: &str, outcome: Outcome) -> ScenarioReport {
        ScenarioReport {
            name: name.into(),
            description: String::new(),
            file: format!("{name}.yaml"),
            idp: idp.into(),
            settings: serde_json::json!({"dialect": dialect}),
            outcome,
            duration_ms: 0,
            steps: vec![],
            exchanges: vec![],
            provisioning_log: vec![],
            findings: vec![],
            behaviours: vec![],
            probe_groups: vec![],
        }
    }

    fn finding(behaviour: &str, severity: Severity) -> Finding {
        Finding {
            severity,
            behaviour: behaviour.into(),
            source: "src".into(),
            inferred: false,
            message: String::new(),
            exchange: None,
            step: 1,
            count: 1,
            examples: Vec::new(),
        }
    }

    #[test]
    fn rfc_and_idp_verdicts_are_kept_apart() {
        let mut entra = scenario("entra-a", "entra", "default", Outcome::Failed);
        entra.findings = vec![
            finding("Entra ID: update user", Severity::Must),
            finding("RFC 7643 §2.1: response schema", Severity::Should),
        ];
        let opt = scenario("entra-b", "entra", "aadOptscim062020", Outcome::Passed);
        let rfc = scenario("rfc-conformance", "rfc", "", Outcome::Passed);
        let report = RunReport {
            format_version: 1,
            tool: "t".into(),
            run_id: "r".into(),
            target: TargetInfo {
                url: "u".into(),
                builtin: true,
            },
            started_at: String::new(),
            duration_ms: 0,
            scenarios: vec![rfc, entra, opt],
            summary: Summary::default(),
            verdicts: Vec::new(),
            certification: None,
        };
        let v = verdicts(&report);
        let names: Vec<&str> = v.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(
            names,
            [
                RFC,
                "works with Entra ID (default)",
                "works with Entra ID (aadOptscim062020)"
            ]
        );
        // A SHOULD finding is listed but does not fail conformance.
        assert!(v[0].passed);
        assert_eq!(
            v[0].failing,
            ["SHOULD RFC 7643 §2.1: response schema [src]"]
        );
        assert!(!v[1].passed);
        assert_eq!(v[1].failing, ["MUST Entra ID: update user [src]"]);
        assert!(v[2].passed);
        let text = render(&v, false);
        assert!(text.contains("  works with Entra ID (default): FAIL (1 of 1 scenarios failed)\n    - MUST Entra ID: update user [src]\n"));
    }

    fn run_of(scenarios: Vec<ScenarioReport>) -> RunReport {
        RunReport {
            format_version: 1,
            tool: "t".into(),
            run_id: "r".into(),
            target: TargetInfo {
                url: "u".into(),
                builtin: false,
            },
            started_at: String::new(),
            duration_ms: 0,
            scenarios,
            summary: Summary::default(),
            verdicts: Vec::new(),
            certification: None,
        }
    }

    /// INFO never fails: a server whose only finding is information passes, exit 0.
    #[test]
    fn an_info_finding_passes_and_exits_0() {
        let mut rfc = scenario("rfc-conformance", "rfc", "", Outcome::Passed);
        let mut info = finding(
            "RFC 7644 §3.4.2.2: filter operator not supported",
            Severity::Info,
        );
        info.count = 12;
        rfc.findings = vec![info];
        let report = run_of(vec![rfc]);
        let v = verdicts(&report);
        assert!(v[0].passed, "{v:?}");
        assert_eq!(
            v[0].failing,
            ["INFO RFC 7644 §3.4.2.2: filter operator not supported [src] ×12"]
        );
        assert!(
            v[0].summary
                .contains("1 RFC finding (0 MUST), seen 12 times"),
            "{v:?}"
        );
        assert_eq!(exit_code(&report, &v), crate::exit_code::OK);
        assert!(render(&v, false).contains("RFC 7643/7644 conformance: PASS"));
    }

    /// A MUST fails the verdict and the exit code alike, even when every scenario passed
    /// (an RFC finding met by an IdP scenario): the case that printed FAIL and exited 0.
    #[test]
    fn a_must_finding_fails_the_verdict_and_exits_1() {
        let mut entra = scenario("entra-a", "entra", "default", Outcome::Passed);
        entra.findings = vec![finding(
            "RFC 7643/7644: ListResponse response schema",
            Severity::Must,
        )];
        let report = run_of(vec![entra]);
        let v = verdicts(&report);
        assert_eq!(v[0].name, RFC);
        assert!(!v[0].passed);
        assert!(v[1].passed, "the Entra expectations held");
        assert_eq!(exit_code(&report, &v), crate::exit_code::FAILED);
        assert!(render(&v, false).contains("RFC 7643/7644 conformance: FAIL"));
    }

    /// The same cause in several failed scenarios is one line, its counts added, with the
    /// number of scenarios: not one line per scenario with a different `×N` each.
    #[test]
    fn one_cause_in_several_scenarios_is_one_line() {
        let mut a = scenario("entra-a", "entra", "default", Outcome::Failed);
        let mut f = finding("Entra ID: create group", Severity::Must);
        f.count = 2;
        a.findings = vec![f.clone()];
        let mut b = scenario("entra-b", "entra", "default", Outcome::Failed);
        f.count = 3;
        b.findings = vec![f, finding("Entra ID: update user", Severity::Must)];
        let v = verdicts(&run_of(vec![a, b]));
        let entra = v
            .iter()
            .find(|v| v.name.contains("Entra"))
            .expect("an Entra verdict");
        assert_eq!(
            entra.failing,
            [
                "MUST Entra ID: create group [src] ×5 in 2 scenarios",
                "MUST Entra ID: update user [src]"
            ]
        );
    }
}
