//! The provisioning engine: the flows every IdP runs, written once and driven by the IdP's
//! [`Wire`] (what goes on the wire, the log's words) and its mapping (what attributes are
//! sent). A profile (`duo.rs`, ...) keeps only its schedule: when it looks at which object,
//! and what it decides (provision, update, deactivate, delete); the engine sends it.
//!
//! Every write goes through [`Ctx::send`], so the "do no harm" rules hold for every IdP alike:
//! a lookup answer is adopted only by [`Ctx::adopt`] (never a resource its filter does not
//! match, never an id that is path syntax), and a PATCH, PUT or DELETE leaves only for an object
//! the run created or matched.
//!
//! A profile's use, from `duo.rs` (a user coming into scope):
//!
//! ```ignore
//! let eng = self.engine();                           // Engine::new(&wire, &mapping)
//! let desired = eng.desired_user(ctx, &u);           // the mapped attributes
//! match eng.match_or_create(ctx, u.subject(), &desired, &[]).await {
//!     Matched::Found { resource, exchanges, .. } => { /* reactivate, update */ }
//!     Matched::Created { .. } | Matched::Stopped => {}   // logged by the engine
//! }
//! ```
//!
//! Events name what a flow did, for the log vocabulary and the behaviours of the wire:
//! `connect`, `user_create`, `user_update`, `user_reactivate`, `user_deactivate`,
//! `user_delete`, `group_create`, `group_update`, `group_delete`.

use crate::client::Method;
use crate::client::TransportError;
use crate::client::{form_encode, percent_encode, Request, Response};
use crate::idp::mapping::{build_view, differences, Mapping};
use crate::idp::wire::{
    AddWhen, ConnectionCheck, DeactivateShape, Detail, Duplicates, FilterEncoding, MemberRemove,
    OpCase, Rename, UpdateVerb, Wire,
};
use crate::idp::{filter_eq, list_resources, object_path, patch_body, Behaviour, Ctx};
use crate::report::model::LogEntry;
use crate::scim::kind::ObjectKind;
use crate::scim::patch::{get_path, put_path};
use crate::scim::schema::{GROUP_TYPE, GROUP_URN, USER_TYPE, USER_URN};
use crate::source::{Group, User};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

/// The one place a schedule hands out per-object work: every profile's pass over users or
/// groups goes through here, in the order given. With `ctx.in_flight` 1 (the default) one
/// object after the other; with N above 1, N lanes ([`Ctx::lane`]: the run's state shared, a
/// lane client each) pull keys from one queue in that order, so up to N objects' flows (and so
/// up to N requests) are in flight at once on the current thread. The pass ends when every
/// lane has, and the lanes' exchanges go back into the run's client in id order: a profile's
/// next pass starts only then, so its order constraints hold (users before the groups that
/// reference them, Entra's reference pass after its user pass). Within a pass, objects are
/// independent: what one object's flow reads of another (a group's members' links) was
/// settled by an earlier pass.
///
/// No public source gives the number of requests Entra ID or Okta keep in flight; Microsoft
/// requires a gallery app to sustain at least 25 requests per second per tenant
/// (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups),
/// which a sequential IdP needs a 40 ms answer for. Anything above 1 is inferred, and labelled
/// so in the report's behaviours (`requests in flight`).
pub async fn each<'c, F>(ctx: &mut Ctx<'c>, keys: Vec<String>, work: F)
where
    F: AsyncFn(&mut Ctx<'c>, String),
{
    let n = ctx.in_flight.min(keys.len());
    if n <= 1 {
        for key in keys {
            work(ctx, key).await;
        }
        return;
    }
    let queue = std::cell::RefCell::new(keys.into_iter());
    let mut lanes: Vec<Ctx<'c>> = (0..n).map(|_| ctx.lane()).collect();
    let (work, queue) = (&work, &queue);
    join_all(lanes.iter_mut().map(|lane| async move {
        loop {
            let next = queue.borrow_mut().next();
            let Some(key) = next else { break };
            work(lane, key).await;
        }
    }))
    .await;
    for lane in lanes {
        ctx.merge(lane);
    }
}

/// What the report's behaviours list, counting every request a lane sent, for passes run with
/// more than one object in flight: inferred, since no IdP documents its concurrency.
pub fn in_flight_behaviour() -> Behaviour {
    Behaviour {
        name: "requests in flight: several objects of a pass provisioned at once (the in_flight setting)",
        source: "https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups (a gallery app must sustain 25 requests/s; no IdP documents how many it keeps in flight)",
        inferred: true,
    }
}

/// Runs every future to its end on the current task, polling each when woken (a handful of
/// lanes: no need for a scheduler).
async fn join_all<F: std::future::Future<Output = ()>>(futures: impl Iterator<Item = F>) {
    let mut running: Vec<Option<std::pin::Pin<Box<F>>>> =
        futures.map(|f| Some(Box::pin(f))).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for slot in running.iter_mut() {
            if let Some(f) = slot {
                if f.as_mut().poll(cx).is_ready() {
                    *slot = None;
                } else {
                    pending = true;
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await
}

/// The object a flow works on, and its log lines are about.
#[derive(Clone, Copy)]
pub struct Subject<'a> {
    pub kind: ObjectKind,
    /// The source directory's key (sync state, escrow).
    pub key: &'a str,
    /// Its name in the log.
    pub label: &'a str,
}

impl<'a> Subject<'a> {
    /// A group known by its key and label.
    pub fn group(key: &'a str, label: &'a str) -> Subject<'a> {
        Subject {
            kind: ObjectKind::Group,
            key,
            label,
        }
    }
}

/// A source object as a [`Subject`].
pub trait Subjected {
    fn subject(&self) -> Subject<'_>;
}

impl Subjected for User {
    fn subject(&self) -> Subject<'_> {
        Subject {
            kind: ObjectKind::User,
            key: &self.key,
            label: &self.label,
        }
    }
}

impl Subjected for Group {
    fn subject(&self) -> Subject<'_> {
        Subject {
            kind: ObjectKind::Group,
            key: &self.key,
            label: &self.label,
        }
    }
}

/// A continuous IdP's reaction to the directory's changes: the users changed since the last
/// one, each through `work` ([`each`]); the directory clock it started at, for
/// [`Ctx::cycle_done`].
pub async fn each_changed_user<'c, F>(ctx: &mut Ctx<'c>, work: F) -> u64
where
    F: AsyncFn(&mut Ctx<'c>, String),
{
    let since = ctx.sync().watermark.unwrap_or(0);
    let start = ctx.dir().clock;
    let users = ctx.dir().users_changed_since(since);
    each(ctx, users, work).await;
    start
}

/// An IdP's wire and mapping: what the flows need to know about the IdP.
#[derive(Clone, Copy)]
pub struct Engine<'p> {
    pub wire: &'p Wire,
    pub mapping: &'p Mapping,
}

/// What a lookup-then-create came to.
pub enum Matched {
    /// The lookup found it, and it is the run's own now (adopted): the profile decides what
    /// follows (reactivate, update). `exchanges` are not logged yet.
    Found {
        id: String,
        resource: Value,
        exchanges: Vec<u64>,
    },
    /// Created, adopted and logged.
    Created { id: String },
    /// Failed or refused, and logged (or, for a group without a name, nothing to do).
    Stopped,
}

/// What a user update came to.
pub enum Updated {
    /// The PATCH or PUT went out; its answer.
    Sent(Response),
    /// The GET before a PUT failed; its answer.
    ReadFailed(Response),
    /// The GET showed nothing to change, and the wire sends no PUT then.
    Unchanged,
}

/// What a lookup came to.
pub enum Looked {
    /// Found and adopted: a [`Matched::Found`].
    Found(Matched),
    /// The lookup answered no resource; its exchanges.
    Absent(Vec<u64>),
    /// The answer is not a ListResponse (not logged: the caller says what it means).
    Failed(Response, Vec<u64>),
    /// Refused or impossible, and logged.
    Stopped,
}

/// What paging a listing came to.
enum Listed {
    Found(Value, Vec<u64>),
    Absent(Vec<u64>),
    /// A page that is not a ListResponse.
    Failed(Response, Vec<u64>),
    /// Paging did not progress or did not end: why (a finding is recorded).
    Broken(String, Vec<u64>),
}

fn create_event(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::User => "user_create",
        ObjectKind::Group => "group_create",
    }
}

fn lookup_role(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::User => "user_lookup",
        ObjectKind::Group => "group_lookup",
    }
}

/// The shape of `(path, wanted, had)` differences between a desired view and a base.
pub type Diffs = Vec<(String, Value, Option<Value>)>;

impl<'p> Engine<'p> {
    pub fn new(wire: &'p Wire, mapping: &'p Mapping) -> Engine<'p> {
        Engine { wire, mapping }
    }
}

impl Engine<'_> {
    // ------------------------------------------------------------------ requests

    /// A request with the wire's headers (`Content-Type` and its like only with a body).
    pub fn request(&self, method: Method, path: String, body: Option<Value>) -> Request {
        let mut r = Request::new(method, path)
            .timeout(self.wire.timeout_secs.map(std::time::Duration::from_secs));
        for (k, v) in self.wire.headers(body.is_some()) {
            r = r.header(k, v);
        }
        match body {
            Some(b) => r.json(b),
            None => r,
        }
    }

    /// Sends for `behaviour`, with the wire's 429 policy.
    pub async fn call(&self, ctx: &mut Ctx<'_>, req: Request, behaviour: Behaviour) -> Response {
        ctx.send_retrying(req, behaviour, self.wire.retry_429).await
    }

    /// [`Self::request`], sent by [`Self::call`].
    pub async fn send(
        &self,
        ctx: &mut Ctx<'_>,
        method: Method,
        path: String,
        body: Option<Value>,
        behaviour: Behaviour,
    ) -> Response {
        self.call(ctx, self.request(method, path, body), behaviour)
            .await
    }

    /// PATCHes the object `kind`/`id` with `ops` for `behaviour`.
    pub async fn patch(
        &self,
        ctx: &mut Ctx<'_>,
        kind: ObjectKind,
        id: &str,
        ops: Vec<Value>,
        behaviour: Behaviour,
    ) -> Response {
        let path = object_path(kind, id);
        self.send(ctx, Method::PATCH, path, Some(patch_body(ops)), behaviour)
            .await
    }

    /// The behaviour of `role` (`user_deactivate`) in the shape `variant` (`pathless`).
    pub fn fact(&self, role: &str, variant: Option<&str>) -> Behaviour {
        self.wire.behaviour(role, variant)
    }

    /// The behaviour of a request carrying a user body: when the wire's template changes that
    /// body (`create.string_booleans`: variant `quoted`; `create.user_schemas`: `schemas`),
    /// the wire's `role:shape+variant` (`user_update:put+quoted`, `user_create:quoted`) if it
    /// names one, so a refusal is blamed on the template's shape and its own source.
    pub fn user_fact(&self, role: &str, shape: Option<&str>) -> Behaviour {
        let create = &self.wire.create;
        let template = if create.string_booleans {
            Some("quoted")
        } else if create.user_schemas.is_some() {
            Some("schemas")
        } else {
            None
        };
        if let Some(t) = template {
            let v = shape.map_or(t.to_string(), |s| format!("{s}+{t}"));
            if self.wire.has_behaviour(role, &v) {
                return self.fact(role, Some(&v));
            }
        }
        self.fact(role, shape)
    }

    /// The lookup query of `kind` for `attr eq "value"`, encoded as the wire says.
    pub fn lookup_path(&self, kind: ObjectKind, attr: &str, value: &str) -> String {
        let f = match (kind, &self.wire.lookup.user_expression) {
            (ObjectKind::User, Some(expr)) => {
                // The value as inside a JSON string: quotes and backslashes escaped.
                let quoted = serde_json::to_string(value).unwrap_or_default();
                expr.replace("%s", &quoted[1..quoted.len().saturating_sub(1)])
            }
            _ => filter_eq(attr, value),
        };
        let encoded = match self.wire.lookup.encoding {
            FilterEncoding::Percent => percent_encode(&f),
            FilterEncoding::Plus => form_encode(&f),
        };
        let query = match kind {
            ObjectKind::User => &self.wire.lookup.users,
            ObjectKind::Group => &self.wire.lookup.groups,
        };
        format!(
            "{}?{}",
            kind.endpoint(),
            query.replace("{filter}", &encoded)
        )
    }

    // ------------------------------------------------------------------ views

    /// The attribute an object is matched on first.
    pub fn match_attr(&self, kind: ObjectKind) -> String {
        self.match_attrs(kind).swap_remove(0)
    }

    /// The attributes an object is matched on, in precedence order: the wire's
    /// `lookup.user_attributes`, else the mapping's matching targets, else `userName` or
    /// `displayName`.
    pub fn match_attrs(&self, kind: ObjectKind) -> Vec<String> {
        let (m, default) = match kind {
            ObjectKind::User => (self.mapping.user_matching(), "userName"),
            ObjectKind::Group => (self.mapping.group_matching(), "displayName"),
        };
        let given = match kind {
            ObjectKind::User => self.wire.lookup.user_attributes.clone(),
            ObjectKind::Group => None,
        };
        let attrs = given.unwrap_or_else(|| m.iter().map(|e| e.target.clone()).collect());
        if attrs.is_empty() {
            vec![default.into()]
        } else {
            attrs
        }
    }

    /// The user as the mapping sends it.
    pub fn desired_user(&self, ctx: &Ctx<'_>, u: &User) -> Value {
        let soft = ctx.dir().is_soft_deleted(u);
        let attrs = u.attrs.map();
        let look = |k: &str| match k {
            "IsSoftDeleted" => Some(Value::Bool(soft)),
            "objectId" => Some(Value::String(u.object_id.clone())),
            _ => attrs.get(k).cloned(),
        };
        build_view(&self.mapping.users, &look, &|_| None, &USER_TYPE).unwrap_or_else(|_| json!({}))
    }

    /// The group as the mapping sends it (members apart).
    pub fn desired_group(&self, g: &Group) -> Value {
        let attrs = g.attrs.map();
        let look = |k: &str| match k {
            "objectId" => Some(Value::String(g.object_id.clone())),
            _ => attrs.get(k).cloned(),
        };
        build_view(&self.mapping.groups, &look, &|_| None, &GROUP_TYPE)
            .unwrap_or_else(|_| json!({}))
    }

    /// What differs between `desired` and `base`, `active` left out (it moves only with
    /// deactivation and reactivation).
    pub fn user_diffs(&self, desired: &Value, base: &Value) -> Diffs {
        differences(&self.mapping.users, desired, base, &USER_TYPE)
            .into_iter()
            .filter(|(p, _, _)| !p.eq_ignore_ascii_case("active"))
            .collect()
    }

    // ------------------------------------------------------------------ log

    /// One log entry from what the server answered; `true` when it succeeded. The action,
    /// error code and detail come from the wire's vocabulary.
    #[allow(clippy::too_many_arguments)]
    pub fn outcome(
        &self,
        ctx: &mut Ctx<'_>,
        s: Subject<'_>,
        event: &str,
        resp: &Response,
        what: &str,
        modified: Vec<String>,
        exchanges: Vec<u64>,
    ) -> bool {
        self.answer(ctx, s, event, event, resp, what, modified, exchanges)
    }

    /// [`Self::outcome`], the error code looked up under `code_event` (`lookup`).
    #[allow(clippy::too_many_arguments)]
    fn answer(
        &self,
        ctx: &mut Ctx<'_>,
        s: Subject<'_>,
        event: &str,
        code_event: &str,
        resp: &Response,
        what: &str,
        modified: Vec<String>,
        exchanges: Vec<u64>,
    ) -> bool {
        let ok = resp.ok();
        let (status, code, detail) = match (ok, self.wire.log.detail) {
            (true, Detail::What) => ("Success", None, Some(what.to_string())),
            (true, Detail::Answer) => ("Success", None, None),
            (false, d) => (
                "Failure",
                Some(self.code(resp, code_event)),
                Some(match d {
                    Detail::What => format!("{what}: {}", resp.describe()),
                    Detail::Answer => resp.describe(),
                }),
            ),
        };
        let action = self.wire.action(event, ok, s.label);
        ctx.log(
            s.label, s.kind, &action, status, code, detail, modified, exchanges,
        );
        ok
    }

    /// The error code of a failed answer: the wire's `log.codes` by `{event}.{status}`,
    /// `{status}`, `5xx`, `other` (`timeout`, `transport` without an answer), else
    /// `HTTP {status}` or the no-answer code.
    pub fn code(&self, resp: &Response, event: &str) -> String {
        let codes = &self.wire.log.codes;
        let get = |k: &str| codes.get(k).cloned();
        let found = match (&resp.error, resp.status) {
            _ if codes.is_empty() => None,
            (Some(TransportError::Timeout(_)), _) => get("timeout"),
            (Some(_), _) => get("transport"),
            (None, Some(s)) => get(&format!("{event}.{s}"))
                .or_else(|| get(&s.to_string()))
                .or_else(|| if s >= 500 { get("5xx") } else { None })
                .or_else(|| get("other")),
            (None, None) => None,
        };
        found.unwrap_or_else(|| {
            resp.status
                .map_or(self.wire.log.no_answer.clone(), |s| format!("HTTP {s}"))
        })
    }

    /// A lookup that failed, logged under `event`: an answer without a ListResponse is the
    /// wire's `log.no_list` refusal (with a finding) when it names one.
    pub fn lookup_failed(
        &self,
        ctx: &mut Ctx<'_>,
        s: Subject<'_>,
        event: &str,
        resp: &Response,
        exchanges: Vec<u64>,
    ) {
        match &self.wire.log.no_list {
            Some(r) if resp.ok() => {
                let message = r
                    .finding
                    .clone()
                    .unwrap_or_else(|| "the answer is not a ListResponse".into());
                ctx.finding(
                    self.fact(lookup_role(s.kind), None),
                    message,
                    Some(resp.exchange),
                );
                self.failed(ctx, s, event, &r.code, r.detail.clone(), exchanges);
            }
            _ => {
                self.answer(ctx, s, event, "lookup", resp, "lookup", vec![], exchanges);
            }
        }
    }

    /// A failure that is not an answer (not owned, no id, no matching attribute).
    pub fn failed(
        &self,
        ctx: &mut Ctx<'_>,
        s: Subject<'_>,
        event: &str,
        code: &str,
        detail: String,
        exchanges: Vec<u64>,
    ) {
        let action = self.wire.action(event, false, s.label);
        // The page that explains the code, where the IdP's log links one.
        let detail = match &self.wire.log.failure_source {
            Some(url) => format!("{detail} ({url})"),
            None => detail,
        };
        ctx.log(
            s.label,
            s.kind,
            &action,
            "Failure",
            Some(code.to_string()),
            Some(detail),
            vec![],
            exchanges,
        );
    }

    /// A success line for work that sent nothing more (a link that needed no update).
    pub fn succeeded(
        &self,
        ctx: &mut Ctx<'_>,
        s: Subject<'_>,
        event: &str,
        what: &str,
        exchanges: Vec<u64>,
    ) {
        let action = self.wire.action(event, true, s.label);
        let detail = (self.wire.log.detail == Detail::What).then(|| what.to_string());
        ctx.log(
            s.label,
            s.kind,
            &action,
            "Success",
            None,
            detail,
            vec![],
            exchanges,
        );
    }

    // ------------------------------------------------------------------ connection

    /// The connection test, as the wire's `connect.check` says: one read that must answer a
    /// ListResponse (a 404 too for a `lookup` check on a wire where 404 means "not found"), or
    /// test objects created and removed; logged on the application.
    pub async fn test_connection(&self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        let check = self.wire.connect.check;
        let probe = uuid::Uuid::new_v4().to_string();
        let attr = self.match_attr(ObjectKind::User);
        let (path, b) = match check {
            ConnectionCheck::Filter => (
                format!(
                    "/Users?filter={}",
                    percent_encode(&filter_eq(&attr, &probe))
                ),
                self.fact("connect", Some("filter")),
            ),
            ConnectionCheck::List => (
                self.wire.connect.list_path.clone(),
                self.fact("connect", Some("list")),
            ),
            ConnectionCheck::Lookup => (
                self.lookup_path(ObjectKind::User, &attr, &probe),
                self.fact("connect", Some("lookup")),
            ),
            ConnectionCheck::TestObjects => return self.test_objects(ctx).await,
        };
        let resp = self.send(ctx, Method::GET, path, None, b).await;
        let not_found_passes = check == ConnectionCheck::Lookup && self.wire.lookup.not_found_404;
        let result = match resp.status {
            Some(200) if list_resources(&resp).is_some() => Ok(()),
            Some(404) if not_found_passes => Ok(()),
            Some(200) => {
                ctx.finding(b, "200 without a ListResponse".into(), Some(resp.exchange));
                Err("200 without a ListResponse".to_string())
            }
            Some(401) | Some(403) => Err(format!("the token was refused ({})", resp.describe())),
            _ => Err(resp.describe()),
        };
        self.log_connect(ctx, result, &resp, vec![resp.exchange])
    }

    /// The save-time test of `connect: { check: test_objects }`: POST a test user and a test
    /// group (run-scoped names), then DELETE both; a user DELETE answered 405 or 501 (the
    /// server does not support it) deactivates the test user instead. Every write goes to an
    /// id from the run's own POST.
    async fn test_objects(&self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        let b = self.fact("connect", Some("test_objects"));
        let name = format!(
            "scimulator-test-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let user = self.user_create_body(&json!({"userName": name}), "", ctx);
        let group = json!({"schemas": [GROUP_URN], "displayName": name, "members": []});
        let mut exchanges = Vec::new();
        let mut ids = Vec::new();
        for (kind, body) in [
            (ObjectKind::User, Value::Object(user)),
            (ObjectKind::Group, group),
        ] {
            let endpoint = kind.endpoint().into();
            let resp = self.send(ctx, Method::POST, endpoint, Some(body), b).await;
            exchanges.push(resp.exchange);
            let id = resp
                .body
                .as_ref()
                .and_then(|v| v.get("id"))
                .and_then(Value::as_str);
            match id.filter(|_| resp.ok()) {
                Some(id) if ctx.own(kind, id, true) => ids.push((kind, id.to_string())),
                Some(_) => return self.log_connect(ctx, Err("unsafe id".into()), &resp, exchanges),
                None if resp.ok() => {
                    let why = format!("{} {} without an id", kind.name(), resp.describe());
                    ctx.finding(b, why.clone(), Some(resp.exchange));
                    return self.log_connect(ctx, Err(why), &resp, exchanges);
                }
                None => {
                    let why = format!("create test {}: {}", kind.name(), resp.describe());
                    return self.log_connect(ctx, Err(why), &resp, exchanges);
                }
            }
        }
        let mut last = None;
        for (kind, id) in ids.into_iter().rev() {
            let path = object_path(kind, &id);
            let mut resp = self.send(ctx, Method::DELETE, path, None, b).await;
            exchanges.push(resp.exchange);
            if kind == ObjectKind::User && matches!(resp.status, Some(405) | Some(501)) {
                // The IdP expects a target without DELETE and deactivates instead (J1): the
                // refusal is an answer it handles, not a finding.
                let refused = resp.exchange;
                ctx.findings_mut().retain(|f| f.exchange != Some(refused));
                let op = json!({"op": "replace", "path": "active", "value": false});
                resp = self.patch(ctx, kind, &id, vec![op], b).await;
                exchanges.push(resp.exchange);
            }
            if !resp.ok() {
                let why = format!("remove test {}: {}", kind.name(), resp.describe());
                return self.log_connect(ctx, Err(why), &resp, exchanges);
            }
            last = Some(resp);
        }
        let resp = last.unwrap_or_else(|| Response::refused(String::new()));
        self.log_connect(ctx, Ok(()), &resp, exchanges)
    }

    /// The application's log line of a connection test.
    fn log_connect(
        &self,
        ctx: &mut Ctx<'_>,
        result: Result<(), String>,
        resp: &Response,
        exchanges: Vec<u64>,
    ) -> Result<(), String> {
        let code = result.as_ref().err().map(|_| {
            resp.status
                .map_or(self.wire.log.no_answer.clone(), |s| format!("HTTP {s}"))
        });
        ctx.push_log(LogEntry {
            date: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            identity: "Outbound SCIM Sync".into(),
            object_type: "Application".into(),
            action: self.wire.action("connect", result.is_ok(), ""),
            status: if result.is_ok() { "Success" } else { "Failure" }.into(),
            error_code: code,
            detail: result.as_ref().err().cloned(),
            modified_properties: Default::default(),
            exchanges: exchanges.into_iter().filter(|e| *e != 0).collect(),
        });
        result
    }

    // ------------------------------------------------------------------ match or create

    /// Looks `key` up by its matching attribute in `desired`; adopts what is found (the profile
    /// decides what follows), or creates it with `desired`, `members` (groups) and the wire's
    /// create extras. Every failure is logged under `{user|group}_create`.
    pub async fn match_or_create(
        &self,
        ctx: &mut Ctx<'_>,
        s: Subject<'_>,
        desired: &Value,
        members: &[Value],
    ) -> Matched {
        let event = create_event(s.kind);
        match self.lookup(ctx, s, desired, event).await {
            Looked::Found(m) => m,
            Looked::Failed(resp, exchanges) => {
                self.lookup_failed(ctx, s, event, &resp, exchanges);
                Matched::Stopped
            }
            Looked::Stopped => Matched::Stopped,
            Looked::Absent(exchanges) => self.create(ctx, s, desired, members, exchanges).await,
        }
    }

    /// Looks `key` up by its matching attributes in `desired`, in precedence order, and adopts
    /// the first resource answered (the wire's `lookup.duplicates` says whether several are
    /// refused instead); [`Looked::Failed`] (not logged) when the answer is not a
    /// ListResponse. A refusal is logged under `event`.
    pub async fn lookup(
        &self,
        ctx: &mut Ctx<'_>,
        s: Subject<'_>,
        desired: &Value,
        event: &str,
    ) -> Looked {
        let kind = s.kind;
        let (rt, role) = match kind {
            ObjectKind::User => (&USER_TYPE, "user_lookup"),
            ObjectKind::Group => (&GROUP_TYPE, "group_lookup"),
        };
        let attrs = self.match_attrs(kind);
        let lookup = self.fact(role, None);
        let mut exchanges = Vec::new();
        let mut asked = false;
        for attr in &attrs {
            let Some(Value::String(value)) = get_path(desired, attr, rt) else {
                continue;
            };
            asked = true;
            if let (ObjectKind::Group, Some(listing)) = (kind, &self.wire.lookup.groups_listing) {
                return match self.listing(ctx, kind, listing, attr, &value).await {
                    Listed::Found(r, exchanges) => self.adopt_found(ctx, s, event, r, exchanges),
                    Listed::Absent(exchanges) => Looked::Absent(exchanges),
                    Listed::Failed(resp, exchanges) => Looked::Failed(resp, exchanges),
                    Listed::Broken(why, exchanges) => {
                        self.failed(ctx, s, event, "ListingPaging", why, exchanges);
                        Looked::Stopped
                    }
                };
            }
            let path = self.lookup_path(kind, attr, &value);
            let resp = self.send(ctx, Method::GET, path, None, lookup).await;
            exchanges.push(resp.exchange);
            let found = if self.wire.lookup.not_found_404 && resp.status == Some(404) {
                Some(Vec::new())
            } else {
                list_resources(&resp).filter(|_| resp.ok())
            };
            let Some(found) = found else {
                return Looked::Failed(resp, exchanges);
            };
            let Some(existing) = found.first() else {
                continue;
            };
            // A group lookup that excludes members and gets them anyway (Entra's query).
            let members = existing.get("members").and_then(Value::as_array);
            if kind == ObjectKind::Group
                && self
                    .wire
                    .lookup
                    .groups
                    .contains("excludedAttributes=members")
                && members.is_some_and(|m| !m.is_empty())
            {
                ctx.finding(
                    lookup,
                    "the group lookup returned members despite excludedAttributes=members".into(),
                    Some(resp.exchange),
                );
            }
            if found.len() > 1 && self.wire.lookup.duplicates == Duplicates::Refuse {
                let n = found.len();
                let why = format!(
                    "{n} {}s match {attr} eq \"{value}\"",
                    kind.name().to_ascii_lowercase()
                );
                ctx.finding(lookup, why.clone(), Some(resp.exchange));
                self.failed(ctx, s, event, "DuplicateTargetEntries", why, exchanges);
                return Looked::Stopped;
            }
            return self.adopt_found(ctx, s, event, existing.clone(), exchanges);
        }
        if !asked {
            if kind == ObjectKind::User {
                self.failed(
                    ctx,
                    s,
                    event,
                    "MissingAttribute",
                    format!("the mapping gives no {} for this user", attrs[0]),
                    vec![],
                );
            }
            return Looked::Stopped;
        }
        Looked::Absent(exchanges)
    }

    /// Adopts a resource a lookup found (the ledger refuses one its filter does not match).
    fn adopt_found(
        &self,
        ctx: &mut Ctx<'_>,
        s: Subject<'_>,
        event: &str,
        existing: Value,
        exchanges: Vec<u64>,
    ) -> Looked {
        let (kind, key) = (s.kind, s.key);
        let role = match kind {
            ObjectKind::User => "user_lookup",
            ObjectKind::Group => "group_lookup",
        };
        let Some(id) = existing.get("id").and_then(Value::as_str) else {
            ctx.finding(
                self.fact(role, None),
                format!("the lookup found a {} without an id", kind.name()),
                exchanges.last().copied(),
            );
            return Looked::Stopped;
        };
        if !ctx.adopt(kind, key, id, false, Some(&existing)) {
            self.failed(
                ctx,
                s,
                event,
                "ScimulatorNotOwned",
                "the matched resource is not the run's own (see the findings): scimulator \
                 does not write to it"
                    .into(),
                exchanges,
            );
            return Looked::Stopped;
        }
        Looked::Found(Matched::Found {
            id: id.to_string(),
            resource: existing.clone(),
            exchanges,
        })
    }

    /// Pages the listing `GET {endpoint}?{query}` from startIndex 1 to its end (at most
    /// `--max-pages` pages) and returns the first resource whose `attr` equals `value` exactly:
    /// matching done by the client, not by a filter, so nothing else is ever adopted. A page
    /// that brings no new resource (the server ignores startIndex) or a listing that does not
    /// end stops it, with a finding: the IdP would never see what lies past the first page.
    async fn listing(
        &self,
        ctx: &mut Ctx<'_>,
        kind: ObjectKind,
        query: &str,
        attr: &str,
        value: &str,
    ) -> Listed {
        let (rt, role) = match kind {
            ObjectKind::User => (&USER_TYPE, "user_lookup"),
            ObjectKind::Group => (&GROUP_TYPE, "group_lookup"),
        };
        let b = self.fact(role, None);
        let max_pages = ctx.client.limits().max_pages;
        let (mut start, mut exchanges, mut matched) = (1u64, Vec::new(), None);
        let mut seen = std::collections::HashSet::new();
        let plural = format!("{}s", kind.name().to_ascii_lowercase());
        for _ in 0..max_pages {
            let path = format!(
                "{}?{}",
                kind.endpoint(),
                query.replace("{start}", &start.to_string())
            );
            let resp = self.send(ctx, Method::GET, path, None, b).await;
            exchanges.push(resp.exchange);
            let Some(found) = list_resources(&resp).filter(|_| resp.ok()) else {
                return Listed::Failed(resp, exchanges);
            };
            let ids: Vec<String> = found
                .iter()
                .filter_map(|r| r.get("id").and_then(Value::as_str).map(str::to_string))
                .collect();
            if !ids.is_empty() && ids.iter().all(|id| seen.contains(id)) {
                let why = format!(
                    "the listing page startIndex={start} returned no new {plural}: all {} were \
                     on earlier pages (RFC 7644 §3.4.2.4: startIndex is the 1-based index of the \
                     first result), so {plural} past the first page are never seen; listing \
                     stopped",
                    ids.len()
                );
                ctx.finding(b, why.clone(), Some(resp.exchange));
                return Listed::Broken(why, exchanges);
            }
            seen.extend(ids);
            if matched.is_none() {
                matched = found
                    .iter()
                    .find(|r| get_path(r, attr, rt).as_ref().and_then(Value::as_str) == Some(value))
                    .cloned();
            }
            let total = resp
                .body
                .as_ref()
                .and_then(|b| b.get("totalResults"))
                .and_then(Value::as_u64);
            // totalResults is REQUIRED (RFC 7644 §3.4.2); without it the page is the last.
            if found.is_empty() || total.is_none_or(|t| start - 1 + found.len() as u64 >= t) {
                return match matched {
                    Some(r) => Listed::Found(r, exchanges),
                    None => Listed::Absent(exchanges),
                };
            }
            start += found.len() as u64;
        }
        let why = format!(
            "the {plural} listing did not end after {max_pages} pages (--max-pages): the last \
             page had startIndex={start}; listing stopped"
        );
        ctx.finding(b, why.clone(), exchanges.last().copied());
        Listed::Broken(why, exchanges)
    }

    /// Creates `key` (POST), adopts the id the server gave it and logs the outcome under
    /// `{user|group}_create`; `exchanges` are the lookup's.
    pub async fn create(
        &self,
        ctx: &mut Ctx<'_>,
        s: Subject<'_>,
        desired: &Value,
        members: &[Value],
        mut exchanges: Vec<u64>,
    ) -> Matched {
        let (kind, key) = (s.kind, s.key);
        let event = create_event(kind);
        let body = match kind {
            ObjectKind::User => self.user_create_body(desired, key, ctx),
            ObjectKind::Group => self.group_create_body(desired, members),
        };
        let create = match kind {
            ObjectKind::User => self.user_fact(event, None),
            ObjectKind::Group => self.fact(event, None),
        };
        let endpoint = kind.endpoint().into();
        let resp = self
            .send(
                ctx,
                Method::POST,
                endpoint,
                Some(Value::Object(body)),
                create,
            )
            .await;
        exchanges.push(resp.exchange);
        let id = resp
            .body
            .as_ref()
            .and_then(|b| b.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .filter(|_| resp.ok());
        if resp.ok() && id.is_none() {
            let no_id = &self.wire.log.no_id;
            let message = no_id.finding.clone().unwrap_or_else(|| {
                format!(
                    "HTTP {} without the created {}'s id",
                    resp.status.unwrap_or(0),
                    kind.name().to_ascii_lowercase()
                )
            });
            ctx.finding(create, message, Some(resp.exchange));
            self.failed(ctx, s, event, &no_id.code, no_id.detail.clone(), exchanges);
            return Matched::Stopped;
        }
        // An id that is path syntax is reported by adopt and never linked.
        let adopted = id
            .as_ref()
            .is_some_and(|id| ctx.adopt(kind, key, id, true, Some(desired)));
        let modified = if self.wire.log.create_modified {
            let (entries, rt) = match kind {
                ObjectKind::User => (&self.mapping.users, &USER_TYPE),
                ObjectKind::Group => (&self.mapping.groups, &GROUP_TYPE),
            };
            entries
                .iter()
                .filter(|e| get_path(desired, &e.target, rt).is_some())
                .map(|e| e.target.clone())
                .collect()
        } else {
            vec![]
        };
        self.outcome(ctx, s, event, &resp, "created", modified, exchanges);
        match id {
            Some(id) if adopted => Matched::Created { id },
            _ => Matched::Stopped,
        }
    }

    /// The create body of a user: `schemas`, the mapped attributes, the wire's extras,
    /// `externalId` (the IdP's object id) when the wire says so, `active: true`.
    fn user_create_body(&self, desired: &Value, key: &str, ctx: &Ctx<'_>) -> Map<String, Value> {
        let create = &self.wire.create;
        let mut body = desired.as_object().cloned().unwrap_or_default();
        // `active` goes last, after the extras, as in Okta's documented create body.
        if create.active_last {
            body.remove("active");
        }
        for (k, v) in &create.user_extras {
            let v = match v.as_str() {
                Some("$password") => json!(uuid::Uuid::new_v4().simple().to_string()[..8]),
                _ => v.clone(),
            };
            body.insert(k.clone(), v);
        }
        set_schemas(
            &mut body,
            USER_URN,
            &create.user_schemas_always,
            create.list_extensions,
        );
        if create.external_id {
            if let Some(u) = ctx.dir().user(key) {
                body.entry("externalId")
                    .or_insert_with(|| json!(u.object_id));
            }
        }
        if create.active_last {
            // Created inactive only where the wire says a disabled user is provisioned at all.
            let active = !(create.disabled_users && is_inactive(desired));
            body.insert("active".into(), json!(active));
        }
        self.shape_user(&mut body);
        body
    }

    /// The create body of a group: `schemas` (the core URN and the wire's), the wire's leading
    /// attributes, the mapped ones, `members` (unless the wire sends none and there are
    /// none), the wire's extras.
    fn group_create_body(&self, desired: &Value, members: &[Value]) -> Map<String, Value> {
        let create = &self.wire.create;
        let mapped = desired.as_object().cloned().unwrap_or_default();
        let mut body: Map<String, Value> = create
            .group_first
            .iter()
            .filter_map(|k| Some((k.clone(), mapped.get(k)?.clone())))
            .collect();
        for (k, v) in mapped {
            if !body.contains_key(&k) && k != "members" {
                body.insert(k, v);
            }
        }
        set_schemas(&mut body, GROUP_URN, &create.group_schemas_always, true);
        if !members.is_empty() || create.empty_members {
            body.insert("members".into(), Value::Array(members.to_vec()));
        }
        for (k, v) in &create.group_extras {
            body.insert(k.clone(), v.clone());
        }
        body
    }

    /// What the wire's template does to every user body it sends (create and full PUT): its
    /// own `schemas` list, `active` as a string.
    fn shape_user(&self, body: &mut Map<String, Value>) {
        let create = &self.wire.create;
        if let Some(list) = &create.user_schemas {
            body.insert("schemas".into(), json!(list));
        }
        if create.string_booleans {
            if let Some(Value::Bool(b)) = body.get("active") {
                let s = b.to_string();
                body.insert("active".into(), json!(s));
            }
        }
    }

    /// A user PUT to `path` (with the wire's suffix) of `body`, shaped as the wire's template.
    async fn put_user(
        &self,
        ctx: &mut Ctx<'_>,
        path: String,
        mut body: Value,
        b: Behaviour,
    ) -> Response {
        if let Value::Object(m) = &mut body {
            self.shape_user(m);
        }
        let path = format!("{path}{}", self.wire.update.put_suffix);
        self.send(ctx, Method::PUT, path, Some(body), b).await
    }

    // ------------------------------------------------------------------ update

    /// Sends `diffs` of a linked user as the wire says: a PATCH of the changed attributes, or
    /// GET then PUT of the resource GET returned, edited (compared with `desired` again).
    /// `exchanges` gets every exchange sent.
    pub async fn update_user(
        &self,
        ctx: &mut Ctx<'_>,
        id: &str,
        desired: &Value,
        diffs: &Diffs,
        exchanges: &mut Vec<u64>,
    ) -> Updated {
        let path = object_path(ObjectKind::User, id);
        match self.wire.update.user {
            UpdateVerb::Patch => {
                let ops = self.patch_ops(diffs, true);
                // A PATCH that sets `active` false disables (Entra's update of an out-of-scope
                // user); other profiles send that through `set_active`.
                let b = if disables(diffs) {
                    self.fact("user_deactivate", self.wire.patch.variant.as_deref())
                } else {
                    self.fact("user_update", Some("patch"))
                };
                let resp = self.patch(ctx, ObjectKind::User, id, ops, b).await;
                exchanges.push(resp.exchange);
                Updated::Sent(resp)
            }
            UpdateVerb::Put => {
                let current = match self.read(ctx, ObjectKind::User, id, exchanges).await {
                    Ok(b) => b,
                    Err(got) => return Updated::ReadFailed(got),
                };
                let diffs = self.user_diffs(desired, &current);
                // An attribute cleared in the IdP is left out of the PUT, and the IdP means it
                // cleared (Okta, S1). RFC 7644 §3.5.1 lets a server clear an omitted attribute
                // or assign it a default, so a server that keeps it breaks the IdP, not the RFC.
                let cleared: Vec<String> = if self.wire.update.put_clears_omitted {
                    self.mapping
                        .users
                        .iter()
                        .filter(|e| e.reference.is_none() && !e.target.contains('['))
                        .filter(|e| {
                            get_path(desired, &e.target, &USER_TYPE).is_none()
                                && get_path(&current, &e.target, &USER_TYPE).is_some()
                        })
                        .map(|e| e.target.clone())
                        .collect()
                } else {
                    Vec::new()
                };
                if diffs.is_empty() && cleared.is_empty() && !self.wire.update.put_when_unchanged {
                    return Updated::Unchanged;
                }
                let mut next = current.clone();
                for (p, want, _) in &diffs {
                    let _ = put_path(&mut next, p, want, &USER_TYPE);
                }
                for p in &cleared {
                    let op = patch_body(vec![json!({"op": "remove", "path": p})]);
                    let _ = crate::scim::patch::apply_patch(&mut next, &op, &USER_TYPE);
                }
                list_extensions(&mut next);
                let b = self.user_fact("user_update", Some("put"));
                let resp = self.put_user(ctx, path, next, b).await;
                exchanges.push(resp.exchange);
                Updated::Sent(resp)
            }
        }
    }

    /// An op name in the wire's casing: `add`, or `Add`.
    pub fn op_name(&self, op: &str) -> String {
        match self.wire.patch.op_case {
            OpCase::Lower => op.to_string(),
            OpCase::Pascal => {
                let mut c = op.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            }
        }
    }

    /// A PATCH value in the wire's shape: booleans as `"True"`/`"False"` when it says so.
    fn patch_value(&self, v: &Value) -> Value {
        match v {
            Value::Bool(b) if self.wire.patch.string_booleans => {
                Value::String(if *b { "True".into() } else { "False".into() })
            }
            v => v.clone(),
        }
    }

    /// The PATCH ops of `diffs` in the wire's dialect: one op per attribute, `add` where the
    /// wire's `patch.add` says, else `replace`; with `patch.pathless` (and `pathless` allowed:
    /// user updates) Entra's `aadOptscim062020` shape (table in
    /// https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility).
    pub fn patch_ops(&self, diffs: &Diffs, pathless: bool) -> Vec<Value> {
        let adds = |path: &str, have: &Option<Value>| {
            have.is_none()
                && match self.wire.patch.add {
                    // A filtered path with nothing to match is an add (RFC 7644 §3.5.2.3).
                    AddWhen::Filtered => path.contains('['),
                    AddWhen::Absent => true,
                }
        };
        let op = |path: &str, want: &Value, have: &Option<Value>| {
            let name = self.op_name(if adds(path, have) { "add" } else { "replace" });
            json!({"op": name, "path": path, "value": self.patch_value(want)})
        };
        if !(pathless && self.wire.patch.pathless) {
            return diffs.iter().map(|(p, w, h)| op(p, w, h)).collect();
        }
        let mut ops = Vec::new();
        let mut rest = Map::new();
        for (path, want, have) in diffs {
            if path.contains('[') {
                ops.push(op(path, want, have));
            } else {
                rest.insert(path.clone(), self.patch_value(want));
            }
        }
        // Disable or re-enable alone is `{"op":"replace","path":"active","value":false}` (C); a
        // single attribute that had no value is `{"op":"add","path":"nickName","value":…}` (C,
        // "Add single-valued string"); with several, the filtered-path ops come first and the
        // rest go in one path-less replace (C), `active` riding in it as captured in
        // https://github.com/AzureAD/SCIMReferenceCode/issues/97.
        let single = (rest.len() == 1)
            .then(|| rest.keys().next().cloned())
            .flatten();
        match single {
            Some(p) if p == "active" => ops.push(
                json!({"op": self.op_name("replace"), "path": "active", "value": rest["active"]}),
            ),
            Some(p) if diffs.iter().any(|(x, _, h)| *x == p && h.is_none()) => {
                ops.push(json!({"op": self.op_name("add"), "path": p, "value": rest[&p]}))
            }
            _ if !rest.is_empty() => {
                ops.push(json!({"op": self.op_name("replace"), "value": Value::Object(rest)}))
            }
            _ => {}
        }
        ops
    }

    // ------------------------------------------------------------------ (de)activate, delete

    /// Deactivates or reactivates a linked user in the wire's shape; the answer that decides
    /// the outcome (the GET's when the read before a PUT failed). `exchanges` gets every
    /// exchange sent.
    pub async fn set_active(
        &self,
        ctx: &mut Ctx<'_>,
        id: &str,
        active: bool,
        exchanges: &mut Vec<u64>,
    ) -> Response {
        let shape = self.wire.deactivate.user;
        let role = if active {
            "user_reactivate"
        } else {
            "user_deactivate"
        };
        let b = self.user_fact(role, Some(shape.key()));
        let path = object_path(ObjectKind::User, id);
        let op = match shape {
            DeactivateShape::Path => json!({"op": "replace", "path": "active", "value": active}),
            DeactivateShape::Pathless => json!({"op": "replace", "value": {"active": active}}),
            DeactivateShape::Put => {
                let mut next = match self.read(ctx, ObjectKind::User, id, exchanges).await {
                    Ok(b) => b,
                    Err(got) => return got,
                };
                next["active"] = json!(active);
                let resp = self.put_user(ctx, path, next, b).await;
                exchanges.push(resp.exchange);
                return resp;
            }
        };
        let resp = self.patch(ctx, ObjectKind::User, id, vec![op], b).await;
        exchanges.push(resp.exchange);
        resp
    }

    /// Deletes a linked object; its link goes when the server says it is gone (a 404 too: a
    /// later return to scope creates it again). Logged as `{user|group}_delete`.
    pub async fn delete(&self, ctx: &mut Ctx<'_>, s: Subject<'_>) {
        let (kind, key) = (s.kind, s.key);
        let Some(id) = ctx.sync().target_id(kind, key).map(str::to_string) else {
            return;
        };
        let role = match kind {
            ObjectKind::User => "user_delete",
            ObjectKind::Group => "group_delete",
        };
        let path = object_path(kind, &id);
        let resp = self
            .send(ctx, Method::DELETE, path, None, self.fact(role, None))
            .await;
        if resp.ok() || resp.status == Some(404) {
            ctx.sync_mut().links_mut(kind).remove(key);
        }
        self.outcome(ctx, s, role, &resp, "deleted", vec![], vec![resp.exchange]);
    }

    // ------------------------------------------------------------------ groups

    /// `[{"value": id}, …]` for the linked users among `keys` (with `display` when the wire
    /// says which source attribute it is).
    pub fn member_values<'a>(
        &self,
        ctx: &Ctx<'_>,
        keys: impl IntoIterator<Item = &'a String>,
    ) -> Vec<Value> {
        keys.into_iter()
            .filter_map(|k| {
                let id = ctx.sync().target_id(ObjectKind::User, k)?.to_string();
                Some(match &self.wire.members.display {
                    Some(attr) => {
                        let display = ctx
                            .dir()
                            .user(k)
                            .and_then(|u| u.attrs.get(attr))
                            .unwrap_or(Value::Null);
                        json!({"value": id, "display": display})
                    }
                    None => json!({"value": id}),
                })
            })
            .collect()
    }

    /// The ops of a membership change, in the wire's shape: removes first, then one add (or
    /// the add first, `members.add_first`).
    pub fn member_ops(&self, ctx: &Ctx<'_>, add: &[&String], remove: &[&String]) -> Vec<Value> {
        let mut ops = Vec::new();
        let remove_op = self.op_name("remove");
        if !remove.is_empty() {
            match self.wire.members.remove {
                MemberRemove::PathList => ops.push(json!({"op": remove_op, "path": "members", "value": self.member_values(ctx, remove.iter().copied())})),
                MemberRemove::FilterPath => {
                    for id in remove
                        .iter()
                        .filter_map(|k| ctx.sync().target_id(ObjectKind::User, k).map(str::to_string))
                    {
                        ops.push(json!({"op": remove_op, "path": format!("members[value eq \"{id}\"]")}));
                    }
                }
            }
        }
        if !add.is_empty() {
            let mut values = self.member_values(ctx, add.iter().copied());
            if self.wire.members.ref_null {
                for v in &mut values {
                    let mut m = Map::new();
                    m.insert("$ref".into(), Value::Null);
                    m.extend(v.as_object().cloned().unwrap_or_default());
                    *v = Value::Object(m);
                }
            }
            let op = json!({"op": self.op_name("add"), "path": "members", "value": values});
            if self.wire.members.add_first {
                ops.insert(0, op);
            } else {
                ops.push(op);
            }
        }
        ops
    }

    /// The behaviour of a membership PATCH: the wire's `group_update:add`, `:remove` or
    /// `:remove_filter` (by what it carries and the wire's remove shape) where it names one,
    /// else `group_update:patch`.
    pub fn member_fact(&self, removes: bool) -> Behaviour {
        let v = match (removes, self.wire.members.remove) {
            (false, _) => "add",
            (true, MemberRemove::PathList) => "remove",
            (true, MemberRemove::FilterPath) => "remove_filter",
        };
        let v = if self.wire.has_behaviour("group_update", v) {
            v
        } else {
            "patch"
        };
        self.fact("group_update", Some(v))
    }

    /// PATCHes a linked group with `ops`.
    pub async fn patch_group(&self, ctx: &mut Ctx<'_>, id: &str, ops: Vec<Value>) -> Response {
        let b = self.fact("group_update", Some("patch"));
        self.patch(ctx, ObjectKind::Group, id, ops, b).await
    }

    /// A membership change as the wire sends it: GET then PUT of the whole group with the
    /// members `all` (`members.update: put`), or a PATCH of `ops`, cited by what they carry
    /// ([`Self::member_fact`]). `exchanges` gets every exchange.
    pub async fn update_members(
        &self,
        ctx: &mut Ctx<'_>,
        id: &str,
        name: &str,
        all: &BTreeSet<String>,
        ops: Vec<Value>,
        exchanges: &mut Vec<u64>,
    ) -> Response {
        if self.wire.members.update == UpdateVerb::Put {
            let values = self.member_values(ctx, all);
            return self.put_group(ctx, id, name, values, exchanges).await;
        }
        let removes = ops.iter().any(|o| {
            o["op"]
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case("remove"))
        });
        let b = self.member_fact(removes);
        let resp = self.patch(ctx, ObjectKind::Group, id, ops, b).await;
        exchanges.push(resp.exchange);
        resp
    }

    /// GET, then PUT of the whole group: `schemas`, `id`, `displayName` and the complete
    /// `members`. The GET's answer when it failed.
    pub async fn put_group(
        &self,
        ctx: &mut Ctx<'_>,
        id: &str,
        name: &str,
        members: Vec<Value>,
        exchanges: &mut Vec<u64>,
    ) -> Response {
        if let Err(got) = self.read(ctx, ObjectKind::Group, id, exchanges).await {
            return got;
        }
        let path = object_path(ObjectKind::Group, id);
        let body =
            json!({"schemas": [GROUP_URN], "id": id, "displayName": name, "members": members});
        let b = self.fact("group_update", Some("put"));
        let resp = self.send(ctx, Method::PUT, path, Some(body), b).await;
        exchanges.push(resp.exchange);
        resp
    }

    /// GET of a linked object before a PUT: its body, or the answer when it failed (or came
    /// without a body). `exchanges` gets the exchange.
    pub async fn read(
        &self,
        ctx: &mut Ctx<'_>,
        kind: ObjectKind,
        id: &str,
        exchanges: &mut Vec<u64>,
    ) -> Result<Value, Response> {
        let (role, query) = match kind {
            ObjectKind::User => ("user_get", ""),
            ObjectKind::Group => ("group_get", self.wire.lookup.group_get.as_str()),
        };
        let mut path = object_path(kind, id);
        if !query.is_empty() {
            path = format!("{path}?{query}");
        }
        let got = self
            .send(ctx, Method::GET, path, None, self.fact(role, None))
            .await;
        exchanges.push(got.exchange);
        match got.body.clone() {
            Some(b) if got.ok() => Ok(b),
            _ => Err(got),
        }
    }

    /// Logs a group update (`group_update`) and, when it succeeded, records `members` as the
    /// members sent; `true` when it succeeded.
    #[allow(clippy::too_many_arguments)]
    pub fn group_updated(
        &self,
        ctx: &mut Ctx<'_>,
        s: Subject<'_>,
        resp: &Response,
        what: &str,
        modified: Vec<String>,
        exchanges: Vec<u64>,
        members: BTreeSet<String>,
    ) -> bool {
        let key = s.key;
        let ok = self.outcome(ctx, s, "group_update", resp, what, modified, exchanges);
        if ok {
            if let Some(l) = ctx.sync_mut().groups.get_mut(key) {
                l.members_sent = members;
            }
        }
        ok
    }

    /// The rename op in the wire's shape (`None` for [`Rename::PathOp`]: the name travels as
    /// a `displayName` diff).
    pub fn rename_op(&self, id: &str, name: &str) -> Option<Value> {
        match self.wire.members.rename {
            Rename::PathOp => None,
            Rename::WithMembers | Rename::Separate => {
                Some(json!({"op": "replace", "value": {"id": id, "displayName": name}}))
            }
        }
    }
}

/// What the IdP believes the linked group `key` holds: the members it last sent, less the users
/// the run no longer links (a user deleted in the app left its groups with it).
pub fn members_held(ctx: &Ctx<'_>, key: &str) -> BTreeSet<String> {
    ctx.sync().groups.get(key).map_or_else(BTreeSet::new, |l| {
        l.members_sent
            .iter()
            .filter(|m| ctx.sync().users.contains_key(*m))
            .cloned()
            .collect()
    })
}

/// Puts `schemas` first, naming the core schema, every extension the body carries (when
/// `extensions`) and `always`.
pub fn set_schemas(body: &mut Map<String, Value>, core: &str, always: &[String], extensions: bool) {
    let mut schemas = vec![json!(core)];
    for k in body
        .keys()
        .filter(|k| extensions && k.starts_with("urn:"))
        .chain(always.iter())
    {
        if !schemas.iter().any(|s| s.as_str() == Some(k.as_str())) {
            schemas.push(json!(k));
        }
    }
    let mut out = Map::new();
    out.insert("schemas".into(), Value::Array(schemas));
    out.extend(
        std::mem::take(body)
            .into_iter()
            .filter(|(k, _)| k != "schemas"),
    );
    *body = out;
}

/// Lists in `schemas` every extension object the resource carries (Okta does so when a
/// mapped enterprise attribute is set, S16, S17).
pub fn list_extensions(resource: &mut Value) {
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

/// Whether `diffs` set `active` false: the update disables the user.
pub fn disables(diffs: &Diffs) -> bool {
    diffs
        .iter()
        .any(|(p, w, _)| p == "active" && w == &Value::Bool(false))
}

/// `active` is false, as a boolean or the string `"False"` (Entra's default dialect).
pub fn is_inactive(resource: &Value) -> bool {
    resource.get("active").is_some_and(|a| {
        a == &Value::Bool(false) || a.as_str().is_some_and(|s| s.eq_ignore_ascii_case("false"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idp::wire;

    fn answered(status: Option<u16>, error: Option<TransportError>) -> Response {
        Response {
            exchange: 1,
            status,
            body: None,
            text: None,
            retry_after: None,
            error,
            headers: Vec::new(),
        }
    }

    /// Entra's provisioning-log codes come from its wire's `log.codes` (by event, then
    /// status); a wire without codes logs `HTTP {status}` (Duo).
    #[test]
    fn error_codes_follow_the_wire() {
        let m = Mapping::load("entra-default").unwrap();
        let e = Engine::new(wire::entra(), &m);
        let code = |s: Option<u16>, event: &str| e.code(&answered(s, None), event);
        assert_eq!(code(Some(404), "user_create"), "EntryConflict");
        assert_eq!(code(Some(404), "user_update"), "InvalidAnchor");
        assert_eq!(
            code(Some(404), "lookup"),
            "SystemForCrossDomainIdentityManagementServiceIncompatible"
        );
        assert_eq!(code(Some(409), "user_create"), "EntryConflict");
        assert_eq!(code(Some(503), "group_update"), "InternalServerError");
        assert_eq!(
            code(Some(400), "user_update"),
            "SystemForCrossDomainIdentityManagementBadRequest"
        );
        assert_eq!(code(None, "user_update"), "Unknown");
        let timeout = answered(None, Some(TransportError::Timeout(false)));
        assert_eq!(e.code(&timeout, "group_update"), "Timeout");
        assert_eq!(
            e.code(&Response::refused("x".into()), "user_update"),
            "SystemForCrossDomainIdentityManagementServiceUnavailable"
        );
        let d = Engine::new(wire::duo(), &m);
        assert_eq!(
            d.code(&answered(Some(404), None), "user_create"),
            "HTTP 404"
        );
        assert_eq!(d.code(&timeout, "user_update"), "NoAnswer");
    }

    /// The default dialect of the compatibility page's left column: PascalCase, `Add` for an
    /// attribute that had no value, booleans as strings; RFC 7644 wires: lowercase, `add` only
    /// for a filtered path with nothing to match.
    #[test]
    fn patch_ops_follow_the_dialect() {
        let m = Mapping::load("entra-default").unwrap();
        let diffs: Diffs = vec![
            ("active".into(), json!(false), Some(json!(true))),
            ("nickName".into(), json!("Babs"), None),
            (
                "emails[type eq \"work\"].value".into(),
                json!("b@x.org"),
                None,
            ),
        ];
        let entra = Engine::new(wire::entra(), &m).patch_ops(&diffs, true);
        assert_eq!(
            entra,
            vec![
                json!({"op": "Replace", "path": "active", "value": "False"}),
                json!({"op": "Add", "path": "nickName", "value": "Babs"}),
                json!({"op": "Add", "path": "emails[type eq \"work\"].value", "value": "b@x.org"}),
            ]
        );
        let duo = Engine::new(wire::duo(), &m).patch_ops(&diffs, true);
        assert_eq!(
            duo,
            vec![
                json!({"op": "replace", "path": "active", "value": false}),
                json!({"op": "replace", "path": "nickName", "value": "Babs"}),
                json!({"op": "add", "path": "emails[type eq \"work\"].value", "value": "b@x.org"}),
            ]
        );
    }

    /// Entra's group POST (T): the core and ADSCIM URNs, `externalId` first, `meta`, and no
    /// `members` at all; Duo's carries the members (or `members: []`).
    #[test]
    fn group_create_bodies_follow_the_wire() {
        let m = Mapping::load("entra-default").unwrap();
        let desired = json!({"displayName": "IT-Admins", "externalId": "g-1"});
        let body = Engine::new(wire::entra(), &m).group_create_body(&desired, &[]);
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            json!({"schemas": [GROUP_URN, crate::scim::schema::ADSCIM_GROUP_URN],
                   "externalId": "g-1", "displayName": "IT-Admins",
                   "meta": {"resourceType": "Group"}})
            .to_string()
        );
        let body = Engine::new(wire::duo(), &m).group_create_body(&desired, &[]);
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            json!({"schemas": [GROUP_URN], "displayName": "IT-Admins", "externalId": "g-1",
                   "members": []})
            .to_string()
        );
    }
}
