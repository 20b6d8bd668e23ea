//! The one-sentence verdict: the severity, then what happened, leading cause
//! first ("CRITICAL: 1 packet over max_allowed_packet rejected with ERR 1153;
//! 1 connection lost (2 critical, 0 warning)").

use crate::model::{CloseCause, FindingKind, Severity};
use crate::report::fmt::commas;
use crate::report::model::Finding;
use std::collections::BTreeMap;

/// Every finding of the run, kept by the report or not, by kind, severity,
/// close cause (connection ends) and whether an ERR 1153 was on the wire
/// (oversize packets): what the verdict is made of, exact whatever the caps.
pub(super) type Tally = BTreeMap<(FindingKind, Severity, Option<CloseCause>, bool), u64>;

/// Counts `f` (`n` times) in `t`.
pub(super) fn count(t: &mut Tally, f: &Finding, n: u64) {
    *t.entry((f.kind, f.severity, f.close_cause(), f.evidence.error_code() == Some(1153))).or_insert(0) += n;
}

/// Importance of a kind within one severity (lower first).
fn rank(k: FindingKind) -> u8 {
    use FindingKind::*;
    match k {
        OversizePacket => 0,
        ConnectionDrop => 1,
        TooManyConnections => 2,
        SeqOutOfOrder => 3,
        ClientLimit => 4,
        StatementError => 5,
        LimitContradicted => 6,
        NearLimitPacket => 7,
        SlowCommand => 8,
        NoMysqlTraffic => 0,
        CaptureDrops | CaptureHealth | TcpGap => 9,
        ProtocolError => 10,
        MidStream | TlsOpaque | HandshakeIncomplete => 11,
    }
}

fn drop_phrase(c: CloseCause) -> &'static str {
    use CloseCause::*;
    match c {
        Killed => "killed",
        ServerErrorClose => "closed by the server after an error",
        ServerIdleTimeout => "closed by the server's idle timeout",
        ServerClosed | ServerReset => "dropped by the server",
        ClientReset => "reset by the client",
        ClientAborted => "abandoned by the client",
        Refused => "refused",
        AuthFailed => "rejected at login",
        Evicted => "no longer tracked",
        ClosedInsideTls => "closed inside TLS",
        ClientQuit | OpenAtCaptureEnd => "ended",
    }
}

/// What one kind of finding contributes to the verdict.
fn part(kind: FindingKind, t: &Tally, statement_errors: &[(u16, u64)]) -> String {
    let mine = || t.iter().filter(|((k, s, _, _), _)| *k == kind && *s >= Severity::Warning);
    let n: u64 = mine().map(|(_, n)| *n).sum();
    let s = |n: u64| if n == 1 { "" } else { "s" };
    match kind {
        FindingKind::OversizePacket => {
            let seen: u64 = mine().filter(|((_, _, _, e), _)| *e).map(|(_, n)| *n).sum();
            if seen == n {
                format!("{n} packet{} over max_allowed_packet rejected with ERR 1153", s(n))
            } else if seen == 0 {
                format!("{n} packet{} likely over max_allowed_packet (no reply, the server closed; no ERR 1153 on the wire)", s(n))
            } else {
                format!("{n} packet{} over max_allowed_packet ({seen} rejected with ERR 1153, the others likely)", s(n))
            }
        }
        FindingKind::ConnectionDrop => {
            let mut by: Vec<(CloseCause, u64)> = Vec::new();
            for ((_, _, c, _), k) in mine() {
                let Some(c) = c else { continue };
                match by.iter_mut().find(|(x, _)| x == c) {
                    Some((_, n)) => *n += k,
                    None => by.push((*c, *k)),
                }
            }
            // the leading cause first; ties in cause order
            by.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            match by.as_slice() {
                [(c, _)] => format!("{n} connection{} {}", s(n), drop_phrase(*c)),
                many => {
                    let each: Vec<String> = many.iter().take(3).map(|(c, k)| format!("{k} {}", drop_phrase(*c))).collect();
                    format!("{n} connections lost ({}{})", each.join(", "), if many.len() > 3 { ", ..." } else { "" })
                }
            }
        }
        FindingKind::StatementError => {
            let total: u64 = statement_errors.iter().map(|c| c.1).sum();
            let top: Vec<String> = statement_errors.iter().take(3).map(|(c, k)| format!("{c} x{}", commas(*k))).collect();
            let more = if statement_errors.len() > 3 { format!(" and {} more code(s)", statement_errors.len() - 3) } else { String::new() };
            format!("{} statement{} failed (ERR {}{more})", commas(total), s(total), top.join(", "))
        }
        FindingKind::TooManyConnections => "the server refused connections (too many connections / host blocked)".into(),
        FindingKind::SeqOutOfOrder => format!("{n} connection{} broke packet sequence ids", s(n)),
        FindingKind::ClientLimit => format!("{n} connection{} hit the client's own max_allowed_packet", s(n)),
        FindingKind::LimitContradicted => "a claimed max_allowed_packet is contradicted by the wire".into(),
        FindingKind::NearLimitPacket => format!("{n} packet{} near max_allowed_packet", s(n)),
        FindingKind::SlowCommand => format!("{n} slow command{}", s(n)),
        FindingKind::TcpGap => format!("{n} connection{} lost bytes to capture gaps", s(n)),
        FindingKind::CaptureDrops => "the capture dropped packets".into(),
        FindingKind::CaptureHealth => "frames could not be decoded".into(),
        FindingKind::NoMysqlTraffic => "no MySQL traffic found".into(),
        FindingKind::ProtocolError => format!("{n} connection{} with protocol anomalies", s(n)),
        FindingKind::MidStream | FindingKind::TlsOpaque | FindingKind::HandshakeIncomplete => format!("{n} {}", kind.as_str()),
    }
}

/// The verdict from the run's tally; `statement_errors`: failed statements by
/// code, most frequent first; `cr`, `wa`: critical and warning findings.
pub(super) fn verdict(t: &Tally, statement_errors: &[(u16, u64)], cr: usize, wa: usize, connections: u64) -> String {
    if cr == 0 && wa == 0 {
        return format!("OK: {connections} MySQL connection(s), no errors, no warnings.");
    }
    let mut kinds: Vec<(Severity, FindingKind)> = Vec::new();
    for ((kind, sev, _, _), _) in t.iter().filter(|((_, s, _, _), n)| *s >= Severity::Warning && **n > 0) {
        match kinds.iter_mut().find(|(_, k)| k == kind) {
            // the most severe instance of a kind decides its place
            Some((s, _)) => *s = (*s).max(*sev),
            None => kinds.push((*sev, *kind)),
        }
    }
    kinds.sort_by(|a, b| b.0.cmp(&a.0).then(rank(a.1).cmp(&rank(b.1))));
    let parts: Vec<String> = kinds.iter().take(3).map(|(_, k)| part(*k, t, statement_errors)).collect();
    let more = if kinds.len() > 3 { "; and more" } else { "" };
    let level = if cr > 0 { "CRITICAL" } else { "WARNING" };
    format!("{level}: {}{more} ({cr} critical, {wa} warning).", parts.join("; "))
}
