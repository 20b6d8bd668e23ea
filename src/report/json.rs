//! JSON (`--format json`: one document, `schema/report.schema.json`) and
//! NDJSON (`--format ndjson`: one object per line, a `type` field on each:
//! `finding` and `connection` lines as connections end, then one `summary`).
//! NDJSON objects are written with their keys in alphabetical order.

use super::model::{ConnReport, Finding, Report};
use anyhow::Result;
use serde_json::json;
use std::io::Write;

/// The whole report, pretty-printed.
pub fn write(report: &Report, out: &mut dyn Write) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    out.write_all(b"\n")?;
    Ok(())
}

fn line(out: &mut dyn Write, v: &impl serde::Serialize, kind: &str) -> Result<()> {
    let mut v = serde_json::to_value(v)?;
    v["type"] = json!(kind);
    serde_json::to_writer(&mut *out, &v)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// One line per finding, then one for the connection; flushed, so a reader
/// of a pipe sees each connection as it ends.
pub fn write_conn(out: &mut dyn Write, conn: &ConnReport, findings: &[Finding]) -> Result<()> {
    for f in findings {
        line(out, f, "finding")?;
    }
    line(out, conn, "connection")?;
    out.flush()?;
    Ok(())
}

/// The findings about the whole capture (failed statements grouped across
/// connections, server-wide refusals, capture health), then the closing
/// `summary` line.
pub fn write_ndjson_summary(report: &Report, out: &mut dyn Write) -> Result<()> {
    for f in report.findings.iter().filter(|f| !f.streamed) {
        line(out, f, "finding")?;
    }
    let v = json!({"type": "summary", "generator": report.generator, "inputs": report.inputs, "summary": report.summary, "settings": report.settings, "recommendations": report.recommendations, "warnings": report.warnings});
    serde_json::to_writer(&mut *out, &v)?;
    out.write_all(b"\n")?;
    Ok(())
}
