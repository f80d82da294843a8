//! `summary.md`: the verdict table, the behaviours that failed each verdict and the scenarios
//! that did not pass, short enough for a CI job summary (GitHub's `$GITHUB_STEP_SUMMARY`, a
//! merge-request comment). Rendered from `templates/summary.md` with minijinja; every list is
//! capped and every cell cut, so a run with thousands of findings still gives a page one reads
//! in a glance. A sample:
//!
//! ```markdown
//! ## ❌ scimulator: FAIL — 1 of 2 scenarios failed
//!
//! scimulator 0.1.0 · run `r3f9a1c` · target `http://127.0.0.1:41235/scim/v2` (built-in server) · 14 requests · 30.2 s
//!
//! | verdict | result | detail |
//! |---|---|---|
//! | works with Entra ID (default) | ❌ FAIL — 1 of 4 request shapes inferred | 1 of 2 scenarios failed |
//!
//! ### Failing behaviours
//!
//! - **works with Entra ID (default)**: MUST Entra ID: group membership PATCH … [RFC 7644 §3.5.2.1]
//! ```

use super::model::{Outcome, RunReport};
use minijinja::Environment;
use serde::Serialize;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

const TEMPLATE: &str = include_str!("templates/summary.md");
/// Failing behaviours listed before "… and N more".
const MAX_FAILING: usize = 25;
/// Scenarios listed before "… N more".
const MAX_SCENARIOS: usize = 20;
/// Longest table cell, in characters.
const MAX_CELL: usize = 240;

/// A failing behaviour under the verdict it failed.
#[derive(Serialize)]
struct FailingLine<'a> {
    verdict: &'a str,
    line: &'a str,
}

/// A scenario that did not pass, with its failed checks named as `step 4 expect: state`.
#[derive(Serialize)]
struct NotPassed<'a> {
    name: &'a str,
    idp: &'a str,
    outcome: Outcome,
    checks: Vec<String>,
    findings: usize,
}

/// Whether the whole run passed, and its one-line headline: shared with the HTML page.
pub(crate) fn headline(report: &RunReport) -> (bool, String) {
    let s = &report.summary;
    let verdicts_failed = report.verdicts.iter().filter(|v| !v.verdict.passed).count();
    let passed = s.failed == 0 && s.errors == 0 && verdicts_failed == 0;
    let text = if s.scenarios > 0 {
        let bad = s.failed + s.errors;
        if bad == 0 {
            format!(
                "{} scenario{} passed",
                s.scenarios,
                if s.scenarios == 1 { "" } else { "s" }
            )
        } else {
            format!("{bad} of {} scenarios did not pass", s.scenarios)
        }
    } else if verdicts_failed == 0 {
        let n = report.verdicts.len();
        format!("{n} verdict{} passed", if n == 1 { "" } else { "s" })
    } else {
        format!(
            "{} of {} verdicts failed",
            verdicts_failed,
            report.verdicts.len()
        )
    };
    (passed, text)
}

/// The failed checks of a scenario's steps, or the step itself when it failed without one.
pub(crate) fn failed_checks(s: &super::model::ScenarioReport) -> Vec<String> {
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
        if bad.is_empty() {
            out.push(format!("step {} {}", st.index, st.kind));
        }
        out.extend(
            bad.iter()
                .map(|c| format!("step {} {}: {c}", st.index, st.kind)),
        );
    }
    out
}

/// `|` would end a table cell and a newline the row; `<` could open HTML.
fn cell(value: String) -> String {
    let mut out = String::with_capacity(value.len().min(MAX_CELL + 8));
    for (n, c) in value.chars().enumerate() {
        if n == MAX_CELL {
            out.push('…');
            break;
        }
        match c {
            '|' => out.push_str("\\|"),
            '\n' | '\r' | '\t' => out.push(' '),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// The Markdown summary of `report`.
pub fn render_markdown(report: &RunReport) -> String {
    let (passed, headline) = headline(report);
    let failing: Vec<FailingLine> = report
        .verdicts
        .iter()
        .flat_map(|v| {
            v.verdict.failing.iter().map(|line| FailingLine {
                verdict: &v.verdict.name,
                line,
            })
        })
        .collect();
    let failed: Vec<NotPassed> = report
        .scenarios
        .iter()
        .filter(|s| s.outcome != Outcome::Passed)
        .map(|s| NotPassed {
            name: &s.name,
            idp: &s.idp,
            outcome: s.outcome,
            checks: failed_checks(s),
            findings: s.findings.len(),
        })
        .collect();
    let mut env = Environment::new();
    env.add_filter("cell", cell);
    env.set_syntax(super::template_syntax(false));
    let ctx = minijinja::context! {
        report => minijinja::Value::from(minijinja::value::Serde(report)),
        passed,
        headline,
        seconds => format!("{:.1}", report.duration_ms as f64 / 1000.0),
        failing => minijinja::Value::from(minijinja::value::Serde(&failing)),
        failed => minijinja::Value::from(minijinja::value::Serde(&failed)),
        max_failing => MAX_FAILING,
        max_scenarios => MAX_SCENARIOS,
    };
    match env.render_str(TEMPLATE, ctx) {
        Ok(text) => text,
        // The template is compiled in and tested: this is a bug, said plainly, not a lost summary.
        Err(e) => format!("## scimulator\n\nsummary.md could not be rendered: {e}\n"),
    }
}

/// Writes `dir/summary.md` (`dir` created if missing) and returns its path.
pub fn write_markdown(report: &RunReport, dir: &Path) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let path = dir.join("summary.md");
    fs::write(&path, render_markdown(report))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn the_summary_has_the_verdict_table_and_what_failed() {
        let report = sample::run_report();
        let md = render_markdown(&report);
        assert!(
            md.starts_with("## ❌ scimulator: FAIL — 1 of 2 scenarios did not pass\n"),
            "{md}"
        );
        assert!(
            md.contains("| verdict | result | detail |\n|---|---|---|\n"),
            "{md}"
        );
        assert!(
            md.contains("| works with Entra ID (default) | ❌ FAIL — 1 of 4 request shapes inferred | 1 of 2 scenarios failed |"),
            "{md}"
        );
        assert!(md.contains("### Failing behaviours"), "{md}");
        assert!(
            md.contains(
                "- **works with Entra ID (default)**: MUST Entra ID: group membership PATCH"
            ),
            "{md}"
        );
        assert!(
            md.contains("| entra-initial-cycle-failed | entra | failed | step 7 expect: state; step 8 cycle incremental | 2 |"),
            "{md}"
        );
        // No raw template syntax and no empty rows left behind.
        assert!(!md.contains("{{") && !md.contains("{%"), "{md}");
    }

    #[test]
    fn cells_cannot_break_the_table_and_lists_are_capped() {
        let mut report = sample::run_report();
        report.verdicts[0].verdict.name = "a | b\n<script>".into();
        report.verdicts[0].verdict.failing =
            (0..100).map(|i| format!("MUST behaviour {i}")).collect();
        let md = render_markdown(&report);
        assert!(md.contains("| a \\| b &lt;script&gt; |"), "{md}");
        assert!(md.contains("- … and 75 more (see index.html)"), "{md}");
        assert!(md.lines().count() < 80, "{} lines", md.lines().count());
        assert_eq!(cell("x".repeat(1000)).chars().count(), MAX_CELL + 1);
    }

    #[test]
    fn an_inferred_failing_behaviour_says_so() {
        let report = sample::run_report();
        let md = render_markdown(&report);
        assert!(
            md.contains("escrowed and retried whole [https://learn.microsoft.com/en-us/entra/identity/app-provisioning/how-provisioning-works] (inferred)"),
            "{md}"
        );
        assert!(
            !md.contains("re-sent after Restart provisioning [RFC 7644 §3.5.2.1] (inferred)"),
            "{md}"
        );
    }

    #[test]
    fn a_passing_run_still_says_what_is_inferred() {
        let mut report = sample::run_report();
        report.scenarios.truncate(1);
        report.summary.failed = 0;
        report.summary.scenarios = 1;
        report.scenarios[0]
            .behaviours
            .iter_mut()
            .for_each(|b| b.inferred = true);
        crate::report::conclude(&mut report);
        let md = render_markdown(&report);
        assert!(
            md.starts_with("## ✅ scimulator: PASS — 1 scenario passed"),
            "{md}"
        );
        assert!(
            md.contains("| works with Entra ID (default) | ✅ PASS — every request shape inferred | 0 of 1 scenarios failed |"),
            "{md}"
        );
        assert!(!md.contains("Failing behaviours"), "{md}");
    }
}
