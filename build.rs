//! Compiles the bundled scenarios into the binary: `scimulator run`, `list` and `init` work
//! from any folder after `cargo install`, with no source tree next to the binary.
//!
//! Writes `$OUT_DIR/bundled_scenarios.rs`:
//!
//! ```text
//! &[("entra/cisco-guide.yaml", include_str!("/…/scenarios/entra/cisco-guide.yaml")), …]
//! ```

use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"))
        .join("scenarios");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let mut out = String::from("&[\n");
    for path in &files {
        let rel = path
            .strip_prefix(&root)
            .expect("under scenarios/")
            .to_string_lossy()
            .replace('\\', "/");
        out.push_str(&format!(
            "    ({rel:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    out.push_str("]\n");
    let dest =
        PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("bundled_scenarios.rs");
    std::fs::write(dest, out).expect("write bundled_scenarios.rs");
}

/// Scenario files (`*.yaml`, `*.yml`) and the scenario JSON Schema, hidden entries skipped.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        {
            out.push(path);
        }
    }
}
