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

use crate::client::{form_encode, percent_encode, Request, Response};
use crate::idp::mapping::{build_view, differences, Mapping};
use crate::idp::sync::Link;
use crate::idp::{filter_eq, list_resources, object_path, patch_body, Behaviour, Ctx};
use crate::report::model::{CheckReport, Outcome};
use crate::scim::kind::ObjectKind;
use crate::scim::patch::{get_path, put_path};
use crate::scim::schema::{ENTERPRISE_URN, GROUP_URN, USER_TYPE, USER_URN};
use crate::source::{PushState, User};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

const S1: &str = "https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20/";

const TEST_CREDENTIALS: Behaviour = Behaviour {
    name: "Test API Credentials (GET /Users?startIndex=1&count=2 must answer a ListResponse)",
    source: S1,
    inferred: false,
};
const USER_LOOKUP: Behaviour = Behaviour {
    name: "user lookup on assignment (GET /Users?filter=userName eq \"…\"&startIndex=1&count=100)",
    source: S1,
    inferred: false,
};
const USER_CREATE: Behaviour = Behaviour {
    name: "create user (POST /Users with externalId, password and groups: [])",
    source: S1,
    inferred: false,
};
const USER_GET: Behaviour = Behaviour {
    name: "read user before a profile update (GET /Users/{id})",
    source: S1,
    inferred: false,
};
const USER_PUT: Behaviour = Behaviour {
    name: "profile update (PUT /Users/{id} with the whole resource GET returned, edited)",
    source: S1,
    inferred: false,
};
const USER_DEACTIVATE: Behaviour = Behaviour { name: "deactivate user (PATCH /Users/{id} {\"op\":\"replace\",\"value\":{\"active\":false}}, no path)", source: S1, inferred: false };
const USER_REACTIVATE: Behaviour = Behaviour { name: "reactivate user on reassignment (PATCH /Users/{id} {\"op\":\"replace\",\"value\":{\"active\":true}})", source: S1, inferred: true };
const USER_PUT_ACTIVE: Behaviour = Behaviour {
    name: "deactivate or reactivate user (GET, then PUT /Users/{id} with active)",
    source: S1,
    inferred: false,
};
const GROUP_LOOKUP: Behaviour = Behaviour {
    name: "Group Push lookup (GET /Groups?filter=displayName eq \"…\"&startIndex=1&count=100)",
    source: S1,
    inferred: false,
};
const GROUP_CREATE: Behaviour = Behaviour {
    name: "Group Push (POST /Groups, members [] or filled)",
    source: S1,
    inferred: false,
};
const GROUP_GET: Behaviour = Behaviour {
    name: "read pushed group (GET /Groups/{id})",
    source: S1,
    inferred: false,
};
const GROUP_PATCH: Behaviour = Behaviour { name: "group membership update (PATCH /Groups/{id}: rename op, remove members[value eq \"…\"], add members)", source: S1, inferred: false };
const GROUP_PUT: Behaviour = Behaviour {
    name: "group update (GET, then PUT /Groups/{id} with the complete members list)",
    source: S1,
    inferred: false,
};
const GROUP_DELETE: Behaviour = Behaviour {
    name: "unlink pushed group, delete in app (DELETE /Groups/{id})",
    source: S1,
    inferred: false,
};
const IMPORT: Behaviour = Behaviour {
    name: "import (GET /Users?startIndex=1&count=100, then startIndex=101, ... until totalResults)",
    source: S1,
    inferred: false,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FilterEncoding {
    /// `filter=userName%20eq%20%22…%22` (Okta's documentation).
    #[default]
    Percent,
    /// `filter=userName+eq+%22…%22` (the 2018 capture, S3).
    Plus,
}

fn yes() -> bool {
    true
}

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
    #[serde(default)]
    pub filter_encoding: FilterEncoding,
    /// Look the group up before pushing it (one lab saw it, another did not).
    #[serde(default = "yes")]
    pub group_lookup: bool,
    /// POST /Groups with the members filled in (older docs, one AIW lab) instead of `[]`.
    #[serde(default)]
    pub push_members_on_create: bool,
}

pub struct Okta {
    /// App Integration Wizard app: every update a GET then a PUT.
    pub aiw: bool,
    pub settings: OktaSettings,
    pub mapping: Mapping,
}

/// The headers of Okta's SCIM client (S3); `Content-Type` only with a body.
fn okta_request(method: Method, path: String, body: Option<Value>) -> Request {
    let mut r = Request::new(method, path)
        .header("User-Agent", "Okta SCIM Client 1.0.0")
        .header("Accept", "application/scim+json")
        .header("Accept-Charset", "utf-8");
    if let Some(b) = body {
        r = r
            .header("Content-Type", "application/scim+json; charset=utf-8")
            .json(b);
    }
    r
}

impl Okta {
    pub fn new(aiw: bool, settings: &Map<String, Value>) -> Result<Okta, String> {
        let settings: OktaSettings = serde_json::from_value(Value::Object(settings.clone())).map_err(|e| {
            format!("{e}; Okta settings are mapping, create_users, update_user_attributes, deactivate_users, push_groups, import_groups, filter_encoding (percent | plus), group_lookup, push_members_on_create")
        })?;
        let mapping = Mapping::load(&settings.mapping).map_err(|e| e.to_string())?;
        Ok(Okta {
            aiw,
            settings,
            mapping,
        })
    }

    pub fn settings_json(&self) -> Value {
        let mut v = serde_json::to_value(&self.settings).unwrap_or(Value::Null);
        v["app"] = json!(if self.aiw { "AIW" } else { "OIN" });
        v
    }

    fn encode(&self, s: &str) -> String {
        match self.settings.filter_encoding {
            FilterEncoding::Percent => percent_encode(s),
            FilterEncoding::Plus => form_encode(s),
        }
    }

    async fn call(&self, ctx: &mut Ctx<'_>, req: Request, b: Behaviour) -> Response {
        // A 429 reschedules the job after Retry-After (https://developer.okta.com/docs/reference/rl-best-practices/).
        ctx.send_retrying(req, b, Some(5)).await
    }

    fn log(
        &self,
        ctx: &mut Ctx<'_>,
        identity: &str,
        kind: ObjectKind,
        action: &str,
        resp: &Response,
        exchanges: Vec<u64>,
    ) -> bool {
        if resp.ok() {
            ctx.log(
                identity,
                kind,
                action,
                "Success",
                None,
                None,
                vec![],
                exchanges,
            );
            true
        } else {
            ctx.log(
                identity,
                kind,
                action,
                "Failure",
                Some(format!(
                    "HTTP {}",
                    resp.status.map_or("-".into(), |s| s.to_string())
                )),
                Some(resp.describe()),
                vec![],
                exchanges,
            );
            false
        }
    }

    fn desired_user(&self, ctx: &Ctx<'_>, u: &User) -> Value {
        let soft = ctx.dir.is_soft_deleted(u);
        let look = |k: &str| match k {
            "IsSoftDeleted" => Some(Value::Bool(soft)),
            "objectId" => Some(Value::String(u.object_id.clone())),
            _ => u.attrs.get(k).cloned(),
        };
        build_view(&self.mapping.users, &look, &|_| None, &USER_TYPE).unwrap_or_else(|_| json!({}))
    }

    // ------------------------------------------------------------------ connection

    /// Test API Credentials: `GET /Users?startIndex=1&count=2`, and the groups page when Import
    /// Groups is on (S1, S2).
    pub async fn test_connection(&self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        let resp = self
            .call(
                ctx,
                okta_request(Method::GET, "/Users?startIndex=1&count=2".into(), None),
                TEST_CREDENTIALS,
            )
            .await;
        if resp.status != Some(200) || list_resources(&resp).is_none() {
            return Err(format!(
                "No results for users returned ({})",
                resp.describe()
            ));
        }
        if self.settings.import_groups {
            let resp = self
                .call(
                    ctx,
                    okta_request(Method::GET, "/Groups?startIndex=1&count=100".into(), None),
                    TEST_CREDENTIALS,
                )
                .await;
            if resp.status != Some(200) || list_resources(&resp).is_none() {
                return Err(format!(
                    "No results for groups returned ({})",
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
        let since = ctx.sync.watermark.unwrap_or(0);
        let start = ctx.dir.clock;
        for key in ctx.dir.users_changed_since(since) {
            self.process_user(ctx, &key).await;
        }
        if self.settings.push_groups {
            let groups: Vec<String> = ctx
                .dir
                .groups
                .iter()
                .filter(|g| g.changed > since && g.push == PushState::Pushed)
                .map(|g| g.key.clone())
                .collect();
            for key in groups {
                self.sync_group(ctx, &key, false).await;
            }
        }
        ctx.dir.note_cycle();
        ctx.sync.watermark = Some(start);
    }

    async fn process_user(&self, ctx: &mut Ctx<'_>, key: &str) {
        let Some(u) = ctx.dir.user(key).cloned() else {
            return;
        };
        // Suspension sends nothing; a deactivated or unassigned user is deactivated in the
        // app; deleting a user sends nothing: Okta never DELETEs users (S1, S5).
        let wanted = ctx.dir.user_in_scope(&u)
            && u.attrs.get("accountEnabled") != Some(&Value::Bool(false))
            && !u.hard_deleted;
        match ctx.sync.users.get(key).cloned() {
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
        let desired = self.desired_user(ctx, u);
        let Some(Value::String(login)) = get_path(&desired, "userName", &USER_TYPE) else {
            return;
        };
        let path = format!(
            "/Users?filter={}&startIndex=1&count=100",
            self.encode(&filter_eq("userName", &login))
        );
        let resp = self
            .call(ctx, okta_request(Method::GET, path, None), USER_LOOKUP)
            .await;
        let mut exchanges = vec![resp.exchange];
        // 404 on the lookup means "not found" to Okta (S1).
        let found = if resp.status == Some(404) {
            Some(Vec::new())
        } else {
            list_resources(&resp)
        };
        let Some(found) = found else {
            self.log(
                ctx,
                &u.label,
                ObjectKind::User,
                "Push new user to app",
                &resp,
                exchanges,
            );
            return;
        };
        if let Some(existing) = found.first() {
            let Some(id) = existing
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_string)
            else {
                return;
            };
            if !ctx.adopt(ObjectKind::User, &u.key, &id, false, None) {
                ctx.log(
                    &u.label,
                    ObjectKind::User,
                    "Push new user to app",
                    "Failure",
                    Some("ScimulatorNotOwned".into()),
                    Some("the matched resource is not the run's own (see the findings): scimulator does not write to it".into()),
                    vec![],
                    exchanges,
                );
                return;
            }
            let inactive = existing.get("active").is_some_and(|a| {
                a == &Value::Bool(false)
                    || a.as_str().is_some_and(|s| s.eq_ignore_ascii_case("false"))
            });
            if inactive {
                let l = ctx.sync.users.get(&u.key).cloned().expect("link");
                self.set_active(ctx, u, &l, true).await;
                return;
            }
            self.update_profile(ctx, u, &id, exchanges).await;
            return;
        }
        // The create body of S1: userName, name, emails, displayName, locale, externalId (the
        // Okta user id), groups: [], a throwaway password, active.
        let mut body = Map::new();
        let mut schemas = vec![json!(USER_URN)];
        if desired.get(ENTERPRISE_URN).is_some() {
            schemas.push(json!(ENTERPRISE_URN));
        }
        body.insert("schemas".into(), Value::Array(schemas));
        if let Value::Object(m) = &desired {
            for (k, v) in m {
                if k != "active" {
                    body.insert(k.clone(), v.clone());
                }
            }
        }
        body.insert("groups".into(), json!([]));
        body.insert(
            "password".into(),
            json!(uuid::Uuid::new_v4().simple().to_string()[..8].to_string()),
        );
        body.insert("active".into(), json!(true));
        let resp = self
            .call(
                ctx,
                okta_request(Method::POST, "/Users".into(), Some(Value::Object(body))),
                USER_CREATE,
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
                    let _ = ctx.adopt(ObjectKind::User, &u.key, &id, true, Some(desired.clone()));
                }
                None => {
                    // "Create new user returned empty user" (S1).
                    ctx.finding(
                        USER_CREATE,
                        "201 without a user: Okta reports \"Create new user returned empty user\""
                            .into(),
                        Some(resp.exchange),
                    );
                    ctx.log(
                        &u.label,
                        ObjectKind::User,
                        "Push new user to app",
                        "Failure",
                        Some("EmptyUser".into()),
                        Some("Create new user returned empty user".into()),
                        vec![],
                        exchanges,
                    );
                    return;
                }
            }
        }
        self.log(
            ctx,
            &u.label,
            ObjectKind::User,
            "Push new user to app",
            &resp,
            exchanges,
        );
    }

    /// Profile update: GET, then PUT the whole resource GET returned with the changed
    /// attributes edited (S1; "anything the server returns comes back", S16).
    async fn update_profile(&self, ctx: &mut Ctx<'_>, u: &User, id: &str, mut exchanges: Vec<u64>) {
        if !self.settings.update_user_attributes {
            return;
        }
        // Okta pushes a profile when the app profile changed, not on every event.
        let desired = self.desired_user(ctx, u);
        if ctx
            .sync
            .users
            .get(&u.key)
            .and_then(|l| l.view_sent.as_ref())
            == Some(&desired)
        {
            return;
        }
        let resp = self
            .call(
                ctx,
                okta_request(Method::GET, object_path(ObjectKind::User, id), None),
                USER_GET,
            )
            .await;
        exchanges.push(resp.exchange);
        if !resp.ok() {
            // 404: Okta stops; no re-create, no retry (S16).
            self.log(
                ctx,
                &u.label,
                ObjectKind::User,
                "Push user profile update to app",
                &resp,
                exchanges,
            );
            return;
        }
        let current = resp.body.clone().unwrap_or(Value::Null);
        let diffs = differences(&self.mapping.users, &desired, &current, &USER_TYPE);
        // An attribute cleared in Okta is left out of the PUT, and Okta means it cleared (S1).
        // RFC 7644 §3.5.1 lets a server clear an omitted attribute or assign it a default, so
        // a server that keeps it breaks Okta, not the RFC.
        let cleared: Vec<String> = self
            .mapping
            .users
            .iter()
            .filter(|e| e.reference.is_none() && !e.target.contains('['))
            .filter(|e| {
                get_path(&desired, &e.target, &USER_TYPE).is_none()
                    && get_path(&current, &e.target, &USER_TYPE).is_some()
            })
            .map(|e| e.target.clone())
            .collect();
        if diffs.is_empty() && cleared.is_empty() {
            if let Some(l) = ctx.sync.users.get_mut(&u.key) {
                l.view_sent = Some(desired);
            }
            return;
        }
        let mut next = current.clone();
        for (path, want, _) in &diffs {
            let _ = put_path(&mut next, path, want, &USER_TYPE);
        }
        for path in &cleared {
            let op = patch_body(vec![json!({"op": "remove", "path": path})]);
            let _ = crate::scim::patch::apply_patch(&mut next, &op, &USER_TYPE);
        }
        list_extensions(&mut next);
        let resp = self
            .call(
                ctx,
                okta_request(Method::PUT, object_path(ObjectKind::User, id), Some(next)),
                USER_PUT,
            )
            .await;
        exchanges.push(resp.exchange);
        self.log(
            ctx,
            &u.label,
            ObjectKind::User,
            "Push user profile update to app",
            &resp,
            exchanges,
        );
    }

    /// Deactivate or reactivate: a path-less PATCH on OIN apps, GET then PUT on AIW apps.
    async fn set_active(&self, ctx: &mut Ctx<'_>, u: &User, l: &Link, active: bool) {
        let id = l.target_id.clone();
        let action = if active {
            "Reactivate user in app"
        } else {
            "Deactivate user in app"
        };
        let mut exchanges = Vec::new();
        let resp = if self.aiw {
            let got = self
                .call(
                    ctx,
                    okta_request(Method::GET, object_path(ObjectKind::User, &id), None),
                    USER_GET,
                )
                .await;
            exchanges.push(got.exchange);
            if !got.ok() {
                self.log(ctx, &u.label, ObjectKind::User, action, &got, exchanges);
                return;
            }
            let mut next = got.body.clone().unwrap_or(Value::Null);
            next["active"] = json!(active);
            self.call(
                ctx,
                okta_request(Method::PUT, object_path(ObjectKind::User, &id), Some(next)),
                USER_PUT_ACTIVE,
            )
            .await
        } else {
            let ops = vec![json!({"op": "replace", "value": {"active": active}})];
            let b = if active {
                USER_REACTIVATE
            } else {
                USER_DEACTIVATE
            };
            self.call(
                ctx,
                okta_request(
                    Method::PATCH,
                    object_path(ObjectKind::User, &id),
                    Some(patch_body(ops)),
                ),
                b,
            )
            .await
        };
        exchanges.push(resp.exchange);
        if self.log(ctx, &u.label, ObjectKind::User, action, &resp, exchanges) {
            if let Some(link) = ctx.sync.users.get_mut(&u.key) {
                link.managed = active;
            }
        }
    }

    // ------------------------------------------------------------------ groups

    /// Members Okta pushes: group members assigned to the app, provisioned and active
    /// (https://help.okta.com/en-us/content/topics/users-groups-profiles/usgp-group-push-prerequisites.htm).
    fn pushable_members(&self, ctx: &Ctx<'_>, key: &str) -> BTreeSet<String> {
        let Some(g) = ctx.dir.group(key) else {
            return BTreeSet::new();
        };
        g.members
            .iter()
            .filter(|m| ctx.sync.users.get(*m).is_some_and(|l| l.managed))
            .filter(|m| {
                ctx.dir
                    .user(m)
                    .is_some_and(|u| u.attrs.get("accountEnabled") != Some(&Value::Bool(false)))
            })
            .cloned()
            .collect()
    }

    fn member_value(&self, ctx: &Ctx<'_>, key: &str) -> Value {
        let id = ctx.sync.target_id(ObjectKind::User, key).unwrap_or("");
        let display = ctx
            .dir
            .user(key)
            .and_then(|u| u.attrs.get("login").cloned())
            .unwrap_or(Value::Null);
        json!({"value": id, "display": display})
    }

    fn group_name(&self, ctx: &Ctx<'_>, key: &str) -> String {
        ctx.dir
            .group(key)
            .and_then(|g| {
                g.attrs
                    .get("displayName")
                    .and_then(Value::as_str)
                    .map(str::to_string)
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
        ctx.dir
            .set_push(groups, PushState::Pushed)
            .map_err(|e| e.0)?;
        for key in groups {
            let label = ctx
                .dir
                .group(key)
                .map(|g| g.label.clone())
                .unwrap_or_default();
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
            if ctx.sync.groups.contains_key(key) {
                continue;
            }
            let name = self.group_name(ctx, key);
            let mut exchanges = Vec::new();
            if self.settings.group_lookup || link_existing {
                let path = format!(
                    "/Groups?filter={}&startIndex=1&count=100",
                    self.encode(&filter_eq("displayName", &name))
                );
                let resp = self
                    .call(ctx, okta_request(Method::GET, path, None), GROUP_LOOKUP)
                    .await;
                exchanges.push(resp.exchange);
                if let Some(found) = list_resources(&resp).and_then(|f| f.first().cloned()) {
                    if let Some(id) = found.get("id").and_then(Value::as_str) {
                        // Group Linking: the name exists in the app; Okta links instead of creating (S11).
                        if ctx.adopt(ObjectKind::Group, key, id, false, None) {
                            self.full_membership(ctx, key, exchanges).await;
                        } else {
                            ctx.log(
                                &label,
                                ObjectKind::Group,
                                "Group Push link",
                                "Failure",
                                Some("ScimulatorNotOwned".into()),
                                Some("the matched resource is not the run's own (see the findings): scimulator does not write to it".into()),
                                vec![],
                                exchanges,
                            );
                        }
                        continue;
                    }
                }
                if link_existing {
                    ctx.log(
                        &label,
                        ObjectKind::Group,
                        "Group Push link",
                        "Failure",
                        Some("NotFound".into()),
                        Some(format!("no group named {name} in the app to link to")),
                        vec![],
                        exchanges,
                    );
                    continue;
                }
            }
            let members: Vec<Value> = if self.settings.push_members_on_create {
                self.pushable_members(ctx, key)
                    .iter()
                    .map(|m| self.member_value(ctx, m))
                    .collect()
            } else {
                Vec::new()
            };
            let body = json!({"schemas": [GROUP_URN], "displayName": name, "members": members});
            let resp = self
                .call(
                    ctx,
                    okta_request(Method::POST, "/Groups".into(), Some(body)),
                    GROUP_CREATE,
                )
                .await;
            exchanges.push(resp.exchange);
            let Some(id) = resp
                .body
                .as_ref()
                .and_then(|b| b.get("id"))
                .and_then(Value::as_str)
                .filter(|_| resp.ok())
                .map(str::to_string)
            else {
                self.log(
                    ctx,
                    &label,
                    ObjectKind::Group,
                    &format!("Group Push group {label} pushed to app"),
                    &resp,
                    exchanges,
                );
                continue;
            };
            ctx.own(ObjectKind::Group, &id, true);
            let sent = if self.settings.push_members_on_create {
                self.pushable_members(ctx, key)
            } else {
                BTreeSet::new()
            };
            ctx.sync.groups.insert(
                key.clone(),
                Link {
                    target_id: id.clone(),
                    managed: true,
                    members_sent: sent,
                    name_sent: Some(name.clone()),
                    ..Default::default()
                },
            );
            self.log(
                ctx,
                &label,
                ObjectKind::Group,
                &format!("Group Push group {label} pushed to app"),
                &resp,
                exchanges,
            );
            let back = self
                .call(
                    ctx,
                    okta_request(Method::GET, object_path(ObjectKind::Group, &id), None),
                    GROUP_GET,
                )
                .await;
            if !back.ok() {
                continue;
            }
            // Members already in the POST are not sent again; otherwise the initial membership
            // goes out as a membership update (S17).
            self.sync_group(ctx, key, !self.settings.push_members_on_create)
                .await;
        }
        ctx.sync.watermark = Some(ctx.dir.clock);
        Ok(())
    }

    /// Membership (and name) changes of a pushed group: OIN sends the rename op with every
    /// membership PATCH, then filtered removes and one add; AIW sends GET then a full PUT (S1).
    async fn sync_group(&self, ctx: &mut Ctx<'_>, key: &str, initial: bool) {
        let Some(link) = ctx.sync.groups.get(key).cloned() else {
            return;
        };
        let label = ctx
            .dir
            .group(key)
            .map(|g| g.label.clone())
            .unwrap_or_default();
        let name = self.group_name(ctx, key);
        let members_now: BTreeSet<String> = ctx
            .dir
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
        if add.is_empty() && remove.is_empty() && !initial {
            if link.name_sent.as_deref() == Some(name.as_str()) {
                return;
            }
            // A rename alone.
            let ops = vec![
                json!({"op": "replace", "value": {"id": link.target_id, "displayName": name}}),
            ];
            if !self.aiw {
                let resp = self
                    .call(
                        ctx,
                        okta_request(
                            Method::PATCH,
                            object_path(ObjectKind::Group, &link.target_id),
                            Some(patch_body(ops)),
                        ),
                        GROUP_PATCH,
                    )
                    .await;
                self.log(
                    ctx,
                    &label,
                    ObjectKind::Group,
                    &format!("Group Push group {label} updated in app"),
                    &resp,
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
        let resp = if self.aiw {
            match self
                .put_group(ctx, &link.target_id, &name, &after, &mut exchanges)
                .await
            {
                Some(r) => r,
                None => return,
            }
        } else {
            let mut ops = vec![
                json!({"op": "replace", "value": {"id": link.target_id, "displayName": name}}),
            ];
            for r in &remove {
                let id = ctx
                    .sync
                    .target_id(ObjectKind::User, r)
                    .unwrap_or("")
                    .to_string();
                ops.push(json!({"op": "remove", "path": format!("members[value eq \"{id}\"]")}));
            }
            if !add.is_empty() {
                let values: Vec<Value> = add.iter().map(|m| self.member_value(ctx, m)).collect();
                ops.push(json!({"op": "add", "path": "members", "value": values}));
            }
            self.call(
                ctx,
                okta_request(
                    Method::PATCH,
                    object_path(ObjectKind::Group, &link.target_id),
                    Some(patch_body(ops)),
                ),
                GROUP_PATCH,
            )
            .await
        };
        exchanges.push(resp.exchange);
        if self.log(
            ctx,
            &label,
            ObjectKind::Group,
            &format!("Group Push group {label} updated in app"),
            &resp,
            exchanges,
        ) {
            if let Some(l) = ctx.sync.groups.get_mut(key) {
                l.members_sent = after;
            }
        }
    }

    /// AIW: GET then PUT with schemas, id, displayName and the complete members list.
    async fn put_group(
        &self,
        ctx: &mut Ctx<'_>,
        id: &str,
        name: &str,
        members: &BTreeSet<String>,
        exchanges: &mut Vec<u64>,
    ) -> Option<Response> {
        let got = self
            .call(
                ctx,
                okta_request(Method::GET, object_path(ObjectKind::Group, id), None),
                GROUP_GET,
            )
            .await;
        exchanges.push(got.exchange);
        if !got.ok() {
            return Some(got);
        }
        let values: Vec<Value> = members.iter().map(|m| self.member_value(ctx, m)).collect();
        let body =
            json!({"schemas": [GROUP_URN], "id": id, "displayName": name, "members": values});
        Some(
            self.call(
                ctx,
                okta_request(Method::PUT, object_path(ObjectKind::Group, id), Some(body)),
                GROUP_PUT,
            )
            .await,
        )
    }

    /// Push Now, or the first push onto a linked group: the whole member list (S1; AIW S16).
    async fn full_membership(&self, ctx: &mut Ctx<'_>, key: &str, mut exchanges: Vec<u64>) {
        let Some(link) = ctx.sync.groups.get(key).cloned() else {
            return;
        };
        let label = ctx
            .dir
            .group(key)
            .map(|g| g.label.clone())
            .unwrap_or_default();
        let name = self.group_name(ctx, key);
        let all = self.pushable_members(ctx, key);
        let resp = if self.aiw {
            match self
                .put_group(ctx, &link.target_id, &name, &all, &mut exchanges)
                .await
            {
                Some(r) => r,
                None => return,
            }
        } else {
            let values: Vec<Value> = all.iter().map(|m| self.member_value(ctx, m)).collect();
            let ops = vec![json!({"op": "replace", "path": "members", "value": values})];
            self.call(
                ctx,
                okta_request(
                    Method::PATCH,
                    object_path(ObjectKind::Group, &link.target_id),
                    Some(patch_body(ops)),
                ),
                GROUP_PATCH,
            )
            .await
        };
        exchanges.push(resp.exchange);
        if self.log(
            ctx,
            &label,
            ObjectKind::Group,
            &format!("Group Push group {label} updated in app"),
            &resp,
            exchanges,
        ) {
            if let Some(l) = ctx.sync.groups.get_mut(key) {
                l.members_sent = all;
            }
        }
    }

    pub async fn push_now(&self, ctx: &mut Ctx<'_>, groups: &[String]) -> Result<(), String> {
        for key in groups {
            if !ctx.sync.groups.contains_key(key) {
                return Err(format!("group '{key}' is not pushed: push it first"));
            }
            self.full_membership(ctx, key, Vec::new()).await;
        }
        ctx.sync.watermark = Some(ctx.dir.clock);
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
        ctx.dir.set_push(groups, state).map_err(|e| e.0)?;
        for key in groups {
            let Some(link) = ctx.sync.groups.remove(key) else {
                continue;
            };
            if delete {
                let label = ctx
                    .dir
                    .group(key)
                    .map(|g| g.label.clone())
                    .unwrap_or_default();
                let resp = self
                    .call(
                        ctx,
                        okta_request(
                            Method::DELETE,
                            object_path(ObjectKind::Group, &link.target_id),
                            None,
                        ),
                        GROUP_DELETE,
                    )
                    .await;
                self.log(
                    ctx,
                    &label,
                    ObjectKind::Group,
                    &format!("Group Push group {label} deleted in app"),
                    &resp,
                    vec![resp.exchange],
                );
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------------ import

    /// Import: page through `/Users` (and `/Groups` with Import Groups) with count=100 until
    /// `totalResults` (S1). Repeated or missing resources mean the server's paging is off.
    pub async fn import(&self, ctx: &mut Ctx<'_>) -> Vec<CheckReport> {
        let mut checks = Vec::new();
        let mut kinds = vec![ObjectKind::User];
        if self.settings.import_groups {
            kinds.push(ObjectKind::Group);
        }
        for kind in kinds {
            let mut seen: Vec<String> = Vec::new();
            let mut seen_set: BTreeSet<String> = BTreeSet::new();
            let mut start = 1u64;
            let mut total = 0u64;
            let mut pages = Vec::new();
            let mut problem = None;
            // A server whose listing never ends (totalResults always ahead, or pages that
            // repeat) must not hold the run: at most `--max-pages` pages.
            let max_pages = ctx.client.limits().max_pages;
            let mut ended = false;
            for _ in 0..max_pages {
                let resp = self
                    .call(
                        ctx,
                        okta_request(
                            Method::GET,
                            format!("{}?startIndex={start}&count=100", kind.endpoint()),
                            None,
                        ),
                        IMPORT,
                    )
                    .await;
                pages.push(resp.exchange);
                let Some(found) = list_resources(&resp).filter(|_| resp.ok()) else {
                    problem = Some(format!(
                        "page startIndex={start} answered {}",
                        resp.describe()
                    ));
                    ended = true;
                    break;
                };
                let body = resp.body.clone().unwrap_or(Value::Null);
                match body.get("totalResults").and_then(Value::as_u64) {
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
                seen_set.extend(ids.iter().cloned());
                seen.extend(ids);
                if found.is_empty() || start + found.len() as u64 > total {
                    ended = true;
                    break;
                }
                start += found.len() as u64;
            }
            if !ended {
                problem = Some(format!(
                    "pagination did not end after {max_pages} pages (--max-pages): the last page had startIndex={start}, totalResults {total}"
                ));
            }
            let unique: BTreeSet<&String> = seen.iter().collect();
            let repeated = seen.len() - unique.len();
            if problem.is_none() && (repeated > 0 || (unique.len() as u64) != total) {
                problem = Some(format!(
                    "Okta read {} {}s ({} distinct, {repeated} repeated) where totalResults says {total}: Okta needs a 1-based startIndex (RFC 7644 §3.4.2.4) and pages that neither skip nor repeat while it imports (the RFC does not promise stable pages; Okta relies on them)",
                    seen.len(),
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
                    ctx.ledger.unpaged.insert(kind);
                    ctx.finding(IMPORT, p.clone(), pages.last().copied());
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
                        message: format!("Okta: {}: {p}", IMPORT.name),
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

/// Lists in `schemas` every extension object the resource carries, as Okta does when a mapped
/// enterprise attribute is set (S16, S17).
fn list_extensions(resource: &mut Value) {
    let urns: Vec<String> = resource
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, v)| crate::scim::schema::is_urn(k) && v.is_object())
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    if let Some(Value::Array(list)) = resource.get_mut("schemas") {
        for u in urns {
            if !list.iter().any(|x| x.as_str() == Some(u.as_str())) {
                list.push(Value::String(u));
            }
        }
    }
}
