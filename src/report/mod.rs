//! Report writers, all folding the same [`model::RunReport`]: the terminal summary
//! ([`terminal::render_terminal`]), `report.json` ([`json::write_json`], with its JSON Schema
//! [`json::report_schema`]), `junit.xml` ([`junit::write_junit`]), `summary.md`
//! ([`markdown::write_markdown`]) and `index.html` ([`html::write_html`]). None of them
//! computes a verdict of its own: [`conclude`] puts the verdicts, with how much of each rests on
//! inferred IdP behaviour, into the model once, and every writer reads `verdicts` and the
//! `outcome` fields, so they cannot disagree.
//!
//! `scimulator run --report reports/` leaves:
//!
//! ```text
//! reports/report.json   the model, serialised (fixtures/report.schema.json)
//! reports/junit.xml     one <testsuite> per scenario, one <testcase> per step and per check
//! reports/summary.md    verdict table and failing behaviours, short enough for a CI job summary
//! reports/index.html    one self-contained page: verdicts, timelines, diffs, provisioning logs
//! ```

pub mod html;
pub mod json;
pub mod junit;
pub mod listing;
pub mod markdown;
pub mod model;
pub mod progress;
pub mod terminal;
pub mod verdicts;

use model::{RunReport, VerdictReport};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// Writes every file report into `dir` (created if missing): `report.json`, `junit.xml`,
/// `summary.md` and `index.html`; returns their paths.
pub fn write_all(report: &RunReport, dir: &Path) -> io::Result<Vec<PathBuf>> {
    Ok(vec![
        json::write_json(report, dir)?,
        junit::write_junit(report, dir)?,
        markdown::write_markdown(report, dir)?,
        html::write_html(report, dir)?,
    ])
}

/// Appends the Markdown summary to the file `$GITHUB_STEP_SUMMARY` names, when it is set (a
/// GitHub Actions job): the verdicts show on the run's page without opening an artifact.
/// Returns the file written to.
pub fn append_step_summary(report: &RunReport) -> io::Result<Option<PathBuf>> {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let path = PathBuf::from(path);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    file.write_all(markdown::render_markdown(report).as_bytes())?;
    Ok(Some(path))
}

/// The templates' whitespace rules: a block tag's own newline is dropped, and with `lstrip`
/// the indentation before it too.
pub(crate) fn template_syntax(lstrip: bool) -> minijinja::syntax::SyntaxConfig {
    minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(lstrip)
        .build()
        .unwrap_or_default()
}

/// Completes a report before any writer reads it: the verdicts (see [`verdicts`]), each with
/// the provenance of the IdP behaviours its scenarios exercised, then one verdict per
/// certification matrix.
pub fn conclude(report: &mut RunReport) {
    let mut out = Vec::new();
    for verdict in verdicts::verdicts(report) {
        // Distinct behaviours over the verdict's scenarios, as the ledger recorded them.
        let mut seen: Vec<(&str, bool)> = Vec::new();
        for b in report
            .scenarios
            .iter()
            .filter(|s| verdicts::idp_verdict(s).as_deref() == Some(verdict.name.as_str()))
            .flat_map(|s| &s.behaviours)
        {
            if !seen.iter().any(|(n, _)| *n == b.name) {
                seen.push((&b.name, b.inferred));
            }
        }
        let inferred = seen.iter().filter(|(_, i)| *i).count();
        // A failing behaviour that is inferred says so wherever the verdict is shown.
        let inferred_findings: Vec<&str> = report
            .scenarios
            .iter()
            .filter(|s| verdicts::idp_verdict(s).as_deref() == Some(verdict.name.as_str()))
            .flat_map(|s| &s.findings)
            .filter(|f| f.inferred)
            .map(|f| f.behaviour.as_str())
            .collect();
        let mut verdict = verdict;
        for line in &mut verdict.failing {
            if !line.contains("inferred") && inferred_findings.iter().any(|b| line.contains(b)) {
                line.push_str(" (inferred)");
            }
        }
        out.push(VerdictReport {
            inferred_note: inferred_note(inferred, seen.len(), "request shape"),
            behaviours: seen.len(),
            inferred,
            verdict,
        });
    }
    if let Some(cert) = &report.certification {
        for m in &cert.matrices {
            let cells: Vec<_> = m
                .rows
                .iter()
                .flat_map(|r| r.cells().map(|(op, c)| (r, op, c)))
                .collect();
            let count = |want: crate::certify::CellResult| {
                cells.iter().filter(|(_, _, c)| c.result == want).count()
            };
            let failing: Vec<String> = cells
                .iter()
                .filter(|(_, _, c)| c.result == crate::certify::CellResult::Fail)
                .map(|(r, op, c)| {
                    format!(
                        "FAIL {} {} {op}: {}",
                        r.resource,
                        r.attribute,
                        c.reason.as_deref().unwrap_or("failed")
                    )
                })
                .collect();
            let inferred = m.rows.iter().filter(|r| r.inferred).count();
            out.push(VerdictReport {
                verdict: verdicts::Verdict {
                    name: format!("certify {} with {}", cert.mapping, m.label),
                    passed: failing.is_empty(),
                    summary: format!(
                        "{} cells: {} pass, {} FAIL, {} n/a",
                        cells.len(),
                        count(crate::certify::CellResult::Pass),
                        failing.len(),
                        count(crate::certify::CellResult::NotApplicable)
                    ),
                    failing,
                },
                behaviours: m.rows.len(),
                inferred,
                inferred_note: inferred_note(inferred, m.rows.len(), "mapped attribute"),
            });
        }
    }
    report.verdicts = out;
}

/// `every request shape inferred`, `2 of 14 request shapes inferred`, or nothing.
fn inferred_note(inferred: usize, total: usize, what: &str) -> Option<String> {
    match (inferred, total) {
        (0, _) => None,
        (i, t) if i == t => Some(format!("every {what} inferred")),
        (i, t) => Some(format!("{i} of {t} {what}s inferred")),
    }
}

/// The verdict `scenario` counts towards: its IdP's, or the RFC's for an `idp: rfc` one.
pub fn verdict_of<'a>(
    report: &'a RunReport,
    scenario: &model::ScenarioReport,
) -> Option<&'a VerdictReport> {
    let name = verdicts::idp_verdict(scenario).unwrap_or_else(|| verdicts::RFC.to_owned());
    report.verdicts.iter().find(|v| v.verdict.name == name)
}

/// `PASS`, or `PASS — every request shape inferred`: how every writer words a verdict's result.
pub fn verdict_result(v: &VerdictReport) -> String {
    let word = if v.verdict.passed { "PASS" } else { "FAIL" };
    match &v.inferred_note {
        Some(note) => format!("{word} — {note}"),
        None => word.to_owned(),
    }
}

/// The terminal's verdict lines, from the model: [`verdicts::render`] with the inferred note
/// added to each summary.
pub fn render_verdicts(report: &RunReport, color: bool) -> String {
    let lines: Vec<verdicts::Verdict> = report
        .verdicts
        .iter()
        .map(|v| {
            let mut line = v.verdict.clone();
            if let Some(note) = &v.inferred_note {
                line.summary = format!("{}; {note}", line.summary);
            }
            line
        })
        .collect();
    verdicts::render(&lines, color)
}

/// How many example exchanges a grouped finding keeps besides its first.
pub const MAX_EXAMPLES: usize = 5;

/// A finding's message with what varies from object to object masked: ids in paths, quoted
/// values, numbers. Two findings with the same behaviour, source and normalised message have
/// the same cause.
///
/// `PATCH /Users/7f3a answered HTTP 400: "bad value \"Ana\""` and the same for user `9c01`
/// both become `PATCH /Users/_ answered HTTP # "…"`.
pub fn normalise_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars().peekable();
    let mut prev_slash_kind = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                // A quoted value, escapes included, stands for any value.
                let mut escaped = false;
                for d in chars.by_ref() {
                    match (escaped, d) {
                        (false, '\\') => escaped = true,
                        (false, '"') => break,
                        _ => escaped = false,
                    }
                }
                out.push_str("\"…\"");
            }
            // A status code is part of the cause: 400 and 409 are different answers.
            c if c.is_ascii_digit() && out.ends_with("HTTP ") => {
                out.push(c);
                while let Some(d) = chars.next_if(|d| d.is_ascii_digit()) {
                    out.push(d);
                }
            }
            c if c.is_ascii_digit() => {
                while chars
                    .next_if(|d| d.is_ascii_alphanumeric() || *d == '-')
                    .is_some()
                {}
                out.push('#');
            }
            '/' if prev_slash_kind => {
                // `/Users/<id>`: the id is whatever comes up to the next `/`, `?` or blank.
                out.push_str("/_");
                while chars
                    .peek()
                    .is_some_and(|d| !matches!(d, '/' | '?' | ' ' | ':' | ';' | ','))
                {
                    chars.next();
                }
            }
            c => out.push(c),
        }
        prev_slash_kind = out.ends_with("/Users") || out.ends_with("/Groups");
    }
    out
}

/// One finding per cause (severity, behaviour, source and normalised message): the first one
/// seen stands for the rest, `count` adds up, and the others' exchanges become `examples` (at
/// most [`MAX_EXAMPLES`]). Order is that of first appearance. One packaging bug seen on 200
/// exchanges is one finding `×200`, not 200 findings.
pub fn group_findings(findings: Vec<model::Finding>) -> Vec<model::Finding> {
    let mut out: Vec<model::Finding> = Vec::new();
    let mut keys: Vec<(String, String, String, String)> = Vec::new();
    for f in findings {
        let key = (
            format!("{:?}", f.severity),
            f.behaviour.clone(),
            f.source.clone(),
            normalise_message(&f.message),
        );
        match keys.iter().position(|k| *k == key) {
            Some(i) => {
                let g = &mut out[i];
                g.count += f.count.max(1);
                let more = f.exchange.into_iter().chain(f.examples);
                for x in more {
                    if g.examples.len() >= MAX_EXAMPLES {
                        break;
                    }
                    if Some(x) != g.exchange && !g.examples.contains(&x) {
                        g.examples.push(x);
                    }
                }
                g.inferred &= f.inferred;
            }
            None => {
                keys.push(key);
                let mut f = f;
                f.count = f.count.max(1);
                out.push(f);
            }
        }
    }
    out
}

/// A small but realistic run shared by the writers' tests: one passing scenario, one failing
/// with a state diff, a dropped response and an errored step.
#[cfg(test)]
pub(crate) mod sample {
    use super::model::*;
    use serde_json::json;

    fn exchange(
        id: u64,
        step: usize,
        method: &str,
        path: &str,
        request_body: Option<serde_json::Value>,
        status: Option<u16>,
        response_body: Option<serde_json::Value>,
    ) -> Exchange {
        let mut request_headers = vec![
            ("Authorization".to_owned(), "Bearer ***".to_owned()),
            ("Accept".to_owned(), "application/scim+json".to_owned()),
        ];
        if request_body.is_some() {
            request_headers.push((
                "Content-Type".to_owned(),
                "application/scim+json".to_owned(),
            ));
        }
        Exchange {
            id,
            step,
            method: method.to_owned().into(),
            path: path.to_owned(),
            request_headers: request_headers.into(),
            request_body: request_body.map(Into::into),
            status,
            response_body: response_body.map(Into::into),
            duration_ms: 3.2,
            error: None,
            fault: None,
            harness: false,
        }
    }

    fn check(name: &str, outcome: Outcome, message: &str) -> CheckReport {
        CheckReport {
            name: name.to_owned(),
            outcome,
            message: message.to_owned(),
            diff: None,
            patch: None,
            exchanges: vec![],
        }
    }

    fn step(
        index: usize,
        line: u32,
        kind: &str,
        outcome: Outcome,
        exchanges: Vec<u64>,
    ) -> StepReport {
        StepReport {
            index,
            line,
            kind: kind.to_owned(),
            outcome,
            duration_ms: 10 * index as u64,
            exchanges,
            checks: vec![],
            error: None,
        }
    }

    fn log(
        identity: &str,
        object_type: &str,
        action: &str,
        status: &str,
        exchanges: Vec<u64>,
    ) -> LogEntry {
        LogEntry {
            date: "2026-11-22T20:44:13Z".to_owned(),
            identity: identity.to_owned(),
            object_type: object_type.to_owned().into(),
            action: action.to_owned(),
            status: status.to_owned().into(),
            error_code: None,
            detail: None,
            modified_properties: Default::default(),
            exchanges,
        }
    }

    const USER: &str = "test.user-r3f9a1c@contoso.com";
    const USER_FILTER: &str = "/Users?filter=userName+eq+%22test.user-r3f9a1c%40contoso.com%22";
    const GROUP_FILTER: &str =
        "/Groups?excludedAttributes=members&filter=displayName+eq+%22IT-Admins-r3f9a1c%22";

    fn user_post() -> serde_json::Value {
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "externalId": "test-user",
               "userName": USER, "active": true, "displayName": "Test User",
               "name": {"givenName": "Test", "familyName": "User"}})
    }

    fn members_patch() -> serde_json::Value {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": "Add", "path": "members", "value": [{"value": "u-1"}]}]})
    }

    fn passing() -> ScenarioReport {
        let mut expect = step(3, 14, "expect", Outcome::Passed, vec![]);
        expect.checks = vec![
            check(
                "state",
                Outcome::Passed,
                "state: 1 user, 1 group as derived",
            ),
            check("log", Outcome::Passed, "log: 3 entries as expected"),
        ];
        ScenarioReport {
            name: "entra-cisco-guide".to_owned(),
            description: "First cycle of the Cisco Secure Access guide".to_owned(),
            file: "scenarios/entra/01-cisco-guide.yaml".to_owned(),
            idp: "entra".to_owned(),
            settings: json!({"dialect": "default", "mapping": "entra-default"}),
            outcome: Outcome::Passed,
            duration_ms: 41,
            steps: vec![
                step(1, 12, "assign", Outcome::Passed, vec![]),
                step(2, 13, "cycle initial", Outcome::Passed, vec![1, 2, 3, 4, 5]),
                expect,
            ],
            exchanges: vec![
                exchange(
                    1,
                    2,
                    "GET",
                    USER_FILTER,
                    None,
                    Some(200),
                    Some(json!({"totalResults": 0})),
                ),
                exchange(
                    2,
                    2,
                    "POST",
                    "/Users",
                    Some(user_post()),
                    Some(201),
                    Some(json!({"id": "u-1"})),
                ),
                exchange(
                    3,
                    2,
                    "GET",
                    GROUP_FILTER,
                    None,
                    Some(200),
                    Some(json!({"totalResults": 0})),
                ),
                exchange(
                    4,
                    2,
                    "POST",
                    "/Groups",
                    Some(json!({"displayName": "IT-Admins-r3f9a1c"})),
                    Some(201),
                    None,
                ),
                exchange(
                    5,
                    2,
                    "PATCH",
                    "/Groups/g-1",
                    Some(members_patch()),
                    Some(204),
                    None,
                ),
            ],
            provisioning_log: vec![
                log("Test User", "User", "Create", "Success", vec![1, 2]),
                log("IT-Admins", "Group", "Create", "Success", vec![3, 4]),
                log("IT-Admins", "Group", "Update", "Success", vec![5]),
            ],
            findings: vec![],
            behaviours: vec![
                behaviour(
                    "Entra ID: user lookup (GET /Users?filter=userName eq \"…\")",
                    false,
                    1,
                ),
                behaviour("Entra ID: create user (POST /Users)", false, 1),
                behaviour(
                    "Entra ID: update group (PATCH /Groups/{id}: Add members)",
                    false,
                    1,
                ),
            ],
            probe_groups: vec![],
        }
    }

    /// The support engineer's story against a server that empties a group when asked to add a
    /// member it already holds: the dropped PATCH was applied, the retry after Restart wipes it.
    fn failing() -> ScenarioReport {
        let mut dropped = exchange(
            5,
            3,
            "PATCH",
            "/Groups/g-1",
            Some(members_patch()),
            None,
            None,
        );
        dropped.fault = Some("drop-response".to_owned());
        dropped.error = Some("timed out after 30 s (the server applied the request)".to_owned());
        dropped.duration_ms = 30000.0;
        let mut refused = exchange(9, 8, "GET", "/Groups/g-1", None, None, None);
        refused.error = Some("connection refused (127.0.0.1:41235)".to_owned());

        let mut log_check = step(4, 15, "expect", Outcome::Passed, vec![]);
        log_check.checks = vec![check("log", Outcome::Passed, "log: 3 entries as expected")];
        let mut state_check = step(7, 19, "expect", Outcome::Failed, vec![]);
        state_check.checks = vec![CheckReport {
            diff: Some(
                "--- expected\n+++ actual\n@@ -3,5 +3,3 @@\n   \"displayName\": \"IT-Admins-r3f9a1c\",\n-  \"members\": [\n-    {\"display\": \"Test User\"}\n-  ]\n+  \"members\": []\n }\n"
                    .to_owned(),
            ),
            patch: Some(json!([{"op": "add", "path": "/Groups/IT-Admins-r3f9a1c/members/0",
                                "value": {"display": "Test User"}}])),
            exchanges: vec![5, 8],
            ..check("state", Outcome::Failed, "state: Group IT-Admins-r3f9a1c differs from derived (1 member missing)")
        }];
        let mut errored = step(8, 20, "cycle incremental", Outcome::Error, vec![9]);
        errored.error = Some("target unreachable: connection refused (127.0.0.1:41235)".to_owned());

        ScenarioReport {
            name: "entra-initial-cycle-failed".to_owned(),
            description: "The first group PATCH's response is dropped; Restart provisioning converges".to_owned(),
            file: "scenarios/entra/06-initial-cycle-failed.yaml".to_owned(),
            idp: "entra".to_owned(),
            settings: json!({"dialect": "default", "mapping": "entra-default"}),
            outcome: Outcome::Failed,
            duration_ms: 30120,
            steps: vec![
                step(1, 12, "assign", Outcome::Passed, vec![]),
                step(2, 13, "fault", Outcome::Passed, vec![]),
                step(3, 14, "cycle initial", Outcome::Passed, vec![1, 2, 3, 4, 5]),
                log_check,
                step(5, 17, "restart full", Outcome::Passed, vec![]),
                step(6, 18, "cycle initial", Outcome::Passed, vec![6, 7, 8]),
                state_check,
                errored,
                step(9, 21, "expect", Outcome::Skipped, vec![]),
            ],
            exchanges: vec![
                exchange(1, 3, "GET", USER_FILTER, None, Some(200), Some(json!({"totalResults": 0}))),
                exchange(2, 3, "POST", "/Users", Some(user_post()), Some(201), Some(json!({"id": "u-1"}))),
                exchange(3, 3, "GET", GROUP_FILTER, None, Some(200), Some(json!({"totalResults": 0}))),
                exchange(4, 3, "POST", "/Groups", Some(json!({"displayName": "IT-Admins-r3f9a1c"})), Some(201), None),
                dropped,
                exchange(6, 6, "GET", USER_FILTER, None, Some(200), Some(json!({"totalResults": 1}))),
                exchange(7, 6, "GET", GROUP_FILTER, None, Some(200), Some(json!({"totalResults": 1}))),
                exchange(8, 6, "PATCH", "/Groups/g-1", Some(members_patch()), Some(204), None),
                refused,
            ],
            provisioning_log: vec![
                log("Test User", "User", "Create", "Success", vec![1, 2]),
                log("IT-Admins", "Group", "Create", "Success", vec![3, 4]),
                LogEntry {
                    error_code: Some("SystemForCrossDomainIdentityManagementServiceIncompatible".to_owned()),
                    detail: Some("timed out; escrowed for the next cycle".to_owned()),
                    ..log("IT-Admins", "Group", "Update", "Failure", vec![5])
                },
                log("IT-Admins", "Group", "Update", "Success", vec![8]),
            ],
            behaviours: vec![
                behaviour("Entra ID: create user (POST /Users)", false, 1),
                behaviour("Entra ID: a group PATCH whose response timed out is escrowed and retried whole", true, 2),
            ],
            probe_groups: vec![],
            findings: vec![
                Finding {
                    severity: Severity::Must,
                    behaviour: "Entra ID: group membership PATCH (\"op\": \"Add\", \"path\": \"members\") re-sent after Restart provisioning".to_owned(),
                    source: "RFC 7644 §3.5.2.1".to_owned(),
                    inferred: false,
                    message: "adding a member the group already holds emptied the group (204, then members: [])".to_owned(),
                    exchange: Some(8),
                    step: 6,
                    count: 1,
                    examples: Vec::new(),
                },
                Finding {
                    severity: Severity::Should,
                    behaviour: "Entra ID: a group PATCH whose response timed out is escrowed and retried whole".to_owned(),
                    source: "https://learn.microsoft.com/en-us/entra/identity/app-provisioning/how-provisioning-works".to_owned(),
                    inferred: true,
                    message: "the server applied the PATCH whose response was dropped; the retry must be idempotent".to_owned(),
                    exchange: Some(5),
                    step: 3,
                    count: 1,
                    examples: Vec::new(),
                },
            ],
        }
    }

    fn behaviour(name: &str, inferred: bool, requests: usize) -> BehaviourUse {
        BehaviourUse {
            name: name.to_owned(),
            source: "https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups".to_owned(),
            inferred,
            requests,
        }
    }

    pub(crate) fn run_report() -> RunReport {
        let scenarios = vec![passing(), failing()];
        let requests = scenarios.iter().map(|s| s.exchanges.len()).sum();
        let mut report = RunReport {
            format_version: FORMAT_VERSION,
            tool: "scimulator 0.1.0".to_owned(),
            run_id: "r3f9a1c".to_owned(),
            target: TargetInfo {
                url: "http://127.0.0.1:41235/scim/v2".to_owned(),
                builtin: true,
            },
            started_at: "2026-11-22T20:44:13.655Z".to_owned(),
            duration_ms: 30161,
            scenarios,
            summary: Summary {
                scenarios: 2,
                passed: 1,
                failed: 1,
                errors: 0,
                requests,
            },
            verdicts: vec![],
            certification: None,
        };
        super::conclude(&mut report);
        report
    }
}

#[cfg(test)]
mod grouping_tests {
    use super::model::{Finding, Severity};
    use super::*;

    fn finding(message: String, exchange: u64, severity: Severity) -> Finding {
        Finding {
            severity,
            behaviour: "RFC 7643/7644: User response schema".into(),
            source: "RFC 7643 §4.1".into(),
            inferred: false,
            message,
            exchange: Some(exchange),
            step: 2,
            count: 1,
            examples: Vec::new(),
        }
    }

    /// One packaging bug on 200 exchanges is one finding ×200 with a few examples, not 200.
    #[test]
    fn one_cause_on_many_exchanges_is_one_finding_with_a_count() {
        let many: Vec<Finding> = (1..=200)
            .map(|i| {
                finding(
                    format!(
                        "GET /Users/{i:08x}-9c: \"x{i}\" at /active is not of type \"boolean\""
                    ),
                    i,
                    Severity::Must,
                )
            })
            .collect();
        let grouped = group_findings(many);
        assert_eq!(grouped.len(), 1, "{grouped:#?}");
        assert_eq!(grouped[0].count, 200);
        assert_eq!(grouped[0].exchange, Some(1));
        assert_eq!(grouped[0].examples, [2, 3, 4, 5, 6]);
    }

    #[test]
    fn different_answers_and_severities_stay_apart() {
        let grouped = group_findings(vec![
            finding(
                "PATCH /Users/a1 answered HTTP 400: no".into(),
                1,
                Severity::Must,
            ),
            finding(
                "PATCH /Users/b2 answered HTTP 409: no".into(),
                2,
                Severity::Must,
            ),
            finding(
                "PATCH /Users/c3 answered HTTP 400: no".into(),
                3,
                Severity::Must,
            ),
            finding(
                "PATCH /Users/d4 answered HTTP 400: no".into(),
                4,
                Severity::Info,
            ),
        ]);
        let counts: Vec<(usize, Severity)> =
            grouped.iter().map(|f| (f.count, f.severity)).collect();
        assert_eq!(
            counts,
            [
                (2, Severity::Must),
                (1, Severity::Must),
                (1, Severity::Info)
            ]
        );
        assert_eq!(
            normalise_message("PATCH /Users/c3 answered HTTP 400: \"Ana\" 12"),
            "PATCH /Users/_ answered HTTP 400: \"…\" #"
        );
    }
}
