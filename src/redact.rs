//! The one redactor every byte leaving the process goes through: stdout, stderr, tracing logs,
//! report.json, junit.xml and certification.json. It is installed once, at CLI start
//! ([`install_from_args`]), with the bearer token (from `--token`, the variable `--token-env`
//! names, or `SCIM_TOKEN`) and any credential in `--target`; the writers ([`out`], [`err`],
//! [`redact`] on report text, [`LogWriter`] for tracing) then mask every form of them, wherever
//! the text came from: a server that echoes the `Authorization` header in an error body, a
//! Test Connection failure that quotes that body, a finding, a provisioning-log detail.
//!
//! Forms masked for a token `t` (at least [`MIN_SECRET_LEN`] characters):
//! - `t` itself (so `Bearer t` too);
//! - `t` percent-encoded (`+` or `%20` for spaces, upper- or lower-case hex), JSON-escaped and
//!   XML-escaped, so it is found in report.json and junit.xml text as written;
//! - `t` in base64 (standard and URL-safe alphabets) at each of the three byte alignments, so
//!   `base64(t)` and a `Basic base64(user:t)` both lose the characters that encode `t`.
//!
//! ```
//! use scimulator::redact::Redactor;
//! let mut r = Redactor::default();
//! r.add_secret("SECRET-TOKEN-123");
//! assert_eq!(r.redact("detail: Bearer SECRET-TOKEN-123"), "detail: Bearer ***");
//! // base64("SECRET-TOKEN-123") = U0VDUkVULVRPS0VOLTEyMw==
//! assert!(!r.redact("echo U0VDUkVULVRPS0VOLTEyMw==").contains("VRPS0VOLTEy"));
//! ```

use std::borrow::Cow;
use std::io::Write;
use std::sync::RwLock;

/// Shorter secrets cannot be told apart from ordinary text (masking `t` would mangle every
/// word); for them only the `Authorization` header is masked, by the client.
pub const MIN_SECRET_LEN: usize = 6;

/// What replaces a secret.
pub const MASK: &str = "***";

/// The set of strings to mask, longest first so that a longer form is masked whole before a
/// shorter one inside it.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    needles: Vec<String>,
}

impl Redactor {
    /// Adds `secret` in every form listed in the module docs. Shorter than
    /// [`MIN_SECRET_LEN`]: ignored.
    pub fn add_secret(&mut self, secret: &str) {
        if secret.chars().count() < MIN_SECRET_LEN {
            return;
        }
        let mut forms = vec![secret.to_string()];
        let form = crate::client::form_encode(secret);
        forms.push(form.replace('+', "%20"));
        forms.push(lower_hex(&form.replace('+', "%20")));
        forms.push(lower_hex(&form));
        forms.push(form);
        forms.push(percent_encode_all(secret));
        forms.push(lower_hex(&percent_encode_all(secret)));
        if let Ok(json) = serde_json::to_string(secret) {
            forms.push(json[1..json.len() - 1].to_string());
        }
        forms.push(secret.replace('/', "\\/"));
        forms.push(xml_escape(secret));
        for alphabet in [STANDARD, URL_SAFE] {
            for offset in 0..3 {
                forms.extend(base64_core(secret.as_bytes(), offset, alphabet));
            }
        }
        for f in forms {
            if f.chars().count() >= MIN_SECRET_LEN && !self.needles.contains(&f) {
                self.needles.push(f);
            }
        }
        self.needles
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    }

    /// Adds the credentials a URL carries: the user name and password of `user:pass@`, and
    /// the values of query-string and fragment parameters that look like credentials (a name
    /// such as `access_token`, `api_key`, `sig`, `password`, or a long random-looking value).
    pub fn add_url(&mut self, url: &str) {
        let Ok(u) = url::Url::parse(url) else {
            return;
        };
        let mut secrets = Vec::new();
        if !u.username().is_empty() {
            secrets.push(u.username().to_string());
        }
        secrets.extend(u.password().map(str::to_string));
        for part in [u.query(), u.fragment()].into_iter().flatten() {
            for (name, value) in credential_params(part) {
                let _ = name;
                secrets.push(value);
            }
        }
        for s in secrets {
            let decoded = percent_encoding::percent_decode_str(&s)
                .decode_utf8_lossy()
                .into_owned();
            self.add_secret(&decoded);
            self.add_secret(&s);
        }
    }

    /// True when nothing is masked.
    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// `text` with every known form of every secret replaced by `***`.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out: Cow<'a, str> = Cow::Borrowed(text);
        for n in &self.needles {
            if out.contains(n.as_str()) {
                out = Cow::Owned(out.replace(n.as_str(), MASK));
            }
        }
        out
    }
}

/// The parameters of a query string or fragment (`a=1&b=2`) whose value looks like a
/// credential, decoded. A fragment without `=` is one value.
pub fn credential_params(part: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if !part.contains('=') {
        if looks_random(part) {
            out.push((String::new(), part.to_string()));
        }
        return out;
    }
    for (name, value) in url::Url::parse(&format!("http://x/?{part}"))
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
    {
        if value.is_empty() {
            continue;
        }
        if credential_name(&name) || looks_random(&value) {
            out.push((name, value));
        }
    }
    out
}

/// `access_token`, `apiKey`, `client_secret`, `sig`, `password`, `auth`, ...
fn credential_name(name: &str) -> bool {
    const WORDS: &[&str] = &[
        "token",
        "key",
        "secret",
        "pass",
        "pwd",
        "auth",
        "sig",
        "session",
        "credential",
        "jwt",
        "bearer",
        "code",
    ];
    let n = name.to_ascii_lowercase();
    WORDS.iter().any(|w| n.contains(w))
}

/// At least 16 characters mixing letters and digits: what generated secrets look like.
fn looks_random(v: &str) -> bool {
    v.len() >= 16
        && v.chars().any(|c| c.is_ascii_digit())
        && v.chars().any(|c| c.is_ascii_alphabetic())
}

fn lower_hex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            for _ in 0..2 {
                if let Some(h) = chars.next() {
                    out.push(h.to_ascii_lowercase());
                }
            }
        }
    }
    out
}

/// Every byte but ASCII letters and digits as `%XX`.
fn percent_encode_all(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The base64 characters that encode only bytes of `secret` when it starts `offset` bytes
/// into the encoded data: the same in every encoding that holds `secret` at that alignment,
/// whatever comes before or after it.
fn base64_core(secret: &[u8], offset: usize, alphabet: &[u8; 64]) -> Option<String> {
    let mut data = vec![0u8; offset];
    data.extend_from_slice(secret);
    let encoded = base64_encode(&data, alphabet);
    // Character i holds bits 6i..6i+6 of the data.
    let first = (8 * offset).div_ceil(6);
    let end = 8 * data.len() / 6;
    (end > first).then(|| encoded[first..end].to_string())
}

fn base64_encode(data: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

static GLOBAL: RwLock<Redactor> = RwLock::new(Redactor {
    needles: Vec::new(),
});

/// Adds a secret to the process-wide redactor.
pub fn install_secret(secret: &str) {
    if let Ok(mut r) = GLOBAL.write() {
        r.add_secret(secret);
    }
}

/// Adds the credentials of a URL (`--target`) to the process-wide redactor.
pub fn install_url(url: &str) {
    if let Ok(mut r) = GLOBAL.write() {
        r.add_url(url);
    }
}

/// Installs, from the raw command line, every secret the process may hold: the values of
/// `--token`, of the variable `--token-env` names, of `SCIM_TOKEN`, and the credentials in
/// `--target`. Done before the command line is even parsed, so that a usage error quoting an
/// argument cannot print a secret either.
pub fn install_from_args(args: &[String]) {
    if let Ok(t) = std::env::var("SCIM_TOKEN") {
        install_secret(&t);
    }
    let mut i = 0;
    while i < args.len() {
        let (flag, inline) = match args[i].split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (args[i].as_str(), None),
        };
        let value = || inline.clone().or_else(|| args.get(i + 1).cloned());
        match flag {
            "--token" => {
                if let Some(v) = value() {
                    install_secret(&v);
                }
            }
            "--token-env" => {
                if let Some(Ok(v)) = value().map(std::env::var) {
                    install_secret(&v);
                }
            }
            "--target" => {
                if let Some(v) = value() {
                    install_url(&v);
                }
            }
            _ => {}
        }
        i += 1;
    }
}

/// `text` through the process-wide redactor (borrowed back, not copied, when nothing in it is
/// a secret).
pub fn redact(text: &str) -> Cow<'_, str> {
    match GLOBAL.read() {
        Ok(r) if !r.is_empty() => match r.redact(text) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            Cow::Owned(s) => Cow::Owned(s),
        },
        _ => Cow::Borrowed(text),
    }
}

/// True when the process-wide redactor would mask something in `text`: one scan per form,
/// no copy. The client asks this once of a whole body's bytes before walking its JSON tree.
pub fn contains_secret(text: &str) -> bool {
    match GLOBAL.read() {
        Ok(r) => r.needles.iter().any(|n| text.contains(n.as_str())),
        Err(_) => true,
    }
}

/// Writes `text`, redacted, to stdout. Write errors (a closed pipe) are ignored: the exit code
/// still tells the outcome.
pub fn out(text: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(redact(text).as_bytes());
    let _ = o.flush();
}

/// Writes `text`, redacted, to stderr.
pub fn err(text: &str) {
    let _ = std::io::stderr().lock().write_all(redact(text).as_bytes());
}

/// `print!` through the redactor.
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => { $crate::redact::out(&format!($($t)*)) };
}

/// `println!` through the redactor.
#[macro_export]
macro_rules! outln {
    ($($t:tt)*) => { $crate::redact::out(&format!("{}\n", format!($($t)*))) };
}

/// `eprintln!` through the redactor.
#[macro_export]
macro_rules! errln {
    ($($t:tt)*) => { $crate::redact::err(&format!("{}\n", format!($($t)*))) };
}

/// A tracing writer: holds one event's bytes and writes them, redacted, to stderr when the
/// event is done (tracing-subscriber makes one writer per event).
#[derive(Default)]
pub struct LogWriter {
    buf: Vec<u8>,
}

impl Write for LogWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            err(&String::from_utf8_lossy(&self.buf));
            self.buf.clear();
        }
        Ok(())
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Installs a panic hook whose message goes through the redactor too.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        err(&format!(
            "scimulator: internal error (please report it): {info}\n"
        ));
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "SECRET-TOKEN-123";

    fn r() -> Redactor {
        let mut r = Redactor::default();
        r.add_secret(T);
        r
    }

    #[test]
    fn raw_bearer_json_and_url_forms() {
        let r = r();
        assert_eq!(r.redact("Bearer SECRET-TOKEN-123"), "Bearer ***");
        let t = "a+b/c d&e\"f";
        let mut r2 = Redactor::default();
        r2.add_secret(t);
        for form in [
            crate::client::form_encode(t),
            crate::client::percent_encode(t),
            lower_hex(&crate::client::percent_encode(t)),
            serde_json::to_string(t).unwrap(),
            xml_escape(t),
        ] {
            let out = r2.redact(&form);
            assert!(
                !out.contains("d&e") && out.contains(MASK),
                "{form} -> {out}"
            );
        }
    }

    #[test]
    fn base64_at_every_alignment_in_both_alphabets() {
        let r = r();
        for prefix in ["", "u:", "ab:", "user:"] {
            for alphabet in [STANDARD, URL_SAFE] {
                let full = base64_encode(format!("{prefix}{T}").as_bytes(), alphabet);
                let out = r.redact(&full);
                // What is left is at most 2 characters either side of the mask: the
                // prefix's and the padding's.
                assert!(out.contains(MASK), "{prefix}: {full} -> {out}");
                assert!(
                    out.len() <= MASK.len() + prefix.len() * 4 / 3 + 6,
                    "{prefix}: {full} -> {out}"
                );
            }
        }
    }

    #[test]
    fn short_secrets_are_not_masked_in_text() {
        let mut r = Redactor::default();
        r.add_secret("t");
        assert_eq!(r.redact("the test"), "the test");
    }

    #[test]
    fn url_credentials() {
        let mut r = Redactor::default();
        r.add_url("https://bob:hunter2hunter2@h/scim?access_token=SECRETVALUE&page=2#sig=0a1b2c3d4e5f6a7b8c9d");
        let out = r.redact("bob hunter2hunter2 SECRETVALUE page=2 0a1b2c3d4e5f6a7b8c9d");
        assert_eq!(out, "bob *** *** page=2 ***", "a 3-letter user name stays");
    }
}
