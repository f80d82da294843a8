//! `index.html`: one self-contained page a support engineer attaches to a ticket or a vendor
//! hands over as evidence. Inline CSS, no script, no network. From top to bottom: the verdict
//! banner and the verdicts (with what is inferred), the certification matrices as coloured
//! tables, then per scenario its steps, every failing expectation with its unified diff and the
//! exchanges that caused it (request and response bodies), the findings, the provisioning log as
//! the IdP shows it, and the request timeline (method, path, status, time, fault and harness
//! marks).
//!
//! Rendered from `templates/index.html` with minijinja, HTML auto-escaping on: nothing from the
//! server can inject markup. Bounded: each body is cut at [`MAX_BODY`] bytes, each diff at
//! [`MAX_DIFF_LINES`] lines, each timeline and log at [`MAX_ROWS`] rows (the rest counted), so a
//! 10,000-user run still gives a page a browser opens.
//!
//! ```text
//! reports/index.html   ~40 KB for the bundled scenarios; verdicts first
//! ```

use super::model::{CheckReport, Exchange, LoggedBody, Outcome, RunReport, ScenarioReport};
use minijinja::Environment;
use serde::Serialize;
use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

const TEMPLATE: &str = include_str!("templates/index.html");
/// Bytes of one request or response body shown.
pub const MAX_BODY: usize = 4096;
/// Lines of one diff shown.
pub const MAX_DIFF_LINES: usize = 400;
/// Rows of one scenario's timeline or provisioning log shown.
pub const MAX_ROWS: usize = 1000;
/// Exchanges whose bodies the timeline shows besides those a failure cites.
const MAX_TIMELINE_BODIES: usize = 200;
/// Characters of a path shown in the timeline.
const MAX_PATH: usize = 200;

#[derive(Serialize)]
struct Page<'a> {
    report: &'a RunReport,
    passed: bool,
    headline: String,
    seconds: String,
    scenarios: Vec<ScenarioView<'a>>,
}

#[derive(Serialize)]
struct ScenarioView<'a> {
    s: &'a ScenarioReport,
    /// `failed`, `passed`, ...: the CSS class of its outcome.
    outcome: &'static str,
    settings: String,
    failures: Vec<FailureView<'a>>,
    timeline: Vec<ExchangeView<'a>>,
    timeline_more: usize,
    log_more: usize,
    inferred_behaviours: usize,
}

/// A failing expectation: the check, its diff line by line, the exchanges that explain it.
#[derive(Serialize)]
struct FailureView<'a> {
    step: usize,
    line: u32,
    kind: &'a str,
    check: Option<&'a CheckReport>,
    /// The step's own error, when it errored without a check.
    error: Option<&'a str>,
    diff: Vec<DiffLine>,
    diff_more: usize,
    causes: Vec<ExchangeView<'a>>,
}

#[derive(Serialize)]
struct DiffLine {
    class: &'static str,
    text: String,
}

#[derive(Serialize)]
struct ExchangeView<'a> {
    x: &'a Exchange,
    path: String,
    status_class: &'static str,
    /// Sent by the harness itself (read-back, clean-up), not by the simulated IdP.
    harness: bool,
    cited: bool,
    request: Option<String>,
    response: Option<String>,
}

fn outcome_class(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => "passed",
        Outcome::Failed => "failed",
        Outcome::Error => "error",
        Outcome::Skipped => "skipped",
    }
}

/// Pretty JSON, cut at `MAX_BODY` bytes on a character boundary.
fn body(v: Option<&LoggedBody>) -> Option<String> {
    let text = serde_json::to_string_pretty(&v?.value()).ok()?;
    Some(cut(text, MAX_BODY))
}

fn cut(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let total = text.len();
    let mut at = max;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    text.truncate(at);
    text.push_str(&format!("\n… cut: {total} bytes in all, see report.json"));
    text
}

fn exchange_view<'a>(x: &'a Exchange, cited: bool, bodies: bool) -> ExchangeView<'a> {
    // `harness` is a later field of the model; read it through serde so that this page marks
    // harness traffic whether or not the model carries it.
    let harness = serde_json::to_value(x)
        .ok()
        .and_then(|v| v.get("harness").and_then(|h| h.as_bool()))
        .unwrap_or(false);
    let status_class = match (x.status, &x.fault) {
        (_, Some(_)) => "fault",
        (None, None) => "none",
        (Some(s), None) if s >= 500 => "s5",
        (Some(s), None) if s >= 400 => "s4",
        _ => "s2",
    };
    let path = if x.path.chars().count() > MAX_PATH {
        format!("{}…", x.path.chars().take(MAX_PATH).collect::<String>())
    } else {
        x.path.clone()
    };
    ExchangeView {
        x,
        path,
        status_class,
        harness,
        cited,
        request: bodies.then(|| body(x.request_body.as_ref())).flatten(),
        response: bodies.then(|| body(x.response_body.as_ref())).flatten(),
    }
}

fn diff_lines(diff: Option<&str>) -> (Vec<DiffLine>, usize) {
    let Some(diff) = diff else {
        return (Vec::new(), 0);
    };
    let all: Vec<&str> = diff.lines().collect();
    let shown = all
        .iter()
        .take(MAX_DIFF_LINES)
        .map(|l| DiffLine {
            class: if l.starts_with("+++") || l.starts_with("---") {
                "hd"
            } else if l.starts_with("@@") {
                "hunk"
            } else if l.starts_with('+') {
                "add"
            } else if l.starts_with('-') {
                "del"
            } else {
                "ctx"
            },
            text: cut(l.to_string(), 2000),
        })
        .collect();
    (shown, all.len().saturating_sub(MAX_DIFF_LINES))
}

fn scenario_view(s: &ScenarioReport) -> ScenarioView<'_> {
    let find = |id: u64| s.exchanges.iter().find(|x| x.id == id);
    let mut cited: BTreeSet<u64> = BTreeSet::new();
    let mut failures = Vec::new();
    for st in &s.steps {
        let bad_checks: Vec<&CheckReport> = st
            .checks
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Failed | Outcome::Error))
            .collect();
        if bad_checks.is_empty() && matches!(st.outcome, Outcome::Failed | Outcome::Error) {
            // An errored step: the exchanges without a good answer explain it.
            let causes: Vec<ExchangeView> = st
                .exchanges
                .iter()
                .filter_map(|id| find(*id))
                .filter(|x| {
                    x.status.is_none_or(|c| c >= 400) || x.error.is_some() || x.fault.is_some()
                })
                .take(20)
                .map(|x| exchange_view(x, true, true))
                .collect();
            cited.extend(causes.iter().map(|c| c.x.id));
            failures.push(FailureView {
                step: st.index,
                line: st.line,
                kind: &st.kind,
                check: None,
                error: Some(st.error.as_deref().unwrap_or("the step failed")),
                diff: Vec::new(),
                diff_more: 0,
                causes,
            });
        }
        for c in bad_checks {
            let (diff, diff_more) = diff_lines(c.diff.as_deref());
            let causes: Vec<ExchangeView> = c
                .exchanges
                .iter()
                .filter_map(|id| find(*id))
                .take(20)
                .map(|x| exchange_view(x, true, true))
                .collect();
            cited.extend(c.exchanges.iter().copied());
            failures.push(FailureView {
                step: st.index,
                line: st.line,
                kind: &st.kind,
                check: Some(c),
                error: None,
                diff,
                diff_more,
                causes,
            });
        }
    }
    cited.extend(s.findings.iter().filter_map(|f| f.exchange));
    let timeline = s
        .exchanges
        .iter()
        .take(MAX_ROWS)
        .enumerate()
        .map(|(i, x)| {
            let is_cited = cited.contains(&x.id);
            exchange_view(x, is_cited, is_cited || i < MAX_TIMELINE_BODIES)
        })
        .collect();
    ScenarioView {
        s,
        outcome: outcome_class(s.outcome),
        settings: if s.settings.is_null() {
            String::new()
        } else {
            s.settings.to_string()
        },
        failures,
        timeline,
        timeline_more: s.exchanges.len().saturating_sub(MAX_ROWS),
        log_more: s.provisioning_log.len().saturating_sub(MAX_ROWS),
        inferred_behaviours: s.behaviours.iter().filter(|b| b.inferred).count(),
    }
}

/// The page for `report`.
pub fn render_html(report: &RunReport) -> Result<String, minijinja::Error> {
    let (passed, headline) = super::markdown::headline(report);
    let page = Page {
        report,
        passed,
        headline,
        seconds: format!("{:.2}", report.duration_ms as f64 / 1000.0),
        scenarios: report.scenarios.iter().map(scenario_view).collect(),
    };
    let mut env = Environment::new();
    env.set_syntax(super::template_syntax(true));
    // The name's extension turns HTML auto-escaping on.
    env.add_template("index.html", TEMPLATE)?;
    env.get_template("index.html")?.render(minijinja::context! {
        page => minijinja::Value::from(minijinja::value::Serde(&page)),
        max_rows => MAX_ROWS,
    })
}

/// Writes `dir/index.html` (`dir` created if missing) and returns its path.
pub fn write_html(report: &RunReport, dir: &Path) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let path = dir.join("index.html");
    let text = render_html(report).map_err(io::Error::other)?;
    fs::write(&path, text)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn the_page_has_verdicts_diff_and_causes_and_escapes_everything() {
        let mut report = sample::run_report();
        report.scenarios[1].exchanges[7].response_body =
            Some(serde_json::json!({"detail": "<script>alert(1)</script>"}).into());
        let html = render_html(&report).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..100]);
        assert!(!html.contains("<script>alert"), "unescaped server text");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;"), "{html}");
        // No network: no external stylesheet, script or image.
        assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
        assert!(!html.contains("<script"), "the page needs no script");
        let banner = html.find("class=\"banner fail\"").expect("a FAIL banner");
        let verdicts = html.find("works with Entra ID (default)").unwrap();
        let diff = html.find("IT-Admins-r3f9a1c").unwrap();
        assert!(banner < verdicts && verdicts < diff, "verdicts on top");
        assert!(
            html.contains("FAIL</span> — <span class=\"pill inferred\""),
            "{html}"
        );
        assert!(html.contains("1 of 4 request shapes inferred"));
        assert!(html.contains("<span class=\"del\">-  &quot;members&quot;: ["));
        assert!(html.contains("drop-response"));
        assert!(html.contains("inferred"));
    }

    #[test]
    fn huge_bodies_and_timelines_are_bounded() {
        let mut report = sample::run_report();
        let s = &mut report.scenarios[1];
        let template = s.exchanges[1].clone();
        s.exchanges[1].response_body =
            Some(serde_json::json!({"blob": "x".repeat(1_000_000)}).into());
        for i in 0..3000 {
            let mut x = template.clone();
            x.id = 100 + i;
            s.exchanges.push(x);
        }
        let html = render_html(&report).unwrap();
        assert!(html.len() < 3_000_000, "{} bytes", html.len());
        assert!(html.contains("cut: 1000"), "the cut is said");
        assert!(html.contains("2009 more exchanges"), "the rest is counted");
    }
}
