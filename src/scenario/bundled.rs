//! The bundled scenarios, compiled into the binary by `build.rs`, so that `scimulator run`,
//! `list`, `check` and `init` work from any folder after `cargo install`, in a container or a
//! CI image, with no source tree next to the binary.
//!
//! A bundled file is named by its path under `scenarios/`; on screen and in reports it shows as
//! `scenarios/entra/cisco-guide.yaml`. A PATH given on the command line is read from disk when
//! it exists there, and otherwise taken from the bundle when it names a bundled file or folder
//! (`scenarios/entra`, `entra/cisco-guide.yaml`), so the README's commands work anywhere.

use super::diagnostics::LoadError;
use super::model::Scenario;
use std::path::{Path, PathBuf};

/// `(path under scenarios/, text)`, sorted by path: every `*.yaml` scenario and `schema.json`.
pub static FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/bundled_scenarios.rs"));

/// Bundled folders left out when no PATH is given: long-running ones a user asks for by name.
const NOT_BY_DEFAULT: &[&str] = &["scale/"];

/// Where a scenario's text comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Disk(PathBuf),
    Bundled {
        /// Path under `scenarios/`: `entra/cisco-guide.yaml`.
        rel: &'static str,
        text: &'static str,
    },
}

impl Source {
    /// The path shown in messages and reports.
    pub fn display_path(&self) -> PathBuf {
        match self {
            Source::Disk(p) => p.clone(),
            Source::Bundled { rel, .. } => Path::new("scenarios").join(rel),
        }
    }

    /// Reads (for a file on disk), parses and checks the scenario.
    pub fn load(&self) -> Result<Scenario, LoadError> {
        self.load_with(super::loader::LoadOptions::default())
    }

    /// [`Self::load`], with options (`--scale`).
    pub fn load_with(&self, options: super::loader::LoadOptions) -> Result<Scenario, LoadError> {
        match self {
            Source::Disk(p) => super::loader::load_with(p, options),
            Source::Bundled { text, .. } => {
                super::loader::parse_with(&self.display_path(), text, options)
            }
        }
    }
}

fn is_scenario(rel: &str) -> bool {
    // `*.wire.yaml` beside a scenario is an IdP wire description it loads, not a scenario.
    (rel.ends_with(".yaml") || rel.ends_with(".yml")) && !rel.ends_with(".wire.yaml")
}

/// The bundled scenarios whose path under `scenarios/` is `prefix` or lies under the folder
/// `prefix`; every default one for an empty prefix.
pub fn scenarios(prefix: &str) -> Vec<Source> {
    let prefix = prefix.trim_matches('/');
    FILES
        .iter()
        .filter(|(rel, _)| is_scenario(rel))
        .filter(|(rel, _)| {
            if prefix.is_empty() {
                !NOT_BY_DEFAULT.iter().any(|d| rel.starts_with(d))
            } else {
                *rel == prefix
                    || rel
                        .strip_prefix(prefix)
                        .is_some_and(|rest| rest.starts_with('/'))
            }
        })
        .map(|(rel, text)| Source::Bundled { rel, text })
        .collect()
}

/// The bundled file or folder a command-line PATH names, if it is not on disk:
/// `scenarios/entra`, `./scenarios/entra/cisco-guide.yaml` or `entra`.
fn bundled_for(path: &Path) -> Option<Vec<Source>> {
    let text = path.to_string_lossy().replace('\\', "/");
    let rel = text.trim_start_matches("./");
    let rel = rel
        .strip_prefix("scenarios")
        .unwrap_or(rel)
        .trim_matches('/');
    if rel.is_empty() {
        return Some(scenarios(""));
    }
    Some(scenarios(rel)).filter(|found| !found.is_empty())
}

/// The scenarios `paths` name: every default bundled one when empty; each PATH from disk
/// (a file as given, a folder searched for `*.yaml`), or from the bundle when it is not on
/// disk but names a bundled file or folder.
pub fn resolve(paths: &[PathBuf]) -> Result<Vec<Source>, LoadError> {
    if paths.is_empty() {
        return Ok(scenarios(""));
    }
    let mut out = Vec::new();
    for path in paths {
        if !path.exists() {
            if let Some(found) = bundled_for(path) {
                for s in found {
                    if !out.contains(&s) {
                        out.push(s);
                    }
                }
                continue;
            }
        }
        for p in super::loader::discover(std::slice::from_ref(path))? {
            let s = Source::Disk(p);
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    Ok(out)
}

/// Writes the bundled files (scenarios and `schema.json`) under `dir`, keeping the folder
/// layout, so the `# yaml-language-server: $schema=../schema.json` line of each scenario finds
/// the schema. The long-running folders a bare `run` skips (`scale/`) only with `all`, so that
/// `scimulator run DIR` stays quick. Files already there are left alone unless `force`;
/// returns what was written and what was left.
pub fn write_all(
    dir: &Path,
    force: bool,
    all: bool,
) -> std::io::Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let (mut written, mut kept) = (Vec::new(), Vec::new());
    for (rel, text) in FILES {
        if !all && NOT_BY_DEFAULT.iter().any(|d| rel.starts_with(d)) {
            continue;
        }
        let dest = dir.join(rel);
        if dest.exists() && !force {
            kept.push(dest);
            continue;
        }
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&dest, text)?;
        written.push(dest);
    }
    Ok((written, kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_holds_every_scenario_of_the_source_tree_and_the_schema() {
        let on_disk = super::super::loader::discover(&[super::super::loader::bundled_dir()])
            .expect("scenarios/");
        let bundled: Vec<&str> = FILES
            .iter()
            .map(|(rel, _)| *rel)
            .filter(|r| is_scenario(r))
            .collect();
        assert_eq!(on_disk.len(), bundled.len(), "{bundled:?}");
        assert!(FILES.iter().any(|(rel, _)| *rel == "schema.json"));
        for (rel, text) in FILES {
            let disk = super::super::loader::bundled_dir().join(rel);
            assert_eq!(
                std::fs::read_to_string(&disk).expect("read"),
                *text,
                "{rel} differs from the source tree"
            );
        }
    }

    #[test]
    fn paths_not_on_disk_fall_back_to_the_bundle() {
        let rfc = resolve(&[PathBuf::from("scenarios/rfc-not-on-disk")]);
        assert!(rfc.is_err(), "an unknown name is still an error");
        let entra = bundled_for(Path::new("scenarios/entra")).expect("entra");
        assert!(entra.len() > 3);
        assert!(entra
            .iter()
            .all(|s| s.display_path().starts_with("scenarios/entra")));
        let one = bundled_for(Path::new("./entra/cisco-guide.yaml")).expect("one");
        assert_eq!(one.len(), 1);
        assert!(one[0].load().is_ok());
        assert!(
            bundled_for(Path::new("entr")).is_none(),
            "prefixes are whole folders"
        );
    }

    #[test]
    fn every_default_bundled_scenario_loads() {
        let all = scenarios("");
        assert!(!all.is_empty());
        for s in all {
            s.load()
                .unwrap_or_else(|e| panic!("{}: {e}", s.display_path().display()));
        }
    }
}
