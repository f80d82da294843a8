//! `scimulator check`: the RFC 7643/7644 conformance probes (`scenarios/rfc/`) against a SCIM
//! server, through the same machinery as `scimulator run`, so the exit codes, reports and
//! terminal summary are the same.
//!
//! ```text
//! $ scimulator check --target https://scim.example.com/scim/v2 --token-env SCIM_TOKEN
//! probes (rfc-conformance):
//!     PASS  discovery      5 probes
//!     FAIL  patch          9 probes: 8 passed, 1 failed
//!         FAIL  rfc patch remove with value filter: 1 of 2 assertions failed
//! ...
//! verdicts:
//!   RFC 7643/7644 conformance: PASS (63 probes: 60 passed, 0 failed, 3 skipped; 1 RFC finding (0 MUST), seen 4 times)
//!     - INFO RFC 7644 §3.4.2.2: ... [RFC 7644 §3.4.2.2] ×4
//! ```
//!
//! Exit codes, from the same verdict the terminal prints: 0 the verdict passed (INFO, MAY and
//! SHOULD findings never fail it), 1 a probe failed or a MUST finding was made, 2 usage error,
//! 3 the target is unusable.

use super::run::{self, LimitArgs, RunArgs};
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
    /// Write report.json, junit.xml, summary.md and index.html into DIR.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Seconds to wait for each answer.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Never colour the terminal output.
    #[arg(long)]
    pub no_color: bool,
    /// List every probe with its result, not only the groups and the failed probes.
    #[arg(short, long)]
    pub verbose: bool,
}

pub async fn run(args: CheckArgs) -> u8 {
    run::run(RunArgs {
        paths: Vec::new(),
        bundled_folder: Some("rfc"),
        target: args.target,
        token: args.token,
        token_env: args.token_env,
        idp: None,
        report: args.report,
        keep: false,
        timeout: Some(args.timeout),
        limits: args.limits,
        no_color: args.no_color,
        list_probes: true,
        verbose: args.verbose,
        scale: None,
    })
    .await
}
