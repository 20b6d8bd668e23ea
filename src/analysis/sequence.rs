//! Sequence ids: packets whose id was not the expected next one, and whether
//! the server answered ERR 1156 "Got packets out of order".

use super::Context;
use crate::model::{Evidence, FindingKind, FinishedConn, Initiator, SeqEvidence, Severity};
use crate::report::model::{ConnReport, Finding};

pub(super) fn detect(cx: &Context<'_>, fc: &FinishedConn, rep: &ConnReport, out: &mut Vec<Finding>) {
    let st = &fc.summary;
    if st.seq_anomalies_total == 0 {
        return;
    }
    let Some(a) = st.seq_anomalies.first() else { return };
    let got_1156 =
        st.commands.iter().any(|c| c.response.error_code == Some(1156)) || st.end.last_error.as_ref().is_some_and(|e| e.code == 1156);
    let sev = if a.after_gap {
        Severity::Info
    } else if got_1156 || rep.close.initiator == Initiator::Server {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let followed = if got_1156 {
        format!(
            "The server answered ERR 1156 (08S01) \"Got packets out of order\"; connection end: {} ({}).",
            rep.close.cause, rep.close.detail
        )
    } else {
        format!("Connection end: {}.", rep.close.cause)
    };
    let title = format!("{} packet(s) with an unexpected sequence id ({})", st.seq_anomalies_total, cx.who);
    let cmd = a.command_index.and_then(|i| st.commands.iter().find(|c| c.index == i));
    let place = match (a.part, cmd) {
        (Some(part), Some(c)) => format!(
            " (continuation packet {} of the {}'s {}-byte multi-packet message: the {} broke the sequence there)",
            part + 1,
            c.command,
            crate::report::fmt::commas(c.request_bytes),
            a.direction.sender()
        ),
        (Some(part), None) => format!(" (continuation packet {} of a multi-packet message)", part + 1),
        (None, Some(c)) => format!(" (in {})", c.command),
        (None, None) => String::new(),
    };
    let detail = format!(
        "First: a {} packet had sequence id {} where {} was expected{place}. {followed}{}",
        a.direction.sender(),
        a.actual,
        a.expected,
        if a.after_gap {
            " A TCP gap in the capture precedes it, so the capture itself may explain it."
        } else {
            " No TCP gap precedes it: the sender really broke the protocol (a client bug, or two threads sharing one connection)."
        }
    );
    let ev = Evidence::Seq(SeqEvidence {
        count: st.seq_anomalies_total,
        first: a.clone(),
        server_error: if got_1156 { Some(1156) } else { None },
        after_gap: a.after_gap,
    });
    out.push(Finding::new(FindingKind::SeqOutOfOrder, sev, title, detail, ev).on(rep).at(Some(a.ts)));
}
