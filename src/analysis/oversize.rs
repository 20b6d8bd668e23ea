//! Packets over or near max_allowed_packet: requests the server rejected
//! with ERR 1153 (or that exceed the known limit), requests close to it, an
//! ERR 1153 whose packet is not in the capture, and large response packets.

use super::Context;
use crate::model::{
    CloseCause, Dir, Evidence, FindingKind, FinishedConn, Initiator, NearLimitRequest, OversizeRequest, OversizeUnseen, ResponseSize,
    Severity, ValuesRows,
};
use crate::report::fmt::{commas, sanitize, size};
use crate::report::model::{ConnReport, Finding};
use crate::sql::redact_sql;

/// An INSERT/REPLACE whose value is a hex literal (drivers encode bytes so).
pub(super) fn is_hex_literal_insert(sql: &str) -> bool {
    let l = sql.to_ascii_lowercase();
    (l.starts_with("insert") || l.starts_with("replace")) && l.contains("values (x'")
}

/// Batching advice for an INSERT/REPLACE near or over `limit`.
fn batching_text(v: Option<ValuesRows>, limit: Option<u64>) -> String {
    match (v, limit) {
        (Some(v), Some(l)) if v.rows_estimated > 1 => format!(
            " It is a multi-row INSERT/REPLACE of about {} rows (~{} bytes per row): batches of at most {} rows keep each statement under half the limit.",
            commas(v.rows_estimated),
            commas(v.bytes_per_row),
            commas((l / 2 / v.bytes_per_row).max(1))
        ),
        (Some(v), _) if v.rows_estimated == 1 => " It inserts a single row: the value itself is this large, so batching cannot help; raise max_allowed_packet (server and client) or write the value in chunks.".into(),
        _ => String::new(),
    }
}

pub(super) fn detect(cx: &Context<'_>, fc: &FinishedConn, rep: &ConnReport, out: &mut Vec<Finding>) {
    let (st, lim, who) = (&fc.summary, &cx.lim, &cx.who);
    let mut oversize_cmds = Vec::new();
    let server_closed = rep.close.initiator == Initiator::Server
        && matches!(rep.close.cause, CloseCause::ServerErrorClose | CloseCause::ServerReset | CloseCause::ServerClosed);
    for c in &st.commands {
        let rejected = c.response.error_code == Some(1153);
        // no ERR on the wire, but no answer either and the server hung up: judged
        // against the limit we know, so it is a likelihood, and said so
        let likely = !rejected && !c.response.kind.answered() && server_closed && lim.bytes.is_some_and(|l| c.request_bytes > l);
        if rejected || likely {
            oversize_cmds.push(c.index);
            let sql = c.sql.as_deref().map(|s| sanitize(&redact_sql(s, cx.cfg.redact_literals)));
            let preview: Option<String> = sql.as_ref().map(|s| s.chars().take(120).collect());
            let closed = matches!(rep.close.cause, CloseCause::ServerErrorClose | CloseCause::ServerReset | CloseCause::ServerClosed)
                && rep.close.initiator == Initiator::Server;
            let after_close = if closed {
                format!(
                    "The server then {} the connection{}; the application sees \"MySQL server has gone away\" (2006) or \"Lost connection to MySQL server during query\" (2013), not the 1153 itself.",
                    if rep.close.cause == CloseCause::ServerReset || rep.tcp.history.contains('r') { "reset" } else { "closed" },
                    rep.close.idle_secs.map(|s| format!(" {:.1} ms later", s * 1000.0)).unwrap_or_default()
                )
            } else {
                String::new()
            };
            let limit_txt = match (lim.bytes, lim.upper_bound) {
                (Some(l), _) => format!("max_allowed_packet is {} ({})", size(l), lim.source.describe()),
                (None, Some(u)) => match lim.lower_bound {
                    Some(l) if l < u => format!(
                        "the server's max_allowed_packet is between {} (the largest packet it accepted) and {} (inferred; no SHOW VARIABLES in the capture)",
                        size(l),
                        size(u)
                    ),
                    _ => format!(
                        "the server's max_allowed_packet is below {} (inferred from the ERR 1153; no SHOW VARIABLES in the capture)",
                        size(u)
                    ),
                },
                _ => "the server's max_allowed_packet is not visible in the capture".into(),
            };
            let mut batching = batching_text(c.values_rows, lim.bytes.or(lim.upper_bound));
            if c.sql.as_deref().is_some_and(is_hex_literal_insert) {
                batching.push_str(&format!(
                    " The value is sent as a hex literal (X'...'), which doubles it on the wire: the BLOB itself is about {}; binding it as a parameter of a server-side prepared statement sends it raw.",
                    size(c.request_bytes / 2)
                ));
            }
            let detail = format!(
                "The client sent a {} of {}{}; {}. {}{}{batching}",
                c.command,
                size(c.request_bytes),
                if c.request_incomplete { " (declared in the packet header; the server answered before it was fully sent)" } else { "" },
                limit_txt,
                if rejected {
                    "The server answered ERR 1153 (08S01) \"Got a packet bigger than 'max_allowed_packet' bytes\". "
                } else {
                    "No ERR 1153 is on the wire: the server sent no reply at all, so \"over the limit\" is inferred from the limit above, not observed. "
                },
                after_close
            );
            let ev = Evidence::OversizeRequest(OversizeRequest {
                packet_bytes: c.request_bytes,
                limit_bytes: lim.bytes,
                limit_upper_bound: lim.upper_bound,
                limit_source: lim.source.key(),
                direction: Dir::ToServer,
                server_error: c.response.error_code,
                command: c.command.clone(),
                command_index: c.index,
                sql_preview: preview,
                request_incomplete: c.request_incomplete,
                close_cause: rep.close.cause,
                client_max_packet_size: st.identity.client_max_packet,
                values_rows: c.values_rows,
                certainty: if rejected { "observed" } else { "inferred" },
            });
            let title = if rejected {
                format!("{} packet rejected with ERR 1153: bigger than max_allowed_packet ({who})", size(c.request_bytes))
            } else {
                format!(
                    "{} packet likely over max_allowed_packet ({}); the server closed without a reply ({who})",
                    size(c.request_bytes),
                    lim.source.describe()
                )
            };
            out.push(Finding::new(FindingKind::OversizePacket, Severity::Critical, title, detail, ev).on(rep).at(Some(c.ts)));
        } else if let Some(l) = lim.bytes
            && c.request_bytes * 10 >= l * 8
        {
            let pct = c.request_bytes as f64 * 100.0 / l as f64;
            let title = format!("{} packet is {pct:.0}% of max_allowed_packet ({who})", size(c.request_bytes));
            let detail = format!(
                "A {} of {} was accepted, but max_allowed_packet is {} ({}); a slightly larger one will be rejected with ERR 1153 and the connection dropped.{}",
                c.command,
                size(c.request_bytes),
                size(l),
                lim.source.describe(),
                batching_text(c.values_rows, Some(l))
            );
            let ev = Evidence::NearLimitRequest(NearLimitRequest {
                packet_bytes: c.request_bytes,
                limit_bytes: l,
                limit_source: lim.source.key(),
                direction: Dir::ToServer,
                command_index: c.index,
                values_rows: c.values_rows,
            });
            out.push(Finding::new(FindingKind::NearLimitPacket, Severity::Warning, title, detail, ev).on(rep).at(Some(c.ts)));
        }
    }
    // 1153 without a matching command (no size evidence)
    if let Some(e) = &st.end.last_error
        && e.code == 1153
        && oversize_cmds.is_empty()
    {
        let ev = Evidence::OversizeUnseen(OversizeUnseen {
            packet_bytes: None,
            limit_bytes: lim.bytes,
            limit_source: lim.source.key(),
            direction: Dir::ToServer,
            server_error: 1153,
        });
        let title = format!("ERR 1153: packet bigger than max_allowed_packet ({who})");
        let detail = "The server answered ERR 1153 (08S01) \"Got a packet bigger than 'max_allowed_packet' bytes\"; the offending packet is not in the capture (it began before the capture or was not captured).".into();
        out.push(Finding::new(FindingKind::OversizePacket, Severity::Critical, title, detail, ev).on(rep).at(Some(e.ts)));
    }
    // Responses near or over the limit (large result rows)
    if let Some(l) = lim.bytes {
        for b in st.big_packets.iter().filter(|b| b.direction == Dir::ToClient) {
            if b.bytes * 10 >= l * 8 {
                let kind = if b.bytes > l { FindingKind::OversizePacket } else { FindingKind::NearLimitPacket };
                let title = format!(
                    "server sent a {} packet, {:.0}% of max_allowed_packet ({who})",
                    size(b.bytes),
                    b.bytes as f64 * 100.0 / l as f64
                );
                let detail = "A result row this large fails on clients whose own max_allowed_packet is smaller (error 2020 \"Got packet bigger than 'max_allowed_packet'\" on the client).".into();
                let ev = Evidence::ResponseSize(ResponseSize {
                    packet_bytes: b.bytes,
                    limit_bytes: l,
                    limit_source: lim.source.key(),
                    direction: Dir::ToClient,
                    server_error: None,
                });
                out.push(Finding::new(kind, Severity::Warning, title, detail, ev).on(rep).at(Some(b.ts)));
            }
        }
    }
}
