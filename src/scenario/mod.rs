//! Scenarios: the model ([`model`]), the loader that reads them from YAML with positions
//! ([`loader`]), its messages ([`diagnostics`]), and the JSON Schema of the file format.
//!
//! ```yaml
//! # yaml-language-server: $schema=../schema.json
//! name: entra-cisco-guide
//! idp: entra
//! steps:
//!   - cycle: initial
//!   - expect: { state: derived }
//! ```

pub mod bundled;
pub mod diagnostics;
pub mod loader;
pub mod model;

pub use bundled::Source;
pub use diagnostics::{Diagnostic, DiagnosticKind, LoadError, Position};
pub use loader::{bundled_dir, discover, load};

/// The JSON Schema of scenario files, for editors (`# yaml-language-server: $schema=...`) and
/// for `scimulator schema scenario`. Draft-07 rather than 2020-12 because that is the draft the
/// YAML language server (VS Code's YAML extension) validates with
/// (https://github.com/redhat-developer/yaml-language-server/issues/856).
pub fn scenario_schema() -> serde_json::Value {
    let mut schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<model::Scenario>();
    let generated = std::mem::take(schema.ensure_object());
    // `$schema`, `title` and `description` first: they are what a reader of the file looks for.
    let mut root = serde_json::Map::new();
    for key in ["$schema", "title", "description"] {
        if let Some(value) = generated.get(key) {
            root.insert(key.to_owned(), value.clone());
        }
    }
    root.insert("title".into(), "scimulator scenario".into());
    for (key, value) in generated {
        root.entry(key).or_insert(value);
    }
    // `idp` is a plain string in the model so that a new profile needs no model change; the
    // schema still offers the known names for completion.
    if let Some(idp) = root
        .get_mut("properties")
        .and_then(|p| p.get_mut("idp"))
        .and_then(serde_json::Value::as_object_mut)
    {
        idp.insert("enum".into(), crate::idp::registry::names().into());
    }
    serde_json::Value::Object(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGENERATE: &str = "cargo run -- schema scenario > scenarios/schema.json";

    #[test]
    fn the_checked_in_schema_is_the_generated_one() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/schema.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read {}: {e}; create it with:\n    {REGENERATE}",
                path.display()
            )
        });
        let checked_in: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "{} is not JSON ({e}); regenerate it with:\n    {REGENERATE}",
                path.display()
            )
        });
        assert!(
            checked_in == scenario_schema(),
            "scenarios/schema.json differs from the schema generated from src/scenario/model.rs; \
             regenerate it with:\n    {REGENERATE}"
        );
    }

    #[test]
    fn the_schema_is_draft_07_and_names_the_known_idps() {
        let schema = scenario_schema();
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
        assert_eq!(schema["title"], "scimulator scenario");
        assert_eq!(
            schema["properties"]["idp"]["enum"],
            serde_json::json!(crate::idp::registry::names())
        );
        assert_eq!(schema["additionalProperties"], false);
    }
}
