//! `scimulator schema` (being written).

use clap::Args;

#[derive(Debug, Args)]
pub struct SchemaArgs {}

pub fn run(_args: SchemaArgs) -> u8 {
    eprintln!("scimulator schema: not yet implemented");
    crate::exit_code::USAGE
}
