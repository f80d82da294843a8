//! `scimulator certify --mapping NAME|FILE`: the attribute × operation matrix of a mapping,
//! per IdP (see [`crate::certify`]).
//!
//! ```text
//! $ scimulator certify --mapping cisco-secure-access-entra
//! certify cisco-secure-access-entra with Entra ID (default dialect) against http://127.0.0.1:41235/scim/v2
//!  resource | attribute     | create | read | update | filter | clear
//! ----------+---------------+--------+------+--------+--------+-------
//!  User     | userName      | pass   | pass | pass   | pass   | n/a
//! ```
//!
//! Exit codes: 0 every cell pass or n/a, 1 a FAIL, 2 usage or mapping error, 3 the target is
//! unusable.

use crate::certify::{Certification, Certifier, Idp, FORMAT_VERSION};
use crate::cli::run::{check_target, resolve_token, LimitArgs};
use crate::client::{Client, ClientConfig};
use crate::exit_code;
use crate::idp::mapping::Mapping;
use crate::report::model::{
    RunReport, Summary, TargetInfo, FORMAT_VERSION as FORMAT_VERSION_REPORT,
};
use crate::runner::{lost, preflight, Target};
use crate::secret::Secret;
use crate::server::{self, ServerConfig};
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct CertifyArgs {
    /// A bundled mapping (entra-default, cisco-secure-access-entra, okta-default,
    /// duo-secure-access, onelogin-default, jumpcloud-default) or a mapping file (.json).
    #[arg(long, value_name = "NAME|FILE")]
    pub mapping: String,
    /// IdP whose request shapes to use: entra, okta, okta-aiw, duo, onelogin, jumpcloud; repeat
    /// for one matrix each
    /// (default: the IdP the mapping belongs to).
    #[arg(long)]
    pub idp: Vec<String>,
    /// SCIM base URL of the server under test (default: the built-in server, in-process).
    #[arg(long)]
    pub target: Option<String>,
    /// Bearer token for the target (also read from SCIM_TOKEN).
    #[arg(long, conflicts_with = "token_env")]
    pub token: Option<String>,
    /// Name of an environment variable holding the bearer token.
    #[arg(long, value_name = "VAR")]
    pub token_env: Option<String>,
    /// Write certification.json, and the matrices as report.json, junit.xml, summary.md and
    /// index.html, into DIR.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Also probe the limits the mapping declares (the Cisco app's 200 groups: creates 201
    /// run-scoped groups, then deletes them).
    #[arg(long)]
    pub check_limits: bool,
    /// Seconds to wait for each answer [default: the IdP's documented wait (Okta: 60), else 30].
    #[arg(long)]
    pub timeout: Option<u64>,
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Never colour the terminal output.
    #[arg(long)]
    pub no_color: bool,
}

pub async fn run(args: CertifyArgs) -> u8 {
    let limits = args.limits.limits();
    let started = std::time::Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
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
    let mapping = match Mapping::load(&args.mapping) {
        Ok(m) => m,
        Err(e) => {
            crate::errln!("scimulator: {e}");
            return exit_code::USAGE;
        }
    };
    let names = if args.idp.is_empty() {
        vec![mapping.idp().to_string()]
    } else {
        args.idp.clone()
    };
    let mut idps = Vec::new();
    for n in &names {
        match Idp::parse(n) {
            Some(i) if !idps.contains(&i) => idps.push(i),
            Some(_) => {}
            None => {
                crate::errln!(
                    "scimulator: unknown IdP '{n}'{}: use one of {}",
                    if args.idp.is_empty() {
                        format!(" in mapping {}", mapping.name)
                    } else {
                        String::new()
                    },
                    Idp::names()
                );
                return exit_code::USAGE;
            }
        }
    }
    if mapping.user_matching().is_empty() {
        crate::errln!(
            "scimulator: mapping {} has no matching attribute for users",
            mapping.name
        );
        return exit_code::USAGE;
    }

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
    let timeout = Duration::from_secs(
        args.timeout
            .unwrap_or(crate::cli::run::DEFAULT_TIMEOUT_SECS)
            .max(1),
    );
    let target = Target {
        url: url.clone(),
        token: token.clone(),
        timeout,
        timeout_given: args.timeout.is_some(),
        keep: false,
        limits: limits.clone(),
    };
    if let Err(e) = preflight(&target).await {
        crate::errln!("scimulator: the target is unusable: {e}");
        return exit_code::TARGET;
    }

    let run_id = format!("c{}", &uuid::Uuid::new_v4().simple().to_string()[..5]);
    let mut cert = Certification {
        format_version: FORMAT_VERSION,
        tool: format!("scimulator {}", env!("CARGO_PKG_VERSION")),
        run_id: run_id.clone(),
        mapping: mapping.name.clone(),
        mapping_source: mapping.source.clone(),
        target: TargetInfo {
            url: url.clone(),
            builtin: args.target.is_none(),
        },
        matrices: Vec::new(),
        limits: Vec::new(),
        summary: Default::default(),
    };
    for (i, idp) in idps.into_iter().enumerate() {
        if limits.watchdog.stopped().is_some() {
            break;
        }
        let mut client = match Client::new(ClientConfig {
            base_url: url.clone(),
            token: token.clone(),
            timeout,
        })
        .map(|c| {
            c.with_limits(limits.clone())
                .with_timeout_given(args.timeout.is_some())
        }) {
            Ok(c) => c,
            Err(e) => {
                crate::errln!("scimulator: {e}");
                return exit_code::TARGET;
            }
        };
        let tag = format!("{run_id}{i}");
        let (matrix, limits) = Certifier::new(&mut client, idp, &tag)
            .run(&mapping, args.check_limits)
            .await;
        cert.matrices.push(matrix);
        cert.limits.extend(limits);
    }
    if let Some(s) = builtin {
        s.stop().await;
    }
    cert.summarise();
    let stop = limits.watchdog.stopped();
    if let Some(why) = &stop {
        crate::errln!("scimulator: certification stopped: {why}; the matrices cover what ran");
    }
    let color =
        !args.no_color && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    crate::out!("{}", crate::certify::render_terminal(&cert, color));
    if let Some(dir) = &args.report {
        let written = std::fs::create_dir_all(dir).and_then(|_| {
            let text = serde_json::to_string_pretty(&cert).map_err(std::io::Error::other)?;
            let text = crate::redact::redact(&text).into_owned();
            std::fs::write(dir.join("certification.json"), text + "\n")
        });
        if let Err(e) = written {
            crate::errln!(
                "scimulator: cannot write the certification to {}: {e}",
                dir.display()
            );
            return exit_code::USAGE;
        }
        crate::outln!(
            "certification written to {}",
            dir.join("certification.json").display()
        );
    }
    // The same matrices in the one result model, for every other writer.
    let mut report = RunReport {
        format_version: FORMAT_VERSION_REPORT,
        tool: cert.tool.clone(),
        run_id: cert.run_id.clone(),
        target: cert.target.clone(),
        started_at,
        duration_ms: started.elapsed().as_millis() as u64,
        scenarios: Vec::new(),
        summary: Summary {
            requests: cert.matrices.iter().map(|m| m.exchanges.len()).sum(),
            ..Summary::default()
        },
        verdicts: Vec::new(),
        certification: Some(cert.clone()),
    };
    crate::report::conclude(&mut report);
    if let Err(code) = crate::cli::run::write_reports(&report, args.report.as_deref()) {
        return code;
    }
    if stop.is_some() {
        return exit_code::TARGET;
    }
    // A target that died or hung mid-run, checked as `run` and `check` do.
    if cert.summary.failed > 0 && args.target.is_some() {
        if let Some(why) = lost(&target).await {
            crate::errln!("scimulator: the target is unusable: {why}");
            return exit_code::TARGET;
        }
    }
    // Nothing answered at all: the target became unusable mid-run.
    let all_unanswered = cert
        .matrices
        .iter()
        .flat_map(|m| &m.exchanges)
        .all(|e| e.status.is_none());
    if all_unanswered && cert.matrices.iter().any(|m| !m.exchanges.is_empty()) {
        return exit_code::TARGET;
    }
    // What the run could not clean up (a failed DELETE, a soft delete, an unsafe id) fails it.
    if cert.summary.failed > 0 || cert.matrices.iter().any(|m| !m.cleanup_failures.is_empty()) {
        exit_code::FAILED
    } else {
        exit_code::OK
    }
}
