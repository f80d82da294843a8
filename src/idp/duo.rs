//! Cisco Duo's outbound provisioning (Duo SSO "Automated Provisioning"), as
//! `../shared/reference/okta-duo-others.md` §2 describes it. What Duo does is documented
//! (https://duo.com/docs/automated-provisioning and Cisco's Secure Access guide): provisioning is
//! continuous; the members of the Duo groups assigned to the app are provisioned, the groups
//! too unless "Exclude group information" is ticked, and a user who leaves (or whose group is
//! removed from provisioning) is deprovisioned by "Deactivate Users" or "Delete Users". How
//! Duo says it on the wire is not documented: no capture is public, so every request here is
//! inferred (§2.2), reported as such, and each shape is a setting. A user removed from the
//! app's groups, Deactivate Users, default shapes:
//!
//! ```json
//! PATCH /Users/{id}
//! {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}
//! ```
//!
//! The provisioning log is Duo's activity log. The guide shows "Provisioning successfully
//! connected", "User provisioning succeeded" and "Group provisioning succeeded"; the failure
//! and deprovisioning lines are inferred.

use crate::check::expected::{Deprovision, Rules};
use crate::compact::Compact;
use crate::idp::engine::{
    each, each_changed_user, is_inactive, members_held, Engine, Matched, Subjected, Updated,
};
use crate::idp::mapping::Mapping;
use crate::idp::sync::Link;
use crate::idp::wire::{self, yes, Wire};
pub use crate::idp::wire::{ConnectionCheck, DeactivateShape, UpdateVerb};
use crate::idp::{typed_settings, Ctx};
use crate::scim::kind::ObjectKind;
use crate::source::{Group, User};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

/// "User deprovisioning behavior" (Cisco's guide, the wire's D2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deprovisioning {
    /// "Removing a group or user will keep the users in your application but set them to disabled."
    #[default]
    Deactivate,
    /// "Removing a group or user will permanently delete the users in your application."
    Delete,
}

fn duo_mapping() -> String {
    "duo-secure-access".into()
}

const SETTINGS_HINT: &str = "Duo settings are mapping, deprovisioning (deactivate | delete), \
     exclude_group_information (true | false), update (patch | put), deactivate_shape (path | \
     pathless), connection_check (filter | list), group_members_on_create (true | false), wire \
     (a wire file)";

/// The app's Provisioning tab (D2), and the wire shapes no source shows (§2.2): those select
/// fields of the wire (`src/idp/wires/duo.yaml`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuoSettings {
    #[serde(default = "duo_mapping")]
    pub mapping: String,
    #[serde(default)]
    pub deprovisioning: Deprovisioning,
    /// "If checked, Duo will send only user details without group information."
    #[serde(default)]
    pub exclude_group_information: bool,
    /// The wire's `update.user`.
    #[serde(default)]
    pub update: UpdateVerb,
    /// The wire's `deactivate.user`.
    #[serde(default)]
    pub deactivate_shape: DeactivateShape,
    /// The wire's `connect.check`.
    #[serde(default)]
    pub connection_check: ConnectionCheck,
    /// The wire's `create.group_members`: POST /Groups carries the members already
    /// provisioned; off: an empty list, then a PATCH adding them (two "Group provisioning
    /// succeeded" lines, as in the guide's activity log).
    #[serde(default = "yes")]
    pub group_members_on_create: bool,
    /// A wire file (`./acme.wire.yaml`, read from beside the scenario): the IdP's requests as
    /// data, on Duo's continuous schedule (`idp: custom`). The settings above that select wire
    /// fields override the file only when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wire: Option<String>,
}

impl DuoSettings {
    /// The settings of Duo's schedule driving another IdP's `wire` (OneLogin, JumpCloud,
    /// PingFederate): that IdP's mapping and deprovisioning, groups included, and the
    /// wire-selecting fields as the wire has them.
    pub fn on_wire(mapping: &str, deprovisioning: Deprovisioning, wire: &Wire) -> DuoSettings {
        DuoSettings {
            mapping: mapping.to_string(),
            deprovisioning,
            exclude_group_information: false,
            update: wire.update.user,
            deactivate_shape: wire.deactivate.user,
            connection_check: wire.connect.check,
            group_members_on_create: wire.create.group_members,
            wire: None,
        }
    }
}

pub struct Duo {
    pub settings: DuoSettings,
    pub mapping: Mapping,
    pub wire: Wire,
    /// What becomes of a provisioned group that leaves scope (another IdP on this schedule
    /// sets it; Duo deletes).
    pub group_leaving: GroupLeaving,
    /// A user deleted in the source is deleted in the app, whatever `deprovisioning` does
    /// to users that leave scope (JumpCloud's delete event).
    pub delete_deleted_users: bool,
}

/// What the continuous schedule does to a provisioned group that leaves scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupLeaving {
    /// DELETE it once its members are deprovisioned (Duo [inferred]).
    Delete,
    /// Stop syncing it and leave it in the app.
    Keep,
    /// DELETE it when it was deleted in the source, leave it when only unassigned.
    DeleteIfDeleted,
}

impl Duo {
    pub fn new(settings: &Map<String, Value>) -> Result<Duo, String> {
        Duo::with(settings, false)
    }

    /// `idp: custom`: an IdP the tool does not ship, its requests described by the `wire`
    /// setting's file, provisioned on Duo's continuous schedule.
    pub fn custom(settings: &Map<String, Value>) -> Result<Duo, String> {
        if !settings.contains_key("wire") {
            return Err(format!(
                "missing field `wire`: `idp: custom` needs a wire file (wire: ./acme.wire.yaml); \
                 {SETTINGS_HINT}"
            ));
        }
        Duo::with(settings, true)
    }

    fn with(raw: &Map<String, Value>, custom: bool) -> Result<Duo, String> {
        let settings: DuoSettings = typed_settings(raw, SETTINGS_HINT)?;
        let mapping = Mapping::load(&settings.mapping).map_err(|e| e.to_string())?;
        let mut wire = match (&settings.wire, custom) {
            (Some(path), true) => Wire::load(std::path::Path::new(path))
                // One line: the loader shows it at the `wire` setting.
                .map_err(|e| format!("{}", e).replace("\n  hint:", " — hint:"))?,
            (Some(_), false) => {
                return Err(format!(
                    "unknown field `wire`: a wire file is for `idp: custom`; {SETTINGS_HINT}"
                ))
            }
            (None, _) => wire::duo().clone(),
        };
        let given = |k: &str| raw.contains_key(k) || !custom;
        if given("update") {
            wire.update.user = settings.update;
        }
        if given("deactivate_shape") {
            wire.deactivate.user = settings.deactivate_shape;
        }
        if given("connection_check") {
            wire.connect.check = settings.connection_check;
        }
        if given("group_members_on_create") {
            wire.create.group_members = settings.group_members_on_create;
        }
        Ok(Duo::on_wire(settings, mapping, wire))
    }

    /// Duo's continuous schedule driving another IdP's wire (OneLogin, JumpCloud).
    pub fn on_wire(settings: DuoSettings, mapping: Mapping, wire: Wire) -> Duo {
        Duo {
            settings,
            mapping,
            wire,
            group_leaving: GroupLeaving::Delete,
            delete_deleted_users: false,
        }
    }

    /// Duo's "User deprovisioning behavior" (Deactivate Users or Delete Users) applies to every
    /// user that leaves; groups follow their assignment unless "Exclude group information" is
    /// ticked (https://www.cisco.com/c/en/us/support/docs/security/secure-access/225885-provision-users-and-groups-to-secure.html).
    /// Another IdP on this schedule says it with `deprovisioning`, `delete_deleted_users` and
    /// `group_leaving` (a group that stays, or is deleted only when deleted in the source, is
    /// not deleted for leaving scope).
    pub fn rules(&self) -> Rules {
        let users = match self.settings.deprovisioning {
            Deprovisioning::Deactivate => Deprovision::Disable,
            Deprovisioning::Delete => Deprovision::Delete,
        };
        Rules {
            out_of_scope_user: users,
            disabled_user: users,
            deleted_user: if self.delete_deleted_users {
                Deprovision::Delete
            } else {
                users
            },
            out_of_scope_group: match self.group_leaving {
                GroupLeaving::Delete => Deprovision::Delete,
                GroupLeaving::Keep | GroupLeaving::DeleteIfDeleted => Deprovision::Nothing,
            },
            groups_follow_push: false,
            clears_attributes: false,
            groups: !self.settings.exclude_group_information,
        }
    }

    fn engine(&self) -> Engine<'_> {
        Engine::new(&self.wire, &self.mapping)
    }

    /// "Connect to application" on the Provisioning tab (D2): one read that must answer a
    /// ListResponse; the activity log says "Provisioning successfully connected".
    pub async fn test_connection(&self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        self.engine().test_connection(ctx).await
    }

    /// Duo provisions continuously (D1): after each change, the users that changed since the
    /// watermark, then the groups (unless group information is excluded), reconciled against
    /// what Duo last sent them, so a group sends nothing when nothing about it changed.
    pub async fn react(&self, ctx: &mut Ctx<'_>) {
        let start =
            each_changed_user(ctx, async |ctx, key| self.process_user(ctx, &key).await).await;
        if !self.settings.exclude_group_information {
            let groups: Vec<String> = ctx.dir().groups.iter().map(|g| g.key.clone()).collect();
            each(ctx, groups, async |ctx, key| {
                self.process_group(ctx, &key).await
            })
            .await;
        }
        ctx.cycle_done(start);
    }

    // ------------------------------------------------------------------ users

    async fn process_user(&self, ctx: &mut Ctx<'_>, key: &str) {
        let Some(u) = ctx.dir().user(key).cloned() else {
            return;
        };
        // A user disabled or deleted in Duo leaves like one removed from the groups [inferred].
        let wanted = ctx.dir().user_in_scope(&u) && !u.attrs.is_false("accountEnabled");
        let link = ctx.sync().users.get(key).cloned();
        match link {
            None if wanted => self.provision(ctx, &u).await,
            // A wire that provisions disabled users creates them inactive (PingFederate).
            None if self.wire.create.disabled_users && ctx.dir().user_in_scope(&u) => {
                self.provision(ctx, &u).await
            }
            None => {}
            Some(l) if !wanted && l.managed => self.deprovision(ctx, &u, &l).await,
            Some(_) if !wanted => {}
            Some(l) if !l.managed => self.reactivate(ctx, &u).await,
            Some(_) => self.update(ctx, &u, Vec::new(), "updated").await,
        }
    }

    /// Back in scope: reactivated, not created again (D4), then brought up to date.
    async fn reactivate(&self, ctx: &mut Ctx<'_>, u: &User) {
        if self.set_active(ctx, u, true, Vec::new()).await {
            self.update(ctx, u, Vec::new(), "updated").await;
        }
    }

    /// A user coming into scope: look it up by userName; link to what is found (reactivating
    /// it if it is inactive), or create it.
    async fn provision(&self, ctx: &mut Ctx<'_>, u: &User) {
        let eng = self.engine();
        let desired = eng.desired_user(ctx, u);
        let m = eng.match_or_create(ctx, u.subject(), &desired, &[]).await;
        // A disabled user provisioned as such (a wire's `create.disabled_users`) is linked but
        // not managed: enabling it later reactivates it.
        let disabled = is_inactive(&desired) && self.wire.create.disabled_users;
        if disabled {
            if let Some(l) = ctx.sync_mut().users.get_mut(&u.key) {
                l.managed = false;
            }
        }
        if let Matched::Found {
            resource,
            mut exchanges,
            ..
        } = m
        {
            if is_inactive(&resource) && !disabled {
                if !self.set_active(ctx, u, true, exchanges).await {
                    return;
                }
                exchanges = Vec::new();
            }
            self.update(ctx, u, exchanges, "linked to the existing user")
                .await;
        }
    }

    /// Pushes the mapped attributes that changed since Duo last sent them (D1: "when any
    /// provisioned attribute changes in Duo"). `exchanges` and `what` come from a link, which
    /// gets its log line even when nothing differs.
    async fn update(&self, ctx: &mut Ctx<'_>, u: &User, mut exchanges: Vec<u64>, what: &str) {
        let Some(link) = ctx.sync().users.get(&u.key).cloned() else {
            return;
        };
        let eng = self.engine();
        let desired = eng.desired_user(ctx, u);
        let sent = link
            .view_sent
            .as_ref()
            .map_or_else(|| json!({}), Compact::value);
        let diffs = eng.user_diffs(&desired, &sent);
        if diffs.is_empty() {
            if !exchanges.is_empty() {
                eng.succeeded(ctx, u.subject(), "user_update", what, exchanges);
            }
            return;
        }
        let (resp, what, modified) = match eng
            .update_user(ctx, &link.target_id, &desired, &diffs, &mut exchanges)
            .await
        {
            Updated::Sent(r) => (r, what, diffs.iter().map(|(p, _, _)| p.clone()).collect()),
            Updated::ReadFailed(got) => (got, "read before update", vec![]),
            // Duo's wire PUTs even then.
            Updated::Unchanged => return,
        };
        if eng.outcome(
            ctx,
            u.subject(),
            "user_update",
            &resp,
            what,
            modified,
            exchanges,
        ) {
            if let Some(l) = ctx.sync_mut().users.get_mut(&u.key) {
                let mut sent = desired;
                sent["active"] = json!(l.managed);
                l.view_sent = Some(sent.into());
            }
        }
    }

    /// Deactivate or reactivate, in the wire's shape; `true` when the server took it.
    async fn set_active(
        &self,
        ctx: &mut Ctx<'_>,
        u: &User,
        active: bool,
        mut exchanges: Vec<u64>,
    ) -> bool {
        let Some(id) = ctx
            .sync()
            .target_id(ObjectKind::User, &u.key)
            .map(str::to_string)
        else {
            return false;
        };
        let eng = self.engine();
        let resp = eng.set_active(ctx, &id, active, &mut exchanges).await;
        let (event, what) = if active {
            ("user_reactivate", "reactivated")
        } else {
            ("user_deactivate", "deactivated")
        };
        let ok = eng.outcome(
            ctx,
            u.subject(),
            event,
            &resp,
            what,
            vec!["active".into()],
            exchanges,
        );
        if ok {
            if let Some(l) = ctx.sync_mut().users.get_mut(&u.key) {
                l.managed = active;
                if let Some(v) = l.view_sent.as_mut() {
                    v.edit(|v| {
                        if v.is_object() {
                            v["active"] = json!(active);
                        }
                    });
                }
            }
        }
        ok
    }

    /// A user out of scope: Deactivate Users keeps it disabled; Delete Users deletes it (D2).
    async fn deprovision(&self, ctx: &mut Ctx<'_>, u: &User, _l: &Link) {
        let deleted = self.delete_deleted_users && (u.hard_deleted || u.soft_deleted);
        match self.settings.deprovisioning {
            Deprovisioning::Deactivate if !deleted => {
                self.set_active(ctx, u, false, Vec::new()).await;
            }
            Deprovisioning::Deactivate | Deprovisioning::Delete => {
                self.engine().delete(ctx, u.subject()).await;
            }
        }
    }

    // ------------------------------------------------------------------ groups

    async fn process_group(&self, ctx: &mut Ctx<'_>, key: &str) {
        let Some(g) = ctx.dir().group(key).cloned() else {
            return;
        };
        let in_scope = ctx.dir().group_in_scope(&g);
        let link = ctx.sync().groups.get(key).cloned();
        match link {
            None if in_scope => self.create_group(ctx, &g).await,
            None => {}
            // Its members were deprovisioned in the users pass (D1); the group is then deleted
            // [inferred].
            Some(_) if !in_scope => match self.group_leaving {
                GroupLeaving::Delete => self.delete_group(ctx, &g).await,
                GroupLeaving::DeleteIfDeleted if g.deleted => self.delete_group(ctx, &g).await,
                // Syncing stops; the group stays in the app as it is.
                GroupLeaving::Keep | GroupLeaving::DeleteIfDeleted => {
                    ctx.sync_mut().groups.remove(key);
                }
            },
            Some(_) => self.update_group(ctx, &g, Vec::new(), "updated").await,
        }
    }

    async fn delete_group(&self, ctx: &mut Ctx<'_>, g: &Group) {
        self.engine().delete(ctx, g.subject()).await
    }

    /// Members Duo sends: the group's members in scope that it has provisioned.
    fn wanted_members(&self, ctx: &Ctx<'_>, g: &Group) -> BTreeSet<String> {
        g.members
            .iter()
            .filter(|m| {
                ctx.dir()
                    .user(m)
                    .is_some_and(|u| ctx.dir().user_in_scope(u))
            })
            .filter(|m| ctx.sync().users.contains_key(*m))
            .cloned()
            .collect()
    }

    /// A group assigned to the app: look it up by displayName; link, or create it (D1).
    async fn create_group(&self, ctx: &mut Ctx<'_>, g: &Group) {
        let eng = self.engine();
        let desired = eng.desired_group(g);
        let members = if self.wire.create.group_members {
            self.wanted_members(ctx, g)
        } else {
            BTreeSet::new()
        };
        // A wire that creates no empty group waits for a first member.
        if !self.wire.create.empty_groups && self.wanted_members(ctx, g).is_empty() {
            return;
        }
        let values = eng.member_values(ctx, &members);
        match eng
            .match_or_create(ctx, g.subject(), &desired, &values)
            .await
        {
            Matched::Found { exchanges, .. } => {
                self.update_group(ctx, g, exchanges, "linked to the existing group")
                    .await
            }
            Matched::Created { .. } => {
                if let Some(l) = ctx.sync_mut().groups.get_mut(&g.key) {
                    l.members_sent = members;
                }
                // Members not sent with the POST follow in a PATCH.
                self.update_group(ctx, g, Vec::new(), "updated").await;
            }
            Matched::Stopped => {}
        }
    }

    /// Rename and membership changes of a provisioned group, in one PATCH.
    async fn update_group(
        &self,
        ctx: &mut Ctx<'_>,
        g: &Group,
        mut exchanges: Vec<u64>,
        what: &str,
    ) {
        let Some(link) = ctx.sync().groups.get(&g.key).cloned() else {
            return;
        };
        let eng = self.engine();
        let desired = eng.desired_group(g);
        let diffs = crate::idp::mapping::differences(
            &self.mapping.groups,
            &desired,
            &link
                .view_sent
                .as_ref()
                .map_or_else(|| json!({}), Compact::value),
            &crate::scim::schema::GROUP_TYPE,
        );
        let want = self.wanted_members(ctx, g);
        // Members whose user Duo deleted (Delete Users) left with the user.
        let sent = members_held(ctx, &g.key);
        let add: Vec<&String> = want.difference(&sent).collect();
        let remove: Vec<&String> = sent.difference(&want).collect();
        let mut ops = eng.patch_ops(&diffs, false);
        let mut modified: Vec<String> = diffs.iter().map(|(p, _, _)| p.clone()).collect();
        ops.extend(eng.member_ops(ctx, &add, &remove));
        if ops.len() > diffs.len() {
            modified.push("members".into());
        }
        if ops.is_empty() {
            if let Some(l) = ctx.sync_mut().groups.get_mut(&g.key) {
                l.members_sent = sent;
            }
            if !exchanges.is_empty() {
                eng.succeeded(ctx, g.subject(), "group_update", what, exchanges);
            }
            return;
        }
        // A wire whose membership goes as GET then PUT of the whole group sends the same
        // change that way (PingFederate without group PATCH).
        let name = desired
            .get("displayName")
            .and_then(Value::as_str)
            .unwrap_or(&g.label);
        let resp = eng
            .update_members(ctx, &link.target_id, name, &want, ops, &mut exchanges)
            .await;
        let ok = eng.group_updated(ctx, g.subject(), &resp, what, modified, exchanges, want);
        if let Some(l) = ctx.sync_mut().groups.get_mut(&g.key) {
            if ok {
                l.view_sent = Some(desired.into());
            } else {
                l.members_sent = sent;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::idp::settings_map as settings;

    /// OneLogin, JumpCloud and PingFederate run this schedule: its rules say what each does
    /// to users and groups that leave (the sources are in each profile's `new`).
    #[test]
    fn rules_of_every_idp_on_this_schedule() {
        use crate::check::expected::Deprovision::{Delete, Disable, Nothing};
        let rules = |idp: &str, v: Value| {
            let r = crate::idp::Profile::new(idp, &settings(v)).unwrap().rules();
            let u = (r.out_of_scope_user, r.disabled_user, r.deleted_user);
            (u, r.out_of_scope_group, r.groups)
        };
        let cases = [
            (
                "duo",
                json!({}),
                ((Disable, Disable, Disable), Delete, true),
            ),
            (
                "duo",
                json!({"deprovisioning": "delete", "exclude_group_information": true}),
                ((Delete, Delete, Delete), Delete, false),
            ),
            (
                "onelogin",
                json!({}),
                ((Delete, Delete, Delete), Nothing, true),
            ),
            (
                "onelogin",
                json!({"deprovisioning": "suspend"}),
                ((Disable, Disable, Disable), Nothing, true),
            ),
            (
                "jumpcloud",
                json!({}),
                ((Disable, Disable, Delete), Nothing, true),
            ),
            (
                "pingfederate",
                json!({}),
                ((Disable, Disable, Disable), Delete, true),
            ),
            (
                "pingfederate",
                json!({"remove_user_action": "delete"}),
                ((Delete, Delete, Delete), Delete, true),
            ),
        ];
        for (idp, v, want) in cases {
            assert_eq!(rules(idp, v.clone()), want, "{idp} {v}");
        }
    }

    #[test]
    fn defaults() {
        let d = Duo::new(&Map::new()).unwrap();
        assert_eq!(d.settings.deprovisioning, Deprovisioning::Deactivate);
        assert!(!d.settings.exclude_group_information);
        assert_eq!(d.settings.update, UpdateVerb::Patch);
        assert_eq!(d.settings.deactivate_shape, DeactivateShape::Path);
        assert_eq!(d.settings.connection_check, ConnectionCheck::Filter);
        assert!(d.settings.group_members_on_create);
        assert_eq!(d.mapping.name, "duo-secure-access");
        assert_eq!(
            crate::idp::json_of(&d.settings),
            json!({"mapping": "duo-secure-access", "deprovisioning": "deactivate",
                   "exclude_group_information": false, "update": "patch",
                   "deactivate_shape": "path", "connection_check": "filter",
                   "group_members_on_create": true})
        );
    }

    #[test]
    fn every_setting_parses() {
        let d = Duo::new(&settings(json!({
            "deprovisioning": "delete", "exclude_group_information": true, "update": "put",
            "deactivate_shape": "pathless", "connection_check": "list",
            "group_members_on_create": false, "mapping": "okta-default"
        })))
        .unwrap();
        assert_eq!(d.settings.deprovisioning, Deprovisioning::Delete);
        assert!(d.settings.exclude_group_information);
        assert_eq!(d.settings.update, UpdateVerb::Put);
        assert_eq!(d.settings.deactivate_shape, DeactivateShape::Pathless);
        assert_eq!(d.settings.connection_check, ConnectionCheck::List);
        assert!(!d.settings.group_members_on_create);
        assert_eq!(d.mapping.name, "okta-default");
    }

    #[test]
    fn unknown_setting_lists_the_known_ones() {
        let Err(e) = Duo::new(&settings(json!({"deprovision": "delete"}))) else {
            panic!("an unknown setting must be refused");
        };
        assert!(e.contains("unknown field `deprovision`"), "{e}");
        assert!(e.contains("deprovisioning (deactivate | delete)"), "{e}");
        assert!(e.contains("exclude_group_information"), "{e}");
    }

    #[test]
    fn bad_values_are_refused() {
        let bad = [
            json!({"deprovisioning": "suspend"}),
            json!({"update": "post"}),
            json!({"deactivate_shape": "filter"}),
            json!({"connection_check": "ping"}),
            json!({"exclude_group_information": "yes"}),
        ];
        crate::idp::assert_refused(Duo::new, &bad, "Duo settings are");
        let Err(e) = Duo::new(&settings(json!({"mapping": "nope"}))) else {
            panic!("an unknown mapping must be refused");
        };
        assert!(e.contains("unknown mapping 'nope'"), "{e}");
    }

    #[test]
    fn bundled_mapping_follows_the_cisco_guide() {
        let m = Mapping::load("duo-secure-access").unwrap();
        let target = |t: &str| m.users.iter().find(|e| e.target == t).unwrap();
        assert_eq!(target("userName").source, "[username]");
        assert_eq!(target("userName").matching, Some(1));
        assert_eq!(target("displayName").source, "[displayName]");
        assert_eq!(target("emails[type eq \"work\"].value").source, "[email]");
        assert_eq!(target("name.familyName").source, "[lastName]");
        assert_eq!(target("name.givenName").source, "[firstName]");
        for optional in [
            "urn:ietf:params:scim:schemas:extension:ciscoumbrella:2.0:User:authName",
            "name.formatted",
            "urn:ietf:params:scim:schemas:extension:ciscoumbrella:2.0:User:nativeObjectId",
        ] {
            assert!(target(optional).inferred, "{optional} is inferred");
        }
    }

    #[test]
    fn activity_lines() {
        let w = &Duo::new(&Map::new()).unwrap().wire;
        assert_eq!(
            w.action("user_create", true, "x"),
            "User provisioning succeeded"
        );
        assert_eq!(
            w.action("group_update", true, "x"),
            "Group provisioning succeeded"
        );
        assert_eq!(
            w.action("user_deactivate", false, "x"),
            "User deprovisioning failed"
        );
    }

    #[test]
    fn settings_select_the_wire() {
        let d = Duo::new(&settings(
            json!({"update": "put", "deactivate_shape": "pathless",
            "connection_check": "list", "group_members_on_create": false}),
        ))
        .unwrap();
        assert_eq!(d.wire.update.user, UpdateVerb::Put);
        assert_eq!(d.wire.deactivate.user, DeactivateShape::Pathless);
        assert_eq!(d.wire.connect.check, ConnectionCheck::List);
        assert!(!d.wire.create.group_members);
        // The bundled wire is untouched: another Duo profile keeps the defaults.
        assert_eq!(wire::duo().update.user, UpdateVerb::Patch);
    }
}
