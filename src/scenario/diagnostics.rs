//! What the loader says when a scenario file is wrong: a file position, a message and a hint,
//! in the `file:line:column: message` form that editors and terminals turn into links.
//!
//! ```text
//! scenarios/entra/cisco-guide.yaml:4:5: unknown step `asign`
//!   hint: did you mean `assign`? steps: assign, unassign, update, disable, enable, ...
//! ```

use std::fmt;
use std::path::PathBuf;

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

impl Position {
    /// The start of the file: where a problem with the whole file is reported.
    pub const START: Position = Position { line: 1, column: 1 };

    pub fn new(line: u32, column: u32) -> Self {
        Position { line, column }
    }
}

/// What kind of mistake a [`Diagnostic`] reports, for callers and tests that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiagnosticKind {
    /// Not valid YAML (indentation, quoting, tabs, unclosed brackets, ...).
    Syntax,
    /// The file holds no scenario, or something other than a mapping at the top.
    NotAScenario,
    /// A key the format does not have (`user:` instead of `users:`).
    UnknownKey,
    /// A required key is missing.
    MissingKey,
    /// The same key twice in one mapping.
    DuplicateKey,
    /// A step name the format does not have, or a step that is not a one-key mapping.
    UnknownStep,
    /// A value outside its set (`cycle: initail`, `effect: explode`).
    UnknownValue,
    /// A value of the wrong type (a list where a name belongs, a word where a number belongs).
    WrongType,
    /// Two users or groups with the same id.
    DuplicateId,
    /// A reference to a user or group id that does not exist at that point.
    UnknownId,
    /// `idp` is not in [`crate::idp::registry`].
    UnknownIdp,
    /// Keys that exclude each other, or a required one of two is missing (`update` with both
    /// `user` and `group`).
    Conflict,
    /// A request pattern that is not `METHOD /path`.
    BadPattern,
    /// A step that would do or check nothing (an `expect` without `state`, `log` or `trace`).
    Empty,
    /// A number outside its range (`status: 42`, `nth: 0`).
    OutOfRange,
}

/// One problem in a scenario file, at a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub position: Position,
    pub kind: DiagnosticKind,
    pub message: String,
    pub hint: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.position.line,
            self.position.column,
            self.message
        )?;
        if !self.hint.is_empty() {
            write!(f, "\n  hint: {}", self.hint)?;
        }
        Ok(())
    }
}

/// Why a scenario could not be loaded. Every variant is a usage error (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file exists but could not be read (permissions, not UTF-8, a directory, ...).
    #[error("{}: cannot read the file: {source}\n  hint: {hint}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
        hint: String,
    },
    /// A path given on the command line does not exist.
    #[error("{}: no such file or directory\n  hint: {hint}", path.display())]
    NotFound { path: PathBuf, hint: String },
    /// The file was read but is not a valid scenario: one or more problems, in file order.
    #[error("{}", join_diagnostics(.0))]
    Invalid(Vec<Diagnostic>),
}

impl LoadError {
    /// The problems with their positions; empty for [`LoadError::Read`] and
    /// [`LoadError::NotFound`].
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            LoadError::Invalid(diagnostics) => diagnostics,
            _ => &[],
        }
    }

    pub(crate) fn single(diagnostic: Diagnostic) -> Self {
        LoadError::Invalid(vec![diagnostic])
    }
}

fn join_diagnostics(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The candidate closest to `word` if it is close enough to be a typo: same letters in another
/// case, or an edit distance (with transpositions) small for the word's length.
pub fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_lowercase();
    if let Some(same) = candidates.iter().find(|c| c.to_lowercase() == lower) {
        return Some(same);
    }
    let limit = match word.chars().count() {
        0..=3 => 1,
        4..=6 => 2,
        _ => 3,
    };
    let close = candidates
        .iter()
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c);
    // `retry` for `retry_after`: a shortened name is too far for the edit distance.
    close.or_else(|| {
        (lower.chars().count() >= 3)
            .then(|| {
                candidates
                    .iter()
                    .find(|c| c.to_lowercase().starts_with(&lower))
                    .copied()
            })
            .flatten()
    })
}

/// `did you mean `users`? allowed keys: users, groups` — or only the list when nothing is close.
pub fn suggest(word: &str, candidates: &[&str], what: &str) -> String {
    let list = candidates.join(", ");
    match nearest(word, candidates) {
        Some(best) => format!("did you mean `{best}`? {what}: {list}"),
        None => format!("{what}: {list}"),
    }
}

/// Optimal-string-alignment distance: Levenshtein plus adjacent transpositions, so `initail`
/// is one edit from `initial`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_a_transposition_as_one_edit() {
        assert_eq!(edit_distance("initail", "initial"), 1);
        assert_eq!(edit_distance("asign", "assign"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn nearest_prefers_a_case_insensitive_match_and_ignores_far_words() {
        assert_eq!(nearest("Users", &["groups", "users"]), Some("users"));
        assert_eq!(nearest("user", &["users", "groups"]), Some("users"));
        assert_eq!(nearest("xyz", &["users", "groups"]), None);
        assert_eq!(
            nearest("drop_response", &["fail", "drop-response"]),
            Some("drop-response")
        );
        assert_eq!(
            nearest("retry", &["status", "retry_after"]),
            Some("retry_after")
        );
        assert_eq!(nearest("re", &["status", "retry_after"]), None);
    }

    #[test]
    fn suggest_lists_the_choices_with_or_without_a_guess() {
        assert_eq!(
            suggest("user", &["users", "groups"], "allowed keys"),
            "did you mean `users`? allowed keys: users, groups"
        );
        assert_eq!(suggest("zzz", &["a", "b"], "one of"), "one of: a, b");
    }

    #[test]
    fn a_diagnostic_displays_as_file_line_column_message_and_hint() {
        let d = Diagnostic {
            file: PathBuf::from("s.yaml"),
            position: Position::new(3, 7),
            kind: DiagnosticKind::UnknownKey,
            message: "unknown key `user`".into(),
            hint: "did you mean `users`?".into(),
        };
        assert_eq!(
            d.to_string(),
            "s.yaml:3:7: unknown key `user`\n  hint: did you mean `users`?"
        );
    }
}
