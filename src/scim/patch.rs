//! PATCH (RFC 7644 §3.5.2) applied to a stored resource, tolerant of the shapes real identity
//! providers send. A sample Entra ID body (default dialect) this module applies as intended:
//!
//! ```json
//! {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
//!  "Operations":[{"op":"Replace","path":"active","value":"False"},
//!                {"op":"Remove","path":"members","value":[{"value":"u1091"}]}]}
//! ```
//!
//! Documented tolerances, each with its source (see `shared/reference/`):
//! - op names are case-insensitive: Entra sends `Add`/`Replace`/`Remove`
//!   (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility);
//! - a path-less value may use dotted keys such as `"name.givenName"` and URN-prefixed keys
//!   (Entra with `aadOptscim062020`, same page; https://github.com/AzureAD/SCIMReferenceCode/issues/97);
//! - `Remove` on a multi-valued attribute with a `value` array removes only those values
//!   (Entra member removal, https://github.com/AzureAD/SCIMReferenceCode/issues/10);
//! - `Add`/`Replace` on a filtered path that matches nothing creates the entry from the filter's
//!   `eq` terms (https://github.com/wireapp/wire-server/pull/5419,
//!   https://github.com/sourcegraph/sourcegraph-public-snapshot/pull/49200);
//! - a path-less replace carrying the resource's own `id` ignores it (Okta's group rename,
//!   https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20/);
//! - `manager[value eq "id"]` filters a single-valued complex attribute, and an unprefixed
//!   `manager` names the enterprise extension's (https://github.com/thomaspoignant/scim-patch/issues/453).

use crate::scim::error::ScimError;
use crate::scim::filter::{get_ci, parse_path, AttrPath, CompareOp, Filter, PatchPath};
use crate::scim::schema::{is_urn, AttrDef, AttrType, Mutability, ResourceTypeDef, PATCH_URN};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Replace,
    Remove,
}

/// Applies every operation of a PatchOp body to `resource` (an object), all or nothing: the
/// caller keeps its copy if this fails.
pub fn apply_patch(
    resource: &mut Value,
    body: &Value,
    rt: &ResourceTypeDef,
) -> Result<(), ScimError> {
    let Some(obj) = body.as_object() else {
        return Err(ScimError::invalid_syntax(
            "a PATCH body must be a JSON object",
        ));
    };
    if let Some(schemas) = get_ci(body, "schemas") {
        let ok = schemas.as_array().is_some_and(|a| {
            a.iter().any(|s| {
                s.as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(PATCH_URN))
            })
        });
        if !ok {
            return Err(ScimError::invalid_syntax(format!(
                "'schemas' must list {PATCH_URN}"
            )));
        }
    }
    let ops = obj
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
        .map(|(_, v)| v)
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("a PATCH body needs an 'Operations' array"))?;
    if ops.is_empty() {
        return Err(ScimError::invalid_syntax("'Operations' is empty"));
    }
    for (i, op) in ops.iter().enumerate() {
        apply_one(resource, op, rt).map_err(|mut e| {
            e.detail = format!("Operations[{i}]: {}", e.detail);
            e
        })?;
    }
    Ok(())
}

fn apply_one(resource: &mut Value, op: &Value, rt: &ResourceTypeDef) -> Result<(), ScimError> {
    let name = get_ci(op, "op")
        .and_then(Value::as_str)
        .ok_or_else(|| ScimError::invalid_syntax("operation has no 'op'"))?;
    let kind = match name.to_ascii_lowercase().as_str() {
        "add" => Op::Add,
        "replace" => Op::Replace,
        "remove" => Op::Remove,
        _ => {
            return Err(ScimError::invalid_syntax(format!(
                "unknown op '{name}' (add, replace, remove)"
            )))
        }
    };
    let value = get_ci(op, "value");
    let path = match get_ci(op, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if p.trim().is_empty() => None,
        // The path names a whole extension schema: `urn:…:enterprise:2.0:User`.
        Some(Value::String(p)) if is_schema_urn(p, &Value::Object(Map::new()), rt) => {
            return match (kind, value) {
                (Op::Remove, _) => {
                    if let Some(root) = resource.as_object_mut() {
                        root.retain(|k, _| !k.eq_ignore_ascii_case(p));
                    }
                    Ok(())
                }
                (_, Some(v @ Value::Object(_))) => {
                    if kind == Op::Replace {
                        // The path names the extension object itself: what the value leaves out goes.
                        if let Some(root) = resource.as_object_mut() {
                            root.retain(|k, _| !k.eq_ignore_ascii_case(p));
                        }
                    }
                    apply_pathless_key(resource, kind, p, v, rt)
                }
                _ => Err(ScimError::invalid_value(format!(
                    "'{p}' needs an object 'value'"
                ))),
            };
        }
        Some(Value::String(p)) => Some(qualify(parse_path(p)?, rt)),
        Some(_) => return Err(ScimError::invalid_path("'path' must be a string")),
    };
    match (path, kind) {
        (None, Op::Remove) => Err(ScimError::no_target(
            "remove needs a 'path' (RFC 7644 §3.5.2.2)",
        )),
        (None, _) => {
            let Some(Value::Object(map)) = value else {
                return Err(ScimError::invalid_value(
                    "an operation without 'path' needs an object 'value'",
                ));
            };
            for (k, v) in map {
                apply_pathless_key(resource, kind, k, v, rt)?;
            }
            Ok(())
        }
        (Some(p), Op::Remove) => remove(resource, &p, value, rt),
        (Some(p), _) => {
            let v = value
                .ok_or_else(|| ScimError::invalid_value(format!("{kind:?} needs a 'value'")))?;
            set(resource, kind, &p, v, rt)
        }
    }
}

fn apply_pathless_key(
    resource: &mut Value,
    kind: Op,
    key: &str,
    v: &Value,
    rt: &ResourceTypeDef,
) -> Result<(), ScimError> {
    if key.eq_ignore_ascii_case("schemas") || key.eq_ignore_ascii_case("meta") {
        return Ok(());
    }
    if key.eq_ignore_ascii_case("id") {
        // Okta's group rename carries the group's own id in the value.
        return if get_ci(resource, "id") == Some(v) {
            Ok(())
        } else {
            Err(ScimError::mutability("'id' is readOnly"))
        };
    }
    if is_schema_urn(key, v, rt) {
        let Value::Object(inner) = v else {
            unreachable!()
        };
        for (k, x) in inner {
            if k.eq_ignore_ascii_case("schemas") {
                continue;
            }
            let path = PatchPath {
                attr: AttrPath {
                    urn: Some(key.to_string()),
                    name: k.clone(),
                    sub: None,
                },
                filter: None,
                sub_after_filter: None,
            };
            set(resource, kind, &path, x, rt)?;
        }
        return Ok(());
    }
    set(resource, kind, &parse_path(key)?, v, rt)
}

/// Gives an unprefixed path that names no core attribute the URN of the one known extension
/// that defines it. RFC 7644 §3.10 only asks clients to qualify extension attributes (SHOULD),
/// and Entra sends `manager[value eq "id"]` and `"path":"manager"` without the enterprise URN
/// (https://github.com/thomaspoignant/scim-patch/issues/453,
/// https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups).
fn qualify(mut p: PatchPath, rt: &ResourceTypeDef) -> PatchPath {
    if p.attr.urn.is_none() && rt.attr(None, &p.attr.name).is_none() {
        let mut owners = rt
            .extensions
            .iter()
            .filter(|s| s.attr(&p.attr.name).is_some());
        if let (Some(s), None) = (owners.next(), owners.next()) {
            p.attr.urn = Some(s.id.to_string());
        }
    }
    p
}

/// `urn:…:enterprise:2.0:User` (a schema) as opposed to `urn:…:User:department` (an attribute).
/// Schema names end in a capitalised resource name; attribute names are camelCase.
pub fn is_schema_urn(key: &str, v: &Value, rt: &ResourceTypeDef) -> bool {
    is_urn(key)
        && v.is_object()
        && (rt.is_extension(key)
            || key
                .rsplit(':')
                .next()
                .is_some_and(|last| last.starts_with(|c: char| c.is_ascii_uppercase())))
}

/// Definition of the top-level attribute `path` names.
fn top_def<'a>(rt: &'a ResourceTypeDef, attr: &AttrPath) -> Option<&'a AttrDef> {
    rt.attr(attr.urn.as_deref(), &attr.name)
}

/// The object that holds `attr`: the resource itself, or its extension object (created when
/// `create` is set).
fn container<'a>(
    resource: &'a mut Value,
    rt: &ResourceTypeDef,
    attr: &AttrPath,
    create: bool,
) -> Option<&'a mut Map<String, Value>> {
    let root = resource.as_object_mut()?;
    match &attr.urn {
        Some(u) if !u.eq_ignore_ascii_case(rt.schema.id) => {
            let key = root.keys().find(|k| k.eq_ignore_ascii_case(u)).cloned();
            let key = match key {
                Some(k) => k,
                None if create => {
                    root.insert(u.clone(), Value::Object(Map::new()));
                    u.clone()
                }
                None => return None,
            };
            let ext = root.get_mut(&key)?;
            if !ext.is_object() {
                *ext = Value::Object(Map::new());
            }
            ext.as_object_mut()
        }
        _ => Some(root),
    }
}

/// The key under which `name` is (or will be) stored: the existing key, else the schema's
/// spelling, else the client's.
fn key_for(map: &Map<String, Value>, name: &str, def: Option<&AttrDef>) -> String {
    map.keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| def.map_or(name.to_string(), |d| d.name.to_string()))
}

fn check_writable(def: Option<&AttrDef>, path: &PatchPath) -> Result<(), ScimError> {
    if def.is_some_and(|d| d.mutability == Mutability::ReadOnly) {
        return Err(ScimError::mutability(format!(
            "'{}' is readOnly",
            path.attr
        )));
    }
    Ok(())
}

fn is_multi(def: Option<&AttrDef>, existing: Option<&Value>, value: &Value) -> bool {
    match def {
        Some(d) => d.multi,
        None => matches!(existing, Some(Value::Array(_))) || value.is_array(),
    }
}

/// Two values of a multi-valued attribute are the same when their `value`s are equal, or, for
/// entries without `value`, when they are equal as JSON.
fn same_entry(a: &Value, b: &Value) -> bool {
    match (get_ci(a, "value"), get_ci(b, "value")) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                let key = a
                    .keys()
                    .find(|x| x.eq_ignore_ascii_case(k))
                    .cloned()
                    .unwrap_or(k.clone());
                a.insert(key, v.clone());
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

fn set(
    resource: &mut Value,
    kind: Op,
    path: &PatchPath,
    value: &Value,
    rt: &ResourceTypeDef,
) -> Result<(), ScimError> {
    let def = top_def(rt, &path.attr);
    check_writable(def, path)?;
    if let Some(sub) = path.sub() {
        if let Some(sd) = def.and_then(|d| d.sub_attr(sub)) {
            if sd.mutability == Mutability::ReadOnly {
                return Err(ScimError::mutability(format!(
                    "'{}.{sub}' is readOnly",
                    path.attr.name
                )));
            }
        }
    }
    let map = container(resource, rt, &path.attr, true)
        .ok_or_else(|| ScimError::invalid_path(format!("cannot address '{}'", path.attr)))?;
    let key = key_for(map, &path.attr.name, def);

    if let Some(filter) = &path.filter {
        let existing = map.get_mut(&key);
        let mut matched = 0;
        match existing {
            Some(Value::Array(items)) => {
                for el in items.iter_mut() {
                    if filter.matches_element(el, rt, &path.attr) {
                        matched += 1;
                        write_element(el, kind, path.sub(), value);
                    }
                }
            }
            Some(el @ Value::Object(_)) if filter.matches_element(el, rt, &path.attr) => {
                matched += 1;
                write_element(el, kind, path.sub(), value);
            }
            _ => {}
        }
        if matched == 0 {
            // Entra expects Add/Replace on `emails[type eq "work"].value` to create the entry.
            let mut entry = entry_from_filter(filter).ok_or_else(|| {
                ScimError::no_target(format!(
                    "no value of '{}' matches the filter",
                    path.attr.name
                ))
            })?;
            write_element(&mut entry, Op::Add, path.sub(), value);
            let multi = def.is_none_or(|d| d.multi);
            match map.get_mut(&key) {
                Some(Value::Array(items)) => items.push(entry),
                _ if multi => {
                    map.insert(key, Value::Array(vec![entry]));
                }
                _ => {
                    map.insert(key, entry);
                }
            }
        }
        return Ok(());
    }

    if let Some(sub) = path.sub() {
        match map.get_mut(&key) {
            Some(Value::Array(items)) if !items.is_empty() => {
                for el in items.iter_mut() {
                    write_element(el, kind, Some(sub), value);
                }
            }
            Some(obj @ Value::Object(_)) => write_element(obj, kind, Some(sub), value),
            _ => {
                let mut obj = Value::Object(Map::new());
                write_element(&mut obj, kind, Some(sub), value);
                let multi = def.is_some_and(|d| d.multi);
                map.insert(key, if multi { Value::Array(vec![obj]) } else { obj });
            }
        }
        return Ok(());
    }

    let existing = map.get(&key);
    if is_multi(def, existing, value) {
        let incoming: Vec<Value> = match value {
            Value::Array(a) => a.clone(),
            Value::Null => Vec::new(),
            other => vec![other.clone()],
        };
        match (kind, map.get_mut(&key)) {
            (Op::Add, Some(Value::Array(items))) => {
                for v in incoming {
                    if !items.iter().any(|x| same_entry(x, &v)) {
                        items.push(v);
                    }
                }
            }
            _ => {
                map.insert(key, Value::Array(incoming));
            }
        }
        return Ok(());
    }
    let complex = def.map_or(value.is_object(), |d| d.ty == AttrType::Complex);
    match map.get_mut(&key) {
        // RFC 7644 §3.5.2.1 and §3.5.2.3: sub-attributes not in the value are left unchanged.
        Some(slot @ Value::Object(_)) if complex && value.is_object() => merge(slot, value),
        _ => {
            map.insert(key, value.clone());
        }
    }
    Ok(())
}

fn write_element(el: &mut Value, kind: Op, sub: Option<&str>, value: &Value) {
    match sub {
        Some(s) => {
            if !el.is_object() {
                *el = Value::Object(Map::new());
            }
            let m = el.as_object_mut().expect("object");
            let key = m
                .keys()
                .find(|k| k.eq_ignore_ascii_case(s))
                .cloned()
                .unwrap_or(s.to_string());
            m.insert(key, value.clone());
        }
        None if kind == Op::Replace => {
            // RFC 7644 §3.5.2.3: matching values are replaced; the filter's terms stay true.
            let keep = el.clone();
            *el = value.clone();
            if let (Value::Object(new), Value::Object(old)) = (el, keep) {
                for (k, v) in old {
                    if !new.keys().any(|x| x.eq_ignore_ascii_case(&k))
                        && k.eq_ignore_ascii_case("type")
                    {
                        new.insert(k, v);
                    }
                }
            }
        }
        None => merge(el, value),
    }
}

/// A new entry satisfying a filter made of `eq` terms joined by `and`: `type eq "work"` gives
/// `{"type":"work"}`. Other filters cannot say what to create.
fn entry_from_filter(f: &Filter) -> Option<Value> {
    fn walk(f: &Filter, m: &mut Map<String, Value>) -> bool {
        match f {
            Filter::And(a, b) => walk(a, m) && walk(b, m),
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value,
            } if path.sub.is_none() && path.urn.is_none() && !value.is_null() => {
                m.insert(path.name.clone(), value.clone());
                true
            }
            _ => false,
        }
    }
    let mut m = Map::new();
    walk(f, &mut m).then_some(Value::Object(m))
}

fn remove(
    resource: &mut Value,
    path: &PatchPath,
    value: Option<&Value>,
    rt: &ResourceTypeDef,
) -> Result<(), ScimError> {
    let def = top_def(rt, &path.attr);
    check_writable(def, path)?;
    if def.is_some_and(|d| d.required) && path.sub().is_none() && path.filter.is_none() {
        return Err(ScimError::mutability(format!(
            "'{}' is required and cannot be removed",
            path.attr
        )));
    }
    let Some(map) = container(resource, rt, &path.attr, false) else {
        return Ok(());
    };
    let Some(key) = map
        .keys()
        .find(|k| k.eq_ignore_ascii_case(&path.attr.name))
        .cloned()
    else {
        return Ok(());
    };
    let sub = path.sub().map(str::to_string);
    let slot = map.get_mut(&key).expect("key exists");

    if let Some(filter) = &path.filter {
        let hit = |el: &Value| filter.matches_element(el, rt, &path.attr);
        match (slot, sub) {
            (Value::Array(items), None) => items.retain(|el| !hit(el)),
            (Value::Array(items), Some(s)) => {
                for el in items.iter_mut().filter(|el| hit(el)) {
                    remove_key(el, &s);
                }
            }
            (el @ Value::Object(_), None) if hit(el) => *el = Value::Null,
            (el @ Value::Object(_), Some(s)) if hit(el) => remove_key(el, &s),
            _ => {}
        }
    } else if let Some(s) = sub {
        match slot {
            Value::Array(items) => items.iter_mut().for_each(|el| remove_key(el, &s)),
            el => remove_key(el, &s),
        }
    } else {
        match (slot, value) {
            // Entra removes members with `"path":"members","value":[{"value":"id"}]`: only those go.
            (Value::Array(items), Some(v)) if !v.is_null() => {
                let gone: Vec<Value> = match v {
                    Value::Array(a) => a.clone(),
                    other => vec![other.clone()],
                };
                items.retain(|el| !gone.iter().any(|g| same_entry(el, g)));
            }
            (slot, _) => *slot = Value::Null,
        }
    }
    let empty = match map.get(&key) {
        Some(Value::Null) => true,
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        _ => false,
    };
    if empty {
        map.remove(&key);
    }
    Ok(())
}

fn remove_key(el: &mut Value, key: &str) {
    if let Some(m) = el.as_object_mut() {
        if let Some(k) = m.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned() {
            m.remove(&k);
        }
    }
}

/// Sets `value` at a PATCH path (`emails[type eq "work"].value`, `name.givenName`,
/// `urn:…:enterprise:2.0:User:department`) with `add` semantics: what a mapping writes into a
/// resource it builds.
pub fn put_path(
    resource: &mut Value,
    path: &str,
    value: &Value,
    rt: &ResourceTypeDef,
) -> Result<(), ScimError> {
    if !resource.is_object() {
        *resource = Value::Object(Map::new());
    }
    set(resource, Op::Add, &*cached_path(path)?, value, rt)
}

/// Distinct paths [`cached_path`] keeps per thread; past it, paths are parsed each time.
const PATH_CACHE: usize = 256;

/// [`parse_path`], remembered per thread: the state check and the IdP views read and write
/// the same few mapped paths (`name.givenName`, `emails[type eq "work"].value`) for every
/// object, and parsing them again was an eighth of a 10,000-user run's harness CPU. Bounded:
/// paths a peer sends (PATCH operations) fill it at most to [`PATH_CACHE`] entries.
fn cached_path(path: &str) -> Result<std::rc::Rc<PatchPath>, ScimError> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::rc::Rc;
    thread_local! {
        static PATHS: RefCell<HashMap<String, Rc<PatchPath>>> = RefCell::new(HashMap::new());
    }
    if let Some(p) = PATHS.with(|c| c.borrow().get(path).cloned()) {
        return Ok(p);
    }
    let parsed = Rc::new(parse_path(path)?);
    PATHS.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() < PATH_CACHE {
            c.insert(path.to_string(), parsed.clone());
        }
    });
    Ok(parsed)
}

/// The value a PATCH path designates in `resource`: for a value filter, the first matching
/// element (or its sub-attribute). `None` when unassigned.
pub fn get_path(resource: &Value, path: &str, rt: &ResourceTypeDef) -> Option<Value> {
    let p = cached_path(path).ok()?;
    let top = crate::scim::filter::top_value(resource, rt, p.attr.urn.as_deref(), &p.attr.name)?;
    let el = match &p.filter {
        Some(f) => match top {
            Value::Array(items) => items.iter().find(|el| f.matches_element(el, rt, &p.attr))?,
            one @ Value::Object(_) if f.matches_element(one, rt, &p.attr) => one,
            _ => return None,
        },
        None => top,
    };
    let out = match p.sub() {
        Some(s) => match el {
            Value::Array(items) => {
                Value::Array(items.iter().filter_map(|x| get_ci(x, s).cloned()).collect())
            }
            other => get_ci(other, s)?.clone(),
        },
        None => el.clone(),
    };
    (!out.is_null()).then_some(out)
}
