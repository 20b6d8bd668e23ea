//! SQL text from the wire: one lexer ([`lexer`]) under redaction, statement
//! fingerprints and the per-query scans (VALUES rows, statement kind, KILL and
//! SET of watched variables).
//!
//! Every function here is pure and total: statements are untrusted, may be cut
//! at the keep cap in the middle of a token, and may not be valid UTF-8.

pub mod facts;
pub mod fingerprint;
pub mod legacy;
pub mod lexer;
pub mod redact;
pub mod scan;
pub mod values;

pub use facts::{Facts, KillTarget, VarSet, contains_ci, facts};
pub use legacy::{fingerprint, redact_sql};
pub use values::count_values_rows;

/// Proptest settings of this module's tests: `default` cases, or
/// `PROPTEST_CASES` when set (for long runs: `PROPTEST_CASES=200000 cargo
/// test --release --lib sql::`).
#[cfg(test)]
pub(crate) fn cases(default: u32) -> proptest::prelude::ProptestConfig {
    let n = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    proptest::prelude::ProptestConfig::with_cases(n)
}
