//! Attribute-mapping certification (`scimulator certify`): for each mapped attribute, does it
//! survive create, read-back, the IdP's own update shape, a filter on the matching attribute and
//! a clear? One matrix per IdP, one row per attribute, written to the terminal and to
//! `certification.json`. A row of that file:
//!
//! ```json
//! {"resource":"User","attribute":"urn:ietf:params:scim:schemas:extension:ciscoumbrella:2.0:User:nativeObjectId",
//!  "matching":false,"inferred":false,"create":{"result":"pass"},"read":{"result":"pass"},
//!  "update":{"result":"FAIL","reason":"PATCH answered 204, but read back absent (sent \"nativeObjectId-c1a2b-8-2\")"},
//!  "filter":{"result":"pass"},"clear":{"result":"n/a","reason":"Entra never clears ..."}}
//! ```
//!
//! Every object it creates is run-scoped (`cert-<run id>-…`) and deleted at the end.

use crate::client::Method;
use crate::client::{form_encode, percent_encode, Client, Request, Response};
use crate::idp::mapping::{Entry, Mapping};
use crate::idp::registry;
use crate::idp::wire::{FilterEncoding, Wire};
use crate::idp::{list_resources, patch_body};
use crate::report::model::{Exchange, TargetInfo};
use crate::scim::id::object_path;
use crate::scim::kind::ObjectKind;
use crate::scim::patch::{apply_patch, get_path, put_path};
use crate::scim::schema::{
    is_urn, ResourceTypeDef, ADSCIM_GROUP_URN, ENTERPRISE_URN, GROUP_TYPE, GROUP_URN, USER_URN,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// Version of the `certification.json` format.
pub const FORMAT_VERSION: u32 = 1;

const ENTRA_KNOWN_ISSUES: &str =
    "https://learn.microsoft.com/en-us/entra/identity/app-provisioning/known-issues";

/// The request shapes certify writes in: each IdP's create body, update and clear. Which IdP
/// uses which, and under what names, is in [`crate::idp::registry`] (its `certify` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Entra ID, default dialect: PATCH with one PascalCase `Replace` per attribute,
    /// booleans as `"True"`/`"False"`.
    Entra,
    /// Okta (OIN and AIW apps alike): GET then PUT of the edited resource.
    Okta,
    /// Duo: PATCH `replace` per attribute.
    Duo,
    // branch onelogin: shapes from the bundled wire (src/idp/wires/).
    /// OneLogin: GET then full `PUT /Users/{id}?`, `+`-encoded lookups.
    OneLogin,
    /// JumpCloud: PATCH `replace` per attribute [inferred].
    JumpCloud,
    /// PingFederate (branch ping): GET then PUT, never a user PATCH; its shapes and headers
    /// are its bundled wire's.
    PingFederate,
}

/// The IdP whose request shapes a matrix uses: a registry name (`entra`, `okta-aiw`), its
/// shapes, and its bundled wire for headers and filter encoding.
#[derive(Debug, Clone, Copy)]
pub struct Idp {
    name: &'static str,
    label: &'static str,
    shape: Shape,
    wire: fn() -> &'static Wire,
}

impl PartialEq for Idp {
    fn eq(&self, other: &Idp) -> bool {
        self.name == other.name
    }
}

impl Idp {
    /// Every name `certify --idp` takes, in the registry's order.
    pub fn names() -> String {
        registry::IDPS
            .iter()
            .flat_map(|i| i.certify.iter().map(|c| c.name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn parse(s: &str) -> Option<Idp> {
        let s = s.to_ascii_lowercase();
        registry::IDPS.iter().find_map(|i| {
            let c = i.certify.iter().find(|c| c.name == s)?;
            Some(Idp {
                name: c.name,
                label: c.label,
                shape: c.shape,
                wire: i.wire?,
            })
        })
    }

    pub fn name(self) -> &'static str {
        self.name
    }

    pub fn label(self) -> &'static str {
        self.label
    }

    /// The bundled wire of an IdP on the engine whose lookups and PUT suffix certify takes from
    /// it (OneLogin's `+`-encoded `filter=…&`, its `PUT /Users/{id}?`).
    fn engine_wire(self) -> Option<&'static Wire> {
        matches!(self.shape, Shape::OneLogin | Shape::JumpCloud).then(|| (self.wire)())
    }

    /// The verb of its attribute update of `kind`.
    fn update_verb(self, kind: ObjectKind) -> &'static str {
        match self.engine_wire().map(|w| w.update.user) {
            Some(_) if kind == ObjectKind::Group => "PATCH",
            Some(crate::idp::wire::UpdateVerb::Put) => "PUT",
            Some(crate::idp::wire::UpdateVerb::Patch) => "PATCH",
            // PingFederate: GET then PUT of the whole resource, never a user PATCH.
            None if matches!(self.shape, Shape::Okta | Shape::PingFederate) => "PUT",
            None => "PATCH",
        }
    }

    /// A request with this IdP's headers, as its wire lists them (Entra's GETs carry no media
    /// type, https://github.com/MicrosoftDocs/azure-docs/issues/12728).
    fn request(self, method: Method, path: String, body: Option<Value>) -> Request {
        let mut r = Request::new(method, path);
        for (k, v) in (self.wire)().headers(body.is_some()) {
            r = r.header(k, v);
        }
        if let Some(b) = body {
            r = r.json(b);
        }
        r
    }

    /// The lookup of `filter` on `kind`'s endpoint: the wire's query (OneLogin's trailing `&`),
    /// else `?filter=…`.
    fn lookup(self, kind: ObjectKind, filter: &str) -> String {
        let encoded = self.encode(filter);
        let query = match (self.engine_wire(), kind) {
            (Some(w), ObjectKind::User) => w.lookup.users.replace("{filter}", &encoded),
            (Some(w), ObjectKind::Group) => w.lookup.groups.replace("{filter}", &encoded),
            (None, _) => format!("filter={encoded}"),
        };
        format!("{}?{query}", kind.endpoint())
    }

    /// A filter encoded as the IdP's wire encodes its lookups.
    fn encode(self, s: &str) -> String {
        match (self.wire)().lookup.encoding {
            FilterEncoding::Plus => form_encode(s),
            FilterEncoding::Percent => percent_encode(s),
        }
    }
}

/// `certification.json`: every matrix of one `scimulator certify`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Certification {
    pub format_version: u32,
    /// `scimulator <version>`.
    pub tool: String,
    /// The id scoping every name this run created.
    pub run_id: String,
    /// The mapping's name.
    pub mapping: String,
    /// Where the mapping comes from (a URL).
    pub mapping_source: String,
    pub target: TargetInfo,
    /// One per IdP.
    pub matrices: Vec<Matrix>,
    /// Limits the mapping declares, when `--check-limits` was given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<LimitCheck>,
    pub summary: CertSummary,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct CertSummary {
    pub cells: usize,
    pub passed: usize,
    pub failed: usize,
    pub not_applicable: usize,
}

/// Attribute × operation for one IdP.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Matrix {
    /// `entra`, `okta`, `okta-aiw`, `duo`.
    pub idp: String,
    /// `Entra ID (default dialect)`, ...
    pub label: String,
    pub rows: Vec<Row>,
    /// Objects the run could not delete (`DELETE /Users/{id}: HTTP 500`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cleanup_failures: Vec<String>,
    /// Every request and response, secrets redacted.
    pub exchanges: Vec<Exchange>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Row {
    /// `User` or `Group`.
    pub resource: String,
    /// The SCIM target path of the mapping entry.
    pub attribute: String,
    /// A matching attribute of the mapping.
    pub matching: bool,
    /// The mapping entry is the simulator's assumption.
    pub inferred: bool,
    pub create: Cell,
    pub read: Cell,
    pub update: Cell,
    pub filter: Cell,
    pub clear: Cell,
}

impl Row {
    pub fn cells(&self) -> [(&'static str, &Cell); 5] {
        [
            ("create", &self.create),
            ("read", &self.read),
            ("update", &self.update),
            ("filter", &self.filter),
            ("clear", &self.clear),
        ]
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Cell {
    pub result: CellResult,
    /// Why it failed or does not apply; for a pass, what it rests on when inferred.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Cell {
    fn pass() -> Cell {
        Cell {
            result: CellResult::Pass,
            reason: None,
        }
    }
    fn pass_because(r: impl Into<String>) -> Cell {
        Cell {
            result: CellResult::Pass,
            reason: Some(r.into()),
        }
    }
    fn fail(r: impl Into<String>) -> Cell {
        Cell {
            result: CellResult::Fail,
            reason: Some(r.into()),
        }
    }
    fn na(r: impl Into<String>) -> Cell {
        Cell {
            result: CellResult::NotApplicable,
            reason: Some(r.into()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum CellResult {
    #[serde(rename = "pass")]
    Pass,
    #[serde(rename = "FAIL")]
    Fail,
    #[serde(rename = "n/a")]
    NotApplicable,
}

impl CellResult {
    pub fn label(self) -> &'static str {
        match self {
            CellResult::Pass => "pass",
            CellResult::Fail => "FAIL",
            CellResult::NotApplicable => "n/a",
        }
    }
}

/// A limit the mapping declares, probed with `--check-limits`. Informational: the IdP app
/// enforces the limit; a server that accepts more is not wrong.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LimitCheck {
    pub idp: String,
    /// `groups`.
    pub limit: String,
    pub value: usize,
    /// Objects created: the limit plus one.
    pub attempted: usize,
    pub accepted: usize,
    pub note: String,
}

impl Certification {
    pub fn summarise(&mut self) {
        let mut s = CertSummary::default();
        for c in self
            .matrices
            .iter()
            .flat_map(|m| &m.rows)
            .flat_map(|r| r.cells().map(|(_, c)| c.result))
        {
            s.cells += 1;
            match c {
                CellResult::Pass => s.passed += 1,
                CellResult::Fail => s.failed += 1,
                CellResult::NotApplicable => s.not_applicable += 1,
            }
        }
        self.summary = s;
    }
}

/// Values equal as a SCIM server would hold them: a boolean sent as `"True"` reads back `true`.
fn same(want: &Value, have: Option<&Value>) -> bool {
    match (want, have) {
        (Value::Bool(b), Some(Value::String(s))) => {
            s.eq_ignore_ascii_case(if *b { "true" } else { "false" })
        }
        (Value::String(w), Some(Value::Bool(b))) => {
            w.eq_ignore_ascii_case(if *b { "true" } else { "false" })
        }
        (w, Some(h)) => w == h,
        _ => false,
    }
}

fn show(v: Option<&Value>) -> String {
    v.map_or_else(|| "absent".into(), Value::to_string)
}

/// A value for `e`, distinct per row (`n`) and version (`v`: 1 created, 2 updated).
fn sample(e: &Entry, tag: &str, n: usize, v: u8) -> Value {
    let t = e.target.to_ascii_lowercase();
    let leaf = e
        .target
        .rsplit(['.', ':'])
        .next()
        .unwrap_or(&e.target)
        .to_string();
    let low = leaf.to_ascii_lowercase();
    if t == "active" {
        return Value::Bool(v == 1);
    }
    let s = if low == "username" || t.starts_with("emails") {
        format!("cert-{tag}-{n}-{v}@example.com")
    } else if low == "locale" || low == "preferredlanguage" {
        ["en-US", "fr-FR"][(v as usize - 1) % 2].to_string()
    } else if t.starts_with("phonenumbers") {
        format!("+1 555 01{:02}{v}", n % 100)
    } else if low == "country" {
        ["US", "DE"][(v as usize - 1) % 2].to_string()
    } else if low == "displayname" && e.matching.is_some() {
        format!("cert-{tag}-{n}-{v}")
    } else {
        format!("{leaf}-{tag}-{n}-{v}")
    };
    Value::String(s)
}

/// `attr eq "v"`; for a filtered path (`emails[type eq "work"].value`) the value filter form
/// `emails[type eq "work" and value eq "v"]` (RFC 7644 §3.4.2.2).
fn filter_for(path: &str, value: &str) -> String {
    let quoted = serde_json::to_string(value).unwrap_or_default();
    if let (Some(open), Some(close)) = (path.find('['), path.rfind(']')) {
        let attr = &path[..open];
        let inner = &path[open + 1..close];
        let sub = path[close + 1..].trim_start_matches('.');
        let sub = if sub.is_empty() { "value" } else { sub };
        return format!("{attr}[{inner} and {sub} eq {quoted}]");
    }
    format!("{path} eq {quoted}")
}

/// Writes `e` with `value` (and its `extra` siblings) into `view`.
fn write_entry(view: &mut Value, e: &Entry, value: &Value, rt: &ResourceTypeDef) {
    let _ = put_path(view, &e.target, value, rt);
    if let Some((base, _)) = e.target.rsplit_once('.') {
        for (k, x) in &e.extra {
            let _ = put_path(view, &format!("{base}.{k}"), x, rt);
        }
    }
}

/// Lists every extension object of `resource` in its `schemas` (Okta's PUT) and drops empty
/// ones.
fn tidy_extensions(resource: &mut Value) {
    let Some(m) = resource.as_object_mut() else {
        return;
    };
    m.retain(|k, v| !(is_urn(k) && v.as_object().is_some_and(Map::is_empty)));
    let urns: Vec<String> = m
        .iter()
        .filter(|(k, v)| is_urn(k) && v.is_object())
        .map(|(k, _)| k.clone())
        .collect();
    if let Some(Value::Array(list)) = m.get_mut("schemas") {
        for u in urns {
            if !list.iter().any(|x| x.as_str() == Some(u.as_str())) {
                list.push(Value::String(u));
            }
        }
    }
}

fn id_of(resp: &Response) -> Option<String> {
    resp.body
        .as_ref()
        .and_then(|b| b.get("id"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Runs the certification of one IdP's shapes against a target.
pub struct Certifier<'a> {
    pub client: &'a mut Client,
    pub idp: Idp,
    /// Run id: every name created carries it.
    pub tag: String,
    counter: usize,
    /// Ids from the run's own POSTs: the only objects it writes to or deletes.
    created: Vec<(ObjectKind, String)>,
    /// Created objects whose server-chosen id is path syntax: never addressed, reported.
    unsafe_left: Vec<String>,
}

impl<'a> Certifier<'a> {
    pub fn new(client: &'a mut Client, idp: Idp, tag: &str) -> Self {
        Certifier {
            client,
            idp,
            tag: tag.to_string(),
            counter: 0,
            created: Vec::new(),
            unsafe_left: Vec::new(),
        }
    }

    /// The whole matrix for `mapping`, then the limits (with `check_limits`), then cleanup.
    pub async fn run(mut self, mapping: &Mapping, check_limits: bool) -> (Matrix, Vec<LimitCheck>) {
        let mut rows = Vec::new();
        for (kind, entries) in [
            (ObjectKind::User, &mapping.users),
            (ObjectKind::Group, &mapping.groups),
        ] {
            let mut matching: Vec<&Entry> =
                entries.iter().filter(|e| e.matching.is_some()).collect();
            matching.sort_by_key(|e| e.matching);
            let Some(m) = matching.first().copied() else {
                continue;
            };
            for e in entries.iter().filter(|e| e.reference.is_none()) {
                rows.push(self.row(kind, e, m, entries).await);
            }
        }
        let mut limits = Vec::new();
        if check_limits {
            if let Some(n) = mapping.limits.groups {
                let m = mapping
                    .groups
                    .iter()
                    .filter(|e| e.matching.is_some())
                    .min_by_key(|e| e.matching);
                limits.push(self.group_limit(n, m).await);
            }
        }
        // Clean-up: only ids from the run's own POSTs, groups last-created first; each deleted
        // object is read back, since RFC 7644 §3.6 says a deleted resource "MUST return a 404
        // (Not Found) error code for all operations" (a soft delete leaves residue).
        let mut cleanup_failures = std::mem::take(&mut self.unsafe_left);
        let mut deleted = Vec::new();
        for (kind, id) in std::mem::take(&mut self.created).into_iter().rev() {
            let path = object_path(kind.endpoint(), &id);
            let resp = self
                .client
                .send(self.idp.request(Method::DELETE, path.clone(), None))
                .await;
            if !resp.ok() && resp.status != Some(404) {
                cleanup_failures.push(format!("DELETE {path}: {}", resp.describe()));
            } else {
                deleted.push(path);
            }
        }
        for path in deleted {
            let resp = self
                .client
                .send(self.idp.request(Method::GET, path.clone(), None))
                .await;
            if resp.ok() {
                cleanup_failures.push(format!(
                    "GET {path} after its DELETE answered {} (RFC 7644 §3.6: a deleted resource \
                     MUST answer 404): still on the server",
                    resp.status.unwrap_or(0)
                ));
            }
        }
        let matrix = Matrix {
            idp: self.idp.name().into(),
            label: self.idp.label().into(),
            rows,
            cleanup_failures,
            exchanges: self.client.take_exchanges(),
        };
        (matrix, limits)
    }

    /// The IdP's create shape around `view`.
    fn create_body(&self, kind: ObjectKind, view: &Value) -> Value {
        let mut body = Map::new();
        let fields = view.as_object().cloned().unwrap_or_default();
        match (self.idp.shape, kind) {
            // The create body Entra sends (schemas, the mapped attributes, meta, roles: []);
            // custom extension URNs are not listed in `schemas`
            // (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/customize-application-attributes).
            (Shape::Entra, ObjectKind::User) => {
                let mut schemas = vec![json!(USER_URN)];
                if fields.contains_key(ENTERPRISE_URN) {
                    schemas.push(json!(ENTERPRISE_URN));
                }
                body.insert("schemas".into(), Value::Array(schemas));
                body.extend(fields);
                body.insert("meta".into(), json!({"resourceType": "User"}));
                body.insert("roles".into(), json!([]));
            }
            (Shape::Entra, ObjectKind::Group) => {
                body.insert("schemas".into(), json!([GROUP_URN, ADSCIM_GROUP_URN]));
                if let Some(x) = fields.get("externalId") {
                    body.insert("externalId".into(), x.clone());
                }
                body.extend(fields.into_iter().filter(|(k, _)| k != "externalId"));
                body.insert("meta".into(), json!({"resourceType": "Group"}));
            }
            // Okta's create POST: attributes, groups: [], a throwaway password, active: true.
            (Shape::Okta, ObjectKind::User) => {
                let mut schemas = vec![json!(USER_URN)];
                if fields.contains_key(ENTERPRISE_URN) {
                    schemas.push(json!(ENTERPRISE_URN));
                }
                body.insert("schemas".into(), Value::Array(schemas));
                body.extend(fields.into_iter().filter(|(k, _)| k != "active"));
                body.insert("groups".into(), json!([]));
                body.insert(
                    "password".into(),
                    json!(uuid::Uuid::new_v4().simple().to_string()[..8].to_string()),
                );
                body.insert("active".into(), json!(true));
            }
            (Shape::Okta, ObjectKind::Group) => {
                body.insert("schemas".into(), json!([GROUP_URN]));
                body.extend(fields);
                body.insert("members".into(), json!([]));
            }
            // Duo lists every extension present in `schemas`; so do OneLogin and JumpCloud, and
            // PingFederate's create [inferred: its POST body is not published beyond the mapped
            // attributes].
            (Shape::Duo | Shape::OneLogin | Shape::JumpCloud | Shape::PingFederate, _) => {
                let core = if kind == ObjectKind::User {
                    USER_URN
                } else {
                    GROUP_URN
                };
                let mut schemas = vec![json!(core)];
                schemas.extend(fields.keys().filter(|k| is_urn(k)).map(|k| json!(k)));
                body.insert("schemas".into(), Value::Array(schemas));
                body.extend(fields);
                if kind == ObjectKind::Group {
                    body.insert("members".into(), json!([]));
                }
            }
        }
        Value::Object(body)
    }

    async fn get(&mut self, kind: ObjectKind, id: &str) -> Response {
        let req = self
            .idp
            .request(Method::GET, object_path(kind.endpoint(), id), None);
        self.client.send(req).await
    }

    /// Reads the object back and compares the value at `path` with `want` (`None`: absent).
    async fn read_back(
        &mut self,
        kind: ObjectKind,
        id: &str,
        path: &str,
        want: Option<&Value>,
    ) -> Result<Value, String> {
        let resp = self.get(kind, id).await;
        let body = match (&resp.body, resp.ok()) {
            (Some(b), true) => b.clone(),
            _ => {
                return Err(format!(
                    "GET {}/{{id}}: {}",
                    kind.endpoint(),
                    resp.describe()
                ))
            }
        };
        let have = get_path(&body, path, kind.rt());
        match want {
            Some(w) if !same(w, have.as_ref()) => {
                Err(format!("read back {}, expected {w}", show(have.as_ref())))
            }
            None if have.is_some() => Err(format!(
                "read back {}, expected absent",
                show(have.as_ref())
            )),
            _ => Ok(body),
        }
    }

    /// GET then PUT of the edited resource (Okta).
    async fn get_put(
        &mut self,
        kind: ObjectKind,
        id: &str,
        edit: impl FnOnce(&mut Value),
    ) -> Result<Response, String> {
        let got = self.get(kind, id).await;
        let mut next = match (&got.body, got.ok()) {
            (Some(b), true) => b.clone(),
            _ => return Err(format!("GET before PUT: {}", got.describe())),
        };
        edit(&mut next);
        tidy_extensions(&mut next);
        // OneLogin's `PUT /Users/{id}?` (the wire's `update.put_suffix`).
        let suffix = match (self.idp.engine_wire(), kind) {
            (Some(w), ObjectKind::User) => w.update.put_suffix.as_str(),
            _ => "",
        };
        let path = format!("{}{suffix}", object_path(kind.endpoint(), id));
        let req = self.idp.request(Method::PUT, path, Some(next));
        Ok(self.client.send(req).await)
    }

    /// The IdP's update shape setting `e` to `value`.
    async fn update(
        &mut self,
        kind: ObjectKind,
        id: &str,
        e: &Entry,
        value: &Value,
    ) -> Result<Response, String> {
        let path = object_path(kind.endpoint(), id);
        let body = match self.idp.shape {
            // One `Replace` per attribute, booleans as "True"/"False" (default dialect,
            // https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility).
            Shape::Entra => {
                let v = match value {
                    Value::Bool(b) => json!(if *b { "True" } else { "False" }),
                    v => v.clone(),
                };
                patch_body(vec![json!({"op": "Replace", "path": e.target, "value": v})])
            }
            // OneLogin's groups change by Patch Group (https://developers.onelogin.com/scim/implement-scim-api).
            Shape::OneLogin if kind == ObjectKind::Group => patch_body(vec![
                json!({"op": "replace", "path": e.target, "value": value}),
            ]),
            Shape::Duo | Shape::JumpCloud => patch_body(vec![
                json!({"op": "replace", "path": e.target, "value": value}),
            ]),
            Shape::Okta | Shape::OneLogin | Shape::PingFederate => {
                let rt = kind.rt();
                return self
                    .get_put(kind, id, |next| write_entry(next, e, value, rt))
                    .await;
            }
        };
        let req = self.idp.request(Method::PATCH, path, Some(body));
        Ok(self.client.send(req).await)
    }

    /// One row: the object is created in the IdP's real create shape, carrying every mapped
    /// attribute (a server may require some jointly, `name.givenName` with `name.familyName`,
    /// and the IdP always sends them together); only `e` is then varied.
    async fn row(&mut self, kind: ObjectKind, e: &Entry, m: &Entry, entries: &[Entry]) -> Row {
        self.counter += 1;
        let n = self.counter;
        let rt = kind.rt();
        let is_matching = std::ptr::eq(e, m) || e.target == m.target;
        let match_v1 = sample(m, &self.tag, n, 1);
        let (v1, v2) = if is_matching {
            (match_v1.clone(), sample(m, &self.tag, n, 2))
        } else {
            (sample(e, &self.tag, n, 1), sample(e, &self.tag, n, 2))
        };
        let mut row = Row {
            resource: kind.name().into(),
            attribute: e.target.clone(),
            matching: e.matching.is_some(),
            inferred: e.inferred,
            create: Cell::pass(),
            read: Cell::pass(),
            update: Cell::pass(),
            filter: Cell::pass(),
            clear: Cell::pass(),
        };
        let mut view = json!({});
        for other in entries.iter().filter(|f| f.reference.is_none()) {
            let value = if other.target == m.target {
                match_v1.clone()
            } else if other.target == e.target {
                v1.clone()
            } else {
                sample(other, &self.tag, n, 1)
            };
            write_entry(&mut view, other, &value, rt);
        }
        let body = self.create_body(kind, &view);
        let req = self
            .idp
            .request(Method::POST, kind.endpoint().into(), Some(body));
        let resp = self.client.send(req).await;
        let Some(id) = id_of(&resp).filter(|_| resp.ok()) else {
            let why = if resp.ok() {
                "answered without an id".to_string()
            } else {
                resp.describe()
            };
            row.create = Cell::fail(format!("POST {}: {why}", kind.endpoint()));
            for c in [
                &mut row.read,
                &mut row.update,
                &mut row.filter,
                &mut row.clear,
            ] {
                *c = Cell::na("not created");
            }
            return row;
        };
        if let Some(why) = crate::scim::id::problem(&id) {
            // Never put in a path: the request would leave the resource (and carry the token).
            row.create = Cell::fail(format!(
                "POST {} answered the id {id:?}, and {why}: it is never used in a path",
                kind.endpoint()
            ));
            for c in [
                &mut row.read,
                &mut row.update,
                &mut row.filter,
                &mut row.clear,
            ] {
                *c = Cell::na("the server-chosen id is path syntax");
            }
            self.unsafe_left
                .push(format!("{} {id:?} left on the server: {why}", kind.name()));
            return row;
        }
        self.created.push((kind, id.clone()));

        // Read back.
        if let Err(why) = self.read_back(kind, &id, &e.target, Some(&v1)).await {
            row.read = Cell::fail(why);
        }

        // Update with the IdP's shape, then read back.
        let verb = self.idp.update_verb(kind);
        let mut current_match = match_v1.clone();
        match self.update(kind, &id, e, &v2).await {
            Err(why) => row.update = Cell::fail(why),
            Ok(resp) if !resp.ok() => {
                row.update = Cell::fail(format!("{verb}: {}", resp.describe()))
            }
            Ok(resp) => match self.read_back(kind, &id, &e.target, Some(&v2)).await {
                Err(why) => {
                    let status = resp.status.map_or("?".into(), |s| s.to_string());
                    row.update = Cell::fail(format!("{verb} answered {status}, but {why}"));
                }
                Ok(_) if is_matching => current_match = v2.clone(),
                Ok(_) => {}
            },
        }

        // Filter on the matching attribute (PingOne's capitalised operator for Ping's user
        // lookup, https://docs.pingidentity.com/pingone/integrations/p1_scim_filter_expressions.html).
        let wanted = current_match.as_str().unwrap_or_default().to_string();
        let mut filter = filter_for(&m.target, &wanted);
        if self.idp.shape == Shape::PingFederate {
            filter = filter.replacen(" eq ", " Eq ", 1);
        }
        let req = self
            .idp
            .request(Method::GET, self.idp.lookup(kind, &filter), None);
        let resp = self.client.send(req).await;
        row.filter = match list_resources(&resp).filter(|_| resp.ok()) {
            None => Cell::fail(format!("GET ?filter={filter}: {}", resp.describe())),
            Some(found) => {
                let ids: Vec<&str> = found
                    .iter()
                    .filter_map(|r| r.get("id").and_then(Value::as_str))
                    .collect();
                let parsed = crate::scim::filter::parse_filter(&filter).ok();
                let foreign =
                    parsed.map_or(0, |f| crate::idp::split_lookup(kind, &f, &found).1.len());
                if ids == [id.as_str()] {
                    Cell::pass()
                } else if foreign > 0 {
                    Cell::fail(format!(
                        "filter ignored: ?filter={filter} answered {foreign} resources that do not \
                         match it (RFC 7644 §3.4.2.2); an IdP matching on it would link someone \
                         else's object"
                    ))
                } else {
                    Cell::fail(format!(
                        "?filter={filter} found {} resources, expected exactly the one created",
                        found.len()
                    ))
                }
            }
        };

        if self.idp.shape == Shape::PingFederate && kind == ObjectKind::Group {
            // https://docs.pingidentity.com/integrations/scim/pf_scim_connector.html
            row.filter = Cell::na(
                "PingFederate sends no group filter: it lists all groups and matches displayName itself",
            );
        }

        // Clear.
        row.clear = if is_matching {
            Cell::na("the matching attribute is never cleared")
        } else if e.target.eq_ignore_ascii_case("active") {
            Cell::na("IdPs deactivate (active false), they never clear active")
        } else {
            match self.idp.shape {
                Shape::Entra => Cell::na(format!(
                    "Entra never clears: an empty source value sends nothing ({ENTRA_KNOWN_ISSUES})"
                )),
                Shape::Okta | Shape::OneLogin => {
                    // A filtered path goes with its whole element: Okta's PUT leaves it out.
                    let remove = match e.target.rfind(']') {
                        Some(at) => e.target[..=at].to_string(),
                        None => e.target.clone(),
                    };
                    let op = patch_body(vec![json!({"op": "remove", "path": remove})]);
                    match self
                        .get_put(kind, &id, |next| {
                            let _ = apply_patch(next, &op, rt);
                        })
                        .await
                    {
                        Err(why) => Cell::fail(why),
                        Ok(resp) if !resp.ok() => {
                            Cell::fail(format!("PUT without it: {}", resp.describe()))
                        }
                        Ok(_) => match self.read_back(kind, &id, &e.target, None).await {
                            Ok(_) => Cell::pass(),
                            // Okta leaves a cleared attribute out and means "cleared"; RFC 7644
                            // §3.5.1 lets a server clear it or assign a default, so this is the
                            // Okta consequence, not an RFC violation.
                            Err(why) if self.idp.shape == Shape::OneLogin => Cell::fail(format!(
                                "PUT without it (a OneLogin template without the attribute) [inferred], but {why}"
                            )),
                            Err(why) => Cell::fail(format!(
                                "PUT without it (Okta's way to clear), but {why}: the app keeps a value Okta cleared"
                            )),
                        },
                    }
                }
                Shape::PingFederate => {
                    Cell::na("how PingFederate sends a cleared value is not published [inferred]")
                }
                Shape::Duo | Shape::JumpCloud => {
                    let body = patch_body(vec![json!({"op": "remove", "path": e.target})]);
                    let req = self.idp.request(
                        Method::PATCH,
                        object_path(kind.endpoint(), &id),
                        Some(body),
                    );
                    let resp = self.client.send(req).await;
                    if !resp.ok() {
                        Cell::fail(format!("PATCH remove [inferred]: {}", resp.describe()))
                    } else {
                        match self.read_back(kind, &id, &e.target, None).await {
                            Ok(_) => Cell::pass_because("PATCH remove [inferred]"),
                            Err(why) => Cell::fail(format!("PATCH remove [inferred], but {why}")),
                        }
                    }
                }
            }
        };
        row
    }

    /// Creates `limit + 1` run-scoped groups with the IdP's create shape.
    async fn group_limit(&mut self, limit: usize, m: Option<&Entry>) -> LimitCheck {
        let target = m.map_or("displayName".to_string(), |e| e.target.clone());
        let mut accepted = 0;
        let mut first_refusal = None;
        for i in 0..=limit {
            let mut view = json!({});
            let _ = put_path(
                &mut view,
                &target,
                &json!(format!("cert-{}-limit-{}", self.tag, i + 1)),
                &GROUP_TYPE,
            );
            let body = self.create_body(ObjectKind::Group, &view);
            let req = self.idp.request(Method::POST, "/Groups".into(), Some(body));
            let resp = self.client.send(req).await;
            match id_of(&resp).filter(|_| resp.ok()) {
                Some(id) => {
                    accepted += 1;
                    match crate::scim::id::problem(&id) {
                        None => self.created.push((ObjectKind::Group, id)),
                        Some(why) => self
                            .unsafe_left
                            .push(format!("Group {id:?} left on the server: {why}")),
                    }
                }
                None => {
                    if first_refusal.is_none() {
                        first_refusal = Some(format!("group {}: {}", i + 1, resp.describe()));
                    }
                }
            }
        }
        let note = match first_refusal {
            None => format!(
                "the server accepted all {} groups: it does not enforce the app's limit of {limit}; \
                 the IdP app does (informational)",
                limit + 1
            ),
            Some(r) => format!(
                "the server accepted {accepted} of {} groups; first refusal: {r} (informational)",
                limit + 1
            ),
        };
        LimitCheck {
            idp: self.idp.name().into(),
            limit: "groups".into(),
            value: limit,
            attempted: limit + 1,
            accepted,
            note,
        }
    }
}

/// The terminal rendering: one table per IdP, then the reasons behind every FAIL and n/a.
pub fn render_terminal(c: &Certification, color: bool) -> String {
    use std::fmt::Write as _;
    use tabled::settings::Style;
    use tabled::{builder::Builder, Table};
    let mut out = String::new();
    for m in &c.matrices {
        let _ = writeln!(
            out,
            "certify {} with {} against {}",
            c.mapping, m.label, c.target.url
        );
        let mut b = Builder::default();
        b.push_record([
            "resource",
            "attribute",
            "create",
            "read",
            "update",
            "filter",
            "clear",
        ]);
        for r in &m.rows {
            let mut rec = vec![
                r.resource.clone(),
                format!(
                    "{}{}",
                    r.attribute,
                    if r.inferred { " (inferred)" } else { "" }
                ),
            ];
            rec.extend(r.cells().iter().map(|(_, c)| c.result.label().to_string()));
            b.push_record(rec);
        }
        // No colour inside the table: tabled would count escape codes as width.
        let table: Table = b.build().with(Style::psql()).to_owned();
        let _ = writeln!(out, "{table}");
        let mut notes: Vec<String> = Vec::new();
        for r in &m.rows {
            for (op, cell) in r.cells() {
                if let Some(reason) = &cell.reason {
                    let line = match cell.result {
                        CellResult::Fail => {
                            format!("  FAIL {} {} {op}: {reason}", r.resource, r.attribute)
                        }
                        CellResult::NotApplicable if reason != "not created" => {
                            format!("  n/a  {op}: {reason}")
                        }
                        CellResult::Pass => format!("  note {op}: {reason}"),
                        _ => continue,
                    };
                    if !notes.contains(&line) {
                        notes.push(line);
                    }
                }
            }
        }
        for f in &m.cleanup_failures {
            notes.push(format!("  cleanup: {f}"));
        }
        for n in notes {
            let _ = writeln!(out, "{n}");
        }
        out.push('\n');
    }
    for l in &c.limits {
        let _ = writeln!(
            out,
            "limit {} = {} ({}): {}",
            l.limit, l.value, l.idp, l.note
        );
    }
    let s = &c.summary;
    let verdict = if s.failed > 0 { "FAILED" } else { "passed" };
    let verdict = match (color, s.failed > 0) {
        (true, true) => format!("\x1b[31m{verdict}\x1b[0m"),
        (true, false) => format!("\x1b[32m{verdict}\x1b[0m"),
        _ => verdict.to_string(),
    };
    let _ = writeln!(
        out,
        "certification {verdict}: {} cells, {} pass, {} FAIL, {} n/a",
        s.cells, s.passed, s.failed, s.not_applicable
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_for_plain_and_filtered_paths() {
        assert_eq!(filter_for("userName", "a@b"), r#"userName eq "a@b""#);
        assert_eq!(
            filter_for(r#"emails[type eq "work"].value"#, "a@b"),
            r#"emails[type eq "work" and value eq "a@b"]"#
        );
    }

    #[test]
    fn booleans_compare_with_strings() {
        assert!(same(&json!(false), Some(&json!("False"))));
        assert!(same(&json!("True"), Some(&json!(true))));
        assert!(!same(&json!("x"), None));
    }

    #[test]
    fn idps_parse_and_mappings_default() {
        for n in [
            "entra",
            "okta",
            "okta-aiw",
            "duo",
            "onelogin",
            "jumpcloud",
            "pingfederate",
        ] {
            assert_eq!(Idp::parse(n).unwrap().name(), n);
        }
        assert!(Idp::parse("ping").is_none());
        for n in Mapping::bundled_names() {
            let m = Mapping::load(n).unwrap();
            assert!(Idp::parse(m.idp()).is_some(), "{n}");
        }
        let mut m = Mapping::load("okta-default").unwrap();
        m.idp = None;
        assert_eq!(m.idp(), "okta");
        m.name = "duo-x".into();
        assert_eq!(m.idp(), "duo");
        m.name = "cisco-x".into();
        assert_eq!(m.idp(), "entra");
    }

    /// `certification.json` matches its own JSON Schema.
    #[test]
    fn certification_json_matches_its_schema() {
        let row = Row {
            resource: "User".into(),
            attribute: "userName".into(),
            matching: true,
            inferred: false,
            create: Cell::pass(),
            read: Cell::pass(),
            update: Cell::fail("PATCH: HTTP 400"),
            filter: Cell::pass(),
            clear: Cell::na("the matching attribute is never cleared"),
        };
        let mut c = Certification {
            format_version: FORMAT_VERSION,
            tool: "scimulator test".into(),
            run_id: "c12345".into(),
            mapping: "entra-default".into(),
            mapping_source: String::new(),
            target: TargetInfo {
                url: "http://127.0.0.1:1/scim/v2".into(),
                builtin: true,
            },
            matrices: vec![Matrix {
                idp: "entra".into(),
                label: Idp::parse("entra").unwrap().label().into(),
                rows: vec![row],
                cleanup_failures: vec![],
                exchanges: vec![],
            }],
            limits: vec![LimitCheck {
                idp: "entra".into(),
                limit: "groups".into(),
                value: 2,
                attempted: 3,
                accepted: 3,
                note: "n".into(),
            }],
            summary: CertSummary::default(),
        };
        c.summarise();
        assert_eq!(
            (c.summary.cells, c.summary.failed, c.summary.not_applicable),
            (5, 1, 1)
        );
        let schema = serde_json::to_value(schemars::schema_for!(Certification)).unwrap();
        let v = jsonschema::validator_for(&schema).unwrap();
        let inst = serde_json::to_value(&c).unwrap();
        assert!(v.is_valid(&inst), "{inst}");
        assert_eq!(
            inst["matrices"][0]["rows"][0]["update"]["result"],
            json!("FAIL")
        );
        assert_eq!(
            inst["matrices"][0]["rows"][0]["clear"]["result"],
            json!("n/a")
        );
        assert!(!v.is_valid(&json!({"format_version": 1})));
        let text = render_terminal(&c, false);
        assert!(
            text.contains("FAIL User userName update: PATCH: HTTP 400"),
            "{text}"
        );
    }
}
