//! The result model every writer folds: the terminal summary, `report.json`, `junit.xml`,
//! `summary.md` and `index.html` read the same `RunReport`, so they never disagree. Besides
//! what happened (scenarios, steps, checks, exchanges, provisioning logs, findings) it holds
//! what the run concludes: the verdicts, each saying how much of it rests on inferred IdP
//! behaviour (`verdicts`, filled by `report::conclude` from the behaviours each scenario
//! exercised), and, for `scimulator certify`, the certification matrices. `report.json` is this
//! model serialised; its JSON Schema (`fixtures/report.schema.json`) is generated from these
//! types.
//!
//! ```json
//! {"format_version":1,"tool":"scimulator 0.1.0","run_id":"r3f9a1c","target":{"url":"http://127.0.0.1:41235/scim/v2","builtin":true},
//!  "scenarios":[{"name":"entra-cisco-guide","idp":"entra","outcome":"passed","steps":[…],"exchanges":[…],"provisioning_log":[…],"findings":[]}],
//!  "summary":{"scenarios":1,"passed":1,"failed":0,"errors":0,"requests":14}}
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Version of the `report.json` format; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

/// One `scimulator run`: every scenario with its steps, exchanges, provisioning log and
/// findings (`report.json`). `format_version` says which version of this format it is.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RunReport {
    pub format_version: u32,
    /// `scimulator <version>`.
    pub tool: String,
    /// The id scoping every name this run created (`r3f9a1c`).
    pub run_id: String,
    pub target: TargetInfo,
    /// RFC 3339.
    pub started_at: String,
    pub duration_ms: u64,
    pub scenarios: Vec<ScenarioReport>,
    pub summary: Summary,
    /// The verdicts of the run, RFC conformance apart from each IdP, each with how much of
    /// what it rests on is inferred: what every writer shows on top.
    #[serde(default)]
    pub verdicts: Vec<VerdictReport>,
    /// The attribute × operation matrices of `scimulator certify`, when this report is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certification: Option<crate::certify::Certification>,
}

/// One verdict: "is the server RFC 7643/7644 conformant?", "will it work with Entra ID?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Verdict {
    /// `RFC 7643/7644 conformance`, `works with Entra ID (default)`, ...
    pub name: String,
    pub passed: bool,
    /// `1 of 3 scenarios failed`.
    pub summary: String,
    /// What failed it, one cause a line: `MUST Entra ID: update user (PATCH /Users/{id}) [source] ×3`.
    /// Causes that do not fail it (SHOULD, MAY, INFO) are listed too, with their severity.
    #[serde(default)]
    pub failing: Vec<String>,
}

/// A verdict ([`Verdict`]) with the provenance of the IdP behaviours
/// it rests on, so that a PASS resting on inferred request shapes says so in every format:
/// `works with Duo: PASS — every request shape inferred`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct VerdictReport {
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Distinct IdP behaviours (request shapes) the verdict's scenarios exercised.
    #[serde(default)]
    pub behaviours: usize,
    /// How many of them no public source shows (the simulator infers them).
    #[serde(default)]
    pub inferred: usize,
    /// `every request shape inferred`, `2 of 14 request shapes inferred`; absent when none is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inferred_note: Option<String>,
}

/// One IdP behaviour a scenario exercised: its name, its public source, whether it is
/// inferred, and how many requests were sent for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BehaviourUse {
    /// `Duo: Create Users (POST /Users)`.
    pub name: String,
    /// URL or RFC section.
    pub source: String,
    /// No public source shows it; the simulator infers it.
    pub inferred: bool,
    /// Requests sent for it.
    pub requests: usize,
}

/// The probes of one RFC probe group (`patch`, `filters`, ...) within a step: what `check`
/// lists group by group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProbeGroupReport {
    /// `discovery`, `crud`, `filters`, ...
    pub name: String,
    /// Index of the step that ran it.
    pub step: usize,
    /// Names of its checks, in that step's `checks`.
    pub checks: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TargetInfo {
    /// The SCIM base URL (never with credentials).
    pub url: String,
    /// The built-in reference server, started in-process.
    pub builtin: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub scenarios: usize,
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
    pub requests: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    /// An expectation was not met.
    Failed,
    /// The step could not run: transport problem, unusable target.
    Error,
    /// Not run (an earlier error stopped the scenario).
    Skipped,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ScenarioReport {
    pub name: String,
    pub description: String,
    /// Path of the scenario file.
    pub file: String,
    /// `entra`, `okta`, ...
    pub idp: String,
    /// The profile settings in force, defaults filled in.
    pub settings: Value,
    pub outcome: Outcome,
    pub duration_ms: u64,
    pub steps: Vec<StepReport>,
    /// Every request and response, in order, secrets redacted.
    pub exchanges: Vec<Exchange>,
    /// What the IdP would show its admin.
    pub provisioning_log: Vec<LogEntry>,
    /// Problems found, each naming the IdP behaviour or RFC section it rests on.
    pub findings: Vec<Finding>,
    /// The IdP behaviours (request shapes) the scenario exercised, in first-use order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub behaviours: Vec<BehaviourUse>,
    /// RFC probe groups run, in order (`idp: rfc` scenarios).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probe_groups: Vec<ProbeGroupReport>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct StepReport {
    /// 1-based position in the scenario.
    pub index: usize,
    /// Line of the step in the scenario file.
    pub line: u32,
    /// `cycle initial`, `assign`, `expect`, ...
    pub kind: String,
    pub outcome: Outcome,
    pub duration_ms: u64,
    /// Ids of the exchanges this step sent.
    pub exchanges: Vec<u64>,
    /// One per expectation checked in this step (`state`, `log`, `trace`), or the step's own
    /// check (a test connection's result).
    pub checks: Vec<CheckReport>,
    /// Why the step errored, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CheckReport {
    /// `state`, `log`, `trace`, `test_connection`.
    pub name: String,
    pub outcome: Outcome,
    /// One line saying what was compared and the result.
    pub message: String,
    /// A human diff (expected vs actual), unified format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// The RFC 6902 patch turning the actual into the expected document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<Value>,
    /// Exchanges that explain the failure (the request that went wrong).
    #[serde(default)]
    pub exchanges: Vec<u64>,
}

/// An exchange's request headers, `[name, value]` pairs in the order sent: shared between the
/// exchanges that sent the same ones (a run sends a few lists, tens of thousands of times).
pub type Headers = std::sync::Arc<[(String, String)]>;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Exchange {
    /// Unique within the scenario, in send order.
    pub id: u64,
    /// Index of the step that sent it.
    pub step: usize,
    // Borrowed for the standard methods: one allocation fewer in each of a tenant-sized run's
    // hundreds of thousands of records.
    pub method: std::borrow::Cow<'static, str>,
    /// Path relative to the base URL, with the query string as sent (`/Users?filter=…`).
    pub path: String,
    /// Request headers as sent; `Authorization` shows `Bearer ***`.
    pub request_headers: Headers,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Value>")]
    pub request_body: Option<LoggedBody>,
    /// `None` when no answer arrived (transport error, dropped response).
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Value>")]
    pub response_body: Option<LoggedBody>,
    pub duration_ms: f64,
    /// Transport error as the IdP would see it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The injected fault, if one applied (`drop-response`, `status 500`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    /// Sent by the harness itself (read-back of the final state, clean-up and its verification),
    /// not by the simulated IdP: counted and shown, but never part of an IdP trace or log.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub harness: bool,
}

/// Starts the text that stands for a body the exchange log left out (its budget was spent).
pub const OMITTED: &str = "[omitted by scimulator: ";

/// A request or response body as the exchange log keeps it. A tenant-sized run sends hundreds
/// of thousands of bodies and the log keeps a few megabytes of them, so a kept body is its
/// compact text (a tree costs about ten times that) and a left-out one is two numbers; both
/// serialise as before: the JSON itself, or the marker string
/// `"[omitted by scimulator: 412 bytes; the exchange log already holds 2097152 bytes of bodies]"`.
#[derive(Debug, Clone, PartialEq)]
pub enum LoggedBody {
    /// The body as logged (whole, or a string cut with a marker).
    Kept(crate::compact::Compact),
    /// Left out: `size` bytes of JSON, when the log already held `logged` bytes of bodies.
    Omitted { size: u64, logged: u64 },
}

impl LoggedBody {
    /// The body as JSON: what was kept, or the marker string.
    pub fn value(&self) -> Value {
        match self {
            LoggedBody::Kept(c) => c.value(),
            LoggedBody::Omitted { size, logged } => Value::String(format!(
                "{OMITTED}{size} bytes; the exchange log already holds {logged} bytes of bodies]"
            )),
        }
    }
}

impl From<Value> for LoggedBody {
    fn from(v: Value) -> Self {
        LoggedBody::Kept(v.into())
    }
}

impl Serialize for LoggedBody {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(s)
    }
}

impl<'de> Deserialize<'de> for LoggedBody {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(LoggedBody::from)
    }
}

/// One line of the IdP's provisioning log (Entra's provisioning logs, Okta's system log, ...).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LogEntry {
    /// RFC 3339.
    pub date: String,
    /// The source object's display name.
    pub identity: String,
    /// `User` or `Group`.
    // Borrowed for the usual values, as `status`: a tenant's log has an entry per object.
    pub object_type: std::borrow::Cow<'static, str>,
    /// Entra: Create, Update, Disable, Delete, Skip, Other.
    pub action: String,
    /// Success, Failure, Skipped.
    pub status: std::borrow::Cow<'static, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The IdP's explanation, or why it skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    // Shared between entries that list the same ones (every user's create names the
    // mapping's targets: a tenant's log repeats a few lists).
    /// Target attributes the action wrote.
    #[serde(default)]
    pub modified_properties: std::sync::Arc<[String]>,
    /// Exchanges behind this entry.
    pub exchanges: Vec<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Must,
    Should,
    May,
    /// Not a failure: something the RFC lets a server refuse or leave out (an unsupported
    /// filter operator answered `400 invalidFilter`, an attribute its `/Schemas` does not
    /// declare). Reported so a server team knows what an IdP could not do, never failing a run.
    Info,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    pub severity: Severity,
    /// The behaviour that broke, named as a user would look it up:
    /// `Entra ID: group lookup by displayName (GET /Groups?excludedAttributes=members&filter=...)`.
    pub behaviour: String,
    /// Public source of the behaviour (URL or RFC section).
    pub source: String,
    /// True when no public source shows the behaviour and the simulator infers it.
    pub inferred: bool,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<u64>,
    /// Step index.
    pub step: usize,
    /// How many times this cause was seen (exchanges, objects); one finding per cause.
    #[serde(default = "one")]
    pub count: usize,
    /// Up to a few exchanges showing the cause, besides `exchange`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<u64>,
}

fn one() -> usize {
    1
}
