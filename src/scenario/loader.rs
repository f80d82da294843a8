//! Reads scenario files: YAML in, a checked [`Scenario`] out, or a [`LoadError`] that points at
//! `file:line:column` with a hint. This is the only place that knows the YAML library.
//!
//! A file with a typo in a step name:
//!
//! ```yaml
//! name: entra-cisco-guide
//! idp: entra
//! steps:
//!   - asign: { groups: [it-admins] }
//! ```
//!
//! gets
//!
//! ```text
//! scenarios/entra/cisco-guide.yaml:4:5: unknown step `asign`
//!   hint: did you mean `assign`? steps: assign, unassign, update, disable, enable, ...
//! ```
//!
//! The file is read twice: once into a position-carrying YAML tree ([`tree`]), once into the
//! typed model. The tree gives steps their lines, lets the messages name the field a problem
//! is in, and lets the semantic checks ([`validate`]) point at the exact id that is wrong.

pub mod generate;
mod settings;
mod tree;
mod validate;

use super::diagnostics::{suggest, Diagnostic, DiagnosticKind, LoadError, Position};
use super::model::{Origin, Scenario};
use serde_saphyr::MessageFormatter;
use std::path::{Path, PathBuf};
use tree::{Kind, Node};

/// Every step name, with a one-line example used in hints. Kept in the order of
/// [`super::model::Step`]; a test checks it against the generated schema.
pub(crate) const STEP_KINDS: &[(&str, &str)] = &[
    (
        "assign",
        "- assign: { users: [josue], groups: [it-admins] }",
    ),
    ("unassign", "- unassign: { users: [josue] }"),
    (
        "update",
        "- update: { user: josue, set: { jobTitle: Engineer } }",
    ),
    ("disable", "- disable: { users: [josue] }"),
    ("enable", "- enable: { users: [josue] }"),
    ("soft_delete", "- soft_delete: { users: [josue] }"),
    ("restore", "- restore: { users: [josue] }"),
    ("hard_delete", "- hard_delete: { users: [josue] }"),
    (
        "add_member",
        "- add_member: { group: it-admins, users: [josue] }",
    ),
    (
        "remove_member",
        "- remove_member: { group: it-admins, users: [josue] }",
    ),
    (
        "rename_group",
        "- rename_group: { group: it-admins, name: IT-Admins-EU }",
    ),
    (
        "add_user",
        "- add_user: { id: ana, userPrincipalName: ana@contoso.com, displayName: Ana }",
    ),
    (
        "add_group",
        "- add_group: { id: sales, displayName: Sales, members: [ana] }",
    ),
    ("test_connection", "- test_connection: {}"),
    ("cycle", "- cycle: initial"),
    ("restart", "- restart: { scope: portal }"),
    (
        "provision_on_demand",
        "- provision_on_demand: { user: josue }",
    ),
    ("push_groups", "- push_groups: { groups: [it-admins] }"),
    ("link_groups", "- link_groups: { groups: [it-admins] }"),
    ("push_now", "- push_now: { groups: [it-admins] }"),
    (
        "unlink_groups",
        "- unlink_groups: { groups: [it-admins], delete_in_app: true }",
    ),
    ("import", "- import: {}"),
    ("okta_spec_test", "- okta_spec_test: {}"),
    ("rfc_probes", "- rfc_probes: { groups: [discovery, patch] }"),
    (
        "fault",
        "- fault: { match: \"PATCH /Groups/*\", times: 1, effect: drop-response }",
    ),
    ("clear_faults", "- clear_faults: {}"),
    (
        "expect",
        "- expect: { state: derived, log: [{ identity: Josue, action: Create }] }",
    ),
];

const TOP_LEVEL_HINT: &str = "a scenario needs at least `name`, `idp` and `steps`; \
     scenarios/entra/cisco-guide.yaml is a small complete example";

/// How a scenario is loaded, beyond its text.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// `--scale N`: generate N users (and groups scaled alike) instead of the file's count.
    /// Files without `directory.generate` are loaded as written.
    pub scale: Option<u32>,
}

/// Reads, parses and checks one scenario file. `origin` is filled in: the path as given, and
/// the line of every step.
pub fn load(path: &Path) -> Result<Scenario, LoadError> {
    load_with(path, LoadOptions::default())
}

/// [`load`], with options (`--scale`).
pub fn load_with(path: &Path, options: LoadOptions) -> Result<Scenario, LoadError> {
    let text = read_bounded(path, MAX_SCENARIO_BYTES).map_err(|source| {
        let hint = match source.kind() {
            std::io::ErrorKind::NotFound => {
                "check the path; `scimulator list` shows the bundled scenarios"
            }
            std::io::ErrorKind::InvalidData => {
                "scenario files are UTF-8 text; re-save the file as UTF-8"
            }
            std::io::ErrorKind::PermissionDenied => "the file is not readable by this user",
            std::io::ErrorKind::FileTooLarge => {
                "a scenario is a few kB of YAML; a generated directory belongs in `directory.generate`"
            }
            _ => "pass a scenario file (.yaml) or a folder of them",
        };
        LoadError::Read {
            path: path.to_owned(),
            source,
            hint: hint.to_owned(),
        }
    })?;
    parse_with(path, &text, options)
}

/// Largest scenario file read: a scenario is a few kB; this keeps a wrong path (a log file, a
/// disk image) from filling memory.
pub const MAX_SCENARIO_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a text file of at most `max` bytes. Only a regular file is opened: a device such as
/// `/dev/zero` would never end and a FIFO would block the open until some writer came.
pub fn read_bounded(path: &Path, max: u64) -> std::io::Result<String> {
    use std::io::Read;
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    if meta.len() > max {
        return Err(too_large(meta.len(), max));
    }
    let mut text = String::new();
    // The size may change between the check and the read: never read past the cap.
    std::fs::File::open(path)?
        .take(max + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > max {
        return Err(too_large(text.len() as u64, max));
    }
    Ok(text)
}

fn too_large(len: u64, max: u64) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::FileTooLarge,
        format!("{len} bytes is larger than the {max}-byte limit"),
    )
}

fn not_regular(meta: &std::fs::Metadata) -> std::io::Error {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    let what = if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    };
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("it is {what}, not a regular file"),
    )
}

/// Parses and checks scenario text; `file` is only used in messages and `origin`.
pub fn parse(file: &Path, text: &str) -> Result<Scenario, LoadError> {
    parse_with(file, text, LoadOptions::default())
}

/// [`parse`], with options (`--scale`).
pub fn parse_with(file: &Path, text: &str, load: LoadOptions) -> Result<Scenario, LoadError> {
    let diag = |position: Position, kind, message: String, hint: String| Diagnostic {
        file: file.to_owned(),
        position: clamp(position, text),
        kind,
        message,
        hint,
    };

    let tree = serde_saphyr::from_str_with_options::<Node>(text, options()).map_err(|e| {
        let (position, kind, message, hint) = describe_yaml_error(&e, None);
        LoadError::single(diag(position, kind, message, hint))
    })?;

    if let Some((position, kind, message, hint)) = check_shape(&tree) {
        return Err(LoadError::single(diag(position, kind, message, hint)));
    }

    let mut scenario =
        serde_saphyr::from_str_with_options::<Scenario>(text, options()).map_err(|e| {
            let (position, kind, message, hint) = describe_yaml_error(&e, Some(&tree));
            LoadError::single(diag(position, kind, message, hint))
        })?;

    scenario.origin = Origin {
        file: file.to_owned(),
        step_lines: tree
            .get("steps")
            .map(|steps| steps.items().iter().map(|s| s.pos.line).collect())
            .unwrap_or_default(),
    };

    // A wire file (`settings: { wire: ./acme.wire.yaml }`) is read from beside the scenario.
    if let Some(serde_json::Value::String(w)) = scenario.settings.get_mut("wire") {
        if Path::new(w.as_str()).is_relative() {
            if let Some(dir) = file.parent() {
                *w = dir.join(w.trim_start_matches("./")).display().to_string();
            }
        }
    }
    if let (Some(n), Some(g)) = (load.scale, scenario.directory.generate.as_mut()) {
        generate::rescale(g, n);
    }
    // The generated directory is built before the semantic checks, so steps may name
    // generated ids and every reference is checked the same way.
    let mut problems = generate::expand(&mut scenario, &tree);
    if problems.is_empty() {
        problems = validate::check(&scenario, &tree);
        // The settings, checked by the profile's own parser, located here.
        problems.extend(settings::check(&scenario, &tree));
        problems.sort_by_key(|p| p.position);
    }
    if problems.is_empty() {
        generate::set_aside(&mut scenario);
        Ok(scenario)
    } else {
        Err(LoadError::Invalid(
            problems
                .into_iter()
                .map(|p| diag(p.position, p.kind, p.message, p.hint))
                .collect(),
        ))
    }
}

/// The scenario files under `paths`: a file is taken as given (whatever its extension), a
/// directory is searched recursively for `*.yaml` and `*.yml`, sorted by path. Files named
/// `schema.json` are skipped either way (a shell glob such as `scenarios/*` catches it), and so
/// are hidden files and folders. A file reached twice is listed once.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut found = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => LoadError::NotFound {
                path: path.clone(),
                hint:
                    "pass scenario files or folders; without a PATH the bundled scenarios are used"
                        .to_owned(),
            },
            _ => LoadError::Read {
                path: path.clone(),
                source,
                hint: "pass a scenario file (.yaml) or a folder of them".to_owned(),
            },
        })?;
        if !metadata.is_dir() && !metadata.is_file() {
            return Err(LoadError::Read {
                path: path.clone(),
                source: not_regular(&metadata),
                hint: "pass a scenario file (.yaml) or a folder of them".to_owned(),
            });
        }
        if metadata.is_dir() {
            let mut in_dir = Vec::new();
            walk(path, &mut in_dir)?;
            in_dir.sort();
            found.extend(in_dir);
        } else if !is_schema_file(path) {
            found.push(path.clone());
        }
    }
    let mut seen = std::collections::HashSet::new();
    found.retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    Ok(found)
}

/// The `scenarios/` folder of the source tree this binary was built from, for tests and
/// tools working on the checkout. Commands use the copies compiled into the binary
/// ([`super::bundled`]), which need no source tree.
pub fn bundled_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// `schema.json`, or an IdP wire description (`*.wire.yaml`) a scenario loads: not scenarios.
fn is_schema_file(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n == "schema.json" || n.to_string_lossy().ends_with(".wire.yaml"))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let read_error = |source| LoadError::Read {
        path: dir.to_owned(),
        source,
        hint: "the folder is not readable by this user".to_owned(),
    };
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let file_type = entry.file_type().map_err(read_error)?;
        // Symlinked folders are not followed: a link back up the tree would never end.
        if file_type.is_dir() {
            walk(&path, out)?;
        } else if !is_schema_file(&path)
            && path.extension().is_some_and(|e| e == "yaml" || e == "yml")
            && std::fs::metadata(&path).is_ok_and(|m| m.is_file())
        {
            out.push(path);
        }
    }
    Ok(())
}

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        // YAML 1.2 booleans only: `country: NO` and `givenName: Y` stay text.
        strict_booleans: true,
        // `employeeId: 007` is an id, not the number 7.
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
        // A `!tag` would otherwise be dropped silently; scenario files have no use for one.
        reject_unsupported_tags: true,
        // The loader renders its own messages; the snippet wrapper would only cost time.
        with_snippet: false,
    }
}

/// Keeps a reported position inside the file: an "unexpected end" is reported one line past
/// the end, and an unknown position (0:0) becomes the start.
fn clamp(position: Position, text: &str) -> Position {
    if position.line == 0 {
        return Position::START;
    }
    let lines: Vec<&str> = text.lines().collect();
    let last = u32::try_from(lines.len()).unwrap_or(u32::MAX).max(1);
    if position.line <= last {
        return Position::new(position.line, position.column.max(1));
    }
    let last_len = lines.last().map_or(0, |l| l.chars().count());
    Position::new(
        last,
        u32::try_from(last_len)
            .unwrap_or(u32::MAX)
            .saturating_add(1),
    )
}

type Issue = (Position, DiagnosticKind, String, String);

fn step_example(name: &str) -> Option<&'static str> {
    STEP_KINDS.iter().find(|(n, _)| *n == name).map(|(_, e)| *e)
}

fn step_names() -> Vec<&'static str> {
    STEP_KINDS.iter().map(|(n, _)| *n).collect()
}

/// Checks what serde reports poorly, on the tree, before the typed parse: a file with no
/// mapping at the top, and steps that are not one-key mappings with a known name (serde says
/// "unexpected sequence end" one line late for `- cycle` with no value).
fn check_shape(tree: &Node) -> Option<Issue> {
    match &tree.kind {
        Kind::Map(_) => {}
        Kind::Null => {
            return Some((
                Position::START,
                DiagnosticKind::NotAScenario,
                "the file holds no scenario".to_owned(),
                TOP_LEVEL_HINT.to_owned(),
            ))
        }
        _ => {
            return Some((
                tree.pos,
                DiagnosticKind::NotAScenario,
                format!("a scenario is a mapping of keys, found {}", tree.describe()),
                TOP_LEVEL_HINT.to_owned(),
            ))
        }
    }
    let steps = tree.get("steps")?;
    let names = step_names();
    for step in steps.items() {
        match &step.kind {
            Kind::Map(entries) => {
                let Some((key, value)) = entries.first() else {
                    return Some((
                        step.pos,
                        DiagnosticKind::UnknownStep,
                        "empty step".to_owned(),
                        "a step is a one-key mapping: `- cycle: initial`".to_owned(),
                    ));
                };
                let name = key.as_str().unwrap_or_default();
                if !names.contains(&name) {
                    return Some((
                        key.pos,
                        DiagnosticKind::UnknownStep,
                        format!("unknown step `{name}`"),
                        suggest(name, &names, "steps"),
                    ));
                }
                if let Some((second, _)) = entries.get(1) {
                    let keys: Vec<String> = entries
                        .iter()
                        .map(|(k, _)| format!("`{}`", k.as_str().unwrap_or_default()))
                        .collect();
                    return Some((
                        second.pos,
                        DiagnosticKind::UnknownStep,
                        format!(
                            "a step has exactly one key, this one has {}",
                            keys.join(", ")
                        ),
                        format!(
                            "indent the step's fields under `{name}:`, or start the next step \
                             with `- `; for example `{}`",
                            step_example(name).unwrap_or_default()
                        ),
                    ));
                }
                if value.is_null() {
                    return Some((
                        key.pos,
                        DiagnosticKind::WrongType,
                        format!("step `{name}` needs a value"),
                        format!("for example `{}`", step_example(name).unwrap_or_default()),
                    ));
                }
            }
            Kind::Str(name) if names.contains(&name.as_str()) => {
                return Some((
                    step.pos,
                    DiagnosticKind::WrongType,
                    format!("step `{name}` needs a value"),
                    format!("for example `{}`", step_example(name).unwrap_or_default()),
                ))
            }
            Kind::Str(name) => {
                return Some((
                    step.pos,
                    DiagnosticKind::UnknownStep,
                    format!("unknown step `{name}`"),
                    suggest(name, &names, "steps"),
                ))
            }
            _ => {
                return Some((
                    step.pos,
                    DiagnosticKind::UnknownStep,
                    format!("a step is a one-key mapping, found {}", step.describe()),
                    "for example `- cycle: initial` or `- assign: { groups: [it-admins] }`"
                        .to_owned(),
                ))
            }
        }
    }
    None
}

/// Turns a serde-saphyr error into a position, a kind, a message that names the field, and a
/// hint. `tree` is `None` when the error came from reading the tree itself (a syntax error).
fn describe_yaml_error(err: &serde_saphyr::Error, tree: Option<&Node>) -> Issue {
    use serde_saphyr::Error as E;
    let mut original = err;
    while let E::AliasError { error, .. } | E::WithSnippet { error, .. } = original {
        original = error;
    }
    let position = err
        .location()
        .map(|l| Position {
            line: u32::try_from(l.line()).unwrap_or(u32::MAX),
            column: u32::try_from(l.column()).unwrap_or(u32::MAX),
        })
        .unwrap_or(Position::START);
    let located = tree.and_then(|t| t.locate(position));
    let field = located.as_ref().and_then(|l| l.field()).map(str::to_owned);
    // `- ana` under `users:` is an entry of the list, not the list: say so.
    let in_list = located
        .as_ref()
        .is_some_and(|l| matches!(l.path.last(), Some(tree::OwnedSeg::Index(_))));
    let field_name = match (field.as_deref(), in_list) {
        (Some(f), true) => format!("each entry of `{f}`"),
        (Some(f), false) => format!("`{f}`"),
        (None, _) => "this value".to_owned(),
    };
    let found = located.as_ref().map(|l| l.node.describe());
    let plain_message = || {
        // Control characters could rewrite the terminal; quotes and brackets stay readable.
        serde_saphyr::UserMessageFormatter
            .format_message(original)
            .chars()
            .flat_map(|c| {
                let escaped: Vec<char> = if c.is_control() {
                    c.escape_debug().collect()
                } else {
                    vec![c]
                };
                escaped
            })
            .collect::<String>()
    };

    match original {
        E::SerdeUnknownField {
            field, expected, ..
        } => {
            let place = located
                .as_ref()
                .and_then(|l| l.parent_field())
                .map_or_else(|| " at the top level".to_owned(), |p| format!(" in `{p}`"));
            let hint = if expected.is_empty() {
                "this mapping takes no keys: write `{}`".to_owned()
            } else {
                suggest(field, expected, "allowed keys")
            };
            (
                position,
                DiagnosticKind::UnknownKey,
                format!("unknown key `{field}`{place}"),
                hint,
            )
        }
        E::SerdeUnknownVariant {
            variant, expected, ..
        } => {
            if expected.contains(&"provision_on_demand") {
                let hint = suggest(variant, expected, "steps");
                (
                    position,
                    DiagnosticKind::UnknownStep,
                    format!("unknown step `{variant}`"),
                    hint,
                )
            } else {
                (
                    position,
                    DiagnosticKind::UnknownValue,
                    format!("unknown value `{variant}` for {field_name}"),
                    suggest(variant, expected, "expected one of"),
                )
            }
        }
        E::Message { msg, .. } if msg.contains("untagged enum FaultEffect") => {
            tree.and_then(diagnose_fault_effects).unwrap_or_else(|| {
                (
                    position,
                    DiagnosticKind::UnknownValue,
                    "not a fault effect".to_owned(),
                    FAULT_EFFECT_HINT.to_owned(),
                )
            })
        }
        E::Message { msg, .. } if msg.contains("untagged enum StateExpectation") => tree
            .and_then(diagnose_state_expectations)
            .unwrap_or_else(|| {
                (
                    position,
                    DiagnosticKind::UnknownValue,
                    "not a state expectation".to_owned(),
                    STATE_HINT.to_owned(),
                )
            }),
        E::SerdeMissingField { field: missing, .. } => {
            // serde-saphyr reports a missing key at the mapping's last key or at its start;
            // point at the start of the mapping that lacks it.
            let mapping = located.as_ref().map(|l| match l.path.split_last() {
                Some((tree::OwnedSeg::Key(k), parent)) if l.is_key(k) => parent.to_vec(),
                _ => l.path.clone(),
            });
            let position = mapping
                .as_deref()
                .and_then(|p| tree.and_then(|t| t.at_owned(p)))
                .map_or(position, |n| n.pos);
            let (place, hint) = missing_field_hint(missing, mapping.as_deref());
            (
                position,
                DiagnosticKind::MissingKey,
                format!("missing key `{missing}`{place}"),
                hint,
            )
        }
        E::InvalidScalar { ty, .. } => {
            let (what, example) = scalar_type(ty);
            let found = found.unwrap_or_else(|| "something else".to_owned());
            let example = field
                .as_deref()
                .map_or(example.to_owned(), |f| format!("{f}: {example}"));
            (
                position,
                DiagnosticKind::WrongType,
                format!("{field_name} must be {what}, found {found}"),
                format!("for example `{example}`"),
            )
        }
        E::SerdeInvalidType {
            unexpected,
            expected,
            ..
        }
        | E::SerdeInvalidValue {
            unexpected,
            expected,
            ..
        } => (
            position,
            DiagnosticKind::WrongType,
            format!(
                "{field_name} must be {}, found {unexpected}",
                humanize_expected(expected)
            ),
            type_hint(expected, field.as_deref(), in_list),
        ),
        E::NullIntoString { .. } => (
            position,
            DiagnosticKind::WrongType,
            format!("{field_name} is empty"),
            "write a value after the colon, or `\"\"` for an empty string".to_owned(),
        ),
        E::Unexpected { expected, .. } => (
            position,
            DiagnosticKind::WrongType,
            format!(
                "{field_name} must be {}, found {}",
                humanize_expected(expected),
                found.unwrap_or_else(|| "something else".to_owned())
            ),
            type_hint(expected, field.as_deref(), in_list),
        ),
        E::ExternallyTaggedEnumExpectedScalarOrMapping { .. }
        | E::ExpectedStringKeyForExternallyTaggedEnum { .. }
        | E::UnexpectedValueForUnitEnumVariant { .. } => (
            position,
            DiagnosticKind::WrongType,
            format!(
                "{field_name} must be a single word, found {}",
                found.unwrap_or_else(|| "something else".to_owned())
            ),
            "for example `cycle: initial` or `scope: portal`".to_owned(),
        ),
        E::DuplicateMappingKey { key, .. } => (
            position,
            DiagnosticKind::DuplicateKey,
            match key {
                Some(k) => format!("key `{k}` appears twice in this mapping"),
                None => "a key appears twice in this mapping".to_owned(),
            },
            "a mapping holds each key once: remove or rename one of them".to_owned(),
        ),
        E::Eof { .. } => (
            position,
            DiagnosticKind::Syntax,
            "unexpected end of file".to_owned(),
            format!("the file ends in the middle of a value; {TOP_LEVEL_HINT}"),
        ),
        E::MultipleDocuments { .. } => (
            position,
            DiagnosticKind::Syntax,
            "more than one YAML document (`---`) in the file".to_owned(),
            "one scenario per file: move the next document to a file of its own".to_owned(),
        ),
        E::UnsupportedTag { tag, .. } => (
            position,
            DiagnosticKind::Syntax,
            format!("unsupported YAML tag `{tag}`"),
            "remove the tag: scenario files use plain YAML values".to_owned(),
        ),
        E::UnknownAnchor { .. } => (
            position,
            DiagnosticKind::Syntax,
            "alias to an anchor that is not defined".to_owned(),
            "define `&name` on a value before using `*name` later in the file".to_owned(),
        ),
        E::Budget { .. } => (
            position,
            DiagnosticKind::Syntax,
            plain_message(),
            "the file is too large or too deeply nested for a scenario; split it".to_owned(),
        ),
        _ => {
            let message = plain_message();
            let hint = if tree.is_none() {
                syntax_hint(&message)
            } else {
                "scenarios/schema.json describes every key; scenarios/entra/ has examples"
                    .to_owned()
            };
            let kind = if tree.is_none() {
                DiagnosticKind::Syntax
            } else {
                DiagnosticKind::WrongType
            };
            let message = if tree.is_none() {
                format!("YAML syntax error: {message}")
            } else {
                message
            };
            (position, kind, message, hint)
        }
    }
}

fn syntax_hint(message: &str) -> String {
    let m = message.to_lowercase();
    if m.contains("tab") {
        "YAML indents with spaces only: replace the tabs".to_owned()
    } else if m.contains("mapping values are not allowed") {
        "a value that contains `: ` must be quoted, or this line is indented differently from \
         its siblings"
            .to_owned()
    } else if m.contains("bracket") || m.contains("brace") || m.contains("flow") {
        "close every `[` and `{` on the value it opens, and quote values that contain `,`, `[`, `]`, `{` or `}`".to_owned()
    } else if m.contains("quote") || m.contains("scalar") {
        "close the quoted string, or quote values that start with `*`, `&`, `!`, `%`, `@` or `` ` ``"
            .to_owned()
    } else {
        "check the indentation of this line and the one before it, and quote values that contain \
         `: ` or ` #`"
            .to_owned()
    }
}

fn scalar_type(ty: &str) -> (&'static str, &'static str) {
    match ty {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => ("a whole number (0 or more)", "1"),
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => ("a whole number", "1"),
        "f32" | "f64" => ("a number", "1.5"),
        "bool" => ("`true` or `false`", "true"),
        "char" => ("a single character", "x"),
        _ => ("a plain value", "value"),
    }
}

/// serde's "expected" texts in words a scenario author uses.
fn humanize_expected(expected: &str) -> String {
    let e = expected.to_lowercase();
    if e.contains("sequence") {
        "a list".to_owned()
    } else if e.contains("map") || e.starts_with("struct") {
        "a mapping".to_owned()
    } else if e.contains("string") {
        "text".to_owned()
    } else if e.contains("u16") || e.contains("u32") || e.contains("u64") || e.contains("integer") {
        "a whole number".to_owned()
    } else if e.contains("bool") {
        "`true` or `false`".to_owned()
    } else {
        expected.to_owned()
    }
}

fn type_hint(expected: &str, field: Option<&str>, in_list: bool) -> String {
    let f = field.unwrap_or("key");
    let e = expected.to_lowercase();
    let mapping = e.contains("map") || e.starts_with("struct");
    if in_list && mapping {
        match f {
            "users" => "a user is a mapping: `- { id: ana, userPrincipalName: ana@contoso.com, \
                        displayName: Ana }`"
                .to_owned(),
            "groups" => {
                "a group is a mapping: `- { id: sales, displayName: Sales, members: [ana] }`"
                    .to_owned()
            }
            "log" => "a log entry is a mapping: `- { identity: Josue, action: Create }`".to_owned(),
            _ => format!("write each entry of `{f}` as a mapping: `- {{ key: value }}`"),
        }
    } else if in_list && e.contains("string") {
        format!("write each entry as text: `{f}: [ana, bob]`")
    } else if e.contains("sequence") {
        format!("write a list: `{f}: [a, b]`, or one `- item` per line under `{f}:`")
    } else if mapping {
        format!(
            "write a mapping: `{f}: {{ key: value }}`, or `key: value` lines indented under `{f}:`"
        )
    } else if e.contains("string") {
        format!("write text, quoted if it looks like something else: `{f}: \"...\"`")
    } else {
        "scenarios/schema.json describes every key; scenarios/entra/ has examples".to_owned()
    }
}

fn missing_field_hint(field: &str, mapping: Option<&[tree::OwnedSeg]>) -> (String, String) {
    let step = mapping.and_then(|path| match path {
        [tree::OwnedSeg::Key(s), tree::OwnedSeg::Index(_), tree::OwnedSeg::Key(name), ..]
            if s == "steps" =>
        {
            Some(name.clone())
        }
        _ => None,
    });
    if let Some(example) = step.as_deref().and_then(step_example) {
        let name = step.as_deref().unwrap_or_default();
        return (format!(" in `{name}`"), format!("for example `{example}`"));
    }
    let hint = match field {
        "name" => "add a short unique name: `name: entra-cisco-guide`".to_owned(),
        "idp" => format!(
            "add the identity provider: `idp: entra` (one of {})",
            crate::idp::registry::names().join(", ")
        ),
        "steps" => "add `steps:` with at least one step, such as `- cycle: initial`".to_owned(),
        "id" => "every user and group has an `id` the steps refer to: `id: josue`".to_owned(),
        other => format!("add `{other}: ...`; scenarios/schema.json describes every key"),
    };
    (String::new(), hint)
}

const FAULT_EFFECT_HINT: &str = "an effect is `fail`, `drop-response`, or a status answered \
     instead of sending: `{ status: 500 }`, `{ status: 429, retry_after: 30 }`";
const STATE_HINT: &str = "`state` is `derived` (what the IdP should have left in the target), or \
     overrides of it: `{ users: { josue: { title: CEO } }, groups: { it-admins: { absent: true } } }`";

/// serde only says "data did not match any variant of untagged enum FaultEffect"; find the
/// first `effect` in the file that is wrong and say what is wrong with it.
fn diagnose_fault_effects(tree: &Node) -> Option<Issue> {
    step_values(tree, "fault")
        .filter_map(|fault| fault.get("effect"))
        .find_map(diagnose_fault_effect)
}

fn diagnose_fault_effect(effect: &Node) -> Option<Issue> {
    const NAMED: &[&str] = &["fail", "drop-response"];
    match &effect.kind {
        Kind::Str(s) if NAMED.contains(&s.as_str()) => None,
        Kind::Str(s) => Some((
            effect.pos,
            DiagnosticKind::UnknownValue,
            format!("unknown fault effect `{s}`"),
            match super::diagnostics::nearest(s, NAMED) {
                Some(best) => format!("did you mean `{best}`? {FAULT_EFFECT_HINT}"),
                None => FAULT_EFFECT_HINT.to_owned(),
            },
        )),
        Kind::Int(n) => Some((
            effect.pos,
            DiagnosticKind::WrongType,
            format!("a status effect is a mapping, found `{n}`"),
            format!("write `effect: {{ status: {n} }}`"),
        )),
        Kind::Map(entries) => {
            for (key, value) in entries {
                let k = key.as_str().unwrap_or_default();
                let problem = match k {
                    "status" => (!matches!(value.kind, Kind::Int(0..=65535))).then(|| {
                        (
                            value.pos,
                            DiagnosticKind::WrongType,
                            format!(
                                "`status` must be an HTTP status code, found {}",
                                value.describe()
                            ),
                            "for example `{ status: 503 }`".to_owned(),
                        )
                    }),
                    "retry_after" => {
                        (!matches!(value.kind, Kind::Int(0..) | Kind::Null)).then(|| {
                            (
                                value.pos,
                                DiagnosticKind::WrongType,
                                format!(
                                    "`retry_after` must be a whole number of seconds, found {}",
                                    value.describe()
                                ),
                                "for example `{ status: 429, retry_after: 30 }`".to_owned(),
                            )
                        })
                    }
                    other => Some((
                        key.pos,
                        DiagnosticKind::UnknownKey,
                        format!("unknown key `{other}` in `effect`"),
                        suggest(other, &["status", "retry_after"], "allowed keys"),
                    )),
                };
                if problem.is_some() {
                    return problem;
                }
            }
            effect.get("status").is_none().then(|| {
                (
                    effect.pos,
                    DiagnosticKind::MissingKey,
                    "missing key `status` in `effect`".to_owned(),
                    FAULT_EFFECT_HINT.to_owned(),
                )
            })
        }
        _ => Some((
            effect.pos,
            DiagnosticKind::WrongType,
            format!("not a fault effect: {}", effect.describe()),
            FAULT_EFFECT_HINT.to_owned(),
        )),
    }
}

/// As [`diagnose_fault_effects`], for `expect.state`.
fn diagnose_state_expectations(tree: &Node) -> Option<Issue> {
    step_values(tree, "expect")
        .filter_map(|expect| expect.get("state"))
        .find_map(diagnose_state)
}

fn diagnose_state(state: &Node) -> Option<Issue> {
    match &state.kind {
        Kind::Str(s) if s == "derived" => None,
        Kind::Str(s) => Some((
            state.pos,
            DiagnosticKind::UnknownValue,
            format!("unknown state `{s}`"),
            match super::diagnostics::nearest(s, &["derived"]) {
                Some(best) => format!("did you mean `{best}`? {STATE_HINT}"),
                None => STATE_HINT.to_owned(),
            },
        )),
        Kind::Map(entries) => entries.iter().find_map(|(key, value)| {
            let k = key.as_str().unwrap_or_default();
            if k != "users" && k != "groups" {
                Some((
                    key.pos,
                    DiagnosticKind::UnknownKey,
                    format!("unknown key `{k}` in `state`"),
                    suggest(k, &["users", "groups"], "allowed keys"),
                ))
            } else if !matches!(value.kind, Kind::Map(_)) {
                Some((
                    value.pos,
                    DiagnosticKind::WrongType,
                    format!(
                        "`{k}` must be a mapping of ids to overrides, found {}",
                        value.describe()
                    ),
                    format!("for example `{k}: {{ josue: {{ title: CEO }} }}`"),
                ))
            } else {
                None
            }
        }),
        _ => Some((
            state.pos,
            DiagnosticKind::WrongType,
            format!("not a state expectation: {}", state.describe()),
            STATE_HINT.to_owned(),
        )),
    }
}

/// The values of every step named `name`, in file order.
fn step_values<'a>(tree: &'a Node, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
    tree.get("steps")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(move |step| step.get(name))
}

#[cfg(test)]
mod tests;
