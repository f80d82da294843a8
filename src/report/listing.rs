//! What `scimulator check` prints before the summary, the way nextest lists tests: one line
//! per RFC probe group with its counts, every failed probe under its group, and with `-v` every
//! probe with its result. Read from the model's `probe_groups`, never recomputed:
//!
//! ```text
//! probes (rfc-conformance):
//!     PASS discovery       6 probes
//!     FAIL patch           9 probes: 8 passed, 1 failed
//!         FAIL rfc patch remove with value filter: 1 of 2 assertions failed
//!     SKIP etag            2 probes: 2 skipped
//! ```

use super::model::{CheckReport, Outcome, RunReport};
use std::fmt::Write as _;

fn word(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => "PASS",
        Outcome::Failed => "FAIL",
        Outcome::Error => "ERROR",
        Outcome::Skipped => "SKIP",
    }
}

fn paint(o: Outcome, color: bool) -> String {
    let w = word(o);
    if !color {
        return format!("{w:5}");
    }
    let code = match o {
        Outcome::Passed => "32",
        Outcome::Failed | Outcome::Error => "31",
        Outcome::Skipped => "33",
    };
    format!("\x1b[{code}m{w:5}\x1b[0m")
}

/// The probe listing of every RFC scenario in `report`; empty when it ran no probe group.
pub fn render_probes(report: &RunReport, verbose: bool, color: bool) -> String {
    let mut out = String::new();
    for s in &report.scenarios {
        if s.probe_groups.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\nprobes ({}):", s.name);
        let width = s
            .probe_groups
            .iter()
            .map(|g| g.name.len())
            .max()
            .unwrap_or(0);
        for g in &s.probe_groups {
            let step = s.steps.iter().find(|st| st.index == g.step);
            let checks: Vec<&CheckReport> = g
                .checks
                .iter()
                .filter_map(|n| step.and_then(|st| st.checks.iter().find(|c| &c.name == n)))
                .collect();
            let count = |o: Outcome| checks.iter().filter(|c| c.outcome == o).count();
            let (passed, failed, errors, skipped) = (
                count(Outcome::Passed),
                count(Outcome::Failed),
                count(Outcome::Error),
                count(Outcome::Skipped),
            );
            let group = if errors > 0 {
                Outcome::Error
            } else if failed > 0 {
                Outcome::Failed
            } else if passed == 0 && skipped > 0 {
                Outcome::Skipped
            } else {
                Outcome::Passed
            };
            let mut parts = Vec::new();
            for (n, what) in [
                (passed, "passed"),
                (failed, "failed"),
                (errors, "errors"),
                (skipped, "skipped"),
            ] {
                // "passed" only when not all passed; the others whenever there are some.
                if n > 0 && (n != checks.len() || what != "passed") {
                    parts.push(format!("{n} {what}"));
                }
            }
            let _ = writeln!(
                out,
                "    {} {:width$}  {} probe{}{}",
                paint(group, color),
                g.name,
                checks.len(),
                if checks.len() == 1 { "" } else { "s" },
                if parts.is_empty() {
                    String::new()
                } else {
                    format!(": {}", parts.join(", "))
                },
            );
            for c in checks {
                let bad = matches!(c.outcome, Outcome::Failed | Outcome::Error);
                if !(verbose || bad) {
                    continue;
                }
                let first = c.message.lines().next().unwrap_or("");
                let _ = write!(out, "        {} {}", paint(c.outcome, color), c.name);
                if (bad || c.outcome == Outcome::Skipped) && !first.is_empty() {
                    let _ = write!(out, ": {first}");
                }
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::{ProbeGroupReport, StepReport};
    use crate::report::sample;

    fn check(name: &str, outcome: Outcome, message: &str) -> CheckReport {
        CheckReport {
            name: name.into(),
            outcome,
            message: message.into(),
            diff: None,
            patch: None,
            exchanges: vec![],
        }
    }

    #[test]
    fn groups_are_listed_with_failures_and_verbose_lists_every_probe() {
        let mut report = sample::run_report();
        let s = &mut report.scenarios[0];
        s.steps = vec![StepReport {
            index: 1,
            line: 6,
            kind: "rfc_probes".into(),
            outcome: Outcome::Failed,
            duration_ms: 5,
            exchanges: vec![],
            checks: vec![
                check("rfc spc", Outcome::Passed, "ok"),
                check("rfc patch add", Outcome::Passed, "ok"),
                check(
                    "rfc patch remove",
                    Outcome::Failed,
                    "1 of 2 assertions failed\n  FAIL ...",
                ),
                check("rfc etag", Outcome::Skipped, "etag not supported"),
            ],
            error: None,
        }];
        let group = |name: &str, checks: &[&str]| ProbeGroupReport {
            name: name.into(),
            step: 1,
            checks: checks.iter().map(|c| c.to_string()).collect(),
        };
        s.probe_groups = vec![
            group("discovery", &["rfc spc"]),
            group("patch", &["rfc patch add", "rfc patch remove"]),
            group("etag", &["rfc etag"]),
        ];
        let text = render_probes(&report, false, false);
        assert_eq!(
            text,
            "\nprobes (entra-cisco-guide):\n    PASS  discovery  1 probe\n    FAIL  patch      2 probes: 1 passed, 1 failed\n        FAIL  rfc patch remove: 1 of 2 assertions failed\n    SKIP  etag       1 probe: 1 skipped\n"
        );
        let verbose = render_probes(&report, true, false);
        assert!(
            verbose.contains("        PASS  rfc patch add\n"),
            "{verbose}"
        );
        assert!(
            verbose.contains("        SKIP  rfc etag: etag not supported\n"),
            "{verbose}"
        );
        assert_eq!(render_probes(&sample::run_report(), true, false), "");
    }
}
