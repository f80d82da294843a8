//! HTTP front of the reference server: authentication, routing, query parameters, status codes
//! and headers (RFC 7644 §3). Every answer with a body is `application/scim+json`; every error
//! is a SCIM Error (§3.12), including 401, 404 for unknown paths, 405, 412 and 413.
//!
//! ```text
//! GET  /scim/v2/Users?filter=userName+eq+%22josue%40contoso.com%22   → 200 ListResponse
//! POST /scim/v2/Groups  {"schemas":[…Group, …ADSCIM/2.0/Group],"displayName":"IT-Admins"}  → 201
//! ```

use crate::scim::error::ScimError;
use crate::scim::filter::{parse_filter, validate, AttrPath, Filter};
use crate::scim::kind::ObjectKind;
use crate::scim::patch::apply_patch;
use crate::scim::resource::{normalize, Projection};
use crate::scim::schema::{LIST_URN, SEARCH_URN};
use crate::secret::Secret;
use crate::server::discovery::{self, MAX_RESULTS};
use crate::server::store::{Entry, Query, Store};
use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

pub use crate::scim::SCIM_JSON;

/// What every request handler shares.
pub struct App {
    pub store: Arc<Store>,
    pub token: Option<Secret>,
    /// `/scim/v2`, or empty for the root.
    pub base_path: String,
    pub max_body: usize,
    /// Longest wait for a request body once its headers arrived.
    pub body_timeout: std::time::Duration,
    /// `host:port` to use in `meta.location` when a request has no `Host` header.
    pub fallback_host: String,
}

fn scim(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).expect("JSON values serialise");
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON))],
        bytes,
    )
        .into_response()
}

fn error(e: &ScimError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = scim(status, &e.to_json());
    if e.status == 401 {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"scimulator\""),
        );
    }
    r
}

fn with_etag(mut r: Response, e: &Entry) -> Response {
    if let Ok(v) = HeaderValue::from_str(&e.etag()) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// The single entry point: axum hands every request here.
pub async fn handle(State(app): State<Arc<App>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_string();
    let resp = match respond(&app, &parts, body).await {
        Ok(r) => r,
        Err(e) => error(&e),
    };
    tracing::debug!(%method, %path, status = resp.status().as_u16(), "request");
    resp
}

fn authorized(app: &App, headers: &HeaderMap) -> bool {
    let Some(token) = &app.token else { return true };
    let Some(auth) = header_str(headers, header::AUTHORIZATION) else {
        return false;
    };
    let mut it = auth.splitn(2, ' ');
    let scheme = it.next().unwrap_or("");
    let value = it.next().unwrap_or("").trim();
    scheme.eq_ignore_ascii_case("bearer") && token.matches(value)
}

async fn read_body(app: &App, headers: &HeaderMap, body: Body) -> Result<Bytes, ScimError> {
    let too_large = || {
        ScimError::new(
            413,
            None,
            format!("request body is larger than {} bytes", app.max_body),
        )
    };
    if let Some(len) =
        header_str(headers, header::CONTENT_LENGTH).and_then(|l| l.parse::<usize>().ok())
    {
        if len > app.max_body {
            return Err(too_large());
        }
    }
    // A client that stops sending mid-body gets 408 and loses the connection after
    // `body_timeout`, instead of holding it open forever (slowloris).
    match tokio::time::timeout(app.body_timeout, to_bytes(body, app.max_body)).await {
        Ok(read) => read.map_err(|_| too_large()),
        Err(_) => Err(ScimError::new(
            408,
            None,
            format!(
                "the request body did not arrive within {} s",
                app.body_timeout.as_secs_f64()
            ),
        )),
    }
}

fn json_body(bytes: &Bytes) -> Result<Value, ScimError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ScimError::invalid_syntax("the request needs a JSON body"));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ScimError::invalid_syntax(format!("the body is not valid JSON: {e}")))
}

/// 405, with the `Allow` header RFC 9110 §15.5.6 requires of it.
fn method_not_allowed(allowed: &'static str) -> Response {
    let mut r = error(&ScimError::new(
        405,
        None,
        format!("method not allowed here; allowed: {allowed}"),
    ));
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allowed));
    r
}

async fn respond(
    app: &App,
    parts: &axum::http::request::Parts,
    body: Body,
) -> Result<Response, ScimError> {
    if !authorized(app, &parts.headers) {
        return Err(ScimError::new(401, None, "missing or wrong bearer token"));
    }
    let host = header_str(&parts.headers, header::HOST)
        .unwrap_or(&app.fallback_host)
        .to_string();
    let base_url = format!("http://{host}{}", app.base_path);
    let Some(rest) = parts.uri.path().strip_prefix(app.base_path.as_str()) else {
        return Err(ScimError::not_found(format!(
            "no SCIM endpoint here; the base path is {}",
            app.base_path
        )));
    };
    let segs: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let params: HashMap<String, String> =
        axum::extract::Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .map(|q| q.0)
            .map_err(|e| ScimError::invalid_syntax(format!("bad query string: {e}")))?;
    let m = &parts.method;
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let kind_of = |s: &str| match s {
        "Users" => Some(ObjectKind::User),
        "Groups" => Some(ObjectKind::Group),
        _ => None,
    };
    match segs.as_slice() {
        ["ServiceProviderConfig"] => {
            if let Some(r) = read_only(m) {
                return Ok(r);
            }
            Ok(scim(
                StatusCode::OK,
                &discovery::service_provider_config(&base_url, app.token.is_some()),
            ))
        }
        ["ResourceTypes"] => {
            if let Some(r) = read_only(m) {
                return Ok(r);
            }
            Ok(scim(
                StatusCode::OK,
                &discovery::list(discovery::resource_types(&base_url)),
            ))
        }
        ["ResourceTypes", id] => {
            if let Some(r) = read_only(m) {
                return Ok(r);
            }
            discovery::resource_type(&base_url, id)
                .map(|v| scim(StatusCode::OK, &v))
                .ok_or_else(|| ScimError::not_found(format!("no resource type {id}")))
        }
        ["Schemas"] => {
            if let Some(r) = read_only(m) {
                return Ok(r);
            }
            Ok(scim(
                StatusCode::OK,
                &discovery::list(discovery::schemas(&base_url)),
            ))
        }
        ["Schemas", id] => {
            if let Some(r) = read_only(m) {
                return Ok(r);
            }
            discovery::schema(&base_url, id)
                .map(|v| scim(StatusCode::OK, &v))
                .ok_or_else(|| ScimError::not_found(format!("no schema {id}")))
        }
        [".search"] => {
            if m != Method::POST {
                return Ok(method_not_allowed("POST"));
            }
            let b = json_body(&read_body(app, &parts.headers, body).await?)?;
            search(
                app,
                &[ObjectKind::User, ObjectKind::Group],
                &SearchParams::from_body(&b)?,
                &base_url,
            )
        }
        ["Bulk"] | ["Me"] => Err(ScimError::new(
            501,
            None,
            "not implemented by the reference server",
        )),
        [t] if kind_of(t).is_some() => {
            let kind = kind_of(t).expect("kind");
            match *m {
                Method::GET | Method::HEAD => {
                    search(app, &[kind], &SearchParams::from_query(&params)?, &base_url)
                }
                Method::POST => {
                    let b = json_body(&read_body(app, &parts.headers, body).await?)?;
                    let n = normalize(&b, kind.rt())?;
                    let e = app.store.create(kind, n)?;
                    let mut v = app.store.render(kind, &e, &base_url);
                    Projection::parse(
                        params.get("attributes").map(String::as_str),
                        params.get("excludedAttributes").map(String::as_str),
                    )?
                    .apply(&mut v, kind.rt());
                    let mut r = with_etag(scim(StatusCode::CREATED, &v), &e);
                    if let Ok(loc) = HeaderValue::from_str(&format!("{base_url}/{t}/{}", e.id)) {
                        r.headers_mut().insert(header::LOCATION, loc);
                    }
                    Ok(r)
                }
                _ => Ok(method_not_allowed("GET, HEAD, POST")),
            }
        }
        [t, ".search"] if kind_of(t).is_some() => {
            if m != Method::POST {
                return Ok(method_not_allowed("POST"));
            }
            let b = json_body(&read_body(app, &parts.headers, body).await?)?;
            search(
                app,
                &[kind_of(t).expect("kind")],
                &SearchParams::from_body(&b)?,
                &base_url,
            )
        }
        [t, id] if kind_of(t).is_some() => {
            let kind = kind_of(t).expect("kind");
            let projection = Projection::parse(
                params.get("attributes").map(String::as_str),
                params.get("excludedAttributes").map(String::as_str),
            )?;
            let if_match = header_str(&parts.headers, header::IF_MATCH);
            let render = |e: &Entry, status: StatusCode| {
                let mut v = app.store.render(kind, e, &base_url);
                projection.apply(&mut v, kind.rt());
                with_etag(scim(status, &v), e)
            };
            match *m {
                Method::GET | Method::HEAD => {
                    let e = app
                        .store
                        .get(kind, id)
                        .ok_or_else(|| ScimError::not_found(format!("{kind:?} {id} not found")))?;
                    if header_str(&parts.headers, header::IF_NONE_MATCH).is_some_and(|v| {
                        v.split(',')
                            .any(|x| x.trim() == e.etag() || x.trim() == "*")
                    }) {
                        return Ok(with_etag(StatusCode::NOT_MODIFIED.into_response(), &e));
                    }
                    Ok(render(&e, StatusCode::OK))
                }
                Method::PUT => {
                    let b = json_body(&read_body(app, &parts.headers, body).await?)?;
                    let n = normalize(&b, kind.rt())?;
                    let e = app.store.replace(kind, id, n, if_match)?;
                    Ok(render(&e, StatusCode::OK))
                }
                Method::PATCH => {
                    let b = json_body(&read_body(app, &parts.headers, body).await?)?;
                    let e = app.store.modify(kind, id, if_match, |mut current| {
                        apply_patch(&mut current, &b, kind.rt())?;
                        normalize(&current, kind.rt())
                    })?;
                    // RFC 7644 §3.5.2: 204, or 200 with the resource when the client asks for
                    // attributes.
                    if projection.is_empty() {
                        Ok(with_etag(StatusCode::NO_CONTENT.into_response(), &e))
                    } else {
                        Ok(render(&e, StatusCode::OK))
                    }
                }
                Method::DELETE => {
                    app.store.delete(kind, id, if_match)?;
                    Ok(StatusCode::NO_CONTENT.into_response())
                }
                _ => Ok(method_not_allowed("GET, HEAD, PUT, PATCH, DELETE")),
            }
        }
        _ => Err(ScimError::not_found(format!(
            "no SCIM endpoint at {}",
            parts.uri.path()
        ))),
    }
}

/// The 405 answer to anything but a read of a discovery document.
fn read_only(m: &Method) -> Option<Response> {
    if m == Method::GET || m == Method::HEAD {
        None
    } else {
        Some(method_not_allowed("GET, HEAD"))
    }
}

/// List and search parameters, from a query string or a SearchRequest body (RFC 7644 §3.4.3).
struct SearchParams {
    filter: Option<Filter>,
    projection: Projection,
    sort_by: Option<AttrPath>,
    descending: bool,
    start_index: usize,
    count: usize,
}

impl SearchParams {
    fn from_query(p: &HashMap<String, String>) -> Result<Self, ScimError> {
        let get = |k: &str| {
            p.iter()
                .find(|(x, _)| x.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.as_str())
        };
        let int = |k: &str| -> Result<Option<i64>, ScimError> {
            get(k)
                .map(|v| {
                    v.trim().parse::<i64>().map_err(|_| {
                        ScimError::invalid_value(format!("'{k}' must be an integer, got {v:?}"))
                    })
                })
                .transpose()
        };
        Self::build(
            get("filter"),
            get("attributes"),
            get("excludedAttributes"),
            get("sortBy"),
            get("sortOrder"),
            int("startIndex")?,
            int("count")?,
        )
    }

    fn from_body(b: &Value) -> Result<Self, ScimError> {
        if let Some(s) = b.get("schemas") {
            if !s
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(SEARCH_URN)))
            {
                return Err(ScimError::invalid_syntax(format!(
                    "'schemas' must list {SEARCH_URN}"
                )));
            }
        }
        let list = |k: &str| -> Result<Option<String>, ScimError> {
            match b.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Array(a)) => Ok(Some(
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(","),
                )),
                Some(_) => Err(ScimError::invalid_value(format!(
                    "'{k}' must be a list of attribute names"
                ))),
            }
        };
        let text = |k: &str| b.get(k).and_then(Value::as_str);
        let int = |k: &str| -> Result<Option<i64>, ScimError> {
            match b.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| ScimError::invalid_value(format!("'{k}' must be an integer"))),
            }
        };
        let (a, x) = (list("attributes")?, list("excludedAttributes")?);
        Self::build(
            text("filter"),
            a.as_deref(),
            x.as_deref(),
            text("sortBy"),
            text("sortOrder"),
            int("startIndex")?,
            int("count")?,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        filter: Option<&str>,
        attributes: Option<&str>,
        excluded: Option<&str>,
        sort_by: Option<&str>,
        sort_order: Option<&str>,
        start_index: Option<i64>,
        count: Option<i64>,
    ) -> Result<Self, ScimError> {
        let filter = match filter.map(str::trim).filter(|f| !f.is_empty()) {
            Some(f) => Some(parse_filter(f)?),
            None => None,
        };
        let sort_by = match sort_by.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Some(AttrPath::parse(s).ok_or_else(|| {
                ScimError::invalid_value(format!("sortBy '{s}' is not an attribute path"))
            })?),
            None => None,
        };
        let descending = match sort_order.map(str::to_ascii_lowercase).as_deref() {
            None | Some("ascending") | Some("") => false,
            Some("descending") => true,
            Some(o) => {
                return Err(ScimError::invalid_value(format!(
                    "sortOrder must be ascending or descending, not {o:?}"
                )))
            }
        };
        Ok(SearchParams {
            filter,
            projection: Projection::parse(attributes, excluded)?,
            sort_by,
            descending,
            // RFC 7644 §3.4.2.4: startIndex below 1 is 1; a negative count is 0.
            start_index: start_index.unwrap_or(1).max(1) as usize,
            count: count
                .unwrap_or(MAX_RESULTS as i64)
                .clamp(0, MAX_RESULTS as i64) as usize,
        })
    }
}

fn search(
    app: &App,
    kinds: &[ObjectKind],
    p: &SearchParams,
    base_url: &str,
) -> Result<Response, ScimError> {
    if let Some(f) = &p.filter {
        if kinds.len() == 1 {
            validate(f, kinds[0].rt())?;
        }
    }
    let mut total = 0;
    let mut resources = Vec::new();
    let mut skip = p.start_index - 1;
    let mut room = p.count;
    for &kind in kinds {
        let q = Query {
            filter: p.filter.clone(),
            sort_by: p.sort_by.clone(),
            descending: p.descending,
            start_index: skip + 1,
            count: Some(room),
        };
        let (n, take) = app.store.query(kind, &q);
        total += n;
        skip = skip.saturating_sub(n);
        room -= take.len();
        for mut v in app.store.render_all(kind, &take, base_url) {
            p.projection.apply(&mut v, kind.rt());
            resources.push(v);
        }
    }
    Ok(scim(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_URN],
            "totalResults": total,
            "startIndex": p.start_index,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    ))
}
