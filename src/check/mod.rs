//! Expectations: the target's state (derived, read back, diffed), the provisioning log, the request trace.

pub mod diff;
pub mod expected;
pub mod read_back;
pub mod state;

use crate::report::model::{Exchange, LogEntry};
use crate::scenario::model::LogExpectation;
use crate::scim::pattern::RequestPattern;

/// Compares expected log lines with the entries written; `Err` carries a readable diff.
pub fn check_log(expected: &[LogExpectation], actual: &[LogEntry]) -> Result<(), String> {
    let line = |identity: &str, action: &str, status: &str, error: Option<&str>| match error {
        Some(e) => format!("{identity} | {action} | {status} | {e}"),
        None => format!("{identity} | {action} | {status}"),
    };
    let ok = expected.len() == actual.len()
        && expected.iter().zip(actual).all(|(e, a)| {
            e.identity == a.identity
                && e.action.eq_ignore_ascii_case(&a.action)
                && e.status
                    .as_deref()
                    .unwrap_or("Success")
                    .eq_ignore_ascii_case(&a.status)
                && e.error
                    .as_deref()
                    .is_none_or(|x| a.error_code.as_deref() == Some(x))
        });
    if ok {
        return Ok(());
    }
    let exp: Vec<String> = expected
        .iter()
        .map(|e| {
            line(
                &e.identity,
                &e.action,
                e.status.as_deref().unwrap_or("Success"),
                e.error.as_deref(),
            )
        })
        .collect();
    let act: Vec<String> = actual
        .iter()
        .zip(expected.iter().map(Some).chain(std::iter::repeat(None)))
        .map(|(a, e)| {
            line(
                &a.identity,
                &a.action,
                &a.status,
                e.and_then(|e| e.error.as_ref())
                    .and(a.error_code.as_deref()),
            )
        })
        .collect();
    Err(unified(&exp, &act))
}

/// Matches `METHOD /path` patterns (glob `*`) with the exchanges sent; a pattern with `?`
/// compares the query string too.
pub fn check_trace(patterns: &[RequestPattern], exchanges: &[Exchange]) -> Result<(), String> {
    let matches = |p: &RequestPattern, e: &Exchange| {
        let actual = if p.has_query() {
            e.path.as_str()
        } else {
            e.path.split('?').next().unwrap_or("")
        };
        p.matches(&e.method, actual)
    };
    if patterns.len() == exchanges.len()
        && patterns.iter().zip(exchanges).all(|(p, e)| matches(p, e))
    {
        return Ok(());
    }
    let exp: Vec<String> = patterns.iter().map(|p| p.as_str().to_owned()).collect();
    let act: Vec<String> = exchanges
        .iter()
        .zip(patterns.iter().map(Some).chain(std::iter::repeat(None)))
        .map(|(e, p)| match p {
            Some(p) if matches(p, e) => p.as_str().to_owned(),
            _ => format!("{} {}", e.method, e.path),
        })
        .collect();
    Err(unified(&exp, &act))
}

fn unified(expected: &[String], actual: &[String]) -> String {
    let lines = |l: &[String]| l.iter().map(|x| format!("{x}\n")).collect::<String>();
    let (e, a) = (lines(expected), lines(actual));
    let mut out = similar::TextDiff::from_lines(&e, &a)
        .unified_diff()
        .context_radius(20)
        .header("expected", "actual")
        .to_string();
    if actual.is_empty() {
        out.push_str("(the IdP wrote no entries)\n");
    }
    out
}
