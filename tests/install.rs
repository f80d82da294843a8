//! The binary is self-contained: copied away from the source tree and started from another
//! folder, `list`, `run`, `check` and `init` work from the scenarios compiled into it.

use std::path::Path;
use std::process::{Command, Output};

/// A fresh working folder, and the built binary copied away from the source tree, as
/// `cargo install` or a container image would. The copy is made once, before any test of this
/// file starts a process: a copy still open for writing while another thread forks would make
/// `exec` fail with "Text file busy". It lives under Cargo's scratch folder for tests
/// (`CARGO_TARGET_TMPDIR`), replaced on each run.
fn installed() -> (tempfile::TempDir, std::path::PathBuf) {
    static BIN: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let bin = BIN.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("installed");
        std::fs::create_dir_all(&dir).expect("scratch folder");
        let bin = dir.join("scimulator");
        let _ = std::fs::remove_file(&bin);
        std::fs::copy(env!("CARGO_BIN_EXE_scimulator"), &bin).expect("copy the binary");
        bin
    });
    (tempfile::tempdir().expect("tempdir"), bin.clone())
}

fn run_in(bin: &Path, cwd: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .current_dir(cwd)
        .env_remove("SCIM_TOKEN")
        .args(args)
        .output()
        .expect("run scimulator")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn list_shows_the_bundled_scenarios_from_any_folder() {
    let (dir, bin) = installed();
    let out = run_in(&bin, dir.path(), &["list"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shown = text(&out);
    for name in [
        "scenarios/entra/cisco-guide.yaml",
        "scenarios/okta/",
        "scenarios/duo/",
    ] {
        assert!(shown.contains(name), "{name} missing from:\n{shown}");
    }
}

#[test]
fn run_and_check_use_the_compiled_in_scenarios_away_from_the_source_tree() {
    let (dir, bin) = installed();
    let out = run_in(
        &bin,
        dir.path(),
        &["run", "scenarios/entra/cisco-guide.yaml", "--no-color"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("entra-cisco-guide"), "{}", text(&out));
    let out = run_in(&bin, dir.path(), &["check", "--no-color"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("RFC 7643/7644 conformance: PASS"),
        "{}",
        text(&out)
    );
}

#[test]
fn init_writes_editable_scenarios_that_run() {
    let (dir, bin) = installed();
    let out = run_in(&bin, dir.path(), &["init", "mine"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let mine = dir.path().join("mine");
    let guide = std::fs::read_to_string(mine.join("entra/cisco-guide.yaml")).expect("written");
    assert!(guide.starts_with("# yaml-language-server: $schema=../schema.json"));
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(mine.join("schema.json")).expect("schema"))
            .expect("schema.json is JSON");
    assert_eq!(schema["title"], "scimulator scenario");

    // An edited copy is what runs, not the bundled one.
    let edited = guide.replacen("name: entra-cisco-guide", "name: my-edited-guide", 1);
    assert_ne!(
        edited, guide,
        "the bundled guide names itself entra-cisco-guide"
    );
    std::fs::write(mine.join("entra/cisco-guide.yaml"), edited).expect("edit");
    let out = run_in(
        &bin,
        dir.path(),
        &["run", "mine/entra/cisco-guide.yaml", "--no-color"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("my-edited-guide"), "{}", text(&out));

    // A second init keeps the edit.
    let out = run_in(&bin, dir.path(), &["init", "mine"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("kept"), "{}", text(&out));
    let kept = std::fs::read_to_string(mine.join("entra/cisco-guide.yaml")).expect("kept");
    assert!(kept.contains("my-edited-guide"));
}

#[test]
fn a_path_neither_on_disk_nor_bundled_is_a_usage_error() {
    let (dir, bin) = installed();
    let out = run_in(&bin, dir.path(), &["run", "scenarios/nope"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}
