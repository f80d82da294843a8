//! Okta's "SCIM 2.0 SPEC Test", replayed from Okta's own Runscope (BlazeMeter API Monitoring)
//! export, `fixtures/peer-specs/okta-scim20-spec-test.json`, published at
//! <https://developer.okta.com/standards/SCIM/SCIMFiles/Okta-SCIM-20-SPEC-Test.json>: the same
//! 12 requests with the export's methods, URLs, headers and bodies, none of its 11 pauses (60 s
//! in all), its assertions evaluated as Runscope reads them, and strict assertions added where
//! the export's are weak. Each request step becomes one check. A step of the export:
//!
//! ```json
//! {"step_type": "request", "note": "Required Test: Username Case Sensitivity Check",
//!  "headers": {"Accept": ["application/scim+json"], "Authorization": ["{{auth}}"], ...},
//!  "method": "GET", "url": "{{SCIMBaseURL}}/Users?filter=userName eq \"{{randomUsernameCaps}}\"",
//!  "assertions": [{"comparison": "equal_number", "source": "response_status", "value": "200"}]}
//! ```
//!
//! and the check it becomes:
//!
//! ```text
//! spec 09 GET /Users?filter=userName eq "<randomUsernameCaps>" FAILED
//!   Required Test: Username Case Sensitivity Check: 1 of 2 assertions failed
//!   ok   status equal_number "200": got 200
//!   FAIL strict: the upper-cased userName finds the user created in the POST step (userName
//!        is caseExact false, ...): expected totalResults 1 and Resources[0].id "128085ad-…";
//!        got totalResults 0, ids []
//! ```
//!
//! The initial variables Okta's "Initial Script" sets are generated per run and carry the
//! scenario's tag; `{{SCIMBaseURL}}` is the client's base URL and `{{auth}}` its bearer token,
//! so an `Authorization: {{auth}}` header is left to the client. A step that sends another
//! `Authorization` value (the 401 step's `non-token`) goes out without the token.

use crate::client::{Client, Request, Response};
use crate::probe::assertion::{check, shown, Verdict};
use crate::report::model::{CheckReport, Outcome};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Where the export is published.
pub const SOURCE: &str =
    "https://developer.okta.com/standards/SCIM/SCIMFiles/Okta-SCIM-20-SPEC-Test.json";

/// The export, verbatim.
const EXPORT: &str = include_str!("../../fixtures/peer-specs/okta-scim20-spec-test.json");

const LIST_URN: &str = crate::scim::schema::LIST_URN;
const ERROR_URN: &str = crate::scim::error::ERROR_URN;
const USER_URN: &str = crate::scim::schema::USER_URN;

/// One Runscope test export (only what the SPEC test uses).
#[derive(Debug, Clone, Deserialize)]
pub struct Export {
    pub name: String,
    pub steps: Vec<ExportStep>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ExportStep {
    /// `request` or `pause`.
    pub step_type: String,
    #[serde(default)]
    pub skipped: bool,
    /// Seconds, for a pause.
    #[serde(default)]
    pub duration: Option<f64>,
    #[serde(default)]
    pub note: String,
    /// Header name → values, in the export's order.
    #[serde(default)]
    pub headers: Map<String, Value>,
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub assertions: Vec<Assertion>,
    #[serde(default)]
    pub variables: Vec<Extraction>,
    /// Post-response JavaScript; the only non-empty one is replaced by a native, strict check.
    #[serde(default)]
    pub scripts: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Assertion {
    /// `equal_number`, `equal`, `not_empty`, `has_value`, `contains`, `is_a_number`,
    /// `is_less_than`.
    pub comparison: String,
    /// `response_status`, `response_json`, `response_time`.
    pub source: String,
    #[serde(default)]
    pub value: Option<Value>,
    /// JavaScript-style path into the JSON body: `Resources[0].name.familyName`; empty is the
    /// whole body.
    #[serde(default)]
    pub property: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Extraction {
    pub source: String,
    pub name: String,
    #[serde(default)]
    pub property: Option<String>,
}

/// The embedded export, parsed.
pub fn export() -> Export {
    // The file is compiled in and a unit test parses it: it cannot fail at run time.
    serde_json::from_str(EXPORT).unwrap_or_else(|e| panic!("embedded SPEC export: {e}"))
}

/// What the suite did: one check per request step, and the users its POSTs created (the seed
/// user, the suite's own, and a duplicate a server wrongly accepted), for clean-up.
#[derive(Debug, Clone)]
pub struct SpecRun {
    pub checks: Vec<CheckReport>,
    pub created_users: Vec<String>,
}

/// The variables Okta's "Initial Script" sets, generated for one run and carrying `tag`
/// (Okta's own examples: `Runscope300`, `Hfluaklab151`, `Runscope300Hfluaklab151@example.com`).
pub fn initial_variables(tag: &str) -> BTreeMap<String, String> {
    let user = format!("runscope.spec.{tag}@example.com");
    BTreeMap::from([
        (
            "InvalidUserEmail".into(),
            format!("invalid.{tag}@example.com"),
        ),
        (
            "UserIdThatDoesNotExist".into(),
            format!("010101001010101011001010101011-{tag}"),
        ),
        ("randomEmail".into(), user.clone()),
        ("randomUsernameCaps".into(), user.to_uppercase()),
        ("randomUsername".into(), user),
        ("randomGivenName".into(), format!("Runscope-{tag}")),
        ("randomFamilyName".into(), format!("Spec-{tag}")),
    ])
}

/// Runs every request step of the export in order, through `client` (which also records the
/// exchanges), with variables scoped by `tag`. Pauses are skipped.
pub async fn run(client: &mut Client, tag: &str) -> SpecRun {
    let export = export();
    let mut vars = initial_variables(tag);
    let mut out = SpecRun {
        checks: Vec::new(),
        created_users: Vec::new(),
    };
    let requests: Vec<&ExportStep> = export
        .steps
        .iter()
        .filter(|s| s.step_type != "pause")
        .collect();
    let mut stopped: Option<String> = None;
    // Which step of the export sets each variable: a step that needs a variable its setter did
    // not set is not sent (it would send `/Users/{{ISVUserid}}` literally) but "not run".
    let mut setters: BTreeMap<String, usize> = BTreeMap::new();
    for (i, step) in requests.iter().enumerate() {
        let number = i + 1;
        let name = check_name(number, step);
        if let Some(why) = &stopped {
            out.checks
                .push(check(name, Outcome::Skipped, why.clone(), vec![]));
            continue;
        }
        let missing: Vec<(&String, usize)> = setters
            .iter()
            .filter(|(v, _)| !vars.contains_key(*v) && uses_variable(step, v))
            .map(|(v, n)| (v, *n))
            .collect();
        if let Some((var, by)) = missing.first() {
            out.checks.push(check(
                name,
                Outcome::Skipped,
                format!(
                    "not run: needs spec {by:02}, which did not set `{var}` (its answer lacked it)"
                ),
                vec![],
            ));
            continue;
        }
        for x in &step.variables {
            setters.entry(x.name.clone()).or_insert(number);
        }
        if step.step_type != "request" {
            out.checks.push(check(
                name,
                Outcome::Error,
                format!(
                    "step type `{}` of the export is not supported",
                    step.step_type
                ),
                vec![],
            ));
            continue;
        }
        if step.skipped {
            out.checks.push(check(
                name,
                Outcome::Skipped,
                format!("{}: skipped in the export", step.note.trim()),
                vec![],
            ));
            continue;
        }
        let mut notes = Vec::new();
        let mut exchanges = Vec::new();
        if number == 1 {
            seed_user(
                client,
                tag,
                &mut notes,
                &mut exchanges,
                &mut out.created_users,
            )
            .await;
        }
        let sent = match build_request(step, &vars) {
            Ok(s) => s,
            Err(e) => {
                out.checks.push(check(name, Outcome::Error, e, exchanges));
                continue;
            }
        };
        notes.extend(sent.notes);
        // A server-chosen id that is path syntax (`{{ISVUserid}}` = `../../X`) is never sent:
        // the request would leave the base path, token and all.
        if let Some(why) = crate::scim::id::path_problem(&sent.request.path) {
            stopped = Some(format!(
                "not run: spec {number:02} was not sent (its path {:?} is unsafe: {why}), so the \
                 steps after it were not sent either",
                sent.request.path
            ));
            out.checks.push(check(
                name,
                Outcome::Failed,
                format!(
                    "not sent: the server-chosen id makes the path unsafe ({why}); RFC 7644 \
                     §3.2 addresses a resource as one path segment"
                ),
                exchanges,
            ));
            continue;
        }
        let resp = if sent.with_token {
            client.send(sent.request).await
        } else {
            client.send_without_auth(sent.request).await
        };
        exchanges.push(resp.exchange);
        if let Some(e) = &resp.error {
            stopped = Some(format!(
                "not run: spec {number:02} got no answer ({e}), so the steps after it, which \
                 build on it, were not sent"
            ));
            out.checks.push(check(
                name,
                Outcome::Error,
                format!("{}: no answer: {e}", step.note.trim()),
                exchanges,
            ));
            continue;
        }
        if step.method.eq_ignore_ascii_case("POST") && resp.status == Some(201) {
            if let Some(id) = resp.body.as_ref().and_then(|b| b["id"].as_str()) {
                out.created_users.push(id.to_string());
            }
        }
        let elapsed_ms = client
            .exchanges()
            .iter()
            .rev()
            .find(|x| x.id == resp.exchange)
            .map_or(0.0, |x| x.duration_ms);
        let got = Got {
            resp: &resp,
            elapsed_ms,
        };
        let mut results: Vec<Verdict> = step
            .assertions
            .iter()
            .map(|a| evaluate(a, &got, &vars))
            .collect();
        results.extend(strict_checks(step, &got, &vars));
        for x in &step.variables {
            match extract(x, &got) {
                Some(v) => {
                    vars.insert(x.name.clone(), v);
                }
                None => notes.push(format!(
                    "variable `{}` not set: no `{}` in the answer",
                    x.name,
                    x.property.as_deref().unwrap_or("")
                )),
            }
        }
        let failed = results.iter().filter(|r| !r.passed).count();
        let head = if failed == 0 {
            format!(
                "{}: all {} assertions passed",
                step.note.trim(),
                results.len()
            )
        } else {
            format!(
                "{}: {failed} of {} assertions failed",
                step.note.trim(),
                results.len()
            )
        };
        let mut lines = vec![head];
        lines.extend(notes.iter().map(|n| format!("note: {n}")));
        lines.extend(results.iter().map(Verdict::line));
        out.checks.push(check(
            name,
            if failed == 0 {
                Outcome::Passed
            } else {
                Outcome::Failed
            },
            lines.join("\n"),
            exchanges,
        ));
    }
    out
}

/// `spec 05 GET /Users?filter=userName eq "<randomEmail>"`: the export's URL without the base,
/// variables shown by name.
pub fn check_name(number: usize, step: &ExportStep) -> String {
    let url = step
        .url
        .strip_prefix("{{SCIMBaseURL}}")
        .unwrap_or(&step.url);
    let mut shown = String::new();
    let mut rest = url;
    while let Some(at) = rest.find("{{") {
        shown.push_str(&rest[..at]);
        match rest[at + 2..].find("}}") {
            Some(end) => {
                shown.push_str(&format!("<{}>", &rest[at + 2..at + 2 + end]));
                rest = &rest[at + 2 + end + 2..];
            }
            None => {
                shown.push_str(&rest[at..]);
                rest = "";
            }
        }
    }
    shown.push_str(rest);
    format!("spec {number:02} {} {shown}", step.method)
}

/// Okta's SPEC test needs a user holding `name.givenName`, `name.familyName`, `emails[0].value`
/// and `active` before it starts ("Create at least one user in your SCIM server before running
/// the Okta SCIM API test suite"). When the target lists none, one is created for the run.
async fn seed_user(
    client: &mut Client,
    tag: &str,
    notes: &mut Vec<String>,
    exchanges: &mut Vec<u64>,
    created: &mut Vec<String>,
) {
    let probe = client
        .send(
            Request::new(crate::client::Method::GET, "/Users?startIndex=1&count=1")
                .header("Accept", "application/scim+json"),
        )
        .await;
    exchanges.push(probe.exchange);
    let empty = probe.status == Some(200)
        && probe.body.as_ref().is_some_and(|b| {
            b["totalResults"].as_u64() == Some(0)
                || b["Resources"].as_array().is_none_or(Vec::is_empty)
        });
    if !empty {
        return;
    }
    let user_name = format!("runscope.seed.{tag}@example.com");
    let family = format!("Seed-{tag}");
    let body = serde_json::json!({
        "schemas": [USER_URN],
        "userName": user_name,
        "name": {"givenName": "Runscope", "familyName": family},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": format!("Runscope {family}"),
        "active": true
    });
    let resp = client
        .send(
            Request::new(crate::client::Method::POST, "/Users")
                .header("Content-Type", "application/scim+json; charset=utf-8")
                .header("Accept", "application/scim+json")
                .json(body),
        )
        .await;
    exchanges.push(resp.exchange);
    match resp.body.as_ref().and_then(|b| b["id"].as_str()) {
        Some(id) if resp.status == Some(201) => {
            created.push(id.to_string());
            notes.push(format!(
                "the target listed no user; created {user_name} (id {id}) first, as the suite \
                 requires one"
            ));
        }
        _ => notes.push(format!(
            "the target listed no user and creating one failed ({}); the suite requires one",
            resp.describe()
        )),
    }
}

/// A request built from an export step.
struct Built {
    request: Request,
    /// False when the step sends its own `Authorization` value (not `{{auth}}`).
    with_token: bool,
    notes: Vec<String>,
}

fn build_request(step: &ExportStep, vars: &BTreeMap<String, String>) -> Result<Built, String> {
    let mut notes = Vec::new();
    let Some(path) = step.url.strip_prefix("{{SCIMBaseURL}}") else {
        return Err(format!(
            "the export's URL `{}` does not start with {{{{SCIMBaseURL}}}}",
            step.url
        ));
    };
    let path = encode_url(&substitute(path, vars, &mut notes, false));
    let method = crate::client::Method::from_bytes(step.method.as_bytes())
        .map_err(|_| format!("`{}` is not an HTTP method", step.method))?;
    let mut request = Request::new(method, path);
    let mut with_token = true;
    for (name, values) in &step.headers {
        let values: Vec<&str> = match values {
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            Value::String(s) => vec![s.as_str()],
            _ => vec![],
        };
        for value in values {
            if name.eq_ignore_ascii_case("authorization") {
                if value.trim() == "{{auth}}" {
                    // The client sends `Bearer <token>` itself.
                    continue;
                }
                with_token = false;
            }
            request = request.header(name, &substitute(value, vars, &mut notes, false));
        }
    }
    if let Some(text) = &step.body {
        let body = substitute(text, vars, &mut notes, true);
        let value: Value = serde_json::from_str(&body)
            .map_err(|e| format!("the export's body is not JSON once filled in: {e}"))?;
        // The client serialises `value` compactly, key order kept: the export's own bytes.
        request = request.json(value);
    }
    Ok(Built {
        request,
        with_token,
        notes,
    })
}

/// Whether the step's URL, body or headers use `{{name}}`.
fn uses_variable(step: &ExportStep, name: &str) -> bool {
    let needle = format!("{{{{{name}}}}}");
    step.url.contains(&needle)
        || step.body.as_deref().is_some_and(|b| b.contains(&needle))
        || step
            .headers
            .values()
            .any(|v| v.to_string().contains(&needle))
}

/// Replaces `{{name}}` with the variable's value (JSON-escaped inside a body, whose variables
/// all sit in string literals). An unknown variable stays as written, with a note.
fn substitute(
    text: &str,
    vars: &BTreeMap<String, String>,
    notes: &mut Vec<String>,
    json: bool,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("{{") {
        out.push_str(&rest[..at]);
        let Some(end) = rest[at + 2..].find("}}") else {
            out.push_str(&rest[at..]);
            return out;
        };
        let name = &rest[at + 2..at + 2 + end];
        match vars.get(name) {
            Some(v) if json => {
                let quoted = serde_json::to_string(v).unwrap_or_default();
                out.push_str(&quoted[1..quoted.len() - 1]);
            }
            Some(v) => out.push_str(v),
            None => {
                let note = format!("variable `{name}` is not set (an earlier step did not set it)");
                if !notes.contains(&note) {
                    notes.push(note);
                }
                out.push_str(&rest[at..at + 2 + end + 2]);
            }
        }
        rest = &rest[at + 2 + end + 2..];
    }
    out.push_str(rest);
    out
}

/// Percent-encodes what may not appear raw in a URL (the export writes
/// `filter=userName eq "..."` with a raw space and quotes; they go out as `%20` and `%22`, as
/// from any HTTP client). Characters a URL may hold, `%` included, stay as written.
pub(crate) fn encode_url(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b' ' | b'"' | b'<' | b'>' | b'`' | b'{' | b'}' | b'|' | b'\\' | b'^' | b'\'' => {
                out.push_str(&format!("%{b:02X}"))
            }
            0..=0x1F | 0x7F..=0xFF => out.push_str(&format!("%{b:02X}")),
            _ => out.push(b as char),
        }
    }
    out
}

/// What came back, as the assertions read it.
struct Got<'a> {
    resp: &'a Response,
    elapsed_ms: f64,
}

/// `Resources[0].name.familyName` into `["Resources", 0, "name", "familyName"]`.
#[derive(Debug, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn parse_path(path: &str) -> Result<Vec<Seg>, String> {
    let mut segs = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, mut rest) = match part.find('[') {
            Some(at) => (&part[..at], &part[at..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            segs.push(Seg::Key(key.to_string()));
        }
        while let Some(inner) = rest.strip_prefix('[') {
            let end = inner
                .find(']')
                .ok_or_else(|| format!("unclosed `[` in `{path}`"))?;
            let idx = inner[..end]
                .trim()
                .parse()
                .map_err(|_| format!("`{}` is not an index in `{path}`", &inner[..end]))?;
            segs.push(Seg::Index(idx));
            rest = &inner[end + 1..];
        }
        if !rest.is_empty() {
            return Err(format!("cannot read `{path}`"));
        }
    }
    Ok(segs)
}

/// The value at `path` (JavaScript property access: names are case-sensitive), or why not.
pub(crate) fn lookup<'a>(body: &'a Value, path: &str) -> Result<&'a Value, String> {
    let mut cur = body;
    let mut walked = String::new();
    for seg in parse_path(path)? {
        let next = match &seg {
            Seg::Key(k) => cur.as_object().and_then(|o| o.get(k)),
            Seg::Index(i) => cur.as_array().and_then(|a| a.get(*i)),
        };
        match (&seg, next) {
            (_, Some(v)) => cur = v,
            (Seg::Key(k), None) => {
                return Err(if walked.is_empty() {
                    format!("no `{k}` in the body")
                } else {
                    format!("no `{k}` in `{walked}`")
                })
            }
            (Seg::Index(i), None) => return Err(format!("no element {i} in `{walked}`")),
        }
        match seg {
            Seg::Key(k) if walked.is_empty() => walked = k,
            Seg::Key(k) => walked = format!("{walked}.{k}"),
            Seg::Index(i) => walked = format!("{walked}[{i}]"),
        }
    }
    Ok(cur)
}

/// A value as Runscope compares it: JavaScript `String(value)` for scalars, compact JSON for
/// arrays and objects.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Empty as Runscope's "is not empty" means it: missing, null, "", [] or {}.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Evaluates one export assertion.
fn evaluate(a: &Assertion, got: &Got<'_>, vars: &BTreeMap<String, String>) -> Verdict {
    let mut ignored = Vec::new();
    let target = a
        .value
        .as_ref()
        .map(|v| substitute(&text(v), vars, &mut ignored, false));
    let property = a.property.clone().unwrap_or_default();
    let subject = match a.source.as_str() {
        "response_status" => "status".to_string(),
        "response_time" => "response time (ms)".to_string(),
        "response_json" if property.is_empty() => "body".to_string(),
        "response_json" => format!("body.{property}"),
        other => other.to_string(),
    };
    let label = match &target {
        Some(t) => format!("{subject} {} {}", a.comparison, Value::String(t.clone())),
        None => format!("{subject} {}", a.comparison),
    };
    let actual: Result<Value, String> = match a.source.as_str() {
        "response_status" => got
            .resp
            .status
            .map(Value::from)
            .ok_or_else(|| "no answer".to_string()),
        "response_time" => Ok(Value::from(got.elapsed_ms)),
        "response_json" => match &got.resp.body {
            Some(body) => lookup(body, &property).cloned(),
            None if got.resp.text.is_some() => Err("the body is not JSON".into()),
            None => Err("the answer has no body".into()),
        },
        other => Err(format!("source `{other}` is not supported by scimulator")),
    };
    let fail = |detail: String| Verdict {
        label: label.clone(),
        passed: false,
        detail,
    };
    let actual = match actual {
        Ok(v) => v,
        Err(why) => return fail(why),
    };
    let got_text = format!("got {}", shown(&actual));
    let target_text = target.clone().unwrap_or_default();
    let passed = match a.comparison.as_str() {
        "equal_number" => matches!(
            (number(&actual), target_text.trim().parse::<f64>()),
            (Some(x), Ok(y)) if x == y
        ),
        "equal" => text(&actual) == target_text,
        "not_empty" => !is_empty(&actual),
        "is_a_number" => actual.is_number(),
        "is_less_than" => matches!(
            (number(&actual), target_text.trim().parse::<f64>()),
            (Some(x), Ok(y)) if x < y
        ),
        "contains" => match &actual {
            Value::Array(items) => items.iter().any(|x| text(x) == target_text),
            other => text(other).contains(&target_text),
        },
        "has_value" => match &actual {
            Value::Array(items) => items.iter().any(|x| text(x) == target_text),
            // The 401 step asks it of the whole body (`"property": ""`): a member's value, or
            // an element of an array member (`schemas`), must be it.
            Value::Object(members) => members.values().any(|m| match m {
                Value::Array(items) => items.iter().any(|x| text(x) == target_text),
                other => text(other) == target_text,
            }),
            other => text(other) == target_text,
        },
        other => {
            return fail(format!(
                "comparison `{other}` is not supported by scimulator"
            ))
        }
    };
    Verdict {
        label,
        passed,
        detail: got_text,
    }
}

/// A variable's value from the answer, as Runscope stores it (a string).
fn extract(x: &Extraction, got: &Got<'_>) -> Option<String> {
    match x.source.as_str() {
        "response_json" => got
            .resp
            .body
            .as_ref()
            .and_then(|b| lookup(b, x.property.as_deref().unwrap_or("")).ok())
            .filter(|v| !v.is_null())
            .map(text),
        "response_status" => got.resp.status.map(|s| s.to_string()),
        _ => None,
    }
}

/// The status the export expects of a step, from its `response_status` assertion.
fn expected_status(step: &ExportStep) -> Option<u16> {
    step.assertions
        .iter()
        .find(|a| a.source == "response_status" && a.comparison == "equal_number")
        .and_then(|a| a.value.as_ref())
        .and_then(|v| text(v).trim().parse().ok())
}

/// Which strict assertion a step gets, from what the step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strict {
    /// `GET /Users?count=1&startIndex=1`: exactly one resource.
    OnePerPage,
    /// The duplicate POST: a SCIM Error with status "409", and scimType "uniqueness".
    ConflictError,
    /// The upper-cased userName filter: it finds the user the suite created.
    CaseInsensitiveUserName,
    /// `GET /Groups` with the export's post-response script: a ListResponse whose `Resources`
    /// is an array when `totalResults` is 1 or more.
    GroupsList,
}

/// The strict assertions a step gets.
pub fn strict_for(step: &ExportStep) -> Vec<Strict> {
    let get = step.method.eq_ignore_ascii_case("GET");
    let url = step.url.as_str();
    let mut out = Vec::new();
    if get && url.contains("count=1") && url.contains("startIndex=1") {
        out.push(Strict::OnePerPage);
    }
    if step.method.eq_ignore_ascii_case("POST") && expected_status(step) == Some(409) {
        out.push(Strict::ConflictError);
    }
    if get && url.contains("{{randomUsernameCaps}}") && expected_status(step) == Some(200) {
        out.push(Strict::CaseInsensitiveUserName);
    }
    if get
        && url
            .split('?')
            .next()
            .is_some_and(|p| p.ends_with("/Groups"))
        && step.scripts.iter().any(|s| !s.trim().is_empty())
    {
        out.push(Strict::GroupsList);
    }
    out
}

fn strict_checks(
    step: &ExportStep,
    got: &Got<'_>,
    vars: &BTreeMap<String, String>,
) -> Vec<Verdict> {
    let body = got.resp.body.as_ref();
    let field = |name: &str| body.and_then(|b| b.get(name)).cloned();
    let shown_opt = |v: &Option<Value>| v.as_ref().map_or("nothing".to_string(), shown);
    let mut out = Vec::new();
    for s in strict_for(step) {
        match s {
            Strict::OnePerPage => {
                let n = field("Resources").and_then(|r| r.as_array().map(Vec::len));
                out.push(Verdict {
                    label: "strict: count=1 returns exactly 1 resource (what Okta's SPEC test \
                            expects, the target holding at least one user; RFC 7644 §3.4.2.4 \
                            makes count the most to return)"
                        .into(),
                    passed: n == Some(1),
                    detail: match n {
                        Some(n) => format!("got {n} in Resources"),
                        None => "got no Resources array".into(),
                    },
                });
            }
            Strict::ConflictError => {
                let schemas = field("schemas");
                let is_error = schemas
                    .as_ref()
                    .and_then(Value::as_array)
                    .is_some_and(|a| a.iter().any(|x| x == ERROR_URN));
                let status = field("status");
                out.push(Verdict {
                    label: "strict: the 409 is a SCIM Error (RFC 7644 §3.12): schemas holds \
                            the Error URN and status is the string \"409\""
                        .into(),
                    passed: is_error && status == Some(Value::from("409")),
                    detail: if body.is_none() {
                        format!(
                            "got no JSON body{}",
                            got.resp
                                .text
                                .as_ref()
                                .map(|t| format!(": {}", shown(&Value::from(t.as_str()))))
                                .unwrap_or_default()
                        )
                    } else {
                        format!(
                            "got schemas {}, status {}",
                            shown_opt(&schemas),
                            shown_opt(&status)
                        )
                    },
                });
                let scim_type = field("scimType");
                out.push(Verdict {
                    label: "strict: scimType \"uniqueness\" (RFC 7644 §3.3: a duplicate \
                            userName MUST get 409 with scimType uniqueness)"
                        .into(),
                    passed: scim_type == Some(Value::from("uniqueness")),
                    detail: format!("got {}", shown_opt(&scim_type)),
                });
            }
            Strict::CaseInsensitiveUserName => {
                let label = "strict: the upper-cased userName finds the user created in the \
                             POST step (userName is caseExact false, RFC 7643 §4.1.1; filters \
                             on it compare without case, RFC 7644 §3.4.2.2)"
                    .to_string();
                let Some(id) = vars.get("idUserOne") else {
                    out.push(Verdict {
                        label,
                        passed: false,
                        detail: "no user to look for: the POST step did not return an id".into(),
                    });
                    continue;
                };
                let total = field("totalResults");
                let resources = field("Resources");
                let ids: Vec<String> = resources
                    .as_ref()
                    .and_then(Value::as_array)
                    .map(|a| a.iter().map(|r| text(&r["id"])).collect())
                    .unwrap_or_default();
                out.push(Verdict {
                    label,
                    passed: total.as_ref().and_then(Value::as_u64) == Some(1)
                        && ids == [id.clone()],
                    detail: format!(
                        "expected totalResults 1 and Resources[0].id {}; got totalResults {}, \
                         ids {}",
                        Value::from(id.as_str()),
                        shown_opt(&total),
                        shown(&Value::from(ids))
                    ),
                });
            }
            Strict::GroupsList => {
                let total = field("totalResults");
                let schemas = field("schemas");
                let is_list = schemas
                    .as_ref()
                    .and_then(Value::as_array)
                    .is_some_and(|a| a.iter().any(|x| x == LIST_URN));
                let n = total.as_ref().and_then(Value::as_u64);
                let resources_ok = match n {
                    Some(0) => true,
                    Some(_) => field("Resources").is_some_and(|r| r.is_array()),
                    None => false,
                };
                out.push(Verdict {
                    label: "strict: the export's script, made to fail when it should: a \
                            ListResponse with a numeric totalResults, and Resources an array \
                            when totalResults is 1 or more (RFC 7644 §3.4.2)"
                        .into(),
                    passed: is_list && resources_ok,
                    detail: format!(
                        "got schemas {}, totalResults {}, Resources {}",
                        shown_opt(&schemas),
                        shown_opt(&total),
                        match field("Resources") {
                            Some(Value::Array(a)) => format!("[{} items]", a.len()),
                            other => shown_opt(&other),
                        }
                    ),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_export_has_12_requests_and_11_pauses_of_60_s() {
        let e = export();
        assert_eq!(e.name, "Okta SCIM 2.0 SPEC Test");
        let requests = e.steps.iter().filter(|s| s.step_type == "request").count();
        let pauses: Vec<f64> = e
            .steps
            .iter()
            .filter(|s| s.step_type == "pause")
            .filter_map(|s| s.duration)
            .collect();
        assert_eq!(requests, 12);
        assert_eq!(pauses.len(), 11);
        assert_eq!(pauses.iter().sum::<f64>(), 60.0);
        assert!(e
            .steps
            .iter()
            .all(|s| !s.skipped && matches!(s.step_type.as_str(), "request" | "pause")));
    }

    #[test]
    fn every_comparison_source_and_variable_of_the_export_is_supported() {
        let dummy = Response {
            exchange: 1,
            status: Some(200),
            body: Some(serde_json::json!({})),
            text: None,
            retry_after: None,
            error: None,
            headers: vec![],
        };
        let got = Got {
            resp: &dummy,
            elapsed_ms: 1.0,
        };
        for step in export().steps.iter().filter(|s| s.step_type == "request") {
            for a in &step.assertions {
                let v = evaluate(a, &got, &BTreeMap::new());
                assert!(
                    !v.detail.contains("not supported"),
                    "{}: {}",
                    v.label,
                    v.detail
                );
            }
            for x in &step.variables {
                assert_eq!(x.source, "response_json", "{}", x.name);
            }
        }
    }

    #[test]
    fn every_variable_used_is_initial_or_extracted_earlier() {
        let mut known: Vec<String> = initial_variables("t").into_keys().collect();
        known.extend(["SCIMBaseURL".to_string(), "auth".to_string()]);
        for step in export().steps.iter().filter(|s| s.step_type == "request") {
            let mut used = String::new();
            used.push_str(&step.url);
            used.push_str(step.body.as_deref().unwrap_or(""));
            used.push_str(&serde_json::to_string(&step.headers).unwrap_or_default());
            used.push_str(
                &serde_json::to_string(
                    &step
                        .assertions
                        .iter()
                        .map(|a| a.value.clone())
                        .collect::<Vec<_>>(),
                )
                .unwrap_or_default(),
            );
            let mut notes = Vec::new();
            let vars: BTreeMap<String, String> =
                known.iter().map(|k| (k.clone(), "x".to_string())).collect();
            substitute(&used, &vars, &mut notes, false);
            assert!(notes.is_empty(), "{}: {notes:?}", step.note);
            known.extend(step.variables.iter().map(|x| x.name.clone()));
        }
    }

    #[test]
    fn names_show_variables_by_name_and_strict_checks_land_on_their_steps() {
        let e = export();
        let requests: Vec<&ExportStep> = e
            .steps
            .iter()
            .filter(|s| s.step_type == "request")
            .collect();
        let names: Vec<String> = requests
            .iter()
            .enumerate()
            .map(|(i, s)| check_name(i + 1, s))
            .collect();
        assert_eq!(
            names,
            [
                "spec 01 GET /Users?count=1&startIndex=1",
                "spec 02 GET /Users/<ISVUserid>",
                "spec 03 GET /Users?filter=userName eq \"<InvalidUserEmail>\"",
                "spec 04 GET /Users/<UserIdThatDoesNotExist>",
                "spec 05 GET /Users?filter=userName eq \"<randomEmail>\"",
                "spec 06 POST /Users",
                "spec 07 GET /Users/<idUserOne>",
                "spec 08 POST /Users",
                "spec 09 GET /Users?filter=userName eq \"<randomUsernameCaps>\"",
                "spec 10 GET /Groups",
                "spec 11 GET /Users?filter=userName eq \"<randomUsernameCaps>\"",
                "spec 12 GET /Users/00919288221112222",
            ]
        );
        let strict: Vec<(usize, Vec<Strict>)> = requests
            .iter()
            .enumerate()
            .map(|(i, s)| (i + 1, strict_for(s)))
            .filter(|(_, s)| !s.is_empty())
            .collect();
        assert_eq!(
            strict,
            [
                (1, vec![Strict::OnePerPage]),
                (8, vec![Strict::ConflictError]),
                (9, vec![Strict::CaseInsensitiveUserName]),
                (10, vec![Strict::GroupsList]),
            ]
        );
    }

    #[test]
    fn requests_are_the_exports_with_variables_filled_in() {
        let e = export();
        let requests: Vec<&ExportStep> = e
            .steps
            .iter()
            .filter(|s| s.step_type == "request")
            .collect();
        let mut vars = initial_variables("r1a2b3c01");
        vars.insert("idUserOne".into(), "u-1".into());
        // The upper-cased filter: raw space and quotes percent-encoded, the token left to the
        // client.
        let b = build_request(requests[8], &vars).unwrap();
        assert_eq!(
            b.request.path,
            "/Users?filter=userName%20eq%20%22RUNSCOPE.SPEC.R1A2B3C01@EXAMPLE.COM%22"
        );
        assert!(b.with_token);
        assert!(b.notes.is_empty());
        assert_eq!(
            b.request.headers,
            [
                ("Accept-Charset", "utf-8"),
                ("Content-Type", "application/scim+json; charset=utf-8"),
                ("Authorization", "{{auth}}"),
                ("Accept", "application/scim+json"),
                ("User-Agent", "OKTA SCIM Integration"),
            ]
            .iter()
            .filter(|(k, _)| *k != "Authorization")
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
        );
        // The 401 step: its own bogus credential, no token.
        let b = build_request(requests[10], &vars).unwrap();
        assert!(!b.with_token);
        assert!(b
            .request
            .headers
            .contains(&("Authorization".to_string(), "non-token".to_string())));
        // The POST: the export's body, byte for byte once filled in.
        let b = build_request(requests[5], &vars).unwrap();
        let mut notes = Vec::new();
        let want = substitute(
            requests[5].body.as_deref().unwrap(),
            &vars,
            &mut notes,
            true,
        );
        assert_eq!(
            serde_json::to_string(b.request.body.as_ref().unwrap()).unwrap(),
            want
        );
        assert!(want.contains("\"userName\":\"runscope.spec.r1a2b3c01@example.com\""));
        assert_eq!(
            b.request.headers,
            [
                ("Content-Type".to_string(), "application/json".to_string()),
                (
                    "Accept".to_string(),
                    "application/scim+json; charset=utf-8".to_string()
                ),
            ]
        );
    }

    #[test]
    fn paths_read_like_javascript() {
        let body = serde_json::json!({
            "Resources": [{"name": {"familyName": "Doe"}, "emails": [{"value": "a@b"}]}],
            "schemas": ["urn:x"]
        });
        assert_eq!(
            lookup(&body, "Resources[0].name.familyName").unwrap(),
            "Doe"
        );
        assert_eq!(
            lookup(&body, "Resources[0].emails[0].value").unwrap(),
            "a@b"
        );
        assert_eq!(lookup(&body, "").unwrap(), &body);
        assert_eq!(
            lookup(&body, "Resources[0].name.givenName").unwrap_err(),
            "no `givenName` in `Resources[0].name`"
        );
        assert_eq!(
            lookup(&body, "Resources[1].id").unwrap_err(),
            "no element 1 in `Resources`"
        );
        assert_eq!(
            lookup(&body, "resources").unwrap_err(),
            "no `resources` in the body"
        );
    }

    fn verdict(comparison: &str, value: Option<&str>, property: &str, body: Value) -> bool {
        let resp = Response {
            exchange: 1,
            status: Some(401),
            body: Some(body),
            text: None,
            retry_after: None,
            error: None,
            headers: vec![],
        };
        let a = Assertion {
            comparison: comparison.into(),
            source: "response_json".into(),
            value: value.map(Value::from),
            property: Some(property.into()),
        };
        evaluate(
            &a,
            &Got {
                resp: &resp,
                elapsed_ms: 5.0,
            },
            &BTreeMap::new(),
        )
        .passed
    }

    #[test]
    fn comparisons_read_as_runscope_does() {
        use serde_json::json;
        // `equal` compares text: a number, a boolean or a string status all match.
        assert!(verdict("equal", Some("0"), "n", json!({"n": 0})));
        assert!(verdict("equal", Some("true"), "b", json!({"b": true})));
        assert!(verdict("equal", Some("401"), "s", json!({"s": 401})));
        assert!(verdict("equal", Some("401"), "s", json!({"s": "401"})));
        assert!(!verdict("equal", Some("1"), "n", json!({"n": 0})));
        // `equal_number` compares numbers.
        assert!(verdict("equal_number", Some("0"), "n", json!({"n": 0})));
        assert!(verdict("equal_number", Some("0"), "n", json!({"n": "0"})));
        assert!(!verdict(
            "equal_number",
            Some("0"),
            "n",
            json!({"n": "none"})
        ));
        // `not_empty`: present and not null, "", [] or {}; false is a value.
        assert!(verdict("not_empty", None, "a", json!({"a": false})));
        assert!(!verdict("not_empty", None, "a", json!({"a": []})));
        assert!(!verdict("not_empty", None, "a", json!({"a": ""})));
        assert!(!verdict("not_empty", None, "a", json!({"a": null})));
        assert!(!verdict("not_empty", None, "a", json!({})));
        // `is_a_number`: a JSON number; "1" is a string.
        assert!(verdict("is_a_number", None, "n", json!({"n": 1})));
        assert!(!verdict("is_a_number", None, "n", json!({"n": "1"})));
        // `has_value` and `contains` on an array: an element.
        assert!(verdict(
            "has_value",
            Some("u"),
            "s",
            json!({"s": ["x", "u"]})
        ));
        assert!(!verdict("has_value", Some("u"), "s", json!({"s": ["ux"]})));
        assert!(verdict(
            "contains",
            Some("u"),
            "s",
            json!({"s": ["x", "u"]})
        ));
        assert!(verdict("contains", Some("bc"), "s", json!({"s": "abcd"})));
        // `has_value` on the whole body (the 401 step's `"property": ""`).
        assert!(verdict(
            "has_value",
            Some(ERROR_URN),
            "",
            json!({"schemas": [ERROR_URN], "status": "401"})
        ));
        assert!(!verdict(
            "has_value",
            Some(ERROR_URN),
            "",
            json!({"detail": "no", "status": "401"})
        ));
    }

    #[test]
    fn response_time_and_status_sources() {
        let resp = Response {
            exchange: 1,
            status: Some(200),
            body: None,
            text: None,
            retry_after: None,
            error: None,
            headers: vec![],
        };
        let at = |ms: f64, c: &str, source: &str, v: &str| {
            evaluate(
                &Assertion {
                    comparison: c.into(),
                    source: source.into(),
                    value: Some(Value::from(v)),
                    property: None,
                },
                &Got {
                    resp: &resp,
                    elapsed_ms: ms,
                },
                &BTreeMap::new(),
            )
            .passed
        };
        assert!(at(12.5, "is_less_than", "response_time", "600"));
        assert!(!at(600.0, "is_less_than", "response_time", "600"));
        assert!(at(1.0, "equal_number", "response_status", "200"));
        assert!(!at(1.0, "equal_number", "response_status", "201"));
        assert!(!at(1.0, "not_empty", "response_json", "x"));
    }

    #[test]
    fn initial_variables_are_run_scoped_and_caps_is_the_upper_case_user_name() {
        let v = initial_variables("r9f8e7d02");
        assert_eq!(v["randomUsernameCaps"], v["randomUsername"].to_uppercase());
        assert_ne!(v["randomUsernameCaps"], v["randomUsername"]);
        assert_eq!(v["randomEmail"], v["randomUsername"]);
        for (k, x) in &v {
            assert!(x.to_lowercase().contains("r9f8e7d02"), "{k}: {x}");
        }
    }
}
