//! The two questions a server author asks, kept apart: "is my server RFC 7643/7644
//! conformant?" and "will it work with Entra ID, Okta, Duo?". Computed from the scenarios'
//! outcomes and findings of one run; printed after the terminal summary:
//!
//! ```text
//! verdicts:
//!   RFC 7643/7644 conformance: PASS (1 scenario; 0 findings)
//!   works with Entra ID (default): FAIL (1 of 1 scenarios failed)
//!     - MUST Entra ID: update user (PATCH /Users/{id}: PascalCase ops, ...) [https://learn.microsoft.com/...]
//! ```
//!
//! The RFC verdict rests on the `idp: rfc` scenarios and on every finding whose behaviour starts
//! with "RFC" (from any scenario); it fails on a failed probe or a MUST finding. Each IdP
//! verdict rests on the scenarios of that IdP and setting (Entra's dialect, Okta's app type) and
//! lists their findings, or the failed checks when a scenario failed without one.

use super::model::{Outcome, RunReport, ScenarioReport, Severity};
use std::fmt::Write as _;

/// One verdict line and the behaviours that failed it.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Verdict {
    /// `RFC 7643/7644 conformance`, `works with Entra ID (default)`, ...
    pub name: String,
    pub passed: bool,
    /// `1 of 3 scenarios failed`.
    pub summary: String,
    pub failing: Vec<String>,
}

pub const RFC: &str = "RFC 7643/7644 conformance";

/// The IdP verdict a scenario counts towards; `None` for `idp: rfc`.
pub(crate) fn idp_verdict(s: &ScenarioReport) -> Option<String> {
    let name = match s.idp.as_str() {
        "entra" => format!(
            "Entra ID ({})",
            s.settings["dialect"].as_str().unwrap_or("default")
        ),
        "okta" => "Okta (OIN)".into(),
        "okta-aiw" => "Okta (AIW)".into(),
        "duo" => "Duo".into(),
        "rfc" => return None,
        other => other.to_string(),
    };
    Some(format!("works with {name}"))
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Must => "MUST",
        Severity::Should => "SHOULD",
        Severity::May => "MAY",
        Severity::Info => "INFO",
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
    let rfc_findings: Vec<_> = report
        .scenarios
        .iter()
        .flat_map(|s| &s.findings)
        .filter(|f| f.behaviour.starts_with("RFC"))
        .collect();
    if !rfc_scenarios.is_empty() || !rfc_findings.is_empty() {
        let mut failing = Vec::new();
        for f in &rfc_findings {
            push_unique(
                &mut failing,
                format!("{} {} [{}]", severity(f.severity), f.behaviour, f.source),
            );
        }
        // A probe that errored leaves no finding: name it.
        for s in &rfc_scenarios {
            if s.outcome == Outcome::Error {
                for line in failed_checks(s) {
                    push_unique(&mut failing, line);
                }
            }
        }
        let passed = rfc_scenarios.iter().all(|s| s.outcome == Outcome::Passed)
            && rfc_findings.iter().all(|f| f.severity != Severity::Must);
        let checks: Vec<Outcome> = rfc_scenarios
            .iter()
            .flat_map(|s| &s.steps)
            .flat_map(|st| &st.checks)
            .map(|c| c.outcome)
            .collect();
        let count = |o: Outcome| checks.iter().filter(|x| **x == o).count();
        out.push(Verdict {
            name: RFC.into(),
            passed,
            summary: format!(
                "{} probes: {} passed, {} failed, {} skipped; {} RFC findings",
                checks.len(),
                count(Outcome::Passed),
                count(Outcome::Failed) + count(Outcome::Error),
                count(Outcome::Skipped),
                rfc_findings.len()
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
        let mut failing = Vec::new();
        for s in &bad {
            let idp_findings: Vec<_> = s
                .findings
                .iter()
                .filter(|f| !f.behaviour.starts_with("RFC"))
                .collect();
            for f in &idp_findings {
                push_unique(
                    &mut failing,
                    format!("{} {} [{}]", severity(f.severity), f.behaviour, f.source),
                );
            }
            if idp_findings.is_empty() {
                for line in failed_checks(s) {
                    push_unique(&mut failing, line);
                }
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
            verdicts: vec![],
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
}
