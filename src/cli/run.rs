//! `scimulator run`: scenarios against a SCIM server; the main job.
//!
//! ```text
//! $ scimulator run scenarios/entra --report reports
//! ┌──────────────────────┬───────┬───────┬──────────┬────────┐
//! │ scenario             │ IdP   │ steps │ requests │ result │
//! ├──────────────────────┼───────┼───────┼──────────┼────────┤
//! │ entra-cisco-guide    │ entra │ 3     │ 14       │ passed │
//! ```
//!
//! Exit codes: 0 all passed, 1 an expectation failed, 2 usage or scenario error, 3 the target
//! is unusable.

use crate::exit_code;
use crate::idp::Profile;
use crate::report::model::{Outcome, RunReport, Summary, TargetInfo, FORMAT_VERSION};
use crate::runner::{preflight, run_scenario, Target};
use crate::scenario::loader;
use crate::secret::Secret;
use crate::server::{self, ServerConfig};
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files or folders (default: every bundled scenario under scenarios/).
    pub paths: Vec<PathBuf>,
    /// SCIM base URL of the server under test (default: the built-in server, in-process).
    #[arg(long)]
    pub target: Option<String>,
    /// Bearer token for the target (also read from SCIM_TOKEN).
    #[arg(long, conflicts_with = "token_env")]
    pub token: Option<String>,
    /// Name of an environment variable holding the bearer token.
    #[arg(long, value_name = "VAR")]
    pub token_env: Option<String>,
    /// Run only the scenarios of this IdP (entra).
    #[arg(long)]
    pub idp: Option<String>,
    /// Write report.json and junit.xml into DIR.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Leave the users and groups the run created on the server.
    #[arg(long)]
    pub keep: bool,
    /// Seconds the simulated IdP waits for each answer.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Never colour the terminal output.
    #[arg(long)]
    pub no_color: bool,
    /// Generate N users in scenarios with a generated directory (groups scaled alike), e.g.
    /// `run scenarios/scale --scale 100000`. Other scenarios run as written.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub scale: Option<u32>,
}

/// The bearer token from `--token`, the variable `--token-env` names, or `SCIM_TOKEN`.
/// Shared by every command that talks to a target.
pub(crate) fn resolve_token(
    token: Option<&str>,
    token_env: Option<&str>,
) -> Result<Option<Secret>, String> {
    if let Some(t) = token {
        return Ok(Some(Secret::new(t)));
    }
    if let Some(var) = token_env {
        return match std::env::var(var) {
            Ok(t) if !t.is_empty() => Ok(Some(Secret::new(t))),
            _ => Err(format!(
                "--token-env {var}: the variable is not set or empty"
            )),
        };
    }
    Ok(std::env::var("SCIM_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .map(Secret::new))
}

/// `--target` must be an http(s) URL without credentials in it (they would be a secret in
/// every message that names the target).
pub(crate) fn check_target(t: &str) -> Result<(), String> {
    match reqwest::Url::parse(t) {
        Ok(u) if !matches!(u.scheme(), "http" | "https") => Err(format!("--target must be an http(s) URL, not {}", u.scheme())),
        // Never echo it: the URL holds a secret.
        Ok(u) if !u.username().is_empty() || u.password().is_some() => {
            Err("--target must not carry credentials; pass the bearer token with --token, --token-env or SCIM_TOKEN".into())
        }
        Ok(_) => Ok(()),
        Err(e) => Err(format!("--target is not a URL: {e}")),
    }
}

pub async fn run(args: RunArgs) -> u8 {
    let started = Instant::now();
    let token = match resolve_token(args.token.as_deref(), args.token_env.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("scimulator: {e}");
            return exit_code::USAGE;
        }
    };
    if let Some(t) = &args.target {
        if let Err(e) = check_target(t) {
            eprintln!("scimulator: {e}");
            return exit_code::USAGE;
        }
    }
    // A bare `run` skips the bundled scale scenarios (scenarios/scale/): it stays quick.
    let files = if args.paths.is_empty() {
        loader::discover_bundled()
    } else {
        loader::discover(&args.paths)
    };
    let files = match files {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return exit_code::USAGE;
        }
    };
    // Every file is loaded and every profile built before anything is sent: a malformed
    // scenario stops the run with exit 2 and touches nothing.
    let mut plan = Vec::new();
    let mut bad = false;
    for f in files {
        match loader::load_with(&f, loader::LoadOptions { scale: args.scale }) {
            Ok(s) => {
                if args.idp.as_deref().is_some_and(|i| i != s.idp) {
                    continue;
                }
                match Profile::new(&s.idp, &s.settings) {
                    Ok(p) => plan.push((s, p)),
                    Err(e) => {
                        eprintln!("{}: settings: {e}", f.display());
                        bad = true;
                    }
                }
            }
            Err(e) => {
                eprintln!("{e}");
                bad = true;
            }
        }
    }
    if bad {
        return exit_code::USAGE;
    }
    if plan.is_empty() {
        eprintln!(
            "scimulator: no scenario to run{}",
            args.idp
                .as_ref()
                .map(|i| format!(" for --idp {i}"))
                .unwrap_or_default()
        );
        return exit_code::USAGE;
    }

    // The built-in server, in-process, guarded by a token of its own unless one was given.
    let mut builtin = None;
    let (url, token) = match &args.target {
        Some(u) => (u.trim_end_matches('/').to_string(), token),
        None => {
            let tok = token.unwrap_or_else(|| Secret::new(uuid::Uuid::new_v4().to_string()));
            match server::start(ServerConfig::local().with_token(tok.expose())).await {
                Ok(s) => {
                    let url = s.url.clone();
                    builtin = Some(s);
                    (url, Some(tok))
                }
                Err(e) => {
                    eprintln!("scimulator: cannot start the built-in server: {e}");
                    return exit_code::TARGET;
                }
            }
        }
    };
    let target = Target {
        url: url.clone(),
        token,
        timeout: Duration::from_secs(args.timeout.max(1)),
        keep: args.keep,
    };
    if let Err(e) = preflight(&target).await {
        eprintln!("scimulator: the target is unusable: {e}");
        return exit_code::TARGET;
    }

    let run_id = format!("r{}", &uuid::Uuid::new_v4().simple().to_string()[..5]);
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut scenarios = Vec::new();
    for (i, (s, p)) in plan.iter().enumerate() {
        let tag = format!("{run_id}{:02}", i + 1);
        scenarios.push(run_scenario(s, p, &target, &tag).await);
    }
    if let Some(s) = builtin {
        s.stop().await;
    }
    let summary = Summary {
        scenarios: scenarios.len(),
        passed: scenarios
            .iter()
            .filter(|s| s.outcome == Outcome::Passed)
            .count(),
        failed: scenarios
            .iter()
            .filter(|s| s.outcome == Outcome::Failed)
            .count(),
        errors: scenarios
            .iter()
            .filter(|s| s.outcome == Outcome::Error)
            .count(),
        requests: scenarios.iter().map(|s| s.exchanges.len()).sum(),
    };
    let report = RunReport {
        format_version: FORMAT_VERSION,
        tool: format!("scimulator {}", env!("CARGO_PKG_VERSION")),
        run_id,
        target: TargetInfo {
            url,
            builtin: args.target.is_none(),
        },
        started_at,
        duration_ms: started.elapsed().as_millis() as u64,
        scenarios,
        summary,
    };
    let color =
        !args.no_color && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    print!(
        "{}",
        crate::report::terminal::render_terminal(&report, color)
    );
    print!(
        "{}",
        crate::report::verdicts::render(&crate::report::verdicts::verdicts(&report), color)
    );
    if let Some(dir) = &args.report {
        if let Err(e) = crate::report::write_all(&report, dir) {
            eprintln!(
                "scimulator: cannot write the report to {}: {e}",
                dir.display()
            );
            return exit_code::USAGE;
        }
        println!("reports written to {}", dir.display());
    }
    let s = &report.summary;
    if s.errors > 0
        && s.failed == 0
        && report
            .scenarios
            .iter()
            .all(|x| x.outcome != Outcome::Passed)
        && report
            .scenarios
            .iter()
            .flat_map(|x| &x.exchanges)
            .all(|e| e.status.is_none())
    {
        return exit_code::TARGET;
    }
    if s.failed > 0 || s.errors > 0 {
        exit_code::FAILED
    } else {
        exit_code::OK
    }
}
