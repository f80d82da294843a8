//! `scimulator list` (being written).

use clap::Args;

#[derive(Debug, Args)]
pub struct ListArgs {}

pub fn run(_args: ListArgs) -> u8 {
    eprintln!("scimulator list: not yet implemented");
    crate::exit_code::USAGE
}
