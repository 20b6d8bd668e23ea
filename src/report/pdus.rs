//! `mywire pdus`: one tab-separated line per logical MySQL PDU, like
//! `tshark -Y mysql` (SQL redacted and sanitised).

use super::fmt::sanitize;
use crate::model::{Dir, FinishedConn};
use crate::mysql::CommandCode;
use crate::sql::redact_sql;
use std::io::{self, Write};

/// Writes the header line and every traced PDU of `conns`.
pub fn write(conns: &[FinishedConn], out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "conn\tclient\tserver\tdir\tts\tseq\tlen\tparts\tcommand\tquery\terror")?;
    for c in conns {
        for p in &c.summary.pdus {
            let cmd = p.command.map(|c| CommandCode(c).to_string()).unwrap_or_default();
            let q = p.query.as_deref().map(|q| sanitize(&redact_sql(q, false))).unwrap_or_default();
            let err = p.error.map(|e| e.to_string()).unwrap_or_default();
            let dir = if p.direction == Dir::ToServer { "C>S" } else { "S>C" };
            writeln!(out, "{}\t{}\t{}\t{dir}\t{}\t{}\t{}\t{}\t{cmd}\t{q}\t{err}", c.id, c.client, c.server, p.ts, p.seq, p.len, p.parts)?;
        }
    }
    out.flush()
}
