//! `settings:` checked when the file is loaded, by the IdP profile's own settings parser
//! ([`crate::idp::registry::profile`], which adds an alias's setting first), with its complaint mapped to the position of the key or
//! value it is about and a hint (the nearest valid name, the allowed values):
//!
//! ```text
//! scenarios/entra/x.yaml:3:23: settings: `nope` is not a valid `dialect`
//!   hint: allowed values: default, aadOptscim062020; Entra settings are dialect (default | ...
//! ```
//!
//! The profile stays the one place that knows its settings; this module only locates.

use super::super::diagnostics::{nearest, DiagnosticKind, Position};
use super::super::model::Scenario;
use super::tree::{Kind, Node};
use super::validate::Problem;
use crate::idp::registry;
use serde_json::{Map, Value};

/// The problem with `settings`, if the profile refuses them.
pub(super) fn check(scenario: &Scenario, tree: &Node) -> Option<Problem> {
    // An unknown IdP is reported by the header check, with its own hint.
    registry::find(&scenario.idp)?;
    let err = crate::idp::Profile::new(&scenario.idp, &scenario.settings).err()?;
    let settings_key = tree.key("settings");
    let node = tree.get("settings");
    let here = settings_key.map_or(Position::START, |k| k.pos);
    // The profile's message: the parser's complaint, then `; <IdP> settings are ...`.
    let (complaint, listing) = match err.split_once("; ") {
        Some((c, l)) => (c.to_string(), l.to_string()),
        None => (err.clone(), listing(&scenario.idp)),
    };
    let expected = backticked(complaint.split_once("expected").map_or("", |(_, e)| e));
    let quoted = backticked(
        complaint
            .split_once(", expected")
            .map_or(&complaint, |(h, _)| h),
    );
    let with_listing = |hint: String| match (hint.is_empty(), listing.is_empty()) {
        (_, true) => hint,
        (true, false) => listing.clone(),
        (false, false) if hint.ends_with('?') => format!("{hint} {listing}"),
        (false, false) => format!("{hint}; {listing}"),
    };
    let Some(node) = node else {
        return Some(problem(
            here,
            DiagnosticKind::UnknownValue,
            complaint,
            listing,
        ));
    };

    if let Some(name) = complaint
        .strip_prefix("unknown field `")
        .and_then(|r| r.split('`').next())
    {
        let pos = find_key(node, name).unwrap_or(here);
        // Every IdP's own settings, and the one they all take (read before them).
        let candidates: Vec<&str> = expected
            .iter()
            .map(String::as_str)
            .chain([crate::idp::registry::IN_FLIGHT])
            .collect();
        let hint = match nearest(name, &candidates) {
            Some(best) => format!("did you mean `{best}`?"),
            None => String::new(),
        };
        return Some(problem(
            pos,
            DiagnosticKind::UnknownKey,
            format!(
                "settings: unknown setting `{name}` for idp `{}`",
                scenario.idp
            ),
            with_listing(hint),
        ));
    }

    // Which setting it is about: the first whose removal changes the complaint.
    let culprit = culprit(scenario, &err);
    let value_node = culprit.as_deref().and_then(|k| node.get(k));
    // A quoted value (`unknown variant `nope``, `invalid type: string "maybe"`) is pointed at
    // where it is written.
    let value = quoted.first().cloned().or_else(|| {
        complaint
            .split_once("string \"")
            .and_then(|(_, r)| r.split('"').next())
            .map(str::to_string)
    });
    let pos = value
        .as_deref()
        .and_then(|v| value_node.and_then(|n| find_scalar(n, v)))
        .or(value_node.map(|n| n.pos))
        .or_else(|| culprit.as_deref().and_then(|k| node.key(k)).map(|k| k.pos))
        .unwrap_or(here);
    let allowed: Vec<&str> = expected.iter().map(String::as_str).collect();
    let hint = if complaint.starts_with("unknown variant") && !allowed.is_empty() {
        let near = value
            .as_deref()
            .and_then(|v| nearest(v, &allowed))
            .map(|b| format!("did you mean `{b}`? "))
            .unwrap_or_default();
        format!("{near}allowed values: {}", allowed.join(", "))
    } else {
        String::new()
    };
    let message = match (&culprit, &value) {
        (Some(k), Some(v)) if complaint.starts_with("unknown variant") => {
            format!("settings: `{v}` is not a valid `{k}`")
        }
        (Some(k), _) => format!("settings: `{k}`: {complaint}"),
        (None, _) => format!("settings: {complaint}"),
    };
    Some(problem(
        pos,
        DiagnosticKind::UnknownValue,
        message,
        with_listing(hint),
    ))
}

/// What the profile says its settings are (`Entra settings are dialect (default | ...), ...`),
/// asked by handing it a setting no profile has; for `rfc`, which takes none, how to fix it.
fn listing(idp: &str) -> String {
    let mut probe = Map::new();
    probe.insert("\u{0}".into(), Value::Null);
    match crate::idp::Profile::new(idp, &probe) {
        Err(e) => match e.split_once("; ") {
            Some((_, l)) => l.to_string(),
            None => format!("remove `settings:`; {e}"),
        },
        Ok(_) => String::new(),
    }
}

fn problem(position: Position, kind: DiagnosticKind, message: String, hint: String) -> Problem {
    Problem {
        position,
        kind,
        message,
        hint,
    }
}

/// The top-level setting without which the profile's complaint changes (or goes away).
fn culprit(scenario: &Scenario, err: &str) -> Option<String> {
    scenario.settings.keys().find_map(|k| {
        let mut fewer: Map<String, Value> = scenario.settings.clone();
        fewer.remove(k);
        match crate::idp::Profile::new(&scenario.idp, &fewer) {
            Err(e) if e == err => None,
            _ => Some(k.clone()),
        }
    })
}

/// The words between backticks: `` unknown variant `x`, expected `a` or `b` `` → x, a, b.
fn backticked(s: &str) -> Vec<String> {
    s.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// Position of the first mapping key `name` at or under `node`.
fn find_key(node: &Node, name: &str) -> Option<Position> {
    match &node.kind {
        Kind::Map(entries) => entries.iter().find_map(|(k, v)| {
            if k.as_str() == Some(name) {
                Some(k.pos)
            } else {
                find_key(v, name)
            }
        }),
        Kind::Seq(items) => items.iter().find_map(|i| find_key(i, name)),
        _ => None,
    }
}

/// Position of the first scalar written as `text` at or under `node`.
fn find_scalar(node: &Node, text: &str) -> Option<Position> {
    match &node.kind {
        Kind::Map(entries) => entries.iter().find_map(|(_, v)| find_scalar(v, text)),
        Kind::Seq(items) => items.iter().find_map(|i| find_scalar(i, text)),
        Kind::Str(s) if s == text => Some(node.pos),
        Kind::Bool(b) if b.to_string() == text => Some(node.pos),
        Kind::Int(i) if i.to_string() == text => Some(node.pos),
        _ => None,
    }
}
