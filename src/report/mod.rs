//! Reporters, all from one typed [`Report`](model::Report): the text
//! postmortem, JSON and NDJSON, the `pdus` listing, and the terminal UI.
//!
//! - `model.rs`: the report's types; `fmt.rs`: sizes, counts, durations and
//!   the sanitiser for untrusted text.
//! - `text.rs`, `json.rs` (JSON and NDJSON), `pdus.rs`, `tui/`.
//!
//! Adding an output format: a file here with a `write(&Report, &mut dyn Write)`,
//! a [`Format`] variant, and its arm in [`write`].

pub mod fmt;
pub mod json;
pub mod model;
pub mod pdus;
pub mod text;
pub mod tui;

use crate::model::Severity;
use anyhow::Result;
use model::Report;
use std::io::Write;

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Postmortem for people.
    Text,
    /// One JSON document.
    Json,
    /// One JSON object per line, as things happen.
    Ndjson,
}

/// Writes the final report in `format` (for NDJSON, the closing summary line:
/// connections were streamed as they ended); reader warnings go to stderr.
/// Returns the exit code for `fail_on`.
pub fn write(report: &Report, format: Format, out: &mut dyn Write, fail_on: Option<Severity>) -> Result<u8> {
    for w in &report.warnings {
        eprintln!("mywire: warning: {w}");
    }
    if report.inputs.iter().all(|i| i.frames == 0) && report.summary.capture.live.is_none() {
        eprintln!("mywire: warning: no frames in the input");
    } else if report.connections.is_empty() {
        eprintln!("mywire: warning: no MySQL traffic found; the report names the busiest TCP ports (name the server's with --port N)");
    }
    match format {
        Format::Text => text::write(report, out)?,
        Format::Json => json::write(report, out)?,
        Format::Ndjson => json::write_ndjson_summary(report, out)?,
    }
    out.flush()?;
    Ok(u8::from(fail_on.is_some_and(|level| report.findings.iter().any(|f| f.severity >= level))))
}
