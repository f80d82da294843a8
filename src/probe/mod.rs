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
//! with "claimed in ServiceProviderConfig but ...". Every name the probes create carries the
//! scenario's tag (`rfc.r3f9a1c01.a@example.com`), and every object they create is deleted
//! before the step ends.

mod groups;

use crate::client::{Client, Request, Response};
use crate::idp::okta_spec::{check, shown, Verdict};
use crate::report::model::{CheckReport, Finding, Outcome, ProbeGroupReport, Severity};
use crate::runner::sync::ObjectKind;
use crate::scenario::model::ProbeGroup;
use serde_json::Value;

pub(crate) const SCIM_JSON: &str = "application/scim+json";
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
}

impl Probe {
    pub fn new(name: &str) -> Probe {
        Probe {
            name: format!("rfc {name}"),
            items: Vec::new(),
            exchanges: Vec::new(),
            claimed: None,
        }
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
        let r = self.client.send(req).await;
        p.exchanges.push(r.exchange);
        r
    }

    pub(crate) async fn send_without_auth(&mut self, p: &mut Probe, req: Request) -> Response {
        let r = self.client.send_without_auth(req).await;
        p.exchanges.push(r.exchange);
        r
    }

    pub(crate) async fn get(&mut self, p: &mut Probe, path: &str) -> Response {
        let req = Request::new(reqwest::Method::GET, path).header("Accept", SCIM_JSON);
        self.send(p, req).await
    }

    /// A write with a SCIM JSON body.
    pub(crate) async fn write(
        &mut self,
        p: &mut Probe,
        method: reqwest::Method,
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
            .write(p, reqwest::Method::POST, kind.endpoint(), body)
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

    /// Creates a user for a probe's set-up; `None` (with a failed assertion) when it cannot.
    pub(crate) async fn fixture_user(&mut self, p: &mut Probe, body: Value) -> Option<String> {
        let r = self.create(p, ObjectKind::User, body).await;
        let id = r
            .body
            .as_ref()
            .and_then(|b| b["id"].as_str())
            .map(str::to_string);
        match id {
            Some(id) if r.status == Some(201) => Some(id),
            _ => {
                p.check(
                    must("RFC 7644 §3.3"),
                    false,
                    "set-up: POST /Users creates the probe's user (201 with an id)",
                    got(&r),
                );
                None
            }
        }
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
        lines.extend(p.items.iter().map(|(_, v)| v.line()));
        let message = lines.join("\n");
        if let Some((first, _)) = failed.first() {
            let severity = if failed.iter().any(|(r, _)| r.severity == Severity::Must) {
                Severity::Must
            } else if failed.iter().any(|(r, _)| r.severity == Severity::Should) {
                Severity::Should
            } else {
                Severity::May
            };
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

    /// Deletes what the probes created (groups first); what cannot be deleted is left to the
    /// runner.
    async fn cleanup(&mut self) {
        let mut created = std::mem::take(&mut self.created);
        created.sort_by_key(|(k, _)| if *k == ObjectKind::Group { 0 } else { 1 });
        for (kind, id) in created {
            let r = self
                .client
                .send(Request::new(
                    reqwest::Method::DELETE,
                    format!("{}/{id}", kind.endpoint()),
                ))
                .await;
            if !matches!(r.status, Some(200 | 204 | 404)) {
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
