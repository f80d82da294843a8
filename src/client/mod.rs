//! The HTTP client every IdP profile sends through: bearer auth, client-side fault injection,
//! and the exchange log (every request and response, timed, secrets redacted).
//!
//! A profile builds a [`Request`] with the exact bytes its IdP sends; the client adds only the
//! `Authorization` header. A recorded exchange:
//!
//! ```json
//! {"id":7,"step":3,"method":"PATCH","path":"/Groups/1c2…","request_headers":[["Authorization","Bearer ***"],
//!  ["Content-Type","application/scim+json; charset=utf-8"]],"request_body":{"schemas":[…],"Operations":[…]},
//!  "status":204,"duration_ms":1.8,"error":"timeout: response dropped by fault injection","fault":"drop-response"}
//! ```

pub mod fault;

use crate::report::model::Exchange;
use crate::secret::Secret;
use fault::{FaultAction, Faults};
use serde_json::Value;
use std::time::{Duration, Instant};

/// One request as an IdP sends it. `path` is relative to the base URL and already encoded,
/// query string included: `/Users?filter=userName+eq+%22a%40b%22`.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: reqwest::Method,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl Request {
    pub fn new(method: reqwest::Method, path: impl Into<String>) -> Self {
        Request {
            method,
            path: path.into(),
            headers: Vec::new(),
            body: None,
        }
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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("timeout{}", if *.0 { ": response dropped by fault injection" } else { "" })]
    Timeout(bool),
    #[error("connection failed{}: {reason}", if *.injected { " (fault injection)" } else { "" })]
    Connect { injected: bool, reason: String },
    #[error("TLS or protocol error: {0}")]
    Other(String),
}

pub struct ClientConfig {
    /// Base URL without trailing slash: `http://127.0.0.1:8080/scim/v2`.
    pub base_url: String,
    pub token: Option<Secret>,
    pub timeout: Duration,
}

/// Sends requests, applies faults, records exchanges.
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    token: Option<Secret>,
    pub faults: Faults,
    exchanges: Vec<Exchange>,
    next_id: u64,
    /// Index of the scenario step now running; recorded on each exchange.
    pub step: usize,
}

impl Client {
    pub fn new(cfg: ClientConfig) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Client {
            http,
            base_url: cfg.base_url.trim_end_matches('/').to_string(),
            token: cfg.token,
            faults: Faults::default(),
            exchanges: Vec::new(),
            next_id: 1,
            step: 0,
        })
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

    pub fn take_exchanges(&mut self) -> Vec<Exchange> {
        std::mem::take(&mut self.exchanges)
    }

    /// Masks the token wherever a server may have echoed it. The harness itself puts the token
    /// only in the `Authorization` header, which is always recorded as `Bearer ***`. Tokens
    /// shorter than 6 characters cannot be told apart from ordinary text (masking `t` would
    /// mangle every word), so only the header is masked for them.
    fn redact(&self, s: &str) -> String {
        match &self.token {
            Some(t) if t.expose().len() >= 6 => s.replace(t.expose(), "***"),
            _ => s.to_string(),
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
        self.send_as(req, true).await
    }

    /// Sends `req` without the bearer token: for probes of how a server treats a request
    /// without valid credentials (Okta's SPEC test sends `Authorization: non-token` and expects
    /// 401). Only headers `req` carries go out. The token never does; should one of them hold
    /// it anyway, the exchange log shows `***` in its place.
    pub async fn send_without_auth(&mut self, req: Request) -> Response {
        self.send_as(req, false).await
    }

    async fn send_as(&mut self, req: Request, with_token: bool) -> Response {
        let id = self.next_id;
        self.next_id += 1;
        crate::report::progress::request_sent();
        let path_only = req.path.split('?').next().unwrap_or("").to_string();
        let action = self.faults.action_for(req.method.as_str(), &path_only);
        let mut headers = Vec::new();
        if with_token && self.token.is_some() {
            headers.push(("Authorization".to_string(), "Bearer ***".to_string()));
        }
        headers.extend(
            req.headers
                .iter()
                .map(|(k, v)| (k.clone(), self.redact_header(k, v))),
        );
        let mut ex = Exchange {
            id,
            step: self.step,
            method: req.method.to_string(),
            path: self.redact(&req.path),
            request_headers: headers,
            request_body: req.body.as_ref().map(|b| self.redact_value(b)),
            status: None,
            response_body: None,
            duration_ms: 0.0,
            error: None,
            fault: action.as_ref().map(FaultAction::label),
        };
        let started = Instant::now();
        let mut resp = Response {
            exchange: id,
            status: None,
            body: None,
            text: None,
            retry_after: None,
            error: None,
            headers: Vec::new(),
        };
        match action {
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
                self.transmit(&req, with_token, &mut resp).await;
                if drop {
                    // The server answered; the IdP never saw it. Keep what the server said in
                    // the exchange log, and hand the profile a timeout.
                    ex.status = resp.status;
                    ex.response_body = resp.body.as_ref().map(|b| self.redact_value(b));
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
        if ex.status.is_none() {
            ex.status = resp.status;
            ex.response_body = resp
                .body
                .as_ref()
                .map(|b| self.redact_value(b))
                .or_else(|| resp.text.as_ref().map(|t| Value::String(self.redact(t))));
        }
        ex.error = resp.error.as_ref().map(ToString::to_string);
        self.exchanges.push(ex);
        resp
    }

    async fn transmit(&self, req: &Request, with_token: bool, resp: &mut Response) {
        let url = format!("{}{}", self.base_url, req.path);
        let mut rb = self.http.request(req.method.clone(), &url);
        if let Some(t) = self.token.as_ref().filter(|_| with_token) {
            rb = rb.header("Authorization", format!("Bearer {}", t.expose()));
        }
        for (k, v) in &req.headers {
            rb = rb.header(k, v);
        }
        if let Some(b) = &req.body {
            // Serialised as built: key order and value types exactly as the profile wrote them.
            rb = rb.body(serde_json::to_vec(b).unwrap_or_default());
        }
        match rb.send().await {
            Ok(r) => {
                resp.status = Some(r.status().as_u16());
                resp.headers = r
                    .headers()
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().to_string(),
                            self.redact(&String::from_utf8_lossy(v.as_bytes())),
                        )
                    })
                    .collect();
                resp.retry_after = r
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse().ok());
                match r.bytes().await {
                    Ok(bytes) if bytes.is_empty() => {}
                    Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                        Ok(v) => resp.body = Some(v),
                        Err(_) => {
                            resp.text =
                                Some(String::from_utf8_lossy(&bytes).chars().take(4000).collect())
                        }
                    },
                    Err(e) if e.is_timeout() => resp.error = Some(TransportError::Timeout(false)),
                    Err(e) => resp.error = Some(TransportError::Other(self.redact(&e.to_string()))),
                }
            }
            Err(e) if e.is_timeout() => resp.error = Some(TransportError::Timeout(false)),
            Err(e) if e.is_connect() => {
                resp.error = Some(TransportError::Connect {
                    injected: false,
                    reason: self.redact(&root_cause(&e)),
                })
            }
            Err(e) => resp.error = Some(TransportError::Other(self.redact(&root_cause(&e)))),
        }
    }
}

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
