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
//!
//! The requests are the engine's flows ([`super::engine`]) on Entra's wire
//! (`src/idp/wires/entra.yaml`: its dialect, create shapes, error codes); this file keeps
//! Entra's schedule: cycles and the watermark, escrow and quarantine, the manager reference
//! pass, on-demand provisioning (default dialect whatever the flag) and Restart provisioning.

use crate::check::expected::{Deprovision, Rules};
use crate::client::Method;
use crate::idp::engine::{
    disables, each, members_held, Engine, Looked, Matched, Subjected, Updated,
};
use crate::idp::mapping::differences;
use crate::idp::mapping::Mapping;
use crate::idp::sync::Link;
use crate::idp::wire::{self, yes, AddWhen, MemberRemove, OpCase, Patch, Wire};
use crate::idp::{list_resources, Ctx};
use crate::scenario::model::{CycleKind, OnDemand, RestartScope};
use crate::scim::kind::ObjectKind;
use crate::scim::patch::get_path;
use crate::scim::schema::{ENTERPRISE_URN, GROUP_TYPE, USER_TYPE};
use crate::source::{Group, User};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

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
    /// `src/idp/wires/entra.yaml` in the job's dialect.
    pub wire: Wire,
    /// The same in the default dialect: on-demand provisioning ignores the flag (C). Boxed:
    /// a wire is large, and a profile is an enum variant.
    on_demand: Box<Wire>,
}

impl Entra {
    pub fn new(settings: &Map<String, Value>) -> Result<Entra, String> {
        let settings: EntraSettings = crate::idp::typed_settings(settings, "Entra settings are dialect (default | aadOptscim062020), mapping, matching, skip_out_of_scope_deletions, actions {create, update, delete}, retry_429 (in-cycle | next-cycle), max_retry_wait_secs")?;
        let mapping = Mapping::load(&settings.mapping).map_err(|e| e.to_string())?;
        let mut wire = wire::entra().clone();
        // A 429 is retried within the cycle as the 2025 Microsoft answer describes, or left to
        // the next cycle.
        wire.retry_429 =
            (settings.retry_429 == Retry429::InCycle).then_some(settings.max_retry_wait_secs);
        wire.lookup.user_attributes = settings.matching.clone();
        let on_demand = Box::new(wire.clone());
        if settings.dialect == Dialect::AadOptscim062020 {
            // The right column of C: lowercase ops, booleans, the path-less replace, one
            // filtered remove per member.
            wire.patch = Patch {
                op_case: OpCase::Lower,
                string_booleans: false,
                add: AddWhen::Absent,
                pathless: true,
                variant: Some("flag".into()),
            };
            wire.members.remove = MemberRemove::FilterPath;
        }
        Ok(Entra {
            settings,
            mapping,
            wire,
            on_demand,
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

    /// The engine on the job's wire, or on the default dialect's for on-demand provisioning
    /// (`pod`), which ignores the flag
    /// (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility).
    fn engine(&self, pod: bool) -> Engine<'_> {
        Engine::new(
            if pod { &self.on_demand } else { &self.wire },
            &self.mapping,
        )
    }

    /// Entra's escrow (H): every outcome this flow logged since the mark `from` counts toward the
    /// escrow-proportion quarantine; a failure is escrowed (retried next cycle) and a success
    /// clears it; a refused token quarantines the job.
    fn settle(&self, ctx: &mut Ctx<'_>, kind: ObjectKind, key: &str, from: usize) {
        // This flow's own entries: other lanes of the pass log theirs in between.
        let outcomes: Vec<(bool, Option<String>, Option<String>)> = ctx
            .logged_since(from, |e| {
                (e.status == "Success" || e.status == "Failure").then(|| {
                    (
                        e.status == "Failure",
                        e.error_code.clone(),
                        e.detail.clone(),
                    )
                })
            })
            .into_iter()
            .flatten()
            .collect();
        let escrow = (kind, key.to_string());
        for (failed, code, detail) in outcomes {
            ctx.sync_mut().count_event(failed);
            if !failed {
                ctx.sync_mut().escrows.remove(&escrow);
                continue;
            }
            if matches!(code.as_deref(), Some("Unauthorized" | "InsufficientRights")) {
                ctx.sync_mut().quarantine = Some(format!(
                    "EncounteredQuarantineException: {}",
                    detail.unwrap_or_default()
                ));
            }
            ctx.sync_mut().escrows.insert(escrow.clone());
        }
    }

    // ------------------------------------------------------------------ actions

    /// The admin's "Test Connection": `Ok` when Entra would report success.
    pub async fn test_connection(&self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        let eng = self.engine(false);
        let guid = uuid::Uuid::new_v4().to_string();
        let attr = eng.match_attr(ObjectKind::User);
        let path = eng.lookup_path(ObjectKind::User, &attr, &guid);
        let resp = eng
            .send(ctx, Method::GET, path, None, eng.fact("connect", None))
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
        let eng = self.engine(false);
        let guid = uuid::Uuid::new_v4().to_string();
        let path = eng.lookup_path(ObjectKind::User, "userName", &guid);
        let resp = eng
            .send(ctx, Method::GET, path, None, eng.fact("probe", None))
            .await;
        match resp.status {
            Some(200) => true,
            Some(401) | Some(403) => {
                ctx.sync_mut().quarantine = Some(format!(
                    "EncounteredQuarantineException: invalid credentials ({})",
                    resp.describe()
                ));
                false
            }
            Some(404) => {
                ctx.sync_mut().quarantine =
                    Some("SCIM compliance issue: HTTP/404 instead of HTTP/200".into());
                false
            }
            _ => {
                ctx.sync_mut().quarantine =
                    Some(format!("the cycle could not start: {}", resp.describe()));
                false
            }
        }
    }

    /// One provisioning cycle: users, the manager reference pass, groups, then memberships
    /// ("The service syncs users and groups first, then memberships", H).
    pub async fn cycle(&self, ctx: &mut Ctx<'_>, kind: CycleKind) {
        let start_clock = ctx.dir().clock;
        let initial = kind == CycleKind::Initial || ctx.sync().watermark.is_none();
        if !self.probe(ctx).await {
            return;
        }
        let since = if initial {
            0
        } else {
            ctx.sync().watermark.unwrap_or(0)
        };
        let escrowed = |k: ObjectKind, key: &str, ctx: &Ctx<'_>| {
            ctx.sync().escrows.contains(&(k, key.to_string()))
        };
        let users: Vec<String> = ctx
            .dir()
            .users
            .iter()
            .filter(|u| initial || u.changed > since || escrowed(ObjectKind::User, &u.key, ctx))
            .map(|u| u.key.clone())
            .collect();
        each(ctx, users.clone(), async |ctx, key| {
            self.process_user(ctx, &key, false).await
        })
        .await;
        each(ctx, users, async |ctx, key| {
            self.reference_pass(ctx, &key, false).await
        })
        .await;
        let groups: Vec<String> = ctx
            .dir()
            .groups
            .iter()
            .filter(|g| initial || g.changed > since || escrowed(ObjectKind::Group, &g.key, ctx))
            .map(|g| g.key.clone())
            .collect();
        // Groups created or read in this cycle need no second read before their member PATCH.
        let fresh = std::cell::RefCell::new(BTreeSet::new());
        each(ctx, groups, async |ctx, key| {
            if self.process_group(ctx, &key, false).await {
                fresh.borrow_mut().insert(key);
            }
        })
        .await;
        let fresh = fresh.into_inner();
        // Memberships of every linked group whose members or members' scope may have changed.
        let member_groups: Vec<String> = ctx
            .dir()
            .groups
            .iter()
            .filter(|g| ctx.sync().groups.contains_key(&g.key) && ctx.dir().group_in_scope(g))
            .map(|g| g.key.clone())
            .collect();
        each(ctx, member_groups, async |ctx, key| {
            self.sync_members(ctx, &key, fresh.contains(&key), false)
                .await
        })
        .await;
        ctx.cycle_done(start_clock);
    }

    pub fn restart(&self, ctx: &mut Ctx<'_>, scope: RestartScope) {
        ctx.sync_mut().restart(scope);
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
            ctx.dir_mut().note_on_demand(u);
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
            ctx.dir()
                .group(g)
                .map(|x| x.members.iter().take(5).cloned().collect())
                .unwrap_or_default()
        } else {
            od.members.clone()
        };
        for m in &members {
            self.process_user(ctx, m, true).await;
            ctx.dir_mut().note_on_demand(m);
        }
        let created = self.process_group(ctx, g, true).await;
        ctx.dir_mut().note_on_demand_group(g);
        self.sync_members_limited(ctx, g, created, true, Some(&members))
            .await;
        Ok(())
    }

    // ------------------------------------------------------------------ users

    async fn process_user(&self, ctx: &mut Ctx<'_>, key: &str, pod: bool) {
        let Some(u) = ctx.dir().user(key).cloned() else {
            return;
        };
        let link = ctx.sync().users.get(key).cloned();
        let in_scope = ctx.dir().user_in_scope(&u);
        let label = u.label.clone();

        if u.hard_deleted {
            // DELETE only for a user still managed when hard-deleted (H; QA4).
            if link.is_some_and(|l| l.managed) && self.settings.actions.delete {
                let from = ctx.log_mark();
                self.engine(pod).delete(ctx, u.subject()).await;
                self.settle(ctx, ObjectKind::User, key, from);
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
                    ctx.sync_mut().users.get_mut(key).expect("link").managed = false;
                    return;
                }
                self.update_linked_user(ctx, &u, &l, pod).await;
                let mut sync = ctx.sync_mut();
                let escrowed = sync.escrows.contains(&(ObjectKind::User, key.to_string()));
                if let Some(l) = sync.users.get_mut(key) {
                    if !escrowed {
                        l.managed = false;
                    }
                }
            }
            Some(l) => {
                if let Some(x) = ctx.sync_mut().users.get_mut(key) {
                    x.managed = true;
                }
                self.update_linked_user(ctx, &u, &l, pod).await
            }
            None if !in_scope => {}
            None => self.match_or_create_user(ctx, &u, pod).await,
        }
    }

    /// Reads the linked user (T "Get User"), then updates what differs from what it holds.
    async fn update_linked_user(&self, ctx: &mut Ctx<'_>, u: &User, l: &Link, pod: bool) {
        let eng = self.engine(pod);
        let from = ctx.log_mark();
        let mut exchanges = Vec::new();
        let current = match eng
            .read(ctx, ObjectKind::User, &l.target_id, &mut exchanges)
            .await
        {
            Ok(current) => current,
            Err(resp) if !resp.ok() => {
                eng.outcome(
                    ctx,
                    u.subject(),
                    "user_update",
                    &resp,
                    "read",
                    vec![],
                    exchanges,
                );
                self.settle(ctx, ObjectKind::User, &u.key, from);
                return;
            }
            Err(_) => Value::Null,
        };
        if let Some(m) = get_path(
            &current,
            &format!("{ENTERPRISE_URN}:manager.value"),
            &USER_TYPE,
        ) {
            if let Some(x) = ctx.sync_mut().users.get_mut(&u.key) {
                x.manager_sent = m.as_str().map(str::to_string);
            }
        }
        self.patch_user(ctx, u, &l.target_id, &current, pod, exchanges)
            .await;
        self.settle(ctx, ObjectKind::User, &u.key, from);
    }

    /// PATCHes what differs between the mapped user and `current`, in the job's dialect; a
    /// change that sets `active` false is logged as Disable.
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
        let eng = self.engine(pod);
        let desired = eng.desired_user(ctx, u);
        let diffs = differences(&self.mapping.users, &desired, current, &USER_TYPE);
        if diffs.is_empty() {
            ctx.sync_mut()
                .escrows
                .remove(&(ObjectKind::User, u.key.clone()));
            return;
        }
        let Updated::Sent(resp) = eng
            .update_user(ctx, id, &desired, &diffs, &mut exchanges)
            .await
        else {
            return;
        };
        let event = if disables(&diffs) {
            "user_deactivate"
        } else {
            "user_update"
        };
        let modified = diffs.iter().map(|(p, _, _)| p.clone()).collect();
        eng.outcome(
            ctx,
            u.subject(),
            event,
            &resp,
            "updated",
            modified,
            exchanges,
        );
    }

    /// Match by each matching attribute in precedence order, stop at the first hit (A), then
    /// update what differs, or create (T: the create body lists the enterprise URN, `meta`
    /// and `roles: []`, the wire's `create`).
    async fn match_or_create_user(&self, ctx: &mut Ctx<'_>, u: &User, pod: bool) {
        let eng = self.engine(pod);
        let desired = eng.desired_user(ctx, u);
        let from = ctx.log_mark();
        let (kind, event) = (ObjectKind::User, "user_create");
        match eng.lookup(ctx, u.subject(), &desired, event).await {
            Looked::Found(Matched::Found {
                id,
                resource,
                exchanges,
            }) => {
                self.patch_user(ctx, u, &id, &resource, pod, exchanges)
                    .await
            }
            Looked::Found(_) | Looked::Stopped => {}
            Looked::Failed(resp, exchanges) => {
                eng.lookup_failed(ctx, u.subject(), event, &resp, exchanges)
            }
            Looked::Absent(_) if !self.settings.actions.create => {}
            Looked::Absent(exchanges) if ctx.dir().is_soft_deleted(u) => ctx.log(
                &u.label,
                kind,
                "Skip",
                "Skipped",
                None,
                Some("not created: the source user is disabled or deleted [inferred]".into()),
                vec![],
                exchanges,
            ),
            Looked::Absent(exchanges) => {
                eng.create(ctx, u.subject(), &desired, &[], exchanges).await;
            }
        }
        self.settle(ctx, kind, &u.key, from);
    }

    /// The second pass for references: the manager, once both users exist in the target (H;
    /// https://github.com/MicrosoftDocs/azure-docs/issues/45885).
    async fn reference_pass(&self, ctx: &mut Ctx<'_>, key: &str, pod: bool) {
        let Some(entry) = self.mapping.user_reference("User").cloned() else {
            return;
        };
        let Some(u) = ctx.dir().user(key).cloned() else {
            return;
        };
        if !ctx.dir().user_in_scope(&u) || !self.settings.actions.update {
            return;
        }
        let Some(link) = ctx.sync().users.get(key).cloned() else {
            return;
        };
        let eng = self.engine(pod);
        let (op, behaviour, now_sent) = match u
            .attrs
            .get("manager")
            .as_ref()
            .and_then(Value::as_str)
        {
            // The manager was removed in Entra: observed as a filtered remove on the
            // single-valued attribute (https://github.com/thomaspoignant/scim-patch/issues/453).
            None => match &link.manager_sent {
                Some(old) => (
                    json!({"op": eng.op_name("remove"), "path": format!("manager[value eq \"{old}\"]")}),
                    eng.fact("manager_remove", None),
                    None,
                ),
                None => return,
            },
            Some(mgr_key) => {
                // A manager out of scope is never referenced until a restart (K).
                let Some(mgr_id) = ctx
                    .sync()
                    .target_id(ObjectKind::User, mgr_key)
                    .map(str::to_string)
                else {
                    return;
                };
                if link.manager_sent.as_deref() == Some(&mgr_id) {
                    return;
                }
                (
                    json!({"op": eng.op_name("add"), "path": entry.target, "value": mgr_id}),
                    eng.fact("manager", None),
                    Some(mgr_id),
                )
            }
        };
        let resp = eng
            .patch(ctx, ObjectKind::User, &link.target_id, vec![op], behaviour)
            .await;
        if resp.ok() {
            if let Some(l) = ctx.sync_mut().users.get_mut(key) {
                l.manager_sent = now_sent;
            }
        }
        let from = ctx.log_mark();
        eng.outcome(
            ctx,
            u.subject(),
            "user_update",
            &resp,
            "manager",
            vec![entry.target.clone()],
            vec![resp.exchange],
        );
        self.settle(ctx, ObjectKind::User, key, from);
    }

    // ------------------------------------------------------------------ groups

    /// Creates, updates or deletes the group itself. Returns true when it created or read it
    /// now (so its member update needs no second read).
    async fn process_group(&self, ctx: &mut Ctx<'_>, key: &str, pod: bool) -> bool {
        let Some(g) = ctx.dir().group(key).cloned() else {
            return false;
        };
        let from = ctx.log_mark();
        let fresh = self.group_itself(ctx, &g, pod).await;
        self.settle(ctx, ObjectKind::Group, key, from);
        fresh
    }

    async fn group_itself(&self, ctx: &mut Ctx<'_>, g: &Group, pod: bool) -> bool {
        let eng = self.engine(pod);
        let (kind, key) = (ObjectKind::Group, g.key.as_str());
        let link = ctx.sync().groups.get(key).cloned();
        if !ctx.dir().group_in_scope(g) {
            // Groups have no `active`: out of scope means DELETE (T "Delete Group"; RC Restore_Group_Test).
            let s = &self.settings;
            if link.is_some() && s.actions.delete && !s.skip_out_of_scope_deletions {
                eng.delete(ctx, g.subject()).await;
            }
            return false;
        }
        let desired = eng.desired_group(g);
        if let Some(l) = link {
            // T "Get Group", without members (the wire's `lookup.group_get`).
            let mut exchanges = Vec::new();
            return match eng.read(ctx, kind, &l.target_id, &mut exchanges).await {
                Err(resp) if !resp.ok() => {
                    eng.outcome(
                        ctx,
                        g.subject(),
                        "group_update",
                        &resp,
                        "read",
                        vec![],
                        exchanges,
                    );
                    false
                }
                got => {
                    let current = got.unwrap_or(Value::Null);
                    let id = &l.target_id;
                    self.patch_group_attributes(ctx, g, id, &desired, &current, pod, exchanges)
                        .await;
                    true
                }
            };
        }
        match eng.lookup(ctx, g.subject(), &desired, "group_create").await {
            Looked::Found(Matched::Found {
                id,
                resource,
                exchanges,
            }) => {
                self.patch_group_attributes(ctx, g, &id, &desired, &resource, pod, exchanges)
                    .await;
                true
            }
            Looked::Found(_) | Looked::Stopped => false,
            Looked::Failed(resp, exchanges) => {
                eng.lookup_failed(ctx, g.subject(), "group_create", &resp, exchanges);
                false
            }
            Looked::Absent(_) if !self.settings.actions.create => false,
            // Created without members (the wire's `create`); they follow in a PATCH (T).
            Looked::Absent(exchanges) => matches!(
                eng.create(ctx, g.subject(), &desired, &[], exchanges).await,
                Matched::Created { .. }
            ),
        }
    }

    /// PATCHes what differs in the group's own attributes (T "Update Group Attributes").
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
        let eng = self.engine(pod);
        let b = eng.fact("group_update", Some("rename"));
        let resp = eng
            .patch(ctx, ObjectKind::Group, id, eng.patch_ops(&diffs, false), b)
            .await;
        exchanges.push(resp.exchange);
        let modified = diffs.iter().map(|(p, _, _)| p.clone()).collect();
        eng.outcome(
            ctx,
            g.subject(),
            "group_update",
            &resp,
            "updated",
            modified,
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
        let Some(g) = ctx.dir().group(key).cloned() else {
            return;
        };
        let Some(link) = ctx.sync().groups.get(key).cloned() else {
            return;
        };
        if !ctx.dir().group_in_scope(&g) || !self.settings.actions.update {
            return;
        }
        // Members in scope and provisioned; a member out of scope is simply not added (K).
        let desired: BTreeSet<String> = g
            .members
            .iter()
            .filter(|m| only.is_none_or(|o| o.contains(m)))
            .filter(|m| {
                ctx.dir()
                    .user(m)
                    .is_some_and(|u| ctx.dir().user_in_scope(u))
                    && ctx.sync().users.contains_key(*m)
            })
            .cloned()
            .collect();
        // A member whose target user is gone (deleted by this run) left the group with it.
        let sent = members_held(ctx, key);
        let add: Vec<&String> = desired.difference(&sent).collect();
        let remove: Vec<&String> = if only.is_some() {
            Vec::new()
        } else {
            sent.difference(&desired).collect()
        };
        if add.is_empty() && remove.is_empty() {
            if let Some(l) = ctx.sync_mut().groups.get_mut(key) {
                l.members_sent = sent;
            }
            return;
        }
        let eng = self.engine(pod);
        let ops = eng.member_ops(ctx, &add, &remove);
        let mut now: BTreeSet<String> = sent.iter().chain(add).cloned().collect();
        for r in &remove {
            now.remove(*r);
        }
        let from = ctx.log_mark();
        let mut exchanges = Vec::new();
        let members = vec!["members".to_string()];
        // Entra reads the group (without members) before updating it (T "Get Group").
        let read = if !read_now && !pod {
            eng.read(ctx, ObjectKind::Group, &link.target_id, &mut exchanges)
                .await
                .err()
                .filter(|got| !got.ok())
        } else {
            None
        };
        match read {
            Some(got) => {
                eng.outcome(
                    ctx,
                    g.subject(),
                    "group_update",
                    &got,
                    "read",
                    members,
                    exchanges,
                );
            }
            None => {
                let (id, name) = (&link.target_id, &g.label);
                let resp = eng
                    .update_members(ctx, id, name, &now, ops, &mut exchanges)
                    .await;
                eng.group_updated(ctx, g.subject(), &resp, "members", members, exchanges, now);
            }
        }
        self.settle(ctx, ObjectKind::Group, key, from);
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
            flagged().engine(false).patch_ops(&diffs, true),
            vec![json!({"op": "add", "path": "nickName", "value": "Babs"})]
        );
        // The default dialect: `{"op":"Add","path":"nickName","value":"Babs"}`.
        let default = Entra::new(&Map::new()).unwrap();
        assert_eq!(
            default.engine(false).patch_ops(&diffs, true),
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
            flagged().engine(false).patch_ops(&diffs, true),
            vec![
                json!({"op": "replace", "path": "emails[type eq \"work\"].value", "value": "b@x.org"}),
                json!({"op": "replace", "value": {"displayName": "Bjfe", "name.givenName": "Kkom"}}),
            ]
        );
    }
}
