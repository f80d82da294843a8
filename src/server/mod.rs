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
use store::{Store, StoreError};

/// Default largest request body; larger ones get 413.
pub const DEFAULT_MAX_BODY: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub token: Option<Secret>,
    pub base_path: String,
    pub state: Option<PathBuf>,
    pub max_body: usize,
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
        fallback_host: addr.to_string(),
    });
    let router = axum::Router::new().fallback(http::handle).with_state(app);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!("reference server stopped: {e}");
        }
    });
    Ok(RunningServer {
        url: format!("http://{addr}{base_path}"),
        addr,
        store,
        shutdown: Some(tx),
        task: Some(task),
    })
}
