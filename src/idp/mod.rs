//! IdP profiles and the mechanism they share: the context a profile works in (client, source
//! directory, sync state, provisioning log, findings), the safety ledger, and the behaviour
//! names findings cite. One file per IdP: `entra.rs`.

pub mod duo;
pub mod entra;
pub mod mapping;
pub mod okta;
pub mod okta_spec;

use crate::client::{Client, Request, Response};
use crate::report::model::{Finding, LogEntry, Severity};
use crate::runner::directory::SourceDirectory;
use crate::runner::sync::{ObjectKind, SyncState};
use std::collections::{BTreeMap, BTreeSet};

/// A named IdP behaviour with its public source: what a finding says broke.
#[derive(Debug, Clone, Copy)]
pub struct Behaviour {
    pub name: &'static str,
    pub source: &'static str,
    /// No public source shows it; the simulator infers it.
    pub inferred: bool,
}

/// Objects the run created or matched to its own source objects: the only ones it may PATCH,
/// PUT or DELETE, and the ones read back and cleaned up.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    pub created: Vec<(ObjectKind, String)>,
    /// `created` as a set: `own` dedups by hash (a scan was quadratic at 10,000 users).
    pub created_set: std::collections::HashSet<(ObjectKind, String)>,
    pub touchable: BTreeSet<(ObjectKind, String)>,
    /// Every write to each target id, in order: what a failed state check blames.
    pub writes: BTreeMap<String, Vec<Write>>,
}

/// One write the IdP sent to an object, and the top-level attributes it touched (`*`: all).
#[derive(Debug, Clone)]
pub struct Write {
    pub exchange: u64,
    pub behaviour: Behaviour,
    pub fields: Vec<String>,
}

impl Ledger {
    /// The last write to any of `ids` that touched one of `fields` (or everything), else the
    /// last write at all.
    pub fn blame(&self, ids: &[String], fields: &[String]) -> Option<&Write> {
        let all: Vec<&Write> = ids
            .iter()
            .filter_map(|id| self.writes.get(id))
            .flatten()
            .collect();
        let touches = |w: &&Write| {
            w.fields
                .iter()
                .any(|f| f == "*" || fields.iter().any(|x| x == "*" || x.eq_ignore_ascii_case(f)))
        };
        all.iter()
            .copied()
            .filter(touches)
            .max_by_key(|w| w.exchange)
            .or_else(|| all.iter().copied().max_by_key(|w| w.exchange))
    }
}

/// Top-level attributes a request body writes: PATCH op paths and path-less keys, or the keys
/// of a POST/PUT body. Extension attributes count as their schema URN.
fn touched_fields(method: &str, body: Option<&serde_json::Value>) -> Vec<String> {
    use crate::scim::schema::split_attr_path;
    let top = |path: &str| -> String {
        let head = path.split('[').next().unwrap_or(path);
        match split_attr_path(head) {
            (Some(urn), _, _) if !urn.to_ascii_lowercase().contains(":core:") => urn.to_string(),
            (_, name, _) => name.to_string(),
        }
    };
    match (method, body) {
        ("DELETE", _) | (_, None) => vec!["*".into()],
        ("PATCH", Some(b)) => {
            let mut out = Vec::new();
            for op in b
                .get("Operations")
                .and_then(|o| o.as_array())
                .into_iter()
                .flatten()
            {
                match op.get("path").and_then(|p| p.as_str()) {
                    Some(p) => out.push(top(p)),
                    None => out.extend(
                        op.get("value")
                            .and_then(|v| v.as_object())
                            .into_iter()
                            .flatten()
                            .map(|(k, _)| top(k)),
                    ),
                }
            }
            out
        }
        (_, Some(b)) => b
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default(),
    }
}

/// Everything a profile works with while a step runs.
pub struct Ctx<'a> {
    pub client: &'a mut Client,
    pub dir: &'a mut SourceDirectory,
    pub sync: &'a mut SyncState,
    pub log: &'a mut Vec<LogEntry>,
    pub findings: &'a mut Vec<Finding>,
    pub ledger: &'a mut Ledger,
    pub step: usize,
    /// The IdP's display name for findings: `Entra ID`.
    pub idp_name: &'static str,
}

/// Splits `/Users/{id}?…` into kind and id.
fn target_of(path: &str) -> Option<(ObjectKind, String)> {
    let p = path.split('?').next()?;
    let mut it = p.trim_start_matches('/').splitn(2, '/');
    let kind = match it.next()? {
        "Users" => ObjectKind::User,
        "Groups" => ObjectKind::Group,
        _ => return None,
    };
    let id = it.next().filter(|s| !s.is_empty() && !s.contains('/'))?;
    Some((
        kind,
        percent_encoding::percent_decode_str(id)
            .decode_utf8_lossy()
            .into_owned(),
    ))
}

/// A PatchOp body.
pub fn patch_body(ops: Vec<serde_json::Value>) -> serde_json::Value {
    serde_json::json!({"schemas": [crate::scim::schema::PATCH_URN], "Operations": ops})
}

/// `attr eq "value"`, the value quoted as JSON.
pub fn filter_eq(attr: &str, value: &str) -> String {
    format!(
        "{attr} eq {}",
        serde_json::to_string(value).unwrap_or_default()
    )
}

/// The resources of a ListResponse (`Resources`, or Okta-tolerated `resources`); `None` when
/// the answer is not one.
pub fn list_resources(resp: &Response) -> Option<Vec<serde_json::Value>> {
    use serde_json::Value;
    let b = resp.body.as_ref()?;
    match b.get("Resources").or_else(|| b.get("resources")) {
        Some(Value::Array(a)) => Some(a.clone()),
        None if b.get("totalResults").and_then(Value::as_u64) == Some(0) => Some(Vec::new()),
        _ => None,
    }
}

impl Ctx<'_> {
    /// Sends; a 429 is retried after its Retry-After (capped at `retry` seconds), up to three
    /// times, when `retry` is set.
    pub async fn send_retrying(
        &mut self,
        req: Request,
        behaviour: Behaviour,
        retry: Option<u64>,
    ) -> Response {
        let mut tries = 0;
        loop {
            let resp = self.send(req.clone(), behaviour).await;
            match retry {
                Some(max) if resp.status == Some(429) && tries < 3 => {
                    tries += 1;
                    let wait = resp.retry_after.unwrap_or(1).min(max);
                    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
                }
                _ => return resp,
            }
        }
    }

    /// Sends a request for `behaviour`. A write to an object the run does not own is refused
    /// before it leaves; a failed answer becomes a finding naming the behaviour (unless the
    /// scenario injected the failure).
    pub async fn send(&mut self, req: Request, behaviour: Behaviour) -> Response {
        let write = matches!(req.method.as_str(), "PATCH" | "PUT" | "DELETE");
        if write {
            if let Some(t) = target_of(&req.path) {
                if !self.ledger.touchable.contains(&t) {
                    self.findings.push(Finding {
                        severity: Severity::Must,
                        behaviour:
                            "scimulator safety: writes only to objects this run created or matched"
                                .into(),
                        source: "shared/DESIGN.md".into(),
                        inferred: false,
                        message: format!(
                            "refused {} {}: the run did not create or match {}",
                            req.method, req.path, t.1
                        ),
                        exchange: None,
                        step: self.step,
                        count: 1,
                        examples: Vec::new(),
                    });
                    return Response {
                        exchange: 0,
                        status: None,
                        body: None,
                        text: None,
                        retry_after: None,
                        error: Some(crate::client::TransportError::Other(
                            "refused by the safety ledger".into(),
                        )),
                        headers: Vec::new(),
                    };
                }
            }
        }
        self.client.step = self.step;
        let resp = self.client.send(req.clone()).await;
        let written = match target_of(&req.path) {
            Some((_, id)) if write => Some(id),
            _ if req.method == reqwest::Method::POST => resp
                .body
                .as_ref()
                .and_then(|b| b.get("id"))
                .and_then(|v| v.as_str())
                .map(str::to_string),
            _ => None,
        };
        if let Some(id) = written {
            let fields = touched_fields(req.method.as_str(), req.body.as_ref());
            self.ledger.writes.entry(id).or_default().push(Write {
                exchange: resp.exchange,
                behaviour,
                fields,
            });
        }
        let injected = self
            .client
            .exchanges()
            .last()
            .is_some_and(|e| e.fault.is_some());
        if !resp.ok() && !injected {
            self.findings.push(Finding {
                severity: Severity::Must,
                behaviour: format!("{}: {}", self.idp_name, behaviour.name),
                source: behaviour.source.to_string(),
                inferred: behaviour.inferred,
                message: format!("{} {} answered {}", req.method, req.path, resp.describe()),
                exchange: Some(resp.exchange),
                step: self.step,
                count: 1,
                examples: Vec::new(),
            });
        }
        resp
    }

    /// Records an object this run created (or matched): it may now be written, and is read back.
    pub fn own(&mut self, kind: ObjectKind, id: &str, created: bool) {
        self.ledger.touchable.insert((kind, id.to_string()));
        if created && self.ledger.created_set.insert((kind, id.to_string())) {
            self.ledger.created.push((kind, id.to_string()));
        }
    }

    /// Links source object `key` to the target object `id` this run created or matched, and
    /// records it as the run's own: the one place a profile takes ownership.
    pub fn adopt(
        &mut self,
        kind: ObjectKind,
        key: &str,
        id: &str,
        created: bool,
        view_sent: Option<serde_json::Value>,
    ) {
        self.own(kind, id, created);
        let link = crate::runner::sync::Link {
            target_id: id.to_string(),
            managed: true,
            view_sent,
            ..Default::default()
        };
        self.sync.links_mut(kind).insert(key.to_string(), link);
    }

    /// A finding about what came back, not about the status (missing `id`, wrong shape).
    pub fn finding(&mut self, behaviour: Behaviour, message: String, exchange: Option<u64>) {
        self.findings.push(Finding {
            severity: Severity::Must,
            behaviour: format!("{}: {}", self.idp_name, behaviour.name),
            source: behaviour.source.to_string(),
            inferred: behaviour.inferred,
            message,
            exchange,
            step: self.step,
            count: 1,
            examples: Vec::new(),
        });
    }

    #[allow(clippy::too_many_arguments)]
    pub fn log(
        &mut self,
        identity: &str,
        kind: ObjectKind,
        action: &str,
        status: &str,
        error_code: Option<String>,
        detail: Option<String>,
        modified: Vec<String>,
        exchanges: Vec<u64>,
    ) {
        self.log.push(LogEntry {
            date: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            identity: identity.to_string(),
            object_type: kind.name().to_string(),
            action: action.to_string(),
            status: status.to_string(),
            error_code,
            detail,
            modified_properties: modified,
            exchanges: exchanges.into_iter().filter(|e| *e != 0).collect(),
        });
    }
}

/// The profile a scenario runs, chosen by its `idp`.
pub enum Profile {
    Entra(entra::Entra),
    Okta(okta::Okta),
    Duo(duo::Duo),
    /// `idp: rfc`: no IdP at all, the conformance probes of `scimulator check`; only the
    /// `rfc_probes` step does anything. The mapping is only there for the shared read-back.
    Rfc(Box<mapping::Mapping>),
}

/// What an IdP action says in an `idp: rfc` scenario.
const NOT_AN_IDP: &str = "not an IdP action: `idp: rfc` scenarios run `rfc_probes` steps only";

impl Profile {
    pub fn new(
        idp: &str,
        settings: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Profile, String> {
        match idp {
            "entra" => entra::Entra::new(settings).map(Profile::Entra),
            "okta" => okta::Okta::new(false, settings).map(Profile::Okta),
            "okta-aiw" => okta::Okta::new(true, settings).map(Profile::Okta),
            "duo" => duo::Duo::new(settings).map(Profile::Duo),
            "rfc" if settings.is_empty() => mapping::Mapping::load("entra-default")
                .map(|m| Profile::Rfc(Box::new(m)))
                .map_err(|e| e.to_string()),
            "rfc" => Err("`idp: rfc` takes no settings".into()),
            other => Err(format!(
                "IdP '{other}' is not simulated yet (available: entra, okta, okta-aiw, duo, rfc)"
            )),
        }
    }

    /// The IdP's name in findings and reports.
    pub fn display_name(&self) -> &'static str {
        match self {
            Profile::Entra(_) => "Entra ID",
            Profile::Okta(o) if o.aiw => "Okta (AIW)",
            Profile::Okta(_) => "Okta",
            Profile::Duo(_) => "Duo",
            Profile::Rfc(_) => "RFC 7643/7644",
        }
    }

    /// The settings in force, defaults filled in (for reports).
    pub fn settings_json(&self) -> serde_json::Value {
        match self {
            Profile::Entra(e) => e.settings_json(),
            Profile::Okta(o) => o.settings_json(),
            Profile::Duo(d) => d.settings_json(),
            Profile::Rfc(_) => serde_json::json!({}),
        }
    }

    pub fn mapping(&self) -> &mapping::Mapping {
        match self {
            Profile::Entra(e) => &e.mapping,
            Profile::Okta(o) => &o.mapping,
            Profile::Duo(d) => &d.mapping,
            Profile::Rfc(m) => m,
        }
    }

    /// What this IdP, with these settings, does to objects leaving scope or deleted.
    pub fn rules(&self) -> crate::check::expected::Rules {
        use crate::check::expected::{Deprovision, Rules};
        match self {
            Profile::Entra(e) => Rules {
                out_of_scope_user: if e.settings.skip_out_of_scope_deletions {
                    Deprovision::Nothing
                } else {
                    Deprovision::Disable
                },
                disabled_user: Deprovision::Disable,
                deleted_user: if e.settings.actions.delete {
                    Deprovision::Delete
                } else {
                    Deprovision::Nothing
                },
                out_of_scope_group: if e.settings.actions.delete
                    && !e.settings.skip_out_of_scope_deletions
                {
                    Deprovision::Delete
                } else {
                    Deprovision::Nothing
                },
                groups_follow_push: false,
                clears_attributes: false,
                groups: true,
            },
            // Okta deactivates users and never deletes them (S1, S5); groups live in the app
            // while pushed, or after an unlink that leaves them there.
            Profile::Okta(o) => Rules {
                out_of_scope_user: if o.settings.deactivate_users {
                    Deprovision::Disable
                } else {
                    Deprovision::Nothing
                },
                disabled_user: if o.settings.deactivate_users {
                    Deprovision::Disable
                } else {
                    Deprovision::Nothing
                },
                deleted_user: if o.settings.deactivate_users {
                    Deprovision::Disable
                } else {
                    Deprovision::Nothing
                },
                out_of_scope_group: Deprovision::Delete,
                groups_follow_push: true,
                clears_attributes: true,
                groups: true,
            },
            // Duo's "User deprovisioning behavior" (Deactivate Users or Delete Users) applies to
            // every user that leaves; groups follow their assignment unless "Exclude group
            // information" is ticked (https://www.cisco.com/c/en/us/support/docs/security/secure-access/225885-provision-users-and-groups-to-secure.html).
            Profile::Duo(d) => {
                let users = match d.settings.deprovisioning {
                    duo::Deprovisioning::Deactivate => Deprovision::Disable,
                    duo::Deprovisioning::Delete => Deprovision::Delete,
                };
                Rules {
                    out_of_scope_user: users,
                    disabled_user: users,
                    deleted_user: users,
                    out_of_scope_group: Deprovision::Delete,
                    groups_follow_push: false,
                    clears_attributes: false,
                    groups: !d.settings.exclude_group_information,
                }
            }
            // No source directory is provisioned: nothing is expected to leave.
            Profile::Rfc(_) => Rules {
                out_of_scope_user: Deprovision::Nothing,
                disabled_user: Deprovision::Nothing,
                deleted_user: Deprovision::Nothing,
                out_of_scope_group: Deprovision::Nothing,
                groups_follow_push: false,
                clears_attributes: false,
                groups: true,
            },
        }
    }

    pub async fn test_connection(&self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        match self {
            Profile::Entra(e) => e.test_connection(ctx).await,
            Profile::Okta(o) => o.test_connection(ctx).await,
            Profile::Duo(d) => d.test_connection(ctx).await,
            Profile::Rfc(_) => Err(NOT_AN_IDP.into()),
        }
    }

    pub async fn cycle(&self, ctx: &mut Ctx<'_>, kind: crate::scenario::model::CycleKind) {
        match self {
            Profile::Entra(e) => e.cycle(ctx, kind).await,
            // Okta has no cycles: a cycle step just lets it react to what changed.
            Profile::Okta(o) => o.react(ctx).await,
            Profile::Duo(d) => d.react(ctx).await,
            Profile::Rfc(_) => {}
        }
    }

    /// Event-driven IdPs (Okta) react to each directory change as it happens; Entra waits
    /// for its next cycle.
    pub async fn react(&self, ctx: &mut Ctx<'_>) {
        match self {
            Profile::Entra(_) | Profile::Rfc(_) => {}
            Profile::Okta(o) => o.react(ctx).await,
            Profile::Duo(d) => d.react(ctx).await,
        }
    }

    fn okta(&self, what: &str) -> Result<&okta::Okta, String> {
        match self {
            Profile::Okta(o) => Ok(o),
            _ => Err(format!(
                "`{what}` is an Okta action; this scenario's IdP is {}",
                self.display_name()
            )),
        }
    }

    pub async fn push_groups(
        &self,
        ctx: &mut Ctx<'_>,
        groups: &[String],
        link: bool,
    ) -> Result<(), String> {
        self.okta(if link { "link_groups" } else { "push_groups" })?
            .push(ctx, groups, link)
            .await
    }

    pub async fn push_now(&self, ctx: &mut Ctx<'_>, groups: &[String]) -> Result<(), String> {
        self.okta("push_now")?.push_now(ctx, groups).await
    }

    pub async fn unlink_groups(
        &self,
        ctx: &mut Ctx<'_>,
        groups: &[String],
        delete: bool,
    ) -> Result<(), String> {
        self.okta("unlink_groups")?
            .unlink(ctx, groups, delete)
            .await
    }

    pub async fn import(
        &self,
        ctx: &mut Ctx<'_>,
    ) -> Result<Vec<crate::report::model::CheckReport>, String> {
        Ok(self.okta("import")?.import(ctx).await)
    }

    pub fn restart(&self, ctx: &mut Ctx<'_>, scope: crate::scenario::model::RestartScope) {
        match self {
            Profile::Entra(e) => e.restart(ctx, scope),
            Profile::Okta(_) => ctx.sync.restart(scope),
            Profile::Duo(_) => ctx.sync.restart(scope),
            Profile::Rfc(_) => {}
        }
    }

    pub async fn provision_on_demand(
        &self,
        ctx: &mut Ctx<'_>,
        od: &crate::scenario::model::OnDemand,
    ) -> Result<(), String> {
        match self {
            Profile::Entra(e) => e.provision_on_demand(ctx, od).await,
            Profile::Okta(_) => Err("provision on demand is an Entra ID action".into()),
            Profile::Duo(_) => Err("provision on demand is an Entra ID action".into()),
            Profile::Rfc(_) => Err(NOT_AN_IDP.into()),
        }
    }
}
