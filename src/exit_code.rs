//! The exit-code contract, published in README: CI jobs branch on these.

/// Every scenario and expectation passed (or `serve` ended cleanly).
pub const OK: u8 = 0;
/// An expectation failed.
pub const FAILED: u8 = 1;
/// Usage error or a malformed scenario file.
pub const USAGE: u8 = 2;
/// The target could not be used: unreachable, TLS, 401/403 on the first request; for `serve`,
/// the address or state file could not be used.
pub const TARGET: u8 = 3;
