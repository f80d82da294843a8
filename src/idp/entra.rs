//! Microsoft Entra ID's provisioning service, as `../shared/reference/entra.md` describes it
//! (§2–§5). Every request shape cites its source; `inferred: true` marks what no public source
//! shows. A group in the initial cycle, default dialect
//! (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups):
//!
//! ```text
//! GET   /Groups?excludedAttributes=members&filter=displayName+eq+%22IT-Admins%22
//! POST  /Groups  {"schemas":[…core:2.0:Group, …ADSCIM/2.0/Group],"externalId":"…","displayName":"IT-Admins","meta":{"resourceType":"Group"}}
//! PATCH /Groups/{id}  {"schemas":[…PatchOp],"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"<user id>"}]}]}
//! ```
//!
//! The provisioning log entries (Create, then Update for the members) come from what the
//! server answered, never from the scenario.

use crate::check::expected::{Deprovision, Rules};
use crate::client::Method;
use crate::client::{form_encode, Request, Response, TransportError};
use crate::idp::engine::Engine;
use crate::idp::mapping::differences;
use crate::idp::mapping::Mapping;
use crate::idp::sync::Link;
use crate::idp::wire::{self, yes, Wire};
use crate::idp::{filter_eq, list_resources, object_path, patch_body, Behaviour, Ctx};
use crate::scenario::model::{CycleKind, OnDemand, RestartScope};
use crate::scim::kind::ObjectKind;
use crate::scim::patch::get_path;
use crate::scim::schema::{
    ADSCIM_GROUP_URN, ENTERPRISE_URN, GROUP_TYPE, GROUP_URN, USER_TYPE, USER_URN,
};
use crate::source::{Group, User};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

const E: &str = "https://learn.microsoft.com/en-us/entra/identity/monitoring-health/howto-analyze-provisioning-logs";
const P: &str =
    "https://learn.microsoft.com/en-us/entra/identity/app-provisioning/provision-on-demand";
const Q: &str = "https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-quarantine-status";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Dialect {
    /// No flag: PascalCase ops, "True"/"False" strings, one op per attribute, members removed
    /// with a value array.
    #[default]
    #[serde(rename = "default")]
    Default,
    /// `aadOptscim062020`: lowercase ops, booleans, one path-less replace, filtered member removal.
    #[serde(rename = "aadOptscim062020")]
    AadOptscim062020,
}

impl Dialect {
    /// As written in `settings: { dialect: ... }` and shown in the verdict.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Default => "default",
            Dialect::AadOptscim062020 => "aadOptscim062020",
        }
    }
}

/// What Entra does with a 429 (https://learn.microsoft.com/en-us/answers/questions/2284725/understanding-scim-client-request-behavior-and-exp
/// says it pauses for Retry-After and retries; older feedback says it retries next cycle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Retry429 {
    #[default]
    InCycle,
    NextCycle,
}

fn default_mapping() -> String {
    "entra-default".into()
}

fn default_wait() -> u64 {
    5
}

/// Target object actions (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/how-provisioning-works).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actions {
    #[serde(default = "yes")]
    pub create: bool,
    #[serde(default = "yes")]
    pub update: bool,
    #[serde(default = "yes")]
    pub delete: bool,
}

impl Default for Actions {
    fn default() -> Self {
        Actions {
            create: true,
            update: true,
            delete: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntraSettings {
    #[serde(default)]
    pub dialect: Dialect,
    /// A bundled mapping name or a mapping file.
    #[serde(default = "default_mapping")]
    pub mapping: String,
    /// Matching target attributes in precedence order; default: the mapping's.
    #[serde(default)]
    pub matching: Option<Vec<String>>,
    /// Out-of-scope users are left alone instead of disabled
    /// (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/skip-out-of-scope-deletions).
    #[serde(default)]
    pub skip_out_of_scope_deletions: bool,
    #[serde(default)]
    pub actions: Actions,
    #[serde(default)]
    pub retry_429: Retry429,
    /// Longest Retry-After the simulator honours before retrying, in seconds.
    #[serde(default = "default_wait")]
    pub max_retry_wait_secs: u64,
}

pub struct Entra {
    pub settings: EntraSettings,
    pub mapping: Mapping,
    /// `src/idp/wires/entra.yaml`.
    pub wire: Wire,
}

/// Why one object's processing failed: the log entry's error code and detail.
struct Failure {
    code: String,
    detail: String,
}

fn failure(resp: &Response, not_found: &str) -> Failure {
    // Error codes of https://learn.microsoft.com/en-us/entra/identity/monitoring-health/howto-analyze-provisioning-logs;
    // which status maps to which code is partly inferred.
    let code = match (&resp.error, resp.status) {
        (Some(TransportError::Timeout(_)), _) => "Timeout",
        (Some(_), _) => "SystemForCrossDomainIdentityManagementServiceUnavailable",
        (None, Some(409)) => "EntryConflict",
        (None, Some(404)) => not_found,
        (None, Some(401)) => "Unauthorized",
        (None, Some(403)) => "InsufficientRights",
        (None, Some(429)) => "TooManyRequests",
        (None, Some(s)) if s >= 500 => "InternalServerError",
        (None, Some(_)) => "SystemForCrossDomainIdentityManagementBadRequest",
        (None, None) => "Unknown",
    };
    Failure {
        code: code.into(),
        detail: resp.describe(),
    }
}

impl Entra {
    pub fn new(settings: &Map<String, Value>) -> Result<Entra, String> {
        let settings: EntraSettings = serde_json::from_value(Value::Object(settings.clone())).map_err(|e| {
            format!("{e}; Entra settings are dialect (default | aadOptscim062020), mapping, matching, skip_out_of_scope_deletions, actions {{create, update, delete}}, retry_429 (in-cycle | next-cycle), max_retry_wait_secs")
        })?;
        let mapping = Mapping::load(&settings.mapping).map_err(|e| e.to_string())?;
        let wire = wire::entra().clone();
        Ok(Entra {
            settings,
            mapping,
            wire,
        })
    }

    /// What Entra does to users and groups leaving scope or deleted: out-of-scope users are
    /// disabled unless "skip out-of-scope deletions" is on
    /// (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/skip-out-of-scope-deletions);
    /// deletes only when the delete action is enabled.
    pub fn rules(&self) -> Rules {
        let s = &self.settings;
        Rules {
            out_of_scope_user: if s.skip_out_of_scope_deletions {
                Deprovision::Nothing
            } else {
                Deprovision::Disable
            },
            disabled_user: Deprovision::Disable,
            deleted_user: if s.actions.delete {
                Deprovision::Delete
            } else {
                Deprovision::Nothing
            },
            out_of_scope_group: if s.actions.delete && !s.skip_out_of_scope_deletions {
                Deprovision::Delete
            } else {
                Deprovision::Nothing
            },
            groups_follow_push: false,
            clears_attributes: false,
            groups: true,
        }
    }

    pub fn settings_json(&self) -> Value {
        serde_json::to_value(&self.settings).unwrap_or(Value::Null)
    }

    /// PascalCase in the default dialect and for on-demand provisioning (which ignores the flag,
    /// https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility).
    fn op(&self, name: &str, pod: bool) -> String {
        if self.settings.dialect == Dialect::Default || pod {
            let mut c = name.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        } else {
            name.to_ascii_lowercase()
        }
    }

    fn flagged(&self, pod: bool) -> bool {
        self.settings.dialect == Dialect::AadOptscim062020 && !pod
    }

    fn matching_targets(&self) -> Vec<String> {
        match &self.settings.matching {
            Some(m) => m.clone(),
            None => self
                .mapping
                .user_matching()
                .iter()
                .map(|e| e.target.clone())
                .collect(),
        }
    }

    /// Sends, retrying a 429 within the cycle as the 2025 Microsoft answer describes.
    async fn call(&self, ctx: &mut Ctx<'_>, req: Request, b: Behaviour) -> Response {
        let retry = (self.settings.retry_429 == Retry429::InCycle)
            .then_some(self.settings.max_retry_wait_secs);
        ctx.send_retrying(req, b, retry).await
    }

    fn engine(&self) -> Engine<'_> {
        Engine {
            wire: &self.wire,
            mapping: &self.mapping,
        }
    }

    /// The behaviour of `role` in the wire (`src/idp/wires/entra.yaml`).
    fn b(&self, role: &str, variant: Option<&str>) -> Behaviour {
        self.wire.behaviour(role, variant)
    }

    /// Requests with the wire's headers: none on a GET or DELETE (no SCIM media type), the
    /// Content-Type with a body.
    fn get(&self, path: String) -> Request {
        self.engine().request(Method::GET, path, None)
    }

    fn delete(&self, path: String) -> Request {
        self.engine().request(Method::DELETE, path, None)
    }

    fn with_body(&self, method: Method, path: String, body: Value) -> Request {
        self.engine().request(method, path, Some(body))
    }

    // ------------------------------------------------------------------ views

    /// What Entra would write for this user now (without the manager: that comes in the
    /// reference pass).
    fn desired_user(&self, ctx: &Ctx<'_>, u: &User) -> Value {
        self.engine().desired_user(ctx, u)
    }

    fn desired_group(&self, g: &Group) -> Value {
        self.engine().desired_group(g)
    }

    /// PATCH operations for changed attributes in the job's dialect (table in
    /// https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility).
    fn attribute_ops(&self, diffs: &[(String, Value, Option<Value>)], pod: bool) -> Vec<Value> {
        let mut ops = Vec::new();
        if self.flagged(pod) {
            let mut pathless = Map::new();
            for (path, want, have) in diffs {
                if path.contains('[') {
                    let op = if have.is_none() { "add" } else { "replace" };
                    ops.push(json!({"op": op, "path": path, "value": want}));
                } else {
                    pathless.insert(path.clone(), want.clone());
                }
            }
            // Disable or re-enable alone is `{"op":"replace","path":"active","value":false}` (C);
            // a single attribute that had no value is `{"op":"add","path":"nickName","value":…}`
            // (C, "Add single-valued string"); with several, the filtered-path ops come first and
            // the rest go in one path-less replace (C), `active` riding in it as captured in
            // https://github.com/AzureAD/SCIMReferenceCode/issues/97.
            let new_single = |p: &str| {
                diffs
                    .iter()
                    .any(|(path, _, have)| path == p && have.is_none())
            };
            if pathless.len() == 1 && pathless.contains_key("active") {
                ops.push(json!({"op": "replace", "path": "active", "value": pathless["active"]}));
            } else if pathless.len() == 1 && new_single(pathless.keys().next().expect("one")) {
                let (path, value) = pathless.into_iter().next().expect("one");
                ops.push(json!({"op": "add", "path": path, "value": value}));
            } else if !pathless.is_empty() {
                ops.push(json!({"op": "replace", "value": Value::Object(pathless)}));
            }
        } else {
            for (path, want, have) in diffs {
                // `Add` for attributes that had no value (https://github.com/limosa-io/laravel-scim-server/issues/34).
                let op = if have.is_none() { "Add" } else { "Replace" };
                let value = match want {
                    Value::Bool(b) => {
                        Value::String(if *b { "True".into() } else { "False".into() })
                    }
                    v => v.clone(),
                };
                ops.push(json!({"op": op, "path": path, "value": value}));
            }
        }
        ops
    }

    // ------------------------------------------------------------------ actions

    /// The admin's "Test Connection": `Ok` when Entra would report success.
    pub async fn test_connection(&self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        let guid = uuid::Uuid::new_v4().to_string();
        let attr = self
            .matching_targets()
            .into_iter()
            .next()
            .unwrap_or_else(|| "userName".into());
        let path = format!("/Users?filter={}", form_encode(&filter_eq(&attr, &guid)));
        let resp = self
            .call(ctx, self.get(path), self.b("connect", None))
            .await;
        match resp.status {
            Some(200) => match list_resources(&resp) {
                Some(r) if r.is_empty() => Ok(()),
                Some(_) => Err("the probe for a random GUID found a user".into()),
                None => Err("200 without a ListResponse".into()),
            },
            Some(401) | Some(403) => Err(format!("invalid credentials ({})", resp.describe())),
            Some(404) => Err(format!(
                "SCIM compliance issue: HTTP/404 instead of HTTP/200 ({Q})"
            )),
            _ => Err(resp.describe()),
        }
    }

    /// The probe at the start of each cycle. `false`: the job cannot go on (quarantine).
    async fn probe(&self, ctx: &mut Ctx<'_>) -> bool {
        let guid = uuid::Uuid::new_v4().to_string();
        let path = format!(
            "/Users?filter={}",
            form_encode(&filter_eq("userName", &guid))
        );
        let resp = self.call(ctx, self.get(path), self.b("probe", None)).await;
        match resp.status {
            Some(200) => true,
            Some(401) | Some(403) => {
                ctx.sync.quarantine = Some(format!(
                    "EncounteredQuarantineException: invalid credentials ({})",
                    resp.describe()
                ));
                false
            }
            Some(404) => {
                ctx.sync.quarantine =
                    Some("SCIM compliance issue: HTTP/404 instead of HTTP/200".into());
                false
            }
            _ => {
                ctx.sync.quarantine =
                    Some(format!("the cycle could not start: {}", resp.describe()));
                false
            }
        }
    }

    /// One provisioning cycle: users, the manager reference pass, groups, then memberships
    /// ("The service syncs users and groups first, then memberships", H).
    pub async fn cycle(&self, ctx: &mut Ctx<'_>, kind: CycleKind) {
        let start_clock = ctx.dir.clock;
        let initial = kind == CycleKind::Initial || ctx.sync.watermark.is_none();
        if !self.probe(ctx).await {
            return;
        }
        let since = if initial {
            0
        } else {
            ctx.sync.watermark.unwrap_or(0)
        };
        let escrowed = |k: ObjectKind, key: &str, ctx: &Ctx<'_>| {
            ctx.sync.escrows.contains(&(k, key.to_string()))
        };
        let users: Vec<String> = ctx
            .dir
            .users
            .iter()
            .filter(|u| initial || u.changed > since || escrowed(ObjectKind::User, &u.key, ctx))
            .map(|u| u.key.clone())
            .collect();
        for key in &users {
            self.process_user(ctx, key, false).await;
        }
        for key in &users {
            self.reference_pass(ctx, key, false).await;
        }
        let groups: Vec<String> = ctx
            .dir
            .groups
            .iter()
            .filter(|g| initial || g.changed > since || escrowed(ObjectKind::Group, &g.key, ctx))
            .map(|g| g.key.clone())
            .collect();
        // Groups created or read in this cycle need no second read before their member PATCH.
        let mut fresh = BTreeSet::new();
        for key in &groups {
            if self.process_group(ctx, key, false).await {
                fresh.insert(key.clone());
            }
        }
        // Memberships of every linked group whose members or members' scope may have changed.
        let member_groups: Vec<String> = ctx
            .dir
            .groups
            .iter()
            .filter(|g| ctx.sync.groups.contains_key(&g.key) && ctx.dir.group_in_scope(g))
            .map(|g| g.key.clone())
            .collect();
        for key in member_groups {
            self.sync_members(ctx, &key, fresh.contains(&key), false)
                .await;
        }
        ctx.dir.note_cycle();
        ctx.sync.watermark = Some(start_clock);
    }

    pub fn restart(&self, ctx: &mut Ctx<'_>, scope: RestartScope) {
        ctx.sync.restart(scope);
    }

    /// Provision on demand: one user, or one group with up to 5 members; default-dialect shapes
    /// whatever the flag (P, C).
    pub async fn provision_on_demand(
        &self,
        ctx: &mut Ctx<'_>,
        od: &OnDemand,
    ) -> Result<(), String> {
        // The Test Connection step of on-demand provisioning, shown only when it fails (P).
        if let Err(e) = self.test_connection(ctx).await {
            return Err(format!(
                "on-demand provisioning stopped at the connection test: {e}"
            ));
        }
        if let Some(u) = &od.user {
            self.process_user(ctx, u, true).await;
            self.reference_pass(ctx, u, true).await;
            ctx.dir.note_on_demand(u);
            return Ok(());
        }
        let Some(g) = &od.group else {
            return Err("provision_on_demand needs a user or a group".into());
        };
        if od.members.len() > 5 {
            return Err(format!(
                "on-demand provisioning takes a group with up to 5 members, not {} ({P})",
                od.members.len()
            ));
        }
        let members: Vec<String> = if od.members.is_empty() {
            ctx.dir
                .group(g)
                .map(|x| x.members.iter().take(5).cloned().collect())
                .unwrap_or_default()
        } else {
            od.members.clone()
        };
        for m in &members {
            self.process_user(ctx, m, true).await;
            ctx.dir.note_on_demand(m);
        }
        let created = self.process_group(ctx, g, true).await;
        ctx.dir.note_on_demand_group(g);
        self.sync_members_limited(ctx, g, created, true, Some(&members))
            .await;
        Ok(())
    }

    // ------------------------------------------------------------------ users

    async fn process_user(&self, ctx: &mut Ctx<'_>, key: &str, pod: bool) {
        let Some(u) = ctx.dir.user(key).cloned() else {
            return;
        };
        let link = ctx.sync.users.get(key).cloned();
        let in_scope = ctx.dir.user_in_scope(&u);
        let label = u.label.clone();

        if u.hard_deleted {
            // DELETE only for a user still managed when hard-deleted (H; QA4).
            if let Some(l) = link.filter(|l| l.managed) {
                if self.settings.actions.delete {
                    let resp = self
                        .call(
                            ctx,
                            self.delete(object_path(ObjectKind::User, &l.target_id)),
                            self.b("user_delete", None),
                        )
                        .await;
                    self.record(
                        ctx,
                        &label,
                        ObjectKind::User,
                        key,
                        "Delete",
                        &resp,
                        vec![],
                        "InvalidAnchor",
                    );
                    if resp.ok() || resp.status == Some(404) {
                        ctx.sync.users.remove(key);
                    }
                }
            }
            return;
        }
        match link {
            Some(l) if !in_scope && !l.managed => {}
            Some(l) if !in_scope => {
                if self.settings.skip_out_of_scope_deletions {
                    ctx.log(
                        &label,
                        ObjectKind::User,
                        "Skip",
                        "Skipped",
                        None,
                        Some("out of scope; SkipOutOfScopeDeletions is on".into()),
                        vec![],
                        vec![],
                    );
                    ctx.sync.users.get_mut(key).expect("link").managed = false;
                    return;
                }
                self.update_linked_user(ctx, &u, &l, pod).await;
                if let Some(l) = ctx.sync.users.get_mut(key) {
                    if !ctx
                        .sync
                        .escrows
                        .contains(&(ObjectKind::User, key.to_string()))
                    {
                        l.managed = false;
                    }
                }
            }
            Some(l) => {
                if let Some(x) = ctx.sync.users.get_mut(key) {
                    x.managed = true;
                }
                self.update_linked_user(ctx, &u, &l, pod).await
            }
            None if !in_scope => {}
            None => self.match_or_create_user(ctx, &u, pod).await,
        }
    }

    async fn update_linked_user(&self, ctx: &mut Ctx<'_>, u: &User, l: &Link, pod: bool) {
        let resp = self
            .call(
                ctx,
                self.get(object_path(ObjectKind::User, &l.target_id)),
                self.b("user_get", None),
            )
            .await;
        if !resp.ok() {
            self.record(
                ctx,
                &u.label,
                ObjectKind::User,
                &u.key,
                "Update",
                &resp,
                vec![],
                "InvalidAnchor",
            );
            return;
        }
        let current = resp.body.clone().unwrap_or(Value::Null);
        if let Some(m) = get_path(
            &current,
            &format!("{ENTERPRISE_URN}:manager.value"),
            &USER_TYPE,
        ) {
            if let Some(x) = ctx.sync.users.get_mut(&u.key) {
                x.manager_sent = m.as_str().map(str::to_string);
            }
        }
        self.patch_user(ctx, u, &l.target_id, &current, pod, vec![resp.exchange])
            .await;
    }

    async fn patch_user(
        &self,
        ctx: &mut Ctx<'_>,
        u: &User,
        id: &str,
        current: &Value,
        pod: bool,
        mut exchanges: Vec<u64>,
    ) {
        if !self.settings.actions.update {
            return;
        }
        let desired = self.desired_user(ctx, u);
        let diffs = differences(&self.mapping.users, &desired, current, &USER_TYPE);
        if diffs.is_empty() {
            ctx.sync.escrows.remove(&(ObjectKind::User, u.key.clone()));
            return;
        }
        let disabling = diffs
            .iter()
            .any(|(p, w, _)| p == "active" && w == &Value::Bool(false));
        let ops = self.attribute_ops(&diffs, pod);
        let b = match (disabling, self.flagged(pod)) {
            (false, _) => self.b("user_update", None),
            (true, false) => self.b("user_deactivate", Some("default")),
            (true, true) => self.b("user_deactivate", Some("flag")),
        };
        let resp = self
            .call(
                ctx,
                self.with_body(
                    Method::PATCH,
                    object_path(ObjectKind::User, id),
                    patch_body(ops),
                ),
                b,
            )
            .await;
        exchanges.push(resp.exchange);
        let action = if disabling { "Disable" } else { "Update" };
        let modified = diffs.iter().map(|(p, _, _)| p.clone()).collect();
        self.record_with(
            ctx,
            &u.label,
            ObjectKind::User,
            &u.key,
            action,
            &resp,
            modified,
            "InvalidAnchor",
            exchanges,
        );
    }

    /// Match by each matching attribute in precedence order, stop at the first hit (A), then
    /// update what differs, or create.
    async fn match_or_create_user(&self, ctx: &mut Ctx<'_>, u: &User, pod: bool) {
        let desired = self.desired_user(ctx, u);
        let mut exchanges = Vec::new();
        for attr in self.matching_targets() {
            let Some(Value::String(v)) = get_path(&desired, &attr, &USER_TYPE) else {
                continue;
            };
            let path = self.engine().lookup_path(ObjectKind::User, &attr, &v);
            let resp = self
                .call(ctx, self.get(path), self.b("user_lookup", None))
                .await;
            exchanges.push(resp.exchange);
            if !resp.ok() {
                self.record_with(
                    ctx,
                    &u.label,
                    ObjectKind::User,
                    &u.key,
                    "Create",
                    &resp,
                    vec![],
                    "SystemForCrossDomainIdentityManagementServiceIncompatible",
                    exchanges,
                );
                return;
            }
            let Some(found) = list_resources(&resp) else {
                ctx.finding(
                    self.b("user_lookup", None),
                    "the answer is not a ListResponse".into(),
                    Some(resp.exchange),
                );
                self.fail(
                    ctx,
                    &u.label,
                    ObjectKind::User,
                    &u.key,
                    "Create",
                    "SystemForCrossDomainIdentityManagementServiceIncompatible",
                    "the lookup answer is not a ListResponse",
                    exchanges,
                );
                return;
            };
            match found.len() {
                0 => continue,
                1 => {
                    let current = found[0].clone();
                    let Some(id) = current
                        .get("id")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                    else {
                        ctx.finding(
                            self.b("user_lookup", None),
                            "a resource in the ListResponse has no id".into(),
                            Some(resp.exchange),
                        );
                        self.fail(
                            ctx,
                            &u.label,
                            ObjectKind::User,
                            &u.key,
                            "Update",
                            "SystemForCrossDomainIdentityManagementServiceIncompatible",
                            "matched resource has no id",
                            exchanges,
                        );
                        return;
                    };
                    if !ctx.adopt(ObjectKind::User, &u.key, &id, false, None) {
                        self.fail(
                            ctx,
                            &u.label,
                            ObjectKind::User,
                            &u.key,
                            "Update",
                            "ScimulatorNotOwned",
                            "the matched resource is not the run's own (see the findings): scimulator does not write to it",
                            exchanges,
                        );
                        return;
                    }
                    self.patch_user(ctx, u, &id, &current, pod, exchanges).await;
                    return;
                }
                n => {
                    ctx.finding(
                        self.b("user_lookup", None),
                        format!("{n} users match {attr} eq \"{v}\""),
                        Some(resp.exchange),
                    );
                    self.fail(
                        ctx,
                        &u.label,
                        ObjectKind::User,
                        &u.key,
                        "Create",
                        "DuplicateTargetEntries",
                        &format!("{n} target users match {attr}"),
                        exchanges,
                    );
                    return;
                }
            }
        }
        if !self.settings.actions.create {
            return;
        }
        if ctx.dir.is_soft_deleted(u) {
            ctx.log(
                &u.label,
                ObjectKind::User,
                "Skip",
                "Skipped",
                None,
                Some("not created: the source user is disabled or deleted [inferred]".into()),
                vec![],
                exchanges,
            );
            return;
        }
        // The create body of T: schemas (enterprise URN only when enterprise attributes are
        // mapped), the mapped attributes, meta and an empty roles array. Custom extension URNs
        // are not added to `schemas` (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/customize-application-attributes).
        let mut body = Map::new();
        // Microsoft's sample lists the core and the enterprise URN even when no enterprise
        // attribute is sent (T): the wire's `create.user_schemas_always`.
        let mut schemas = vec![json!(USER_URN)];
        for urn in self
            .wire
            .create
            .user_schemas_always
            .iter()
            .map(String::as_str)
            .chain(desired.get(ENTERPRISE_URN).map(|_| ENTERPRISE_URN))
        {
            if !schemas.iter().any(|s| s == urn) {
                schemas.push(json!(urn));
            }
        }
        body.insert("schemas".into(), Value::Array(schemas));
        if let Value::Object(m) = &desired {
            body.extend(m.clone());
        }
        body.insert("meta".into(), json!({"resourceType": "User"}));
        body.insert("roles".into(), json!([]));
        let resp = self
            .call(
                ctx,
                self.with_body(Method::POST, "/Users".into(), Value::Object(body)),
                self.b("user_create", None),
            )
            .await;
        exchanges.push(resp.exchange);
        if resp.ok() {
            match resp
                .body
                .as_ref()
                .and_then(|b| b.get("id"))
                .and_then(Value::as_str)
            {
                Some(id) => {
                    let id = id.to_string();
                    // An id that is path syntax is reported by adopt and never linked.
                    let _ = ctx.adopt(ObjectKind::User, &u.key, &id, true, None);
                }
                None => {
                    ctx.finding(
                        self.b("user_create", None),
                        "201 without an id: Entra cannot reference the user".into(),
                        Some(resp.exchange),
                    );
                    self.fail(
                        ctx,
                        &u.label,
                        ObjectKind::User,
                        &u.key,
                        "Create",
                        "SystemForCrossDomainIdentityManagementServiceIncompatible",
                        "the created resource has no id",
                        exchanges,
                    );
                    return;
                }
            }
        }
        let modified = self
            .mapping
            .users
            .iter()
            .filter(|e| get_path(&desired, &e.target, &USER_TYPE).is_some())
            .map(|e| e.target.clone())
            .collect();
        self.record_with(
            ctx,
            &u.label,
            ObjectKind::User,
            &u.key,
            "Create",
            &resp,
            modified,
            "EntryConflict",
            exchanges,
        );
    }

    /// The second pass for references: the manager, once both users exist in the target (H;
    /// https://github.com/MicrosoftDocs/azure-docs/issues/45885).
    async fn reference_pass(&self, ctx: &mut Ctx<'_>, key: &str, pod: bool) {
        let Some(entry) = self.mapping.user_reference("User").cloned() else {
            return;
        };
        let Some(u) = ctx.dir.user(key).cloned() else {
            return;
        };
        if !ctx.dir.user_in_scope(&u) || !self.settings.actions.update {
            return;
        }
        let Some(link) = ctx.sync.users.get(key).cloned() else {
            return;
        };
        let (op, behaviour, now_sent) = match u.attrs.get("manager").and_then(Value::as_str) {
            // The manager was removed in Entra: observed as a filtered remove on the
            // single-valued attribute (https://github.com/thomaspoignant/scim-patch/issues/453).
            None => match &link.manager_sent {
                Some(old) => (
                    json!({"op": self.op("remove", pod), "path": format!("manager[value eq \"{old}\"]")}),
                    self.b("manager_remove", None),
                    None,
                ),
                None => return,
            },
            Some(mgr_key) => {
                // A manager out of scope is never referenced until a restart (K).
                let Some(mgr_id) = ctx
                    .sync
                    .target_id(ObjectKind::User, mgr_key)
                    .map(str::to_string)
                else {
                    return;
                };
                if link.manager_sent.as_deref() == Some(&mgr_id) {
                    return;
                }
                (
                    json!({"op": self.op("add", pod), "path": entry.target, "value": mgr_id}),
                    self.b("manager", None),
                    Some(mgr_id),
                )
            }
        };
        let req = self.with_body(
            Method::PATCH,
            object_path(ObjectKind::User, &link.target_id),
            patch_body(vec![op]),
        );
        let resp = self.call(ctx, req, behaviour).await;
        if resp.ok() {
            if let Some(l) = ctx.sync.users.get_mut(key) {
                l.manager_sent = now_sent;
            }
        }
        self.record(
            ctx,
            &u.label,
            ObjectKind::User,
            key,
            "Update",
            &resp,
            vec![entry.target.clone()],
            "InvalidAnchor",
        );
    }

    // ------------------------------------------------------------------ groups

    /// Creates, updates or deletes the group itself. Returns true when it created or read it
    /// now (so its member update needs no second read).
    async fn process_group(&self, ctx: &mut Ctx<'_>, key: &str, pod: bool) -> bool {
        let Some(g) = ctx.dir.group(key).cloned() else {
            return false;
        };
        let link = ctx.sync.groups.get(key).cloned();
        if !ctx.dir.group_in_scope(&g) {
            // Groups have no `active`: out of scope means DELETE (T "Delete Group"; RC Restore_Group_Test).
            if let Some(l) = link {
                if self.settings.actions.delete && !self.settings.skip_out_of_scope_deletions {
                    let resp = self
                        .call(
                            ctx,
                            self.delete(object_path(ObjectKind::Group, &l.target_id)),
                            self.b("group_delete", None),
                        )
                        .await;
                    self.record(
                        ctx,
                        &g.label,
                        ObjectKind::Group,
                        key,
                        "Delete",
                        &resp,
                        vec![],
                        "InvalidAnchor",
                    );
                    if resp.ok() || resp.status == Some(404) {
                        ctx.sync.groups.remove(key);
                    }
                }
            }
            return false;
        }
        let desired = self.desired_group(&g);
        if let Some(l) = link {
            let resp = self
                .call(
                    ctx,
                    self.get(format!(
                        "{}?excludedAttributes=members",
                        object_path(ObjectKind::Group, &l.target_id)
                    )),
                    self.b("group_get", None),
                )
                .await;
            if !resp.ok() {
                self.record(
                    ctx,
                    &g.label,
                    ObjectKind::Group,
                    key,
                    "Update",
                    &resp,
                    vec![],
                    "InvalidAnchor",
                );
                return false;
            }
            let current = resp.body.clone().unwrap_or(Value::Null);
            self.patch_group_attributes(
                ctx,
                &g,
                &l.target_id,
                &desired,
                &current,
                pod,
                vec![resp.exchange],
            )
            .await;
            return true;
        }
        let mut exchanges = Vec::new();
        let name = desired
            .get("displayName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let path = self
            .engine()
            .lookup_path(ObjectKind::Group, "displayName", &name);
        let resp = self
            .call(ctx, self.get(path), self.b("group_lookup", None))
            .await;
        exchanges.push(resp.exchange);
        if !resp.ok() {
            self.record_with(
                ctx,
                &g.label,
                ObjectKind::Group,
                key,
                "Create",
                &resp,
                vec![],
                "SystemForCrossDomainIdentityManagementServiceIncompatible",
                exchanges,
            );
            return false;
        }
        let found = list_resources(&resp).unwrap_or_default();
        match found.len() {
            0 => {}
            1 => {
                let current = found[0].clone();
                if current
                    .get("members")
                    .is_some_and(|m| m.as_array().is_some_and(|a| !a.is_empty()))
                {
                    ctx.finding(
                        self.b("group_lookup", None),
                        "the group lookup returned members despite excludedAttributes=members"
                            .into(),
                        Some(resp.exchange),
                    );
                }
                let Some(id) = current
                    .get("id")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                else {
                    self.fail(
                        ctx,
                        &g.label,
                        ObjectKind::Group,
                        key,
                        "Update",
                        "SystemForCrossDomainIdentityManagementServiceIncompatible",
                        "matched group has no id",
                        exchanges,
                    );
                    return false;
                };
                if !ctx.adopt(ObjectKind::Group, key, &id, false, None) {
                    self.fail(
                        ctx,
                        &g.label,
                        ObjectKind::Group,
                        key,
                        "Update",
                        "ScimulatorNotOwned",
                        "the matched resource is not the run's own (see the findings): scimulator does not write to it",
                        exchanges,
                    );
                    return false;
                }
                self.patch_group_attributes(ctx, &g, &id, &desired, &current, pod, exchanges)
                    .await;
                return true;
            }
            n => {
                self.fail(
                    ctx,
                    &g.label,
                    ObjectKind::Group,
                    key,
                    "Create",
                    "DuplicateTargetEntries",
                    &format!("{n} target groups named \"{name}\""),
                    exchanges,
                );
                return false;
            }
        }
        if !self.settings.actions.create {
            return false;
        }
        // Groups are created with an empty members list (T), with the ADSCIM schema URN.
        let mut body = Map::new();
        body.insert("schemas".into(), json!([GROUP_URN, ADSCIM_GROUP_URN]));
        if let Value::Object(m) = &desired {
            if let Some(x) = m.get("externalId") {
                body.insert("externalId".into(), x.clone());
            }
            for (k, v) in m {
                if k != "externalId" && k != "members" {
                    body.insert(k.clone(), v.clone());
                }
            }
        }
        body.insert("meta".into(), json!({"resourceType": "Group"}));
        let resp = self
            .call(
                ctx,
                self.with_body(Method::POST, "/Groups".into(), Value::Object(body)),
                self.b("group_create", None),
            )
            .await;
        exchanges.push(resp.exchange);
        let mut created = false;
        if resp.ok() {
            match resp
                .body
                .as_ref()
                .and_then(|b| b.get("id"))
                .and_then(Value::as_str)
            {
                Some(id) => {
                    let id = id.to_string();
                    // An id that is path syntax is reported by adopt and never linked.
                    let _ = ctx.adopt(ObjectKind::Group, key, &id, true, None);
                    created = true;
                }
                None => {
                    ctx.finding(
                        self.b("group_create", None),
                        "201 without an id".into(),
                        Some(resp.exchange),
                    );
                    self.fail(
                        ctx,
                        &g.label,
                        ObjectKind::Group,
                        key,
                        "Create",
                        "SystemForCrossDomainIdentityManagementServiceIncompatible",
                        "the created group has no id",
                        exchanges,
                    );
                    return false;
                }
            }
        }
        self.record_with(
            ctx,
            &g.label,
            ObjectKind::Group,
            key,
            "Create",
            &resp,
            vec!["displayName".into(), "externalId".into()],
            "EntryConflict",
            exchanges,
        );
        created
    }

    #[allow(clippy::too_many_arguments)]
    async fn patch_group_attributes(
        &self,
        ctx: &mut Ctx<'_>,
        g: &Group,
        id: &str,
        desired: &Value,
        current: &Value,
        pod: bool,
        mut exchanges: Vec<u64>,
    ) {
        if !self.settings.actions.update {
            return;
        }
        let diffs = differences(&self.mapping.groups, desired, current, &GROUP_TYPE);
        if diffs.is_empty() {
            return;
        }
        let ops: Vec<Value> = diffs
            .iter()
            .map(|(p, w, have)| json!({"op": self.op(if have.is_none() { "add" } else { "replace" }, pod), "path": p, "value": w}))
            .collect();
        let resp = self
            .call(
                ctx,
                self.with_body(
                    Method::PATCH,
                    object_path(ObjectKind::Group, id),
                    patch_body(ops),
                ),
                self.b("group_update", Some("rename")),
            )
            .await;
        exchanges.push(resp.exchange);
        let modified = diffs.iter().map(|(p, _, _)| p.clone()).collect();
        self.record_with(
            ctx,
            &g.label,
            ObjectKind::Group,
            &g.key,
            "Update",
            &resp,
            modified,
            "InvalidAnchor",
            exchanges,
        );
    }

    async fn sync_members(&self, ctx: &mut Ctx<'_>, key: &str, read_now: bool, pod: bool) {
        self.sync_members_limited(ctx, key, read_now, pod, None)
            .await
    }

    /// Adds and removes members as Entra believes they stand: it never reads members back (QA3).
    async fn sync_members_limited(
        &self,
        ctx: &mut Ctx<'_>,
        key: &str,
        read_now: bool,
        pod: bool,
        only: Option<&[String]>,
    ) {
        let Some(g) = ctx.dir.group(key).cloned() else {
            return;
        };
        let Some(link) = ctx.sync.groups.get(key).cloned() else {
            return;
        };
        if !ctx.dir.group_in_scope(&g) || !self.settings.actions.update {
            return;
        }
        // Members in scope and provisioned; a member out of scope is simply not added (K).
        let desired: BTreeSet<String> = g
            .members
            .iter()
            .filter(|m| only.is_none_or(|o| o.contains(m)))
            .filter(|m| {
                ctx.dir.user(m).is_some_and(|u| ctx.dir.user_in_scope(u))
                    && ctx.sync.users.contains_key(*m)
            })
            .cloned()
            .collect();
        // A member whose target user is gone (deleted by this run) left the group with it.
        let sent: BTreeSet<String> = link
            .members_sent
            .iter()
            .filter(|m| ctx.sync.users.contains_key(*m))
            .cloned()
            .collect();
        let add: Vec<String> = desired.difference(&sent).cloned().collect();
        let remove: Vec<String> = if only.is_some() {
            Vec::new()
        } else {
            sent.difference(&desired).cloned().collect()
        };
        if add.is_empty() && remove.is_empty() {
            if let Some(l) = ctx.sync.groups.get_mut(key) {
                l.members_sent = sent;
            }
            return;
        }
        let id_of = |k: &String, ctx: &Ctx<'_>| {
            ctx.sync
                .target_id(ObjectKind::User, k)
                .unwrap_or("")
                .to_string()
        };
        let mut ops = Vec::new();
        if !add.is_empty() {
            let values: Vec<Value> = add
                .iter()
                .map(|k| json!({"$ref": null, "value": id_of(k, ctx)}))
                .collect();
            ops.push(json!({"op": self.op("add", pod), "path": "members", "value": values}));
        }
        if !remove.is_empty() {
            if self.flagged(pod) {
                for k in &remove {
                    ops.push(json!({"op": "remove", "path": format!("members[value eq \"{}\"]", id_of(k, ctx))}));
                }
            } else {
                let values: Vec<Value> = remove
                    .iter()
                    .map(|k| json!({"value": id_of(k, ctx)}))
                    .collect();
                ops.push(json!({"op": "Remove", "path": "members", "value": values}));
            }
        }
        let mut exchanges = Vec::new();
        if !read_now && !pod {
            // Entra reads the group (without members) before updating it (T "Get Group").
            let resp = self
                .call(
                    ctx,
                    self.get(format!(
                        "{}?excludedAttributes=members",
                        object_path(ObjectKind::Group, &link.target_id)
                    )),
                    self.b("group_get", None),
                )
                .await;
            exchanges.push(resp.exchange);
            if !resp.ok() {
                self.record_with(
                    ctx,
                    &g.label,
                    ObjectKind::Group,
                    key,
                    "Update",
                    &resp,
                    vec!["members".into()],
                    "InvalidAnchor",
                    exchanges,
                );
                return;
            }
        }
        let member_behaviour = match (remove.is_empty(), self.flagged(pod)) {
            (true, _) => self.b("group_update", Some("add")),
            (false, false) => self.b("group_update", Some("remove")),
            (false, true) => self.b("group_update", Some("remove_flag")),
        };
        let resp = self
            .call(
                ctx,
                self.with_body(
                    Method::PATCH,
                    object_path(ObjectKind::Group, &link.target_id),
                    patch_body(ops),
                ),
                member_behaviour,
            )
            .await;
        exchanges.push(resp.exchange);
        if resp.ok() {
            if let Some(l) = ctx.sync.groups.get_mut(key) {
                let mut now = sent;
                now.extend(add);
                for r in &remove {
                    now.remove(r);
                }
                l.members_sent = now;
            }
        }
        self.record_with(
            ctx,
            &g.label,
            ObjectKind::Group,
            key,
            "Update",
            &resp,
            vec!["members".into()],
            "InvalidAnchor",
            exchanges,
        );
    }

    // ------------------------------------------------------------------ log

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        ctx: &mut Ctx<'_>,
        label: &str,
        kind: ObjectKind,
        key: &str,
        action: &str,
        resp: &Response,
        modified: Vec<String>,
        not_found: &str,
    ) {
        self.record_with(
            ctx,
            label,
            kind,
            key,
            action,
            resp,
            modified,
            not_found,
            vec![resp.exchange],
        );
    }

    /// One log entry from what the server answered; failures are escrowed for later cycles.
    #[allow(clippy::too_many_arguments)]
    fn record_with(
        &self,
        ctx: &mut Ctx<'_>,
        label: &str,
        kind: ObjectKind,
        key: &str,
        action: &str,
        resp: &Response,
        modified: Vec<String>,
        not_found: &str,
        exchanges: Vec<u64>,
    ) {
        ctx.sync.count_event(!resp.ok());
        if resp.ok() {
            ctx.sync.escrows.remove(&(kind, key.to_string()));
            ctx.log(
                label, kind, action, "Success", None, None, modified, exchanges,
            );
        } else {
            let f = failure(resp, not_found);
            if f.code == "Unauthorized" || f.code == "InsufficientRights" {
                ctx.sync.quarantine = Some(format!("EncounteredQuarantineException: {}", f.detail));
            }
            ctx.sync.escrows.insert((kind, key.to_string()));
            ctx.log(
                label,
                kind,
                action,
                "Failure",
                Some(f.code),
                Some(f.detail),
                modified,
                exchanges,
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn fail(
        &self,
        ctx: &mut Ctx<'_>,
        label: &str,
        kind: ObjectKind,
        key: &str,
        action: &str,
        code: &str,
        detail: &str,
        exchanges: Vec<u64>,
    ) {
        ctx.sync.count_event(true);
        ctx.sync.escrows.insert((kind, key.to_string()));
        ctx.log(
            label,
            kind,
            action,
            "Failure",
            Some(code.into()),
            Some(format!("{detail} ({E})")),
            vec![],
            exchanges,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flagged() -> Entra {
        let settings = json!({"dialect": "aadOptscim062020"});
        Entra::new(settings.as_object().unwrap()).unwrap()
    }

    /// The compatibility page's "Add single-valued string" row, `aadOptscim062020` column:
    /// `{"op":"add","path":"nickName","value":"Babs"}` (entra.md §4, C).
    #[test]
    fn a_new_single_attribute_is_an_add_with_its_path() {
        let diffs = vec![("nickName".to_string(), json!("Babs"), None)];
        assert_eq!(
            flagged().attribute_ops(&diffs, false),
            vec![json!({"op": "add", "path": "nickName", "value": "Babs"})]
        );
        // The default dialect: `{"op":"Add","path":"nickName","value":"Babs"}`.
        let default = Entra::new(&Map::new()).unwrap();
        assert_eq!(
            default.attribute_ops(&diffs, false),
            vec![json!({"op": "Add", "path": "nickName", "value": "Babs"})]
        );
    }

    /// "Replace several attrs", `aadOptscim062020` column: filtered-path attributes keep their
    /// own op, first; the rest go in one path-less replace with dotted keys (entra.md §4, C).
    #[test]
    fn several_attributes_put_the_filtered_path_op_first() {
        let diffs = vec![
            ("displayName".to_string(), json!("Bjfe"), Some(json!("B"))),
            (
                "emails[type eq \"work\"].value".to_string(),
                json!("b@x.org"),
                Some(json!("a@x.org")),
            ),
            (
                "name.givenName".to_string(),
                json!("Kkom"),
                Some(json!("K")),
            ),
        ];
        assert_eq!(
            flagged().attribute_ops(&diffs, false),
            vec![
                json!({"op": "replace", "path": "emails[type eq \"work\"].value", "value": "b@x.org"}),
                json!({"op": "replace", "value": {"displayName": "Bjfe", "name.givenName": "Kkom"}}),
            ]
        );
    }
}
