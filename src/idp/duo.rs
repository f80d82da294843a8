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

use crate::client::{percent_encode, Request, Response};
use crate::idp::mapping::{build_view, differences, Mapping};
use crate::idp::sync::Link;
use crate::idp::{filter_eq, list_resources, object_path, patch_body, Behaviour, Ctx};
use crate::report::model::LogEntry;
use crate::scim::kind::ObjectKind;
use crate::scim::patch::{get_path, put_path};
use crate::scim::schema::{GROUP_TYPE, GROUP_URN, USER_TYPE, USER_URN};
use crate::source::{Group, User};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

/// Duo's automated provisioning overview (scope, groups, deprovisioning of members).
const D1: &str = "https://duo.com/docs/automated-provisioning";
/// Cisco's guide: Duo → Secure Access (mapping, Exclude group information, Deactivate vs Delete
/// Users, activity log lines).
const D2: &str = "https://www.cisco.com/c/en/us/support/docs/security/secure-access/225885-provision-users-and-groups-to-secure.html";
/// A downstream vendor: users deactivated through Duo are re-enabled when assigned again.
const D4: &str = "https://mantl.zendesk.com/hc/en-us/articles/39907221338779-Duo-User-Provisioning";

/// Every Duo request shape is inferred: no public source shows Duo's traffic.
const fn inferred(name: &'static str, source: &'static str) -> Behaviour {
    Behaviour {
        name,
        source,
        inferred: true,
    }
}

const CONNECT_FILTER: Behaviour = inferred(
    "connect to application (GET /Users?filter=userName eq \"<random>\" must answer a ListResponse)",
    D2,
);
const CONNECT_LIST: Behaviour = inferred(
    "connect to application (GET /Users?startIndex=1&count=1 must answer a ListResponse)",
    D2,
);
const USER_LOOKUP: Behaviour = inferred(
    "user lookup before create (GET /Users?filter=userName eq \"…\")",
    D1,
);
const USER_CREATE: Behaviour = inferred(
    "create user (POST /Users with active true, the mapped attributes and externalId)",
    D1,
);
const USER_PATCH: Behaviour = inferred(
    "update user (PATCH /Users/{id}: replace of the attributes that changed in Duo)",
    D1,
);
const USER_GET: Behaviour = inferred("read user before a full update (GET /Users/{id})", D1);
const USER_PUT: Behaviour = inferred(
    "update user (PUT /Users/{id} with the resource GET returned, edited)",
    D1,
);
const DEACTIVATE_PATH: Behaviour = inferred(
    "Deactivate Users (PATCH /Users/{id} {\"op\":\"replace\",\"path\":\"active\",\"value\":false}: the user stays, disabled)",
    D2,
);
const DEACTIVATE_PATHLESS: Behaviour = inferred(
    "Deactivate Users (PATCH /Users/{id} {\"op\":\"replace\",\"value\":{\"active\":false}}: the user stays, disabled)",
    D2,
);
const REACTIVATE_PATH: Behaviour = inferred(
    "reactivate user back in scope (PATCH /Users/{id} {\"op\":\"replace\",\"path\":\"active\",\"value\":true})",
    D4,
);
const REACTIVATE_PATHLESS: Behaviour = inferred(
    "reactivate user back in scope (PATCH /Users/{id} {\"op\":\"replace\",\"value\":{\"active\":true}})",
    D4,
);
const USER_DELETE: Behaviour = inferred("Delete Users (DELETE /Users/{id})", D2);
const GROUP_LOOKUP: Behaviour = inferred(
    "group lookup before create (GET /Groups?filter=displayName eq \"…\")",
    D1,
);
const GROUP_CREATE: Behaviour = inferred(
    "create group (POST /Groups with displayName and members [{\"value\":id}])",
    D1,
);
const GROUP_PATCH: Behaviour = inferred(
    "update group (PATCH /Groups/{id}: replace displayName, add/remove path members with value [{\"value\":id}])",
    D1,
);
const GROUP_DELETE: Behaviour = inferred(
    "group removed from provisioning (DELETE /Groups/{id} once its members are deprovisioned)",
    D1,
);

/// "User deprovisioning behavior" (D2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deprovisioning {
    /// "Removing a group or user will keep the users in your application but set them to disabled."
    #[default]
    Deactivate,
    /// "Removing a group or user will permanently delete the users in your application."
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateVerb {
    /// PATCH replace of the changed attributes.
    #[default]
    Patch,
    /// GET, then PUT of the whole resource.
    Put,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeactivateShape {
    /// `{"op":"replace","path":"active","value":false}`
    #[default]
    Path,
    /// `{"op":"replace","value":{"active":false}}`
    Pathless,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionCheck {
    /// `GET /Users?filter=userName eq "<random>"`
    #[default]
    Filter,
    /// `GET /Users?startIndex=1&count=1`
    List,
}

fn duo_mapping() -> String {
    "duo-secure-access".into()
}

fn yes() -> bool {
    true
}

const SETTINGS_HINT: &str = "Duo settings are mapping, deprovisioning (deactivate | delete), \
     exclude_group_information (true | false), update (patch | put), deactivate_shape (path | \
     pathless), connection_check (filter | list), group_members_on_create (true | false)";

/// The app's Provisioning tab (D2), and the wire shapes no source shows (§2.2).
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
    #[serde(default)]
    pub update: UpdateVerb,
    #[serde(default)]
    pub deactivate_shape: DeactivateShape,
    #[serde(default)]
    pub connection_check: ConnectionCheck,
    /// POST /Groups carries the members already provisioned; off: an empty list, then a PATCH
    /// adding them (two "Group provisioning succeeded" lines, as in the guide's activity log).
    #[serde(default = "yes")]
    pub group_members_on_create: bool,
}

pub struct Duo {
    pub settings: DuoSettings,
    pub mapping: Mapping,
}

/// Provisioning or deprovisioning, the two halves of Duo's activity log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Provision,
    Deprovision,
}

/// The activity log's Action column: the guide's "… provisioning succeeded"; the rest inferred.
fn activity(kind: ObjectKind, act: Act, ok: bool) -> &'static str {
    match (kind, act, ok) {
        (ObjectKind::User, Act::Provision, true) => "User provisioning succeeded",
        (ObjectKind::User, Act::Provision, false) => "User provisioning failed",
        (ObjectKind::User, Act::Deprovision, true) => "User deprovisioning succeeded",
        (ObjectKind::User, Act::Deprovision, false) => "User deprovisioning failed",
        (ObjectKind::Group, Act::Provision, true) => "Group provisioning succeeded",
        (ObjectKind::Group, Act::Provision, false) => "Group provisioning failed",
        (ObjectKind::Group, Act::Deprovision, true) => "Group deprovisioning succeeded",
        (ObjectKind::Group, Act::Deprovision, false) => "Group deprovisioning failed",
    }
}

/// Duo's requests: SCIM media type; no public source gives a User-Agent.
fn request(method: Method, path: String, body: Option<Value>) -> Request {
    let r = Request::new(method, path).header("Accept", "application/scim+json");
    match body {
        Some(b) => r.header("Content-Type", "application/scim+json").json(b),
        None => r,
    }
}

/// Puts `schemas` first, naming the core schema and every extension the body carries.
fn set_schemas(body: &mut Map<String, Value>, core: &str) {
    let mut schemas = vec![json!(core)];
    schemas.extend(
        body.keys()
            .filter(|k| k.starts_with("urn:"))
            .map(|k| json!(k)),
    );
    let mut out = Map::new();
    out.insert("schemas".into(), Value::Array(schemas));
    out.extend(
        std::mem::take(body)
            .into_iter()
            .filter(|(k, _)| k != "schemas"),
    );
    *body = out;
}

fn id_of(resp: &Response) -> Option<String> {
    resp.body
        .as_ref()
        .and_then(|b| b.get("id"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn is_inactive(resource: &Value) -> bool {
    resource.get("active").is_some_and(|a| {
        a == &Value::Bool(false) || a.as_str().is_some_and(|s| s.eq_ignore_ascii_case("false"))
    })
}

impl Duo {
    pub fn new(settings: &Map<String, Value>) -> Result<Duo, String> {
        let settings: DuoSettings = serde_json::from_value(Value::Object(settings.clone()))
            .map_err(|e| format!("{e}; {SETTINGS_HINT}"))?;
        let mapping = Mapping::load(&settings.mapping).map_err(|e| e.to_string())?;
        Ok(Duo { settings, mapping })
    }

    pub fn settings_json(&self) -> Value {
        serde_json::to_value(&self.settings).unwrap_or(Value::Null)
    }

    async fn call(&self, ctx: &mut Ctx<'_>, req: Request, b: Behaviour) -> Response {
        // How Duo treats a 429 is not public: no retry.
        ctx.send_retrying(req, b, None).await
    }

    fn user_id_path(&self) -> String {
        self.mapping
            .user_matching()
            .first()
            .map_or("userName".into(), |e| e.target.clone())
    }

    fn group_id_path(&self) -> String {
        self.mapping
            .group_matching()
            .first()
            .map_or("displayName".into(), |e| e.target.clone())
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

    fn desired_group(&self, g: &Group) -> Value {
        let look = |k: &str| match k {
            "objectId" => Some(Value::String(g.object_id.clone())),
            _ => g.attrs.get(k).cloned(),
        };
        build_view(&self.mapping.groups, &look, &|_| None, &GROUP_TYPE)
            .unwrap_or_else(|_| json!({}))
    }

    /// One activity-log entry from what the server answered; `true` when it succeeded.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        ctx: &mut Ctx<'_>,
        identity: &str,
        kind: ObjectKind,
        act: Act,
        resp: &Response,
        what: &str,
        modified: Vec<String>,
        exchanges: Vec<u64>,
    ) -> bool {
        let ok = resp.ok();
        let (status, code, detail) = if ok {
            ("Success", None, what.to_string())
        } else {
            (
                "Failure",
                Some(
                    resp.status
                        .map_or("NoAnswer".into(), |s| format!("HTTP {s}")),
                ),
                format!("{what}: {}", resp.describe()),
            )
        };
        ctx.log(
            identity,
            kind,
            activity(kind, act, ok),
            status,
            code,
            Some(detail),
            modified,
            exchanges,
        );
        ok
    }

    // ------------------------------------------------------------------ connection

    /// "Connect to application" on the Provisioning tab (D2): one read that must answer a
    /// ListResponse; the activity log says "Provisioning successfully connected".
    pub async fn test_connection(&self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        let (path, b) = match self.settings.connection_check {
            ConnectionCheck::Filter => {
                let probe = uuid::Uuid::new_v4().to_string();
                (
                    format!(
                        "/Users?filter={}",
                        percent_encode(&filter_eq(&self.user_id_path(), &probe))
                    ),
                    CONNECT_FILTER,
                )
            }
            ConnectionCheck::List => ("/Users?startIndex=1&count=1".to_string(), CONNECT_LIST),
        };
        let resp = self.call(ctx, request(Method::GET, path, None), b).await;
        let result = match resp.status {
            Some(200) if list_resources(&resp).is_some() => Ok(()),
            Some(200) => {
                ctx.finding(b, "200 without a ListResponse".into(), Some(resp.exchange));
                Err("200 without a ListResponse".to_string())
            }
            Some(401) | Some(403) => Err(format!("the token was refused ({})", resp.describe())),
            _ => Err(resp.describe()),
        };
        let (action, status, code) = match &result {
            Ok(()) => ("Provisioning successfully connected", "Success", None),
            Err(_) => (
                "Provisioning failed to connect",
                "Failure",
                Some(
                    resp.status
                        .map_or("NoAnswer".into(), |s| format!("HTTP {s}")),
                ),
            ),
        };
        ctx.log.push(LogEntry {
            date: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            identity: "Outbound SCIM Sync".into(),
            object_type: "Application".into(),
            action: action.into(),
            status: status.into(),
            error_code: code,
            detail: result.as_ref().err().cloned(),
            modified_properties: vec![],
            exchanges: vec![resp.exchange]
                .into_iter()
                .filter(|e| *e != 0)
                .collect(),
        });
        result
    }

    // ------------------------------------------------------------------ react

    /// Duo provisions continuously (D1): after each change, the users that changed since the
    /// watermark, then the groups (unless group information is excluded), reconciled against
    /// what Duo last sent them, so a group sends nothing when nothing about it changed.
    pub async fn react(&self, ctx: &mut Ctx<'_>) {
        let since = ctx.sync.watermark.unwrap_or(0);
        let start = ctx.dir.clock;
        for key in ctx.dir.users_changed_since(since) {
            self.process_user(ctx, &key).await;
        }
        if !self.settings.exclude_group_information {
            let groups: Vec<String> = ctx.dir.groups.iter().map(|g| g.key.clone()).collect();
            for key in groups {
                self.process_group(ctx, &key).await;
            }
        }
        ctx.dir.note_cycle();
        ctx.sync.watermark = Some(start);
    }

    // ------------------------------------------------------------------ users

    async fn process_user(&self, ctx: &mut Ctx<'_>, key: &str) {
        let Some(u) = ctx.dir.user(key).cloned() else {
            return;
        };
        // A user disabled or deleted in Duo leaves like one removed from the groups [inferred].
        let wanted =
            ctx.dir.user_in_scope(&u) && u.attrs.get("accountEnabled") != Some(&Value::Bool(false));
        match ctx.sync.users.get(key).cloned() {
            None if wanted => self.provision(ctx, &u).await,
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
        let desired = self.desired_user(ctx, u);
        let uid = self.user_id_path();
        let Some(Value::String(login)) = get_path(&desired, &uid, &USER_TYPE) else {
            ctx.log(
                &u.label,
                ObjectKind::User,
                activity(ObjectKind::User, Act::Provision, false),
                "Failure",
                Some("MissingAttribute".into()),
                Some(format!("the mapping gives no {uid} for this user")),
                vec![],
                vec![],
            );
            return;
        };
        let path = format!("/Users?filter={}", percent_encode(&filter_eq(&uid, &login)));
        let resp = self
            .call(ctx, request(Method::GET, path, None), USER_LOOKUP)
            .await;
        let mut exchanges = vec![resp.exchange];
        let Some(found) = list_resources(&resp).filter(|_| resp.ok()) else {
            self.record(
                ctx,
                &u.label,
                ObjectKind::User,
                Act::Provision,
                &resp,
                "lookup",
                vec![],
                exchanges,
            );
            return;
        };
        if let Some(existing) = found.first() {
            let Some(id) = existing.get("id").and_then(Value::as_str) else {
                ctx.finding(
                    USER_LOOKUP,
                    "the lookup found a user without an id".into(),
                    Some(resp.exchange),
                );
                return;
            };
            if !ctx.adopt(ObjectKind::User, &u.key, id, false, Some(existing.clone())) {
                ctx.log(
                    &u.label,
                    ObjectKind::User,
                    "User provisioning failed",
                    "Failure",
                    Some("ScimulatorNotOwned".into()),
                    Some("the matched resource is not the run's own (see the findings): scimulator does not write to it".into()),
                    vec![],
                    exchanges,
                );
                return;
            }
            if is_inactive(existing) {
                if !self.set_active(ctx, u, true, exchanges).await {
                    return;
                }
                exchanges = Vec::new();
            }
            self.update(ctx, u, exchanges, "linked to the existing user")
                .await;
            return;
        }
        let mut body = Map::new();
        if let Value::Object(m) = &desired {
            body.extend(m.clone());
        }
        set_schemas(&mut body, USER_URN);
        body.entry("externalId")
            .or_insert_with(|| json!(u.object_id));
        body.insert("active".into(), json!(true));
        let resp = self
            .call(
                ctx,
                request(Method::POST, "/Users".into(), Some(Value::Object(body))),
                USER_CREATE,
            )
            .await;
        exchanges.push(resp.exchange);
        if resp.ok() {
            let Some(id) = id_of(&resp) else {
                ctx.finding(
                    USER_CREATE,
                    format!(
                        "HTTP {} without the created user's id",
                        resp.status.unwrap_or(0)
                    ),
                    Some(resp.exchange),
                );
                ctx.log(
                    &u.label,
                    ObjectKind::User,
                    activity(ObjectKind::User, Act::Provision, false),
                    "Failure",
                    Some("NoId".into()),
                    Some("created, but the answer has no id".into()),
                    vec![],
                    exchanges,
                );
                return;
            };
            // An id that is path syntax is reported by adopt and never linked.
            let _ = ctx.adopt(ObjectKind::User, &u.key, &id, true, Some(desired));
        }
        self.record(
            ctx,
            &u.label,
            ObjectKind::User,
            Act::Provision,
            &resp,
            "created",
            vec![],
            exchanges,
        );
    }

    /// Pushes the mapped attributes that changed since Duo last sent them (D1: "when any
    /// provisioned attribute changes in Duo"): a PATCH replace of those alone, or GET then PUT.
    /// `exchanges` and `what` come from a link, which gets its log line even when nothing
    /// differs.
    async fn update(&self, ctx: &mut Ctx<'_>, u: &User, mut exchanges: Vec<u64>, what: &str) {
        let Some(link) = ctx.sync.users.get(&u.key).cloned() else {
            return;
        };
        let id = link.target_id.clone();
        let desired = self.desired_user(ctx, u);
        let changed = |base: &Value| -> Vec<(String, Value, Option<Value>)> {
            // `active` moves only with (de)activation.
            differences(&self.mapping.users, &desired, base, &USER_TYPE)
                .into_iter()
                .filter(|(p, _, _)| !p.eq_ignore_ascii_case("active"))
                .collect()
        };
        let diffs = changed(link.view_sent.as_ref().unwrap_or(&json!({})));
        if diffs.is_empty() {
            self.linked_unchanged(ctx, u, exchanges, what);
            return;
        }
        let resp = match self.settings.update {
            UpdateVerb::Patch => {
                let ops = diffs
                    .iter()
                    .map(|(path, want, have)| {
                        // A filtered path with nothing to match is an add (RFC 7644 §3.5.2.3).
                        let op = if have.is_none() && path.contains('[') {
                            "add"
                        } else {
                            "replace"
                        };
                        json!({"op": op, "path": path, "value": want})
                    })
                    .collect();
                self.call(
                    ctx,
                    request(
                        Method::PATCH,
                        object_path(ObjectKind::User, &id),
                        Some(patch_body(ops)),
                    ),
                    USER_PATCH,
                )
                .await
            }
            UpdateVerb::Put => {
                let got = self
                    .call(
                        ctx,
                        request(Method::GET, object_path(ObjectKind::User, &id), None),
                        USER_GET,
                    )
                    .await;
                exchanges.push(got.exchange);
                let current = match got.body.clone() {
                    Some(b) if got.ok() => b,
                    _ => {
                        self.record(
                            ctx,
                            &u.label,
                            ObjectKind::User,
                            Act::Provision,
                            &got,
                            "read before update",
                            vec![],
                            exchanges,
                        );
                        return;
                    }
                };
                let mut next = current.clone();
                for (path, want, _) in changed(&current) {
                    let _ = put_path(&mut next, &path, &want, &USER_TYPE);
                }
                if let Value::Object(m) = &mut next {
                    set_schemas(m, USER_URN);
                }
                self.call(
                    ctx,
                    request(Method::PUT, object_path(ObjectKind::User, &id), Some(next)),
                    USER_PUT,
                )
                .await
            }
        };
        exchanges.push(resp.exchange);
        let modified = diffs.iter().map(|(p, _, _)| p.clone()).collect();
        if self.record(
            ctx,
            &u.label,
            ObjectKind::User,
            Act::Provision,
            &resp,
            what,
            modified,
            exchanges,
        ) {
            if let Some(l) = ctx.sync.users.get_mut(&u.key) {
                let mut sent = desired;
                sent["active"] = json!(l.managed);
                l.view_sent = Some(sent);
            }
        }
    }

    /// A link that needed no update still shows in the activity log.
    fn linked_unchanged(&self, ctx: &mut Ctx<'_>, u: &User, exchanges: Vec<u64>, what: &str) {
        if exchanges.is_empty() {
            return;
        }
        ctx.log(
            &u.label,
            ObjectKind::User,
            activity(ObjectKind::User, Act::Provision, true),
            "Success",
            None,
            Some(what.to_string()),
            vec![],
            exchanges,
        );
    }

    /// Deactivate or reactivate with a PATCH of `active`, path or path-less per the setting.
    async fn set_active(
        &self,
        ctx: &mut Ctx<'_>,
        u: &User,
        active: bool,
        mut exchanges: Vec<u64>,
    ) -> bool {
        let Some(id) = ctx
            .sync
            .target_id(ObjectKind::User, &u.key)
            .map(str::to_string)
        else {
            return false;
        };
        let (op, b) = match (self.settings.deactivate_shape, active) {
            (DeactivateShape::Path, false) => (
                json!({"op": "replace", "path": "active", "value": false}),
                DEACTIVATE_PATH,
            ),
            (DeactivateShape::Pathless, false) => (
                json!({"op": "replace", "value": {"active": false}}),
                DEACTIVATE_PATHLESS,
            ),
            (DeactivateShape::Path, true) => (
                json!({"op": "replace", "path": "active", "value": true}),
                REACTIVATE_PATH,
            ),
            (DeactivateShape::Pathless, true) => (
                json!({"op": "replace", "value": {"active": true}}),
                REACTIVATE_PATHLESS,
            ),
        };
        let resp = self
            .call(
                ctx,
                request(
                    Method::PATCH,
                    object_path(ObjectKind::User, &id),
                    Some(patch_body(vec![op])),
                ),
                b,
            )
            .await;
        exchanges.push(resp.exchange);
        let (act, what) = if active {
            (Act::Provision, "reactivated")
        } else {
            (Act::Deprovision, "deactivated")
        };
        let ok = self.record(
            ctx,
            &u.label,
            ObjectKind::User,
            act,
            &resp,
            what,
            vec!["active".into()],
            exchanges,
        );
        if ok {
            if let Some(l) = ctx.sync.users.get_mut(&u.key) {
                l.managed = active;
                if let Some(v @ Value::Object(_)) = l.view_sent.as_mut() {
                    v["active"] = json!(active);
                }
            }
        }
        ok
    }

    /// A user out of scope: Deactivate Users keeps it disabled; Delete Users deletes it (D2).
    async fn deprovision(&self, ctx: &mut Ctx<'_>, u: &User, l: &Link) {
        match self.settings.deprovisioning {
            Deprovisioning::Deactivate => {
                self.set_active(ctx, u, false, Vec::new()).await;
            }
            Deprovisioning::Delete => {
                let resp = self
                    .call(
                        ctx,
                        request(
                            Method::DELETE,
                            object_path(ObjectKind::User, &l.target_id),
                            None,
                        ),
                        USER_DELETE,
                    )
                    .await;
                // Gone either way: a later return to scope creates the user again.
                if resp.ok() || resp.status == Some(404) {
                    ctx.sync.users.remove(&u.key);
                }
                self.record(
                    ctx,
                    &u.label,
                    ObjectKind::User,
                    Act::Deprovision,
                    &resp,
                    "deleted",
                    vec![],
                    vec![resp.exchange],
                );
            }
        }
    }

    // ------------------------------------------------------------------ groups

    async fn process_group(&self, ctx: &mut Ctx<'_>, key: &str) {
        let Some(g) = ctx.dir.group(key).cloned() else {
            return;
        };
        let in_scope = ctx.dir.group_in_scope(&g);
        match ctx.sync.groups.get(key).cloned() {
            None if in_scope => self.create_group(ctx, &g).await,
            None => {}
            Some(l) if !in_scope => self.delete_group(ctx, &g, &l).await,
            Some(_) => self.update_group(ctx, &g, Vec::new(), "updated").await,
        }
    }

    /// Members Duo sends: the group's members in scope that it has provisioned.
    fn wanted_members(&self, ctx: &Ctx<'_>, g: &Group) -> BTreeSet<String> {
        g.members
            .iter()
            .filter(|m| ctx.dir.user(m).is_some_and(|u| ctx.dir.user_in_scope(u)))
            .filter(|m| ctx.sync.users.contains_key(*m))
            .cloned()
            .collect()
    }

    fn member_values<'a>(
        &self,
        ctx: &Ctx<'_>,
        keys: impl IntoIterator<Item = &'a String>,
    ) -> Vec<Value> {
        keys.into_iter()
            .filter_map(|k| ctx.sync.target_id(ObjectKind::User, k))
            .map(|id| json!({"value": id}))
            .collect()
    }

    /// A group assigned to the app: look it up by displayName; link, or create it (D1).
    async fn create_group(&self, ctx: &mut Ctx<'_>, g: &Group) {
        let desired = self.desired_group(g);
        let gid = self.group_id_path();
        let Some(Value::String(name)) = get_path(&desired, &gid, &GROUP_TYPE) else {
            return;
        };
        let path = format!("/Groups?filter={}", percent_encode(&filter_eq(&gid, &name)));
        let resp = self
            .call(ctx, request(Method::GET, path, None), GROUP_LOOKUP)
            .await;
        let mut exchanges = vec![resp.exchange];
        let Some(found) = list_resources(&resp).filter(|_| resp.ok()) else {
            self.record(
                ctx,
                &g.label,
                ObjectKind::Group,
                Act::Provision,
                &resp,
                "lookup",
                vec![],
                exchanges,
            );
            return;
        };
        if let Some(id) = found
            .first()
            .and_then(|f| f.get("id"))
            .and_then(Value::as_str)
        {
            if ctx.adopt(
                ObjectKind::Group,
                &g.key.clone(),
                id,
                false,
                found.first().cloned(),
            ) {
                self.update_group(ctx, g, exchanges, "linked to the existing group")
                    .await;
            } else {
                ctx.log(
                    &g.label,
                    ObjectKind::Group,
                    "Group provisioning failed",
                    "Failure",
                    Some("ScimulatorNotOwned".into()),
                    Some("the matched resource is not the run's own (see the findings): scimulator does not write to it".into()),
                    vec![],
                    exchanges,
                );
            }
            return;
        }
        let members = if self.settings.group_members_on_create {
            self.wanted_members(ctx, g)
        } else {
            BTreeSet::new()
        };
        let mut body = Map::new();
        if let Value::Object(m) = &desired {
            body.extend(m.clone());
        }
        set_schemas(&mut body, GROUP_URN);
        body.insert(
            "members".into(),
            Value::Array(self.member_values(ctx, &members)),
        );
        let resp = self
            .call(
                ctx,
                request(Method::POST, "/Groups".into(), Some(Value::Object(body))),
                GROUP_CREATE,
            )
            .await;
        exchanges.push(resp.exchange);
        let id = id_of(&resp).filter(|_| resp.ok());
        if resp.ok() && id.is_none() {
            ctx.finding(
                GROUP_CREATE,
                format!(
                    "HTTP {} without the created group's id",
                    resp.status.unwrap_or(0)
                ),
                Some(resp.exchange),
            );
        }
        if let Some(id) = &id {
            ctx.own(ObjectKind::Group, id, true);
            ctx.sync.groups.insert(
                g.key.clone(),
                Link {
                    target_id: id.clone(),
                    managed: true,
                    members_sent: members,
                    view_sent: Some(desired),
                    ..Default::default()
                },
            );
        }
        self.record(
            ctx,
            &g.label,
            ObjectKind::Group,
            Act::Provision,
            &resp,
            "created",
            vec![],
            exchanges,
        );
        if id.is_some() {
            // Members not sent with the POST follow in a PATCH.
            self.update_group(ctx, g, Vec::new(), "updated").await;
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
        let Some(link) = ctx.sync.groups.get(&g.key).cloned() else {
            return;
        };
        let desired = self.desired_group(g);
        let diffs = differences(
            &self.mapping.groups,
            &desired,
            link.view_sent.as_ref().unwrap_or(&json!({})),
            &GROUP_TYPE,
        );
        let want = self.wanted_members(ctx, g);
        // Members whose user Duo deleted (Delete Users) left with the user.
        let sent: BTreeSet<String> = link
            .members_sent
            .iter()
            .filter(|m| ctx.sync.users.contains_key(*m))
            .cloned()
            .collect();
        let add: Vec<&String> = want.difference(&sent).collect();
        let remove: Vec<&String> = sent.difference(&want).collect();
        let mut ops: Vec<Value> = diffs
            .iter()
            .map(|(path, value, _)| json!({"op": "replace", "path": path, "value": value}))
            .collect();
        let mut modified: Vec<String> = diffs.iter().map(|(p, _, _)| p.clone()).collect();
        if !remove.is_empty() {
            ops.push(json!({"op": "remove", "path": "members", "value": self.member_values(ctx, remove)}));
        }
        if !add.is_empty() {
            ops.push(
                json!({"op": "add", "path": "members", "value": self.member_values(ctx, add)}),
            );
        }
        if ops.len() > diffs.len() {
            modified.push("members".into());
        }
        if ops.is_empty() {
            if let Some(l) = ctx.sync.groups.get_mut(&g.key) {
                l.members_sent = sent;
            }
            if !exchanges.is_empty() {
                ctx.log(
                    &g.label,
                    ObjectKind::Group,
                    activity(ObjectKind::Group, Act::Provision, true),
                    "Success",
                    None,
                    Some(what.to_string()),
                    vec![],
                    exchanges,
                );
            }
            return;
        }
        let resp = self
            .call(
                ctx,
                request(
                    Method::PATCH,
                    object_path(ObjectKind::Group, &link.target_id),
                    Some(patch_body(ops)),
                ),
                GROUP_PATCH,
            )
            .await;
        exchanges.push(resp.exchange);
        let ok = self.record(
            ctx,
            &g.label,
            ObjectKind::Group,
            Act::Provision,
            &resp,
            what,
            modified,
            exchanges,
        );
        if let Some(l) = ctx.sync.groups.get_mut(&g.key) {
            if ok {
                l.members_sent = want;
                l.view_sent = Some(desired);
            } else {
                l.members_sent = sent;
            }
        }
    }

    /// A group removed from provisioning (or deleted in Duo): its members were deprovisioned
    /// in the users pass (D1); the group is then deleted [inferred].
    async fn delete_group(&self, ctx: &mut Ctx<'_>, g: &Group, l: &Link) {
        let resp = self
            .call(
                ctx,
                request(
                    Method::DELETE,
                    object_path(ObjectKind::Group, &l.target_id),
                    None,
                ),
                GROUP_DELETE,
            )
            .await;
        if resp.ok() || resp.status == Some(404) {
            ctx.sync.groups.remove(&g.key);
        }
        self.record(
            ctx,
            &g.label,
            ObjectKind::Group,
            Act::Deprovision,
            &resp,
            "deleted",
            vec![],
            vec![resp.exchange],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
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
            d.settings_json(),
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
        for bad in [
            json!({"deprovisioning": "suspend"}),
            json!({"update": "post"}),
            json!({"deactivate_shape": "filter"}),
            json!({"connection_check": "ping"}),
            json!({"exclude_group_information": "yes"}),
        ] {
            let Err(e) = Duo::new(&settings(bad.clone())) else {
                panic!("{bad} must be refused");
            };
            assert!(e.contains("Duo settings are"), "{e}");
        }
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
        assert_eq!(
            activity(ObjectKind::User, Act::Provision, true),
            "User provisioning succeeded"
        );
        assert_eq!(
            activity(ObjectKind::Group, Act::Provision, true),
            "Group provisioning succeeded"
        );
        assert_eq!(
            activity(ObjectKind::User, Act::Deprovision, false),
            "User deprovisioning failed"
        );
    }
}
