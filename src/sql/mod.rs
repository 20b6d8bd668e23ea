//! SQL text from the wire: one lexer ([`lexer`]) under redaction, statement
//! fingerprints and the per-query scans (VALUES rows, statement kind, KILL and
//! SET of watched variables).

pub mod fingerprint;
pub mod lexer;
pub mod redact;
pub mod scan;

/// Proptest settings of this module's tests: `default` cases, or
/// `PROPTEST_CASES` when set (for long runs: `PROPTEST_CASES=200000 cargo
/// test --release --lib sql::`).
#[cfg(test)]
pub(crate) fn cases(default: u32) -> proptest::prelude::ProptestConfig {
    let n = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    proptest::prelude::ProptestConfig::with_cases(n)
}
