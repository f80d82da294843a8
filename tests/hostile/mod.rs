//! Servers that misbehave at the wire, for the tests of what scimulator says about them
//! (`tests/transport_errors.rs`, `tests/redaction.rs`): raw TCP servers on a loopback port 0
//! that cut bodies short, reset, redirect forever, serve HTML, or die after the first answer;
//! and an echoing proxy in front of the reference server that quotes the `Authorization` header
//! (raw, base64 and URL-encoded) in its error bodies.
//!
//! ```ignore
//! let s = hostile::Wire::start(hostile::Misbehaviour::Reset);
//! let out = hostile::scimulator(&["check", "--target", &s.url, "--token", "t0ken-123"]);
//! ```
//!
//! The binary run is `CARGO_BIN_EXE_scimulator`, or `SCIMULATOR_BIN` when set (to measure an
//! older build against the same servers).

// Each test crate uses a different subset.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Output;
use std::time::Duration;

/// What a raw server does with every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misbehaviour {
    /// `200`, `Content-Length: 4096`, 20 bytes of JSON, then the connection closes.
    TruncatedBody,
    /// Reads the request, then resets the connection (TCP RST, no answer).
    Reset,
    /// Reads the request, then closes the connection cleanly (FIN) without answering.
    CloseWithoutAnswer,
    /// `302 Found` to the very URL asked for.
    RedirectLoop,
    /// `200 text/html`: a web site, not a SCIM service.
    HtmlSite,
    /// `404 text/html` for every path: a wrong base path on a real web server.
    NotFoundHtml,
    /// Answers the first request with an empty SCIM ListResponse, then stops listening and
    /// closes every connection: a target that dies after the first request.
    DiesAfterFirst,
}

/// A raw server on `127.0.0.1:0`, serving until the test process ends.
pub struct Wire {
    /// `http://127.0.0.1:PORT/scim/v2`
    pub url: String,
}

impl Wire {
    pub fn start(how: Misbehaviour) -> Wire {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("address");
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                if how == Misbehaviour::DiesAfterFirst {
                    // Served on this thread, then the listener is dropped: later connects are
                    // refused.
                    serve(conn, how);
                    return;
                }
                std::thread::spawn(move || serve(conn, how));
            }
        });
        Wire {
            url: format!("http://{addr}/scim/v2"),
        }
    }
}

/// Reads one request's head and body (by `Content-Length`); `None` at end of stream.
fn read_request(conn: &mut TcpStream) -> Option<(String, String)> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match conn.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => return None,
        }
        if !buf[0].is_ascii_uppercase() {
            // Not HTTP (a TLS ClientHello starts 0x16): answered as web servers do.
            let _ = conn.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            return None;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length.min(1 << 20)];
    conn.read_exact(&mut body).ok()?;
    let target = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    Some((target, head))
}

fn serve(mut conn: TcpStream, how: Misbehaviour) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    if how == Misbehaviour::Reset {
        return reset_after_request(conn);
    }
    while let Some((target, _head)) = read_request(&mut conn) {
        let answer = match how {
            Misbehaviour::TruncatedBody => {
                let _ = conn.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nContent-Length: 4096\r\n\r\n{\"schemas\":[\"urn:iet",
                );
                return;
            }
            Misbehaviour::Reset | Misbehaviour::CloseWithoutAnswer => return,
            Misbehaviour::RedirectLoop => format!(
                "HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\n\r\n"
            ),
            Misbehaviour::HtmlSite => html(200, "<html><body><h1>Welcome to our site</h1></body></html>"),
            Misbehaviour::NotFoundHtml => html(
                404,
                "<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1></center><hr><center>nginx</center></body></html>",
            ),
            Misbehaviour::DiesAfterFirst => {
                let body = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"Resources":[]}"#;
                let _ = conn.write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                );
                return;
            }
        };
        if conn.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

fn html(status: u16, body: &str) -> String {
    let reason = if status == 200 { "OK" } else { "Not Found" };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Closes `conn` with a TCP RST: Linux resets a connection closed while received data is
/// still unread, so the request is peeked at (left unread) until its head is complete.
fn reset_after_request(conn: TcpStream) {
    let mut buf = [0u8; 8192];
    loop {
        match conn.peek(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") => break,
            Ok(n) if n == buf.len() => break,
            Ok(_) => std::thread::yield_now(),
        }
    }
    drop(conn);
}

/// Runs the scimulator binary with `args` (from the crate root, without `SCIM_TOKEN`, no
/// colour), blocking.
pub fn scimulator(args: &[&str]) -> Output {
    scimulator_env(args, &[])
}

pub fn scimulator_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let bin = std::env::var("SCIMULATOR_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_scimulator").to_string());
    let mut cmd = std::process::Command::new(bin);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("SCIM_TOKEN")
        .env("NO_COLOR", "1")
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run scimulator")
}

/// stdout then stderr, as text.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// How the echoing proxy quotes the credentials it received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Echo {
    /// Only in error answers (status 400 and up from the reference server).
    OnError,
    /// Every answer becomes a 500 SCIM Error quoting them: every Test Connection fails with
    /// the token in its message, every check and finding quotes a body holding it.
    Always,
    /// Every write (POST, PUT, PATCH, DELETE) is answered with a 500 `text/plain` page whose
    /// `Authorization: Bearer <token>` starts 190 characters in: a message that quotes the
    /// first 200 characters of a body (a provisioning-log detail) would cut the token in two.
    PlainTextCut,
}

/// A proxy in front of a reference server (requiring `token`) that quotes the
/// `Authorization` header, and the token base64- and URL-encoded, in error bodies and in an
/// `X-Echo` header, as misconfigured debugging middleware does.
pub struct EchoProxy {
    pub url: String,
    upstream: scimulator::server::RunningServer,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for EchoProxy {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

struct EchoState {
    mode: Echo,
    upstream: String,
    http: reqwest::Client,
}

impl EchoProxy {
    pub async fn start(token: &str, mode: Echo) -> EchoProxy {
        use scimulator::server::{start, ServerConfig};
        let upstream = start(ServerConfig::local().with_token(token))
            .await
            .expect("reference server");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let state = std::sync::Arc::new(EchoState {
            mode,
            upstream: format!("http://{}", upstream.addr),
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client"),
        });
        let router = axum::Router::new().fallback(echo).with_state(state);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
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
        EchoProxy {
            url: format!("http://{addr}{base_path}"),
            upstream,
            shutdown: Some(tx),
        }
    }
}

async fn echo(
    axum::extract::State(s): axum::extract::State<std::sync::Arc<EchoState>>,
    req: axum::extract::Request,
) -> axum::response::Response {
    use axum::http::StatusCode;
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let auth = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let token = auth.strip_prefix("Bearer ").unwrap_or(&auth).to_string();
    let pq = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let mut rb = s
        .http
        .request(parts.method.clone(), format!("{}{pq}", s.upstream))
        .body(body.to_vec());
    for (k, v) in &parts.headers {
        if k != "host" && k != "content-length" {
            rb = rb.header(k, v);
        }
    }
    let (status, ctype, bytes) = match rb.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            let ctype = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/scim+json")
                .to_string();
            (status, ctype, r.bytes().await.unwrap_or_default().to_vec())
        }
        Err(_) => (502, "text/plain".into(), b"upstream failed".to_vec()),
    };
    let quote = format!(
        "request rejected. You sent Authorization: {auth} (base64: {}, url-encoded: {}, basic: Basic {})",
        base64(token.as_bytes()),
        urlencode(&token),
        base64(format!("scim:{token}").as_bytes())
    );
    let mut resp = if s.mode == Echo::PlainTextCut && parts.method != axum::http::Method::GET {
        let text = format!(
            "{:-<168}Authorization: {auth} (that is what you sent)",
            "error "
        );
        let mut r = axum::response::Response::new(axum::body::Body::from(text));
        *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        r.headers_mut().insert(
            "content-type",
            axum::http::HeaderValue::from_static("text/plain"),
        );
        r
    } else if s.mode == Echo::Always || status >= 400 {
        let status = if status >= 400 { status } else { 500 };
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": status.to_string(),
            "detail": quote,
        });
        let mut r = axum::response::Response::new(axum::body::Body::from(body.to_string()));
        *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        r.headers_mut().insert(
            "content-type",
            axum::http::HeaderValue::from_static("application/scim+json"),
        );
        r
    } else {
        let mut r = axum::response::Response::new(axum::body::Body::from(bytes));
        *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        if let Ok(v) = axum::http::HeaderValue::from_str(&ctype) {
            r.headers_mut().insert("content-type", v);
        }
        r
    };
    if let Ok(v) = axum::http::HeaderValue::from_str(&quote) {
        resp.headers_mut().insert("x-echo", v);
    }
    resp
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Percent-encodes every byte but ASCII letters, digits and `-._~`.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
