//! The expected target directory, derived from the source directory and the mapping: what the
//! IdP should have left in the target. It never looks at the requests the harness sent; the two
//! paths meet only in the diff.
//!
//! An expected user, canonical form (the key is its identity: userName, or a group's displayName):
//!
//! ```json
//! {"users":{"josue.r3f9a1c01@contoso.com":{"userName":"josue.r3f9a1c01@contoso.com","active":true,"displayName":"Josue r3f9a1c01"}},
//!  "groups":{"IT-Admins r3f9a1c01":{"displayName":"IT-Admins r3f9a1c01","members":["josue.r3f9a1c01@contoso.com"]}}}
//! ```

use crate::compact::Compact;
use crate::idp::mapping::{build_view, Entry, Mapping};
use crate::scim::patch::{get_path, put_path};
use crate::scim::schema::{GROUP_TYPE, USER_TYPE};
use crate::source::{PushState, SourceDirectory, User};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// What an IdP does to a user that leaves scope, is disabled, or is deleted; and to a group
/// that leaves scope. The differences between IdPs are data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deprovision {
    /// `active: false`.
    Disable,
    /// The object is deleted.
    Delete,
    /// Nothing is sent; the target keeps the object as it was.
    Nothing,
}

#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub out_of_scope_user: Deprovision,
    pub disabled_user: Deprovision,
    /// A user hard-deleted while still managed.
    pub deleted_user: Deprovision,
    pub out_of_scope_group: Deprovision,
    /// Groups exist in the app while pushed (Okta Group Push), not while assigned (Entra).
    pub groups_follow_push: bool,
    /// Attributes cleared in the source are cleared in the target (Okta's full PUT); Entra
    /// never sends nulls, so a cleared attribute keeps its old value there.
    pub clears_attributes: bool,
    /// The IdP sends group objects at all (Duo with "Exclude group information": no).
    pub groups: bool,
}

/// One expected object: present with these attributes, or absent.
#[derive(Debug, Clone)]
pub struct Expected {
    pub key: String,
    pub identity: String,
    pub present: bool,
    /// Canonical attributes (members and manager as identities), as compact text: a
    /// tenant's expected state is held whole while the server is read back.
    pub attrs: Compact,
}

#[derive(Debug, Clone, Default)]
pub struct ExpectedState {
    pub users: Vec<Expected>,
    pub groups: Vec<Expected>,
    /// Mapped target paths compared for users and groups.
    pub user_paths: Vec<String>,
    pub group_paths: Vec<String>,
}

fn identity_path(entries: &[Entry], fallback: &str) -> String {
    let mut m: Vec<&Entry> = entries.iter().filter(|e| e.matching.is_some()).collect();
    m.sort_by_key(|e| e.matching);
    m.first().map_or(fallback.to_string(), |e| e.target.clone())
}

/// The user's mapped view, projected on `paths`: only mapped values are compared, not the
/// sibling values sent with them (`primary`).
fn user_view(mapping: &Mapping, paths: &[String], u: &User, soft: bool) -> Value {
    let attrs = u.attrs.map();
    let look = |k: &str| match k {
        "IsSoftDeleted" => Some(Value::Bool(soft)),
        "objectId" => Some(Value::String(u.object_id.clone())),
        _ => attrs.get(k).cloned(),
    };
    let view =
        build_view(&mapping.users, &look, &|_| None, &USER_TYPE).unwrap_or_else(|_| json!({}));
    crate::check::diff::project(&view, paths, &USER_TYPE)
}

/// Derives the expected state from the directory as it stands. Linear in the directory: every
/// lookup goes through the directory's indexes; call it once per expectation.
pub fn derive(dir: &SourceDirectory, mapping: &Mapping, rules: Rules) -> ExpectedState {
    let uid_path = identity_path(&mapping.users, "userName");
    let gid_path = identity_path(&mapping.groups, "displayName");
    let mut out = ExpectedState {
        user_paths: mapping
            .users
            .iter()
            .filter(|e| e.reference.is_none())
            .map(|e| e.target.clone())
            .collect(),
        group_paths: mapping
            .groups
            .iter()
            .filter(|e| e.reference.is_none())
            .map(|e| e.target.clone())
            .collect(),
        ..Default::default()
    };
    let mut present_users: BTreeMap<String, String> = BTreeMap::new();
    for u in &dir.users {
        let in_scope = dir.user_in_scope(u);
        let disabled = u.attrs.is_false("accountEnabled") || u.soft_deleted;
        let soft = dir.is_soft_deleted(u);
        let view = user_view(mapping, &out.user_paths, u, soft);
        let identity = get_path(&view, &uid_path, &USER_TYPE)
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| u.key.clone());
        let (present, mut attrs) = if !u.provisioned {
            (false, Value::Null)
        } else if u.hard_deleted && !u.released {
            (rules.deleted_user != Deprovision::Delete, view)
        } else if u.released || (!in_scope && !u.hard_deleted && !disabled) {
            match rules.out_of_scope_user {
                Deprovision::Delete => (false, Value::Null),
                _ => (true, view),
            }
        } else if disabled && rules.disabled_user == Deprovision::Delete {
            (false, Value::Null)
        } else {
            (true, view)
        };
        if present && (u.released || !in_scope) && rules.out_of_scope_user == Deprovision::Nothing {
            // The IdP sent nothing when the user left scope: its `active` stays as it was.
            if let Value::Object(m) = &mut attrs {
                m.remove("active");
            }
        }
        if present && rules.clears_attributes {
            for e in mapping
                .users
                .iter()
                .filter(|e| e.reference.is_none() && !e.target.contains('['))
            {
                if get_path(&attrs, &e.target, &USER_TYPE).is_none() {
                    let _ = put_path(&mut attrs, &e.target, &Value::Null, &USER_TYPE);
                }
            }
        }
        if present {
            present_users.insert(u.key.clone(), identity.clone());
        }
        out.users.push(Expected {
            key: u.key.clone(),
            identity,
            present,
            attrs: attrs.into(),
        });
    }
    // The manager, once both exist in the target (the IdP's reference pass).
    if let Some(entry) = mapping.user_reference("User") {
        for (e, u) in out.users.iter_mut().zip(&dir.users) {
            if !e.present || !dir.user_in_scope(u) {
                continue;
            }
            let manager = u.attrs.get("manager");
            if let Some(mgr) = manager
                .as_ref()
                .and_then(Value::as_str)
                .and_then(|m| present_users.get(m))
            {
                let _ = e.attrs.edit(|a| {
                    put_path(
                        a,
                        &format!("{}.value", entry.target),
                        &json!(mgr),
                        &USER_TYPE,
                    )
                });
            } else if manager.is_none() {
                // No manager in the source: none may be left in the target (`null` = absent).
                let _ = e
                    .attrs
                    .edit(|a| put_path(a, &entry.target, &Value::Null, &USER_TYPE));
            }
        }
    }
    for g in &dir.groups {
        let attrs = g.attrs.map();
        let look = |k: &str| match k {
            "objectId" => Some(Value::String(g.object_id.clone())),
            _ => attrs.get(k).cloned(),
        };
        let view = build_view(&mapping.groups, &look, &|_| None, &GROUP_TYPE)
            .unwrap_or_else(|_| json!({}));
        let mut view = crate::check::diff::project(&view, &out.group_paths, &GROUP_TYPE);
        let identity = get_path(&view, &gid_path, &GROUP_TYPE)
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| g.key.clone());
        let in_scope = dir.group_in_scope(g);
        let present = if !rules.groups {
            false
        } else if rules.groups_follow_push {
            matches!(g.push, PushState::Pushed | PushState::LeftInApp)
        } else {
            g.provisioned && (in_scope || rules.out_of_scope_group != Deprovision::Delete)
        };
        // A group left in the app after an unlink keeps whatever members it had.
        let compare_members = !(rules.groups_follow_push && g.push == PushState::LeftInApp);
        if present
            && compare_members
            && mapping
                .groups
                .iter()
                .any(|e| e.reference.as_deref() == Some("members"))
        {
            let mut members: Vec<String> = g
                .members
                .iter()
                // Entra adds members in scope; Okta keeps pushed members even when they leave
                // the app's assignments (https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20/).
                .filter(|m| {
                    rules.groups_follow_push || dir.user(m).is_some_and(|u| dir.user_in_scope(u))
                })
                .filter_map(|m| present_users.get(m).cloned())
                .collect();
            members.sort();
            members.dedup();
            if let Value::Object(o) = &mut view {
                o.insert("members".into(), json!(members));
            }
        }
        out.groups.push(Expected {
            key: g.key.clone(),
            identity,
            present,
            attrs: if present { view } else { Value::Null }.into(),
        });
    }
    out
}

/// Applies a scenario's overrides: `{josue: {absent: true}}` or `{josue: {title: CEO}}`.
pub fn apply_overrides(
    list: &mut [Expected],
    overrides: &Map<String, Value>,
    group: bool,
) -> Result<(), String> {
    let rt = if group { &*GROUP_TYPE } else { &*USER_TYPE };
    for (key, o) in overrides {
        let e = list.iter_mut().find(|e| &e.key == key).ok_or_else(|| {
            format!(
                "override for unknown {} '{key}'",
                if group { "group" } else { "user" }
            )
        })?;
        let Value::Object(m) = o else {
            return Err(format!("override for '{key}' must be a map"));
        };
        for (k, v) in m {
            match k.as_str() {
                "absent" => {
                    e.present = !v.as_bool().unwrap_or(false);
                    if !e.present {
                        e.attrs = Value::Null.into();
                    }
                }
                _ => {
                    let present = &mut e.present;
                    e.attrs
                        .edit(|a| {
                            if !a.is_object() {
                                *a = json!({});
                                *present = true;
                            }
                            put_path(a, k, v, rt)
                        })
                        .map_err(|err| format!("override {key}.{k}: {}", err.detail))?;
                }
            }
        }
    }
    Ok(())
}
