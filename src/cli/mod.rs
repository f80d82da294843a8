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
