//! The HTTP/1.1 connection requests go out on, adding nothing a profile did not ask for.
//!
//! A request carries exactly the headers its profile set, the bearer token, and what HTTP
//! framing needs (`Host`, `Content-Length`): no `Accept: */*`, no `User-Agent`. Entra sends
//! its GETs without `Accept` (https://github.com/MicrosoftDocs/azure-docs/issues/94189 shows a
//! captured request); a general-purpose client that adds one hides a server's 406. Header
//! names are written in Title-Case (`Content-Type`), as the .NET and Java clients IdPs use
//! write them. Redirects are followed as browsers and reqwest do (at most 10; 301/302/303 turn
//! into a bodiless GET; credentials are dropped when the origin changes), and `HTTPS_PROXY`,
//! `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` from the environment are honoured (a `CONNECT`
//! tunnel for https targets). One keep-alive pool per client. On the wire:
//!
//! ```text
//! GET /scim/v2/Users?filter=userName+eq+%22a%40b%22 HTTP/1.1
//! Authorization: Bearer …
//! Host: 127.0.0.1:8080
//! ```

use super::{root_cause, TransportError};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderName, HeaderValue, LOCATION};
use hyper::{Method, StatusCode, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::legacy::Client as Pool;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpStream;
use tower_service::Service;

/// Redirects followed before the exchange fails as a redirect loop (reqwest's default).
const MAX_REDIRECTS: usize = 10;

/// One answer: its status, headers and body as read (whole or cut at the cap).
pub(super) struct Answer {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Body,
}

/// An answer's body as read: whole, or cut off at the cap (its first bytes kept).
pub(super) enum Body {
    Whole(Vec<u8>),
    Cut(Vec<u8>),
}

/// A keep-alive pool of HTTP/1.1 connections, direct or through the environment's proxy.
/// Clones share the pool (a run's lane clients, [`super::Client::lane`]).
#[derive(Clone)]
pub(super) struct Transport {
    pool: Pool<HttpsConnector<Route>, Full<Bytes>>,
    proxy: Arc<Matcher>,
}

impl Transport {
    /// A transport whose connections give up after `connect_timeout`.
    pub fn new(connect_timeout: Duration) -> Result<Self, String> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(connect_timeout));
        http.set_nodelay(true);
        let proxy = Arc::new(Matcher::from_env());
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_root_certificates(rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        })
        .with_no_client_auth();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(Route {
                http,
                proxy: proxy.clone(),
            });
        let pool = Pool::builder(TokioExecutor::new())
            .http1_title_case_headers(true)
            .build(https);
        Ok(Transport { pool, proxy })
    }

    /// Sends one request to `url` and reads the answer, at most `max_body` bytes of its body,
    /// all within `wait`.
    pub async fn exchange(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
        max_body: usize,
        wait: Duration,
    ) -> Result<Answer, TransportError> {
        match tokio::time::timeout(wait, self.follow(method, url, headers, body, max_body)).await {
            Ok(r) => r,
            Err(_) => Err(TransportError::Timeout(false)),
        }
    }

    /// [`Self::exchange`] without the wait: the request and the redirects it leads to.
    async fn follow(
        &self,
        mut method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
        max_body: usize,
    ) -> Result<Answer, TransportError> {
        let mut uri: Uri = url
            .parse()
            .map_err(|e| TransportError::InvalidHeader(format!("invalid URL {url}: {e}")))?;
        let mut headers = parse_headers(headers)?;
        let mut body = body.map(Bytes::from);
        for _ in 0..=MAX_REDIRECTS {
            let resp = self
                .send_once(&method, &uri, &headers, body.clone())
                .await?;
            let status = resp.status();
            let Some(next) = redirect_target(&uri, status, resp.headers()) else {
                let (parts, body) = resp.into_parts();
                let body = read_capped(body, max_body, &parts.headers).await?;
                return Ok(Answer {
                    status: status.as_u16(),
                    headers: parts.headers,
                    body,
                });
            };
            if matches!(
                status,
                StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND | StatusCode::SEE_OTHER
            ) {
                if method != Method::HEAD {
                    method = Method::GET;
                }
                body = None;
                headers.retain(|(k, _)| {
                    !matches!(
                        k.as_str(),
                        "content-type"
                            | "content-length"
                            | "content-encoding"
                            | "transfer-encoding"
                    )
                });
            }
            if next.scheme() != uri.scheme() || next.authority() != uri.authority() {
                // Another origin never gets the credentials.
                headers.retain(|(k, _)| k != "authorization" && k != "cookie");
            }
            uri = next;
        }
        Err(TransportError::RedirectLoop(format!(
            "more than {MAX_REDIRECTS}, the last to {uri}"
        )))
    }

    async fn send_once(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &[(HeaderName, HeaderValue)],
        body: Option<Bytes>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, TransportError> {
        let mut req = hyper::Request::builder()
            .method(method.clone())
            .uri(uri.clone());
        for (k, v) in headers {
            req = req.header(k, v);
        }
        if uri.scheme() == Some(&hyper::http::uri::Scheme::HTTP) {
            // A plain-HTTP request through a proxy carries the proxy's credentials itself.
            if let Some(auth) = self
                .proxy
                .intercept(uri)
                .and_then(|i| i.basic_auth().cloned())
            {
                req = req.header(hyper::header::PROXY_AUTHORIZATION, auth);
            }
        }
        let req = req
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|e| TransportError::InvalidHeader(e.to_string()))?;
        self.pool
            .request(req)
            .await
            .map_err(|e| classify(&e, e.is_connect(), false))
    }
}

/// The request's headers as HTTP carries them; one no header can carry (a control character
/// in a value, a space in a name) fails before anything is sent.
fn parse_headers(
    headers: &[(&str, &str)],
) -> Result<Vec<(HeaderName, HeaderValue)>, TransportError> {
    headers
        .iter()
        .map(|(k, v)| {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| TransportError::InvalidHeader(format!("header name {k:?}")))?;
            let value = HeaderValue::from_str(v).map_err(|_| {
                TransportError::InvalidHeader(format!(
                    "the value of header {k} holds a character HTTP cannot carry"
                ))
            })?;
            Ok((name, value))
        })
        .collect()
}

/// Where a redirect answer sends the request next, if it is one that has a usable `Location`.
fn redirect_target(from: &Uri, status: StatusCode, headers: &hyper::HeaderMap) -> Option<Uri> {
    if !matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let loc = headers.get(LOCATION)?.to_str().ok()?;
    let base = url::Url::parse(&from.to_string()).ok()?;
    base.join(loc).ok()?.as_str().parse().ok()
}

/// Reads a body frame by frame and stops at `max` bytes: a server answering 200 MB costs at
/// most `max` bytes of memory. A `Content-Length` above the cap stops after the first frame.
async fn read_capped(
    mut body: hyper::body::Incoming,
    max: usize,
    headers: &hyper::HeaderMap,
) -> Result<Body, TransportError> {
    const HEAD: usize = 64 * 1024;
    let announced = headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| classify(&e, false, true))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        if announced.is_some_and(|n| n > max as u64) || buf.len() + data.len() > max {
            buf.extend_from_slice(&data[..data.len().min(HEAD.saturating_sub(buf.len()))]);
            buf.truncate(HEAD);
            return Ok(Body::Cut(buf));
        }
        buf.extend_from_slice(&data);
    }
    Ok(Body::Whole(buf))
}

/// Names what `e` was. `connecting`: the connection (or its TLS handshake) was being made;
/// `reading_body`: the status line and headers had arrived, the error came while reading the
/// body (where an early end of file means truncation).
fn classify(
    e: &(dyn std::error::Error + 'static),
    connecting: bool,
    reading_body: bool,
) -> TransportError {
    let cause = root_cause(e);
    let mut chain = String::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut io_kind = None;
    let mut incomplete = false;
    while let Some(x) = cur {
        chain.push_str(&x.to_string().to_ascii_lowercase());
        chain.push_str(" | ");
        if let Some(io) = x.downcast_ref::<std::io::Error>() {
            io_kind.get_or_insert(io.kind());
        }
        if let Some(h) = x.downcast_ref::<hyper::Error>() {
            incomplete |= h.is_incomplete_message();
        }
        cur = x.source();
    }
    use std::io::ErrorKind as K;
    let tls = [
        "tls",
        "certificate",
        "handshake",
        "corrupt message",
        "alert",
    ]
    .iter()
    .any(|w| chain.contains(w));
    match io_kind {
        Some(K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe) => {
            return TransportError::Reset(cause)
        }
        Some(K::UnexpectedEof) if reading_body => return TransportError::Truncated(cause),
        Some(K::TimedOut) if connecting => return TransportError::Timeout(false),
        _ => {}
    }
    if chain.contains("connection reset") {
        return TransportError::Reset(cause);
    }
    if chain.contains("end of file before message length reached") || (reading_body && incomplete) {
        return TransportError::Truncated(cause);
    }
    if connecting {
        return if tls {
            TransportError::Tls(cause)
        } else {
            TransportError::Connect {
                injected: false,
                reason: cause,
            }
        };
    }
    if tls {
        return TransportError::Tls(cause);
    }
    if incomplete || chain.contains("connection closed before message completed") {
        return TransportError::Closed(cause);
    }
    if reading_body {
        return TransportError::Truncated(cause);
    }
    TransportError::Protocol(cause)
}

/// Picks the way to the target for each connection: straight, through a `CONNECT` tunnel (an
/// https target behind a proxy), or to the proxy itself (a plain-HTTP target behind one, then
/// sent in absolute form).
#[derive(Clone)]
struct Route {
    http: HttpConnector,
    proxy: Arc<Matcher>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Service<Uri> for Route {
    type Response = Conn;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Conn, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let mut http = self.http.clone();
        let via = self.proxy.intercept(&dst);
        Box::pin(async move {
            let https = dst.scheme() == Some(&hyper::http::uri::Scheme::HTTPS);
            match via {
                None => Ok(Conn {
                    io: http.call(dst).await?,
                    proxied: false,
                }),
                Some(p) if https => {
                    let mut tunnel = hyper_util::client::legacy::connect::proxy::Tunnel::new(
                        p.uri().clone(),
                        http,
                    );
                    if let Some(auth) = p.basic_auth() {
                        tunnel = tunnel.with_auth(auth.clone());
                    }
                    Ok(Conn {
                        io: tunnel.call(dst).await?,
                        proxied: false,
                    })
                }
                Some(p) => Ok(Conn {
                    io: http.call(p.uri().clone()).await?,
                    proxied: true,
                }),
            }
        })
    }
}

/// A TCP connection that knows whether it leads to a proxy (requests on it then go in
/// absolute form).
struct Conn {
    io: TokioIo<TcpStream>,
    proxied: bool,
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.proxied)
    }
}

impl hyper::rt::Read for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
