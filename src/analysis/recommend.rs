//! What to change, from the evidence: max_allowed_packet sized from the
//! largest packet seen, keeping statements small, pool settings against
//! wait_timeout, and a better capture when data was lost.

use super::Rejected;
use super::limit::{self, LimitInfo};
use super::oversize::is_hex_literal_insert;
use crate::model::{CloseCause, FindingKind};
use crate::report::fmt::{commas, size};
use crate::report::model::{ConnReport, Finding, Recommendation, RecommendationKind};

pub(super) fn recommendations(conns: &[ConnReport], findings: &[Finding], rejected: &[Rejected], lim: &LimitInfo) -> Vec<Recommendation> {
    let mut out = Vec::new();
    let rejected_max = rejected.iter().map(|r| r.bytes).max();
    let near: Option<u64> =
        findings.iter().filter(|f| f.kind == FindingKind::NearLimitPacket).filter_map(|f| f.evidence.packet_bytes()).max();
    if let Some(biggest) = rejected_max.or(near) {
        // never "raise" to a value at or below what is already known to be allowed
        let floor = lim.bytes.into_iter().chain(lim.lower_bound).max().unwrap_or(0);
        let mut rec = limit::recommend(biggest);
        if rec <= floor {
            rec = limit::round_unit(floor + 1);
        }
        // the largest value sent: half the packet when it went out as a hex literal
        let hex = conns
            .iter()
            .flat_map(|c| &c.commands)
            .any(|c| c.request_bytes == biggest && c.sql.as_deref().is_some_and(is_hex_literal_insert));
        let value = if hex { biggest / 2 } else { biggest };
        let ten_x = limit::round_unit((value.saturating_mul(10)).min(1 << 30));
        let current = match (lim.bytes, lim.upper_bound) {
            (Some(l), _) => format!("Current value: {} ({}).", size(l), lim.source.describe()),
            (None, Some(u)) => match lim.lower_bound {
                Some(l) if l < u => {
                    format!("Current value: between {} and {} (inferred from what the server accepted and rejected).", size(l), size(u))
                }
                _ => format!("Current value: below {} (inferred from ERR 1153).", size(u)),
            },
            _ => String::new(),
        };
        out.push(Recommendation {
            kind: RecommendationKind::MaxAllowedPacket,
            title: format!("Raise max_allowed_packet to {} (largest packet seen: {})", limit::unit(rec), size(biggest)),
            detail: format!(
                "Sized from evidence: the largest packet the clients sent is {} and needs max_allowed_packet >= {}; {} adds headroom. Rule of thumb (generous): about 10x the largest BLOB/TEXT value sent, here at most {}. The server allocates up to this much per connection buffer, so do not set it far above need. SET GLOBAL applies to new connections only: reconnect the pool afterwards. Clients have their own limit too (the driver's max_allowed_packet / maxAllowedPacket option). {current}",
                size(biggest),
                commas(biggest),
                limit::unit(rec),
                limit::unit(ten_x),
            ),
            my_cnf: Some(format!("[mysqld]\nmax_allowed_packet={}", limit::unit(rec))),
            sql: Some(format!("SET GLOBAL max_allowed_packet = {rec};")),
            client: Some(format!(
                "mysql --max-allowed-packet={0}; connectors: max_allowed_packet={rec} (PyMySQL, mysql-connector), maxAllowedPacket={rec} (Connector/J)",
                limit::unit(rec)
            )),
        });
        let multi = findings
            .iter()
            .filter(|f| matches!(f.kind, FindingKind::OversizePacket | FindingKind::NearLimitPacket))
            .filter_map(|f| f.evidence.values_rows())
            .filter(|v| v.rows_estimated > 1)
            .max_by_key(|v| v.bytes_per_row);
        // what a statement must stay under: half a known limit, else the largest
        // packet the server is known to have accepted
        let keep_under = match (lim.bytes, lim.lower_bound) {
            (Some(l), _) => Some((l / 2, "half the limit")),
            (None, Some(l)) => Some((l, "the largest packet the server accepted")),
            _ => None,
        };
        match multi {
            // batching advice only for statements that are many rows
            Some(v) => out.push(Recommendation {
                kind: RecommendationKind::Batching,
                title: "Or send fewer rows per statement".into(),
                detail: match keep_under {
                    Some((h, what)) => format!(
                        "The large statements are multi-row INSERT/REPLACEs of ~{} bytes per row: send at most {} rows per statement to stay under {} ({what}), or raise the limit.",
                        commas(v.bytes_per_row),
                        commas((h / v.bytes_per_row).max(1)),
                        size(h)
                    ),
                    None => format!(
                        "The large statements are multi-row INSERT/REPLACEs of ~{} bytes per row: send fewer rows per statement, or raise the limit.",
                        commas(v.bytes_per_row)
                    ),
                },
                my_cnf: None,
                sql: None,
                client: None,
            }),
            None => out.push(Recommendation {
                kind: RecommendationKind::LargeValues,
                title: "Or send large values in pieces".into(),
                detail: format!(
                    "The large packets carry single big values, so sending fewer rows cannot help: raise the limit, or write large values in chunks (UPDATE ... SET col = CONCAT(col, ?) in pieces, or COM_STMT_SEND_LONG_DATA with a prepared statement){}.",
                    keep_under.map(|(h, what)| format!(", keeping each statement under {} ({what})", size(h))).unwrap_or_default()
                ),
                my_cnf: None,
                sql: None,
                client: None,
            }),
        }
    }
    let client_max = findings
        .iter()
        .filter_map(|f| match &f.evidence {
            crate::model::Evidence::ClientLimit(e) => Some((e.packet_bytes, e.client_max_packet_size)),
            _ => None,
        })
        .max();
    if let Some((bytes, had)) = client_max {
        let rec = limit::recommend(bytes);
        out.push(Recommendation {
            kind: RecommendationKind::ClientMaxAllowedPacket,
            title: format!("Raise the client's max_allowed_packet to {} (it is {}; the server sent {})", limit::unit(rec), size(u64::from(had)), size(bytes)),
            detail: "The client's own limit refused a packet the server sent; the server's max_allowed_packet is not involved. Set it where the client is configured.".into(),
            my_cnf: Some(format!("[client]\nmax_allowed_packet={}", limit::unit(rec))),
            sql: None,
            client: Some(format!(
                "mysql --max-allowed-packet={0}; connectors: max_allowed_packet={rec} (PyMySQL, mysql-connector), maxAllowedPacket={rec} (Connector/J)",
                limit::unit(rec)
            )),
        });
    }
    let idle_drops: Vec<_> = conns.iter().filter(|c| c.close.cause == CloseCause::ServerIdleTimeout).collect();
    if !idle_drops.is_empty() {
        let used = idle_drops.iter().filter(|c| c.close.client_bytes_after_close > 0).count();
        out.push(Recommendation {
            kind: RecommendationKind::WaitTimeout,
            title: format!("{} connection(s) closed by wait_timeout; make the pool validate or recycle idle connections", idle_drops.len()),
            detail: format!("{used} of them were then used by the client and failed. Configure the pool's max idle time / max lifetime below the server's wait_timeout (or test connections on borrow), or raise wait_timeout if long idle connections are intended."),
            my_cnf: Some("[mysqld]\nwait_timeout=28800".into()),
            sql: Some("SET GLOBAL wait_timeout = 28800;".into()),
            client: None,
        });
    }
    let gaps: u64 = conns.iter().map(|c| c.tcp.gaps).sum();
    if gaps > 0 {
        out.push(Recommendation {
            kind: RecommendationKind::Capture,
            title: "Capture lost data: re-capture with a larger buffer and full snaplen".into(),
            detail: "Use `tcpdump -i IFACE -s 0 -B 65536 -w FILE 'tcp port 3306'` (or `mywire live -w FILE`) on the database host, so conclusions are not weakened by gaps.".into(),
            my_cnf: None,
            sql: None,
            client: None,
        });
    }
    out
}
