//! SCIM vocabulary shared by the server and the harness: schemas, errors, filter and PATCH-path
//! parsing, PATCH application.

pub mod error;
pub mod filter;
pub mod id;
pub mod kind;
pub mod patch;
pub mod pattern;
pub mod resource;
pub mod schema;

/// The SCIM media type (RFC 7644 §3.1, §8.1).
pub const SCIM_JSON: &str = "application/scim+json";
