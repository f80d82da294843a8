//! The IdP's own directory (the "source"), changed by scenario steps: users, groups,
//! memberships, assignments to the app, and each object's lifecycle. It knows nothing of SCIM.
//!
//! Names are run-scoped here, once: `userPrincipalName`, `mail`, `mailNickname` and
//! `displayName` carry the scenario's tag (`test.user.r3f9a1c01@contoso.com`,
//! `IT-Admins r3f9a1c01`) so runs and scenarios never collide on one server. The provisioning
//! log still names objects by their unscoped display name.
//!
//! Lookups are by hash, never by scan, so a 100,000-user tenant costs what 100 tenants of
//! 1,000 do: users and groups are indexed by key, and each user by the groups listing it (what
//! "in scope through an assigned group" asks, for every user, on every cycle and check).
//! Users and groups are only ever added (through [`SourceDirectory::add_user`] and
//! [`SourceDirectory::add_group`]) and members only changed through
//! [`SourceDirectory::set_members`], which keep the indexes.
//!
//! It sits at the crate root, below its users: the IdP profiles (`idp/`) read it to decide what
//! to send, the checks (`check/`) derive the expected target state from it, and the runner
//! changes it step by step. It depends on the scenario model only.

use std::collections::{HashMap, HashSet};

use crate::scenario::model::{
    Directory, SourceGroup as GroupSpec, SourceUser as UserSpec, Targets,
};
use serde_json::{Map, Value};

#[derive(Debug, Clone)]
pub struct User {
    /// The scenario's id for it (`test-user`).
    pub key: String,
    /// The IdP's immutable id (Entra `objectId`), a fresh GUID per run.
    pub object_id: String,
    /// The IdP's attributes, run-scoped.
    pub attrs: Attrs,
    /// The display name as the scenario wrote it (the provisioning log's "identity").
    pub label: String,
    pub assigned: bool,
    pub soft_deleted: bool,
    pub hard_deleted: bool,
    /// Clock value of the last change that matters to provisioning.
    pub changed: u64,
    /// Was in the app's scope when the IdP last ran a cycle or on-demand provisioning.
    pub provisioned: bool,
    /// Left scope (unassigned, or its group unassigned) after being provisioned: the IdP no
    /// longer manages it, so a later deletion sends nothing
    /// (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/how-provisioning-works).
    pub released: bool,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub key: String,
    pub object_id: String,
    pub attrs: Attrs,
    pub label: String,
    pub members: Vec<String>,
    pub assigned: bool,
    pub deleted: bool,
    pub changed: u64,
    pub provisioned: bool,
    /// Okta Group Push state of the group.
    pub push: PushState,
}

/// A source object's attributes (`{"userPrincipalName": "…", "department": "Sales", …}`),
/// held as compact JSON text: a directory holds one per user, and as a tree each cost about
/// three times its text (a 100,000-user tenant: ~150 MB as trees). Read them whole with
/// [`Attrs::map`] when building a view (one parse per view), or one with [`Attrs::get`].
#[derive(Debug, Clone, Default)]
pub struct Attrs(crate::compact::Compact);

impl Attrs {
    /// Every attribute, in the order the scenario gave them.
    pub fn map(&self) -> Map<String, Value> {
        match self.0.value() {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    pub fn get(&self, key: &str) -> Option<Value> {
        self.map().remove(key)
    }

    /// True when `key` holds the boolean `false` (`accountEnabled: false`).
    pub fn is_false(&self, key: &str) -> bool {
        self.get(key) == Some(Value::Bool(false))
    }

    fn edit(&mut self, f: impl FnOnce(&mut Map<String, Value>)) {
        let mut m = self.map();
        f(&mut m);
        *self = Attrs::from(m);
    }
}

impl From<Map<String, Value>> for Attrs {
    fn from(m: Map<String, Value>) -> Self {
        Attrs(Value::Object(m).into())
    }
}

/// Where a group stands in Okta's Group Push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PushState {
    #[default]
    NotPushed,
    /// Pushed (or linked) and kept in sync.
    Pushed,
    /// Unlinked, "leave the group in the target app".
    LeftInApp,
    /// Unlinked, "delete the group in the target app".
    DeletedInApp,
}

#[derive(Debug, Clone, Default)]
pub struct SourceDirectory {
    /// In directory order. Read freely; add only through `add_user` (it keeps the index).
    pub users: Vec<User>,
    /// In directory order. Read freely; add only through `add_group`.
    pub groups: Vec<Group>,
    /// Ticks on every change; cycles remember it as their watermark.
    pub clock: u64,
    tag: String,
    /// User key → index in `users`.
    user_at: HashMap<String, usize>,
    /// Group key → index in `groups`.
    group_at: HashMap<String, usize>,
    /// User key → indexes of the groups whose `members` list it (each once).
    member_of: HashMap<String, Vec<usize>>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DirectoryError(pub String);

fn scope_value(key: &str, v: &Value, tag: &str) -> Value {
    let Some(s) = v.as_str() else {
        return v.clone();
    };
    match key {
        "userPrincipalName" | "mail" | "login" | "email" | "username" => match s.split_once('@') {
            Some((local, domain)) => Value::String(format!("{local}.{tag}@{domain}")),
            None => Value::String(format!("{s}.{tag}")),
        },
        "mailNickname" => Value::String(format!("{s}.{tag}")),
        "displayName" => Value::String(format!("{s} {tag}")),
        _ => v.clone(),
    }
}

fn scoped(attrs: &Map<String, Value>, tag: &str) -> Attrs {
    let m: Map<String, Value> = attrs
        .iter()
        .map(|(k, v)| (k.clone(), scope_value(k, v, tag)))
        .collect();
    m.into()
}

impl SourceDirectory {
    /// The scenario's directory, with names scoped by `tag`.
    /// `generated` are the objects of `spec.generate` (made by the caller), placed after the
    /// hand-written ones as the loader checked them.
    pub fn new(spec: &Directory, generated: (&[UserSpec], &[GroupSpec]), tag: &str) -> Self {
        let mut d = SourceDirectory {
            tag: tag.to_string(),
            ..Default::default()
        };
        for u in spec.users.iter().chain(generated.0) {
            d.add_user(u);
        }
        for g in spec.groups.iter().chain(generated.1) {
            d.add_group(g);
        }
        d
    }

    pub fn tag(&self) -> &str {
        &self.tag
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    pub fn add_user(&mut self, u: &UserSpec) {
        let now = self.tick();
        let label = u
            .attributes
            .get("displayName")
            .and_then(Value::as_str)
            .unwrap_or(&u.id)
            .to_string();
        let mut attrs = u.attributes.clone();
        // Every Entra user has a mailNickname; unless the scenario gives one it is the local
        // part of the userPrincipalName, as Entra derives it [inferred].
        if !attrs.contains_key("mailNickname") {
            if let Some(local) = attrs
                .get("userPrincipalName")
                .and_then(Value::as_str)
                .and_then(|upn| upn.split('@').next())
            {
                attrs.insert("mailNickname".into(), Value::String(local.to_string()));
            }
        }
        // A key defined twice (the loader refuses that) resolves to the first, as a scan did.
        self.user_at.entry(u.id.clone()).or_insert(self.users.len());
        self.users.push(User {
            key: u.id.clone(),
            object_id: uuid::Uuid::new_v4().to_string(),
            attrs: scoped(&attrs, &self.tag),
            label,
            assigned: false,
            soft_deleted: false,
            hard_deleted: false,
            changed: now,
            provisioned: false,
            released: false,
        });
    }

    pub fn add_group(&mut self, g: &GroupSpec) {
        let now = self.tick();
        let label = g
            .attributes
            .get("displayName")
            .and_then(Value::as_str)
            .unwrap_or(&g.id)
            .to_string();
        let at = self.groups.len();
        self.group_at.entry(g.id.clone()).or_insert(at);
        for m in &g.members {
            let groups = self.member_of.entry(m.clone()).or_default();
            if groups.last() != Some(&at) {
                groups.push(at);
            }
        }
        self.groups.push(Group {
            key: g.id.clone(),
            object_id: uuid::Uuid::new_v4().to_string(),
            attrs: scoped(&g.attributes, &self.tag),
            label,
            members: g.members.clone(),
            assigned: false,
            deleted: false,
            changed: now,
            provisioned: false,
            push: PushState::NotPushed,
        });
    }

    /// Keys of the users changed after clock value `since`, in directory order: what an
    /// event-driven IdP (Okta, Duo) acts on after a change.
    pub fn users_changed_since(&self, since: u64) -> Vec<String> {
        self.users
            .iter()
            .filter(|u| u.changed > since)
            .map(|u| u.key.clone())
            .collect()
    }

    pub fn user(&self, key: &str) -> Option<&User> {
        self.user_at.get(key).map(|&i| &self.users[i])
    }

    pub fn group(&self, key: &str) -> Option<&Group> {
        self.group_at.get(key).map(|&i| &self.groups[i])
    }

    fn user_mut(&mut self, key: &str) -> Result<&mut User, DirectoryError> {
        match self.user_at.get(key) {
            Some(&i) => Ok(&mut self.users[i]),
            None => Err(DirectoryError(format!("no user '{key}' in the directory"))),
        }
    }

    fn group_mut(&mut self, key: &str) -> Result<&mut Group, DirectoryError> {
        match self.group_at.get(key) {
            Some(&i) => Ok(&mut self.groups[i]),
            None => Err(DirectoryError(format!("no group '{key}' in the directory"))),
        }
    }

    /// The groups whose members list the user `key`.
    pub fn groups_of(&self, key: &str) -> impl Iterator<Item = &Group> + '_ {
        self.member_of
            .get(key)
            .into_iter()
            .flatten()
            .map(|&i| &self.groups[i])
    }

    /// In the app's scope ("sync only assigned users and groups"): assigned directly, or a
    /// member of an assigned group, and not deleted.
    pub fn user_in_scope(&self, u: &User) -> bool {
        !u.hard_deleted
            && !u.soft_deleted
            && (u.assigned || self.groups_of(&u.key).any(|g| g.assigned && !g.deleted))
    }

    pub fn group_in_scope(&self, g: &Group) -> bool {
        g.assigned && !g.deleted
    }

    /// Entra's `IsSoftDeleted`: disabled, in the recycle bin, or out of scope
    /// (https://learn.microsoft.com/en-us/answers/questions/552508/is-there-any-way-to-manage-delete-and-disable-stat).
    pub fn is_soft_deleted(&self, u: &User) -> bool {
        u.soft_deleted || !self.user_in_scope(u) || u.attrs.is_false("accountEnabled")
    }

    /// Marks everything currently in scope as provisioned, and what left scope as released.
    /// Called when a cycle runs: a fact about the source at that moment.
    pub fn note_cycle(&mut self) {
        let scope: Vec<bool> = self.users.iter().map(|u| self.user_in_scope(u)).collect();
        for (u, in_scope) in self.users.iter_mut().zip(scope) {
            if in_scope {
                u.provisioned = true;
                u.released = false;
            } else if u.provisioned && !u.hard_deleted {
                u.released = true;
            }
        }
        for g in self.groups.iter_mut() {
            if g.assigned && !g.deleted {
                g.provisioned = true;
            }
        }
    }

    /// Marks one user (on-demand provisioning) as provisioned.
    pub fn note_on_demand(&mut self, key: &str) {
        let in_scope = self.user(key).is_some_and(|u| self.user_in_scope(u));
        if let Ok(u) = self.user_mut(key) {
            if in_scope {
                u.provisioned = true;
            }
        }
    }

    pub fn note_on_demand_group(&mut self, key: &str) {
        if let Ok(g) = self.group_mut(key) {
            if g.assigned && !g.deleted {
                g.provisioned = true;
            }
        }
    }

    fn touch_members(&mut self, group_key: &str, now: u64) {
        let Some(&g) = self.group_at.get(group_key) else {
            return;
        };
        for m in &self.groups[g].members {
            if let Some(&i) = self.user_at.get(m) {
                self.users[i].changed = now;
            }
        }
    }

    pub fn set_assigned(&mut self, t: &Targets, assigned: bool) -> Result<(), DirectoryError> {
        let now = self.tick();
        for k in &t.users {
            let u = self.user_mut(k)?;
            u.assigned = assigned;
            u.changed = now;
        }
        for k in &t.groups {
            let g = self.group_mut(k)?;
            g.assigned = assigned;
            g.changed = now;
            self.touch_members(k, now);
        }
        Ok(())
    }

    pub fn set_enabled(&mut self, t: &Targets, enabled: bool) -> Result<(), DirectoryError> {
        let now = self.tick();
        for k in &t.users {
            let u = self.user_mut(k)?;
            u.attrs.edit(|a| {
                a.insert("accountEnabled".into(), Value::Bool(enabled));
            });
            u.changed = now;
        }
        if !t.groups.is_empty() {
            return Err(DirectoryError(
                "groups cannot be disabled or enabled".into(),
            ));
        }
        Ok(())
    }

    pub fn set_soft_deleted(&mut self, t: &Targets, deleted: bool) -> Result<(), DirectoryError> {
        let now = self.tick();
        for k in &t.users {
            let u = self.user_mut(k)?;
            u.soft_deleted = deleted;
            u.changed = now;
        }
        for k in &t.groups {
            // Entra groups have no recycle-bin state that provisioning sees: deletion is final.
            let g = self.group_mut(k)?;
            g.deleted = deleted;
            g.changed = now;
            self.touch_members(k, now);
        }
        Ok(())
    }

    pub fn hard_delete(&mut self, t: &Targets) -> Result<(), DirectoryError> {
        let now = self.tick();
        for k in &t.users {
            let u = self.user_mut(k)?;
            u.hard_deleted = true;
            u.changed = now;
        }
        for k in &t.groups {
            let g = self.group_mut(k)?;
            g.deleted = true;
            g.changed = now;
            self.touch_members(k, now);
        }
        Ok(())
    }

    pub fn update(
        &mut self,
        user: Option<&str>,
        group: Option<&str>,
        set: &Map<String, Value>,
    ) -> Result<(), DirectoryError> {
        let now = self.tick();
        let tag = self.tag.clone();
        let attrs = match (user, group) {
            (Some(k), None) => {
                let u = self.user_mut(k)?;
                u.changed = now;
                &mut u.attrs
            }
            (None, Some(k)) => {
                let g = self.group_mut(k)?;
                g.changed = now;
                &mut g.attrs
            }
            _ => {
                return Err(DirectoryError(
                    "update needs exactly one of `user` or `group`".into(),
                ))
            }
        };
        attrs.edit(|attrs| {
            for (k, v) in set {
                if v.is_null() {
                    attrs.remove(k);
                } else {
                    attrs.insert(k.clone(), scope_value(k, v, &tag));
                }
            }
        });
        if let Some(name) = set.get("displayName").and_then(Value::as_str) {
            match (user, group) {
                (Some(k), _) => self.user_mut(k)?.label = name.to_string(),
                (_, Some(k)) => self.group_mut(k)?.label = name.to_string(),
                _ => {}
            }
        }
        Ok(())
    }

    /// Sets the Group Push state of groups.
    pub fn set_push(&mut self, groups: &[String], state: PushState) -> Result<(), DirectoryError> {
        let now = self.tick();
        for k in groups {
            let g = self.group_mut(k)?;
            g.push = state;
            g.changed = now;
        }
        Ok(())
    }

    pub fn rename_group(&mut self, key: &str, name: &str) -> Result<(), DirectoryError> {
        let mut set = Map::new();
        set.insert("displayName".into(), Value::String(name.to_string()));
        self.update(None, Some(key), &set)
    }

    pub fn set_members(
        &mut self,
        group: &str,
        users: &[String],
        add: bool,
    ) -> Result<(), DirectoryError> {
        let now = self.tick();
        for u in users {
            self.user_mut(u)?.changed = now;
        }
        let at = *self
            .group_at
            .get(group)
            .ok_or_else(|| DirectoryError(format!("no group '{group}' in the directory")))?;
        let g = &mut self.groups[at];
        if add {
            let mut present: HashSet<String> = g.members.iter().cloned().collect();
            for u in users {
                if present.insert(u.clone()) {
                    g.members.push(u.clone());
                    self.member_of.entry(u.clone()).or_default().push(at);
                }
            }
        } else {
            let gone: HashSet<&String> = users.iter().collect();
            g.members.retain(|m| !gone.contains(m));
            for u in users {
                if let Some(list) = self.member_of.get_mut(u) {
                    list.retain(|&i| i != at);
                }
            }
        }
        g.changed = now;
        Ok(())
    }
}
