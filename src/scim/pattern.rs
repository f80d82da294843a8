//! The `METHOD /path` notation a scenario uses to name requests: a fault's `match` and an
//! expectation's `trace`. Parsed once, when the scenario is read; `*` stands for any method,
//! and in the path `*` matches one segment (glob):
//!
//! ```yaml
//! - fault: { match: "PATCH /Groups/*", times: 1, effect: drop-response }
//! - expect: { trace: [GET /Users?filter=*, POST /Users] }
//! ```
//!
//! A pattern that does not read `METHOD /path` still loads (so the loader can report every
//! bad pattern of a file at once, each at its line); [`RequestPattern::problem`] says what is
//! wrong, and such a pattern matches no request.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Request methods a pattern may name; `*` stands for any of them.
pub const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

const PATTERN_HINT: &str =
    "write `METHOD /path`: METHOD is GET, POST, PUT, PATCH, DELETE or `*`, and `*` in the path \
     matches one segment or the rest: `PATCH /Groups/*`";

/// Why a pattern is not `METHOD /path`, with a hint for the scenario's author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    pub message: String,
    pub hint: String,
}

/// `PATCH /Groups/*`: a method (or `*`) and a path glob, as written in the scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub struct RequestPattern {
    /// As written (reports and diffs quote it so).
    text: String,
    /// The method (`*` or upper-case) and the path, or why the text is not a pattern.
    parsed: Result<(String, String), PatternError>,
}

impl RequestPattern {
    /// Why this is not `METHOD /path`, if it is not.
    pub fn problem(&self) -> Option<&PatternError> {
        self.parsed.as_ref().err()
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Does the path glob name a query string (`/Users?filter=*`)?
    pub fn has_query(&self) -> bool {
        self.parsed
            .as_ref()
            .is_ok_and(|(_, path)| path.contains('?'))
    }

    /// Does a request with this method and path match? The method compares case-insensitively;
    /// the path is matched as given (the caller decides whether the query string counts).
    pub fn matches(&self, method: &str, path: &str) -> bool {
        match &self.parsed {
            Ok((m, glob)) => {
                (m == "*" || m.eq_ignore_ascii_case(method)) && glob_match::glob_match(glob, path)
            }
            Err(_) => false,
        }
    }
}

fn parse(pattern: &str) -> Result<(String, String), PatternError> {
    let error = |message: String, hint: String| PatternError { message, hint };
    let Some((method, path)) = pattern.trim().split_once(' ') else {
        return Err(error(
            format!("`{pattern}` is not `METHOD /path`"),
            PATTERN_HINT.to_owned(),
        ));
    };
    if method != "*" && !METHODS.contains(&method) {
        let upper = method.to_uppercase();
        return Err(if METHODS.contains(&upper.as_str()) {
            error(
                format!("method `{method}` must be upper-case"),
                format!("write `{upper} {}`", path.trim()),
            )
        } else {
            error(
                format!("unknown method `{method}` in `{pattern}`"),
                PATTERN_HINT.to_owned(),
            )
        });
    }
    let path = path.trim();
    if !path.starts_with('/') || path.contains(char::is_whitespace) {
        return Err(error(
            format!("`{path}` is not a path: it must start with `/` and hold no spaces"),
            PATTERN_HINT.to_owned(),
        ));
    }
    Ok((method.to_owned(), path.to_owned()))
}

impl From<String> for RequestPattern {
    fn from(text: String) -> Self {
        let parsed = parse(&text);
        RequestPattern { text, parsed }
    }
}

impl From<&str> for RequestPattern {
    fn from(text: &str) -> Self {
        RequestPattern::from(text.to_owned())
    }
}

impl From<RequestPattern> for String {
    fn from(p: RequestPattern) -> String {
        p.text
    }
}

impl FromStr for RequestPattern {
    type Err = PatternError;

    /// Strict: `Err` unless the text reads `METHOD /path`.
    fn from_str(s: &str) -> Result<Self, PatternError> {
        let p = RequestPattern::from(s);
        match p.parsed {
            Ok(_) => Ok(p),
            Err(e) => Err(e),
        }
    }
}

impl fmt::Display for RequestPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_and_glob() {
        let p: RequestPattern = "PATCH /Groups/*".parse().unwrap();
        assert!(p.matches("PATCH", "/Groups/1"));
        assert!(
            p.matches("patch", "/Groups/1"),
            "methods compare case-insensitively"
        );
        assert!(!p.matches("GET", "/Groups/1"));
        assert!(!p.matches("PATCH", "/Groups/1/x"), "`*` is one segment");
        let any: RequestPattern = "* /Users".parse().unwrap();
        assert!(any.matches("DELETE", "/Users") && !any.matches("GET", "/Users/x"));
        assert!(!any.has_query());
        let q: RequestPattern = "GET /Users?filter=*".parse().unwrap();
        assert!(q.has_query() && q.matches("GET", "/Users?filter=userName%20eq%20%22a%22"));
    }

    #[test]
    fn spaces_around_are_trimmed_and_kept_as_written() {
        let p = RequestPattern::from("  GET   /Users ");
        assert!(p.problem().is_none());
        assert!(p.matches("GET", "/Users"));
        assert_eq!(p.to_string(), "  GET   /Users ");
    }

    #[test]
    fn bad_patterns_say_why_and_match_nothing() {
        let e = "patch /Groups/*".parse::<RequestPattern>().unwrap_err();
        assert_eq!(e.message, "method `patch` must be upper-case");
        assert_eq!(e.hint, "write `PATCH /Groups/*`");
        let e = "FETCH /Users".parse::<RequestPattern>().unwrap_err();
        assert_eq!(e.message, "unknown method `FETCH` in `FETCH /Users`");
        assert!(e.hint.starts_with("write `METHOD /path`"));
        let e = "/Users".parse::<RequestPattern>().unwrap_err();
        assert_eq!(e.message, "`/Users` is not `METHOD /path`");
        let e = "GET Users".parse::<RequestPattern>().unwrap_err();
        assert!(e.message.contains("is not a path"), "{}", e.message);
        let lenient = RequestPattern::from("/Users");
        assert!(lenient.problem().is_some());
        assert!(!lenient.matches("GET", "/Users"));
    }

    #[test]
    fn serde_reads_and_writes_the_text() {
        let p: RequestPattern = serde_json::from_str(r#""GET /Users""#).unwrap();
        assert!(p.matches("GET", "/Users"));
        assert_eq!(serde_json::to_string(&p).unwrap(), r#""GET /Users""#);
        let bad: RequestPattern = serde_json::from_str(r#""nonsense""#).unwrap();
        assert!(bad.problem().is_some(), "loads, for the loader to report");
    }
}
