//! `scimulator schema <scenario|report>`: prints a JSON Schema (draft 2020-12) to stdout, for
//! editors (`# yaml-language-server: $schema=...` in a scenario file) and for CI jobs that
//! validate `report.json`. The checked-in copies are this output:
//!
//! ```text
//! $ scimulator schema report > fixtures/report.schema.json
//! $ head -4 fixtures/report.schema.json
//! {
//!   "$schema": "https://json-schema.org/draft/2020-12/schema",
//!   "$id": "urn:scimulator:report:v1",
//!   "title": "scimulator report.json, format version 1",
//! ```

use crate::exit_code;
use clap::{Args, ValueEnum};
use std::io::{self, Write};

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which schema to print.
    #[arg(value_enum)]
    pub kind: SchemaKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    /// A scenario file (YAML).
    Scenario,
    /// `report.json`, written by `run --report DIR`.
    Report,
}

pub fn run(args: SchemaArgs) -> u8 {
    let text = match schema_text(args.kind) {
        Ok(text) => text,
        Err(e) => {
            crate::errln!("scimulator schema: {e}");
            return exit_code::FAILED;
        }
    };
    match io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => exit_code::OK,
        // `scimulator schema report | head` closed the pipe: the reader got what it wanted.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => exit_code::OK,
        Err(e) => {
            crate::errln!("scimulator schema: cannot write to stdout: {e}");
            exit_code::FAILED
        }
    }
}

/// The schema, pretty-printed with a final newline: byte for byte what is checked in.
pub fn schema_text(kind: SchemaKind) -> serde_json::Result<String> {
    let mut text = match kind {
        SchemaKind::Scenario => serde_json::to_string_pretty(&crate::scenario::scenario_schema())?,
        SchemaKind::Report => serde_json::to_string_pretty(&crate::report::json::report_schema())?,
    };
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SchemaArgs,
    }

    #[test]
    fn the_kind_is_a_positional_value() {
        assert_eq!(
            Cli::try_parse_from(["schema", "report"]).unwrap().args.kind,
            SchemaKind::Report
        );
        assert_eq!(
            Cli::try_parse_from(["schema", "scenario"])
                .unwrap()
                .args
                .kind,
            SchemaKind::Scenario
        );
        assert!(Cli::try_parse_from(["schema", "junit"]).is_err());
        assert!(Cli::try_parse_from(["schema"]).is_err());
    }

    #[test]
    fn report_schema_text_is_pretty_json_with_a_final_newline() {
        let text = schema_text(SchemaKind::Report).unwrap();
        assert!(text.starts_with(
            "{\n  \"$schema\": \"https://json-schema.org/draft/2020-12/schema\",\n  \"$id\""
        ));
        assert!(text.ends_with("}\n"));
    }
}
