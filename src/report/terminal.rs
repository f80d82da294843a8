//! The terminal summary `scimulator run` prints: a table of scenarios and a totals line, then,
//! for each scenario that did not pass, every failing check with its diff and the exchanges that
//! explain it, and the findings. ASCII only (CI logs mangle box drawing); ANSI colour only when
//! asked. Request headers are never shown but `Content-Type`: the model has no secrets, and the
//! terminal is the last place one should leak if that ever changed. A sample (no colour):
//!
//! ```text
//! scimulator 0.1.0, run r3f9a1c, target http://127.0.0.1:41235/scim/v2 (built-in server)
//!
//!  scenario                   | IdP   | steps | requests | result
//! ----------------------------+-------+-------+----------+--------
//!  entra-cisco-guide          | entra | 3/3   | 5        | passed
//!  entra-initial-cycle-failed | entra | 6/9   | 9        | FAILED
//!
//! 2 scenarios: 1 passed, 1 failed, 0 errors; 14 requests; 30.16 s
//!
//! FAILED entra-initial-cycle-failed (scenarios/entra/06-initial-cycle-failed.yaml)
//!   step 7 expect, line 19: state FAILED
//!     state: Group IT-Admins-r3f9a1c differs from derived (1 member missing)
//!       --- expected
//!       +++ actual
//!       @@ -3,5 +3,3 @@
//!          "displayName": "IT-Admins-r3f9a1c",
//!       -  "members": [
//!       -    {"display": "Test User"}
//!       -  ]
//!       +  "members": []
//!        }
//!     caused by:
//!       #5 PATCH /Groups/g-1 -> no response [fault: drop-response] (30000 ms)
//!         error: timed out after 30 s (the server applied the request)
//!         request (application/scim+json):
//!           {
//!             "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
//!             "Operations": [{"op": "Add", "path": "members", "value": [{"value": "u-1"}]}]
//!           }
//!       #8 PATCH /Groups/g-1 -> 204 (3 ms)
//!         ...
//!   step 8 cycle incremental, line 20: ERROR
//!     target unreachable: connection refused (127.0.0.1:41235)
//!     caused by:
//!       #9 GET /Groups/g-1 -> no response (3 ms)
//!         error: connection refused (127.0.0.1:41235)
//!   not run: step 9
//!   findings:
//!     MUST Entra ID: group membership PATCH ("op": "Add", "path": "members") re-sent after Restart provisioning
//!       adding a member the group already holds emptied the group (204, then members: [])
//!       step 6, exchange #8; source: RFC 7644 §3.5.2.1
//! ```

use super::model::{
    CheckReport, Exchange, Finding, Outcome, RunReport, ScenarioReport, StepReport,
};
use serde_json::Value;
use std::fmt::Write as _;
use tabled::settings::Style;
use tabled::{Table, Tabled};

/// A body longer than this is cut: the whole exchange is in report.json.
const BODY_MAX_LINES: usize = 40;
/// A JSON array or object shorter than this prints on one line.
const INLINE_WIDTH: usize = 88;
/// Longer lines (a base64 photo, a huge filter) are cut.
const LINE_MAX_CHARS: usize = 160;

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// Renders the whole summary; `color` adds ANSI colours (diff lines, verdicts).
pub fn render_terminal(report: &RunReport, color: bool) -> String {
    let paint = Paint(color);
    let mut out = String::new();
    let target_kind = if report.target.builtin {
        " (built-in server)"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "{}, run {}, target {}{target_kind}\n",
        report.tool, report.run_id, report.target.url
    );
    out.push_str(&summary_table(report));
    out.push_str("\n\n");
    out.push_str(&totals_line(report, paint));
    out.push('\n');
    for scenario in &report.scenarios {
        let failed = matches!(scenario.outcome, Outcome::Failed | Outcome::Error);
        if failed || !scenario.findings.is_empty() {
            out.push('\n');
            scenario_details(&mut out, scenario, failed, paint);
        }
    }
    out
}

#[derive(Tabled)]
struct Row {
    scenario: String,
    #[tabled(rename = "IdP")]
    idp: String,
    /// `passed/total`.
    steps: String,
    requests: usize,
    result: &'static str,
}

fn summary_table(report: &RunReport) -> String {
    let rows = report.scenarios.iter().map(|s| Row {
        scenario: s.name.clone(),
        idp: s.idp.clone(),
        steps: format!(
            "{}/{}",
            s.steps
                .iter()
                .filter(|st| st.outcome == Outcome::Passed)
                .count(),
            s.steps.len()
        ),
        requests: s.exchanges.len(),
        result: verdict(s.outcome),
    });
    // No colour inside the table: tabled would count escape codes as width.
    let table = Table::new(rows).with(Style::psql()).to_string();
    // psql style pads the last column; trailing blanks only make log diffs noisy.
    table
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

fn verdict(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Passed => "passed",
        Outcome::Failed => "FAILED",
        Outcome::Error => "ERROR",
        Outcome::Skipped => "skipped",
    }
}

fn totals_line(report: &RunReport, paint: Paint) -> String {
    let s = &report.summary;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let failed = format!("{} failed", s.failed);
    let errors = plural(s.errors, "error");
    format!(
        "{}: {} passed, {}, {}; {}; {:.2} s",
        plural(s.scenarios, "scenario"),
        s.passed,
        if s.failed > 0 {
            paint.on(RED, &failed)
        } else {
            failed
        },
        if s.errors > 0 {
            paint.on(RED, &errors)
        } else {
            errors
        },
        plural(s.requests, "request"),
        report.duration_ms as f64 / 1000.0
    )
}

fn scenario_details(out: &mut String, scenario: &ScenarioReport, failed: bool, paint: Paint) {
    let head = format!("{} {}", verdict(scenario.outcome), scenario.name);
    let colour = if failed { RED } else { GREEN };
    let _ = writeln!(
        out,
        "{} ({})",
        paint.on(&format!("{BOLD}{colour}"), &head),
        scenario.file
    );
    if failed {
        // Steps not run, grouped by why: `not run: steps 5, 6 (needs step 3, which failed)`.
        let mut skipped: Vec<(String, Vec<String>)> = Vec::new();
        for step in &scenario.steps {
            match step.outcome {
                Outcome::Skipped => {
                    let why = step
                        .error
                        .as_deref()
                        .map(|e| e.trim_start_matches("not run: ").to_string())
                        .unwrap_or_default();
                    match skipped.iter_mut().find(|(w, _)| *w == why) {
                        Some((_, ids)) => ids.push(step.index.to_string()),
                        None => skipped.push((why, vec![step.index.to_string()])),
                    }
                }
                _ => step_details(out, scenario, step, paint),
            }
        }
        for (why, ids) in skipped {
            let _ = writeln!(
                out,
                "  not run: step{} {}{}",
                if ids.len() == 1 { "" } else { "s" },
                ids.join(", "),
                if why.is_empty() {
                    String::new()
                } else {
                    format!(" ({why})")
                }
            );
        }
    }
    if !scenario.findings.is_empty() {
        out.push_str("  findings:\n");
        for finding in &scenario.findings {
            finding_details(out, finding, paint);
        }
    }
}

fn step_details(out: &mut String, scenario: &ScenarioReport, step: &StepReport, paint: Paint) {
    // Line 0: a step the harness adds itself (set-up, clean-up), not one of the scenario's.
    let where_ = match step.line {
        0 => format!("step {} {} (added by scimulator)", step.index, step.kind),
        line => format!("step {} {}, line {line}", step.index, step.kind),
    };
    for check in step
        .checks
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Failed | Outcome::Error))
    {
        check_details(out, scenario, &where_, check, paint);
    }
    if step.outcome == Outcome::Error || step.error.is_some() {
        let error = step.error.as_deref().unwrap_or("the step could not run");
        let _ = writeln!(out, "  {where_}: {}", paint.on(RED, "ERROR"));
        let _ = writeln!(out, "    {error}");
        let ids = problem_exchanges(scenario, step);
        exchanges_details(out, scenario, &ids);
    } else if step.outcome == Outcome::Failed
        && !step.checks.iter().any(|c| c.outcome == Outcome::Failed)
    {
        let _ = writeln!(out, "  {where_}: {}", paint.on(RED, "FAILED"));
    }
}

fn check_details(
    out: &mut String,
    scenario: &ScenarioReport,
    where_: &str,
    check: &CheckReport,
    paint: Paint,
) {
    let _ = writeln!(
        out,
        "  {where_}: {} {}",
        check.name,
        paint.on(RED, verdict(check.outcome))
    );
    // A message may list one object a line (`state`): every line under the check's heading.
    for line in check.message.lines() {
        let _ = writeln!(out, "    {line}");
    }
    if let Some(diff) = &check.diff {
        for line in diff.lines() {
            let _ = writeln!(out, "      {}", paint.diff_line(line));
        }
    }
    exchanges_details(out, scenario, &check.exchanges);
}

fn exchanges_details(out: &mut String, scenario: &ScenarioReport, ids: &[u64]) {
    let exchanges: Vec<&Exchange> = ids
        .iter()
        .filter_map(|id| scenario.exchanges.iter().find(|x| x.id == *id))
        .collect();
    if exchanges.is_empty() {
        return;
    }
    out.push_str("    caused by:\n");
    for x in exchanges {
        let status = x.status.map_or("no response".to_owned(), |s| s.to_string());
        let _ = write!(out, "      #{} {} {} -> {status}", x.id, x.method, x.path);
        if let Some(fault) = &x.fault {
            let _ = write!(out, " [fault: {fault}]");
        }
        let _ = writeln!(out, " ({:.0} ms)", x.duration_ms);
        if let Some(error) = &x.error {
            let _ = writeln!(out, "        error: {error}");
        }
        if let Some(body) = &x.request_body {
            let content_type = x
                .request_headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
                .map(|(_, value)| format!(" ({value})"))
                .unwrap_or_default();
            let _ = writeln!(out, "        request{content_type}:");
            body_lines(out, &body.value());
        }
        if let Some(body) = &x.response_body {
            out.push_str("        response:\n");
            body_lines(out, &body.value());
        }
    }
}

/// The exchanges of an errored step worth showing: those without a good answer.
fn problem_exchanges(scenario: &ScenarioReport, step: &StepReport) -> Vec<u64> {
    step.exchanges
        .iter()
        .copied()
        .filter(|id| {
            scenario
                .exchanges
                .iter()
                .find(|x| x.id == *id)
                .is_some_and(|x| {
                    x.status.is_none_or(|s| s >= 400) || x.error.is_some() || x.fault.is_some()
                })
        })
        .collect()
}

fn body_lines(out: &mut String, body: &Value) {
    let text = match body {
        // A body that was not JSON is kept as text by the client.
        Value::String(raw) => raw.clone(),
        other => compact_json(other, 0),
    };
    let lines: Vec<&str> = text.lines().collect();
    for line in lines.iter().take(BODY_MAX_LINES) {
        let _ = writeln!(out, "          {}", cut(line));
    }
    if lines.len() > BODY_MAX_LINES {
        let _ = writeln!(
            out,
            "          ... ({} more lines in report.json)",
            lines.len() - BODY_MAX_LINES
        );
    }
}

fn cut(line: &str) -> String {
    match line.char_indices().nth(LINE_MAX_CHARS) {
        Some((at, _)) => format!("{}...", &line[..at]),
        None => line.to_owned(),
    }
}

/// Pretty JSON, but any array or object that fits in [`INLINE_WIDTH`] stays on one line: a
/// PATCH operation reads best as one line, and the body stays short.
fn compact_json(value: &Value, indent: usize) -> String {
    let inline = inline_json(value);
    if inline.len() + indent <= INLINE_WIDTH {
        return inline;
    }
    let pad = "  ".repeat(indent + 1);
    let close = "  ".repeat(indent);
    match value {
        Value::Array(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|v| format!("{pad}{}", compact_json(v, indent + 1)))
                .collect();
            format!("[\n{}\n{close}]", items.join(",\n"))
        }
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{pad}{}: {}",
                        Value::String(k.clone()),
                        compact_json(v, indent + 1)
                    )
                })
                .collect();
            format!("{{\n{}\n{close}}}", items.join(",\n"))
        }
        scalar => inline_json(scalar),
    }
}

/// One-line JSON with a space after `:` and `,`, for reading.
fn inline_json(value: &Value) -> String {
    match value {
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(inline_json).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), inline_json(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        scalar => scalar.to_string(),
    }
}

fn finding_details(out: &mut String, finding: &Finding, paint: Paint) {
    let severity = format!("{:?}", finding.severity).to_uppercase();
    let colour = match finding.severity {
        super::model::Severity::Must => RED,
        super::model::Severity::Info => CYAN,
        _ => YELLOW,
    };
    let inferred = if finding.inferred { " (inferred)" } else { "" };
    // One cause seen N times is one finding `×N`, with a few of its exchanges as examples.
    let times = if finding.count > 1 {
        format!(" ×{}", finding.count)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "    {} {}{inferred}{times}",
        paint.on(colour, &severity),
        finding.behaviour
    );
    for line in finding.message.lines() {
        let _ = writeln!(out, "      {line}");
    }
    let mut ids: Vec<String> = finding
        .exchange
        .into_iter()
        .chain(finding.examples.iter().copied())
        .map(|id| format!("#{id}"))
        .collect();
    if finding.count > ids.len() && !ids.is_empty() {
        ids.push("...".into());
    }
    let exchange = match ids.len() {
        0 => String::new(),
        1 => format!(", exchange {}", ids[0]),
        _ => format!(", exchanges {}", ids.join(", ")),
    };
    let _ = writeln!(
        out,
        "      step {}{exchange}; source: {}",
        finding.step, finding.source
    );
}

#[derive(Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn on(self, code: &str, text: &str) -> String {
        if self.0 {
            format!("{code}{text}{RESET}")
        } else {
            text.to_owned()
        }
    }

    /// Unified-diff colouring: removed red, added green, hunk headers cyan.
    fn diff_line(self, line: &str) -> String {
        let code = if line.starts_with("---") || line.starts_with("+++") {
            BOLD
        } else if line.starts_with('-') {
            RED
        } else if line.starts_with('+') {
            GREEN
        } else if line.starts_with("@@") {
            CYAN
        } else {
            return line.to_owned();
        };
        self.on(code, line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn table_totals_diff_and_the_failing_exchange() {
        let text = render_terminal(&sample::run_report(), false);
        assert!(
            text.contains(" scenario                   | IdP   | steps | requests | result\n"),
            "{text}"
        );
        assert!(
            text.contains(" entra-cisco-guide          | entra | 3/3   | 5        | passed\n"),
            "{text}"
        );
        assert!(
            text.contains(" entra-initial-cycle-failed | entra | 6/9   | 9        | FAILED\n"),
            "{text}"
        );
        assert!(
            text.contains("2 scenarios: 1 passed, 1 failed, 0 errors; 14 requests; 30.16 s"),
            "{text}"
        );
        assert!(text.contains(
            "FAILED entra-initial-cycle-failed (scenarios/entra/06-initial-cycle-failed.yaml)"
        ));
        assert!(text.contains(
            "  step 7 expect, line 19: state FAILED\n    state: Group IT-Admins-r3f9a1c differs"
        ));
        assert!(
            text.contains("      -    {\"display\": \"Test User\"}\n"),
            "{text}"
        );
        assert!(text.contains("      +  \"members\": []\n"), "{text}");
        assert!(text.contains("#8 PATCH /Groups/g-1 -> 204"), "{text}");
        assert!(
            text.contains("      #5 PATCH /Groups/g-1 -> no response [fault: drop-response] (30000 ms)\n        error: timed out"),
            "{text}"
        );
        assert!(
            text.contains(
                r#""Operations": [{"op": "Add", "path": "members", "value": [{"value": "u-1"}]}]"#
            ),
            "{text}"
        );
        assert!(
            !text.contains("entra-cisco-guide ("),
            "a passing scenario without findings has no details"
        );
    }

    #[test]
    fn a_step_the_harness_added_names_no_scenario_line() {
        let mut report = sample::run_report();
        let scenario = &mut report.scenarios[1];
        let mut cleanup = scenario.steps[0].clone();
        cleanup.index = scenario.steps.len();
        cleanup.line = 0;
        cleanup.kind = "cleanup".into();
        cleanup.outcome = Outcome::Error;
        cleanup.checks.clear();
        cleanup.error = Some("2 objects could not be deleted".into());
        scenario.steps.push(cleanup);
        let text = render_terminal(&report, false);
        assert!(
            text.contains(
                "cleanup (added by scimulator): ERROR\n    2 objects could not be deleted"
            ),
            "{text}"
        );
        assert!(!text.contains("line 0"), "{text}");
    }

    #[test]
    fn errored_step_findings_and_skipped_steps() {
        let text = render_terminal(&sample::run_report(), false);
        assert!(
            text.contains("  step 8 cycle incremental, line 20: ERROR\n    target unreachable"),
            "{text}"
        );
        assert!(
            text.contains(
                "      #9 GET /Groups/g-1 -> no response (3 ms)\n        error: connection refused"
            ),
            "{text}"
        );
        assert!(text.contains("  not run: step 9\n"), "{text}");
        assert!(
            text.contains("    MUST Entra ID: group membership PATCH (\"op\": \"Add\""),
            "{text}"
        );
        assert!(
            text.contains("      step 6, exchange #8; source: RFC 7644 §3.5.2.1\n"),
            "{text}"
        );
        assert!(text.contains(
            "a group PATCH whose response timed out is escrowed and retried whole (inferred)\n"
        ));
        assert!(
            text.contains("      step 3, exchange #5; source: https://learn.microsoft.com/"),
            "{text}"
        );
        // The dropped response was handled as Entra would (the step passed): not a failure.
        assert!(!text.contains("step 3 cycle initial"), "{text}");
    }

    #[test]
    fn no_headers_but_content_type_and_plain_ascii_without_colour() {
        let mut report = sample::run_report();
        let exchange = &mut report.scenarios[1].exchanges[7];
        let mut headers = exchange.request_headers.to_vec();
        headers.push(("X-Api-Key".to_owned(), "SECRET-TOKEN-123".to_owned()));
        exchange.request_headers = headers.into();
        let text = render_terminal(&report, false);
        assert!(!text.contains("SECRET-TOKEN-123"));
        assert!(!text.contains("Bearer") && !text.contains("Authorization"));
        assert!(text.contains("request (application/scim+json):"));
        assert!(!text.contains('\x1b'));
        // Everything but the data itself (`§` of a finding's source) is ASCII.
        assert!(
            text.chars().filter(|c| !c.is_ascii()).all(|c| c == '§'),
            "{text}"
        );
    }

    #[test]
    fn colour_marks_diff_lines_and_verdicts() {
        let text = render_terminal(&sample::run_report(), true);
        assert!(text.contains("\x1b[31m-  \"members\": [\x1b[0m"), "{text}");
        assert!(text.contains("\x1b[32m+  \"members\": []\x1b[0m"), "{text}");
        assert!(text.contains("\x1b[36m@@ -3,5 +3,3 @@\x1b[0m"), "{text}");
        assert!(
            text.contains("\x1b[1m\x1b[31mFAILED entra-initial-cycle-failed\x1b[0m"),
            "{text}"
        );
    }

    #[test]
    fn every_line_of_a_message_is_indented_under_its_check() {
        let mut report = sample::run_report();
        let check = report.scenarios[1]
            .steps
            .iter_mut()
            .flat_map(|s| s.checks.iter_mut())
            .find(|c| c.outcome == Outcome::Failed)
            .expect("a failed check in the sample");
        check.message = "the directory differs:\n  user \"a\": missing on the server".into();
        let text = render_terminal(&report, false);
        assert!(
            text.contains("    the directory differs:\n      user \"a\": missing on the server\n"),
            "{text}"
        );
    }

    #[test]
    fn long_bodies_are_cut() {
        let mut report = sample::run_report();
        let members: Vec<Value> = (0..100)
            .map(|i| serde_json::json!({"value": format!("user-{i:03}-with-a-long-id")}))
            .collect();
        report.scenarios[1].exchanges[7].request_body =
            Some(serde_json::json!({"Operations": [{"op": "Add", "value": members}]}).into());
        let text = render_terminal(&report, false);
        assert!(
            text.contains("... (69 more lines in report.json)"),
            "{text}"
        );
        assert!(!text.contains("user-099"));
    }

    #[test]
    fn compact_json_inlines_what_fits() {
        let value = serde_json::json!({"a": [1, 2], "b": {"c": "d"}});
        assert_eq!(compact_json(&value, 0), r#"{"a": [1, 2], "b": {"c": "d"}}"#);
        let long = serde_json::json!({"k": "x".repeat(100), "n": 1});
        assert_eq!(
            compact_json(&long, 0),
            format!("{{\n  \"k\": \"{}\",\n  \"n\": 1\n}}", "x".repeat(100))
        );
    }
}
