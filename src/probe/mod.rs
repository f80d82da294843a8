//! RFC 7643/7644 conformance probes: the `rfc_probes` step, bundled as
//! `scenarios/rfc/conformance.yaml` and run by `scimulator check`. Raw requests go through
//! [`crate::client::Client`] (so they land in the exchange log); each probe becomes one check
//! whose assertions each cite an RFC section and its requirement level, and each failed probe
//! also becomes a [`Finding`]. A failed probe, as the terminal shows it:
//!
//! ```text
//! rfc patch remove with value filter FAILED
//!   1 of 2 assertions failed
//!   ok   status 200 or 204 (RFC 7644 §3.5.2, MUST): got 204
//!   FAIL the home email is gone, the work email kept (RFC 7644 §3.5.2.2, MUST): got emails []
//! ```
//!
//! ServiceProviderConfig is read first: probes of a feature it says is unsupported (patch,
//! filter, sort, etag, bulk) are skipped; a feature it claims that the server does not do fails
//! with "claimed in ServiceProviderConfig but ...". Then /Schemas: probes write only attributes
//! it declares (the RFC 7643 core set when it declares none), say which one they used, and
//! carry every attribute it marks required ([`schema`]). What the RFC lets a server refuse (a
//! filter answered `400 invalidFilter`, an attribute /Schemas does not declare) ends a probe
//! as "not supported: ..." with an INFO finding; a probe whose set-up failed is "not run:
//! set-up failed (...)" with no finding about the feature it did not reach:
//!
//! ```text
//! rfc filter co skipped
//!   not supported: the server answered 400 invalidFilter to `userName co "r3f9.b@"`, as
//!   RFC 7644 §3.12 prescribes for a filter it does not support
//! ```
//!
//! Every name the probes create carries the scenario's tag (`rfc.r3f9a1c01.a@example.com`),
//! and every object they create is deleted before the step ends.
//!
//! Okta's SPEC test interpreter ([`okta_spec`], the `okta_spec_test` step) sits beside them:
//! the same kind of raw-request checks, with the assertion types of [`assertion`].

pub mod assertion;
mod groups;
pub mod okta_spec;
mod schema;

use crate::client::{Client, Request, Response};
use crate::report::model::{CheckReport, Finding, Outcome, ProbeGroupReport, Severity};
use crate::scenario::model::ProbeGroup;
use crate::scim::kind::ObjectKind;
use crate::scim::schema::{GROUP_URN, USER_URN};
use assertion::{check, shown, Verdict};
pub(crate) use schema::{AttrDef, Declared};
use serde_json::Value;

pub(crate) use crate::scim::SCIM_JSON;
const ERROR_URN: &str = crate::scim::error::ERROR_URN;

/// The prefix of every finding's behaviour: what the RFC verdict collects.
pub const BEHAVIOUR_PREFIX: &str = "RFC 7643/7644";

/// What the probes did: one check per probe, a finding per failed probe, and the objects they
/// could not delete (left to the runner's clean-up).
#[derive(Debug, Clone, Default)]
pub struct ProbeRun {
    pub checks: Vec<CheckReport>,
    pub findings: Vec<Finding>,
    pub leftovers: Vec<(ObjectKind, String)>,
    /// Objects the clean-up deleted: the runner reads them back (a soft delete is residue).
    pub deleted: Vec<(ObjectKind, String)>,
    /// Which checks each probe group produced, in order.
    pub groups: Vec<ProbeGroupReport>,
}

/// What ServiceProviderConfig says (RFC 7643 §5). When it cannot be read, patch, filter and
/// sort are assumed supported, so that the probes still say what the server does.
#[derive(Debug, Clone)]
pub(crate) struct Caps {
    pub patch: bool,
    pub filter: bool,
    pub sort: bool,
    pub etag: bool,
    pub bulk: bool,
}

impl Default for Caps {
    fn default() -> Self {
        Caps {
            patch: true,
            filter: true,
            sort: true,
            etag: false,
            bulk: false,
        }
    }
}

impl Caps {
    fn from_spc(spc: &Value) -> Caps {
        let on = |k: &str| spc[k]["supported"].as_bool().unwrap_or(false);
        Caps {
            patch: on("patch"),
            filter: on("filter"),
            sort: on("sort"),
            etag: on("etag"),
            bulk: on("bulk"),
        }
    }
}

/// The requirement an assertion rests on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    pub severity: Severity,
    pub section: &'static str,
}

pub(crate) const fn must(section: &'static str) -> Rule {
    Rule {
        severity: Severity::Must,
        section,
    }
}

pub(crate) const fn may(section: &'static str) -> Rule {
    Rule {
        severity: Severity::May,
        section,
    }
}

pub(crate) const fn should(section: &'static str) -> Rule {
    Rule {
        severity: Severity::Should,
        section,
    }
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Must => "MUST",
        Severity::Should => "SHOULD",
        Severity::May => "MAY",
        Severity::Info => "INFO",
    }
}

/// One probe being run: its assertions and the exchanges it sent.
pub(crate) struct Probe {
    name: String,
    items: Vec<(Rule, Verdict)>,
    exchanges: Vec<u64>,
    /// The SPC feature this probe exercises, when one gates it (`patch`): a failure then says
    /// the feature was claimed.
    claimed: Option<&'static str>,
    /// Lines shown under the verdict line: which attribute the probe used, and why.
    notes: Vec<String>,
    /// Set when the server refused what the RFC lets it refuse: the probe is skipped with an
    /// INFO finding, never failed. (why, RFC section)
    unsupported: Option<(String, &'static str)>,
    /// Set when the probe's set-up failed: skipped, no finding about the feature.
    not_run: Option<String>,
}

impl Probe {
    pub fn new(name: &str) -> Probe {
        Probe {
            name: format!("rfc {name}"),
            items: Vec::new(),
            exchanges: Vec::new(),
            claimed: None,
            notes: Vec::new(),
            unsupported: None,
            not_run: None,
        }
    }

    /// A line under the verdict: `attribute used: externalId`.
    pub fn note(&mut self, line: impl Into<String>) {
        self.notes.push(line.into());
    }

    /// The server refused something the RFC lets it refuse: the probe ends as "not supported"
    /// (skipped, INFO finding citing `section`).
    pub fn unsupported(&mut self, why: impl Into<String>, section: &'static str) {
        self.unsupported = Some((why.into(), section));
    }

    /// The probe's set-up failed: it ends as "not run: set-up failed (why)", with no finding.
    pub fn setup_failed(&mut self, why: impl AsRef<str>) {
        self.not_run = Some(format!("set-up failed ({})", why.as_ref()));
    }

    /// The probe cannot test its point on this server (nothing to omit, the invalid operation
    /// was accepted): "not run: why", with no finding.
    pub fn not_run_because(&mut self, why: impl Into<String>) {
        self.not_run = Some(why.into());
    }

    /// Whether the answer is the RFC's refusal of an unsupported filter (RFC 7644 §3.12:
    /// 400 `invalidFilter`, "the specified attribute and filter comparison combination is not
    /// supported"). When it is, the probe is marked unsupported.
    pub fn refused_filter(&mut self, r: &Response, filter: &str) -> bool {
        let b = r.body.clone().unwrap_or(Value::Null);
        if r.status == Some(400) && b["scimType"] == "invalidFilter" {
            self.unsupported(
                format!(
                    "the server answered 400 invalidFilter to `{filter}`, as RFC 7644 §3.12 \
                     prescribes for a filter it does not support"
                ),
                "RFC 7644 §3.4.2.2, §3.12",
            );
            return true;
        }
        false
    }

    pub fn claimed(mut self, feature: &'static str) -> Probe {
        self.claimed = Some(feature);
        self
    }

    pub fn check(
        &mut self,
        rule: Rule,
        passed: bool,
        label: impl Into<String>,
        detail: impl Into<String>,
    ) -> bool {
        self.items.push((
            rule,
            Verdict {
                label: format!(
                    "{} ({}, {})",
                    label.into(),
                    rule.section,
                    level(rule.severity)
                ),
                passed,
                detail: detail.into(),
            },
        ));
        passed
    }

    /// The status is one of `want`.
    pub fn status(&mut self, rule: Rule, r: &Response, want: &[u16]) -> bool {
        let label = format!(
            "status {}",
            want.iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(" or ")
        );
        let ok = r.status.is_some_and(|s| want.contains(&s));
        self.check(rule, ok, label, got(r))
    }

    /// A SCIM Error (RFC 7644 §3.12): the status, the Error schema, `status` as a string equal
    /// to the HTTP status, and `scimType` when one is named.
    pub fn scim_error(&mut self, rule: Rule, r: &Response, want: u16, scim_type: Option<&str>) {
        if !self.status(rule, r, &[want]) {
            return;
        }
        let body = r.body.clone().unwrap_or(Value::Null);
        let is_error = body["schemas"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == ERROR_URN));
        self.check(
            must("RFC 7644 §3.12"),
            is_error,
            "the body is a SCIM Error (schemas holds the Error URN)",
            format!("got {}", body_text(r)),
        );
        self.check(
            must("RFC 7644 §3.12"),
            body["status"] == Value::String(want.to_string()),
            format!("`status` is the string \"{want}\""),
            format!("got {}", shown(&body["status"])),
        );
        if let Some(t) = scim_type {
            self.check(
                rule,
                body["scimType"] == t,
                format!("`scimType` is \"{t}\""),
                format!("got {}", shown(&body["scimType"])),
            );
        }
    }
}

/// `got 201`, or the transport error.
pub(crate) fn got(r: &Response) -> String {
    match (r.status, &r.error) {
        (_, Some(e)) => format!("no answer: {e}"),
        (Some(s), None) if s >= 400 => format!("got {}", r.describe()),
        (Some(s), None) => format!("got {s}"),
        (None, None) => "no answer".into(),
    }
}

fn body_text(r: &Response) -> String {
    match (&r.body, &r.text) {
        (Some(b), _) => shown(b),
        (None, Some(t)) => format!("{:?}", t.chars().take(120).collect::<String>()),
        (None, None) => "no body".into(),
    }
}

/// Runs the probes: `client` sends and records, `tag` scopes every name, `step` is the
/// scenario step (for findings).
pub struct Runner<'a> {
    client: &'a mut Client,
    tag: String,
    step: usize,
    caps: Caps,
    out: ProbeRun,
    /// Objects created and not deleted yet.
    created: Vec<(ObjectKind, String)>,
    seq: u32,
    declared: Declared,
}

/// Runs `groups` (every group when empty) against the client's target.
pub async fn run(client: &mut Client, tag: &str, step: usize, groups: &[ProbeGroup]) -> ProbeRun {
    let mut r = Runner {
        client,
        tag: tag.to_lowercase(),
        step,
        caps: Caps::default(),
        out: ProbeRun::default(),
        created: Vec::new(),
        seq: 0,
        declared: Declared::core(),
    };
    let groups: Vec<ProbeGroup> = if groups.is_empty() {
        ProbeGroup::ALL.to_vec()
    } else {
        ProbeGroup::ALL
            .iter()
            .copied()
            .filter(|g| groups.contains(g))
            .collect()
    };
    // Capabilities first, always; its own check only in the discovery group.
    let spc = r.read_spc(groups.contains(&ProbeGroup::Discovery)).await;
    if let Some(spc) = &spc {
        r.caps = Caps::from_spc(spc);
    }
    r.declared = r.read_schemas().await;
    // The ServiceProviderConfig check above belongs to discovery, the first group when it runs.
    let mut first = 0;
    for g in groups {
        // The group's name as scenario files spell it (`content_types`).
        let name = serde_json::to_value(g)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        crate::report::progress::detail(&format!("probes: {name}"));
        match g {
            ProbeGroup::Discovery => groups::discovery(&mut r).await,
            ProbeGroup::Crud => groups::crud(&mut r).await,
            ProbeGroup::Filters => groups::filters(&mut r).await,
            ProbeGroup::Pagination => groups::pagination(&mut r).await,
            ProbeGroup::Attributes => groups::attributes(&mut r).await,
            ProbeGroup::Patch => groups::patch(&mut r).await,
            ProbeGroup::Uniqueness => groups::uniqueness(&mut r).await,
            ProbeGroup::Errors => groups::errors(&mut r).await,
            ProbeGroup::ContentTypes => groups::content_types(&mut r).await,
            ProbeGroup::Auth => groups::auth(&mut r).await,
            ProbeGroup::Etag => groups::etag(&mut r).await,
        }
        r.cleanup().await;
        r.out.groups.push(ProbeGroupReport {
            name,
            step,
            checks: r.out.checks[first..]
                .iter()
                .map(|c| c.name.clone())
                .collect(),
        });
        first = r.out.checks.len();
    }
    r.out.leftovers = std::mem::take(&mut r.created);
    r.out
}

impl Runner<'_> {
    pub(crate) fn caps(&self) -> &Caps {
        &self.caps
    }

    /// A 401 probe needs a token to leave out.
    pub(crate) fn has_token(&self) -> bool {
        self.client.has_token()
    }

    /// A run-scoped user name: `rfc.<tag>.<hint>@example.com`.
    pub(crate) fn user_name(&self, hint: &str) -> String {
        format!("rfc.{}.{hint}@example.com", self.tag)
    }

    pub(crate) fn tag(&self) -> &str {
        &self.tag
    }

    /// A fresh number for names that must not repeat within the run.
    pub(crate) fn next(&mut self) -> u32 {
        self.seq += 1;
        self.seq
    }

    pub(crate) async fn send(&mut self, p: &mut Probe, req: Request) -> Response {
        if let Some(r) = self.refuse_unsafe(&req) {
            return r;
        }
        let path = req.path.clone();
        let r = self.client.send(req).await;
        p.exchanges.push(r.exchange);
        self.check_lookup(&path, &r);
        r
    }

    /// An `attr eq "value"` lookup whose answer holds resources that do not match it: the
    /// server ignores `filter` (RFC 7644 §3.4.2.2), one finding for the step, counted.
    fn check_lookup(&mut self, path: &str, r: &Response) {
        if r.status != Some(200) {
            return;
        }
        let (Some((kind, text, filter)), Some(resources)) = (
            crate::idp::lookup_filter(path),
            crate::idp::list_resources(r),
        ) else {
            return;
        };
        let foreign = crate::idp::split_lookup(kind, &filter, &resources).1.len();
        if foreign > 0 {
            let f = crate::idp::filter_ignored_finding(
                kind,
                &text,
                foreign,
                Some(r.exchange),
                self.step,
            );
            match self
                .out
                .findings
                .iter_mut()
                .find(|x| x.behaviour == f.behaviour)
            {
                Some(prev) => prev.count = prev.count.max(foreign),
                None => self.out.findings.push(f),
            }
        }
    }

    pub(crate) async fn send_without_auth(&mut self, p: &mut Probe, req: Request) -> Response {
        if let Some(r) = self.refuse_unsafe(&req) {
            return r;
        }
        let r = self.client.send_without_auth(req).await;
        p.exchanges.push(r.exchange);
        r
    }

    pub(crate) async fn get(&mut self, p: &mut Probe, path: &str) -> Response {
        let req = Request::new(crate::client::Method::GET, path).header("Accept", SCIM_JSON);
        self.send(p, req).await
    }

    /// A write with a SCIM JSON body.
    pub(crate) async fn write(
        &mut self,
        p: &mut Probe,
        method: crate::client::Method,
        path: &str,
        body: Value,
    ) -> Response {
        let req = Request::new(method, path)
            .header("Content-Type", SCIM_JSON)
            .header("Accept", SCIM_JSON)
            .json(body);
        self.send(p, req).await
    }

    /// POSTs `body` to the kind's endpoint; a 201 with an id is remembered for deletion.
    pub(crate) async fn create(
        &mut self,
        p: &mut Probe,
        kind: ObjectKind,
        body: Value,
    ) -> Response {
        let r = self
            .write(p, crate::client::Method::POST, kind.endpoint(), body)
            .await;
        self.remember(kind, &r);
        r
    }

    /// Remembers what a 201 created, for deletion.
    pub(crate) fn remember(&mut self, kind: ObjectKind, r: &Response) {
        if r.status == Some(201) {
            if let Some(id) = r.body.as_ref().and_then(|b| b["id"].as_str()) {
                self.created.push((kind, id.to_string()));
            }
        }
    }

    pub(crate) fn remember_id(&mut self, kind: ObjectKind, id: &str) {
        self.created.push((kind, id.to_string()));
    }

    /// Forgets an object a probe deleted itself.
    pub(crate) fn forget(&mut self, id: &str) {
        self.created.retain(|(_, x)| x != id);
    }

    /// Creates a user for a probe's set-up; `Err(why)` when it cannot (the probe is then "not
    /// run", and the `crud` probes are where a failing POST is a finding).
    pub(crate) async fn fixture_user(
        &mut self,
        p: &mut Probe,
        body: Value,
    ) -> Result<String, String> {
        let r = self.create(p, ObjectKind::User, body).await;
        let id = r
            .body
            .as_ref()
            .and_then(|b| b["id"].as_str())
            .map(str::to_string);
        match id {
            Some(id) if r.status == Some(201) => Ok(id),
            _ => Err(format!("POST /Users {}", got(&r))),
        }
    }

    /// Probes that could not run because their shared set-up failed.
    pub(crate) fn not_run(&mut self, names: &[String], why: &str) {
        for n in names {
            self.out.checks.push(check(
                n.clone(),
                Outcome::Skipped,
                format!("not run: set-up failed ({why})"),
                vec![],
            ));
        }
    }

    /// The attributes the server declares (or the RFC 7643 core set).
    pub(crate) fn declared(&self) -> &Declared {
        &self.declared
    }

    /// A user body with the run-scoped `userName`, `extra`'s declared attributes, and every
    /// attribute /Schemas marks required filled in (so a set-up POST does not fail on them).
    pub(crate) fn user(&self, user_name: &str, extra: Value) -> Value {
        self.declared.user_body(user_name, extra)
    }

    /// An INFO "not supported" probe that sent nothing (an attribute /Schemas does not
    /// declare).
    pub(crate) fn skip_unsupported(&mut self, name: &str, why: impl Into<String>) {
        let mut p = Probe::new(name);
        p.unsupported(why, "RFC 7643 §7");
        self.finish(p);
    }

    pub(crate) fn skip(&mut self, name: &str, why: impl Into<String>) {
        self.out.checks.push(check(
            format!("rfc {name}"),
            Outcome::Skipped,
            why.into(),
            vec![],
        ));
    }

    /// Turns a probe into its check, and into a finding when it failed.
    pub(crate) fn finish(&mut self, p: Probe) {
        let detail: Vec<String> = p
            .notes
            .iter()
            .cloned()
            .chain(p.items.iter().map(|(_, v)| v.line()))
            .collect();
        if let Some(why) = &p.not_run {
            let message = std::iter::once(format!("not run: {why}"))
                .chain(detail)
                .collect::<Vec<_>>()
                .join("\n");
            self.out
                .checks
                .push(check(p.name, Outcome::Skipped, message, p.exchanges));
            return;
        }
        if let Some((why, section)) = &p.unsupported {
            let message = std::iter::once(format!("not supported: {why}"))
                .chain(detail)
                .collect::<Vec<_>>()
                .join("\n");
            self.out.findings.push(Finding {
                severity: Severity::Info,
                behaviour: format!("{BEHAVIOUR_PREFIX}: {}", p.name.trim_start_matches("rfc ")),
                source: section.to_string(),
                inferred: false,
                message: message.clone(),
                exchange: p.exchanges.last().copied(),
                step: self.step,
                count: 1,
                examples: Vec::new(),
            });
            self.out
                .checks
                .push(check(p.name, Outcome::Skipped, message, p.exchanges));
            return;
        }
        let failed: Vec<&(Rule, Verdict)> = p.items.iter().filter(|(_, v)| !v.passed).collect();
        let n = p.items.len();
        let mut lines = vec![if failed.is_empty() {
            format!("all {n} assertions passed")
        } else {
            let claim = p
                .claimed
                .map(|f| {
                    format!(
                        "claimed in ServiceProviderConfig ({f}.supported: true) but the server \
                         does not do it: "
                    )
                })
                .unwrap_or_default();
            format!("{claim}{} of {n} assertions failed", failed.len())
        }];
        lines.extend(detail);
        let message = lines.join("\n");
        if !failed.is_empty() {
            let severity = if failed.iter().any(|(r, _)| r.severity == Severity::Must) {
                Severity::Must
            } else if failed.iter().any(|(r, _)| r.severity == Severity::Should) {
                Severity::Should
            } else {
                Severity::May
            };
            // The section of the most serious failed assertion.
            let first = failed
                .iter()
                .find(|(r, _)| r.severity == severity)
                .map(|(r, _)| r)
                .expect("one failed assertion has the highest severity");
            self.out.findings.push(Finding {
                severity,
                behaviour: format!("{BEHAVIOUR_PREFIX}: {}", p.name.trim_start_matches("rfc ")),
                source: first.section.to_string(),
                inferred: false,
                message: message.clone(),
                exchange: p.exchanges.last().copied(),
                step: self.step,
                count: 1,
                examples: Vec::new(),
            });
        }
        self.out.checks.push(check(
            p.name,
            if failed.is_empty() {
                Outcome::Passed
            } else {
                Outcome::Failed
            },
            message,
            p.exchanges,
        ));
    }

    async fn read_spc(&mut self, report: bool) -> Option<Value> {
        let mut p = Probe::new("discovery GET /ServiceProviderConfig");
        let r = self.get(&mut p, "/ServiceProviderConfig").await;
        let body = r.body.clone().filter(|_| r.status == Some(200));
        if report {
            groups::spc_shape(&mut p, &r);
            self.finish(p);
        }
        body
    }

    /// A request whose path holds a server-chosen id that is path syntax (`../../X`) is never
    /// sent: a finding, and a transport-error answer for the probe.
    fn refuse_unsafe(&mut self, req: &Request) -> Option<Response> {
        let why = crate::idp::refuse_unsafe_path(req, self.step, &mut self.out.findings)?;
        Some(Response::refused(format!("refused by scimulator: {why}")))
    }

    /// What /Schemas declares for User and Group; the RFC 7643 core set for what it does not
    /// say (no /Schemas, or no such schema in it).
    async fn read_schemas(&mut self) -> Declared {
        fn found(urn: &str, list: &Option<Value>) -> Option<Vec<AttrDef>> {
            list.as_ref()?["Resources"]
                .as_array()?
                .iter()
                .find(|s| s["id"] == urn)
                .and_then(|s| AttrDef::list(&s["attributes"]))
        }
        let req = Request::new(crate::client::Method::GET, "/Schemas").header("Accept", SCIM_JSON);
        let resp = self.client.send(req).await;
        let list = resp.body.clone().filter(|_| resp.status == Some(200));
        let mut user = found(USER_URN, &list);
        let mut group = found(GROUP_URN, &list);
        for (urn, slot) in [(USER_URN, &mut user), (GROUP_URN, &mut group)] {
            if slot.is_none() {
                let req = Request::new(crate::client::Method::GET, format!("/Schemas/{urn}"))
                    .header("Accept", SCIM_JSON);
                let one = self.client.send(req).await;
                if one.status == Some(200) {
                    *slot = one
                        .body
                        .as_ref()
                        .and_then(|b| AttrDef::list(&b["attributes"]));
                }
            }
        }
        let core = Declared::core();
        // RFC 7643 §3.1: the common attributes (id, externalId, meta) "MUST be defined for all
        // resources" and belong to no schema, so a /Schemas without externalId still has it.
        for list in [&mut user, &mut group].into_iter().flatten() {
            if !list
                .iter()
                .any(|a| a.name.eq_ignore_ascii_case("externalId"))
            {
                if let Some(e) = core.user.iter().find(|a| a.name == "externalId") {
                    list.push(e.clone());
                }
            }
        }
        Declared {
            from_server: user.is_some(),
            user: user.unwrap_or(core.user),
            group: group.unwrap_or(core.group),
        }
    }

    /// Deletes what the probes created (groups first): only ids that came back from the
    /// probes' own POSTs. What cannot be deleted (or has an id that is path syntax) is left to
    /// the runner, which reports it; what was deleted is read back by the runner's clean-up.
    async fn cleanup(&mut self) {
        let mut created = std::mem::take(&mut self.created);
        created.sort_by_key(|(k, _)| if *k == ObjectKind::Group { 0 } else { 1 });
        for (kind, id) in created {
            if crate::scim::id::problem(&id).is_some() {
                self.created.push((kind, id));
                continue;
            }
            let r = self
                .client
                .send(Request::new(
                    crate::client::Method::DELETE,
                    crate::scim::id::object_path(kind.endpoint(), &id),
                ))
                .await;
            if matches!(r.status, Some(200 | 204 | 404)) {
                self.out.deleted.push((kind, id));
            } else {
                self.created.push((kind, id));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spc_features_are_read_and_default_when_unreadable() {
        let c = Caps::from_spc(&serde_json::json!({
            "patch": {"supported": true}, "filter": {"supported": false},
            "etag": {"supported": true}, "bulk": {"supported": false}
        }));
        assert!(c.patch && c.etag && !c.filter && !c.sort && !c.bulk);
        let d = Caps::default();
        assert!(d.patch && d.filter && !d.etag);
    }

    fn runner(client: &mut Client) -> Runner<'_> {
        Runner {
            client,
            tag: "t".into(),
            step: 3,
            caps: Caps::default(),
            out: ProbeRun::default(),
            created: vec![],
            seq: 0,
            declared: Declared::core(),
        }
    }

    fn client() -> Client {
        Client::new(crate::client::ClientConfig {
            base_url: "http://127.0.0.1:9".into(),
            token: None,
            timeout: std::time::Duration::from_secs(1),
        })
        .unwrap()
    }

    #[test]
    fn unsupported_is_information_and_not_run_is_no_finding() {
        let mut c = client();
        let mut r = runner(&mut c);
        let mut p = Probe::new("filter co").claimed("filter");
        p.check(must("RFC 7644 §3.4.2.2"), false, "status 200", "got 400");
        p.unsupported("400 invalidFilter to `userName co \"x\"`", "RFC 7644 §3.12");
        r.finish(p);
        let mut p = Probe::new("etag version is returned");
        p.setup_failed("POST /Users got HTTP 400: name is required");
        r.finish(p);
        assert_eq!(r.out.checks[0].outcome, Outcome::Skipped);
        assert!(r.out.checks[0]
            .message
            .starts_with("not supported: 400 invalidFilter"));
        assert_eq!(r.out.findings.len(), 1, "{:?}", r.out.findings);
        assert_eq!(r.out.findings[0].severity, Severity::Info);
        assert_eq!(r.out.findings[0].source, "RFC 7644 §3.12");
        assert_eq!(r.out.checks[1].outcome, Outcome::Skipped);
        assert_eq!(
            r.out.checks[1].message,
            "not run: set-up failed (POST /Users got HTTP 400: name is required)"
        );
    }

    #[test]
    fn a_failed_probe_cites_its_section_and_level_and_becomes_a_finding() {
        let mut p = Probe::new("patch remove with path").claimed("patch");
        p.check(must("RFC 7644 §3.5.2"), true, "status 204", "got 204");
        p.check(
            should("RFC 7644 §3.5.2.2"),
            false,
            "title is gone",
            "title still \"x\"",
        );
        let mut client = Client::new(crate::client::ClientConfig {
            base_url: "http://127.0.0.1:9".into(),
            token: None,
            timeout: std::time::Duration::from_secs(1),
        })
        .unwrap();
        let mut r = Runner {
            client: &mut client,
            tag: "t".into(),
            step: 3,
            caps: Caps::default(),
            out: ProbeRun::default(),
            created: vec![],
            seq: 0,
            declared: Declared::core(),
        };
        r.finish(p);
        let c = &r.out.checks[0];
        assert_eq!(c.name, "rfc patch remove with path");
        assert_eq!(c.outcome, Outcome::Failed);
        assert!(c.message.starts_with(
            "claimed in ServiceProviderConfig (patch.supported: true) but the server does not \
             do it: 1 of 2 assertions failed"
        ));
        assert!(c
            .message
            .contains("FAIL title is gone (RFC 7644 §3.5.2.2, SHOULD): title still \"x\""));
        let f = &r.out.findings[0];
        assert_eq!(f.severity, Severity::Should);
        assert_eq!(f.source, "RFC 7644 §3.5.2.2");
        assert_eq!(f.behaviour, "RFC 7643/7644: patch remove with path");
        assert_eq!(f.step, 3);
    }
}
