//! Server-chosen ids are data, never path syntax. Every path the harness builds from an id goes
//! through [`segment`] (percent-encoded as exactly one path segment), and every request path is
//! checked by [`path_problem`] before it leaves: an id such as `../../X`, `X?x=1`, `a#b`, one with
//! a control character, or an empty one, is refused (a finding), never sent.
//!
//! ```text
//! id "2819c223-7f76-453a-919d-413861904646"  → /Users/2819c223-7f76-453a-919d-413861904646
//! id "jane@example.com"                      → /Users/jane%40example.com
//! id "../../admin"                           → refused: contains "/" (a path separator)
//! ```

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986 unreserved characters is encoded, so the result is one segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Why `id` may not be put in a path, or `None` when it may. RFC 7643 §3.1 leaves the id's
/// form to the server, but an id that is path syntax would send the request (and the token)
/// elsewhere than the resource.
pub fn problem(id: &str) -> Option<&'static str> {
    if id.is_empty() {
        Some("it is empty")
    } else if id == "." || id == ".." || id.contains("/..") || id.contains("../") {
        Some("it contains \"..\" (a parent-directory segment)")
    } else if id.contains('/') || id.contains('\\') {
        Some("it contains \"/\" (a path separator)")
    } else if id.contains('?') {
        Some("it contains \"?\" (a query string)")
    } else if id.contains('#') {
        Some("it contains \"#\" (a fragment)")
    } else if id.chars().any(char::is_control) {
        Some("it contains a control character")
    } else {
        None
    }
}

/// `id` percent-encoded as one path segment: `/Users/{}` takes it verbatim.
pub fn segment(id: &str) -> String {
    utf8_percent_encode(id, SEGMENT).to_string()
}

/// `/Users/{id}` or `/Groups/{id}` for an endpoint (`/Users`).
pub fn object_path(endpoint: &str, id: &str) -> String {
    format!("{endpoint}/{}", segment(id))
}

/// Why a request path (relative to the base URL, query included) must not be sent: a segment
/// that decodes to an unsafe id (`..`, `a/b`, `X?x=1`, empty), or raw characters that would
/// end the path. `None`: it stays under the base path.
pub fn path_problem(path: &str) -> Option<String> {
    if path
        .chars()
        .any(|c| c.is_control() || c == '#' || c == '\\')
    {
        return Some(format!(
            "{path:?} contains a control character, \"#\" or \"\\\""
        ));
    }
    let raw = path.split('?').next().unwrap_or("");
    if !raw.starts_with('/') {
        return Some(format!("{path:?} does not start with \"/\""));
    }
    for seg in raw.split('/').skip(1) {
        let decoded = percent_decode_str(seg).decode_utf8_lossy();
        if let Some(why) = problem(&decoded) {
            return Some(format!("the path segment {seg:?} is unsafe: {why}"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_one_encoded_segment() {
        assert_eq!(segment("2819c223-7f76"), "2819c223-7f76");
        assert_eq!(segment("jane@example.com"), "jane%40example.com");
        assert_eq!(segment("a b+c%"), "a%20b%2Bc%25");
        assert_eq!(object_path("/Users", "X?x=1"), "/Users/X%3Fx%3D1");
    }

    #[test]
    fn path_syntax_in_an_id_is_refused() {
        for bad in [
            "", ".", "..", "../../X", "a/b", "X?x=1", "a#b", "a\nb", "a\\b",
        ] {
            assert!(problem(bad).is_some(), "{bad:?} must be refused");
            assert!(
                path_problem(&object_path("/Users", bad)).is_some(),
                "{bad:?} must not be sent"
            );
        }
        assert!(problem("..a").is_none() && problem("a.b").is_none());
        assert!(path_problem("/Users/abc?filter=userName+eq+%22a%2Fb%22").is_none());
        assert!(path_problem("/Users").is_none());
        assert!(path_problem("/Users/").is_some(), "an empty id");
        assert!(path_problem("/Users/../../X").is_some());
        assert!(path_problem("/Users/..%2F..%2FX").is_some());
    }
}
