//! The reference server's directory: users and groups in memory, indexed by id, userName,
//! externalId and displayName, safe under concurrent requests, optionally persisted.
//!
//! Persistence (`--state FILE`): every acknowledged write is appended to `FILE.journal` and
//! fsynced before the answer leaves; the journal is folded into `FILE` (temp file + rename) at
//! start-up and whenever it grows past the size of the directory. A journal line:
//!
//! ```json
//! {"put":"User","entry":{"id":"4f…","seq":3,"body":{"id":"4f…","userName":"josue@contoso.com","meta":{…}},"password":null,"version":2}}
//! ```

use crate::scim::error::ScimError;
use crate::scim::filter::{get_ci, top_value, AttrPath, CompareOp, Filter};
use crate::scim::kind::ObjectKind;
use crate::scim::resource::Normalized;
use crate::scim::schema::{is_urn, ResourceTypeDef, GROUP_URN, USER_URN};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

/// One stored resource. `body` holds every attribute a filter can see, `id` and `meta`
/// (without `location`, which depends on the request's host) included.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    pub seq: u64,
    pub body: Body,
    pub password: Option<String>,
    pub version: u64,
}

/// A stored body. A `serde_json::Value` tree costs about 6 KB for an ordinary user (each
/// key and value a heap allocation inside an ordered map); its compact JSON text costs about
/// 0.7 KB. So bodies are kept as text and parsed when read (a few microseconds for a user).
/// Groups too: their members are most of a tenant's memberships (136 MB as trees at 100,000
/// users); a membership PATCH rewrites the group whole either way (a tree was cloned, a text is
/// parsed), and a user's render reads its groups' names from [`Collection::names`], not from
/// their bodies. 100,000 users took 603 MiB as trees.
#[derive(Debug, Clone)]
pub enum Body {
    Tree(Value),
    Text(Box<str>),
}

impl Body {
    pub fn new(v: Value) -> Body {
        match serde_json::to_string(&v) {
            Ok(text) => Body::Text(text.into_boxed_str()),
            Err(_) => Body::Tree(v),
        }
    }

    /// The body as a tree: borrowed, or parsed from its text.
    pub fn value(&self) -> std::borrow::Cow<'_, Value> {
        match self {
            Body::Tree(v) => std::borrow::Cow::Borrowed(v),
            // The text was written by `serde_json::to_string` from a Value: it parses.
            Body::Text(t) => {
                std::borrow::Cow::Owned(serde_json::from_str(t).unwrap_or(Value::Null))
            }
        }
    }
}

impl Serialize for Body {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Body, D::Error> {
        Value::deserialize(d).map(Body::new)
    }
}

impl Entry {
    pub fn etag(&self) -> String {
        format!("W/\"{}\"", self.version)
    }
}

/// A few ids, sorted: what an index keeps per externalId, displayName or member. Nearly
/// always one or two; a `BTreeSet` allocates a node for eleven (~280 bytes) even for one, and
/// a 100,000-user directory keeps three such sets per user.
#[derive(Debug, Clone, Default)]
struct IdSet(Vec<String>);

impl IdSet {
    fn insert(&mut self, id: String) {
        if let Err(at) = self.0.binary_search(&id) {
            self.0.insert(at, id);
        }
    }

    fn remove(&mut self, id: &str) {
        if let Ok(at) = self.0.binary_search_by(|x| x.as_str().cmp(id)) {
            self.0.remove(at);
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn iter(&self) -> std::slice::Iter<'_, String> {
        self.0.iter()
    }
}

impl IntoIterator for IdSet {
    type Item = String;
    type IntoIter = std::vec::IntoIter<String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

#[derive(Default)]
struct Collection {
    by_id: HashMap<String, Entry>,
    order: BTreeMap<u64, String>,
    /// userName (users) or displayName (groups), lower-cased → id. Unique.
    by_unique: HashMap<String, String>,
    /// externalId (exact) → ids.
    by_external: HashMap<String, IdSet>,
    /// displayName, lower-cased → ids (users only; groups use `by_unique`).
    by_display: HashMap<String, IdSet>,
    /// id → displayName as stored (groups only): what a user's `groups` shows, without
    /// parsing each group's body (members and all) on every user's render.
    names: HashMap<String, Box<str>>,
}

fn str_attr<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    get_ci(body, name).and_then(Value::as_str)
}

impl Collection {
    fn index(&mut self, kind: ObjectKind, e: &Entry, add: bool) {
        let [unique, external, display] = match &e.body {
            Body::Tree(body) => [
                str_attr(body, kind.unique_attr()),
                str_attr(body, "externalId"),
                str_attr(body, "displayName"),
            ]
            .map(|v| v.map(str::to_string)),
            Body::Text(text) => {
                top_strings(text, [kind.unique_attr(), "externalId", "displayName"])
            }
        };
        if kind == ObjectKind::Group {
            // A group's unique attribute is its displayName.
            match (&unique, add) {
                (Some(name), true) => {
                    self.names.insert(e.id.clone(), name.as_str().into());
                }
                _ => {
                    self.names.remove(&e.id);
                }
            }
        }
        let unique = unique.map(|u| u.to_lowercase());
        let display = display
            .filter(|_| kind == ObjectKind::User)
            .map(|d| d.to_lowercase());
        if add {
            if let Some(u) = unique {
                self.by_unique.insert(u, e.id.clone());
            }
            if let Some(x) = external {
                self.by_external.entry(x).or_default().insert(e.id.clone());
            }
            if let Some(d) = display {
                self.by_display.entry(d).or_default().insert(e.id.clone());
            }
        } else {
            if let Some(u) = unique {
                if self.by_unique.get(&u) == Some(&e.id) {
                    self.by_unique.remove(&u);
                }
            }
            for (map, key) in [
                (&mut self.by_external, external),
                (&mut self.by_display, display),
            ] {
                if let Some(k) = key {
                    if let Some(set) = map.get_mut(&k) {
                        set.remove(&e.id);
                        if set.is_empty() {
                            map.remove(&k);
                        }
                    }
                }
            }
        }
    }
}

/// The string values of `names` at the top level of a stored body's JSON text, found as
/// [`get_ci`] finds them (the exact name first, else the first that matches ignoring case; a
/// value that is not a string counts as none), without building the tree: every write
/// re-indexes the old and the new body, and parsing both whole was a sixth of the server's
/// CPU in a 10,000-user run.
fn top_strings<const N: usize>(text: &str, names: [&str; N]) -> [Option<String>; N] {
    use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use std::fmt;

    /// A value: its text when it is a string; anything else is skipped.
    struct Str(Option<String>);
    impl<'de> Deserialize<'de> for Str {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Str, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Str;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a JSON value")
                }
                fn visit_str<E>(self, s: &str) -> Result<Str, E> {
                    Ok(Str(Some(s.to_string())))
                }
                fn visit_bool<E>(self, _: bool) -> Result<Str, E> {
                    Ok(Str(None))
                }
                fn visit_i64<E>(self, _: i64) -> Result<Str, E> {
                    Ok(Str(None))
                }
                fn visit_u64<E>(self, _: u64) -> Result<Str, E> {
                    Ok(Str(None))
                }
                fn visit_f64<E>(self, _: f64) -> Result<Str, E> {
                    Ok(Str(None))
                }
                fn visit_unit<E>(self) -> Result<Str, E> {
                    Ok(Str(None))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Str, A::Error> {
                    while a.next_element::<IgnoredAny>()?.is_some() {}
                    Ok(Str(None))
                }
                fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Str, A::Error> {
                    while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                    Ok(Str(None))
                }
            }
            d.deserialize_any(V)
        }
    }

    /// Per name: the value under the exact name, and under the first case-insensitive one.
    struct Top<'a, const N: usize>(&'a [&'a str; N]);
    type Found<const N: usize> = [(Option<Option<String>>, Option<Option<String>>); N];
    impl<'de, const N: usize> DeserializeSeed<'de> for Top<'_, N> {
        type Value = Found<N>;
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Found<N>, D::Error> {
            d.deserialize_map(self)
        }
    }
    impl<'de, const N: usize> Visitor<'de> for Top<'_, N> {
        type Value = Found<N>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Found<N>, A::Error> {
            let mut found: Found<N> = std::array::from_fn(|_| (None, None));
            while let Some(key) = a.next_key::<std::borrow::Cow<'de, str>>()? {
                let hit = self.0.iter().position(|n| n.eq_ignore_ascii_case(&key));
                let Some(i) = hit else {
                    a.next_value::<IgnoredAny>()?;
                    continue;
                };
                let v = a.next_value::<Str>()?.0;
                // The same key twice: the last one counts, as in a parsed tree.
                if key == self.0[i] {
                    found[i].0 = Some(v);
                } else if found[i].1.is_none() {
                    found[i].1 = Some(v);
                }
            }
            Ok(found)
        }
    }

    let mut de = serde_json::Deserializer::from_str(text);
    match Top(&names).deserialize(&mut de) {
        Ok(found) => found.map(|(exact, ci)| exact.or(ci).flatten()),
        // Stored text was written from a tree, so it parses; were it not to, the tree decides.
        Err(_) => {
            let body = Body::Text(text.into()).value().into_owned();
            names.map(|n| str_attr(&body, n).map(str::to_string))
        }
    }
}

/// A change to the directory: what the journal records and what replay applies.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Change {
    Put { put: ObjectKind, entry: Entry },
    Delete { delete: ObjectKind, id: String },
}

#[derive(Default)]
struct Inner {
    users: Collection,
    groups: Collection,
    next_seq: u64,
    /// member id → ids of the groups listing it.
    member_of: HashMap<String, IdSet>,
}

impl Inner {
    fn col(&self, kind: ObjectKind) -> &Collection {
        match kind {
            ObjectKind::User => &self.users,
            ObjectKind::Group => &self.groups,
        }
    }
    fn col_mut(&mut self, kind: ObjectKind) -> &mut Collection {
        match kind {
            ObjectKind::User => &mut self.users,
            ObjectKind::Group => &mut self.groups,
        }
    }
    fn find(&self, id: &str) -> Option<(ObjectKind, &Entry)> {
        self.users
            .by_id
            .get(id)
            .map(|e| (ObjectKind::User, e))
            .or_else(|| self.groups.by_id.get(id).map(|e| (ObjectKind::Group, e)))
    }

    fn apply(&mut self, change: Change) {
        match change {
            Change::Put { put: kind, entry } => {
                self.next_seq = self.next_seq.max(entry.seq + 1);
                if let Some(old) = self.col_mut(kind).by_id.remove(&entry.id) {
                    self.col_mut(kind).index(kind, &old, false);
                    self.col_mut(kind).order.remove(&old.seq);
                    if kind == ObjectKind::Group {
                        self.unlink_members(&old);
                    }
                }
                if kind == ObjectKind::Group {
                    for m in member_ids(&entry.body) {
                        self.member_of
                            .entry(m)
                            .or_default()
                            .insert(entry.id.clone());
                    }
                }
                let col = self.col_mut(kind);
                col.index(kind, &entry, true);
                col.order.insert(entry.seq, entry.id.clone());
                col.by_id.insert(entry.id.clone(), entry);
            }
            Change::Delete { delete: kind, id } => {
                if let Some(old) = self.col_mut(kind).by_id.remove(&id) {
                    self.col_mut(kind).index(kind, &old, false);
                    self.col_mut(kind).order.remove(&old.seq);
                    if kind == ObjectKind::Group {
                        self.unlink_members(&old);
                    }
                }
            }
        }
    }

    fn unlink_members(&mut self, group: &Entry) {
        for m in member_ids(&group.body) {
            if let Some(set) = self.member_of.get_mut(&m) {
                set.remove(&group.id);
                if set.is_empty() {
                    self.member_of.remove(&m);
                }
            }
        }
    }

    fn snapshot(&self) -> Value {
        let list = |c: &Collection| -> Vec<Value> {
            c.order
                .values()
                .filter_map(|id| c.by_id.get(id))
                .map(|e| serde_json::to_value(e).expect("entry"))
                .collect()
        };
        json!({"format": 1, "users": list(&self.users), "groups": list(&self.groups)})
    }
}

/// `meta.created` of a stored body, read without building its tree.
fn created_of(body: &Body) -> Option<String> {
    #[derive(Deserialize)]
    struct Resource {
        #[serde(default)]
        meta: Option<Meta>,
    }
    #[derive(Deserialize)]
    struct Meta {
        #[serde(default)]
        created: Option<Value>,
    }
    let r = match body {
        Body::Text(text) => serde_json::from_str::<Resource>(text).ok()?,
        Body::Tree(v) => Resource::deserialize(v).ok()?,
    };
    r.meta?.created?.as_str().map(str::to_string)
}

/// The `value` of each of a group's `members`. Read from a stored text without building its
/// tree: every membership PATCH reads the old and the new group's members.
fn member_ids(body: &Body) -> Vec<String> {
    #[derive(Deserialize)]
    struct Group {
        #[serde(default)]
        members: Option<Vec<Member>>,
    }
    #[derive(Deserialize)]
    struct Member {
        #[serde(default)]
        value: Option<Str>,
    }
    /// A string, or nothing for any other JSON (a member whose value is not a string).
    struct Str(Option<String>);
    impl<'de> Deserialize<'de> for Str {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            Ok(Str(Value::deserialize(d)?.as_str().map(str::to_string)))
        }
    }
    if let Body::Text(text) = body {
        if let Ok(g) = serde_json::from_str::<Group>(text) {
            return g
                .members
                .unwrap_or_default()
                .into_iter()
                .filter_map(|m| m.value.and_then(|s| s.0))
                .collect();
        }
    }
    member_ids_in(&body.value())
}

fn member_ids_in(body: &Value) -> Vec<String> {
    body.get("members")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|m| m.get("value").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

struct Journal {
    state: PathBuf,
    file: File,
    lines: usize,
}

impl Journal {
    fn path(state: &Path) -> PathBuf {
        let mut p = state.as_os_str().to_owned();
        p.push(".journal");
        PathBuf::from(p)
    }

    fn append(&mut self, changes: &[Change]) -> std::io::Result<()> {
        let mut buf = Vec::new();
        for c in changes {
            serde_json::to_writer(&mut buf, c)?;
            buf.push(b'\n');
        }
        self.file.write_all(&buf)?;
        self.file.sync_data()?;
        self.lines += changes.len();
        Ok(())
    }

    /// Writes the whole directory to the state file atomically, then empties the journal.
    fn compact(&mut self, inner: &Inner) -> std::io::Result<()> {
        // `FILE.tmp`: `with_extension("tmp")` would name the state file itself when it is
        // called `something.tmp`, and truncate it before the snapshot is safely written.
        let mut tmp = self.state.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        {
            let mut f = File::create(&tmp)?;
            serde_json::to_writer(&mut f, &inner.snapshot())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.state)?;
        if let Some(dir) = self.state.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        self.file.set_len(0)?;
        self.file.sync_all()?;
        self.lines = 0;
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read state file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state file {path} is not a scimulator state file: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    #[error("cannot write state file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The directory. Reads share a lock; writes take it alone, so each write sees the state the
/// previous one left.
pub struct Store {
    inner: RwLock<Inner>,
    journal: Option<Mutex<Journal>>,
}

/// Preconditions and results of a write.
pub type WriteResult = Result<Entry, ScimError>;

/// Parameters of a list or search (RFC 7644 §3.4.2).
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub filter: Option<Filter>,
    pub sort_by: Option<AttrPath>,
    pub descending: bool,
    /// 1-based (RFC 7644 §3.4.2.4); values below 1 mean 1.
    pub start_index: usize,
    pub count: Option<usize>,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn check_if_match(e: &Entry, if_match: Option<&str>) -> Result<(), ScimError> {
    match if_match {
        Some(want) if want.trim() != "*" && !want.split(',').any(|w| w.trim() == e.etag()) => {
            Err(ScimError::new(
                412,
                None,
                format!(
                    "If-Match {want} does not match the current version {}",
                    e.etag()
                ),
            ))
        }
        _ => Ok(()),
    }
}

impl Store {
    /// An empty, memory-only directory.
    pub fn in_memory() -> Store {
        Store {
            inner: RwLock::new(Inner::default()),
            journal: None,
        }
    }

    /// A directory persisted to `path` (created if missing), loaded with its journal replayed.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut inner = Inner::default();
        match std::fs::read(path) {
            Ok(bytes) if !bytes.is_empty() => {
                let v: Value = serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                    path: path.into(),
                    detail: e.to_string(),
                })?;
                for (key, kind) in [("users", ObjectKind::User), ("groups", ObjectKind::Group)] {
                    let list = v.get(key).and_then(Value::as_array).ok_or_else(|| {
                        StoreError::Corrupt {
                            path: path.into(),
                            detail: format!("no '{key}' array"),
                        }
                    })?;
                    for e in list {
                        let entry: Entry =
                            serde_json::from_value(e.clone()).map_err(|e| StoreError::Corrupt {
                                path: path.into(),
                                detail: e.to_string(),
                            })?;
                        inner.apply(Change::Put { put: kind, entry });
                    }
                }
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(StoreError::Read {
                    path: path.into(),
                    source: e,
                })
            }
        }
        let jpath = Journal::path(path);
        if let Ok(f) = File::open(&jpath) {
            // A torn last line is a write that was never acknowledged: stop there.
            for line in BufReader::new(f).lines() {
                let Ok(line) = line else { break };
                match serde_json::from_str::<Change>(&line) {
                    Ok(c) => inner.apply(c),
                    Err(_) => break,
                }
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&jpath)
            .map_err(|e| StoreError::Write {
                path: jpath.clone(),
                source: e,
            })?;
        let mut journal = Journal {
            state: path.to_path_buf(),
            file,
            lines: 0,
        };
        journal.compact(&inner).map_err(|e| StoreError::Write {
            path: path.into(),
            source: e,
        })?;
        Ok(Store {
            inner: RwLock::new(inner),
            journal: Some(Mutex::new(journal)),
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Persists, then applies, the changes. Runs under the write lock.
    fn commit(&self, inner: &mut Inner, changes: Vec<Change>) -> Result<(), ScimError> {
        if let Some(j) = &self.journal {
            let mut j = j.lock().unwrap_or_else(|e| e.into_inner());
            j.append(&changes).map_err(|e| {
                ScimError::new(500, None, format!("could not persist the write: {e}"))
            })?;
            for c in changes {
                inner.apply(c);
            }
            let size = inner.users.by_id.len() + inner.groups.by_id.len();
            if j.lines > size.max(1000) {
                if let Err(e) = j.compact(inner) {
                    tracing::warn!(
                        "state compaction failed (the journal still holds every write): {e}"
                    );
                }
            }
        } else {
            for c in changes {
                inner.apply(c);
            }
        }
        Ok(())
    }

    pub fn get(&self, kind: ObjectKind, id: &str) -> Option<Entry> {
        self.read().col(kind).by_id.get(id).cloned()
    }

    pub fn len(&self, kind: ObjectKind) -> usize {
        self.read().col(kind).by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len(ObjectKind::User) == 0 && self.len(ObjectKind::Group) == 0
    }

    fn check_unique(
        inner: &Inner,
        kind: ObjectKind,
        body: &Value,
        own_id: Option<&str>,
    ) -> Result<(), ScimError> {
        let attr = kind.unique_attr();
        if let Some(v) = str_attr(body, attr) {
            if let Some(other) = inner.col(kind).by_unique.get(&v.to_lowercase()) {
                if Some(other.as_str()) != own_id {
                    return Err(ScimError::conflict(format!(
                        "a {kind:?} with {attr} \"{v}\" already exists (id {other})"
                    )));
                }
            }
        }
        Ok(())
    }

    fn check_members(
        inner: &Inner,
        body: &mut Map<String, Value>,
        own_id: Option<&str>,
    ) -> Result<(), ScimError> {
        let Some(Value::Array(members)) = body.get_mut("members") else {
            return Ok(());
        };
        let mut seen = BTreeSet::new();
        members.retain(|m| {
            seen.insert(
                m.get("value")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            )
        });
        for m in members.iter_mut() {
            let id = m.get("value").and_then(Value::as_str).unwrap_or("");
            if Some(id) == own_id {
                return Err(ScimError::invalid_value("a group cannot be its own member"));
            }
            let Some((kind, _)) = inner.find(id) else {
                return Err(ScimError::invalid_value(format!(
                    "member \"{id}\" is neither a User nor a Group here"
                )));
            };
            // `type` is derived from what the id names when the client leaves it out.
            m.as_object_mut()
                .expect("member object")
                .entry("type")
                .or_insert_with(|| json!(format!("{kind:?}")));
        }
        Ok(())
    }

    fn finish_body(
        kind: ObjectKind,
        id: &str,
        mut body: Map<String, Value>,
        created: &str,
        version: u64,
    ) -> Value {
        let mut out = Map::new();
        out.insert("id".into(), json!(id));
        if let Some(x) = body.remove("externalId") {
            out.insert("externalId".into(), x);
        }
        out.extend(body);
        out.insert(
            "meta".into(),
            json!({"resourceType": format!("{kind:?}"), "created": created, "lastModified": now(), "version": format!("W/\"{version}\"")}),
        );
        Value::Object(out)
    }

    /// POST: a new resource with a server-assigned id.
    pub fn create(&self, kind: ObjectKind, n: Normalized) -> WriteResult {
        let mut inner = self.write();
        let mut body = n.body;
        Self::check_unique(&inner, kind, &Value::Object(body.clone()), None)?;
        Self::check_members(&inner, &mut body, None)?;
        let id = uuid::Uuid::new_v4().to_string();
        let seq = inner.next_seq;
        let entry = Entry {
            id: id.clone(),
            seq,
            body: Body::new(Self::finish_body(kind, &id, body, &now(), 1)),
            password: n.password,
            version: 1,
        };
        self.commit(
            &mut inner,
            vec![Change::Put {
                put: kind,
                entry: entry.clone(),
            }],
        )?;
        Ok(entry)
    }

    /// PUT: every writable attribute replaced by the body's (RFC 7644 §3.5.1). The password is
    /// kept when the body has none, since no client can read it back to echo it.
    pub fn replace(
        &self,
        kind: ObjectKind,
        id: &str,
        n: Normalized,
        if_match: Option<&str>,
    ) -> WriteResult {
        let mut inner = self.write();
        let old = inner
            .col(kind)
            .by_id
            .get(id)
            .cloned()
            .ok_or_else(|| not_found(kind, id))?;
        check_if_match(&old, if_match)?;
        self.write_over(&mut inner, kind, old, n)
    }

    fn write_over(
        &self,
        inner: &mut Inner,
        kind: ObjectKind,
        old: Entry,
        n: Normalized,
    ) -> WriteResult {
        let mut body = n.body;
        Self::check_unique(inner, kind, &Value::Object(body.clone()), Some(&old.id))?;
        Self::check_members(inner, &mut body, Some(&old.id))?;
        let created = created_of(&old.body).unwrap_or_else(now);
        let version = old.version + 1;
        let entry = Entry {
            id: old.id.clone(),
            seq: old.seq,
            body: Body::new(Self::finish_body(kind, &old.id, body, &created, version)),
            password: n.password.or(old.password),
            version,
        };
        self.commit(
            inner,
            vec![Change::Put {
                put: kind,
                entry: entry.clone(),
            }],
        )?;
        Ok(entry)
    }

    /// PATCH: `edit` turns the current resource into the new one (all or nothing).
    pub fn modify(
        &self,
        kind: ObjectKind,
        id: &str,
        if_match: Option<&str>,
        edit: impl FnOnce(Value) -> Result<Normalized, ScimError>,
    ) -> WriteResult {
        let mut inner = self.write();
        let old = inner
            .col(kind)
            .by_id
            .get(id)
            .cloned()
            .ok_or_else(|| not_found(kind, id))?;
        check_if_match(&old, if_match)?;
        let current = old.body.value().into_owned();
        let n = edit(current.clone())?;
        if n.body == strip_server_fields(&current) && n.password.is_none() {
            return Ok(old); // nothing changed: no new version
        }
        self.write_over(&mut inner, kind, old, n)
    }

    /// DELETE. A deleted resource leaves every group that listed it as a member.
    pub fn delete(
        &self,
        kind: ObjectKind,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), ScimError> {
        let mut inner = self.write();
        let old = inner
            .col(kind)
            .by_id
            .get(id)
            .cloned()
            .ok_or_else(|| not_found(kind, id))?;
        check_if_match(&old, if_match)?;
        let mut changes = Vec::new();
        for gid in inner.member_of.get(id).cloned().unwrap_or_default() {
            let Some(g) = inner.groups.by_id.get(&gid).cloned() else {
                continue;
            };
            let mut body = g.body.value().into_owned();
            let obj = body.as_object_mut().expect("stored bodies are objects");
            if let Some(Value::Array(ms)) = obj.get_mut("members") {
                ms.retain(|m| m.get("value").and_then(Value::as_str) != Some(id));
                if ms.is_empty() {
                    obj.remove("members");
                }
            }
            let version = g.version + 1;
            if let Some(Value::Object(meta)) = body.get_mut("meta") {
                meta.insert("lastModified".into(), json!(now()));
                meta.insert("version".into(), json!(format!("W/\"{version}\"")));
            }
            changes.push(Change::Put {
                put: ObjectKind::Group,
                entry: Entry {
                    body: Body::new(body),
                    version,
                    ..g
                },
            });
        }
        changes.push(Change::Delete {
            delete: kind,
            id: id.to_string(),
        });
        self.commit(&mut inner, changes)
    }

    /// Every resource of `kind` matching the query, in creation order (or `sortBy`), with the
    /// total before paging. Equality on id, userName, externalId and displayName uses an index.
    pub fn query(&self, kind: ObjectKind, q: &Query) -> (usize, Vec<Entry>) {
        let inner = self.read();
        let col = inner.col(kind);
        let rt = kind.rt();
        let matches = |e: &Entry| {
            q.filter
                .as_ref()
                .is_none_or(|f| f.matches(&e.body.value(), rt))
        };
        let mut hits: Vec<&Entry> = match q.filter.as_ref().and_then(|f| candidates(f, kind, col)) {
            Some(mut ids) => {
                let mut es: Vec<&Entry> = ids
                    .iter_mut()
                    .filter_map(|id| col.by_id.get(id.as_str()))
                    .filter(|e| matches(e))
                    .collect();
                es.sort_by_key(|e| e.seq);
                es
            }
            None => col
                .order
                .values()
                .filter_map(|id| col.by_id.get(id))
                .filter(|e| matches(e))
                .collect(),
        };
        if let Some(sort) = &q.sort_by {
            let key = |e: &Entry| sort_key(e, sort, rt);
            hits.sort_by_cached_key(|e| key(e));
            // Unassigned values sort last in both orders (RFC 7644 §3.4.2.3).
            if q.descending {
                let (mut some, none): (Vec<_>, Vec<_>) =
                    hits.into_iter().partition(|e| key(e).0 == 0);
                some.reverse();
                some.extend(none);
                hits = some;
            }
        }
        let total = hits.len();
        let start = q.start_index.max(1) - 1;
        let page: Vec<Entry> = hits
            .into_iter()
            .skip(start)
            .take(q.count.unwrap_or(usize::MAX))
            .cloned()
            .collect();
        (total, page)
    }

    /// The resource as clients see it: `schemas`, `meta.location`, members' `$ref`/`display`,
    /// a user's `groups`; never the password.
    pub fn render(&self, kind: ObjectKind, e: &Entry, base_url: &str) -> Value {
        let inner = self.read();
        render_with(&inner, kind, e, base_url)
    }

    /// Renders several entries under one lock.
    pub fn render_all(&self, kind: ObjectKind, es: &[Entry], base_url: &str) -> Vec<Value> {
        let inner = self.read();
        es.iter()
            .map(|e| render_with(&inner, kind, e, base_url))
            .collect()
    }
}

fn strip_server_fields(body: &Value) -> Map<String, Value> {
    let mut b = body.as_object().cloned().unwrap_or_default();
    b.remove("id");
    b.remove("meta");
    b
}

fn not_found(kind: ObjectKind, id: &str) -> ScimError {
    ScimError::not_found(format!("{kind:?} {id} not found"))
}

fn sort_key(e: &Entry, path: &AttrPath, rt: &ResourceTypeDef) -> (u8, String) {
    let body = e.body.value();
    let mut v = top_value(&body, rt, path.urn.as_deref(), &path.name);
    if let Some(Value::Array(a)) = v {
        // Multi-valued: sort by the primary value, else the first (RFC 7644 §3.4.2.3).
        v = a
            .iter()
            .find(|x| get_ci(x, "primary") == Some(&Value::Bool(true)))
            .or(a.first());
    }
    if let Some(s) = &path.sub {
        v = v.and_then(|x| get_ci(x, s));
    } else if let Some(x @ Value::Object(_)) = v {
        v = get_ci(x, "value");
    }
    match v {
        Some(Value::String(s)) => (0, s.to_lowercase()),
        Some(Value::Number(n)) => (0, format!("{:020.6}", n.as_f64().unwrap_or(0.0))),
        Some(Value::Bool(b)) => (0, b.to_string()),
        _ => (1, String::new()),
    }
}

/// Ids an index can narrow the filter to, or `None` when it needs a scan.
fn candidates(f: &Filter, kind: ObjectKind, col: &Collection) -> Option<Vec<String>> {
    match f {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: Value::String(v),
        } if path.sub.is_none() => {
            let core = path.urn.as_deref().is_none_or(|u| {
                u.eq_ignore_ascii_case(if kind == ObjectKind::User {
                    USER_URN
                } else {
                    GROUP_URN
                })
            });
            if !core {
                return None;
            }
            let n = path.name.as_str();
            if n.eq_ignore_ascii_case("id") {
                Some(
                    col.by_id
                        .contains_key(v)
                        .then(|| v.clone())
                        .into_iter()
                        .collect(),
                )
            } else if n.eq_ignore_ascii_case(kind.unique_attr()) {
                Some(
                    col.by_unique
                        .get(&v.to_lowercase())
                        .cloned()
                        .into_iter()
                        .collect(),
                )
            } else if n.eq_ignore_ascii_case("externalId") {
                Some(
                    col.by_external
                        .get(v)
                        .map(|s| s.iter().cloned().collect())
                        .unwrap_or_default(),
                )
            } else if n.eq_ignore_ascii_case("displayName") && kind == ObjectKind::User {
                Some(
                    col.by_display
                        .get(&v.to_lowercase())
                        .map(|s| s.iter().cloned().collect())
                        .unwrap_or_default(),
                )
            } else {
                None
            }
        }
        Filter::And(a, b) => match (candidates(a, kind, col), candidates(b, kind, col)) {
            (Some(x), Some(y)) => Some(if x.len() <= y.len() { x } else { y }),
            (x, y) => x.or(y),
        },
        Filter::Or(a, b) => {
            let mut x = candidates(a, kind, col)?;
            let y = candidates(b, kind, col)?;
            for id in y {
                if !x.contains(&id) {
                    x.push(id);
                }
            }
            Some(x)
        }
        _ => None,
    }
}

fn render_with(inner: &Inner, kind: ObjectKind, e: &Entry, base_url: &str) -> Value {
    let rt = kind.rt();
    let mut out = Map::new();
    let mut schemas = vec![json!(rt.schema.id)];
    let tree = e.body.value();
    let body = tree.as_object().expect("stored bodies are objects");
    for (k, v) in body {
        if is_urn(k) && v.is_object() {
            schemas.push(json!(k));
        }
    }
    out.insert("schemas".into(), Value::Array(schemas));
    for (k, v) in body {
        if k == "meta" {
            continue;
        }
        if k == "members" && kind == ObjectKind::Group {
            let ms: Vec<Value> = v
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|m| {
                            // What the client stored comes back as it was sent (clients
                            // compare it with what they PATCHed); only `$ref` is filled in.
                            let id = m.get("value").and_then(Value::as_str).unwrap_or("");
                            let mut r = m.as_object().cloned().unwrap_or_default();
                            if let Some((mk, _)) = inner.find(id) {
                                r.entry("$ref").or_insert_with(|| {
                                    json!(format!("{base_url}{}/{id}", mk.endpoint()))
                                });
                            }
                            Value::Object(r)
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.insert(k.clone(), Value::Array(ms));
            continue;
        }
        out.insert(k.clone(), v.clone());
    }
    if kind == ObjectKind::User {
        if let Some(gids) = inner.member_of.get(&e.id) {
            let groups: Vec<Value> = gids
                .iter()
                .filter(|gid| inner.groups.by_id.contains_key(*gid))
                .map(|gid| {
                    let name = inner.groups.names.get(gid).map_or("", |n| &**n);
                    json!({"value": gid, "$ref": format!("{base_url}/Groups/{gid}"),
                           "display": name, "type": "direct"})
                })
                .collect();
            if !groups.is_empty() {
                out.insert("groups".into(), Value::Array(groups));
            }
        }
    }
    let mut meta = tree.get("meta").cloned().unwrap_or_else(|| json!({}));
    meta["location"] = json!(format!("{base_url}{}/{}", kind.endpoint(), e.id));
    out.insert("meta".into(), meta);
    Value::Object(out)
}

#[cfg(test)]
mod index_tests {
    use super::*;

    /// The indexes read a stored text as the parsed tree would: exact name first, else the
    /// first case-insensitive match, non-strings as none, nested values skipped.
    #[test]
    fn top_strings_find_what_the_tree_finds() {
        let text = r#"{"USERNAME":"Ann@X","name":{"userName":"inner"},"externalId":7,
            "displayname":"first","displayName":"Ann Lee","emails":[{"value":"a\"b"}]}"#;
        let tree: Value = serde_json::from_str(text).unwrap();
        let names = ["userName", "externalId", "displayName", "nickName"];
        let want = names.map(|n| str_attr(&tree, n).map(str::to_string));
        assert_eq!(top_strings(text, names), want);
        assert_eq!(
            want,
            [Some("Ann@X".into()), None, Some("Ann Lee".into()), None]
        );
    }
}
