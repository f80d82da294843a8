//! Okta's SCIM 2.0 provisioning, as `../shared/reference/okta-duo-others.md` §1 describes it:
//! two variants that share every flow and differ in data. OIN catalog apps PATCH to activate
//! and deactivate and PATCH groups; App Integration Wizard (AIW) apps send every update as
//! GET then a full PUT. Okta reacts to each change as it happens (no cycles). A deactivation
//! from an OIN app (https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20/):
//!
//! ```json
//! PATCH /Users/{id}
//! {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}
//! ```
//!
//! What Okta shows its admin is its System Log; the entries are built from what the server
//! answered (Group Push lines as in Cisco's Okta guide: "pushed to app", "updated in app").

use crate::check::expected::{Deprovision, Rules};
use crate::client::Method;
use crate::idp::engine::{
    each, each_changed_user, is_inactive, Engine, Matched, Subject, Subjected, Updated,
};
use crate::idp::mapping::Mapping;
use crate::idp::sync::Link;
pub use crate::idp::wire::FilterEncoding;
use crate::idp::wire::{self, yes, DeactivateShape, Rename, UpdateVerb, Wire};
use crate::idp::{list_resources, Ctx};
use crate::report::model::{CheckReport, Outcome};
use crate::scim::kind::ObjectKind;
use crate::source::{PushState, User};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

/// Okta's import page: `count=100`, the next page at `startIndex+100` (S1).
const IMPORT_PAGE: u64 = 100;

fn okta_mapping() -> String {
    "okta-default".into()
}

/// Provisioning › To App settings and Group Push options (S1, S4).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OktaSettings {
    #[serde(default = "okta_mapping")]
    pub mapping: String,
    #[serde(default = "yes")]
    pub create_users: bool,
    #[serde(default = "yes")]
    pub update_user_attributes: bool,
    #[serde(default = "yes")]
    pub deactivate_users: bool,
    #[serde(default = "yes")]
    pub push_groups: bool,
    #[serde(default)]
    pub import_groups: bool,
    /// The wire's `lookup.encoding`: `percent` (Okta's documentation) or `plus` (the 2018
    /// capture, S3).
    #[serde(default)]
    pub filter_encoding: FilterEncoding,
    /// Look the group up before pushing it (one lab saw it, another did not).
    #[serde(default = "yes")]
    pub group_lookup: bool,
    /// POST /Groups with the members filled in (older docs, one AIW lab) instead of `[]`.
    #[serde(default)]
    pub push_members_on_create: bool,
    /// The wire's `members.rename`: `with_members`, the rename op first in every membership
    /// PATCH (as labs captured it), or `separate`, a rename PATCH of its own and membership
    /// PATCHes of remove and add alone (as S1's examples show them).
    #[serde(default)]
    pub group_rename: GroupRename,
    /// The app type (S1): `OIN`, a catalogue app, or `AIW`, an App Integration Wizard app,
    /// which sends every change as a GET then a full PUT. `idp: okta-aiw` presets `AIW`.
    #[serde(default)]
    pub app: App,
}

/// Okta's app type: the `app` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum App {
    #[default]
    #[serde(rename = "OIN")]
    Oin,
    #[serde(rename = "AIW")]
    Aiw,
}

impl App {
    /// As written in `settings: { app: ... }` and shown in the verdict.
    pub fn name(self) -> &'static str {
        match self {
            App::Oin => "OIN",
            App::Aiw => "AIW",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupRename {
    #[default]
    WithMembers,
    Separate,
}

pub struct Okta {
    pub settings: OktaSettings,
    pub mapping: Mapping,
    /// `src/idp/wires/okta.yaml`, with the settings and the app variant applied.
    pub wire: Wire,
}

impl Okta {
    pub fn new(settings: &Map<String, Value>) -> Result<Okta, String> {
        let settings: OktaSettings = crate::idp::typed_settings(settings, "Okta settings are mapping, create_users, update_user_attributes, deactivate_users, push_groups, import_groups, filter_encoding (percent | plus), group_lookup, push_members_on_create, group_rename (with_members | separate), app (OIN | AIW)")?;
        let mapping = Mapping::load(&settings.mapping).map_err(|e| e.to_string())?;
        let mut wire = wire::okta().clone();
        wire.lookup.encoding = settings.filter_encoding;
        wire.create.group_members = settings.push_members_on_create;
        wire.members.rename = match settings.group_rename {
            GroupRename::WithMembers => Rename::WithMembers,
            GroupRename::Separate => Rename::Separate,
        };
        if settings.app == App::Aiw {
            // AIW apps send every change as GET then a full PUT (S1).
            wire.deactivate.user = DeactivateShape::Put;
            wire.members.update = UpdateVerb::Put;
        }
        Ok(Okta {
            settings,
            mapping,
            wire,
        })
    }

    /// Okta deactivates users and never deletes them (S1, S5); groups live in the app while
    /// pushed, or after an unlink that leaves them there.
    pub fn rules(&self) -> Rules {
        let users = if self.settings.deactivate_users {
            Deprovision::Disable
        } else {
            Deprovision::Nothing
        };
        Rules {
            out_of_scope_user: users,
            disabled_user: users,
            deleted_user: users,
            out_of_scope_group: Deprovision::Delete,
            groups_follow_push: true,
            clears_attributes: true,
            groups: true,
        }
    }

    fn engine(&self) -> Engine<'_> {
        Engine::new(&self.wire, &self.mapping)
    }

    // ------------------------------------------------------------------ connection

    /// Test API Credentials: `GET /Users?startIndex=1&count=2`, and the groups page when Import
    /// Groups is on (S1, S2).
    pub async fn test_connection(&self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        let eng = self.engine();
        let mut pages = vec![("/Users?startIndex=1&count=2", "users")];
        if self.settings.import_groups {
            pages.push(("/Groups?startIndex=1&count=100", "groups"));
        }
        for (path, what) in pages {
            let resp = eng
                .send(
                    ctx,
                    Method::GET,
                    path.into(),
                    None,
                    eng.fact("connect", None),
                )
                .await;
            if resp.status != Some(200) || list_resources(&resp).is_none() {
                return Err(format!(
                    "No results for {what} returned ({})",
                    resp.describe()
                ));
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------------ users

    /// Okta reacts to each change: assignments, profile changes, deactivations, membership of
    /// pushed groups.
    pub async fn react(&self, ctx: &mut Ctx<'_>) {
        let since = ctx.sync().watermark.unwrap_or(0);
        let start =
            each_changed_user(ctx, async |ctx, key| self.process_user(ctx, &key).await).await;
        if self.settings.push_groups {
            let groups: Vec<String> = ctx
                .dir()
                .groups
                .iter()
                .filter(|g| g.changed > since && g.push == PushState::Pushed)
                .map(|g| g.key.clone())
                .collect();
            each(ctx, groups, async |ctx, key| {
                self.sync_group(ctx, &key, false).await
            })
            .await;
        }
        ctx.cycle_done(start);
    }

    async fn process_user(&self, ctx: &mut Ctx<'_>, key: &str) {
        let Some(u) = ctx.dir().user(key).cloned() else {
            return;
        };
        // A suspended (`disable`), deactivated or unassigned user is deactivated in the app:
        // S1 sends a suspended user `active: false` like a deactivated one; deleting a user
        // sends nothing: Okta never DELETEs users (S1, S5).
        let wanted =
            ctx.dir().user_in_scope(&u) && !u.attrs.is_false("accountEnabled") && !u.hard_deleted;
        let link = ctx.sync().users.get(key).cloned();
        match link {
            None if wanted && self.settings.create_users => self.assign(ctx, &u).await,
            None => {}
            Some(l) if !wanted && l.managed && self.settings.deactivate_users => {
                self.set_active(ctx, &u, &l, false).await;
            }
            Some(l) if wanted && !l.managed => {
                // Reassignment runs the lookup again and reactivates what it finds (S1, S16).
                self.assign(ctx, &u).await;
            }
            Some(l) if wanted => self.update_profile(ctx, &u, &l.target_id, vec![]).await,
            Some(_) => {}
        }
    }

    /// Assignment: look up by userName; link and reactivate, or create.
    async fn assign(&self, ctx: &mut Ctx<'_>, u: &User) {
        let eng = self.engine();
        let desired = eng.desired_user(ctx, u);
        let m = eng.match_or_create(ctx, u.subject(), &desired, &[]).await;
        if let Matched::Found {
            id,
            resource,
            exchanges,
        } = m
        {
            if is_inactive(&resource) {
                let l = ctx.sync().users.get(&u.key).cloned().expect("link");
                self.set_active(ctx, u, &l, true).await;
                return;
            }
            self.update_profile(ctx, u, &id, exchanges).await;
        }
    }

    /// Profile update: GET, then PUT the whole resource GET returned with the changed
    /// attributes edited (S1; "anything the server returns comes back", S16).
    async fn update_profile(&self, ctx: &mut Ctx<'_>, u: &User, id: &str, mut exchanges: Vec<u64>) {
        if !self.settings.update_user_attributes {
            return;
        }
        let eng = self.engine();
        // Okta pushes a profile when the app profile changed, not on every event.
        let desired = eng.desired_user(ctx, u);
        if ctx
            .sync()
            .users
            .get(&u.key)
            .and_then(|l| l.view_sent.as_ref())
            .is_some_and(|sent| sent.value() == desired)
        {
            return;
        }
        // 404 on the GET: Okta stops; no re-create, no retry (S16).
        let resp = match eng
            .update_user(ctx, id, &desired, &Vec::new(), &mut exchanges)
            .await
        {
            Updated::Unchanged => {
                if let Some(l) = ctx.sync_mut().users.get_mut(&u.key) {
                    l.view_sent = Some(desired.into());
                }
                return;
            }
            Updated::Sent(r) | Updated::ReadFailed(r) => r,
        };
        eng.outcome(
            ctx,
            u.subject(),
            "user_update",
            &resp,
            "",
            vec![],
            exchanges,
        );
    }

    /// Deactivate or reactivate: a path-less PATCH on OIN apps, GET then PUT on AIW apps.
    async fn set_active(&self, ctx: &mut Ctx<'_>, u: &User, l: &Link, active: bool) {
        let eng = self.engine();
        let mut exchanges = Vec::new();
        let resp = eng
            .set_active(ctx, &l.target_id, active, &mut exchanges)
            .await;
        let event = if active {
            "user_reactivate"
        } else {
            "user_deactivate"
        };
        if eng.outcome(ctx, u.subject(), event, &resp, "", vec![], exchanges) {
            if let Some(link) = ctx.sync_mut().users.get_mut(&u.key) {
                link.managed = active;
            }
        }
    }

    // ------------------------------------------------------------------ groups

    /// Members Okta pushes: group members assigned to the app, provisioned and active
    /// (https://help.okta.com/en-us/content/topics/users-groups-profiles/usgp-group-push-prerequisites.htm).
    fn pushable_members(&self, ctx: &Ctx<'_>, key: &str) -> BTreeSet<String> {
        let dir = ctx.dir();
        let Some(g) = dir.group(key) else {
            return BTreeSet::new();
        };
        g.members
            .iter()
            .filter(|m| ctx.sync().users.get(*m).is_some_and(|l| l.managed))
            .filter(|m| {
                ctx.dir()
                    .user(m)
                    .is_some_and(|u| !u.attrs.is_false("accountEnabled"))
            })
            .cloned()
            .collect()
    }

    /// A pushed group's link, label and name; `None` when it is not linked.
    fn pushed(&self, ctx: &Ctx<'_>, key: &str) -> Option<(Link, String, String)> {
        let link = ctx.sync().groups.get(key).cloned()?;
        let label = ctx
            .dir()
            .group(key)
            .map(|g| g.label.clone())
            .unwrap_or_default();
        Some((link, label, self.group_name(ctx, key)))
    }

    fn group_name(&self, ctx: &Ctx<'_>, key: &str) -> String {
        ctx.dir()
            .group(key)
            .and_then(|g| {
                g.attrs
                    .get("displayName")
                    .and_then(|v| v.as_str().map(str::to_string))
            })
            .unwrap_or_else(|| key.to_string())
    }

    /// Push groups: lookup (optional), POST, read back, initial membership (S1, S16, S17).
    pub async fn push(
        &self,
        ctx: &mut Ctx<'_>,
        groups: &[String],
        link_existing: bool,
    ) -> Result<(), String> {
        if !self.settings.push_groups {
            return Err("Group Push is off in the Okta settings (push_groups: false)".into());
        }
        ctx.dir_mut()
            .set_push(groups, PushState::Pushed)
            .map_err(|e| e.0)?;
        let eng = self.engine();
        for key in groups {
            let Some(g) = ctx.dir().group(key).cloned() else {
                continue;
            };
            let label = g.label.clone();
            let s = Subject::group(key, &label);
            ctx.log(
                &label,
                ObjectKind::Group,
                "Group Push mapping created",
                "Success",
                None,
                Some(format!(
                    "A Group Push mapping to the group {label} has been created."
                )),
                vec![],
                vec![],
            );
            if ctx.sync().groups.contains_key(key) {
                continue;
            }
            let name = self.group_name(ctx, key);
            let desired = json!({"displayName": name});
            let mut exchanges = Vec::new();
            if self.settings.group_lookup || link_existing {
                // Group Linking: the name exists in the app; Okta links instead of creating
                // (S11). An answer that is not a ListResponse is taken as "not there".
                match eng.lookup(ctx, s, &desired, "group_link").await {
                    crate::idp::engine::Looked::Found(Matched::Found { exchanges, .. }) => {
                        self.full_membership(ctx, key, exchanges).await;
                        continue;
                    }
                    crate::idp::engine::Looked::Found(_) | crate::idp::engine::Looked::Stopped => {
                        continue
                    }
                    crate::idp::engine::Looked::Absent(e)
                    | crate::idp::engine::Looked::Failed(_, e) => exchanges = e,
                }
                if link_existing {
                    eng.failed(
                        ctx,
                        s,
                        "group_link",
                        "NotFound",
                        format!("no group named {name} in the app to link to"),
                        exchanges,
                    );
                    continue;
                }
            }
            let sent = if self.wire.create.group_members {
                self.pushable_members(ctx, key)
            } else {
                BTreeSet::new()
            };
            let members = eng.member_values(ctx, &sent);
            let Matched::Created { id } = eng.create(ctx, s, &desired, &members, exchanges).await
            else {
                continue;
            };
            if let Some(l) = ctx.sync_mut().groups.get_mut(key) {
                l.members_sent = sent;
                l.name_sent = Some(name.clone());
            }
            let path = crate::idp::object_path(ObjectKind::Group, &id);
            let back = eng
                .send(ctx, Method::GET, path, None, eng.fact("group_get", None))
                .await;
            if !back.ok() {
                continue;
            }
            // Members already in the POST are not sent again; otherwise the initial membership
            // goes out as a membership update (S17).
            self.sync_group(ctx, key, !self.wire.create.group_members)
                .await;
        }
        ctx.sync_mut().watermark = Some(ctx.dir().clock);
        Ok(())
    }

    /// Membership (and name) changes of a pushed group: OIN sends the rename op with every
    /// membership PATCH, then filtered removes and one add; AIW sends GET then a full PUT (S1).
    async fn sync_group(&self, ctx: &mut Ctx<'_>, key: &str, initial: bool) {
        let Some((link, label, name)) = self.pushed(ctx, key) else {
            return;
        };
        let s = Subject::group(key, &label);
        let eng = self.engine();
        let members_now: BTreeSet<String> = ctx
            .dir()
            .group(key)
            .map(|g| g.members.iter().cloned().collect())
            .unwrap_or_default();
        let pushable = self.pushable_members(ctx, key);
        let add: Vec<String> = pushable.difference(&link.members_sent).cloned().collect();
        // Unassigning a user does not remove it from pushed groups (S16): only members who left
        // the Okta group are removed.
        let remove: Vec<String> = link
            .members_sent
            .iter()
            .filter(|m| !members_now.contains(*m))
            .cloned()
            .collect();
        let put = self.wire.members.update == UpdateVerb::Put;
        if add.is_empty() && remove.is_empty() && !initial {
            if link.name_sent.as_deref() == Some(name.as_str()) {
                return;
            }
            // A rename alone.
            if !put {
                let ops = eng.rename_op(&link.target_id, &name).into_iter().collect();
                let resp = eng.patch_group(ctx, &link.target_id, ops).await;
                if resp.ok() && self.wire.members.rename == Rename::Separate {
                    if let Some(l) = ctx.sync_mut().groups.get_mut(key) {
                        l.name_sent = Some(name.clone());
                    }
                }
                eng.outcome(
                    ctx,
                    s,
                    "group_update",
                    &resp,
                    "",
                    vec![],
                    vec![resp.exchange],
                );
                return;
            }
        }
        let mut after = link.members_sent.clone();
        after.extend(add.iter().cloned());
        for r in &remove {
            after.remove(r);
        }
        let mut exchanges = Vec::new();
        let resp = if put {
            let values = eng.member_values(ctx, &after);
            eng.put_group(ctx, &link.target_id, &name, values, &mut exchanges)
                .await
        } else {
            let renamed = link.name_sent.as_deref() != Some(name.as_str());
            let mut ops: Vec<Value> = Vec::new();
            let mut rename_sent = None;
            match self.wire.members.rename {
                Rename::Separate if renamed => {
                    // The rename on its own, then the membership PATCH without it.
                    let rename = eng.rename_op(&link.target_id, &name).into_iter().collect();
                    let resp = eng.patch_group(ctx, &link.target_id, rename).await;
                    exchanges.push(resp.exchange);
                    if !resp.ok() {
                        eng.outcome(ctx, s, "group_update", &resp, "", vec![], exchanges);
                        return;
                    }
                    if let Some(l) = ctx.sync_mut().groups.get_mut(key) {
                        l.name_sent = Some(name.clone());
                    }
                    rename_sent = Some(resp);
                }
                Rename::Separate => {}
                _ => ops.extend(eng.rename_op(&link.target_id, &name)),
            }
            let (add, remove): (Vec<&String>, Vec<&String>) =
                (add.iter().collect(), remove.iter().collect());
            ops.extend(eng.member_ops(ctx, &add, &remove));
            match rename_sent {
                // Nothing but the rename to send: it was sent.
                Some(r) if ops.is_empty() => r,
                None if ops.is_empty() => return,
                _ => {
                    let resp = eng.patch_group(ctx, &link.target_id, ops).await;
                    exchanges.push(resp.exchange);
                    resp
                }
            }
        };
        eng.group_updated(ctx, s, &resp, "", vec![], exchanges, after);
    }

    /// Push Now, or the first push onto a linked group: the whole member list (S1; AIW S16).
    async fn full_membership(&self, ctx: &mut Ctx<'_>, key: &str, mut exchanges: Vec<u64>) {
        let Some((link, label, name)) = self.pushed(ctx, key) else {
            return;
        };
        let s = Subject::group(key, &label);
        let eng = self.engine();
        let all = self.pushable_members(ctx, key);
        let values = eng.member_values(ctx, &all);
        let ops = vec![json!({"op": "replace", "path": "members", "value": values})];
        let resp = eng
            .update_members(ctx, &link.target_id, &name, &all, ops, &mut exchanges)
            .await;
        eng.group_updated(ctx, s, &resp, "", vec![], exchanges, all);
    }

    pub async fn push_now(&self, ctx: &mut Ctx<'_>, groups: &[String]) -> Result<(), String> {
        for key in groups {
            if !ctx.sync().groups.contains_key(key) {
                return Err(format!("group '{key}' is not pushed: push it first"));
            }
            self.full_membership(ctx, key, Vec::new()).await;
        }
        ctx.sync_mut().watermark = Some(ctx.dir().clock);
        Ok(())
    }

    /// Unlink: "leave the group in the target app" sends nothing; "delete" sends DELETE (S1, S11).
    pub async fn unlink(
        &self,
        ctx: &mut Ctx<'_>,
        groups: &[String],
        delete: bool,
    ) -> Result<(), String> {
        let state = if delete {
            PushState::DeletedInApp
        } else {
            PushState::LeftInApp
        };
        ctx.dir_mut().set_push(groups, state).map_err(|e| e.0)?;
        for key in groups {
            if !ctx.sync().groups.contains_key(key) {
                continue;
            }
            if delete {
                let label = ctx
                    .dir()
                    .group(key)
                    .map(|g| g.label.clone())
                    .unwrap_or_default();
                let s = Subject::group(key, &label);
                self.engine().delete(ctx, s).await;
            }
            ctx.sync_mut().groups.remove(key);
        }
        Ok(())
    }

    // ------------------------------------------------------------------ import

    /// Import: page through `/Users` (and `/Groups` with Import Groups) with count=100 until
    /// `totalResults` (S1). Repeated or missing resources mean the server's paging is off.
    pub async fn import(&self, ctx: &mut Ctx<'_>) -> Vec<CheckReport> {
        let eng = self.engine();
        let import = eng.fact("import", None);
        let mut checks = Vec::new();
        let mut kinds = vec![ObjectKind::User];
        if self.settings.import_groups {
            kinds.push(ObjectKind::Group);
        }
        for kind in kinds {
            // Each id once, and how many were read in all: at 100,000 imported users a list of
            // every id read plus a set plus a second set to count them held three copies.
            let mut read = 0usize;
            let mut seen_set: std::collections::HashSet<String> = Default::default();
            let mut start = 1u64;
            let mut total = 0u64;
            let mut pages = Vec::new();
            let mut problem = None;
            // A server whose listing never ends (totalResults always ahead, or pages that
            // repeat) must not hold the run: at most `--max-pages` pages.
            let max_pages = ctx.client.limits().max_pages;
            let mut ended = false;
            for _ in 0..max_pages {
                let path = format!("{}?startIndex={start}&count={IMPORT_PAGE}", kind.endpoint());
                let resp = eng.send(ctx, Method::GET, path, None, import).await;
                pages.push(resp.exchange);
                let Some(found) = list_resources(&resp).filter(|_| resp.ok()) else {
                    problem = Some(format!(
                        "page startIndex={start} answered {}",
                        resp.describe()
                    ));
                    ended = true;
                    break;
                };
                let total_results = resp.body.as_ref().and_then(|b| b.get("totalResults"));
                match total_results.and_then(Value::as_u64) {
                    Some(t) => total = t,
                    None => {
                        problem = Some("totalResults is missing or not an integer".into());
                        ended = true;
                        break;
                    }
                }
                let ids: Vec<String> = found
                    .iter()
                    .filter_map(|r| r.get("id").and_then(Value::as_str).map(str::to_string))
                    .collect();
                // A page holding only resources already read: the server ignores startIndex,
                // and reading on would repeat it until totalResults or the page cap.
                if !ids.is_empty() && ids.iter().all(|id| seen_set.contains(id)) {
                    problem = Some(format!(
                        "page startIndex={start} returned no new {}s: all {} were on earlier pages (RFC 7644 §3.4.2.4: startIndex selects the page)",
                        kind.name().to_lowercase(),
                        ids.len()
                    ));
                    ended = true;
                    break;
                }
                read += ids.len();
                seen_set.extend(ids);
                if found.is_empty() || start + found.len() as u64 > total {
                    ended = true;
                    break;
                }
                // Okta asks for count=100 and moves startIndex by 100 (S1: "startIndex+100"),
                // whatever the page held: a server that caps pages below 100 loses the rest.
                start += IMPORT_PAGE;
            }
            if !ended {
                problem = Some(format!(
                    "pagination did not end after {max_pages} pages (--max-pages): the last page had startIndex={start}, totalResults {total}"
                ));
            }
            let unique = &seen_set;
            let repeated = read - unique.len();
            if problem.is_none() && (repeated > 0 || (unique.len() as u64) != total) {
                problem = Some(format!(
                    "Okta read {} {}s ({} distinct, {repeated} repeated) where totalResults says {total}: Okta needs a 1-based startIndex (RFC 7644 §3.4.2.4), pages of the 100 it asks for (it moves startIndex by 100, S1) and pages that neither skip nor repeat while it imports (the RFC does not promise stable pages; Okta relies on them)",
                    read,
                    kind.name().to_lowercase(),
                    unique.len()
                ));
            }
            let name = format!("import {}s", kind.name().to_lowercase());
            match problem {
                None => {
                    ctx.log(
                        "Import",
                        kind,
                        &format!("Import {}s from app", kind.name().to_lowercase()),
                        "Success",
                        None,
                        Some(format!(
                            "{} {}s imported",
                            unique.len(),
                            kind.name().to_lowercase()
                        )),
                        vec![],
                        pages.clone(),
                    );
                    checks.push(CheckReport {
                        name,
                        outcome: Outcome::Passed,
                        message: format!(
                            "{} {}s imported in {} pages",
                            unique.len(),
                            kind.name().to_lowercase(),
                            pages.len()
                        ),
                        diff: None,
                        patch: None,
                        exchanges: vec![],
                    });
                }
                Some(p) => {
                    ctx.ledger_mut().unpaged.insert(kind);
                    ctx.finding(import, p.clone(), pages.last().copied());
                    ctx.log(
                        "Import",
                        kind,
                        &format!("Import {}s from app", kind.name().to_lowercase()),
                        "Failure",
                        Some("ImportPaging".into()),
                        Some(p.clone()),
                        vec![],
                        pages.clone(),
                    );
                    checks.push(CheckReport {
                        name,
                        outcome: Outcome::Failed,
                        message: format!("Okta: {}: {p}", import.name),
                        diff: None,
                        patch: None,
                        exchanges: pages,
                    });
                }
            }
        }
        checks
    }
}
