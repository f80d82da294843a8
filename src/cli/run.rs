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
use crate::runner::{lost, preflight, run_scenario, Target};
use crate::secret::Secret;
use crate::server::{self, ServerConfig};
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// `--timeout` when neither the user nor the IdP's wire gives one.
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files or folders (default: every bundled scenario). A PATH not on disk that
    /// names a bundled file or folder (`scenarios/entra`) runs the bundled copy.
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
    /// Write report.json, junit.xml, summary.md and index.html into DIR.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Leave the users and groups the run created on the server.
    #[arg(long)]
    pub keep: bool,
    /// Seconds the simulated IdP waits for each answer [default: the IdP's documented wait
    /// (Okta: 60), else 30].
    #[arg(long)]
    pub timeout: Option<u64>,
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Never colour the terminal output.
    #[arg(long)]
    pub no_color: bool,
    /// Run this bundled folder (`rfc`) whatever is on disk: `scimulator check`.
    #[arg(skip)]
    pub bundled_folder: Option<&'static str>,
    /// List each RFC probe group with its result (what `check` prints).
    #[arg(skip)]
    pub list_probes: bool,
    /// With the probe listing, every probe, not only those that failed.
    #[arg(skip)]
    pub verbose: bool,
    /// Generate N users in scenarios with a generated directory (groups scaled alike), e.g.
    /// `run scenarios/scale --scale 100000`. Other scenarios run as written.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub scale: Option<u32>,
}

/// What one run may cost; shared by `run`, `check` and `certify`. Each bound ends the run (or
/// the exchange) with a message instead of letting a misbehaving server hold it.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Largest response body read, in bytes; a longer answer is cut off and fails.
    #[arg(long, value_name = "BYTES", default_value_t = crate::client::DEFAULT_MAX_BODY)]
    pub max_body: usize,
    /// Pages one listing (Okta import) reads before it stops with a finding.
    #[arg(long, value_name = "N", default_value_t = crate::client::DEFAULT_MAX_PAGES)]
    pub max_pages: usize,
    /// Seconds the whole run may take; then it stops with exit 3 and writes its reports
    /// (0: no deadline).
    #[arg(long, value_name = "SECS", default_value_t = 1800)]
    pub deadline: u64,
    /// Requests in a row without an answer (timeout or failed connection) after which the
    /// target counts as unusable: the run stops with exit 3 (0: never).
    #[arg(long, value_name = "N", default_value_t = crate::client::DEFAULT_MAX_TIMEOUTS)]
    pub max_timeouts: u32,
}

impl LimitArgs {
    /// The run's limits; the deadline counts from now.
    pub fn limits(&self) -> crate::client::Limits {
        crate::client::Limits {
            max_body: self.max_body.max(1),
            max_pages: self.max_pages.max(1),
            max_timeouts: self.max_timeouts,
            ..Default::default()
        }
        .with_deadline((self.deadline > 0).then(|| Duration::from_secs(self.deadline)))
    }
}

/// Writes every report file into `dir` when one was asked for, and the Markdown summary to
/// `$GITHUB_STEP_SUMMARY` when it is set; `Err(exit code)` when a file cannot be written.
/// Shared by `run`, `check` and `certify`.
pub(crate) fn write_reports(report: &RunReport, dir: Option<&std::path::Path>) -> Result<(), u8> {
    if let Some(dir) = dir {
        match crate::report::write_all(report, dir) {
            Ok(paths) => {
                let names: Vec<String> = paths
                    .iter()
                    .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .collect();
                crate::outln!("reports written to {}: {}", dir.display(), names.join(", "));
            }
            Err(e) => {
                crate::errln!(
                    "scimulator: cannot write the report to {}: {e}",
                    dir.display()
                );
                return Err(exit_code::USAGE);
            }
        }
    }
    if let Err(e) = crate::report::append_step_summary(report) {
        // The job summary is a convenience: the run's result stands without it.
        crate::errln!("scimulator: cannot append to $GITHUB_STEP_SUMMARY: {e}");
    }
    Ok(())
}

/// The bearer token from `--token`, the variable `--token-env` names, or `SCIM_TOKEN`.
/// Shared by every command that talks to a target. A token an HTTP header cannot carry (a
/// CR/LF) is refused here, before anything is sent.
pub(crate) fn resolve_token(
    token: Option<&str>,
    token_env: Option<&str>,
) -> Result<Option<Secret>, String> {
    let t = resolve_token_unchecked(token, token_env)?;
    if let Some(p) = t.as_ref().and_then(Secret::header_problem) {
        return Err(p);
    }
    Ok(t)
}

fn resolve_token_unchecked(
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
/// every message that names the target): no `user:pass@`, and no query string or fragment,
/// which is where `?access_token=...` style credentials go. A SCIM base URL is a path the
/// harness appends `/Users` to, so a query or fragment could not work anyway. The message
/// never echoes the URL.
pub(crate) fn check_target(t: &str) -> Result<(), String> {
    const HOW: &str = "pass the bearer token with --token, --token-env or SCIM_TOKEN";
    match url::Url::parse(t) {
        Ok(u) if !matches!(u.scheme(), "http" | "https") => Err(format!(
            "--target must be an http(s) URL, not {}",
            u.scheme()
        )),
        Ok(u) if !u.username().is_empty() || u.password().is_some() => Err(format!(
            "--target must not carry credentials (user:password@); {HOW}"
        )),
        Ok(u) if u.query().is_some() || u.fragment().is_some() => {
            let looks_secret = [u.query(), u.fragment()]
                .into_iter()
                .flatten()
                .any(|p| !crate::redact::credential_params(p).is_empty());
            Err(format!(
                "--target must not carry a {} ({}): a SCIM base URL is scheme://host[:port]/path, to which /Users and /Groups are appended; {HOW}",
                if u.query().is_some() { "query string" } else { "fragment" },
                if looks_secret { "it holds what looks like a credential; it was not printed" } else { "not printed, in case it holds a credential" },
            ))
        }
        Ok(_) => Ok(()),
        Err(e) => Err(format!("--target is not a URL: {e}")),
    }
}

pub async fn run(args: RunArgs) -> u8 {
    let started = Instant::now();
    let limits = args.limits.limits();
    let token = match resolve_token(args.token.as_deref(), args.token_env.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            crate::errln!("scimulator: {e}");
            return exit_code::USAGE;
        }
    };
    if let Some(t) = &args.target {
        if let Err(e) = check_target(t) {
            crate::errln!("scimulator: {e}");
            return exit_code::USAGE;
        }
    }
    let found = match args.bundled_folder {
        Some(folder) => Ok(crate::scenario::bundled::scenarios(folder)),
        None => crate::scenario::bundled::resolve(&args.paths),
    };
    let files = match found {
        Ok(f) => f,
        Err(e) => {
            crate::errln!("{e}");
            return exit_code::USAGE;
        }
    };
    // Every file is loaded and every profile built before anything is sent: a malformed
    // scenario stops the run with exit 2 and touches nothing.
    let mut plan = Vec::new();
    let mut bad = false;
    for f in files {
        match f.load_with(crate::scenario::loader::LoadOptions { scale: args.scale }) {
            Ok(s) => {
                if args.idp.as_deref().is_some_and(|i| i != s.idp) {
                    continue;
                }
                match Profile::new(&s.idp, &s.settings) {
                    Ok(p) => plan.push((s, p)),
                    Err(e) => {
                        crate::errln!("{}: settings: {e}", f.display_path().display());
                        bad = true;
                    }
                }
            }
            Err(e) => {
                crate::errln!("{e}");
                bad = true;
            }
        }
    }
    if bad {
        return exit_code::USAGE;
    }
    if plan.is_empty() {
        crate::errln!(
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
                    crate::errln!("scimulator: cannot start the built-in server: {e}");
                    return exit_code::TARGET;
                }
            }
        }
    };
    let target = Target {
        url: url.clone(),
        token,
        timeout: Duration::from_secs(args.timeout.unwrap_or(DEFAULT_TIMEOUT_SECS).max(1)),
        timeout_given: args.timeout.is_some(),
        keep: args.keep,
        limits: limits.clone(),
    };
    if let Err(e) = preflight(&target).await {
        crate::errln!("scimulator: the target is unusable: {e}");
        return exit_code::TARGET;
    }

    let run_id = format!("r{}", &uuid::Uuid::new_v4().simple().to_string()[..5]);
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut scenarios = Vec::new();
    let progress = crate::report::progress::ProgressLine::start();
    for (i, (s, p)) in plan.iter().enumerate() {
        if limits.watchdog.stopped().is_some() {
            break;
        }
        let tag = format!("{run_id}{:02}", i + 1);
        crate::report::progress::scenario(i + 1, plan.len(), &s.name);
        scenarios.push(run_scenario(s, p, &target, &tag).await);
    }
    if let Some(line) = progress {
        line.finish();
    }
    let stop = limits.watchdog.stopped();
    if let Some(why) = &stop {
        crate::errln!(
            "scimulator: run stopped: {why}; {} of {} scenarios ran, the reports cover those; nothing was sent after the stop, so what the run created may still be on the server",
            scenarios.len(),
            plan.len()
        );
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
    let mut report = RunReport {
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
        verdicts: Vec::new(),
        certification: None,
    };
    crate::report::conclude(&mut report);
    let color =
        !args.no_color && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    crate::out!(
        "{}",
        crate::report::terminal::render_terminal(&report, color)
    );
    if args.list_probes {
        crate::out!(
            "{}",
            crate::report::listing::render_probes(&report, args.verbose, color)
        );
    }
    crate::out!("{}", crate::report::render_verdicts(&report, color));
    if let Err(code) = write_reports(&report, args.report.as_deref()) {
        return code;
    }
    if stop.is_some() {
        return exit_code::TARGET;
    }
    let s = &report.summary;
    // A target that died or hung mid-run: the failures are the harness's, not the server's.
    // Checked the same way by `run`, `check` and `certify`.
    if (s.failed > 0 || s.errors > 0) && !report.target.builtin {
        if let Some(why) = lost(&target).await {
            crate::errln!("scimulator: the target is unusable: {why}");
            return exit_code::TARGET;
        }
    }
    let verdicts: Vec<_> = report.verdicts.iter().map(|v| v.verdict.clone()).collect();
    crate::report::verdicts::exit_code(&report, &verdicts)
}
