//! `report.json`: the [`RunReport`] serialised, nothing added, and its JSON Schema, generated
//! from the same types and checked in as `fixtures/report.schema.json` so that CI consumers can
//! validate what they parse. A trimmed sample:
//!
//! ```json
//! {
//!   "format_version": 1,
//!   "tool": "scimulator 0.1.0",
//!   "run_id": "r3f9a1c",
//!   "target": { "url": "http://127.0.0.1:41235/scim/v2", "builtin": true },
//!   "started_at": "2026-11-22T20:44:13.655Z",
//!   "duration_ms": 30161,
//!   "scenarios": [
//!     { "name": "entra-initial-cycle-failed", "idp": "entra", "outcome": "failed",
//!       "steps": [ { "index": 7, "line": 19, "kind": "expect", "outcome": "failed",
//!                    "checks": [ { "name": "state", "outcome": "failed", "diff": "--- expected\n...",
//!                                  "patch": [ { "op": "add", "path": "/Groups/IT-Admins-r3f9a1c/members/0", ... } ],
//!                                  "exchanges": [8] } ], ... } ],
//!       "exchanges": [ { "id": 5, "step": 3, "method": "PATCH", "path": "/Groups/g-1", "status": null,
//!                        "fault": "drop-response", "error": "timed out after 30 s", ... } ], ... }
//!   ],
//!   "summary": { "scenarios": 2, "passed": 1, "failed": 1, "errors": 0, "requests": 14 }
//! }
//! ```

use super::model::{RunReport, FORMAT_VERSION};
use serde_json::Value;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Identifies the schema, versioned with the format: a consumer that pinned v1 is told, by a
/// failed validation, that a v2 report is not what it expects.
pub const REPORT_SCHEMA_ID: &str = "urn:scimulator:report:v1";

/// Request headers whose values are credentials. The client redacts them before they reach the
/// model; this writer masks them again so that a redaction slip upstream can never put a token in
/// a file that CI uploads as an artifact.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
];

/// Writes `dir/report.json` (pretty-printed, `dir` created if missing) and returns its path.
pub fn write_json(report: &RunReport, dir: &Path) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let path = dir.join("report.json");
    let mut value = serde_json::to_value(report)?;
    mask_secret_headers(&mut value);
    bound_bodies(&mut value);
    let mut text = serde_json::to_string_pretty(&value)?;
    text.push('\n');
    // Through the process-wide redactor: a token a server echoed is masked in the JSON as written.
    let text = crate::redact::redact(&text);
    // Written whole, then renamed, so a reader never sees half a report.
    let tmp = dir.join(".report.json.tmp");
    let mut file = fs::File::create(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, &path)?;
    Ok(path)
}

/// Largest exchange body written whole; longer ones keep their first bytes and a marker. The
/// client already keeps bodies this way; this holds for any report, however it was built.
pub const MAX_BODY_IN_REPORT: usize = crate::client::DEFAULT_REPORT_BODY;

/// `scenarios[*].exchanges[*].{request,response}_body` past [`MAX_BODY_IN_REPORT`] bytes of JSON
/// become a string of their first bytes with a `[truncated by scimulator: …]` marker.
fn bound_bodies(report: &mut Value) {
    let Some(scenarios) = report.get_mut("scenarios").and_then(Value::as_array_mut) else {
        return;
    };
    let exchanges = scenarios
        .iter_mut()
        .filter_map(|s| s.get_mut("exchanges").and_then(Value::as_array_mut))
        .flatten();
    for exchange in exchanges {
        for key in ["request_body", "response_body"] {
            let Some(body) = exchange.get_mut(key) else {
                continue;
            };
            let text = match &*body {
                Value::String(s) => s.clone(),
                other => serde_json::to_string(other).unwrap_or_default(),
            };
            if text.len() > MAX_BODY_IN_REPORT {
                *body = Value::String(crate::client::truncate_marked(&text, MAX_BODY_IN_REPORT));
            }
        }
    }
}

/// `scenarios[*].exchanges[*].request_headers`: `[name, value]` pairs. Keeps the auth scheme
/// (`Bearer ***`) because which scheme was used is worth knowing; the rest becomes `***`.
fn mask_secret_headers(report: &mut Value) {
    let Some(scenarios) = report.get_mut("scenarios").and_then(Value::as_array_mut) else {
        return;
    };
    let exchanges = scenarios
        .iter_mut()
        .filter_map(|s| s.get_mut("exchanges").and_then(Value::as_array_mut))
        .flatten();
    for exchange in exchanges {
        let Some(headers) = exchange
            .get_mut("request_headers")
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for pair in headers.iter_mut().filter_map(Value::as_array_mut) {
            let [name, value] = pair.as_mut_slice() else {
                continue;
            };
            let (Some(name), Some(text)) = (name.as_str(), value.as_str()) else {
                continue;
            };
            if SECRET_HEADERS.iter().any(|h| name.eq_ignore_ascii_case(h)) {
                *value = Value::String(masked(text));
            }
        }
    }
}

fn masked(value: &str) -> String {
    match value.split_once(' ') {
        Some((scheme, _))
            if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("basic") =>
        {
            format!("{scheme} ***")
        }
        _ => "***".to_owned(),
    }
}

/// The JSON Schema (draft 2020-12) of `report.json`, generated from the model. The CLI prints it
/// (`scimulator schema report`); `fixtures/report.schema.json` is this value, pretty-printed.
pub fn report_schema() -> Value {
    let mut schema = schemars::schema_for!(RunReport).to_value();
    if let Some(root) = schema.as_object_mut() {
        // `$schema` first, then the identity, then what schemars generated.
        let generated = std::mem::take(root);
        let mut ordered = serde_json::Map::new();
        if let Some(dialect) = generated.get("$schema") {
            ordered.insert("$schema".into(), dialect.clone());
        }
        ordered.insert("$id".into(), REPORT_SCHEMA_ID.into());
        ordered.insert(
            "title".into(),
            format!("scimulator report.json, format version {FORMAT_VERSION}").into(),
        );
        for (key, value) in generated {
            if !matches!(key.as_str(), "$schema" | "title") {
                ordered.insert(key, value);
            }
        }
        *root = ordered;
    }
    // The version is a constant of the format, not any integer: pin it.
    if let Some(version) = schema
        .pointer_mut("/properties/format_version")
        .and_then(Value::as_object_mut)
    {
        version.insert("const".into(), FORMAT_VERSION.into());
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    const REGENERATE: &str =
        "regenerate with `cargo run -- schema report > fixtures/report.schema.json`";

    fn validate(instance: &Value) -> Vec<String> {
        let validator =
            jsonschema::validator_for(&report_schema()).expect("the report schema compiles");
        validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect()
    }

    #[test]
    fn report_json_validates_against_the_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_json(&sample::run_report(), &dir.path().join("nested/reports")).unwrap();
        assert_eq!(path.file_name().unwrap(), "report.json");
        let written: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        let errors = validate(&written);
        assert!(
            errors.is_empty(),
            "report.json does not match its schema: {errors:#?}"
        );
        // And it reads back into the model: consumers can use the same types.
        let back: RunReport = serde_json::from_value(written).unwrap();
        assert_eq!(
            back.scenarios[1].exchanges[4].fault.as_deref(),
            Some("drop-response")
        );
    }

    #[test]
    fn the_schema_rejects_another_format_version_and_missing_fields() {
        let mut value = serde_json::to_value(sample::run_report()).unwrap();
        value["format_version"] = 2.into();
        assert!(
            !validate(&value).is_empty(),
            "format_version 2 must not validate against v1"
        );
        let mut value = serde_json::to_value(sample::run_report()).unwrap();
        value["scenarios"][1]["exchanges"][0]
            .as_object_mut()
            .unwrap()
            .remove("method");
        assert!(
            !validate(&value).is_empty(),
            "an exchange without a method must not validate"
        );
    }

    #[test]
    fn report_json_is_the_model_and_nothing_else() {
        let report = sample::run_report();
        let dir = tempfile::tempdir().unwrap();
        let written: Value = serde_json::from_str(
            &fs::read_to_string(write_json(&report, dir.path()).unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(written, serde_json::to_value(&report).unwrap());
        let text = fs::read_to_string(dir.path().join("report.json")).unwrap();
        assert!(!text.contains("SECRET-TOKEN-123"));
        assert!(!dir.path().join(".report.json.tmp").exists());
    }

    #[test]
    fn a_token_that_slipped_past_redaction_is_masked() {
        let mut report = sample::run_report();
        let exchange = &mut report.scenarios[0].exchanges[0];
        let mut headers = exchange.request_headers.to_vec();
        headers[0].1 = "Bearer SECRET-TOKEN-123".to_owned();
        headers.push(("x-api-key".to_owned(), "SECRET-TOKEN-123".to_owned()));
        exchange.request_headers = headers.into();
        let dir = tempfile::tempdir().unwrap();
        let text = fs::read_to_string(write_json(&report, dir.path()).unwrap()).unwrap();
        assert!(!text.contains("SECRET-TOKEN-123"), "{text}");
        let written: Value = serde_json::from_str(&text).unwrap();
        let headers = &written["scenarios"][0]["exchanges"][0]["request_headers"];
        assert_eq!(
            headers[0],
            serde_json::json!(["Authorization", "Bearer ***"])
        );
        assert_eq!(headers[2], serde_json::json!(["x-api-key", "***"]));
        assert_eq!(
            headers[1],
            serde_json::json!(["Accept", "application/scim+json"])
        );
    }

    #[test]
    fn the_schema_names_itself_and_its_version() {
        let schema = report_schema();
        assert_eq!(schema["$id"], REPORT_SCHEMA_ID);
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert!(schema["title"]
            .as_str()
            .unwrap()
            .contains("format version 1"));
        assert_eq!(schema["properties"]["format_version"]["const"], 1);
    }

    #[test]
    fn checked_in_schema_is_up_to_date() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/report.schema.json");
        let checked_in = fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{} cannot be read ({e}); {REGENERATE}", path.display()));
        let generated =
            crate::cli::schema::schema_text(crate::cli::schema::SchemaKind::Report).unwrap();
        assert!(
            checked_in.replace("\r\n", "\n") == generated,
            "fixtures/report.schema.json differs from the schema generated from src/report/model.rs; {REGENERATE}"
        );
    }
}
