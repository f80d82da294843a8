//! `scimulator check`: the RFC 7643/7644 conformance probes (`scenarios/rfc/`) against a SCIM
//! server, through the same machinery as `scimulator run`, so the exit codes, reports and
//! terminal summary are the same.
//!
//! ```text
//! $ scimulator check --target https://scim.example.com/scim/v2 --token-env SCIM_TOKEN
//! ...
//! verdicts:
//!   RFC 7643/7644 conformance: PASS (63 probes: 60 passed, 3 skipped)
//! ```
//!
//! Exit codes: 0 every probe passed or was skipped, 1 a probe failed, 2 usage error, 3 the
//! target is unusable.

use super::run::{self, RunArgs};
use crate::scenario::loader;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// SCIM base URL of the server under test (default: the built-in server, in-process).
    #[arg(long)]
    pub target: Option<String>,
    /// Bearer token for the target (also read from SCIM_TOKEN).
    #[arg(long, conflicts_with = "token_env")]
    pub token: Option<String>,
    /// Name of an environment variable holding the bearer token.
    #[arg(long, value_name = "VAR")]
    pub token_env: Option<String>,
    /// Write report.json and junit.xml into DIR.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Seconds to wait for each answer.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Never colour the terminal output.
    #[arg(long)]
    pub no_color: bool,
}

pub async fn run(args: CheckArgs) -> u8 {
    run::run(RunArgs {
        paths: vec![loader::bundled_dir().join("rfc")],
        target: args.target,
        token: args.token,
        token_env: args.token_env,
        idp: None,
        report: args.report,
        keep: false,
        timeout: args.timeout,
        no_color: args.no_color,
        scale: None,
    })
    .await
}
