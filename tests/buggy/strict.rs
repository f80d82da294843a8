//! A minimal but RFC-legal SCIM server (branch `probes`, issue 8): a proxy over the reference
//! server that declares few attributes and refuses what RFC 7643/7644 let it refuse, shaped
//! like the independent servers that exposed the harness's false findings. What it does:
//!
//! - `/Schemas` declares only `userName`, `name` (`givenName`, `familyName`, `formatted`),
//!   `emails`, `active`, `externalId` for User and `displayName`, `members` for Group;
//!   `name.familyName`, `name.formatted` and `emails` are required.
//! - Filters: only `<declared attribute> eq <value>`; anything else is `400 invalidFilter`
//!   (RFC 7644 §3.4.2.2, §3.12).
//! - Writes: undeclared attributes are dropped (POST, PUT, path-less PATCH) or rejected with
//!   `400 invalidPath` (a PATCH path naming one); a missing required attribute is
//!   `400 invalidValue`.
//! - Reads: only declared attributes, and `null` for the unset ones (`"externalId": null`, RFC
//!   7643 §2.5); ServiceProviderConfig has `"documentationUri": null`.
//!
//! ```ignore
//! let server = buggy::strict::start(Flaws { soft_delete: true, ..Flaws::default() }, "t").await;
//! ```
//!
//! [`Flaws`] switches on one real bug each (none is RFC-legal).

use super::{
    get_ci, json_response, merge_top_level, rewrite_json, scim_error, BuggyServer, Incoming, Proxy,
    MAX_BODY,
};
use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const SCHEMA_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
const RT_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SPC_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

/// The bugs the strict server can have on top of its legal strictness (issue 8, "Bugs it
/// missed"), and one legal variation. All off: a conformant server.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flaws {
    /// Legal, not a bug: nothing is required but `userName` (and a Group's `displayName`), so
    /// that the other strict traits can be met without the required-attribute one.
    pub nothing_required: bool,
    /// A bug: /Schemas marks nothing required (as `nothing_required`) but writes still refuse
    /// a user without `name.familyName`, `name.formatted` and `emails`, so a client that
    /// trusts /Schemas cannot create users.
    pub hides_required: bool,
    /// `filter` is ignored: every list is the whole collection (and ServiceProviderConfig says
    /// `filter.supported: false`, as the server that showed it did).
    pub ignores_filter: bool,
    /// `excludedAttributes` is ignored.
    pub ignores_excluded_attributes: bool,
    /// A multi-operation PATCH is applied one operation at a time: the operations before a
    /// failing one stay applied.
    pub non_atomic_patch: bool,
    /// `PUT` keeps the attributes the body omits.
    pub put_merges: bool,
    /// `DELETE` answers 204 but only marks the resource: it is still read and listed.
    pub soft_delete: bool,
}

struct Strict {
    proxy: Proxy,
    flaws: Flaws,
    /// Ids "deleted" under `soft_delete`.
    deleted: Mutex<HashSet<String>>,
}

/// Starts a reference server requiring `token` and the strict proxy in front of it.
pub async fn start(flaws: Flaws, token: &str) -> BuggyServer {
    let upstream = super::start_upstream(token).await;
    let state = Arc::new(Strict {
        proxy: Proxy::to(&upstream, super::Bug::None),
        flaws,
        deleted: Mutex::new(HashSet::new()),
    });
    let seen = state.proxy.seen.clone();
    let router = axum::Router::new().fallback(handle).with_state(state);
    super::serve_in_front(upstream, seen, router).await
}

/// One declared attribute: name, type, multi-valued, required, sub-attributes.
type Attr = (&'static str, &'static str, bool, bool, &'static [Sub]);
/// A sub-attribute: name, type, required.
type Sub = (&'static str, &'static str, bool);

const USER_ATTRS: &[Attr] = &[
    ("userName", "string", false, true, &[]),
    (
        "name",
        "complex",
        false,
        true,
        &[
            ("givenName", "string", false),
            ("familyName", "string", true),
            ("formatted", "string", true),
        ],
    ),
    (
        "emails",
        "complex",
        true,
        true,
        &[
            ("value", "string", true),
            ("type", "string", false),
            ("primary", "boolean", false),
        ],
    ),
    ("active", "boolean", false, false, &[]),
    ("externalId", "string", false, false, &[]),
];

const GROUP_ATTRS: &[Attr] = &[
    ("displayName", "string", false, true, &[]),
    (
        "members",
        "complex",
        true,
        false,
        &[
            ("value", "string", false),
            ("$ref", "reference", false),
            ("display", "string", false),
            ("type", "string", false),
        ],
    ),
    ("externalId", "string", false, false, &[]),
];

/// Keys every resource has besides its declared attributes (RFC 7643 §3).
const COMMON: [&str; 3] = ["schemas", "id", "meta"];

fn characteristics(name: &str, ty: &str, multi: bool, required: bool) -> Value {
    let mut a = json!({
        "name": name, "type": ty, "multiValued": multi, "required": required,
        "caseExact": false, "mutability": "readWrite", "returned": "default",
        "uniqueness": if name == "userName" || name == "displayName" { "server" } else { "none" },
        "description": format!("{name} (declared by the strict test server)"),
    });
    if ty == "reference" {
        a["referenceTypes"] = json!(["User", "Group"]);
    }
    a
}

fn schema_doc(urn: &str, name: &str, attrs: &[Attr], nothing_required: bool) -> Value {
    let attributes: Vec<Value> = attrs
        .iter()
        .map(|(n, ty, multi, required, subs)| {
            let keep = !nothing_required || matches!(*n, "userName" | "displayName");
            let mut a = characteristics(n, ty, *multi, *required && keep);
            if !subs.is_empty() {
                a["subAttributes"] = subs
                    .iter()
                    .map(|(s, t, r)| characteristics(s, t, false, *r && keep))
                    .collect();
            }
            a
        })
        .collect();
    json!({
        "schemas": [SCHEMA_URN], "id": urn, "name": name,
        "description": format!("{name} as the strict test server keeps it"),
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": format!("/Schemas/{urn}")},
    })
}

fn resource_type(name: &str, endpoint: &str, schema: &str) -> Value {
    json!({
        "schemas": [RT_URN], "id": name, "name": name, "endpoint": endpoint,
        "description": format!("{name} resources"), "schema": schema,
        "meta": {"resourceType": "ResourceType", "location": format!("/ResourceTypes/{name}")},
    })
}

fn list(resources: Vec<Value>) -> Value {
    let n = resources.len();
    json!({"schemas": [LIST_URN], "totalResults": n, "itemsPerPage": n, "startIndex": 1,
           "Resources": resources})
}

fn spc(flaws: Flaws) -> Value {
    json!({
        "schemas": [SPC_URN],
        "documentationUri": null,
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": !flaws.ignores_filter, "maxResults": 200},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": false},
        "authenticationSchemes": [{
            "type": "oauthbearertoken", "name": "OAuth Bearer Token",
            "description": "A bearer token in the Authorization header",
            "specUri": null, "documentationUri": null,
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": "/ServiceProviderConfig"},
    })
}

/// The declared attributes of the collection `kind` ("Users" or "Groups").
fn attrs_of(kind: &str) -> &'static [Attr] {
    if kind.eq_ignore_ascii_case("Users") {
        USER_ATTRS
    } else {
        GROUP_ATTRS
    }
}

fn declared<'a>(attrs: &'a [Attr], name: &str) -> Option<&'a Attr> {
    attrs.iter().find(|a| a.0.eq_ignore_ascii_case(name))
}

/// The attribute path without a core schema URN prefix: `urn:…:User:name.givenName` →
/// `name.givenName`.
fn strip_urn(path: &str) -> &str {
    for urn in [USER_URN, GROUP_URN] {
        if path.len() > urn.len()
            && path[..urn.len()].eq_ignore_ascii_case(urn)
            && path.as_bytes()[urn.len()] == b':'
        {
            return &path[urn.len() + 1..];
        }
    }
    path
}

/// Whether `path` (`emails[type eq "work"].value`, `name.givenName`) names a declared
/// attribute (and sub-attribute).
fn path_declared(attrs: &[Attr], path: &str) -> bool {
    let path = strip_urn(path.trim());
    let (head, rest) = match path.find(['.', '[']) {
        Some(at) => (&path[..at], &path[at..]),
        None => (path, ""),
    };
    let Some(attr) = declared(attrs, head) else {
        return false;
    };
    let sub = if let Some(r) = rest.strip_prefix('.') {
        Some(r)
    } else if let Some(close) = rest.find(']') {
        rest[close + 1..].strip_prefix('.')
    } else {
        None
    };
    match sub {
        None => true,
        Some(s) => attr.4.iter().any(|(n, ..)| n.eq_ignore_ascii_case(s)),
    }
}

/// Drops what `attrs` does not declare from a resource body (sub-attributes too).
fn keep_declared(attrs: &[Attr], body: &mut Map<String, Value>) {
    body.retain(|k, v| {
        if COMMON.iter().any(|c| c.eq_ignore_ascii_case(k)) {
            return true;
        }
        let Some(attr) = declared(attrs, k) else {
            return false;
        };
        let subs = attr.4;
        if !subs.is_empty() {
            let keep = |o: &mut Map<String, Value>| {
                o.retain(|s, _| subs.iter().any(|(n, ..)| n.eq_ignore_ascii_case(s)))
            };
            match v {
                Value::Object(o) => keep(o),
                Value::Array(items) => items
                    .iter_mut()
                    .filter_map(Value::as_object_mut)
                    .for_each(keep),
                _ => {}
            }
        }
        true
    });
    if let Some(Value::Array(s)) = body.get_mut("schemas") {
        s.retain(|u| u == USER_URN || u == GROUP_URN);
    }
}

/// A required attribute (or required sub-attribute) the body lacks, as `name.familyName`.
fn missing_required(attrs: &[Attr], body: &Map<String, Value>, only_names: bool) -> Option<String> {
    let empty = |v: Option<&Value>| match v {
        None | Some(Value::Null) => true,
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::String(s)) => s.is_empty(),
        _ => false,
    };
    for (name, _, multi, required, subs) in attrs {
        let v = get_ci(body, name);
        if only_names && !matches!(*name, "userName" | "displayName") {
            continue;
        }
        if *required && empty(v) {
            return Some((*name).to_owned());
        }
        if *multi || v.is_none() {
            continue;
        }
        if let Some(o) = v.and_then(Value::as_object) {
            for (s, _, req) in subs.iter() {
                if *req && empty(get_ci(o, s)) {
                    return Some(format!("{name}.{s}"));
                }
            }
        }
    }
    None
}

/// Declared attributes the resource lacks are answered as `null` (RFC 7643 §2.5).
fn nulls_for_unset(attrs: &[Attr], body: &mut Map<String, Value>) {
    for (name, ..) in attrs {
        if get_ci(body, name).is_none() {
            body.insert((*name).to_owned(), Value::Null);
        }
    }
}

fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .and_then(|q| reqwest::Url::parse(&format!("http://x/?{q}")).ok())
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

fn set_query(req: &mut Incoming, pairs: &[(String, String)]) {
    let mut url = reqwest::Url::parse("http://x/").expect("url");
    if !pairs.is_empty() {
        url.query_pairs_mut().extend_pairs(pairs);
    }
    req.query = url.query().map(str::to_owned);
    req.path_and_query = match &req.query {
        Some(q) => format!("{}?{q}", req.path),
        None => req.path.clone(),
    };
}

/// `Some(error)` unless `filter` is `<declared attribute> eq <JSON value>`.
fn unsupported_filter(attrs: &[Attr], filter: &str) -> Option<String> {
    let f = filter.trim();
    let mut words = f.splitn(3, char::is_whitespace);
    let (attr, op, value) = (words.next()?, words.next(), words.next());
    let supported = op.is_some_and(|o| o.eq_ignore_ascii_case("eq"))
        && !attr.contains('[')
        && path_declared(attrs, attr)
        && value.is_some_and(|v| {
            serde_json::from_str::<Value>(v.trim())
                .is_ok_and(|v| v.is_string() || v.is_boolean() || v.is_number())
        });
    (!supported).then(|| {
        format!("only `<declared attribute> eq <value>` filters are supported, not `{filter}`")
    })
}

async fn handle(State(s): State<Arc<Strict>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b.to_vec(),
        Err(_) => return scim_error(StatusCode::PAYLOAD_TOO_LARGE, None, "body too large"),
    };
    let mut req = Incoming {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        path_and_query: parts
            .uri
            .path_and_query()
            .map(|pq| pq.as_str().to_owned())
            .unwrap_or_else(|| "/".to_owned()),
        headers: parts.headers,
        body,
    };
    if let Some(answer) = discovery(&s, &req) {
        return answer;
    }
    let Some((kind, id)) = req.resource() else {
        return s
            .proxy
            .forward_as(&req, req.method.clone(), req.body.clone())
            .await;
    };
    let attrs = attrs_of(&kind);
    let mut pairs = query_pairs(req.query.as_deref());
    let partial = pairs.iter().any(|(k, _)| {
        k.eq_ignore_ascii_case("attributes") || k.eq_ignore_ascii_case("excludedAttributes")
    });
    if req.method == Method::GET {
        if s.flaws.ignores_filter {
            pairs.retain(|(k, _)| !k.eq_ignore_ascii_case("filter"));
        } else if let Some((_, f)) = pairs.iter().find(|(k, _)| k.eq_ignore_ascii_case("filter")) {
            if let Some(why) = unsupported_filter(attrs, f) {
                return scim_error(StatusCode::BAD_REQUEST, Some("invalidFilter"), &why);
            }
        }
        if s.flaws.ignores_excluded_attributes {
            pairs.retain(|(k, _)| !k.eq_ignore_ascii_case("excludedAttributes"));
        }
        set_query(&mut req, &pairs);
    }
    let answer = match (req.method.clone(), &id) {
        (Method::POST, None) | (Method::PUT, Some(_)) => {
            let Some(Value::Object(mut body)) = req.json() else {
                return s
                    .proxy
                    .forward_as(&req, req.method.clone(), req.body.clone())
                    .await;
            };
            keep_declared(attrs, &mut body);
            if s.flaws.put_merges && req.method == Method::PUT {
                let current = s.proxy.forward_as(&req, Method::GET, Vec::new()).await;
                if let Some(Value::Object(mut cur)) = json_of(current).await.1 {
                    keep_declared(attrs, &mut cur);
                    if let Value::Object(m) =
                        merge_top_level(Value::Object(cur), Value::Object(body.clone()))
                    {
                        body = m;
                    }
                }
            }
            if let Some(missing) = missing_required(attrs, &body, s.flaws.nothing_required) {
                return scim_error(
                    StatusCode::BAD_REQUEST,
                    Some("invalidValue"),
                    &format!("{missing} is required"),
                );
            }
            s.proxy
                .forward_as(
                    &req,
                    req.method.clone(),
                    Value::Object(body).to_string().into_bytes(),
                )
                .await
        }
        (Method::PATCH, Some(_)) => match patch(&s, &req, attrs).await {
            Ok(a) | Err(a) => a,
        },
        (Method::DELETE, Some(id)) if s.flaws.soft_delete => {
            let seen = s.proxy.forward_as(&req, Method::GET, Vec::new()).await;
            if seen.status() != StatusCode::OK || s.deleted.lock().unwrap().contains(id) {
                return scim_error(StatusCode::NOT_FOUND, None, "no such resource");
            }
            s.deleted.lock().unwrap().insert(id.clone());
            return json_response(StatusCode::NO_CONTENT, &Value::Null);
        }
        _ => {
            s.proxy
                .forward_as(&req, req.method.clone(), req.body.clone())
                .await
        }
    };
    if !matches!(answer.status().as_u16(), 200 | 201) || req.method == Method::DELETE {
        return answer;
    }
    // Same status and headers (Location, ETag), the body reshaped.
    rewrite_json(answer, |value| {
        let shape = |r: &mut Value| {
            if let Some(o) = r.as_object_mut() {
                keep_declared(attrs, o);
                if !partial {
                    nulls_for_unset(attrs, o);
                }
            }
        };
        match value.get_mut("Resources").and_then(Value::as_array_mut) {
            Some(items) => items.iter_mut().for_each(shape),
            None => shape(value),
        }
    })
    .await
}

/// Reads an answer's JSON body.
async fn json_of(answer: Response) -> (StatusCode, Option<Value>) {
    let status = answer.status();
    let bytes = to_bytes(answer.into_body(), MAX_BODY)
        .await
        .unwrap_or_default();
    (status, serde_json::from_slice(&bytes).ok())
}

/// The discovery endpoints, answered here; `None` for any other path.
fn discovery(s: &Strict, req: &Incoming) -> Option<Response> {
    let segments: Vec<&str> = req.path.split('/').filter(|x| !x.is_empty()).collect();
    let at = segments.iter().rposition(|x| {
        ["ServiceProviderConfig", "Schemas", "ResourceTypes"]
            .iter()
            .any(|d| d.eq_ignore_ascii_case(x))
    })?;
    // Only the last or second-to-last segment (`/Schemas/{urn}`).
    if at + 2 < segments.len() {
        return None;
    }
    if req.method != Method::GET {
        return Some(scim_error(
            StatusCode::METHOD_NOT_ALLOWED,
            None,
            "discovery endpoints are read-only",
        ));
    }
    let one = segments.get(at + 1).copied();
    let user = schema_doc(
        USER_URN,
        "User",
        USER_ATTRS,
        s.flaws.nothing_required || s.flaws.hides_required,
    );
    let group = schema_doc(
        GROUP_URN,
        "Group",
        GROUP_ATTRS,
        s.flaws.nothing_required || s.flaws.hides_required,
    );
    let rts = [
        resource_type("User", "/Users", USER_URN),
        resource_type("Group", "/Groups", GROUP_URN),
    ];
    let not_found = || scim_error(StatusCode::NOT_FOUND, None, "no such discovery resource");
    let answer = match (segments[at], one) {
        ("ServiceProviderConfig", _) => json_response(StatusCode::OK, &spc(s.flaws)),
        ("Schemas", None) => json_response(StatusCode::OK, &list(vec![user, group])),
        ("Schemas", Some(id)) => [user, group]
            .into_iter()
            .find(|d| d["id"] == id)
            .map_or_else(not_found, |d| json_response(StatusCode::OK, &d)),
        ("ResourceTypes", None) => json_response(StatusCode::OK, &list(rts.to_vec())),
        ("ResourceTypes", Some(id)) => rts
            .into_iter()
            .find(|d| d["id"] == id)
            .map_or_else(not_found, |d| json_response(StatusCode::OK, &d)),
        _ => not_found(),
    };
    Some(answer)
}

/// A PATCH: ops naming undeclared attributes are refused, path-less values lose undeclared
/// keys; with `non_atomic_patch` each op is sent on its own.
async fn patch(s: &Strict, req: &Incoming, attrs: &[Attr]) -> Result<Response, Response> {
    let Some(Value::Object(mut body)) = req.json() else {
        return Ok(s
            .proxy
            .forward_as(req, Method::PATCH, req.body.clone())
            .await);
    };
    let key = body
        .keys()
        .find(|k| k.eq_ignore_ascii_case("Operations"))
        .cloned()
        .unwrap_or_else(|| "Operations".into());
    let mut ops = body
        .get(&key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for op in ops.iter_mut().filter_map(Value::as_object_mut) {
        match get_ci(op, "path").and_then(Value::as_str) {
            Some(path) if !path_declared(attrs, path) => {
                return Err(scim_error(
                    StatusCode::BAD_REQUEST,
                    Some("invalidPath"),
                    &format!("{path} is not an attribute of this resource type"),
                ));
            }
            Some(_) => {}
            None => {
                if let Some(Value::Object(v)) = op
                    .iter_mut()
                    .find(|(k, _)| k.eq_ignore_ascii_case("value"))
                    .map(|(_, v)| v)
                {
                    keep_declared(attrs, v);
                }
            }
        }
    }
    if s.flaws.non_atomic_patch && ops.len() > 1 {
        let mut last = None;
        for op in ops {
            let mut one = body.clone();
            one.insert(key.clone(), json!([op]));
            let answer = s
                .proxy
                .forward_as(
                    req,
                    Method::PATCH,
                    Value::Object(one).to_string().into_bytes(),
                )
                .await;
            if !answer.status().is_success() {
                return Err(answer);
            }
            last = Some(answer);
        }
        return Ok(last.expect("more than one op"));
    }
    body.insert(key, Value::Array(ops));
    Ok(s.proxy
        .forward_as(
            req,
            Method::PATCH,
            Value::Object(body).to_string().into_bytes(),
        )
        .await)
}
