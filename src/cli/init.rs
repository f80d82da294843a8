//! `scimulator init [DIR]`: writes the bundled scenarios out as editable files, with the
//! scenario JSON Schema beside them for editor completion, so a team can copy one and change
//! it. Files already there are kept unless `--force`; the 10,000-user scale scenarios only with
//! `--with-scale`.
//!
//! ```text
//! $ scimulator init my-scenarios
//! scimulator: wrote 28 files under my-scenarios (scenarios and schema.json)
//!   run them: scimulator run my-scenarios --target https://scim.example.com/scim/v2
//! ```

use crate::exit_code;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Folder to write into (created when missing).
    #[arg(value_name = "DIR", default_value = "scenarios")]
    pub dir: PathBuf,
    /// Overwrite files that are already there.
    #[arg(long)]
    pub force: bool,
    /// Also write the scale scenarios (scenarios/scale/: 10,000-user tenants, minutes each).
    #[arg(long)]
    pub with_scale: bool,
}

pub fn run(args: InitArgs) -> u8 {
    match crate::scenario::bundled::write_all(&args.dir, args.force, args.with_scale) {
        Ok((written, kept)) => {
            crate::outln!(
                "scimulator: wrote {} files under {} (scenarios and schema.json)",
                written.len(),
                args.dir.display()
            );
            if !kept.is_empty() {
                crate::outln!(
                    "  kept {} files that were already there (--force overwrites them), e.g. {}",
                    kept.len(),
                    kept[0].display()
                );
            }
            crate::outln!(
                "  run them: scimulator run {} --target https://scim.example.com/scim/v2",
                args.dir.display()
            );
            exit_code::OK
        }
        Err(e) => {
            crate::errln!(
                "scimulator init: cannot write under {}: {e}",
                args.dir.display()
            );
            exit_code::USAGE
        }
    }
}
