//! scimulator: an identity-provider simulator and SCIM 2.0 conformance harness.
//!
//! This crate holds the SCIM vocabulary ([`scim`]), the built-in reference server ([`server`])
//! and the command line ([`cli`]).

pub mod certify;
pub mod check;
pub mod cli;
pub mod client;
pub mod compact;
pub mod exit_code;
pub mod idp;
pub mod probe;
pub mod redact;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod scim;
pub mod secret;
pub mod server;
pub mod source;
pub mod validate;
