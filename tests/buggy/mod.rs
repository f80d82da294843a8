//! A small, deliberately buggy SCIM server for the harness's own tests: a reverse proxy on a
//! loopback port in front of an in-process reference server, with one realistic bug switched
//! on. The bugs are general (they look at the shape of a request or answer, never at test
//! data), so the harness must find them the way it would find them in a real server.
//!
//! ```ignore
//! let server = buggy::start(buggy::Bug::FalseStringIsTrue, "t").await;
//! // run scenarios against server.url ...
//! server.stop().await;
//! ```

// Each test crate uses a different subset of the bugs.
#![allow(dead_code)]

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use scimulator::server::{start as start_reference, RunningServer, ServerConfig};
use serde_json::{json, Map, Value};
use std::net::SocketAddr;
use std::sync::Arc;

mod engine;
mod onelogin;
mod ping;
mod safety;
mod verdicts;

const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const SCIM_JSON: &str = "application/scim+json";
/// Largest body the proxy reads: the reference server's own limit.
const MAX_BODY: usize = scimulator::server::DEFAULT_MAX_BODY;

/// The one thing the server gets wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    /// A faithful proxy: the control.
    None,
    /// Only lowercase PATCH ops are known: `"op": "Add"` gets 400 invalidSyntax.
    RejectPascalCaseOps,
    /// `active` given as a string in a PATCH is read as `bool(value)`: "False" becomes `true`.
    FalseStringIsTrue,
    /// `GET /Groups?filter=...` is not implemented: 400 invalidFilter.
    GroupFilterBadRequest,
    /// `remove` of `members` with a value array ignores the value: every member is dropped.
    RemoveValueArrayDropsAll,
    /// A PATCH that sets `active` to false deletes the user (and answers 204).
    DeactivateDeletes,
    /// `userName eq "..."` compares case-sensitively (a case-sensitive collation): a filter in
    /// other case finds nothing, though it still answers 200 with a ListResponse.
    CaseSensitiveUserNameFilter,
    /// A 409 answers with a plain-text body ("User already exists") instead of a SCIM Error.
    ConflictAsPlainText,
    /// A PATCH op whose path starts with `members[` (a value filter, as Okta removes members)
    /// gets 400 invalidPath.
    RejectMembersFilterPath,
    /// After a `PUT /Users/{id}` the user is removed from every group it was in.
    PutDropsGroups,
    /// `PUT /Users/{id}` is applied as a merge: attributes the body omits keep their values.
    PutKeepsOmitted,
    /// Lists and filters of `/Users` leave out the resources whose `active` is false.
    HideInactive,
    /// `startIndex` on `/Users` is read as a 0-based offset: each page starts one resource late.
    ZeroBasedStartIndex,
    /// `POST /Groups` ignores the `members` of the body: the group is created empty.
    PostGroupsIgnoresMembers,
    /// `GET /Users/{id}` answers `"active": "yes"` where it holds `"active": true` (a
    /// string where RFC 7643 §4.1.1 says boolean).
    ActiveAsString,
    /// Extension attributes other than the enterprise extension (`urn:…:ciscoumbrella:2.0:User`)
    /// are silently dropped from POST, PUT and PATCH bodies (and PATCH ops whose path starts
    /// with such a URN); the request still succeeds.
    DropUnknownExtensions,
    // ---- branch `safety` (tests/buggy/safety.rs) ----
    /// `filter` is ignored: `GET /Users?filter=…` and `GET /Groups?filter=…` answer the whole
    /// list (a server whose ServiceProviderConfig says `filter.supported: false` and that
    /// returns everything anyway).
    IgnoreFilter,
    /// Every resource id in an answer is path syntax: `../../{id}` (a server that uses a
    /// hierarchical key, or echoes an attacker-chosen value, as its id).
    DotDotIds,
    /// `DELETE /Users/{id}` and `DELETE /Groups/{id}` answer 204 but keep the object (a soft
    /// delete that stays readable).
    SoftDelete,
    /// `DELETE /Users/{id}` and `DELETE /Groups/{id}` answer 500; nothing is deleted.
    DeleteFails,
    // ---- branch `verdicts` (tests/buggy/verdicts.rs) ----
    /// A PATCH with an `add` (any case) on a value-filtered path (`emails[type eq "work"].value`)
    /// is refused whole: 400 invalidPath naming the path. Other ops, `"Replace"` and `"False"`
    /// included, are fine.
    RejectAddOnFilteredPath,
    /// `PUT /Users/{id}` keeps the top-level core attributes the body omits (`title`) while
    /// replacing the extension objects it carries: a merge that only a core attribute shows.
    PutMergesTopLevel,
    /// A user must carry `name.givenName` and `name.familyName` together (POST and PUT; a
    /// PATCH that leaves one of them without the other): 400 invalidValue otherwise.
    RequireGivenAndFamilyName,
    /// List responses give `startIndex` and `itemsPerPage` as strings (`"1"`): an RFC 7644
    /// §3.4.2 schema violation no IdP notices.
    ListCountsAsStrings,
    /// No `/Groups` endpoint (a users-only server): every `/Groups` request gets 404.
    NoGroupsEndpoint,
    /// (branch `engine`) `/Users` list pages hold at most 50 resources whatever `count` asks:
    /// RFC 7644 §3.4.2.4 lets a server return fewer; Okta moves startIndex by 100 regardless.
    PageCap50,
    // ---- branch `onelogin` (tests/buggy/onelogin.rs) ----
    /// The query is percent-decoded, not form-decoded: `+` in a filter stays a plus sign, so
    /// `filter=userName+eq+%22…%22` is refused 400 invalidFilter.
    PlusIsLiteral,
    /// A request target with an empty query (`PUT /Users/{id}?`) keeps the `?` in the id: 404.
    EmptyQueryInId,
    /// A PATCH `remove` of the path `members` (no value filter) gets 400 invalidPath.
    RejectMembersRemoveNoFilter,
    /// `DELETE /Users/{id}` answers 405: users cannot be deleted (groups can).
    DeleteNotSupported,
    // ---- branch `ping` (tests/buggy/ping.rs) ----
    /// Filter operators are parsed case-sensitively: `userName Eq "…"` (PingOne's capitalised
    /// operator) gets 400 invalidFilter, though RFC 7644 §3.4.2.2 makes operators
    /// case-insensitive; `eq` works.
    CaseSensitiveFilterOperators,
    /// Correct but minimal: listings without a filter return at most 2 resources a page
    /// (a server may return fewer than `count`), honouring `startIndex`.
    CappedPages,
    /// Listings without a filter return at most 2 resources a page and ignore `startIndex`:
    /// every page is the first one.
    CappedPagesIgnoreStartIndex,
    // ---- branch `transport` ----
    /// A request without an `Accept` header gets 406 Not Acceptable (a framework's content
    /// negotiation with no default): Entra's GETs carry none (azure-docs issue 94189).
    RequireAccept,
}

/// The buggy server, serving until dropped or stopped.
pub struct BuggyServer {
    /// Base URL, e.g. `http://127.0.0.1:41236/scim/v2`.
    pub url: String,
    /// The reference server behind the proxy.
    pub upstream: RunningServer,
    /// Every request the proxy received, `METHOD path?query` as it arrived (branch `safety`).
    pub seen: Arc<std::sync::Mutex<Vec<String>>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl BuggyServer {
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for BuggyServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

struct Proxy {
    bug: Bug,
    /// `http://127.0.0.1:PORT` of the reference server, no path.
    upstream: String,
    http: reqwest::Client,
    /// Every request received (branch `safety`).
    seen: Arc<std::sync::Mutex<Vec<String>>>,
}

/// Starts a reference server requiring `token` and the proxy in front of it, both on the current
/// runtime; returns once both accept connections.
pub async fn start(bug: Bug, token: &str) -> BuggyServer {
    let upstream = start_upstream(token).await;
    let proxy = Arc::new(Proxy::to(&upstream, bug));
    let router = axum::Router::new()
        .fallback(handle)
        .with_state(proxy.clone());
    serve_in_front(upstream, proxy.seen.clone(), router).await
}

/// The reference server every test server here stands in front of.
async fn start_upstream(token: &str) -> RunningServer {
    start_reference(ServerConfig::local().with_token(token))
        .await
        .expect("reference server")
}

impl Proxy {
    /// A proxy to `upstream` playing `bug`, recording every request it receives.
    fn to(upstream: &RunningServer, bug: Bug) -> Proxy {
        Proxy {
            seen: Arc::new(std::sync::Mutex::new(Vec::new())),
            bug,
            upstream: format!("http://{}", upstream.addr),
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("reqwest client"),
        }
    }
}

/// Serves `router` on a loopback port (port 0) in front of `upstream`, with the same base path
/// as the reference server: only the authority differs.
async fn serve_in_front(
    upstream: RunningServer,
    seen: Arc<std::sync::Mutex<Vec<String>>>,
    router: axum::Router,
) -> BuggyServer {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind proxy");
    let addr = listener.local_addr().expect("proxy address");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    let base_path = upstream
        .url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|at| rest[at..].to_owned()))
        .unwrap_or_default();
    BuggyServer {
        url: format!("http://{addr}{base_path}"),
        upstream,
        seen,
        shutdown: Some(tx),
        task: Some(task),
    }
}

/// What one run of the real binary printed.
pub struct Run {
    pub code: Option<i32>,
    /// stdout then stderr.
    pub output: String,
}

impl Run {
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Run {
        assert_eq!(self.code, Some(code), "exit code\n{}", self.output);
        self
    }

    #[track_caller]
    pub fn assert_contains(&self, needle: &str) -> &Run {
        assert!(
            self.output.contains(needle),
            "expected {needle:?} in the output:\n{}",
            self.output
        );
        self
    }

    /// A diff line (`-` expected or `+` actual) containing `needle`.
    #[track_caller]
    pub fn assert_diff_line(&self, sign: char, needle: &str) -> &Run {
        assert!(
            self.output.lines().any(|l| {
                let l = l.trim_start();
                l.starts_with(sign)
                    && !l.starts_with("---")
                    && !l.starts_with("+++")
                    && l.contains(needle)
            }),
            "expected a diff line {sign}...{needle:?} in the output:\n{}",
            self.output
        );
        self
    }
}

/// Runs the real binary (`scimulator run ... --no-color`, from the crate root, without
/// `SCIM_TOKEN` in its environment) on `scenario_path` (a scenario file or folder, relative to
/// the crate root) against a proxy with `bug` requiring `token`. Asserts that `token` appears
/// nowhere in the output. `token` should be long enough that redacting it cannot touch
/// anything else in the output.
pub async fn run_against(bug: Bug, token: &str, scenario_path: &str) -> Run {
    let server = start(bug, token).await;
    let url = server.url.clone();
    let root = env!("CARGO_MANIFEST_DIR");
    let file = format!("{root}/{scenario_path}");
    let token_arg = token.to_owned();
    // The binary blocks; the proxy and the reference server run on this test's runtime.
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_scimulator"))
            .current_dir(root)
            .env_remove("SCIM_TOKEN")
            .args([
                "run",
                &file,
                "--target",
                &url,
                "--token",
                &token_arg,
                "--no-color",
            ])
            .output()
            .expect("run scimulator")
    })
    .await
    .expect("join");
    server.stop().await;
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!output.contains(token), "the token leaked:\n{output}");
    Run {
        code: out.status.code(),
        output,
    }
}

/// One request as the proxy sees it, before forwarding.
struct Incoming {
    method: Method,
    /// Path and query, as received.
    path_and_query: String,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Incoming {
    fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    fn set_json(&mut self, value: &Value) {
        self.body = serde_json::to_vec(value).expect("serialise body");
    }

    /// The resource type and id the path names: `("Users", Some(id))`, `("Groups", None)`.
    fn resource(&self) -> Option<(String, Option<String>)> {
        let segments: Vec<&str> = self.path.split('/').filter(|s| !s.is_empty()).collect();
        let at = segments
            .iter()
            .rposition(|s| s.eq_ignore_ascii_case("Users") || s.eq_ignore_ascii_case("Groups"))?;
        match &segments[at + 1..] {
            [] => Some((segments[at].to_owned(), None)),
            [id] => Some((segments[at].to_owned(), Some((*id).to_owned()))),
            _ => None,
        }
    }

    fn is_users(&self) -> bool {
        self.resource()
            .is_some_and(|(kind, _)| kind.eq_ignore_ascii_case("Users"))
    }

    fn is_groups(&self) -> bool {
        self.resource()
            .is_some_and(|(kind, _)| kind.eq_ignore_ascii_case("Groups"))
    }

    fn has_query_param(&self, name: &str) -> bool {
        let Some(query) = &self.query else {
            return false;
        };
        reqwest::Url::parse(&format!("http://x/?{query}"))
            .map(|url| url.query_pairs().any(|(k, _)| k.eq_ignore_ascii_case(name)))
            .unwrap_or(false)
    }
}

async fn handle(State(proxy): State<Arc<Proxy>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b.to_vec(),
        Err(_) => return scim_error(StatusCode::PAYLOAD_TOO_LARGE, None, "body too large"),
    };
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned());
    let mut req = Incoming {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        path_and_query,
        headers: parts.headers,
        body,
    };
    proxy
        .seen
        .lock()
        .expect("request log")
        .push(format!("{} {}", req.method, req.path_and_query));
    match proxy.bug {
        // These change the answer, below.
        Bug::None | Bug::CaseSensitiveUserNameFilter | Bug::ConflictAsPlainText => {}
        Bug::RejectPascalCaseOps => {
            if let Some(op) = patch_ops(&req)
                .iter()
                .filter_map(|op| op_name(op))
                .find(|name| name.chars().any(|c| c.is_ascii_uppercase()))
            {
                return scim_error(
                    StatusCode::BAD_REQUEST,
                    Some("invalidSyntax"),
                    &format!("unknown op {op:?}"),
                );
            }
        }
        Bug::FalseStringIsTrue => {
            if let Some(mut body) = patch_body(&req) {
                if for_each_op(&mut body, string_active_is_truthy) {
                    req.set_json(&body);
                }
            }
        }
        Bug::GroupFilterBadRequest => {
            if req.method == Method::GET
                && req.is_groups()
                && req.resource().is_some_and(|(_, id)| id.is_none())
                && req.has_query_param("filter")
            {
                return scim_error(
                    StatusCode::BAD_REQUEST,
                    Some("invalidFilter"),
                    "filtering groups is not supported",
                );
            }
        }
        Bug::RemoveValueArrayDropsAll => {
            if let Some(mut body) = patch_body(&req) {
                if for_each_op(&mut body, drop_remove_value) {
                    req.set_json(&body);
                }
            }
        }
        Bug::RejectMembersFilterPath
        | Bug::PutDropsGroups
        | Bug::PutKeepsOmitted
        | Bug::HideInactive
        | Bug::ZeroBasedStartIndex
        | Bug::PostGroupsIgnoresMembers => {
            if let Some(answer) = okta_bug(&proxy, &mut req).await {
                return answer;
            }
        }
        Bug::DeactivateDeletes => {
            if req.is_users() && patch_ops(&req).iter().any(sets_active_false) {
                let deleted = proxy.forward_as(&req, Method::DELETE, Vec::new()).await;
                return if deleted.status().is_success() {
                    Response::builder()
                        .status(StatusCode::NO_CONTENT)
                        .body(Body::empty())
                        .expect("204 response")
                } else {
                    deleted
                };
            }
        }
        // Changes the answer, below.
        Bug::ActiveAsString => {}
        Bug::DropUnknownExtensions => {
            if let Some(answer) = drop_unknown_extensions(&proxy, &mut req).await {
                return answer;
            }
        }
        // Branch `safety`: the bugs of tests/buggy/safety.rs take the request over.
        Bug::IgnoreFilter | Bug::DotDotIds | Bug::SoftDelete | Bug::DeleteFails => {
            return safety::handle(&proxy, req).await;
        }
        // branch `verdicts`
        Bug::RejectAddOnFilteredPath
        | Bug::PutMergesTopLevel
        | Bug::RequireGivenAndFamilyName
        | Bug::ListCountsAsStrings
        | Bug::NoGroupsEndpoint => {
            if let Some(answer) = verdicts::before(&proxy, &mut req).await {
                return answer;
            }
        }
        // Branch `engine`.
        Bug::PageCap50 => engine::cap_users_page(&mut req, 50),
        // branch `onelogin`
        Bug::PlusIsLiteral
        | Bug::EmptyQueryInId
        | Bug::RejectMembersRemoveNoFilter
        | Bug::DeleteNotSupported => {
            if let Some(answer) = onelogin::before(&proxy, &mut req).await {
                return answer;
            }
        }
        // branch `ping`
        Bug::RequireAccept => {
            if !req.headers.contains_key(axum::http::header::ACCEPT) {
                return scim_error(
                    StatusCode::NOT_ACCEPTABLE,
                    None,
                    "an Accept header is required",
                );
            }
        }
        Bug::CaseSensitiveFilterOperators | Bug::CappedPages | Bug::CappedPagesIgnoreStartIndex => {
            if let Some(answer) = ping::before(&proxy, &mut req).await {
                return answer;
            }
        }
    }
    let body = std::mem::take(&mut req.body);
    let method = req.method.clone();
    let user_name_filter = (proxy.bug == Bug::CaseSensitiveUserNameFilter
        && req.method == Method::GET
        && req.is_users())
    .then(|| user_name_eq(&req))
    .flatten();
    let answer = proxy.forward_as(&req, method, body).await;
    match proxy.bug {
        Bug::CaseSensitiveUserNameFilter => match user_name_filter {
            Some(wanted) if answer.status() == StatusCode::OK => {
                rewrite_json(answer, |list| keep_exact_user_name(list, &wanted)).await
            }
            _ => answer,
        },
        Bug::ConflictAsPlainText if answer.status() == StatusCode::CONFLICT => Response::builder()
            .status(StatusCode::CONFLICT)
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Body::from("User already exists"))
            .expect("409 response"),
        Bug::ActiveAsString if method_is_get_user(&req) && answer.status() == StatusCode::OK => {
            rewrite_json(answer, |user| {
                if user.get("active") == Some(&Value::Bool(true)) {
                    user["active"] = json!("yes");
                }
            })
            .await
        }
        Bug::ListCountsAsStrings => verdicts::after(&req, answer).await,
        _ => answer,
    }
}

/// The value of a `userName eq "..."` filter in the query, if that is the filter.
fn user_name_eq(req: &Incoming) -> Option<String> {
    let query = req.query.as_deref()?;
    let url = reqwest::Url::parse(&format!("http://x/?{query}")).ok()?;
    let (_, filter) = url
        .query_pairs()
        .find(|(k, _)| k.eq_ignore_ascii_case("filter"))?;
    let mut words = filter.trim().splitn(3, ' ');
    let (attr, op, value) = (words.next()?, words.next()?, words.next()?);
    (attr.eq_ignore_ascii_case("userName") && op.eq_ignore_ascii_case("eq"))
        .then(|| serde_json::from_str::<String>(value.trim()).ok())
        .flatten()
}

/// Drops the resources whose `userName` is not exactly `wanted`, and recounts.
fn keep_exact_user_name(list: &mut Value, wanted: &str) {
    let Some(resources) = list.get_mut("Resources").and_then(Value::as_array_mut) else {
        return;
    };
    resources.retain(|r| r.get("userName").and_then(Value::as_str) == Some(wanted));
    let n = resources.len();
    list["totalResults"] = json!(n);
    list["itemsPerPage"] = json!(n);
}

/// Reads a JSON answer, changes it with `f`, and answers with the result (same status and
/// headers but the length).
async fn rewrite_json(answer: Response, f: impl FnOnce(&mut Value)) -> Response {
    let (parts, body) = answer.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return scim_error(StatusCode::BAD_GATEWAY, None, "upstream body too large");
    };
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    f(&mut value);
    let mut out = Response::builder().status(parts.status);
    for (name, v) in &parts.headers {
        if name != header::CONTENT_LENGTH {
            out = out.header(name, v);
        }
    }
    out.body(Body::from(value.to_string()))
        .expect("rewritten response")
}

impl Proxy {
    /// Sends `req`'s path, query and headers upstream with `method` and `body`, and relays the
    /// answer.
    async fn forward_as(&self, req: &Incoming, method: Method, body: Vec<u8>) -> Response {
        let url = format!("{}{}", self.upstream, req.path_and_query);
        let mut headers = HeaderMap::new();
        for (name, value) in &req.headers {
            if !hop_by_hop(name) {
                headers.append(name.clone(), value.clone());
            }
        }
        if body.is_empty() {
            headers.remove(header::CONTENT_TYPE);
        }
        let sent = self
            .http
            .request(method, url)
            .headers(headers)
            .body(body)
            .send()
            .await;
        let answer = match sent {
            Ok(a) => a,
            Err(e) => {
                return scim_error(StatusCode::BAD_GATEWAY, None, &format!("upstream: {e}"));
            }
        };
        let status = answer.status();
        let headers = answer.headers().clone();
        let bytes = answer.bytes().await.unwrap_or_default();
        let mut out = Response::builder().status(status);
        for (name, value) in &headers {
            if !hop_by_hop(name) {
                out = out.header(name, value);
            }
        }
        out.body(Body::from(bytes)).expect("relayed response")
    }
}

/// Headers that belong to one connection, or that the HTTP stack recomputes.
fn hop_by_hop(name: &HeaderName) -> bool {
    [
        header::CONNECTION,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        HeaderName::from_static("keep-alive"),
        HeaderName::from_static("proxy-connection"),
    ]
    .contains(name)
}

fn scim_error(status: StatusCode, scim_type: Option<&str>, detail: &str) -> Response {
    let mut body = json!({
        "schemas": [ERROR_URN],
        "status": status.as_u16().to_string(),
        "detail": detail,
    });
    if let Some(t) = scim_type {
        body["scimType"] = Value::String(t.to_owned());
    }
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON))
        .body(Body::from(body.to_string()))
        .expect("error response")
}

/// The JSON body of a PATCH, if the request is one.
fn patch_body(req: &Incoming) -> Option<Value> {
    (req.method == Method::PATCH).then(|| req.json()).flatten()
}

/// The `Operations` of a PATCH (the member name matched case-insensitively, as servers do).
fn patch_ops(req: &Incoming) -> Vec<Value> {
    patch_body(req)
        .as_ref()
        .and_then(Value::as_object)
        .and_then(|body| get_ci(body, "Operations"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Applies `f` to every operation of a PATCH body; true when any changed.
fn for_each_op(body: &mut Value, f: fn(&mut Map<String, Value>) -> bool) -> bool {
    let Some(ops) = body.as_object_mut().and_then(|b| {
        let key = b
            .keys()
            .find(|k| k.eq_ignore_ascii_case("Operations"))?
            .clone();
        b.get_mut(&key)?.as_array_mut()
    }) else {
        return false;
    };
    let mut changed = false;
    for op in ops.iter_mut().filter_map(Value::as_object_mut) {
        changed |= f(op);
    }
    changed
}

fn get_ci<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn get_ci_mut<'a>(map: &'a mut Map<String, Value>, name: &str) -> Option<&'a mut Value> {
    map.iter_mut()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn op_name(op: &Value) -> Option<&str> {
    op.as_object()
        .and_then(|o| get_ci(o, "op"))
        .and_then(Value::as_str)
}

fn op_path(op: &Map<String, Value>) -> Option<&str> {
    get_ci(op, "path").and_then(Value::as_str)
}

/// `bool(value)` for a string `active`: any non-empty string, "False" included, is true.
fn string_active_is_truthy(op: &mut Map<String, Value>) -> bool {
    let truthy = |v: &mut Value| match v {
        Value::String(s) => {
            *v = Value::Bool(!s.is_empty());
            true
        }
        _ => false,
    };
    let path = op_path(op).map(str::to_owned);
    let Some(value) = get_ci_mut(op, "value") else {
        return false;
    };
    match path {
        Some(p) if p.eq_ignore_ascii_case("active") => truthy(value),
        Some(_) => false,
        None => value
            .as_object_mut()
            .and_then(|v| get_ci_mut(v, "active"))
            .is_some_and(truthy),
    }
}

/// The spec-literal reading of `remove` on `members`: the value is ignored, all members go.
fn drop_remove_value(op: &mut Map<String, Value>) -> bool {
    let is_remove = get_ci(op, "op")
        .and_then(Value::as_str)
        .is_some_and(|o| o.eq_ignore_ascii_case("remove"));
    let on_members = op_path(op).is_some_and(|p| p.eq_ignore_ascii_case("members"));
    if !(is_remove && on_members) {
        return false;
    }
    let Some(key) = op.keys().find(|k| k.eq_ignore_ascii_case("value")).cloned() else {
        return false;
    };
    op.remove(&key);
    true
}

/// An op that sets `active` to false: boolean false or the string "False"/"false", with the
/// path `active` or path-less `{"active": ...}`.
fn sets_active_false(op: &Value) -> bool {
    let Some(op) = op.as_object() else {
        return false;
    };
    let setting = get_ci(op, "op")
        .and_then(Value::as_str)
        .is_some_and(|o| o.eq_ignore_ascii_case("replace") || o.eq_ignore_ascii_case("add"));
    let is_false = |v: &Value| match v {
        Value::Bool(b) => !b,
        Value::String(s) => s.eq_ignore_ascii_case("false"),
        _ => false,
    };
    let Some(value) = get_ci(op, "value") else {
        return false;
    };
    setting
        && match op_path(op) {
            Some(p) => p.eq_ignore_ascii_case("active") && is_false(value),
            None => value
                .as_object()
                .and_then(|v| get_ci(v, "active"))
                .is_some_and(is_false),
        }
}

/// The bugs Okta's flows meet (issue 4). `Some(answer)` when the bug took the request over;
/// `None` to forward `req` (possibly changed) as usual.
async fn okta_bug(proxy: &Proxy, req: &mut Incoming) -> Option<Response> {
    let resource = req.resource();
    let users = req.is_users();
    let collection = resource.as_ref().is_some_and(|(_, id)| id.is_none());
    let user_id = resource
        .as_ref()
        .filter(|_| users)
        .and_then(|(_, id)| id.clone());
    match proxy.bug {
        Bug::RejectMembersFilterPath => {
            let ops = patch_ops(req);
            let path = ops.iter().filter_map(Value::as_object).find_map(|op| {
                op_path(op).filter(|p| {
                    p.trim_start()
                        .get(..8)
                        .is_some_and(|head| head.eq_ignore_ascii_case("members["))
                })
            })?;
            Some(scim_error(
                StatusCode::BAD_REQUEST,
                Some("invalidPath"),
                &format!("unsupported path {path:?}"),
            ))
        }
        Bug::PutDropsGroups => {
            if req.method != Method::PUT {
                return None;
            }
            let id = user_id?;
            let body = std::mem::take(&mut req.body);
            let answer = proxy.forward_as(req, Method::PUT, body).await;
            if answer.status().is_success() {
                proxy.remove_from_all_groups(req, &id).await;
            }
            Some(answer)
        }
        Bug::PutKeepsOmitted => {
            if req.method != Method::PUT || user_id.is_none() {
                return None;
            }
            let body = req.json()?;
            let (status, current) = proxy
                .upstream_json(req, Method::GET, &req.path, None)
                .await?;
            if status != StatusCode::OK {
                return None;
            }
            req.set_json(&merge_top_level(current, body));
            None
        }
        Bug::HideInactive => {
            if req.method != Method::GET || !users || !collection {
                return None;
            }
            let (status, mut list) = proxy
                .upstream_json(req, Method::GET, &req.path_and_query, None)
                .await?;
            if status == StatusCode::OK {
                drop_inactive(&mut list);
            }
            Some(json_response(status, &list))
        }
        Bug::ZeroBasedStartIndex => {
            if req.method != Method::GET || !users || !collection {
                return None;
            }
            let query = shift_start_index(req.query.as_deref()?)?;
            req.path_and_query = format!("{}?{query}", req.path);
            req.query = Some(query);
            None
        }
        Bug::PostGroupsIgnoresMembers => {
            if req.method != Method::POST || !req.is_groups() || !collection {
                return None;
            }
            let mut body = req.json()?;
            let object = body.as_object_mut()?;
            let key = object
                .keys()
                .find(|k| k.eq_ignore_ascii_case("members"))?
                .clone();
            object.remove(&key);
            req.set_json(&body);
            None
        }
        _ => None,
    }
}

impl Proxy {
    /// One JSON request upstream with `req`'s headers (its credentials): the status and the
    /// parsed body (`null` when empty or not JSON); `None` when the upstream cannot be reached.
    async fn upstream_json(
        &self,
        req: &Incoming,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Option<(StatusCode, Value)> {
        let mut headers = HeaderMap::new();
        for (name, value) in &req.headers {
            if !hop_by_hop(name) && name != header::CONTENT_TYPE {
                headers.append(name.clone(), value.clone());
            }
        }
        let mut request = self
            .http
            .request(method, format!("{}{path_and_query}", self.upstream))
            .headers(headers);
        if let Some(body) = body {
            request = request
                .header(header::CONTENT_TYPE, SCIM_JSON)
                .body(body.to_string());
        }
        let answer = request.send().await.ok()?;
        let status = answer.status();
        let bytes = answer.bytes().await.ok()?;
        Some((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    /// What a server that keeps memberships in a join table "replaced" with the user does:
    /// removes user `id` from every group that lists it.
    async fn remove_from_all_groups(&self, req: &Incoming, id: &str) {
        let Some(groups_path) = req.collection_path("Groups") else {
            return;
        };
        let filter = format!("members[value eq {}]", Value::String(id.to_owned()));
        let query: String = reqwest::Url::parse_with_params("http://x/", [("filter", &filter)])
            .ok()
            .and_then(|u| u.query().map(str::to_owned))
            .unwrap_or_default();
        let Some((StatusCode::OK, list)) = self
            .upstream_json(req, Method::GET, &format!("{groups_path}?{query}"), None)
            .await
        else {
            return;
        };
        let ids: Vec<String> = list
            .get("Resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|g| g.get("id").and_then(Value::as_str).map(str::to_owned))
            .collect();
        let patch = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "remove", "path": filter }],
        });
        for group in ids {
            let _ = self
                .upstream_json(
                    req,
                    Method::PATCH,
                    &format!("{groups_path}/{group}"),
                    Some(&patch),
                )
                .await;
        }
    }
}

impl Incoming {
    /// The path of the `kind` collection ("Users" or "Groups") under the same base path.
    fn collection_path(&self, kind: &str) -> Option<String> {
        let segments: Vec<&str> = self.path.split('/').collect();
        let at = segments
            .iter()
            .rposition(|s| s.eq_ignore_ascii_case("Users") || s.eq_ignore_ascii_case("Groups"))?;
        let mut base = segments[..at].join("/");
        base.push('/');
        base.push_str(kind);
        Some(base)
    }
}

/// `current` with the body's top-level attributes laid over it, extension objects (`urn:`
/// keys) merged one level down and `schemas` unioned: what a server that "updates the fields
/// it was given" does with a PUT.
fn merge_top_level(current: Value, body: Value) -> Value {
    let (Value::Object(mut merged), Value::Object(body)) = (current, body) else {
        return Value::Null;
    };
    for (key, value) in body {
        let existing = merged
            .keys()
            .find(|k| k.eq_ignore_ascii_case(&key))
            .cloned();
        let old = existing.and_then(|k| merged.remove(&k));
        let new = match (old, value) {
            (Some(Value::Object(mut old)), Value::Object(new)) if key.starts_with("urn:") => {
                for (k, v) in new {
                    if let Some(same) = old.keys().find(|o| o.eq_ignore_ascii_case(&k)).cloned() {
                        old.remove(&same);
                    }
                    old.insert(k, v);
                }
                Value::Object(old)
            }
            (Some(Value::Array(mut old)), Value::Array(new))
                if key.eq_ignore_ascii_case("schemas") =>
            {
                for s in new {
                    if !old.contains(&s) {
                        old.push(s);
                    }
                }
                Value::Array(old)
            }
            (_, value) => value,
        };
        merged.insert(key, new);
    }
    merged.remove("meta");
    Value::Object(merged)
}

/// Leaves the inactive resources out of a ListResponse and recounts.
fn drop_inactive(list: &mut Value) {
    let Some(resources) = list.get_mut("Resources").and_then(Value::as_array_mut) else {
        return;
    };
    let before = resources.len();
    resources.retain(|r| r.get("active") != Some(&Value::Bool(false)));
    let (kept, hidden) = (resources.len(), before - resources.len());
    if let Some(total) = list.get("totalResults").and_then(Value::as_u64) {
        list["totalResults"] = json!(total.saturating_sub(hidden as u64));
    }
    if list.get("itemsPerPage").is_some() {
        list["itemsPerPage"] = json!(kept);
    }
}

/// The query with `startIndex=N` changed to `N+1`, the rest byte for byte; `None` when there
/// is no numeric `startIndex`.
fn shift_start_index(query: &str) -> Option<String> {
    let mut shifted = false;
    let parts: Vec<String> = query
        .split('&')
        .map(|part| match part.split_once('=') {
            Some((key, value)) if key.eq_ignore_ascii_case("startIndex") => {
                match value.parse::<i64>() {
                    Ok(n) => {
                        shifted = true;
                        format!("{key}={}", n + 1)
                    }
                    Err(_) => part.to_owned(),
                }
            }
            _ => part.to_owned(),
        })
        .collect();
    shifted.then(|| parts.join("&"))
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut out = Response::builder().status(status);
    if !body.is_null() {
        out = out.header(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    }
    let bytes = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    out.body(Body::from(bytes)).expect("JSON response")
}

/// `GET /Users/{id}`.
fn method_is_get_user(req: &Incoming) -> bool {
    req.method == Method::GET
        && req.is_users()
        && req.resource().is_some_and(|(_, id)| id.is_some())
}

/// An extension URN other than the core schemas and the enterprise extension.
fn is_unknown_extension(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.starts_with("urn:")
        && !k.starts_with("urn:ietf:params:scim:schemas:core:")
        && !k.starts_with("urn:ietf:params:scim:schemas:extension:enterprise:2.0:user")
        && !k.starts_with("urn:ietf:params:scim:api:")
}

/// Strips unknown extension attributes from a resource body (and from its `schemas`).
fn strip_unknown_extensions(body: &mut Value) {
    let Some(m) = body.as_object_mut() else {
        return;
    };
    m.retain(|k, _| !is_unknown_extension(k));
    if let Some(Value::Array(list)) = m.get_mut("schemas") {
        list.retain(|s| !s.as_str().is_some_and(is_unknown_extension));
    }
}

/// `Bug::DropUnknownExtensions`: rewrites the request; a PATCH left with no operation is
/// answered as if applied (the resource as it stands).
async fn drop_unknown_extensions(proxy: &Proxy, req: &mut Incoming) -> Option<Response> {
    if !(req.is_users() || req.is_groups()) {
        return None;
    }
    let mut body = req.json()?;
    if req.method == Method::POST || req.method == Method::PUT {
        strip_unknown_extensions(&mut body);
        req.set_json(&body);
        return None;
    }
    if req.method != Method::PATCH {
        return None;
    }
    let ops = body.as_object_mut().and_then(|b| {
        let key = b
            .keys()
            .find(|k| k.eq_ignore_ascii_case("Operations"))?
            .clone();
        b.get_mut(&key)?.as_array_mut()
    })?;
    ops.retain(|op| {
        !op.as_object()
            .and_then(op_path)
            .is_some_and(is_unknown_extension)
    });
    for op in ops.iter_mut().filter_map(Value::as_object_mut) {
        if let Some(v) = get_ci_mut(op, "value") {
            strip_unknown_extensions(v);
        }
    }
    if ops.is_empty() {
        return Some(proxy.forward_as(req, Method::GET, Vec::new()).await);
    }
    req.set_json(&body);
    None
}

// ---------------------------------------------------------------------------------------------
// branch `probes` (issue 8): a minimal but RFC-legal server, and the bugs the probes missed.
pub mod strict;
