//! What an IdP puts on the wire, as data: the headers of every request, how a lookup filter is
//! encoded and where it goes in the query, what a create body carries besides the mapped
//! attributes, how an update, a deactivation and a membership change are shaped, the 429
//! policy, the provisioning log's vocabulary, and every request's behaviour with its public
//! source and how sure that source is (`doc` documented, `obs` observed in a capture, `inf`
//! inferred: reports mark it inferred). The engine ([`super::engine`]) sends exactly this; a
//! profile (`duo.rs`, ...) keeps only its schedule.
//!
//! The bundled wires are YAML files compiled in (`src/idp/wires/*.yaml`); a scenario can load
//! its own. An excerpt of `src/idp/wires/duo.yaml`:
//!
//! ```yaml
//! name: Duo
//! sources:
//!   D1: https://duo.com/docs/automated-provisioning
//! headers:
//!   always: ["Accept: application/scim+json"]     # absent here = not sent
//!   with_body: ["Content-Type: application/scim+json"]
//! lookup: { encoding: percent, users: "filter={filter}", groups: "filter={filter}" }
//! update: { user: patch }                          # or put: GET then PUT of the whole resource
//! deactivate: { user: path }                       # {"op":"replace","path":"active","value":false}
//! behaviours:
//!   user_lookup: { name: "user lookup before create (GET /Users?filter=userName eq \"…\")", source: D1, grade: inf }
//! ```
//!
//! A behaviour is looked up by role (`user_deactivate`), or by role and shape
//! (`user_deactivate:pathless`) when the shape is a setting, so its name always describes the
//! request that really went out.

use crate::idp::Behaviour;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// An IdP's wire description. Fields are documented where they are read (the engine).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wire {
    /// The IdP's name in findings and reports: `Duo`.
    pub name: String,
    /// Short keys for source URLs, so a behaviour can say `source: D1`.
    #[serde(default)]
    pub sources: BTreeMap<String, String>,
    pub headers: Headers,
    /// A 429 is retried after its Retry-After, capped at this many seconds, up to three times;
    /// absent: never retried.
    #[serde(default)]
    pub retry_429: Option<u64>,
    /// Seconds the IdP waits for each answer (Okta: 60, its SCIM FAQ). Used when the user
    /// gave no `--timeout`; absent: the client's default.
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    #[serde(default)]
    pub connect: Connect,
    pub lookup: Lookup,
    #[serde(default)]
    pub create: Create,
    #[serde(default)]
    pub update: Update,
    /// How a PATCH is written: op casing, booleans, when an attribute is added.
    #[serde(default)]
    pub patch: Patch,
    #[serde(default)]
    pub deactivate: Deactivate,
    #[serde(default)]
    pub members: Members,
    pub log: Vocabulary,
    /// Every request's behaviour by role: what findings and the blame cite.
    pub behaviours: BTreeMap<String, Fact>,
    /// `behaviours`, resolved to [`Behaviour`]s (strings made `'static` once per loaded wire).
    #[serde(skip)]
    resolved: BTreeMap<String, Behaviour>,
    /// `name`, made `'static` at load (findings carry it).
    #[serde(skip)]
    display: &'static str,
}

/// Request headers, `Name: value`, in the order they go out. A header not listed is not sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Headers {
    /// On every request.
    #[serde(default)]
    pub always: Vec<String>,
    /// Only on requests with a body (`Content-Type`).
    #[serde(default)]
    pub with_body: Vec<String>,
}

/// The connection test an admin clicks before provisioning starts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connect {
    #[serde(default)]
    pub check: ConnectionCheck,
    /// The query of a `list` check: `/Users?startIndex=1&count=1`.
    #[serde(default = "default_list_path")]
    pub list_path: String,
}

fn default_list_path() -> String {
    "/Users?startIndex=1&count=1".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionCheck {
    /// `GET /Users?filter=userName eq "<random>"`
    #[default]
    Filter,
    /// `GET` of `list_path`.
    List,
    /// The wire's own user lookup (`lookup.users`, its encoding) of a userName that does not
    /// exist: a ListResponse passes, and a 404 too when `lookup.not_found_404` (OneLogin).
    Lookup,
    /// A test user and a test group are created, then deleted; a user DELETE answered 405 or
    /// 501 (not supported) deactivates the test user instead (JumpCloud's save).
    TestObjects,
}

/// How a lookup by the matching attribute is written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    #[serde(default)]
    pub encoding: FilterEncoding,
    /// The query of a user lookup; `{filter}` is replaced by the encoded filter:
    /// `filter={filter}&startIndex=1&count=100`.
    pub users: String,
    /// The same for groups: `excludedAttributes=members&filter={filter}`. Unused (may be
    /// empty) when `groups_listing` is set.
    #[serde(default)]
    pub groups: String,
    /// A user lookup's filter expression instead of `{attr} eq "{value}"`: `%s` is the value
    /// of the matching attribute, escaped as inside a JSON string. PingOne's examples use
    /// capitalised operators: `userName Eq "%s"`.
    #[serde(default)]
    pub user_expression: Option<String>,
    /// Groups are not looked up by filter: the listing `GET /Groups?{this}` is paged
    /// (`{start}` is the 1-based startIndex) to its end, bounded by `--max-pages`, and only a
    /// group whose matching attribute equals the run-scoped name exactly is adopted
    /// (PingFederate: `startIndex={start}&count=100`).
    #[serde(default)]
    pub groups_listing: Option<String>,
    /// A 404 answer to a lookup means "not found" (Okta) instead of a failure.
    #[serde(default)]
    pub not_found_404: bool,
    /// Users are matched on these target attributes, in precedence order, the first hit
    /// winning (Entra's "matching precedence"); absent: the mapping's matching attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_attributes: Option<Vec<String>>,
    /// What a lookup answering several resources means.
    #[serde(default)]
    pub duplicates: Duplicates,
    /// The query of a group read by id (before an update): `excludedAttributes=members` gives
    /// `GET /Groups/{id}?excludedAttributes=members` (Entra); empty: none.
    #[serde(default)]
    pub group_get: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Duplicates {
    /// The first resource answered is adopted.
    #[default]
    AdoptFirst,
    /// Nothing is adopted: the object fails with `DuplicateTargetEntries` and a finding
    /// (Entra: "more than one target entry matched").
    Refuse,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FilterEncoding {
    /// `filter=userName%20eq%20%22…%22`
    #[default]
    Percent,
    /// `filter=userName+eq+%22…%22` (form encoding).
    Plus,
}

/// What a create body carries besides the mapped attributes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Create {
    /// `schemas` lists the core URN and every extension the body carries, plus these URNs even
    /// when no attribute of theirs is sent (Entra lists the enterprise one).
    #[serde(default)]
    pub user_schemas_always: Vec<String>,
    /// `externalId` is the IdP's object id when the mapping gives none.
    #[serde(default)]
    pub external_id: bool,
    /// Extra members of a user create body, in order (`groups: []`); the string `$password`
    /// stands for a throwaway password, fresh per request.
    #[serde(default)]
    pub user_extras: Map<String, Value>,
    /// A group create carries the members already provisioned; `false`: `members: []`, and
    /// the members follow in an update.
    #[serde(default = "yes")]
    pub group_members: bool,
    /// `schemas` of every user body (create and full PUT) is exactly this list, whatever the
    /// body carries: an admin-edited template's own (OneLogin: `urn:scim:schemas:core:1.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_schemas: Option<Vec<String>>,
    /// `active` of every user body (create and full PUT) is a string, `"true"` or `"false"`
    /// (a template that quotes its placeholder: `"active": "{$user.active}"`).
    #[serde(default)]
    pub string_booleans: bool,
    /// A group with no member to send is created; `false`: it waits until it has one
    /// (JumpCloud).
    #[serde(default = "yes")]
    pub empty_groups: bool,
    /// A user disabled in the source and in scope is created inactive (`active: false`, from
    /// the mapping) instead of being left out (PingFederate "Provision disabled users").
    #[serde(default)]
    pub disabled_users: bool,
    /// `schemas` lists every extension URN the body carries; `false`: only the core URN and
    /// `user_schemas_always` (Entra leaves custom extension URNs out).
    #[serde(default = "yes")]
    pub list_extensions: bool,
    /// `active: true` goes last, after the extras (Okta's documented body); `false`: `active`
    /// stays where the mapping puts it (Entra).
    #[serde(default = "yes")]
    pub active_last: bool,
    /// URNs a group create lists after the core Group URN (Entra: the ADSCIM one).
    #[serde(default)]
    pub group_schemas_always: Vec<String>,
    /// Extra members of a group create body, after the mapped attributes (`meta`).
    #[serde(default)]
    pub group_extras: Map<String, Value>,
    /// Mapped group attributes that lead the body, right after `schemas` (`externalId`).
    #[serde(default)]
    pub group_first: Vec<String>,
    /// A group create without members still carries `members: []`; `false`: no `members`
    /// at all (Entra).
    #[serde(default = "yes")]
    pub empty_members: bool,
}

impl Default for Create {
    fn default() -> Self {
        Create {
            user_schemas_always: Vec::new(),
            external_id: false,
            user_extras: Map::new(),
            group_members: true,
            user_schemas: None,
            string_booleans: false,
            empty_groups: true,
            disabled_users: false,
            list_extensions: true,
            active_last: true,
            group_schemas_always: Vec::new(),
            group_extras: Map::new(),
            group_first: Vec::new(),
            empty_members: true,
        }
    }
}

/// The serde default for a `true` setting (shared by every profile's settings).
pub fn yes() -> bool {
    true
}

/// How a user update is sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Update {
    #[serde(default)]
    pub user: UpdateVerb,
    /// `put`: an attribute the mapping no longer gives is left out of the PUT, meaning
    /// cleared (Okta).
    #[serde(default)]
    pub put_clears_omitted: bool,
    /// `put`: the PUT goes out even when the resource GET returned already holds every
    /// mapped value; `false`: nothing is sent then (Okta).
    #[serde(default = "yes")]
    pub put_when_unchanged: bool,
    /// Appended to the path of a user PUT, as the IdP writes it: `?` gives `PUT /Users/{id}?`
    /// (OneLogin).
    #[serde(default)]
    pub put_suffix: String,
}

impl Default for Update {
    fn default() -> Self {
        Update {
            user: UpdateVerb::Patch,
            put_clears_omitted: false,
            put_when_unchanged: true,
            put_suffix: String::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateVerb {
    /// PATCH of the attributes that changed: `replace`, or `add` for a filtered path with
    /// nothing to match (RFC 7644 §3.5.2.3).
    #[default]
    Patch,
    /// GET, then PUT of the resource GET returned, edited.
    Put,
}

/// How a PATCH is written. The default is RFC 7644's: lowercase ops, JSON booleans, `add` only
/// for a filtered path with nothing to match (§3.5.2.3).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    #[serde(default)]
    pub op_case: OpCase,
    /// Booleans go as `"True"` and `"False"` (Entra without `aadOptscim062020`).
    #[serde(default)]
    pub string_booleans: bool,
    #[serde(default)]
    pub add: AddWhen,
    /// Attributes without a filter go in one path-less replace, filtered ones first with
    /// their own op; one attribute alone keeps its path (Entra's `aadOptscim062020`).
    #[serde(default)]
    pub pathless: bool,
    /// The variant of the behaviours this dialect's requests are cited under: a user update
    /// that disables is `user_deactivate:{variant}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpCase {
    /// `add`, `replace`, `remove`.
    #[default]
    Lower,
    /// `Add`, `Replace`, `Remove`.
    Pascal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddWhen {
    /// `add` for a filtered path that had no value, `replace` otherwise.
    #[default]
    Filtered,
    /// `add` for every attribute that had no value.
    Absent,
}

/// How a user is deactivated and reactivated.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deactivate {
    #[serde(default)]
    pub user: DeactivateShape,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeactivateShape {
    /// `{"op":"replace","path":"active","value":false}`
    #[default]
    Path,
    /// `{"op":"replace","value":{"active":false}}`
    Pathless,
    /// GET, then PUT of the resource GET returned with `active` set.
    Put,
}

impl DeactivateShape {
    /// The variant key of its behaviours: `user_deactivate:pathless`.
    pub fn key(self) -> &'static str {
        match self {
            DeactivateShape::Path => "path",
            DeactivateShape::Pathless => "pathless",
            DeactivateShape::Put => "put",
        }
    }
}

/// How a group's membership changes are sent.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Members {
    #[serde(default)]
    pub remove: MemberRemove,
    /// A member value carries `display`, this source attribute of the user (Okta: `login`).
    #[serde(default)]
    pub display: Option<String>,
    /// How a group's membership is updated: PATCH ops, or GET then PUT of the whole group.
    #[serde(default)]
    pub update: UpdateVerb,
    /// Where a rename goes when membership changes too.
    #[serde(default)]
    pub rename: Rename,
    /// The add op comes before the removes (Entra); default: removes first.
    #[serde(default)]
    pub add_first: bool,
    /// An added member is `{"$ref": null, "value": id}` (Entra's documented shape).
    #[serde(default)]
    pub ref_null: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rename {
    /// `{"op":"replace","path":"displayName","value":…}` in the same PATCH as the members.
    #[default]
    PathOp,
    /// `{"op":"replace","value":{"id":…,"displayName":…}}` first in every membership PATCH,
    /// changed or not (Okta OIN).
    WithMembers,
    /// The path-less rename op in a PATCH of its own; membership PATCHes carry only member ops.
    Separate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberRemove {
    /// `{"op":"remove","path":"members","value":[{"value":id}, …]}`
    #[default]
    PathList,
    /// `{"op":"remove","path":"members[value eq \"id\"]"}`, one op per member.
    FilterPath,
}

/// The provisioning log's words.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vocabulary {
    /// Action by event (`user_create`), or by event and outcome (`user_create.failed`, looked
    /// up first when the request failed). `{label}` is replaced by the object's name.
    pub actions: BTreeMap<String, String>,
    /// The error code when no answer came (`NoAnswer`); a status gives `HTTP 409`.
    pub no_answer: String,
    /// `what`: each line says what was done ("created", "lookup: HTTP 500 …"); `answer`: only a
    /// failure has a detail, the server's answer.
    #[serde(default)]
    pub detail: Detail,
    /// Code and detail when a create answered success without an id.
    pub no_id: Refusal,
    /// Code and detail when a lookup answered success without a ListResponse; absent: the
    /// answer is logged as it came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_list: Option<Refusal>,
    /// Error codes of a failed answer instead of `HTTP {status}`: by `{event}.{status}`,
    /// `{status}`, `5xx`, then `other`; `timeout` and `transport` when no answer came
    /// (Entra's provisioning-log codes). Lookups are the event `lookup`.
    #[serde(default)]
    pub codes: BTreeMap<String, String>,
    /// A failure that is not an answer (no id, not owned) cites this page in its detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_source: Option<String>,
    /// A create's line lists the mapped attributes it sent as modified properties.
    #[serde(default)]
    pub create_modified: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detail {
    #[default]
    What,
    Answer,
}

/// An error code with its log detail.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refusal {
    pub code: String,
    pub detail: String,
    /// The finding's message (default: `HTTP 201 without the created user's id`).
    #[serde(default)]
    pub finding: Option<String>,
}

/// One behaviour: what the request is, its source, and how sure it is.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fact {
    pub name: String,
    /// A URL, or a key of `sources`.
    pub source: String,
    pub grade: Grade,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// A public document shows it.
    Doc,
    /// A public capture shows it.
    Obs,
    /// No public source shows it: reports mark it inferred.
    Inf,
}

/// A wire file that cannot be used: where, what, and how to fix it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}\n  hint: {hint}")]
pub struct WireError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub hint: String,
}

const HINT: &str = "a wire file has name, sources, headers, retry_429, connect, lookup, create, \
     update, deactivate, members, log and behaviours (the format: src/idp/wires/duo.yaml)";

/// Roles every wire must describe: the engine sends these requests.
pub const REQUIRED_ROLES: &[&str] = &[
    "user_lookup",
    "user_create",
    "user_update",
    "user_deactivate",
    "group_lookup",
    "group_create",
    "group_update",
];

impl Wire {
    /// Parses and checks a wire file; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Wire, WireError> {
        use serde_saphyr::MessageFormatter;
        let options = serde_saphyr::options! { strict_booleans: true, with_snippet: false };
        let mut wire: Wire = serde_saphyr::from_str_with_options(text, options).map_err(|e| {
            let (line, column) = e
                .location()
                .map_or((1, 1), |l| (l.line().max(1), l.column().max(1)));
            WireError {
                file: file.into(),
                line: line as usize,
                column: column as usize,
                message: crate::client::truncate_marked(
                    &serde_saphyr::UserMessageFormatter.format_message(&e),
                    300,
                ),
                hint: HINT.into(),
            }
        })?;
        let at = |needle: &str| -> (usize, usize) {
            text.lines()
                .position(|l| l.contains(needle))
                .map_or((1, 1), |i| (i + 1, 1))
        };
        let err = |needle: &str, message: String, hint: &str| {
            let (line, column) = at(needle);
            WireError {
                file: file.into(),
                line,
                column,
                message,
                hint: hint.into(),
            }
        };
        for h in wire.headers.always.iter().chain(&wire.headers.with_body) {
            if h.split_once(": ").is_none_or(|(n, _)| n.is_empty()) {
                return Err(err(
                    h,
                    format!("header {h:?} is not `Name: value`"),
                    "write each header as it goes out, e.g. \"Accept: application/scim+json\"",
                ));
            }
        }
        let mut queries = vec![(&wire.lookup.users, "users")];
        match &wire.lookup.groups_listing {
            None => queries.push((&wire.lookup.groups, "groups")),
            Some(l) if !l.contains("{start}") => {
                return Err(err(
                    l,
                    "lookup.groups_listing has no {start}".into(),
                    "a listing pages by startIndex: startIndex={start}&count=100",
                ))
            }
            Some(_) => {}
        }
        if let Some(e) = wire
            .lookup
            .user_expression
            .as_ref()
            .filter(|e| !e.contains("%s"))
        {
            return Err(err(
                e,
                "lookup.user_expression has no %s".into(),
                "the expression names where the value goes: userName Eq \"%s\"",
            ));
        }
        for (q, what) in queries {
            if !q.contains("{filter}") {
                return Err(err(
                    q,
                    format!("lookup.{what} has no {{filter}}"),
                    "a lookup query names where the filter goes: filter={filter}&startIndex=1",
                ));
            }
        }
        for role in REQUIRED_ROLES {
            let found = wire
                .behaviours
                .keys()
                .any(|k| k == role || k.split(':').next() == Some(role));
            if !found {
                return Err(err(
                    "behaviours:",
                    format!("behaviours has no `{role}`"),
                    "every request the engine sends names its behaviour: \
                     `ROLE: { name: \"…\", source: URL, grade: doc | obs | inf }`",
                ));
            }
        }
        let mut resolved = BTreeMap::new();
        for (role, f) in &wire.behaviours {
            let source = match wire.sources.get(&f.source) {
                Some(url) => url.clone(),
                None if f.source.contains("://") || f.source.contains('.') => f.source.clone(),
                None => {
                    return Err(err(
                        &format!("{role}:"),
                        format!(
                            "behaviour `{role}` names the source {:?}, which is neither a URL \
                             nor a key of `sources`",
                            f.source
                        ),
                        "add it under `sources:` or write the URL",
                    ))
                }
            };
            // Leaked once per loaded wire: behaviours are `'static` everywhere they are cited
            // (findings, the ledger's writes), and a run loads a handful of wires at most.
            resolved.insert(
                role.clone(),
                Behaviour {
                    name: Box::leak(f.name.clone().into_boxed_str()),
                    source: Box::leak(source.into_boxed_str()),
                    inferred: f.grade == Grade::Inf,
                },
            );
        }
        wire.resolved = resolved;
        wire.display = Box::leak(wire.name.clone().into_boxed_str());
        Ok(wire)
    }

    /// The IdP's name in findings and reports.
    pub fn display_name(&self) -> &'static str {
        self.display
    }

    /// Reads and parses a wire file (bounded like a scenario file); a path under `scenarios/`
    /// that is not on disk is taken from the bundled scenarios, as the scenario beside it was.
    pub fn load(path: &Path) -> Result<Wire, WireError> {
        if !path.exists() {
            let rel = path.to_string_lossy().replace('\\', "/");
            let rel = rel.trim_start_matches("./");
            if let Some((_, text)) = rel.strip_prefix("scenarios/").and_then(|r| {
                crate::scenario::bundled::FILES
                    .iter()
                    .find(|(name, _)| *name == r)
            }) {
                return Wire::parse(&path.display().to_string(), text);
            }
        }
        let text = crate::scenario::loader::read_bounded(
            path,
            crate::scenario::loader::MAX_SCENARIO_BYTES,
        )
        .map_err(|e| WireError {
            file: path.display().to_string(),
            line: 1,
            column: 1,
            message: e.to_string(),
            hint: "the wire file is read from the path the scenario gives, relative to the \
                   scenario file"
                .into(),
        })?;
        Wire::parse(&path.display().to_string(), &text)
    }

    /// The behaviour of `role` with the shape `variant` (`user_deactivate:pathless`), or of the
    /// role alone. Every required role is checked at load; an unknown one is a bug in a
    /// profile, and its requests are cited as that.
    pub fn behaviour(&self, role: &str, variant: Option<&str>) -> Behaviour {
        variant
            .and_then(|v| self.resolved.get(&format!("{role}:{v}")))
            .or_else(|| self.resolved.get(role))
            .copied()
            .unwrap_or(Behaviour {
                name: "undescribed request (the wire file names no behaviour for it)",
                source: "the wire file",
                inferred: true,
            })
    }

    /// Whether the wire names a behaviour for exactly `role:variant`.
    pub fn has_behaviour(&self, role: &str, variant: &str) -> bool {
        self.resolved.contains_key(&format!("{role}:{variant}"))
    }

    /// The log action for `event`, failed or not, with `{label}` filled in.
    pub fn action(&self, event: &str, ok: bool, label: &str) -> String {
        let a = self
            .log
            .actions
            .get(&format!("{event}.failed"))
            .filter(|_| !ok);
        a.or_else(|| self.log.actions.get(event))
            .map_or_else(|| event.to_string(), |s| s.replace("{label}", label))
    }

    /// The headers of a request, with or without a body.
    pub fn headers(&self, body: bool) -> impl Iterator<Item = (&str, &str)> {
        let with_body = if body {
            &self.headers.with_body[..]
        } else {
            &[]
        };
        self.headers
            .always
            .iter()
            .chain(with_body)
            .filter_map(|h| h.split_once(": "))
    }
}

/// A bundled wire, parsed once.
macro_rules! bundled {
    ($fn:ident, $file:literal) => {
        pub fn $fn() -> &'static Wire {
            static W: std::sync::OnceLock<Wire> = std::sync::OnceLock::new();
            W.get_or_init(|| {
                Wire::parse(
                    concat!("src/idp/wires/", $file),
                    include_str!(concat!("wires/", $file)),
                )
                .unwrap_or_else(|e| panic!("bundled wire: {e}"))
            })
        }
    };
}

bundled!(duo, "duo.yaml");
bundled!(okta, "okta.yaml");
bundled!(onelogin, "onelogin.yaml");
bundled!(jumpcloud, "jumpcloud.yaml");
bundled!(entra, "entra.yaml");
// branch ping: PingFederate / PingOne outbound SCIM.
bundled!(pingfederate, "pingfederate.yaml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_wires_parse() {
        let w = duo();
        assert_eq!(w.name, "Duo");
        let b = w.behaviour("user_deactivate", Some("pathless"));
        assert!(
            b.name.contains("\"value\":{\"active\":false}"),
            "{}",
            b.name
        );
        assert!(b.inferred);
        assert!(b.source.starts_with("https://"));
        let o = okta();
        assert_eq!(o.name, "Okta");
        let h: Vec<_> = o.headers(true).collect();
        assert_eq!(h[0], ("User-Agent", "Okta SCIM Client 1.0.0"));
        assert_eq!(
            h[3],
            ("Content-Type", "application/scim+json; charset=utf-8")
        );
        assert_eq!(o.headers(false).count(), 3);
        assert!(!o.behaviour("user_deactivate", Some("pathless")).inferred);
        assert!(o.behaviour("user_reactivate", Some("pathless")).inferred);
        // Entra's GETs carry no header at all (no SCIM media type); a body its Content-Type.
        let e = entra();
        assert_eq!(e.headers(false).count(), 0);
        assert_eq!(
            e.headers(true).collect::<Vec<_>>(),
            [("Content-Type", "application/scim+json; charset=utf-8")]
        );
        assert!(e.behaviour("group_get", None).inferred);
        assert!(!e.behaviour("probe", None).inferred);
    }

    #[test]
    fn a_bad_wire_points_at_its_line() {
        let text = duo_text().replace("  user: patch", "  user: post");
        let e = Wire::parse("acme.wire.yaml", &text).unwrap_err();
        let line = text.lines().position(|l| l.contains("user: post")).unwrap() + 1;
        assert_eq!(e.line, line, "{e}");
        assert!(e.to_string().starts_with("acme.wire.yaml:"), "{e}");
        assert!(e.message.contains("post"), "{e}");

        let text = duo_text().replace("retry_429:", "retry_492:");
        let e = Wire::parse("acme.wire.yaml", &text).unwrap_err();
        assert!(e.message.contains("retry_492"), "{e}");
        assert!(e.hint.contains("headers"), "{e}");

        let text = duo_text().replace("  user_lookup:", "  user_find:");
        let e = Wire::parse("acme.wire.yaml", &text).unwrap_err();
        assert!(e.message.contains("no `user_lookup`"), "{e}");

        let text = duo_text().replace("\"Accept: application/scim+json\"", "\"Accept\"");
        let e = Wire::parse("acme.wire.yaml", &text).unwrap_err();
        assert!(e.message.contains("not `Name: value`"), "{e}");
    }

    /// branch ping: a listing without `{start}` or an expression without `%s` cannot page or
    /// carry the value; each is refused at its line.
    #[test]
    fn listing_and_expression_are_checked() {
        let text = include_str!("wires/pingfederate.yaml");
        let w = Wire::parse("p.yaml", text).unwrap();
        assert_eq!(
            w.lookup.groups_listing.as_deref(),
            Some("startIndex={start}&count=100")
        );
        let bad = text.replace("startIndex={start}&count=100", "startIndex=1&count=100");
        let e = Wire::parse("p.yaml", &bad).unwrap_err();
        assert!(e.message.contains("no {start}"), "{e}");
        let line = bad
            .lines()
            .position(|l| l.contains("startIndex=1&count=100"))
            .unwrap()
            + 1;
        assert_eq!(e.line, line, "{e}");
        let bad = text.replace("userName Eq \\\"%s\\\"", "userName Eq x");
        let e = Wire::parse("p.yaml", &bad).unwrap_err();
        assert!(e.message.contains("no %s"), "{e}");
        // Without a listing, `groups` needs its filter.
        let bad = text.replace("  groups_listing: \"startIndex={start}&count=100\"\n", "");
        let e = Wire::parse("p.yaml", &bad).unwrap_err();
        assert!(e.message.contains("lookup.groups has no {filter}"), "{e}");
    }

    fn duo_text() -> String {
        include_str!("wires/duo.yaml").to_string()
    }
}
