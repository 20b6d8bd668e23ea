//! Claims about max_allowed_packet that the wire contradicts: a
//! `--max-allowed-packet` value, or one seen in the traffic, when the server
//! rejected a packet at or below it (ERR 1153) or answered one above it. The
//! evidence wins (the limit is bounded by what was rejected and accepted), and
//! a finding says so, with what else could explain the difference.

use super::limit::{Against, Conflict, LimitInfo, LimitSource};
use crate::model::{Evidence, FindingKind, LimitContradicted, Severity};
use crate::report::fmt::size;
use crate::report::model::Finding;

const ELSEWHERE: &str = "What else could explain it: a session value (SET SESSION max_allowed_packet, or the value a connection got when it connected, before a later SET GLOBAL), a proxy between client and server with its own limit (ProxySQL's mysql-max_allowed_packet, MaxScale), or a value that is not this server's.";

fn claim(c: &Conflict) -> String {
    match &c.source {
        LimitSource::CommandLine => format!("--max-allowed-packet {}", size(c.claimed)),
        LimitSource::Traffic { connection, how } => format!(
            "max_allowed_packet = {} ({how} on connection #{connection}{})",
            size(c.claimed),
            c.claimed_at.map(|t| format!(" at {}", t.clock())).unwrap_or_default()
        ),
        other => format!("max_allowed_packet = {} ({})", size(c.claimed), other.describe()),
    }
}

/// One finding per contradicted claim.
pub(super) fn findings(lim: &LimitInfo) -> Vec<Finding> {
    let mut out = Vec::new();
    for c in &lim.conflicts {
        let bounds = match (lim.lower_bound, lim.upper_bound) {
            (Some(l), Some(u)) if l < u => format!(
                " The evidence puts the limit between {} (the largest packet accepted) and {} (the smallest rejected).",
                size(l),
                size(u)
            ),
            (_, Some(u)) => format!(" The evidence puts the limit below {} (the smallest packet rejected).", size(u)),
            (Some(l), None) => format!(" The evidence puts the limit at {} or more (the largest packet accepted).", size(l)),
            _ => String::new(),
        };
        let (title, detail, evidence, packet, conn, ts) = match c.against {
            Against::Rejected(r) => (
                format!("{} cannot be the limit: the server rejected {} with ERR 1153", claim(c), size(r.bytes)),
                format!(
                    "The server answered a packet of {} on connection #{} with ERR 1153, so the limit that applied there is below {}, not {}.{bounds} {ELSEWHERE} The analysis uses the evidence, not the claim.",
                    size(r.bytes),
                    r.conn,
                    size(r.bytes),
                    size(c.claimed)
                ),
                "rejected",
                r.bytes,
                r.conn,
                r.ts,
            ),
            Against::Accepted(a) if c.stands => (
                format!("connection #{} was allowed more than {}", a.conn, claim(c)),
                format!(
                    "Connection #{} sent a packet of {} and the server answered it, although the traffic shows {}. That connection began at {}, before the value was seen: a session keeps the max_allowed_packet it had when it connected, and a SET GLOBAL applies only to new connections. New connections get {}.",
                    a.conn,
                    size(a.bytes),
                    size(c.claimed),
                    a.conn_start.clock(),
                    size(c.claimed)
                ),
                "accepted",
                a.bytes,
                a.conn,
                a.ts,
            ),
            Against::Accepted(a) => (
                format!("{} cannot be the limit: the server accepted {}", claim(c), size(a.bytes)),
                format!(
                    "The server answered a packet of {} on connection #{}, so the limit that applied there is at least that, not {}.{bounds} {ELSEWHERE} The analysis uses the evidence, not the claim.",
                    size(a.bytes),
                    a.conn,
                    size(c.claimed)
                ),
                "accepted",
                a.bytes,
                a.conn,
                a.ts,
            ),
        };
        let ev = Evidence::LimitContradicted(LimitContradicted {
            claimed_bytes: c.claimed,
            claimed_source: c.source.key(),
            evidence,
            packet_bytes: packet,
            packet_connection: conn,
            lower_bound: lim.lower_bound,
            upper_bound: lim.upper_bound,
        });
        // an older session explains it: context, not a contradiction of the value
        let sev = if c.stands { Severity::Info } else { Severity::Warning };
        let mut f = Finding::new(FindingKind::LimitContradicted, sev, title, detail, ev);
        f.connection = Some(conn);
        f.ts = Some(ts);
        out.push(f);
    }
    out
}
