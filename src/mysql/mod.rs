//! MySQL / MariaDB client/server protocol: framing and pure `nom` 8 parsers.
//!
//! Reference: dev.mysql.com "Client/Server Protocol" and MariaDB's protocol pages.
//! Parsers borrow their input, keep no state, never panic, and return
//! `nom::Err::Error` for malformed payloads; state lives in `crate::session`.

pub mod compress;
pub mod errors;
pub mod framing;
pub mod messages;
pub mod probe;
#[cfg(test)]
pub(crate) mod testdata;
pub mod types;
pub mod wire;

pub use types::*;
