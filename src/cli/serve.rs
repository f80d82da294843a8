//! `scimulator serve`: the reference server in the foreground.
//!
//! ```text
//! $ scimulator serve --token t
//! scimulator: SCIM 2.0 server at http://127.0.0.1:8080/scim/v2 (bearer token required)
//! ```

use crate::exit_code;
use crate::secret::Secret;
use crate::server::{
    self, ServerConfig, DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_BODY,
};
use clap::Args;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the URL printed says which).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Bearer token clients must send. Without a token the server accepts every request.
    #[arg(long, conflicts_with = "token_env")]
    pub token: Option<String>,
    /// Name of an environment variable holding the bearer token (keeps it out of `ps`).
    #[arg(long, value_name = "VAR")]
    pub token_env: Option<String>,
    /// Path under which the SCIM endpoints live.
    #[arg(long, default_value = "/scim/v2")]
    pub base_path: String,
    /// Persist the directory to FILE: every acknowledged write survives a kill -9.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Largest request body in bytes; larger ones are answered 413.
    #[arg(long, default_value_t = DEFAULT_MAX_BODY)]
    pub max_body: usize,
    /// Seconds a client has to send a request's headers (and to start the next request on a
    /// kept-alive connection); then the connection is closed.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_HEADER_TIMEOUT.as_secs_f64())]
    pub header_timeout: f64,
    /// Seconds a client has to send a request's body once its headers arrived; then it gets
    /// 408 and the connection is closed.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_BODY_TIMEOUT.as_secs_f64())]
    pub body_timeout: f64,
}

pub async fn run(args: ServeArgs) -> u8 {
    let token = match (&args.token, &args.token_env) {
        (Some(t), _) => Some(Secret::new(t.clone())),
        (None, Some(var)) => match std::env::var(var) {
            Ok(t) if !t.is_empty() => Some(Secret::new(t)),
            _ => {
                crate::errln!("scimulator: --token-env {var}: the variable is not set or empty");
                return exit_code::USAGE;
            }
        },
        (None, None) => None,
    };
    let config = ServerConfig {
        listen: args.listen,
        token: token.clone(),
        base_path: args.base_path,
        state: args.state.clone(),
        max_body: args.max_body,
        header_timeout: seconds(args.header_timeout),
        body_timeout: seconds(args.body_timeout),
    };
    let running = match server::start(config).await {
        Ok(s) => s,
        Err(e) => {
            crate::errln!("scimulator: {e}");
            return match e {
                server::ServerError::BasePath(_) => exit_code::USAGE,
                _ => exit_code::TARGET,
            };
        }
    };
    let auth = if token.is_some() {
        "bearer token required"
    } else {
        "no authentication: pass --token to require one"
    };
    crate::outln!("scimulator: SCIM 2.0 server at {} ({auth})", running.url);
    if let Some(p) = &args.state {
        crate::outln!("scimulator: state persisted to {}", p.display());
    }
    let _ = std::io::stdout().flush();
    tokio::select! {
        _ = shutdown_signal() => {
            crate::errln!("scimulator: stopping");
            running.stop().await;
        }
    }
    exit_code::OK
}

/// A positive, finite number of seconds (at least a millisecond).
fn seconds(s: f64) -> std::time::Duration {
    std::time::Duration::from_secs_f64(if s.is_finite() { s.max(0.001) } else { 1e6 })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
