//! `scimulator run` (being written).

use clap::Args;

#[derive(Debug, Args)]
pub struct RunArgs {}

pub async fn run(_args: RunArgs) -> u8 {
    eprintln!("scimulator run: not yet implemented");
    crate::exit_code::USAGE
}
