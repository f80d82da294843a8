//! The command line: one file per subcommand.

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
    /// Run the built-in reference SCIM 2.0 server until Ctrl-C.
    Serve(serve::ServeArgs),
}

/// Runs the parsed command and returns the process exit code.
pub async fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
    }
}
