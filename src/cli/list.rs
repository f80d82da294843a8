//! `scimulator list [PATH ...]`: the bundled scenarios (or those under the PATHs) with their
//! identity provider and one line of description. A malformed file is reported on stderr in the
//! loader's `file:line:column` form and makes the exit code 2; the good files are still listed.
//!
//! ```text
//! $ scimulator list
//!  file                             | name              | IdP   | description
//! ----------------------------------+-------------------+-------+------------------------------
//!  scenarios/entra/cisco-guide.yaml | entra-cisco-guide | entra | The Cisco Secure Access ...
//! ```

use crate::exit_code;
use clap::Args;
use std::path::{Path, PathBuf};
use tabled::settings::Style;
use tabled::{Table, Tabled};

/// A description longer than this is cut: the table has to fit a terminal.
const DESCRIPTION_MAX_CHARS: usize = 80;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Scenario files, or folders searched recursively for *.yaml and *.yml [default: the bundled
    /// scenarios]
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Tabled)]
struct Row {
    file: String,
    name: String,
    #[tabled(rename = "IdP")]
    idp: String,
    description: String,
}

pub fn run(args: ListArgs) -> u8 {
    let files = match crate::scenario::bundled::resolve(&args.paths) {
        Ok(files) => files,
        Err(e) => {
            crate::errln!("{e}");
            return exit_code::USAGE;
        }
    };
    if files.is_empty() {
        let roots: Vec<String> = args.paths.iter().map(|r| r.display().to_string()).collect();
        crate::errln!(
            "scimulator list: no scenario files (*.yaml, *.yml) under {}",
            roots.join(", ")
        );
        return exit_code::USAGE;
    }

    let cwd = std::env::current_dir().ok();
    let mut rows = Vec::new();
    let mut malformed = 0usize;
    for file in &files {
        match file.load() {
            Ok(scenario) => rows.push(Row {
                file: shown_path(&file.display_path(), cwd.as_deref()),
                name: scenario.name,
                idp: scenario.idp,
                description: one_line(&scenario.description),
            }),
            Err(e) => {
                crate::errln!("{e}");
                malformed += 1;
            }
        }
    }
    if !rows.is_empty() {
        crate::outln!("{}", Table::new(rows).with(Style::psql()));
    }
    if malformed > 0 {
        crate::errln!(
            "scimulator list: {malformed} of {} scenario files are malformed",
            files.len()
        );
        exit_code::USAGE
    } else {
        exit_code::OK
    }
}

/// Relative to the current folder when the file is under it (bundled files already read
/// `scenarios/entra/...`).
fn shown_path(file: &Path, cwd: Option<&Path>) -> String {
    let relative = cwd.and_then(|c| file.strip_prefix(c).ok()).unwrap_or(file);
    relative.display().to_string()
}

/// The first non-empty line, cut to [`DESCRIPTION_MAX_CHARS`].
fn one_line(description: &str) -> String {
    let line = description
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    if line.chars().count() <= DESCRIPTION_MAX_CHARS {
        line.to_owned()
    } else {
        let cut: String = line.chars().take(DESCRIPTION_MAX_CHARS - 3).collect();
        format!("{}...", cut.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_keeps_the_first_line_and_cuts_long_ones() {
        assert_eq!(one_line("\n  First line.  \nSecond"), "First line.");
        assert_eq!(one_line(""), "");
        let long = "x".repeat(200);
        let cut = one_line(&long);
        assert_eq!(cut.chars().count(), DESCRIPTION_MAX_CHARS);
        assert!(cut.ends_with("..."));
    }

    #[test]
    fn shown_path_is_relative_to_the_current_folder() {
        let file = Path::new("/repo/scenarios/entra/a.yaml");
        assert_eq!(
            shown_path(file, Some(Path::new("/repo"))),
            "scenarios/entra/a.yaml"
        );
        assert_eq!(
            shown_path(file, Some(Path::new("/elsewhere"))),
            "/repo/scenarios/entra/a.yaml"
        );
        assert_eq!(
            shown_path(Path::new("scenarios/rfc/conformance.yaml"), None),
            "scenarios/rfc/conformance.yaml"
        );
    }
}
