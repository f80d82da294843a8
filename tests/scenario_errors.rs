//! The real binary on malformed scenario files: exit code 2, and on stderr a `file:line:column:`
//! message with a `hint:` line, as the README's exit-code contract and issue 3 promise.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scimulator(args: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scimulator"))
        .arg("list")
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run scimulator: {e}"))
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    path
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `list FILE` exits 2 and stderr holds `FILE:line:column: message` and a hint.
#[track_caller]
fn assert_reported(file: &Path, line_col: &str, message: &str, hint: &str) {
    let out = scimulator(&[file]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{stderr}");
    let head = format!("{}:{line_col}: {message}", file.display());
    let mut lines = stderr.lines().skip_while(|l| !l.starts_with(&head));
    assert!(
        lines.next().is_some(),
        "expected `{head}` in stderr:\n{stderr}"
    );
    let hint_line = lines.next().unwrap_or_default();
    assert!(
        hint_line.starts_with("  hint: ") && hint_line.contains(hint),
        "expected a hint with `{hint}` after `{head}` in stderr:\n{stderr}"
    );
    assert!(
        text(&out.stdout).is_empty(),
        "nothing to list, stdout:\n{}",
        text(&out.stdout)
    );
}

const HEAD: &str = "name: t\nidp: entra\ndirectory:\n  users: [{ id: ana }]\n  groups: [{ id: sales, members: [ana] }]\nsteps:\n";

#[test]
fn a_yaml_syntax_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = write(
        dir.path(),
        "tabs.yaml",
        &format!("{HEAD}\t- cycle: initial\n"),
    );
    assert_reported(
        &file,
        "7:2",
        "YAML syntax error:",
        "YAML indents with spaces only",
    );
}

#[test]
fn an_unknown_step() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = write(
        dir.path(),
        "step.yaml",
        &format!("{HEAD}  - cycle: initial\n  - asign: {{ groups: [sales] }}\n"),
    );
    assert_reported(
        &file,
        "8:5",
        "unknown step `asign`",
        "did you mean `assign`? steps: assign, unassign,",
    );
}

#[test]
fn an_unknown_key() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = write(
        dir.path(),
        "key.yaml",
        &format!("{HEAD}  - assign: {{ group: [sales] }}\n"),
    );
    assert_reported(
        &file,
        "7:15",
        "unknown key `group` in `assign`",
        "did you mean `groups`?",
    );
}

#[test]
fn a_wrong_type_in_an_untagged_value() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = write(
        dir.path(),
        "effect.yaml",
        &format!("{HEAD}  - fault: {{ match: PATCH /Groups/*, effect: drop }}\n"),
    );
    assert_reported(
        &file,
        "7:46",
        "unknown fault effect `drop`",
        "an effect is `fail`, `drop-response`",
    );
}

#[test]
fn an_unknown_id_and_an_unknown_idp() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = write(
        dir.path(),
        "ids.yaml",
        &format!("{HEAD}  - assign: {{ users: [bob] }}\n").replace("idp: entra", "idp: okra"),
    );
    assert_reported(
        &file,
        "2:6",
        "unknown identity provider `okra`",
        "did you mean `okta`?",
    );
    assert_reported(&file, "7:23", "unknown user `bob`", "known users: ana");
}

#[test]
fn good_files_are_still_listed_next_to_a_bad_one() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(
        dir.path(),
        "a-good.yaml",
        &format!("{HEAD}  - assign: {{ groups: [sales] }}\n  - cycle: initial\n  - expect: {{ state: derived }}\n")
            .replace("name: t", "name: good-one\ndescription: |\n  A fine scenario.\n  Second line."),
    );
    let bad = write(
        dir.path(),
        "b-bad.yml",
        "name: bad\nidp: entra\nsteps: [ { cycle: initial } ]\nextra: 1\n",
    );
    write(dir.path(), "notes.txt", "not a scenario");

    let out = scimulator(&[dir.path()]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "stderr:\n{stderr}");
    assert!(stdout.contains("good-one"), "{stdout}");
    assert!(stdout.contains("A fine scenario."), "{stdout}");
    assert!(!stdout.contains("Second line."), "{stdout}");
    assert!(!stdout.contains("bad"), "{stdout}");
    assert!(
        stderr.contains(&format!(
            "{}:4:1: unknown key `extra` at the top level",
            bad.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 of 2 scenario files are malformed"),
        "{stderr}"
    );
}

#[test]
fn a_missing_path_is_a_usage_error() {
    let out = scimulator(&[Path::new("/nonexistent/scimulator-scenarios")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr
            .starts_with("/nonexistent/scimulator-scenarios: no such file or directory\n  hint: "),
        "{stderr}"
    );
}

#[test]
fn the_bundled_scenarios_are_listed_without_arguments() {
    let out = scimulator(&[]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");
    assert!(stdout.contains("entra/cisco-guide.yaml"), "{stdout}");
    assert!(stdout.contains("entra-cisco-guide"), "{stdout}");
    assert!(
        stdout
            .lines()
            .next()
            .is_some_and(|h| h.contains("file") && h.contains("IdP") && h.contains("description")),
        "{stdout}"
    );
}

/// `settings:` are checked by the IdP profile when the file is loaded; its complaint points at
/// the offending key or value, with the nearest valid name or the allowed values.
#[test]
fn settings_errors_point_at_the_key_or_value() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let steps = "steps:\n  - cycle: initial\n";
    // A value outside its set, in a flow mapping: at the value's column.
    let file = write(
        dir.path(),
        "dialect.yaml",
        &format!(
            "name: t\nidp: entra\nsettings: {{ mapping: entra-default, dialect: nope }}\n{steps}"
        ),
    );
    assert_reported(
        &file,
        "3:46",
        "settings: `nope` is not a valid `dialect`",
        "allowed values: default, aadOptscim062020",
    );
    // An unknown setting: at the key, with the nearest name.
    let file = write(
        dir.path(),
        "unknown.yaml",
        &format!("name: t\nidp: entra\nsettings:\n  dialect: default\n  dialekt: x\n{steps}"),
    );
    assert_reported(
        &file,
        "5:3",
        "settings: unknown setting `dialekt` for idp `entra`",
        "did you mean `dialect`?",
    );
    // A misspelt in_flight, the setting every IdP takes beside its own.
    let file = write(
        dir.path(),
        "lanes.yaml",
        &format!("name: t\nidp: duo\nsettings:\n  in_fligth: 4\n{steps}"),
    );
    assert_reported(
        &file,
        "4:3",
        "settings: unknown setting `in_fligth` for idp `duo`",
        "did you mean `in_flight`?",
    );
    // A near miss of an allowed value, for another IdP.
    let file = write(
        dir.path(),
        "okta.yaml",
        &format!("name: t\nidp: okta\nsettings:\n  filter_encoding: plsu\n{steps}"),
    );
    assert_reported(
        &file,
        "4:20",
        "settings: `plsu` is not a valid `filter_encoding`",
        "did you mean `plus`? allowed values: percent, plus",
    );
    // A wrong type inside a nested setting: at the value itself.
    let file = write(
        dir.path(),
        "nested.yaml",
        &format!(
            "name: t\nidp: entra\nsettings:\n  actions: {{ create: true, delete: maybe }}\n{steps}"
        ),
    );
    assert_reported(
        &file,
        "4:36",
        "settings: `actions`: invalid type: string \"maybe\", expected a boolean",
        "Entra settings are dialect",
    );
    // `run` says the same, with exit 2, before sending anything.
    let out = Command::new(env!("CARGO_BIN_EXE_scimulator"))
        .args([
            "run",
            "--target",
            "http://127.0.0.1:9/scim/v2",
            "--token",
            "tok123456",
        ])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:4:36: settings: `actions`", file.display())),
        "{stderr}"
    );
}
