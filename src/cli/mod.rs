//! The command line: one file per subcommand.

pub mod certify;
pub mod check;
pub mod init;
pub mod list;
pub mod run;
pub mod schema;
pub mod serve;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "scimulator",
    version,
    about = "Identity-provider simulator and SCIM 2.0 conformance harness"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run scenarios against a SCIM server (default: every bundled scenario, built-in server).
    Run(run::RunArgs),
    /// Check RFC 7643/7644 conformance: the probes under scenarios/rfc (default: built-in server).
    Check(check::CheckArgs),
    /// List the bundled scenarios with their IdP and description.
    List(list::ListArgs),
    /// Write the bundled scenarios and their JSON Schema into DIR as editable files.
    Init(init::InitArgs),
    /// Print the JSON Schema of scenario files or of report.json.
    Schema(schema::SchemaArgs),
    /// Run the built-in reference SCIM 2.0 server until Ctrl-C.
    Serve(serve::ServeArgs),
    /// Certify an attribute mapping: create, read, update, filter, clear per attribute and IdP.
    Certify(certify::CertifyArgs),
}

/// The whole program: `src/main.rs` only calls this. Everything, the runtime's `block_on`
/// included, is compiled here in the library: a future driven from the binary would be
/// code-generated again in the binary crate, doubling release build time.
pub fn main() -> std::process::ExitCode {
    use std::process::ExitCode;
    // Every secret the command line names is known before anything is printed; every byte
    // written below (usage errors, logs, reports, panics) goes through the redactor.
    let args: Vec<String> = std::env::args().collect();
    crate::redact::install_from_args(&args);
    crate::redact::install_panic_hook();
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            let text = e.render().to_string();
            if e.use_stderr() {
                crate::redact::err(&text);
            } else {
                crate::redact::out(&text);
            }
            return ExitCode::from(if e.use_stderr() {
                crate::exit_code::USAGE
            } else {
                0
            });
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SCIMULATOR_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(crate::redact::LogWriter::default)
        .with_ansi(false)
        .init();
    // `serve` answers many clients at once: one worker per core. Everything else sends one
    // request at a time and, against the built-in server, runs that server in-process: on one
    // thread the request and its answer pass between tasks without waking another thread
    // (a multi-threaded runtime spent as much system time in futex and epoll wake-ups as the
    // whole run spent in user code at 10,000 users).
    let runtime = match &cli.command {
        Command::Serve(_) => tokio::runtime::Runtime::new(),
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            crate::errln!("scimulator: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    ExitCode::from(runtime.block_on(run(cli)))
}

/// Runs the parsed command and returns the process exit code.
pub async fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Run(args) => run::run(args).await,
        Command::Check(args) => check::run(args).await,
        Command::List(args) => list::run(args),
        Command::Init(args) => init::run(args),
        Command::Schema(args) => schema::run(args),
        Command::Serve(args) => serve::run(args).await,
        Command::Certify(args) => certify::run(args).await,
    }
}
