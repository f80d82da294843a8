//! Secrets (bearer tokens) that never print: `Debug` and `Display` show `***`.
//!
//! ```
//! let t = scimulator::secret::Secret::new("SECRET-TOKEN-123");
//! assert_eq!(format!("{t} {t:?}"), "*** ***");
//! ```

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The real value, for the one place that must send or compare it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Why this token cannot be sent as `Authorization: Bearer <token>`, if it cannot: a line
    /// break (CR or LF, often a trailing newline read from a file) or another control character
    /// would end or corrupt the header. Never quotes the token.
    pub fn header_problem(&self) -> Option<String> {
        let (at, c) = self.0.chars().enumerate().find(|(_, c)| c.is_control())?;
        let what = match c {
            '\r' | '\n' => "a line break (CR or LF)".to_string(),
            c => format!("a control character (U+{:04X})", c as u32),
        };
        let trailing = if at + 1 == self.0.chars().count() {
            " at its end: a trailing newline read from a file or a variable?"
        } else {
            ""
        };
        Some(format!(
            "the bearer token holds {what} at character {}{trailing}; an HTTP header cannot carry it",
            at + 1
        ))
    }
    /// Compares in time independent of where the first difference is.
    pub fn matches(&self, other: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), other.as_bytes());
        let mut diff = a.len() ^ b.len();
        for i in 0..a.len().max(b.len()) {
            diff |= (a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0)) as usize;
        }
        diff == 0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn a_token_no_header_can_carry_is_named_without_being_quoted() {
        let p = Secret::new("abc\r\nX-Evil: 1").header_problem().unwrap();
        assert!(p.contains("line break (CR or LF) at character 4"), "{p}");
        assert!(!p.contains("abc"), "{p}");
        let p = Secret::new("abcdef\n").header_problem().unwrap();
        assert!(p.contains("trailing newline"), "{p}");
        let p = Secret::new("ab\u{7}cd").header_problem().unwrap();
        assert!(p.contains("control character (U+0007)"), "{p}");
        assert_eq!(Secret::new("eyJhbGciOi.J9-_~+/=").header_problem(), None);
    }
}
