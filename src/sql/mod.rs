//! SQL text from the wire: the scans the session makes on each statement
//! (KILL targets, SET of server variables, multi-row VALUES counting) and the
//! redaction every report applies before showing a statement.
//!
//! Every function here is pure and total: statements are untrusted, may be cut
//! at the keep cap in the middle of a token, and may not be valid UTF-8.

pub mod redact;
pub mod scan;
pub mod values;

pub use redact::{fingerprint, redact_sql};
pub use scan::{Facts, KillTarget, VarSet, contains_ci, facts};
pub use values::count_values_rows;
