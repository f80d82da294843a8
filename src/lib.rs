//! scimulator: an identity-provider simulator and SCIM 2.0 conformance harness.
//!
//! This crate holds the SCIM vocabulary ([`scim`]), the built-in reference server ([`server`])
//! and the command line ([`cli`]).

pub mod cli;
pub mod exit_code;
pub mod report;
pub mod scenario;
pub mod scim;
pub mod secret;
pub mod server;
