//! The client's own limit: a server packet bigger than the max_packet_size
//! the client announced in its handshake, after which the client hung up.
//! The server's max_allowed_packet is not involved: the client reports 2020
//! "Got packet bigger than 'max_allowed_packet' bytes" (libmariadb: 2013)
//! and nothing big ever reached the server.

use super::Context;
use crate::model::{ClientLimit, Dir, Evidence, FindingKind, FinishedConn, Initiator, Severity};
use crate::report::fmt::size;
use crate::report::model::{ConnReport, Finding};

/// The packet that bit, if one did: (declared size, bytes sent of it, command index).
pub(super) fn hit(fc: &FinishedConn, rep: &ConnReport) -> Option<(u64, u64, Option<u64>)> {
    let st = &fc.summary;
    let limit = u64::from(st.identity.client_max_packet.filter(|&m| m > 0)?);
    if rep.close.initiator != Initiator::Client {
        return None;
    }
    // the response in progress when the client left, or the last big one it got
    if let Some(p) = st.server_partial.filter(|p| p.declared > limit) {
        return Some((p.declared, p.received, p.command_index));
    }
    let last = st.big_packets.iter().filter(|b| b.direction == Dir::ToClient).max_by_key(|b| b.ts)?;
    let pending = st.end.pending_command;
    (last.bytes > limit && pending.is_some() && last.command_index == pending).then_some((last.bytes, last.bytes, last.command_index))
}

pub(super) fn detect(cx: &Context<'_>, fc: &FinishedConn, rep: &ConnReport, out: &mut Vec<Finding>) {
    let Some((declared, received, cmd)) = hit(fc, rep) else { return };
    let st = &fc.summary;
    let limit = st.identity.client_max_packet.unwrap_or(0);
    let command = cmd.and_then(|i| st.commands.iter().find(|c| c.index == i));
    let what = command
        .map(|c| match &c.sql {
            Some(s) => format!("its {} `{}`", c.command, s.chars().take(80).collect::<String>()),
            None => format!("its {}", c.command),
        })
        .unwrap_or_else(|| "a command".into());
    let how = if rep.close.cause == crate::model::CloseCause::ClientReset { "reset" } else { "closed" };
    let title =
        format!("the server's {} answer exceeded the client's own limit of {} ({})", size(declared), size(u64::from(limit)), cx.who);
    let detail = format!(
        "The client said in its handshake that its max_allowed_packet is {}; the server answered {what} with a packet of {}, and the client {how} the connection after {} of it. The client's own limit bit (it reports 2020 \"Got packet bigger than 'max_allowed_packet' bytes\", or 2013 \"Lost connection\" from libmariadb); the server's max_allowed_packet is not involved. Raise the client's limit.",
        size(u64::from(limit)),
        size(declared),
        size(received),
    );
    let ev = Evidence::ClientLimit(ClientLimit {
        packet_bytes: declared,
        client_max_packet_size: limit,
        received_bytes: received,
        command: command.map(|c| c.command.clone()),
        close_cause: rep.close.cause,
    });
    let ts = st.server_partial.map(|p| p.ts).or(command.map(|c| c.ts));
    out.push(Finding::new(FindingKind::ClientLimit, Severity::Critical, title, detail, ev).on(rep).at(ts));
}
