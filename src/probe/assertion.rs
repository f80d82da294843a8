//! What the RFC probes and Okta's SPEC test share: one assertion's result ([`Verdict`]), a
//! value as a message shows it ([`shown`]), and the check a probe becomes ([`check`]). An
//! assertion, as the terminal shows it under its check:
//!
//! ```text
//! FAIL the home email is gone, the work email kept (RFC 7644 §3.5.2.2, MUST): got emails []
//! ```

use crate::report::model::{CheckReport, Outcome};
use serde_json::Value;

/// A check with no diff: a probe's or a SPEC step's outcome and its assertions' lines.
pub(crate) fn check(
    name: String,
    outcome: Outcome,
    message: String,
    exchanges: Vec<u64>,
) -> CheckReport {
    CheckReport {
        name,
        outcome,
        message,
        diff: None,
        patch: None,
        exchanges,
    }
}

/// One assertion's result.
#[derive(Debug, Clone)]
pub(crate) struct Verdict {
    pub(crate) label: String,
    pub(crate) passed: bool,
    /// What was expected and what came back, one phrase.
    pub(crate) detail: String,
}

impl Verdict {
    pub(crate) fn line(&self) -> String {
        format!(
            "{} {}: {}",
            if self.passed { "ok  " } else { "FAIL" },
            self.label,
            self.detail
        )
    }
}

/// A value as a message shows it: JSON, cut at 120 characters.
pub(crate) fn shown(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        format!("{}…", s.chars().take(120).collect::<String>())
    } else {
        s
    }
}
