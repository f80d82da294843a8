//! IdP profiles and the mechanism they share: the context a profile works in (client, source
//! directory, sync state, provisioning log, findings), the safety ledger, and the behaviour
//! names findings cite. One file per IdP: `entra.rs`.

pub mod duo;
pub mod engine;
pub mod entra;
pub mod jumpcloud;
pub mod mapping;
pub mod okta;
pub mod onelogin;
pub mod pingfederate; // branch ping
pub mod registry;
pub mod sync;
pub mod wire;

use crate::client::{Client, Request, Response};
use crate::report::model::{Finding, LogEntry, Severity};
use crate::scim::kind::ObjectKind;
use crate::source::SourceDirectory;
use std::cell::{Ref, RefCell, RefMut};
use std::collections::{BTreeMap, BTreeSet};
use sync::SyncState;

/// A named IdP behaviour with its public source: what a finding says broke.
#[derive(Debug, Clone, Copy)]
pub struct Behaviour {
    pub name: &'static str,
    pub source: &'static str,
    /// No public source shows it; the simulator infers it.
    pub inferred: bool,
}

/// Objects the run created or matched: the only ones it may PATCH,
/// PUT or DELETE, and the ones read back and cleaned up.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    /// Objects whose id came back from the run's own POST: always the run's.
    pub created: Vec<(ObjectKind, String)>,
    /// `created` as a set: `own` dedups by hash (a scan was quadratic at 10,000 users).
    pub created_set: std::collections::HashSet<(ObjectKind, String)>,
    /// Created or matched (a lookup answer whose identity equals the run-scoped name).
    pub touchable: BTreeSet<(ObjectKind, String)>,
    /// Every write to each object, in order: what a failed state check blames. Keyed by kind
    /// and id: many servers number users and groups in separate sequences, so `/Users/7` and
    /// `/Groups/7` are different objects.
    pub writes: BTreeMap<(ObjectKind, String), Vec<Write>>,
    /// A lookup answered resources its filter does not match (RFC 7644 §3.4.2.2): from then on,
    /// for the rest of the scenario, only objects the run created are written; what was found
    /// only by lookup cannot be told apart from someone else's object.
    pub filter_ignored: bool,
    /// Objects a lookup answered that do not (provably) match its filter: never adopted.
    pub foreign: BTreeSet<(ObjectKind, String)>,
    /// Created objects whose server-chosen id is path syntax (`../../X`): never put in a path,
    /// so never deleted; the clean-up reports them.
    pub unsafe_ids: Vec<(ObjectKind, String)>,
    /// Every behaviour a request was sent for and how many requests, in first-use order: what
    /// the report says a verdict rests on, and how much of it is inferred.
    pub exercised: Vec<(Behaviour, usize)>,
    /// Kinds whose paged listing (`GET /Users?startIndex=…`) the run saw fail: no end within
    /// `--max-pages`, repeated pages, a wrong count. The harness's own read-back and clean-up
    /// then look objects up one by one instead of paging that listing again (a listing that
    /// never ends would cost another `--max-pages` pages each time).
    pub unpaged: BTreeSet<ObjectKind>,
    /// The field lists and request shapes of the writes recorded last, shared by the next
    /// ones ([`Write::fields`]).
    recent_fields: crate::compact::Shared<[String], 32>,
    recent_requests: crate::compact::Shared<str, 32>,
}

/// The finding for a lookup answer that contains resources its filter does not match.
pub fn filter_ignored_finding(
    kind: ObjectKind,
    filter: &str,
    foreign: usize,
    exchange: Option<u64>,
    step: usize,
) -> Finding {
    Finding {
        severity: Severity::Must,
        behaviour:
            "RFC 7643/7644: filter ignored (a lookup answers resources its filter does not match)"
                .into(),
        source: "RFC 7644 §3.4.2.2".into(),
        inferred: false,
        message: format!(
            "GET {}?filter={filter} answered {foreign} resource{} that do not match the filter; \
             an IdP matching on this answer would link (and then write to) someone else's object. \
             From here on the run writes only to objects its own POSTs created",
            kind.endpoint(),
            if foreign == 1 { "" } else { "s" }
        ),
        exchange,
        step,
        count: foreign,
        examples: Vec::new(),
    }
}

/// Adds `f`, or, when a finding of the same behaviour is already there, counts it there (one
/// finding per cause, with a count and a few example exchanges).
pub fn count_finding(findings: &mut Vec<Finding>, f: Finding) {
    match findings.iter_mut().find(|x| x.behaviour == f.behaviour) {
        Some(prev) => {
            prev.count += f.count;
            if let Some(e) = f.exchange.filter(|_| prev.examples.len() < 5) {
                prev.examples.push(e);
            }
        }
        None => findings.push(f),
    }
}

/// A request whose path holds a server-chosen id that is path syntax (`../../X`) must not be
/// sent: records the finding (counted) and returns why; `None` when the path is safe. Shared by
/// the IdP profiles ([`Ctx::send`]) and the RFC probes.
pub(crate) fn refuse_unsafe_path(
    req: &Request,
    step: usize,
    findings: &mut Vec<Finding>,
) -> Option<String> {
    let why = crate::scim::id::path_problem(&req.path)?;
    let (kind, id) = target_of(&req.path).unwrap_or((ObjectKind::User, req.path.clone()));
    let mut f = unsafe_id_finding(kind, &id, &why, None, step);
    f.message = format!("refused {} {}: {why}", req.method, req.path);
    count_finding(findings, f);
    Some(why)
}

/// The finding for a server-chosen id that is path syntax: it is never sent.
pub fn unsafe_id_finding(
    kind: ObjectKind,
    id: &str,
    why: &str,
    exchange: Option<u64>,
    step: usize,
) -> Finding {
    Finding {
        severity: Severity::Must,
        behaviour: "scimulator safety: server-chosen ids are data, never path syntax".into(),
        source: "RFC 7644 §3.2 (resources are addressed at {endpoint}/{id}); RFC 3986 §3.3".into(),
        inferred: false,
        message: format!(
            "the server gave a {} the id {id:?}, and {why}: the harness does not put it in a path \
             (no request was sent to it)",
            kind.name()
        ),
        exchange,
        step,
        count: 1,
        examples: Vec::new(),
    }
}

/// The `filter` of a `GET /Users?…filter=…` or `GET /Groups?…` lookup, decoded and parsed:
/// what a lookup answer is checked against. `None` for any other request, or a filter the
/// harness cannot parse (then nothing is claimed about the answer).
pub fn lookup_filter(path: &str) -> Option<(ObjectKind, String, crate::scim::filter::Filter)> {
    let (p, query) = path.split_once('?')?;
    let kind = match p {
        "/Users" => ObjectKind::User,
        "/Groups" => ObjectKind::Group,
        _ => return None,
    };
    let raw = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("filter="))?
        .replace('+', " ");
    let text = percent_encoding::percent_decode_str(&raw)
        .decode_utf8()
        .ok()?
        .into_owned();
    let f = crate::scim::filter::parse_filter(&text).ok()?;
    // Only the lookups an IdP (and the harness) make: `attr eq "value"`, also on a value path
    // (`emails[type eq "work"].value eq "…"`). Other operators are left to the probes that
    // test them.
    use crate::scim::filter::{CompareOp, Filter};
    match &f {
        Filter::Compare {
            op: CompareOp::Eq, ..
        }
        | Filter::ValuePath {
            then: Some((_, CompareOp::Eq, _)),
            ..
        } => Some((kind, text, f)),
        _ => None,
    }
}

/// Splits a lookup answer into the resources that match `filter` and the ids of those that do
/// not, provably (`foreign`: they carry the filtered attribute with another value) or
/// possibly (`unproven`: it is absent, so ownership cannot be proven). Comparison follows the
/// attribute's `caseExact` (RFC 7643: `userName` and `displayName` compare case-insensitively).
pub fn split_lookup(
    kind: ObjectKind,
    filter: &crate::scim::filter::Filter,
    resources: &[serde_json::Value],
) -> (Vec<serde_json::Value>, Vec<String>, Vec<String>) {
    use crate::scim::filter::Filter;
    let rt: &crate::scim::schema::ResourceTypeDef = match kind {
        ObjectKind::User => &crate::scim::schema::USER_TYPE,
        ObjectKind::Group => &crate::scim::schema::GROUP_TYPE,
    };
    let present = match filter {
        Filter::Compare { path, .. } => Some(Filter::Present(path.clone())),
        Filter::ValuePath { attr, .. } => Some(Filter::Present(attr.clone())),
        _ => None,
    };
    let (mut mine, mut foreign, mut unproven) = (Vec::new(), Vec::new(), Vec::new());
    for r in resources {
        let id = r
            .get("id")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        if filter.matches(r, rt) {
            mine.push(r.clone());
        } else if present.as_ref().is_none_or(|p| p.matches(r, rt)) {
            foreign.push(id);
        } else {
            unproven.push(id);
        }
    }
    (mine, foreign, unproven)
}

/// One write the IdP sent to an object, and the attributes it touched (`*`: all of them, as
/// a POST that creates the object, a PUT that replaces it or a DELETE).
#[derive(Debug, Clone)]
pub struct Write {
    pub exchange: u64,
    pub behaviour: Behaviour,
    /// Attribute paths written: `displayName`, `name.givenName`, `emails`, an extension URN.
    /// Shared with earlier writes that wrote the same ones: a tenant's writes repeat a few
    /// shapes (every user's POST writes the mapping's attributes, `POST /Users`).
    pub fields: std::sync::Arc<[String]>,
    /// The status the server answered (`None`: no answer). A write the server acknowledged and
    /// then ignored still counts as a write: it is what the IdP believes it did.
    pub status: Option<u16>,
    /// `PATCH /Users/{id}`: the request's shape. Shared like `fields`.
    pub request: std::sync::Arc<str>,
}

impl Write {
    /// Whether this write touched `field` (a diff's top-level attribute or dotted path): either
    /// one is a prefix of the other (`name` and `name.givenName`), case-insensitively.
    pub fn touches(&self, field: &str) -> bool {
        let within = |a: &str, b: &str| {
            let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
            a == b || b.starts_with(&format!("{a}.")) || b.starts_with(&format!("{a}:"))
        };
        field == "*"
            || self
                .fields
                .iter()
                .any(|f| f == "*" || within(f, field) || within(field, f))
    }

    /// `written by` for a write the server accepted; `sent by` plus the status otherwise.
    pub fn describe(&self, idp: &str) -> String {
        let inferred = if self.behaviour.inferred {
            " (inferred)"
        } else {
            ""
        };
        let name = self.behaviour.name;
        match self.status {
            Some(s) if (200..300).contains(&s) => {
                format!(
                    "last written by {idp}: {name}{inferred} (exchange #{})",
                    self.exchange
                )
            }
            // Refused: the behaviour's description of what it sends is not the cause; the
            // finding about that exchange says what the server refused.
            Some(s) => format!(
                "last sent by {idp}: {} ({}){inferred} (exchange #{}, answered {s})",
                self.behaviour.short_name(),
                self.request,
                self.exchange
            ),
            None => format!(
                "last sent by {idp}: {} ({}){inferred} (exchange #{}, no answer)",
                self.behaviour.short_name(),
                self.request,
                self.exchange
            ),
        }
    }
}

impl Behaviour {
    /// The behaviour without its description of the request: `update user` for
    /// `update user (PATCH /Users/{id}: PascalCase ops, …)`. A finding about a failed exchange
    /// names this, and says itself what in the exchange failed.
    pub fn short_name(&self) -> &'static str {
        self.name.split(" (").next().unwrap_or(self.name).trim()
    }
}

impl Ledger {
    /// The last write to one of the objects `ids` of `kind` that touched one of `fields`: the
    /// exchange that really wrote the attribute the diff is about, never a write to another
    /// object or to another attribute. `None` when no write of the run touched them.
    pub fn blame(&self, kind: ObjectKind, ids: &[String], fields: &[String]) -> Option<&Write> {
        ids.iter()
            .filter_map(|id| self.writes.get(&(kind, id.clone())))
            .flatten()
            .filter(|w| fields.iter().any(|f| w.touches(f)))
            .max_by_key(|w| w.exchange)
    }

    /// Every write to `kind`/`id`, in order.
    pub fn writes_to(&self, kind: ObjectKind, id: &str) -> &[Write] {
        self.writes
            .get(&(kind, id.to_string()))
            .map_or(&[], Vec::as_slice)
    }
}

/// Attribute paths a request body writes: the paths of PATCH operations (a value filter
/// dropped: `emails[type eq "work"].value` writes `emails`) and the keys of a path-less op's
/// value; a POST (it sets the object's whole first state), a PUT (it replaces the object: what
/// it omits it clears) and a DELETE write everything. Extension attributes count as
/// `<urn>:<attribute>`.
fn touched_fields(method: &str, body: Option<&serde_json::Value>) -> Vec<String> {
    use crate::scim::schema::split_attr_path;
    let attr = |path: &str| -> String {
        // `emails[type eq "work"].value` → `emails`: the filter picks an entry of emails.
        let filtered = path.contains('[');
        let head = path.split('[').next().unwrap_or(path);
        match split_attr_path(head) {
            (Some(urn), name, _) if !urn.to_ascii_lowercase().contains(":core:") => {
                format!("{urn}:{name}")
            }
            (_, name, Some(sub)) if !filtered => format!("{name}.{sub}"),
            (_, name, _) => name.to_string(),
        }
    };
    match (method, body) {
        ("PATCH", Some(b)) => {
            let mut out = Vec::new();
            for op in b
                .get("Operations")
                .and_then(|o| o.as_array())
                .into_iter()
                .flatten()
            {
                match op.get("path").and_then(|p| p.as_str()) {
                    Some(p) => out.push(attr(p)),
                    None => match op.get("value") {
                        Some(serde_json::Value::Object(m)) => {
                            for (k, v) in m {
                                // A path-less value `{"urn:…:enterprise:2.0:User": {"department": …}}`
                                // writes the extension's attributes.
                                match v.as_object() {
                                    Some(inner) if k.contains(':') => {
                                        out.extend(inner.keys().map(|a| format!("{k}:{a}")))
                                    }
                                    _ => out.push(attr(k)),
                                }
                            }
                        }
                        _ => out.push("*".into()),
                    },
                }
            }
            out
        }
        _ => vec!["*".into()],
    }
}

/// `/Users/{id}` for `/Users/2819c223`, `/Users?filter=…&startIndex=…` for a query: the
/// request's shape, the same for every object (what a finding's behaviour names).
pub fn generic_path(path: &str) -> String {
    let (base, query) = match path.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (path, None),
    };
    let base = match target_of(base) {
        Some((kind, _)) => format!("{}/{{id}}", kind.endpoint()),
        None => base.to_string(),
    };
    match query {
        Some(q) => {
            let names: Vec<String> = q
                .split('&')
                // An empty parameter stays empty: OneLogin's `?` and trailing `&` are shapes.
                .map(|kv| match kv {
                    "" => String::new(),
                    _ => format!("{}=…", kv.split('=').next().unwrap_or(kv)),
                })
                .collect();
            format!("{base}?{}", names.join("&"))
        }
        None => base,
    }
}

/// One PATCH operation as a reader names it: `Add emails[type eq "work"].value = "a@b.c"`.
fn describe_op(op: &serde_json::Value) -> String {
    let name = op.get("op").and_then(|v| v.as_str()).unwrap_or("?");
    let path = op.get("path").and_then(|v| v.as_str());
    let value = op.get("value").map(|v| {
        let t = v.to_string();
        if t.chars().count() > 60 {
            format!("{}…", t.chars().take(60).collect::<String>())
        } else {
            t
        }
    });
    let mut out = format!("{name:?}");
    match path {
        Some(p) => out.push_str(&format!(" {p}")),
        None => out.push_str(" (no path)"),
    }
    if let Some(v) = value {
        out.push_str(&format!(" = {v}"));
    }
    out
}

/// The attributes one PATCH operation writes, for naming: its path's attribute, or the keys
/// of a path-less value.
fn op_attributes(op: &serde_json::Value) -> Vec<String> {
    let body = serde_json::json!({"Operations": [op]});
    touched_fields("PATCH", Some(&body))
        .into_iter()
        .filter(|f| f != "*")
        .collect()
}

/// Whether the server's words name `needle` (case-insensitive, not inside a longer word).
fn names(text: &str, needle: &str) -> bool {
    if needle.len() < 3 {
        return false;
    }
    let (t, n) = (text.to_ascii_lowercase(), needle.to_ascii_lowercase());
    let word = |c: Option<char>| c.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
    t.match_indices(&n)
        .any(|(at, _)| word(t[..at].chars().next_back()) && word(t[at + n.len()..].chars().next()))
}

/// What went wrong, from the failing exchange alone: the answer (status, `scimType`,
/// `detail`), and for a PATCH the operation the server refused (when it is the only one, or
/// the only one the server's words name; otherwise every operation, said so), for a POST or
/// PUT the attributes the server named.
///
/// ```text
/// PATCH /Users/{id} answered HTTP 400 (scimType invalidPath): path not supported: emails[type eq "work"].value;
/// refused operation 2 of 2: "Add" emails[type eq "work"].value = "ana@example.com" (attribute emails)
/// ```
pub fn failure_cause(req: &Request, resp: &Response) -> String {
    let method = req.method.as_str();
    let path = generic_path(&req.path);
    let body = resp.body.as_ref();
    let scim_type = body
        .and_then(|b| b.get("scimType"))
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let detail = body
        .and_then(|b| b.get("detail"))
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .or_else(|| resp.text.clone())
        .map(|d| d.chars().take(300).collect::<String>());
    let mut out = match (&resp.error, resp.status) {
        (Some(e), _) => format!("{method} {path} got no answer: {e}"),
        (None, Some(s)) => {
            let mut o = format!("{method} {path} answered HTTP {s}");
            if let Some(t) = &scim_type {
                o.push_str(&format!(" (scimType {t})"));
            }
            if let Some(d) = &detail {
                o.push_str(&format!(": {d}"));
            }
            o
        }
        (None, None) => format!("{method} {path} got no answer"),
    };
    // Without an answer nothing says what was refused.
    if resp.status.is_none() {
        return out;
    }
    let said = detail.clone().unwrap_or_default();
    if method == "PATCH" {
        let ops: Vec<&serde_json::Value> = req
            .body
            .as_ref()
            .and_then(|b| b.get("Operations"))
            .and_then(|o| o.as_array())
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let named: Vec<usize> = (0..ops.len())
            .filter(|&i| {
                let by_path = ops[i]
                    .get("path")
                    .and_then(|p| p.as_str())
                    .is_some_and(|p| said.to_ascii_lowercase().contains(&p.to_ascii_lowercase()));
                by_path || op_attributes(ops[i]).iter().any(|a| names(&said, a))
            })
            .collect();
        let one = |i: usize| {
            let attrs = op_attributes(ops[i]);
            let attrs = if attrs.is_empty() {
                String::new()
            } else {
                format!(" (attribute {})", attrs.join(", "))
            };
            format!(
                "operation {} of {}: {}{attrs}",
                i + 1,
                ops.len(),
                describe_op(ops[i])
            )
        };
        match (ops.len(), named.as_slice()) {
            (0, _) => {}
            (1, _) => out.push_str(&format!("; refused {}", one(0))),
            (_, [i]) => out.push_str(&format!("; refused {} (the one the server names)", one(*i))),
            (n, _) => {
                let all: Vec<String> = (0..n)
                    .map(|i| format!("{}. {}", i + 1, describe_op(ops[i])))
                    .collect();
                out.push_str(&format!(
                    "; the server does not say which of the {n} operations it refused: {}",
                    all.join("; ")
                ));
            }
        }
    } else if let Some(serde_json::Value::Object(m)) = req.body.as_ref() {
        let mut attrs: Vec<String> = Vec::new();
        for (k, v) in m {
            if names(&said, k) {
                attrs.push(k.clone());
            }
            if let Some(inner) = v.as_object() {
                attrs.extend(
                    inner
                        .keys()
                        .filter(|a| names(&said, a))
                        .map(|a| format!("{k}.{a}")),
                );
            }
        }
        if !attrs.is_empty() {
            out.push_str(&format!("; the server names {}", attrs.join(", ")));
        }
    }
    out
}

/// Everything a profile works with while a step runs: its client, and the run's state
/// (source directory, sync state, provisioning log, findings, ledger) shared by every lane of
/// a pass ([`engine::each`] with `in_flight` above 1). The state sits behind `RefCell`s and
/// is borrowed only between awaits: `dir()`, `sync_mut()`, ... hand out a guard that a flow
/// drops before its next request (clippy's `await_holding_refcell_ref`, denied in CI, proves
/// no guard crosses an await), so lanes interleaving on one thread never see a borrow clash.
pub struct Ctx<'a> {
    /// The client this lane sends through: the run's own, or a lane client of it
    /// ([`Client::lane`]) while a pass runs several objects at once.
    pub client: LaneClient<'a>,
    shared: std::rc::Rc<Shared<'a>>,
    pub step: usize,
    /// The IdP's display name for findings: `Entra ID`.
    pub idp_name: &'static str,
    /// How many objects' flows a pass keeps in flight at once (the common `in_flight`
    /// setting, [`registry::IN_FLIGHT`]); 1 is sequential.
    pub in_flight: usize,
    /// Positions in the provisioning log of the entries this context wrote: what a flow's
    /// own outcomes are when lanes interleave theirs in one log ([`Self::logged_since`]).
    written: Vec<usize>,
}

/// The run's state a [`Ctx`] and its lanes share.
struct Shared<'a> {
    dir: RefCell<&'a mut SourceDirectory>,
    sync: RefCell<&'a mut SyncState>,
    log: RefCell<&'a mut Vec<LogEntry>>,
    findings: RefCell<&'a mut Vec<Finding>>,
    ledger: RefCell<&'a mut Ledger>,
}

/// The client of a [`Ctx`]: the run's (borrowed) or a lane's (owned, merged back into the
/// run's when its pass ends).
pub enum LaneClient<'a> {
    Main(&'a mut Client),
    Lane(Box<Client>),
}

impl std::ops::Deref for LaneClient<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        match self {
            LaneClient::Main(c) => c,
            LaneClient::Lane(c) => c,
        }
    }
}

impl std::ops::DerefMut for LaneClient<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        match self {
            LaneClient::Main(c) => c,
            LaneClient::Lane(c) => c,
        }
    }
}

impl<'a> Ctx<'a> {
    /// A context over the run's client and state, sequential (`in_flight` 1).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: &'a mut Client,
        dir: &'a mut SourceDirectory,
        sync: &'a mut SyncState,
        log: &'a mut Vec<LogEntry>,
        findings: &'a mut Vec<Finding>,
        ledger: &'a mut Ledger,
        step: usize,
        idp_name: &'static str,
    ) -> Ctx<'a> {
        Ctx {
            client: LaneClient::Main(client),
            shared: std::rc::Rc::new(Shared {
                dir: RefCell::new(dir),
                sync: RefCell::new(sync),
                log: RefCell::new(log),
                findings: RefCell::new(findings),
                ledger: RefCell::new(ledger),
            }),
            step,
            idp_name,
            in_flight: 1,
            written: Vec::new(),
        }
    }

    /// The same context with `n` objects in flight per pass.
    pub fn with_in_flight(mut self, n: usize) -> Ctx<'a> {
        self.in_flight = n.max(1);
        self
    }

    /// A lane of this context: the same shared state, its own lane client
    /// ([`Client::lane`]).
    pub fn lane(&self) -> Ctx<'a> {
        Ctx {
            client: LaneClient::Lane(Box::new(self.client.lane())),
            shared: self.shared.clone(),
            step: self.step,
            idp_name: self.idp_name,
            in_flight: 1,
            written: Vec::new(),
        }
    }

    /// Ends a lane: its exchanges go back into this context's client.
    pub fn merge(&mut self, lane: Ctx<'a>) {
        if let LaneClient::Lane(mut c) = lane.client {
            self.client.merge(&mut c);
        }
    }

    pub fn dir(&self) -> Ref<'_, SourceDirectory> {
        Ref::map(self.shared.dir.borrow(), |d| &**d)
    }
    pub fn dir_mut(&self) -> RefMut<'_, SourceDirectory> {
        RefMut::map(self.shared.dir.borrow_mut(), |d| &mut **d)
    }
    pub fn sync(&self) -> Ref<'_, SyncState> {
        Ref::map(self.shared.sync.borrow(), |d| &**d)
    }
    pub fn sync_mut(&self) -> RefMut<'_, SyncState> {
        RefMut::map(self.shared.sync.borrow_mut(), |d| &mut **d)
    }
    /// Appends to the provisioning log, remembering the entry as this context's.
    pub fn push_log(&mut self, mut entry: LogEntry) {
        let mut log = self.shared.log.borrow_mut();
        if let Some(same) = log
            .iter()
            .rev()
            .take(32)
            .find(|e| e.modified_properties == entry.modified_properties)
        {
            entry.modified_properties = same.modified_properties.clone();
        }
        self.written.push(log.len());
        log.push(entry);
    }
    /// A mark for [`Self::logged_since`]: how many entries this context has written.
    pub fn log_mark(&self) -> usize {
        self.written.len()
    }
    /// `f` of each entry this context wrote since `mark`, in order (never another lane's).
    pub fn logged_since<T>(&self, mark: usize, f: impl FnMut(&LogEntry) -> T) -> Vec<T> {
        let log = self.shared.log.borrow();
        self.written[mark.min(self.written.len())..]
            .iter()
            .filter_map(|&i| log.get(i))
            .map(f)
            .collect()
    }
    pub fn findings_mut(&self) -> RefMut<'_, Vec<Finding>> {
        RefMut::map(self.shared.findings.borrow_mut(), |d| &mut **d)
    }
    pub fn ledger(&self) -> Ref<'_, Ledger> {
        Ref::map(self.shared.ledger.borrow(), |d| &**d)
    }
    pub fn ledger_mut(&self) -> RefMut<'_, Ledger> {
        RefMut::map(self.shared.ledger.borrow_mut(), |d| &mut **d)
    }
}

/// Splits `/Users/{id}?…` into kind and id (decoded: paths carry it percent-encoded, built by
/// [`crate::scim::id::object_path`]).
pub fn target_of(path: &str) -> Option<(ObjectKind, String)> {
    let p = path.split('?').next()?;
    let mut it = p.trim_start_matches('/').splitn(2, '/');
    let kind = match it.next()? {
        "Users" => ObjectKind::User,
        "Groups" => ObjectKind::Group,
        _ => return None,
    };
    let id = it.next().filter(|s| !s.is_empty() && !s.contains('/'))?;
    Some((
        kind,
        percent_encoding::percent_decode_str(id)
            .decode_utf8_lossy()
            .into_owned(),
    ))
}

/// `/Users/{id}` or `/Groups/{id}`, the id percent-encoded as one path segment.
pub fn object_path(kind: ObjectKind, id: &str) -> String {
    crate::scim::id::object_path(kind.endpoint(), id)
}

impl Ledger {
    /// Counts one request sent for `behaviour` (the report's behaviours and their counts).
    pub fn exercise(&mut self, behaviour: Behaviour) {
        match self
            .exercised
            .iter_mut()
            .find(|(b, _)| b.name == behaviour.name)
        {
            Some((_, n)) => *n += 1,
            None => self.exercised.push((behaviour, 1)),
        }
    }

    /// Why the run may not write (PATCH, PUT, DELETE) to `t`, or `None` when it may: it
    /// created it, or matched it by its run-scoped identity on a server that honours `filter`.
    pub fn write_refusal(&self, t: &(ObjectKind, String)) -> Option<String> {
        // By hash: this runs before every write (a scan of `created` was 5 % of a
        // 10,000-user run's CPU).
        let created = self.created_set.contains(t);
        if !self.touchable.contains(t) {
            Some(format!("the run did not create or match {}", t.1))
        } else if self.filter_ignored && !created {
            Some(format!(
                "{} was found only by a lookup, and this server ignores filter: \
                 it cannot be told apart from an object the run does not own",
                t.1
            ))
        } else {
            None
        }
    }
}

/// A PatchOp body.
pub fn patch_body(ops: Vec<serde_json::Value>) -> serde_json::Value {
    serde_json::json!({"schemas": [crate::scim::schema::PATCH_URN], "Operations": ops})
}

/// `attr eq "value"`, the value quoted as JSON.
pub fn filter_eq(attr: &str, value: &str) -> String {
    format!(
        "{attr} eq {}",
        serde_json::to_string(value).unwrap_or_default()
    )
}

/// The resources of a ListResponse (`Resources`, or Okta-tolerated `resources`); `None` when
/// the answer is not one.
pub fn list_resources(resp: &Response) -> Option<Vec<serde_json::Value>> {
    use serde_json::Value;
    let b = resp.body.as_ref()?;
    match b.get("Resources").or_else(|| b.get("resources")) {
        Some(Value::Array(a)) => Some(a.clone()),
        None if b.get("totalResults").and_then(Value::as_u64) == Some(0) => Some(Vec::new()),
        _ => None,
    }
}

impl Ctx<'_> {
    /// Sends; a 429 is retried after its Retry-After (capped at `retry` seconds), up to three
    /// times, when `retry` is set.
    pub async fn send_retrying(
        &mut self,
        req: Request,
        behaviour: Behaviour,
        retry: Option<u64>,
    ) -> Response {
        let mut tries = 0;
        loop {
            let resp = self.send(req.clone(), behaviour).await;
            match retry {
                Some(max) if resp.status == Some(429) && tries < 3 => {
                    tries += 1;
                    let wait = resp.retry_after.unwrap_or(1).min(max);
                    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
                }
                _ => return resp,
            }
        }
    }

    /// Sends a request for `behaviour`. A write to an object the run does not own is refused
    /// before it leaves; a failed answer becomes a finding naming the behaviour (unless the
    /// scenario injected the failure).
    pub async fn send(&mut self, req: Request, behaviour: Behaviour) -> Response {
        let write = matches!(req.method.as_str(), "PATCH" | "PUT" | "DELETE");
        let refused =
            |why: String| Response::refused(format!("refused by the safety ledger: {why}"));
        // An id that is path syntax (`../../X`) never leaves: the request would go elsewhere.
        if let Some(why) = refuse_unsafe_path(&req, self.step, &mut self.findings_mut()) {
            return refused(why);
        }
        if write {
            if let Some(t) = target_of(&req.path) {
                let refusal = self.ledger().write_refusal(&t);
                if let Some(why) = refusal {
                    self.findings_mut().push(Finding {
                        severity: Severity::Must,
                        behaviour:
                            "scimulator safety: writes only to objects this run created or matched"
                                .into(),
                        source: "shared/DESIGN.md".into(),
                        inferred: false,
                        message: format!("refused {} {}: {why}", req.method, req.path),
                        exchange: None,
                        step: self.step,
                        count: 1,
                        examples: Vec::new(),
                    });
                    return refused(why);
                }
            }
        }
        self.client.step = self.step;
        let resp = self.client.send_ref(&req).await;
        if req.method == crate::client::Method::GET && resp.status == Some(200) {
            self.check_lookup(&req.path, &resp);
        }
        self.ledger_mut().exercise(behaviour);
        if matches!(self.client, LaneClient::Lane(_)) {
            // Sent beside others of its pass: the report says how many requests rest on it.
            self.ledger_mut().exercise(engine::in_flight_behaviour());
        }
        let written = match target_of(&req.path) {
            Some(t) if write => Some(t),
            _ if req.method == crate::client::Method::POST => {
                let kind = match req.path.split('?').next().unwrap_or("") {
                    "/Groups" => Some(ObjectKind::Group),
                    "/Users" => Some(ObjectKind::User),
                    _ => None,
                };
                kind.zip(
                    resp.body
                        .as_ref()
                        .and_then(|b| b.get("id"))
                        .and_then(|v| v.as_str())
                        .map(str::to_string),
                )
            }
            _ => None,
        };
        if let Some(key) = written {
            let fields = touched_fields(req.method.as_str(), req.body.as_ref());
            let request = format!("{} {}", req.method, generic_path(&req.path));
            let mut ledger = self.ledger_mut();
            let fields = ledger.recent_fields.share(fields);
            let request = ledger.recent_requests.share(request);
            ledger.writes.entry(key).or_default().push(Write {
                exchange: resp.exchange,
                behaviour,
                fields,
                status: resp.status,
                request,
            });
        }
        let injected = self
            .client
            .exchanges()
            .last()
            .is_some_and(|e| e.fault.is_some());
        if !resp.ok() && !injected {
            // The behaviour of the step is where it happened; what failed is said by the
            // exchange itself (which operation, which attribute, what the server answered),
            // never by the behaviour's description of what the IdP sends.
            self.findings_mut().push(Finding {
                severity: Severity::Must,
                behaviour: format!(
                    "{}: {} ({} {})",
                    self.idp_name,
                    behaviour.short_name(),
                    req.method,
                    generic_path(&req.path)
                ),
                source: behaviour.source.to_string(),
                inferred: behaviour.inferred,
                message: failure_cause(&req, &resp),
                exchange: Some(resp.exchange),
                step: self.step,
                count: 1,
                examples: Vec::new(),
            });
        }
        resp
    }

    /// Checks a lookup answer against its filter: resources that do not match are foreign
    /// (never adopted), and their presence is a MUST finding (RFC 7644 §3.4.2.2: the server
    /// "MUST" return only matching resources) that stops later writes to matched objects.
    fn check_lookup(&mut self, path: &str, resp: &Response) {
        let Some((kind, text, filter)) = lookup_filter(path) else {
            return;
        };
        let Some(resources) = list_resources(resp) else {
            return;
        };
        let (_, foreign, unproven) = split_lookup(kind, &filter, &resources);
        for id in foreign.iter().chain(&unproven) {
            self.ledger_mut().foreign.insert((kind, id.clone()));
        }
        if !foreign.is_empty() {
            self.ledger_mut().filter_ignored = true;
            let f =
                filter_ignored_finding(kind, &text, foreign.len(), Some(resp.exchange), self.step);
            // One finding per cause: later lookups add to its count and examples.
            let mut findings = self.findings_mut();
            match findings.iter_mut().find(|x| x.behaviour == f.behaviour) {
                Some(prev) => {
                    prev.count = prev.count.max(foreign.len());
                    if prev.examples.len() < 5 {
                        prev.examples.push(resp.exchange);
                    }
                }
                None => findings.push(f),
            }
        }
    }

    /// Records an object this run created (or matched): it may now be written, and is read back.
    /// An id that is path syntax is never owned (it could not be addressed safely); a matched
    /// object that a lookup answered against its filter is never owned either.
    pub fn own(&mut self, kind: ObjectKind, id: &str, created: bool) -> bool {
        if let Some(why) = crate::scim::id::problem(id) {
            if !self
                .ledger()
                .unsafe_ids
                .iter()
                .any(|(k, x)| *k == kind && x == id)
            {
                self.ledger_mut().unsafe_ids.push((kind, id.to_string()));
                count_finding(
                    &mut self.findings_mut(),
                    unsafe_id_finding(kind, id, why, None, self.step),
                );
            }
            return false;
        }
        if !created && self.ledger().foreign.contains(&(kind, id.to_string())) {
            self.findings_mut().push(Finding {
                severity: Severity::Must,
                behaviour: "scimulator safety: writes only to objects this run created or matched"
                    .into(),
                source: "shared/DESIGN.md".into(),
                inferred: false,
                message: format!(
                    "not adopted: {} {id} came back from a lookup whose filter it does not match \
                     (its identity is not the run-scoped name)",
                    kind.name()
                ),
                exchange: None,
                step: self.step,
                count: 1,
                examples: Vec::new(),
            });
            return false;
        }
        self.ledger_mut().touchable.insert((kind, id.to_string()));
        if created && self.ledger_mut().created_set.insert((kind, id.to_string())) {
            self.ledger_mut().created.push((kind, id.to_string()));
        }
        true
    }

    /// Links source object `key` to the target object `id` this run created or matched, and
    /// records it as the run's own: the one place a profile takes ownership. `false` (and a
    /// finding): not adopted, because the id is path syntax or the object did not match the
    /// lookup that answered it; the profile must then leave it alone.
    #[must_use]
    pub fn adopt(
        &mut self,
        kind: ObjectKind,
        key: &str,
        id: &str,
        created: bool,
        view_sent: Option<&serde_json::Value>,
    ) -> bool {
        if !self.own(kind, id, created) {
            return false;
        }
        let link = sync::Link {
            target_id: id.to_string(),
            managed: true,
            view_sent: view_sent
                .filter(|_| self.sync().keeps_views)
                .map(Into::into),
            ..Default::default()
        };
        self.sync_mut()
            .links_mut(kind)
            .insert(key.to_string(), link);
        true
    }

    /// The end of a provisioning cycle (or of a continuous IdP's reaction) that started at the
    /// directory clock `start`: changes since then wait for the next one.
    pub fn cycle_done(&mut self, start: u64) {
        self.dir_mut().note_cycle();
        self.sync_mut().watermark = Some(start);
    }

    /// A finding about what came back, not about the status (missing `id`, wrong shape).
    pub fn finding(&mut self, behaviour: Behaviour, message: String, exchange: Option<u64>) {
        self.findings_mut().push(Finding {
            severity: Severity::Must,
            behaviour: format!("{}: {}", self.idp_name, behaviour.name),
            source: behaviour.source.to_string(),
            inferred: behaviour.inferred,
            message,
            exchange,
            step: self.step,
            count: 1,
            examples: Vec::new(),
        });
    }

    #[allow(clippy::too_many_arguments)]
    pub fn log(
        &mut self,
        identity: &str,
        kind: ObjectKind,
        action: &str,
        status: &str,
        error_code: Option<String>,
        detail: Option<String>,
        modified: Vec<String>,
        exchanges: Vec<u64>,
    ) {
        crate::report::progress::object_logged(kind.name(), identity);
        self.push_log(LogEntry {
            date: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            identity: identity.to_string(),
            object_type: kind.name().into(),
            action: action.to_string(),
            status: match ["Success", "Failure", "Skipped"]
                .iter()
                .find(|s| **s == status)
            {
                Some(s) => (*s).into(),
                None => status.to_string().into(),
            },
            error_code,
            detail,
            modified_properties: modified.into(),
            exchanges: exchanges.into_iter().filter(|e| *e != 0).collect(),
        });
    }
}

/// A profile's typed settings from the scenario's map; an error is serde's, followed by `hint`
/// (the settings the profile knows): `unknown field `deprovision`; Duo settings are …`.
pub fn typed_settings<T: serde::de::DeserializeOwned>(
    raw: &serde_json::Map<String, serde_json::Value>,
    hint: &str,
) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::Object(raw.clone()))
        .map_err(|e| format!("{e}; {hint}"))
}

/// A settings map from JSON, as a scenario's `settings:` gives it (for tests).
#[cfg(test)]
pub(crate) fn settings_map(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// Asserts that each of `bad` settings is refused with an error naming `hint` (for tests).
#[cfg(test)]
pub(crate) fn assert_refused<T>(
    build: impl Fn(&serde_json::Map<String, serde_json::Value>) -> Result<T, String>,
    bad: &[serde_json::Value],
    hint: &str,
) {
    for b in bad {
        match build(&settings_map(b.clone())) {
            Ok(_) => panic!("{b} must be refused"),
            Err(e) => assert!(e.contains(hint), "{b}: {e}"),
        }
    }
}

/// Settings in force, defaults filled in, as JSON (for reports).
pub fn json_of<T: serde::Serialize>(settings: &T) -> serde_json::Value {
    serde_json::to_value(settings).unwrap_or(serde_json::Value::Null)
}

/// The profile a scenario runs, chosen by its `idp`: the IdP's own, and the settings common
/// to every IdP ([`registry::IN_FLIGHT`]).
pub struct Profile {
    pub kind: ProfileKind,
    /// Objects of a pass provisioned at once (the `in_flight` setting; 1: one after the other).
    pub in_flight: usize,
}

/// The IdP a profile simulates, with its typed settings.
pub enum ProfileKind {
    Entra(entra::Entra),
    Okta(okta::Okta),
    Duo(duo::Duo),
    // branch onelogin: OneLogin and JumpCloud, on the continuous schedule.
    OneLogin(onelogin::OneLogin),
    JumpCloud(jumpcloud::JumpCloud),
    /// PingFederate's SCIM Provisioner (branch ping).
    PingFederate(pingfederate::PingFederate),
    /// `idp: rfc`: no IdP at all, the conformance probes of `scimulator check`; only the
    /// `rfc_probes` step does anything. The mapping is only there for the shared read-back.
    Rfc(Box<mapping::Mapping>),
}

/// What an IdP action says in an `idp: rfc` scenario.
const NOT_AN_IDP: &str = "not an IdP action: `idp: rfc` scenarios run `rfc_probes` steps only";

impl Profile {
    pub fn new(
        idp: &str,
        settings: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Profile, String> {
        registry::profile(idp, settings)
    }

    /// The IdP's name in findings and reports.
    pub fn display_name(&self) -> &'static str {
        match &self.kind {
            ProfileKind::Entra(_) => "Entra ID",
            ProfileKind::Okta(o) if o.settings.app == okta::App::Aiw => "Okta (AIW)",
            ProfileKind::Okta(_) => "Okta",
            ProfileKind::Duo(d) => d.wire.display_name(),
            ProfileKind::OneLogin(o) => o.run.wire.display_name(),
            ProfileKind::JumpCloud(j) => j.run.wire.display_name(),
            ProfileKind::PingFederate(p) => p.run.wire.display_name(),
            ProfileKind::Rfc(_) => "RFC 7643/7644",
        }
    }

    /// What the IdP remembers at the start of a scenario: nothing yet. The event-driven IdPs
    /// (Okta, and Duo's continuous schedule that OneLogin, JumpCloud and PingFederate run) push
    /// a profile when it differs from the view they last sent, so they keep those views; Entra
    /// never reads them, and a 100,000-user run would hold one per user for nothing.
    pub fn sync_state(&self) -> sync::SyncState {
        sync::SyncState {
            keeps_views: !matches!(self.kind, ProfileKind::Entra(_) | ProfileKind::Rfc(_)),
            ..Default::default()
        }
    }

    /// The settings in force, defaults filled in (for reports).
    /// `in_flight` is there when above 1 (inferred: see [`registry::IN_FLIGHT`]); a report
    /// without it ran one object after the other.
    pub fn settings_json(&self) -> serde_json::Value {
        let mut settings = self.idp_settings_json();
        if let (Some(m), true) = (settings.as_object_mut(), self.in_flight > 1) {
            m.insert(registry::IN_FLIGHT.into(), self.in_flight.into());
        }
        settings
    }

    fn idp_settings_json(&self) -> serde_json::Value {
        match &self.kind {
            ProfileKind::Entra(e) => json_of(&e.settings),
            ProfileKind::Okta(o) => json_of(&o.settings),
            ProfileKind::Duo(d) => json_of(&d.settings),
            ProfileKind::OneLogin(o) => json_of(&o.settings),
            ProfileKind::JumpCloud(j) => json_of(&j.settings),
            ProfileKind::PingFederate(p) => json_of(&p.settings),
            ProfileKind::Rfc(_) => serde_json::json!({}),
        }
    }

    pub fn mapping(&self) -> &mapping::Mapping {
        match &self.kind {
            ProfileKind::Entra(e) => &e.mapping,
            ProfileKind::Okta(o) => &o.mapping,
            ProfileKind::Duo(d) => &d.mapping,
            ProfileKind::OneLogin(o) => &o.run.mapping,
            ProfileKind::JumpCloud(j) => &j.run.mapping,
            ProfileKind::PingFederate(p) => &p.run.mapping,
            ProfileKind::Rfc(m) => m,
        }
    }

    /// What this IdP, with these settings, does to objects leaving scope or deleted.
    pub fn rules(&self) -> crate::check::expected::Rules {
        use crate::check::expected::{Deprovision, Rules};
        match &self.kind {
            ProfileKind::Entra(e) => e.rules(),
            ProfileKind::Okta(o) => o.rules(),
            ProfileKind::Duo(d) => d.rules(),
            // Duo's continuous schedule on their wires, with their deprovisioning.
            ProfileKind::OneLogin(o) => o.run.rules(),
            ProfileKind::JumpCloud(j) => j.run.rules(),
            ProfileKind::PingFederate(p) => p.run.rules(),
            // No source directory is provisioned: nothing is expected to leave.
            ProfileKind::Rfc(_) => Rules {
                out_of_scope_user: Deprovision::Nothing,
                disabled_user: Deprovision::Nothing,
                deleted_user: Deprovision::Nothing,
                out_of_scope_group: Deprovision::Nothing,
                groups_follow_push: false,
                clears_attributes: false,
                groups: true,
            },
        }
    }

    pub async fn test_connection(&self, ctx: &mut Ctx<'_>) -> Result<(), String> {
        match &self.kind {
            ProfileKind::Entra(e) => e.test_connection(ctx).await,
            ProfileKind::Okta(o) => o.test_connection(ctx).await,
            ProfileKind::Duo(d) => d.test_connection(ctx).await,
            ProfileKind::OneLogin(o) => o.run.test_connection(ctx).await,
            ProfileKind::JumpCloud(j) => j.run.test_connection(ctx).await,
            ProfileKind::PingFederate(p) => p.test_connection(ctx).await,
            ProfileKind::Rfc(_) => Err(NOT_AN_IDP.into()),
        }
    }

    pub async fn cycle(&self, ctx: &mut Ctx<'_>, kind: crate::scenario::model::CycleKind) {
        match &self.kind {
            ProfileKind::Entra(e) => e.cycle(ctx, kind).await,
            // Okta has no cycles: a cycle step just lets it react to what changed.
            ProfileKind::Okta(o) => o.react(ctx).await,
            ProfileKind::Duo(d) => d.react(ctx).await,
            ProfileKind::OneLogin(o) => o.run.react(ctx).await,
            ProfileKind::JumpCloud(j) => j.run.react(ctx).await,
            ProfileKind::PingFederate(p) => p.react(ctx).await,
            ProfileKind::Rfc(_) => {}
        }
    }

    /// Event-driven IdPs (Okta) react to each directory change as it happens; Entra waits
    /// for its next cycle.
    pub async fn react(&self, ctx: &mut Ctx<'_>) {
        match &self.kind {
            ProfileKind::Entra(_) | ProfileKind::Rfc(_) => {}
            ProfileKind::Okta(o) => o.react(ctx).await,
            ProfileKind::Duo(d) => d.react(ctx).await,
            ProfileKind::OneLogin(o) => o.run.react(ctx).await,
            ProfileKind::JumpCloud(j) => j.run.react(ctx).await,
            ProfileKind::PingFederate(p) => p.react(ctx).await,
        }
    }

    fn okta(&self, what: &str) -> Result<&okta::Okta, String> {
        match &self.kind {
            ProfileKind::Okta(o) => Ok(o),
            _ => Err(format!(
                "`{what}` is an Okta action; this scenario's IdP is {}",
                self.display_name()
            )),
        }
    }

    pub async fn push_groups(
        &self,
        ctx: &mut Ctx<'_>,
        groups: &[String],
        link: bool,
    ) -> Result<(), String> {
        self.okta(if link { "link_groups" } else { "push_groups" })?
            .push(ctx, groups, link)
            .await
    }

    pub async fn push_now(&self, ctx: &mut Ctx<'_>, groups: &[String]) -> Result<(), String> {
        self.okta("push_now")?.push_now(ctx, groups).await
    }

    pub async fn unlink_groups(
        &self,
        ctx: &mut Ctx<'_>,
        groups: &[String],
        delete: bool,
    ) -> Result<(), String> {
        self.okta("unlink_groups")?
            .unlink(ctx, groups, delete)
            .await
    }

    pub async fn import(
        &self,
        ctx: &mut Ctx<'_>,
    ) -> Result<Vec<crate::report::model::CheckReport>, String> {
        Ok(self.okta("import")?.import(ctx).await)
    }

    pub fn restart(&self, ctx: &mut Ctx<'_>, scope: crate::scenario::model::RestartScope) {
        match &self.kind {
            ProfileKind::Entra(e) => e.restart(ctx, scope),
            ProfileKind::Okta(_) => ctx.sync_mut().restart(scope),
            ProfileKind::Duo(_)
            | ProfileKind::OneLogin(_)
            | ProfileKind::JumpCloud(_)
            | ProfileKind::PingFederate(_) => ctx.sync_mut().restart(scope),
            ProfileKind::Rfc(_) => {}
        }
    }

    pub async fn provision_on_demand(
        &self,
        ctx: &mut Ctx<'_>,
        od: &crate::scenario::model::OnDemand,
    ) -> Result<(), String> {
        match &self.kind {
            ProfileKind::Entra(e) => e.provision_on_demand(ctx, od).await,
            ProfileKind::Okta(_) => Err("provision on demand is an Entra ID action".into()),
            ProfileKind::Duo(_)
            | ProfileKind::OneLogin(_)
            | ProfileKind::JumpCloud(_)
            | ProfileKind::PingFederate(_) => {
                Err("provision on demand is an Entra ID action".into())
            }
            ProfileKind::Rfc(_) => Err(NOT_AN_IDP.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const B: Behaviour = Behaviour {
        name: "update user (PATCH /Users/{id}: PascalCase ops, \"True\"/\"False\" strings)",
        source: "https://learn.microsoft.com/",
        inferred: false,
    };

    fn write(
        exchange: u64,
        method: &str,
        body: serde_json::Value,
        behaviour: &'static str,
    ) -> Write {
        Write {
            exchange,
            behaviour: Behaviour {
                name: behaviour,
                source: "s",
                inferred: false,
            },
            fields: touched_fields(method, Some(&body)).into(),
            status: Some(200),
            request: format!("{method} /x").into(),
        }
    }

    /// A server numbering users and groups in separate sequences gives both an id "1": the
    /// group POST (with members) must never be blamed for the user's displayName.
    #[test]
    fn blame_looks_only_at_the_object_and_attribute_the_diff_is_about() {
        let mut ledger = Ledger::default();
        let user = (ObjectKind::User, "1".to_string());
        let group = (ObjectKind::Group, "1".to_string());
        ledger.writes.entry(user.clone()).or_default().push(write(
            2,
            "POST",
            json!({"userName": "a", "displayName": "A"}),
            "create user",
        ));
        ledger.writes.entry(user.clone()).or_default().push(write(
            3,
            "PATCH",
            json!({"Operations": [{"op": "Replace", "path": "active", "value": "False"}]}),
            "disable user",
        ));
        ledger.writes.entry(group).or_default().push(write(
            4,
            "POST",
            json!({"displayName": "G", "members": [{"value": "1"}]}),
            "Group Push",
        ));
        let ids = vec!["1".to_string()];
        let w = ledger
            .blame(ObjectKind::User, &ids, &["displayName".into()])
            .expect("a write");
        assert_eq!((w.exchange, w.behaviour.name), (2, "create user"));
        let w = ledger
            .blame(ObjectKind::User, &ids, &["active".into()])
            .expect("a write");
        assert_eq!(w.exchange, 3);
        // A write that touched another attribute is not blamed for `name.givenName`... but the
        // creating POST set the whole first state.
        let w = ledger
            .blame(ObjectKind::User, &ids, &["name".into()])
            .expect("a write");
        assert_eq!(w.exchange, 2);
    }

    #[test]
    fn touched_fields_follow_the_operations() {
        let patch = json!({"Operations": [
            {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "a@b.c"},
            {"op": "Replace", "path": "name.givenName", "value": "A"},
            {"op": "replace", "value": {"active": false,
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "X"}}}
        ]});
        assert_eq!(
            touched_fields("PATCH", Some(&patch)),
            [
                "emails",
                "name.givenName",
                "active",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
            ]
        );
        // A PUT replaces: it writes what it omits too.
        assert_eq!(
            touched_fields("PUT", Some(&json!({"userName": "a"}))),
            ["*"]
        );
        let w = write(1, "PATCH", patch, "x");
        assert!(w.touches("name"));
        assert!(w.touches("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
        assert!(!w.touches("displayName"));
    }

    fn refused(detail: &str, scim_type: &str) -> Response {
        Response {
            exchange: 7,
            status: Some(400),
            body: Some(json!({"status": "400", "scimType": scim_type, "detail": detail})),
            text: None,
            retry_after: None,
            error: None,
            headers: Vec::new(),
        }
    }

    fn entra_patch() -> Request {
        let mut req = Request::new(crate::client::Method::PATCH, "/Users/2819c223");
        req.body = Some(patch_body(vec![
            json!({"op": "Replace", "path": "active", "value": "False"}),
            json!({"op": "Add", "path": "emails[type eq \"work\"].value", "value": "a@example.com"}),
        ]));
        req
    }

    #[test]
    fn the_cause_names_the_operation_the_server_names() {
        let cause = failure_cause(
            &entra_patch(),
            &refused(
                "add is not supported on a filtered path: emails[type eq \"work\"].value",
                "invalidPath",
            ),
        );
        assert!(
            cause.starts_with(
                "PATCH /Users/{id} answered HTTP 400 (scimType invalidPath): add is not supported"
            ),
            "{cause}"
        );
        assert!(
            cause.contains(r#"refused operation 2 of 2: "Add" emails[type eq "work"].value = "a@example.com" (attribute emails)"#),
            "{cause}"
        );
        assert!(!cause.contains("\"Replace\""), "{cause}");
        assert_eq!(B.short_name(), "update user");
    }

    #[test]
    fn an_unnamed_operation_is_not_guessed() {
        let cause = failure_cause(&entra_patch(), &refused("bad request", "invalidValue"));
        assert!(
            cause.contains("the server does not say which of the 2 operations it refused: 1. \"Replace\" active = \"False\"; 2. \"Add\""),
            "{cause}"
        );
        assert!(!cause.contains("refused operation"), "{cause}");
    }
}
