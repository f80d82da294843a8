//! The HTTP client every IdP profile sends through: bearer auth, client-side fault injection,
//! and the exchange log (every request and response, timed, secrets redacted), and the
//! [`Limits`] that bound what one run may cost: one answer's size, the log kept in memory, pages,
//! the run's deadline and how many timeouts in a row make the target unusable.
//!
//! A profile builds a [`Request`] with the exact bytes its IdP sends; the client adds the
//! `Authorization` header and the [`transport`] only what HTTP framing needs (`Host`,
//! `Content-Length`, not logged): a request without `Accept` goes out without one. A request
//! may carry its IdP's own wait ([`Request::timeout`]). A recorded exchange:
//!
//! ```json
//! {"id":7,"step":3,"method":"PATCH","path":"/Groups/1c2…","request_headers":[["Authorization","Bearer ***"],
//!  ["Content-Type","application/scim+json; charset=utf-8"]],"request_body":{"schemas":[…],"Operations":[…]},
//!  "status":204,"duration_ms":1.8,"error":"timeout: response dropped by fault injection","fault":"drop-response"}
//! ```

pub mod fault;
mod transport;

use crate::compact::Compact;
use crate::report::model::{Exchange, LoggedBody, OMITTED};
use crate::secret::Secret;
use fault::{FaultAction, Faults};
use serde_json::Value;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use transport::{Body, Transport};

pub use hyper::Method;

/// Default cap on one response body: larger answers are cut off and fail (`--max-body`).
pub const DEFAULT_MAX_BODY: usize = 32 * 1024 * 1024;
/// Default size past which a body is kept in the exchange log (and so in every report) only
/// as its first bytes with a `[truncated: …]` marker.
pub const DEFAULT_REPORT_BODY: usize = 64 * 1024;
/// Default total of body bytes one client keeps in its exchange log; past it, bodies are
/// replaced by a marker, so a run of thousands of large answers stays small in memory.
pub const DEFAULT_LOG_BUDGET: usize = 2 * 1024 * 1024;
/// Default cap on the pages one listing may read (`--max-pages`).
pub const DEFAULT_MAX_PAGES: usize = 1000;
/// Default number of timeouts in a row after which the target counts as unusable.
pub const DEFAULT_MAX_TIMEOUTS: u32 = 3;

/// What one run may cost. Cloned into every client of a run; the clones share one
/// [`Watchdog`], so a deadline or a dead target stops them all at once.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest response body read, in bytes.
    pub max_body: usize,
    /// Largest body kept whole in the exchange log.
    pub report_body: usize,
    /// Body bytes one client keeps in its exchange log in all.
    pub log_budget: usize,
    /// Pages one listing (Okta import, ...) reads before it stops with a finding.
    pub max_pages: usize,
    /// Timeouts (or failed connections) in a row that make the target unusable.
    pub max_timeouts: u32,
    pub watchdog: Arc<Watchdog>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: DEFAULT_MAX_BODY,
            report_body: DEFAULT_REPORT_BODY,
            log_budget: DEFAULT_LOG_BUDGET,
            max_pages: DEFAULT_MAX_PAGES,
            max_timeouts: DEFAULT_MAX_TIMEOUTS,
            watchdog: Arc::new(Watchdog::default()),
        }
    }
}

impl Limits {
    /// Limits whose run ends `deadline` from now (`None`: no deadline).
    pub fn with_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.watchdog = Arc::new(Watchdog {
            deadline: deadline.map(|d| (Instant::now() + d, d)),
            ..Watchdog::default()
        });
        self
    }
}

/// Shared by every client of one run: the deadline, the timeouts in a row, and why the run
/// stopped, once it has. After a stop no client sends anything more.
#[derive(Debug, Default)]
pub struct Watchdog {
    /// When the run must end, and the `--deadline` it came from (for the message).
    deadline: Option<(Instant, Duration)>,
    timeouts: AtomicU32,
    stopped: Mutex<Option<String>>,
}

impl Watchdog {
    /// Why the run stopped: the deadline passed or the target stopped answering.
    pub fn stopped(&self) -> Option<String> {
        if let Some((at, d)) = self.deadline {
            if Instant::now() >= at {
                self.stop(format!(
                    "the run's deadline of {} s (--deadline) passed",
                    d.as_secs()
                ));
            }
        }
        self.stopped.lock().map(|s| s.clone()).unwrap_or(None)
    }

    /// Stops the run; the first reason given is the one reported.
    pub fn stop(&self, reason: String) {
        if let Ok(mut s) = self.stopped.lock() {
            s.get_or_insert(reason);
        }
    }

    /// Time left before the deadline.
    fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|(at, _)| at.saturating_duration_since(Instant::now()))
    }

    /// Counts an answer (`false`) or a timeout (`true`); `max` timeouts in a row stop the run.
    fn record(&self, timed_out: bool, max: u32) {
        if !timed_out {
            self.timeouts.store(0, Ordering::Relaxed);
            return;
        }
        let n = self.timeouts.fetch_add(1, Ordering::Relaxed) + 1;
        if max > 0 && n >= max {
            self.stop(format!(
                "{n} requests in a row got no answer (timeout or failed connection): the target is unusable"
            ));
        }
    }
}

/// One request as an IdP sends it. `path` is relative to the base URL and already encoded,
/// query string included: `/Users?filter=userName+eq+%22a%40b%22`.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
    /// How long the IdP waits for this answer (its wire's `timeout_secs`); `None`, or a
    /// `--timeout` the user gave, means the client's own timeout.
    pub timeout: Option<Duration>,
}

impl Request {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Request {
            method,
            path: path.into(),
            headers: Vec::new(),
            body: None,
            timeout: None,
        }
    }
    /// The IdP's own wait for this answer (see [`Request::timeout`]).
    pub fn timeout(mut self, t: Option<Duration>) -> Self {
        self.timeout = t;
        self
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
}

/// What the IdP saw.
#[derive(Debug, Clone)]
pub struct Response {
    pub exchange: u64,
    /// `None`: no answer (transport error, timeout, dropped response).
    pub status: Option<u16>,
    pub body: Option<Value>,
    /// Raw body text when it was not JSON.
    pub text: Option<String>,
    pub retry_after: Option<u64>,
    pub error: Option<TransportError>,
    /// Response headers as received (names lower-case), for probes of `Content-Type`,
    /// `Location` and `ETag`.
    pub headers: Vec<(String, String)>,
}

impl Response {
    /// What the harness hands back for a request it refused to send (an unsafe path, a write
    /// to an object the run does not own): no exchange, no status, and why.
    pub fn refused(reason: String) -> Response {
        Response {
            exchange: 0,
            status: None,
            body: None,
            text: None,
            retry_after: None,
            error: Some(TransportError::Other(reason)),
            headers: Vec::new(),
        }
    }

    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
    /// The first response header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// The SCIM error `detail`, or a short description of what came back.
    pub fn describe(&self) -> String {
        match (&self.error, self.status) {
            (Some(e), _) => e.to_string(),
            (None, Some(s)) => {
                let detail = self
                    .body
                    .as_ref()
                    .and_then(|b| b.get("detail"))
                    .and_then(Value::as_str)
                    .map(|d| format!(": {d}"))
                    .or_else(|| {
                        self.text
                            .as_ref()
                            .map(|t| format!(": {}", t.chars().take(200).collect::<String>()))
                    })
                    .unwrap_or_default();
                format!("HTTP {s}{detail}")
            }
            (None, None) => "no answer".into(),
        }
    }
}

/// Why an exchange got no (complete) answer, named as precisely as the wire allows: a user
/// fixing their server needs to know whether it reset the connection, cut a body short or
/// redirected in a loop, not "protocol error".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("timeout{}", if *.0 { ": response dropped by fault injection" } else { "" })]
    Timeout(bool),
    /// The TCP connection could not be made (refused, unreachable, DNS).
    #[error("connection failed{}: {reason}", if *.injected { " (fault injection)" } else { "" })]
    Connect { injected: bool, reason: String },
    /// The TLS handshake failed (certificate, protocol mismatch, plain HTTP on an https URL).
    #[error("TLS error: {0}")]
    Tls(String),
    /// The server reset the connection (TCP RST) while the request or answer was under way.
    #[error("connection reset by the server: {0}")]
    Reset(String),
    /// The server closed the connection before sending a complete status line and headers.
    #[error("the server closed the connection before answering: {0}")]
    Closed(String),
    /// The body ended before the length the server announced (`Content-Length` or chunks).
    #[error("truncated response: the body ended early ({0})")]
    Truncated(String),
    /// Redirects went on past the client's limit (10): a loop, most likely.
    #[error("redirect loop: too many redirects ({0})")]
    RedirectLoop(String),
    /// A request header value HTTP cannot carry (a control character).
    #[error("invalid request header value: {0}")]
    InvalidHeader(String),
    /// The answer was not well-formed HTTP.
    #[error("HTTP protocol error: {0}")]
    Protocol(String),
    /// Not sent at all, for a reason the harness gives (the safety ledger refused it).
    #[error("{0}")]
    Other(String),
    // Added on branch `bounds` (limits).
    /// The answer was longer than `--max-body`: cut off, not parsed.
    #[error("response body larger than {0} bytes (truncated)")]
    BodyTooLarge(usize),
    /// Not sent: the run had already stopped (deadline passed or target unusable).
    #[error("not sent: {0}")]
    Stopped(String),
}

pub struct ClientConfig {
    /// Base URL without trailing slash: `http://127.0.0.1:8080/scim/v2`.
    pub base_url: String,
    pub token: Option<Secret>,
    pub timeout: Duration,
}

/// Sends requests, applies faults, records exchanges.
pub struct Client {
    http: Transport,
    base_url: String,
    token: Option<Secret>,
    pub faults: Faults,
    exchanges: Vec<Exchange>,
    /// The request header lists sent last: an exchange shares an equal one instead of holding
    /// its own copy (a 10,000-user run sends three or four lists 40,000 times; a profile sends
    /// a handful).
    header_sets: crate::compact::Shared<[(String, String)], 16>,
    /// The next exchange id, shared with this client's lanes ([`Self::lane`]): ids are unique
    /// and increase in the order requests are sent, whichever lane sends them.
    next_id: Arc<AtomicU64>,
    limits: Limits,
    /// `--timeout`: the longest wait for one answer.
    timeout: Duration,
    /// The user gave `--timeout`: it wins over a request's own (the wire's) timeout.
    timeout_given: bool,
    /// Body bytes kept in `exchanges` so far, against `limits.log_budget`; shared with this
    /// client's lanes, so the budget holds for the run whatever the lanes.
    logged: Arc<AtomicUsize>,
    /// Index of the scenario step now running; recorded on each exchange.
    pub step: usize,
    /// `SCIMULATOR_RECORD_REQUESTS`: a file every request is appended to, whole (benchmarks).
    record: Option<std::path::PathBuf>,
    /// The `Accept` a request without one gets ([`Self::with_accept`]); `None` for IdP
    /// clients, which send exactly their wire's headers.
    accept: Option<&'static str>,
}

impl Client {
    pub fn new(cfg: ClientConfig) -> Result<Self, String> {
        let http = Transport::new(cfg.timeout.min(Duration::from_secs(10)))
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Client {
            http,
            base_url: cfg.base_url.trim_end_matches('/').to_string(),
            token: cfg.token,
            faults: Faults::default(),
            exchanges: Vec::new(),
            header_sets: Default::default(),
            next_id: Arc::new(AtomicU64::new(1)),
            limits: Limits::default(),
            timeout: cfg.timeout,
            timeout_given: false,
            logged: Arc::new(AtomicUsize::new(0)),
            step: 0,
            record: std::env::var_os("SCIMULATOR_RECORD_REQUESTS").map(Into::into),
            accept: None,
        })
    }

    /// A client that asks for `media_type` when a request names no `Accept`: the harness's
    /// own reads, which must not fail where a server insists on one (an IdP's requests are
    /// sent as its wire says, with or without).
    pub fn with_accept(mut self, media_type: &'static str) -> Self {
        self.accept = Some(media_type);
        self
    }

    /// The same client under the run's `limits` (its deadline, caps and shared watchdog).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Marks the client's timeout as the user's `--timeout`: it then wins over the wait a
    /// request carries from its IdP's wire.
    pub fn with_timeout_given(mut self, given: bool) -> Self {
        self.timeout_given = given;
        self
    }

    /// How long this client waits for the answer to `req`: the request's own (its IdP's
    /// documented) timeout unless the user gave `--timeout`, else the client's. The run's
    /// deadline may shorten it further.
    pub fn wait_for(&self, req: &Request) -> Duration {
        match req.timeout {
            Some(t) if !self.timeout_given => t,
            _ => self.timeout,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// A body as the exchange log keeps it: whole when small, else its first
    /// `limits.report_body` bytes with a marker; once the log holds `limits.log_budget` body
    /// bytes, only a marker. Keeps a run's memory and report size bounded. A tree is serialised
    /// once and kept as that text, never copied as a tree (a 500-user listing page is cut to
    /// its first bytes).
    fn bounded(&mut self, body: &Value) -> LoggedBody {
        if self.logged() >= self.limits.log_budget {
            return self.omitted(json_len(body));
        }
        let max = self.limits.report_body;
        let kept = match body {
            Value::String(s) if s.len() <= max => {
                self.add_logged(s.len());
                Compact::from(body)
            }
            Value::String(s) => {
                self.add_logged(max);
                Compact::from(Value::String(truncate_marked(s, max)))
            }
            other => {
                let text = serde_json::to_string(other).unwrap_or_default();
                if text.len() <= max {
                    self.add_logged(text.len());
                    Compact::from_serialized(text)
                } else {
                    self.add_logged(max);
                    Compact::from(Value::String(truncate_marked(&text, max)))
                }
            }
        };
        LoggedBody::Kept(kept)
    }

    /// What stands for a body of `size` bytes once the log budget is spent.
    fn omitted(&self, size: usize) -> LoggedBody {
        LoggedBody::Omitted {
            size: size as u64,
            logged: self.logged() as u64,
        }
    }

    /// `body` as the exchange log keeps it ([`Self::bounded`]), secrets masked. `text` is its
    /// JSON as it went over the wire, when known: a body whose text holds no secret in any form
    /// is logged without walking its tree, and past the log budget nothing is copied at all
    /// (a 10,000-user run sends tens of thousands of bodies; the log keeps a marker for most).
    fn log_value(&mut self, body: &Value, text: Option<&str>) -> LoggedBody {
        if self.logged() >= self.limits.log_budget {
            return self.omitted(text.map_or_else(|| json_len(body), str::len));
        }
        match text {
            Some(t) if !self.may_hold_secret(t) => self.bounded(body),
            _ => {
                let masked = self.redact_value(body);
                self.bounded(&masked)
            }
        }
    }

    /// True when `text` (a JSON text) may hold a secret: the token or any form the
    /// process-wide redactor masks, in the text as decoded. Every answer with an ETag has a
    /// JSON escape (`"W/\"3\""`), so escapes are decoded rather than taken as a reason to walk
    /// the tree; a `\u0041` escape, which could spell anything, still is. Text without a secret
    /// is logged as it is; the rest goes through [`Self::redact_value`].
    fn may_hold_secret(&self, text: &str) -> bool {
        let Some(text) = json_unescaped(text) else {
            return true;
        };
        self.token
            .as_ref()
            .is_some_and(|t| t.expose().len() >= 6 && text.contains(t.expose()))
            || crate::redact::contains_secret(&text)
    }

    /// True when requests carry a bearer token.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn exchanges(&self) -> &[Exchange] {
        &self.exchanges
    }

    /// The id the next exchange gets: a second client (the harness's own reads) continues the
    /// same numbering with [`Self::set_next_exchange_id`], so ids stay unique in a scenario.
    pub fn next_exchange_id(&self) -> u64 {
        self.next_id.load(Ordering::Relaxed)
    }

    pub fn set_next_exchange_id(&mut self, id: u64) {
        self.next_id.store(id, Ordering::Relaxed);
    }

    /// Body bytes the exchange log holds so far (this client's and its lanes').
    fn logged(&self) -> usize {
        self.logged.load(Ordering::Relaxed)
    }

    fn add_logged(&self, n: usize) {
        self.logged.fetch_add(n, Ordering::Relaxed);
    }

    /// A lane of this client, for a pass that keeps several objects in flight
    /// ([`crate::idp::engine::each`]): the same keep-alive pool (so as many connections as
    /// lanes), base URL, token, limits and watchdog, armed faults, exchange numbering and log
    /// budget; its own exchange list, handed back by [`Self::merge`] when the pass ends.
    pub fn lane(&self) -> Client {
        Client {
            http: self.http.clone(),
            base_url: self.base_url.clone(),
            token: self.token.clone(),
            faults: self.faults.clone(),
            exchanges: Vec::new(),
            header_sets: self.header_sets.clone(),
            next_id: self.next_id.clone(),
            limits: self.limits.clone(),
            timeout: self.timeout,
            timeout_given: self.timeout_given,
            logged: self.logged.clone(),
            step: self.step,
            record: self.record.clone(),
            accept: self.accept,
        }
    }

    /// Takes back a lane's exchanges: the log stays in id order (the order requests were sent
    /// in), whichever lane sent them.
    pub fn merge(&mut self, lane: &mut Client) {
        let mut theirs = std::mem::take(&mut lane.exchanges);
        if theirs.is_empty() {
            return;
        }
        let sorted = self.exchanges.last().map_or(0, |e| e.id) < theirs[0].id;
        self.exchanges.append(&mut theirs);
        if !sorted || !self.exchanges.windows(2).all(|w| w[0].id < w[1].id) {
            // In place (ids are unique): no scratch the size of the log.
            self.exchanges.sort_unstable_by_key(|e| e.id);
        }
    }

    pub fn take_exchanges(&mut self) -> Vec<Exchange> {
        std::mem::take(&mut self.exchanges)
    }

    /// Masks the token wherever a server may have echoed it. The harness itself puts the token
    /// only in the `Authorization` header, which is always recorded as `Bearer ***`. Tokens
    /// shorter than 6 characters cannot be told apart from ordinary text (masking `t` would
    /// mangle every word), so only the header is masked for them.
    /// Then the process-wide redactor ([`crate::redact`]) masks every other form (base64,
    /// URL-encoded, `--target` credentials) when the CLI installed it.
    fn redact(&self, s: &str) -> String {
        let s = match &self.token {
            Some(t) if t.expose().len() >= 6 && s.contains(t.expose()) => {
                s.replace(t.expose(), "***")
            }
            _ => s.to_string(),
        };
        match crate::redact::redact(&s) {
            std::borrow::Cow::Borrowed(_) => s,
            std::borrow::Cow::Owned(masked) => masked,
        }
    }

    /// A request header as the exchange log shows it: an `Authorization` value holding the
    /// token, however short, is `***` as a whole; any other value is [`Self::redact`]ed.
    fn redact_header(&self, name: &str, value: &str) -> String {
        match &self.token {
            Some(t)
                if name.eq_ignore_ascii_case("authorization")
                    && !t.expose().is_empty()
                    && value.contains(t.expose()) =>
            {
                "***".to_string()
            }
            _ => self.redact(value),
        }
    }

    /// The same inside JSON: every string and key, structure untouched.
    fn redact_value(&self, v: &Value) -> Value {
        match v {
            Value::String(x) => Value::String(self.redact(x)),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.redact_value(x)).collect()),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| (self.redact(k), self.redact_value(x)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Sends `req` (or what a fault makes of it) and records the exchange.
    pub async fn send(&mut self, req: Request) -> Response {
        self.send_as(&req, true).await
    }

    /// [`Self::send`] for a request the caller keeps (no copy of its body).
    pub async fn send_ref(&mut self, req: &Request) -> Response {
        self.send_as(req, true).await
    }

    /// Sends `req` without the bearer token: for probes of how a server treats a request
    /// without valid credentials (Okta's SPEC test sends `Authorization: non-token` and expects
    /// 401). Only headers `req` carries go out. The token never does; should one of them hold
    /// it anyway, the exchange log shows `***` in its place.
    pub async fn send_without_auth(&mut self, req: Request) -> Response {
        self.send_as(&req, false).await
    }

    async fn send_as(&mut self, req: &Request, with_token: bool) -> Response {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        crate::report::progress::request_sent();
        let path_only = req.path.split('?').next().unwrap_or("");
        let action = self.faults.action_for(req.method.as_str(), path_only);
        let mut headers = Vec::with_capacity(req.headers.len() + 1);
        if with_token && self.token.is_some() {
            headers.push(("Authorization".to_string(), "Bearer ***".to_string()));
        }
        headers.extend(
            req.headers
                .iter()
                .map(|(k, v)| (k.clone(), self.redact_header(k, v))),
        );
        let accept = self.accept.filter(|_| {
            !req.headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("accept"))
        });
        if let Some(a) = accept {
            headers.push(("Accept".to_string(), a.to_string()));
        }
        // Serialised once, as built (key order and value types exactly as the profile wrote
        // them): the bytes sent, and the text the log's secret check reads.
        let sent: Option<Vec<u8>> = req
            .body
            .as_ref()
            .map(|b| serde_json::to_vec(b).unwrap_or_default());
        let sent_text = self
            .record
            .as_ref()
            .and(sent.as_ref())
            .map(|b| String::from_utf8_lossy(b).into_owned());
        let request_body = match (&req.body, &sent) {
            (Some(b), Some(bytes)) => Some(self.log_value(b, std::str::from_utf8(bytes).ok())),
            _ => None,
        };
        let mut ex = Exchange {
            id,
            step: self.step,
            method: method_name(&req.method),
            path: self.redact(&req.path),
            request_headers: self.header_sets.share(headers),
            request_body,
            status: None,
            response_body: None,
            duration_ms: 0.0,
            error: None,
            fault: action.as_ref().map(FaultAction::label),
            harness: false,
        };
        let started = Instant::now();
        let stopped = self.limits.watchdog.stopped();
        let mut resp = Response {
            exchange: id,
            status: None,
            body: None,
            text: None,
            retry_after: None,
            error: None,
            headers: Vec::new(),
        };
        // The answer's JSON text when it holds no secret in any form: logged without a walk.
        let mut clean_len: Option<usize> = None;
        // The exchange log's response body, once set by a path below.
        let mut logged = false;
        match action {
            _ if stopped.is_some() => {
                resp.error = Some(TransportError::Stopped(stopped.unwrap_or_default()));
            }
            Some(FaultAction::Fail) => {
                resp.error = Some(TransportError::Connect {
                    injected: true,
                    reason: "refused".into(),
                });
            }
            Some(FaultAction::Status {
                status,
                retry_after,
            }) => {
                resp.status = Some(status);
                resp.retry_after = retry_after;
                resp.body = Some(serde_json::json!({
                    "schemas": [crate::scim::error::ERROR_URN],
                    "status": status.to_string(),
                    "detail": "injected by scimulator fault"
                }));
            }
            other => {
                let drop = matches!(other, Some(FaultAction::DropResponse));
                let got = self
                    .transmit(req, sent, with_token, accept, &mut resp)
                    .await;
                // What the server sent is masked before anything reads it: a message that
                // quotes a body, and cuts it to a length, could otherwise cut an echoed token
                // in two halves that no writer recognises. The harness never needs a secret
                // from an answer. An answer whose text holds none is not walked.
                if got.clean.is_none() {
                    resp.body = resp.body.as_ref().map(|b| self.redact_value(b));
                }
                clean_len = got.clean;
                resp.text = resp.text.as_ref().map(|t| self.redact(t));
                let no_answer = matches!(
                    resp.error,
                    Some(TransportError::Timeout(_) | TransportError::Connect { .. })
                );
                self.limits
                    .watchdog
                    .record(no_answer, self.limits.max_timeouts);
                if let Some(head) = got.cut {
                    // Too large: the log shows the status and the first bytes; the profile
                    // sees no answer, as an IdP whose own limit cut the response would.
                    ex.status = resp.status;
                    let head = Value::String(self.redact(&head));
                    ex.response_body = Some(self.bounded(&head));
                    logged = true;
                    resp.status = None;
                    resp.headers.clear();
                }
                if drop {
                    // The server answered; the IdP never saw it. Keep what the server said in
                    // the exchange log, and hand the profile a timeout.
                    ex.status = resp.status;
                    if let Some(b) = &resp.body {
                        ex.response_body = Some(self.log_response(b, clean_len));
                        logged = true;
                    }
                    resp = Response {
                        exchange: id,
                        status: None,
                        body: None,
                        text: None,
                        retry_after: None,
                        error: Some(TransportError::Timeout(true)),
                        headers: Vec::new(),
                    };
                }
            }
        }
        ex.duration_ms = (started.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
        if ex.status.is_none() && !logged {
            ex.status = resp.status;
            ex.response_body = match (&resp.body, &resp.text) {
                (Some(b), _) => Some(self.log_response(b, clean_len)),
                // Already masked above.
                (None, Some(t)) => Some(self.bounded(&Value::String(t.clone()))),
                (None, None) => None,
            };
        } else if ex.status.is_none() {
            ex.status = resp.status;
        }
        ex.error = resp.error.as_ref().map(ToString::to_string);
        if let Some(rec) = &self.record {
            self.record_request(rec, req, sent_text.as_deref(), &resp);
        }
        self.exchanges.push(ex);
        resp
    }

    /// Appends `req` whole, as one JSON line, to the file `SCIMULATOR_RECORD_REQUESTS` names
    /// (`cargo bench --bench scale` replays it raw): method, path, headers, body, the status
    /// and the id of what a POST created. Masked like every log line; a write error is ignored.
    fn record_request(
        &self,
        to: &std::path::Path,
        req: &Request,
        body: Option<&str>,
        resp: &Response,
    ) {
        use std::io::Write as _;
        let line = serde_json::json!({
            "method": req.method.as_str(),
            "path": req.path,
            "headers": req.headers,
            "body": body,
            "status": resp.status,
            "id": resp.body.as_ref().and_then(|b| b.get("id")),
        });
        let line = self.redact(&line.to_string());
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(to)
        {
            let _ = writeln!(f, "{line}");
        }
    }

    /// An answer's body (already masked, or known to hold no secret) for the exchange log:
    /// `clean_len` is the length of its text as received when that text held no secret.
    fn log_response(&mut self, body: &Value, clean_len: Option<usize>) -> LoggedBody {
        match clean_len {
            // Past the budget only the size is kept: no copy of the tree.
            Some(n) if self.logged() >= self.limits.log_budget => self.omitted(n),
            _ => self.bounded(body),
        }
    }

    /// Sends `req` (its body serialised as `sent`) and reads the answer into `resp`, at most
    /// `limits.max_body` bytes of it.
    async fn transmit(
        &self,
        req: &Request,
        sent: Option<Vec<u8>>,
        with_token: bool,
        accept: Option<&str>,
        resp: &mut Response,
    ) -> Received {
        let mut got = Received::default();
        let url = format!("{}{}", self.base_url, req.path);
        let mut wait = self.wait_for(req);
        if let Some(left) = self.limits.watchdog.remaining() {
            // Never wait past the run's deadline, whatever --timeout or the wire says.
            wait = left.min(wait).max(Duration::from_millis(1));
        }
        let bearer = self
            .token
            .as_ref()
            .filter(|_| with_token)
            .map(|t| format!("Bearer {}", t.expose()));
        let mut headers: Vec<(&str, &str)> = Vec::with_capacity(req.headers.len() + 1);
        if let Some(b) = &bearer {
            headers.push(("Authorization", b));
        }
        headers.extend(req.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if let Some(a) = accept {
            headers.push(("Accept", a));
        }
        let answer = self
            .http
            .exchange(
                req.method.clone(),
                &url,
                &headers,
                sent,
                self.limits.max_body,
                wait,
            )
            .await;
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                resp.error = Some(e);
                return got;
            }
        };
        resp.status = Some(answer.status);
        resp.headers = answer
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    self.redact(&String::from_utf8_lossy(v.as_bytes())),
                )
            })
            .collect();
        resp.retry_after = answer
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        match answer.body {
            Body::Whole(bytes) if bytes.is_empty() => {}
            Body::Whole(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(v) => {
                    resp.body = Some(v);
                    got.clean = std::str::from_utf8(&bytes)
                        .ok()
                        .filter(|t| !self.may_hold_secret(t))
                        .map(str::len);
                }
                Err(_) => {
                    resp.text = Some(String::from_utf8_lossy(&bytes).chars().take(4000).collect())
                }
            },
            Body::Cut(head) => {
                resp.error = Some(TransportError::BodyTooLarge(self.limits.max_body));
                let head = String::from_utf8_lossy(&head);
                // Room for the marker: the log keeps this whole.
                let head = cut(&head, self.limits.report_body.saturating_sub(128));
                got.cut = Some(format!(
                    "{head}{TRUNCATED}the body was larger than {} bytes]",
                    self.limits.max_body
                ));
            }
        }
        got
    }
}

/// What [`Client::transmit`] learnt besides the [`Response`].
#[derive(Default)]
struct Received {
    /// The first bytes of an answer cut off at `--max-body` (`resp.error` is then
    /// [`TransportError::BodyTooLarge`]).
    cut: Option<String>,
    /// The length of a JSON answer's text, when that text holds no secret in any form.
    clean: Option<usize>,
}

/// JSON text with its short escapes (`\"`, `\\`, `\/`, `\n`, ...) decoded, so that a search of
/// it finds whatever a string of the document holds once parsed; `None` when it has a `\u`
/// escape (or a malformed one), which the caller treats as "may hold anything".
fn json_unescaped(text: &str) -> Option<std::borrow::Cow<'_, str>> {
    if !text.contains('\\') {
        return Some(std::borrow::Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            '"' => '"',
            '\\' => '\\',
            '/' => '/',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            _ => return None,
        });
    }
    Some(std::borrow::Cow::Owned(out))
}

/// The length of `v`'s compact JSON (a string counts as its text).
fn json_len(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        other => serde_json::to_vec(other).map_or(0, |v| v.len()),
    }
}

const TRUNCATED: &str = "… [truncated by scimulator: ";

/// `method`'s name, borrowed for the methods an IdP sends.
fn method_name(method: &Method) -> std::borrow::Cow<'static, str> {
    const STANDARD: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
    match STANDARD.iter().find(|m| **m == method.as_str()) {
        Some(m) => std::borrow::Cow::Borrowed(m),
        None => std::borrow::Cow::Owned(method.to_string()),
    }
}

/// `text` cut to at most `max` bytes (on a character boundary) with a visible marker.
pub fn truncate_marked(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let head = cut(text, max);
    format!(
        "{head}{TRUNCATED}{} bytes, the first {} shown]",
        text.len(),
        head.len()
    )
}

/// The first `max` bytes of `text` at most, on a character boundary.
fn cut(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// True for a body the exchange log holds only in part (cut by [`truncate_marked`], the
/// `--max-body` cap or the log budget): checks of its content cannot tell anything from it.
pub fn is_truncated(body: &Value) -> bool {
    body.as_str()
        .is_some_and(|s| s.starts_with(OMITTED) || (s.ends_with(']') && s.contains(TRUNCATED)))
}

/// The innermost error's message (`Connection refused (os error 111)`), which says more than
/// the outer "error sending request". Secrets are masked by the writers, not here.
fn root_cause(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        msg = s.to_string();
        cur = s.source();
    }
    msg
}

/// Form-encodes a query value as Entra and Okta's 2018 capture do: space as `+`, `"` as `%22`
/// (https://github.com/MicrosoftDocs/azure-docs/issues/94189).
pub fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Percent-encodes a query value with `%20` for spaces (Okta's documented form).
pub fn percent_encode(s: &str) -> String {
    form_encode(s).replace('+', "%20")
}

#[cfg(test)]
mod bounds_tests {
    use super::*;

    #[test]
    fn long_text_is_cut_on_a_char_boundary_with_a_marker() {
        let text = "é".repeat(100); // 200 bytes
        let cut = truncate_marked(&text, 51);
        assert!(cut.starts_with(&"é".repeat(25)));
        assert!(cut.ends_with("[truncated by scimulator: 200 bytes, the first 50 shown]"));
        assert!(is_truncated(&Value::String(cut)));
        assert_eq!(truncate_marked("short", 51), "short");
        assert!(!is_truncated(&Value::String("short".into())));
    }

    #[test]
    fn the_exchange_log_keeps_bodies_within_its_budget() {
        let mut c = Client::new(ClientConfig {
            base_url: "http://127.0.0.1:9".into(),
            token: None,
            timeout: Duration::from_secs(1),
        })
        .unwrap()
        .with_limits(Limits {
            report_body: 100,
            log_budget: 250,
            ..Limits::default()
        });
        let big = serde_json::json!({ "detail": "x".repeat(500) });
        let kept = c.bounded(&big).value();
        assert!(is_truncated(&kept), "{kept}");
        assert!(kept.as_str().unwrap().len() < 200);
        let small = serde_json::json!({ "a": 1 });
        assert_eq!(c.bounded(&small).value(), small);
        c.bounded(&serde_json::json!({ "detail": "y".repeat(500) }));
        // 100 + 7 + 100 bytes kept: the budget of 250 is not reached yet; then it is.
        c.bounded(&serde_json::json!({ "detail": "z".repeat(500) }));
        let omitted = c.bounded(&small);
        assert!(matches!(omitted, LoggedBody::Omitted { size: 7, .. }));
        let omitted = omitted.value();
        assert!(is_truncated(&omitted), "{omitted}");
        assert!(omitted
            .as_str()
            .unwrap()
            .starts_with("[omitted by scimulator: 7 bytes"));
    }

    #[test]
    fn a_secret_spelt_with_json_escapes_is_still_found() {
        let c = Client::new(ClientConfig {
            base_url: "http://127.0.0.1:9".into(),
            token: Some(Secret::new("s3cr/et\"tok")),
            timeout: Duration::from_secs(1),
        })
        .unwrap();
        // An ETag's escaped quotes alone are no reason to walk the tree.
        assert!(!c.may_hold_secret(r#"{"meta":{"version":"W/\"3\""},"a":"b\\c\n"}"#));
        // The token, its `/` and `"` escaped as JSON may write them.
        assert!(c.may_hold_secret(r#"{"echo":"s3cr\/et\"tok"}"#));
        assert!(c.may_hold_secret(r#"{"echo":"s3cr/et\"tok"}"#));
        // A \u escape could spell anything: walked.
        assert!(c.may_hold_secret(r#"{"echo":"\u0073"}"#));
        assert_eq!(
            json_unescaped(r#"a\"b\\c\/d\te"#).as_deref(),
            Some("a\"b\\c/d\te")
        );
        assert_eq!(json_unescaped(r#"x\u0041"#), None);
    }

    /// Lanes number their exchanges with the run's client, count armed faults in one
    /// sequence with it, and hand their exchanges back in id order.
    #[tokio::test]
    async fn lanes_share_ids_and_faults_and_merge_in_id_order() {
        use crate::scenario::model::{Fault, FaultEffect};
        let mut main = Client::new(ClientConfig {
            base_url: "http://127.0.0.1:9".into(),
            token: None,
            timeout: Duration::from_secs(1),
        })
        .unwrap();
        // Answered by the fault, never sent: the second matching request only.
        main.faults.arm(&Fault {
            matches: "GET /Users".into(),
            nth: Some(2),
            times: Some(1),
            effect: FaultEffect::Status {
                status: 503,
                retry_after: None,
            },
        });
        // Every other request: 200 from the fault, so nothing leaves the process.
        main.faults.arm(&Fault {
            matches: "* /**".into(),
            nth: None,
            times: Some(100),
            effect: FaultEffect::Status {
                status: 200,
                retry_after: None,
            },
        });
        let (mut a, mut b) = (main.lane(), main.lane());
        let get = || Request::new(Method::GET, "/Users");
        assert_eq!(a.send(get()).await.exchange, 1);
        let second = b.send(get()).await;
        assert_eq!((second.exchange, second.status), (2, Some(503)));
        assert_eq!(a.send(get()).await.exchange, 3);
        assert_eq!(b.send(get()).await.exchange, 4);
        main.merge(&mut b);
        main.merge(&mut a);
        let ids: Vec<u64> = main.exchanges().iter().map(|e| e.id).collect();
        assert_eq!(ids, [1, 2, 3, 4]);
        assert!(a.exchanges().is_empty() && b.exchanges().is_empty());
        assert_eq!(main.next_exchange_id(), 5);
    }

    #[test]
    fn timeouts_in_a_row_stop_the_run_an_answer_resets_the_count() {
        let w = Watchdog::default();
        w.record(true, 3);
        w.record(true, 3);
        w.record(false, 3);
        w.record(true, 3);
        w.record(true, 3);
        assert_eq!(w.stopped(), None);
        w.record(true, 3);
        assert!(w
            .stopped()
            .unwrap()
            .contains("3 requests in a row got no answer"));
    }
}
