//! Reporters: the text postmortem and JSON/NDJSON, all from one [`Report`](crate::analysis::Report).

pub mod text;
pub mod tui;
