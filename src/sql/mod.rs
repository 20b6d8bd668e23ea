//! SQL text from the wire: one lexer ([`lexer`]) under redaction, statement
//! fingerprints and the per-query scans (VALUES rows, statement kind, KILL and
//! SET of watched variables).

pub mod fingerprint;
pub mod lexer;
pub mod redact;
pub mod scan;
