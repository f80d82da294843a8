//! The built-in reference SCIM 2.0 server: `scimulator serve`, the default target of `run`, and
//! the target of the harness's own tests.
//!
//! ```no_run
//! # async fn demo() -> Result<(), scimulator::server::ServerError> {
//! let server = scimulator::server::start(scimulator::server::ServerConfig::local()).await?;
//! println!("{}", server.url); // http://127.0.0.1:41235/scim/v2
//! server.stop().await;
//! # Ok(()) }
//! ```

pub mod discovery;
pub mod http;
pub mod store;

use crate::secret::Secret;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use store::{Store, StoreError};

/// Default largest request body; larger ones get 413.
pub const DEFAULT_MAX_BODY: usize = 4 * 1024 * 1024;
/// Default longest wait for a request's headers (also the idle wait between requests on a
/// kept-alive connection): a client that sends half a request is cut off after it.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default longest wait for a request's body once its headers arrived.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub token: Option<Secret>,
    pub base_path: String,
    pub state: Option<PathBuf>,
    pub max_body: usize,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
}

impl ServerConfig {
    /// Loopback, a free port, `/scim/v2`, no token, memory only.
    pub fn local() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: None,
            base_path: "/scim/v2".into(),
            state: None,
            max_body: DEFAULT_MAX_BODY,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
        }
    }

    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Secret::new(token));
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("base path {0:?} must start with '/' and not end with '/'")]
    BasePath(String),
}

/// A server running on the current tokio runtime.
pub struct RunningServer {
    /// Base URL, e.g. `http://127.0.0.1:41235/scim/v2`.
    pub url: String,
    pub addr: SocketAddr,
    pub store: Arc<Store>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningServer {
    /// Stops accepting requests and waits for the ones in flight.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }

    /// Serves until the task ends (it ends only through `stop` or a fatal error).
    pub async fn wait(mut self) {
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn normalise_base_path(p: &str) -> Result<String, ServerError> {
    let trimmed = p.trim_end_matches('/');
    if !(trimmed.is_empty() || trimmed.starts_with('/')) || trimmed.contains(['?', '#']) {
        return Err(ServerError::BasePath(p.to_string()));
    }
    Ok(trimmed.to_string())
}

/// Starts the server and returns once it accepts connections.
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    let base_path = normalise_base_path(&config.base_path)?;
    let store = Arc::new(match &config.state {
        Some(p) => Store::open(p)?,
        None => Store::in_memory(),
    });
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| ServerError::Bind {
            addr: config.listen,
            source: e,
        })?;
    let addr = listener.local_addr().map_err(|e| ServerError::Bind {
        addr: config.listen,
        source: e,
    })?;
    let app = Arc::new(http::App {
        store: store.clone(),
        token: config.token.clone(),
        base_path: base_path.clone(),
        max_body: config.max_body,
        body_timeout: config.body_timeout,
        fallback_host: addr.to_string(),
    });
    let router = axum::Router::new().fallback(http::handle).with_state(app);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, router, config.header_timeout, rx));
    Ok(RunningServer {
        url: format!("http://{addr}{base_path}"),
        addr,
        store,
        shutdown: Some(tx),
        task: Some(task),
    })
}

/// Accepts connections until `shutdown`, then waits for the requests in flight. Like
/// `axum::serve`, plus what it does not expose: a header read timeout, so a client that sends
/// half a request (or nothing) is disconnected instead of holding a connection forever.
async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    header_timeout: Duration,
    shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    // Dropped senders tell each connection to finish; the receiver ends when all have.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(());
    let (done_tx, mut done_rx) = tokio::sync::mpsc::channel::<()>(1);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, keep serving.
                    tracing::warn!("reference server: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(router.clone());
        let _ = stream.set_nodelay(true);
        let mut stop = stop_rx.clone();
        let done = done_tx.clone();
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(done);
        });
    }
    drop(listener);
    drop(stop_tx);
    drop(done_tx);
    let _ = done_rx.recv().await;
}
