//! The effective `max_allowed_packet`: from the command line, else learned
//! from the traffic, else bounded by ERR 1153, else the version default.

use super::{ConnVar, Rejected};
use crate::model::VarSource;
use crate::time::Timestamp;
use serde::Serialize;

/// Where the limit came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LimitSource {
    /// `--max-allowed-packet`.
    CommandLine,
    /// Observed in the traffic (SHOW VARIABLES, SELECT @@, SET GLOBAL).
    Traffic {
        /// Connection it was seen on.
        connection: u64,
        /// How it was seen.
        how: VarSource,
    },
    /// Bounded by ERR 1153 and by the largest packet accepted (no value visible).
    Inferred,
    /// The default of the server version in the greeting.
    VersionDefault {
        /// The version string.
        version: String,
    },
    /// Nothing known.
    Unknown,
}

impl LimitSource {
    /// Short machine key.
    pub fn key(&self) -> &'static str {
        match self {
            LimitSource::CommandLine => "command_line",
            LimitSource::Traffic { .. } => "traffic",
            LimitSource::Inferred => "inferred",
            LimitSource::VersionDefault { .. } => "version_default",
            LimitSource::Unknown => "unknown",
        }
    }

    /// Human text.
    pub fn describe(&self) -> String {
        match self {
            LimitSource::CommandLine => "given with --max-allowed-packet".into(),
            LimitSource::Traffic { connection, how } => format!("seen in the traffic: {how} on connection #{connection}"),
            LimitSource::Inferred => "inferred from what the server accepted and rejected".into(),
            LimitSource::VersionDefault { version } => format!("default for {version}; not observed"),
            LimitSource::Unknown => "unknown".into(),
        }
    }
}

/// The effective limit.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct LimitInfo {
    /// The limit in bytes, when known (a claim the wire does not contradict).
    pub bytes: Option<u64>,
    /// Where it came from.
    pub source: LimitSource,
    /// Exclusive upper bound implied by a rejected packet (ERR 1153).
    pub upper_bound: Option<u64>,
    /// Lower bound implied by the largest packet the server accepted.
    pub lower_bound: Option<u64>,
    /// Claims the wire contradicts (reported as `limit_contradicted` findings).
    #[serde(skip)]
    pub conflicts: Vec<Conflict>,
}

/// What the wire showed against a claimed limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Against {
    /// A packet of this size (at or below the claim) was rejected with ERR 1153.
    Rejected(Rejected),
    /// A packet of this size (above the claim) was answered.
    Accepted(Accepted),
}

/// A claimed max_allowed_packet that the wire contradicts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The claimed value.
    pub claimed: u64,
    /// Where the claim came from.
    pub source: LimitSource,
    /// When the claim was seen in the traffic (a SHOW VARIABLES, a SET GLOBAL).
    pub claimed_at: Option<Timestamp>,
    /// The packet that contradicts it.
    pub against: Against,
    /// The claim still stands for new connections: only an older session
    /// (one that connected before the claim was seen) accepted more.
    pub stands: bool,
}

/// The largest request a server answered, on which connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Accepted {
    /// Its size.
    pub bytes: u64,
    /// Its connection.
    pub conn: u64,
    /// When that connection began.
    pub conn_start: Timestamp,
    /// When the packet was sent.
    pub ts: Timestamp,
}

/// Parses `1048576`, `16M`, `1G`, `64k`, `1024*1024*256`.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.contains('*') {
        return s.split('*').map(parse_size).try_fold(1u64, |acc, v| v.and_then(|v| acc.checked_mul(v)));
    }
    let (num, mult) = match s.chars().last()?.to_ascii_uppercase() {
        'K' => (&s[..s.len() - 1], 1u64 << 10),
        'M' => (&s[..s.len() - 1], 1 << 20),
        'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.trim().parse::<u64>().ok()?.checked_mul(mult)
}

/// Default max_allowed_packet for a server version string: MySQL 8.0+ 64M,
/// 5.6.6 to 5.7 4M, older 1M; MariaDB 10.2.4+ 16M, 10.1.7 to 10.2.3 4M, older 1M
/// (MariaDB's greeting says `5.5.5-10.x.y-MariaDB`).
pub fn version_default(v: &str) -> Option<u64> {
    let mariadb = v.contains("MariaDB");
    let core = v.strip_prefix("5.5.5-").filter(|_| mariadb).unwrap_or(v);
    let mut it = core.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).map(|s| s.parse::<u32>().unwrap_or(0));
    let (maj, min, patch) = (it.next()?, it.next().unwrap_or(0), it.next().unwrap_or(0));
    let at_least = |a: u32, b: u32, c: u32| (maj, min, patch) >= (a, b, c);
    Some(if mariadb {
        if at_least(10, 2, 4) {
            16 << 20
        } else if at_least(10, 1, 7) {
            4 << 20
        } else {
            1 << 20
        }
    } else if at_least(8, 0, 0) {
        64 << 20
    } else if at_least(5, 6, 6) {
        4 << 20
    } else {
        1 << 20
    })
}

/// Combines all sources: a claim (the command line, then a value seen in the
/// traffic, then the version default) stands only when the wire does not
/// contradict it; the evidence (ERR 1153 and the largest packet accepted)
/// bounds the limit whatever the claims say.
pub fn effective(cli: Option<u64>, vars: &[ConnVar], versions: &[String], rejected: &[Rejected], accepted: Accepted) -> LimitInfo {
    let upper = rejected.iter().map(|r| r.bytes).filter(|&b| b > 0).min();
    let lower = (accepted.bytes > 0).then_some(accepted.bytes);
    let mut conflicts = Vec::new();
    let info = |bytes: Option<u64>, source: LimitSource, conflicts: Vec<Conflict>| LimitInfo {
        bytes,
        source,
        upper_bound: upper,
        lower_bound: lower,
        conflicts,
    };
    // what the wire says against `v`: a rejection at or below it is decisive
    let against = |v: u64| -> Option<Against> {
        if let Some(r) = rejected.iter().filter(|r| r.bytes > 0 && r.bytes <= v).min_by_key(|r| r.bytes) {
            return Some(Against::Rejected(*r));
        }
        (accepted.bytes > v).then_some(Against::Accepted(accepted))
    };
    if let Some(b) = cli {
        match against(b) {
            None => return info(Some(b), LimitSource::CommandLine, conflicts),
            Some(a) => {
                conflicts.push(Conflict { claimed: b, source: LimitSource::CommandLine, claimed_at: None, against: a, stands: false })
            }
        }
    }
    let seen = vars
        .iter()
        .filter(|v| v.var.name == "max_allowed_packet" && v.var.how != VarSource::SetSession)
        .filter_map(|v| parse_size(&v.var.value).map(|b| (v.conn, &v.var, b)))
        .next_back();
    if let Some((c, v, b)) = seen {
        let source = LimitSource::Traffic { connection: c, how: v.how };
        match against(b) {
            None => return info(Some(b), source, conflicts),
            Some(a) => {
                // a session that began before the value was seen may hold an older one
                let stands = matches!(a, Against::Accepted(acc) if acc.conn_start < v.ts);
                conflicts.push(Conflict { claimed: b, source: source.clone(), claimed_at: Some(v.ts), against: a, stands });
                if stands {
                    return info(Some(b), source, conflicts);
                }
            }
        }
    }
    if let Some((v, b)) = versions.iter().find_map(|v| version_default(v).map(|b| (v, b)))
        && against(b).is_none()
    {
        // a default is a guess: the wire overruling it needs no finding
        return info(Some(b), LimitSource::VersionDefault { version: v.clone() }, conflicts);
    }
    if upper.is_some() || lower.is_some() && (cli.is_some() || seen.is_some() || !versions.is_empty()) {
        return info(None, LimitSource::Inferred, conflicts);
    }
    info(None, LimitSource::Unknown, conflicts)
}

/// Rounds up to a sensible unit: a power of two MiB up to 64 MiB, then a multiple of 64 MiB; 1 GiB max.
pub fn round_unit(n: u64) -> u64 {
    let mib = 1u64 << 20;
    let r = if n <= 64 * mib { n.max(mib).next_power_of_two() } else { n.div_ceil(64 * mib) * 64 * mib };
    r.min(1 << 30)
}

/// The recommended limit for a largest packet: +25 % headroom, rounded up.
pub fn recommend(largest: u64) -> u64 {
    round_unit(largest.saturating_add(largest / 4))
}

/// `16M`, `1G`, or bytes.
pub fn unit(n: u64) -> String {
    if n.is_multiple_of(1 << 30) {
        format!("{}G", n >> 30)
    } else if n.is_multiple_of(1 << 20) {
        format!("{}M", n >> 20)
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("1048576"), Some(1_048_576));
        assert_eq!(parse_size("16M"), Some(16 << 20));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("1024*1024*256"), Some(256 << 20));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("99999999999999999999G"), None);
    }

    #[test]
    fn defaults_by_version() {
        assert_eq!(version_default("5.5.5-10.11.19-MariaDB-0+deb12u1"), Some(16 << 20));
        assert_eq!(version_default("8.0.32"), Some(64 << 20));
        assert_eq!(version_default("5.7.25"), Some(4 << 20));
        assert_eq!(version_default("5.5.62"), Some(1 << 20));
        assert_eq!(version_default("5.6.5-m8"), Some(1 << 20));
        assert_eq!(version_default("5.6.6"), Some(4 << 20));
        assert_eq!(version_default("8.4.2"), Some(64 << 20));
        assert_eq!(version_default("5.5.5-10.2.3-MariaDB"), Some(4 << 20));
        assert_eq!(version_default("5.5.5-10.1.6-MariaDB"), Some(1 << 20));
        assert_eq!(version_default("10.2.4-MariaDB"), Some(16 << 20));
    }

    #[test]
    fn evidence_beats_version_default() {
        let v = vec!["5.5.5-10.11.19-MariaDB".to_string()];
        let acc = |bytes| Accepted { bytes, conn: 0, conn_start: Timestamp(0), ts: Timestamp(0) };
        let d = effective(None, &[], &v, &[], acc(1000));
        assert_eq!((d.bytes, d.source.key()), (Some(16 << 20), "version_default"));
        let raised = effective(None, &[], &v, &[], acc(35_660_258));
        assert_eq!((raised.bytes, raised.source.key(), raised.lower_bound), (None, "inferred", Some(35_660_258)));
        assert!(raised.conflicts.is_empty(), "a default is a guess: no conflict");
        let rejected = effective(None, &[], &v, &[Rejected { conn: 0, bytes: 6_000_037, ts: Timestamp(0) }], acc(100));
        assert_eq!((rejected.bytes, rejected.upper_bound), (None, Some(6_000_037)));
        let cli = effective(Some(1 << 20), &[], &v, &[Rejected { conn: 0, bytes: 6_000_037, ts: Timestamp(0) }], acc(100));
        assert_eq!((cli.bytes, cli.source.key()), (Some(1 << 20), "command_line"));
    }

    #[test]
    fn r13_a_flag_the_wire_contradicts_gives_way_to_the_evidence() {
        let v = vec!["5.5.5-10.11.19-MariaDB".to_string()];
        let acc = Accepted { bytes: 864_030, conn: 0, conn_start: Timestamp(0), ts: Timestamp(0) };
        let r = effective(Some(16 << 20), &[], &v, &[Rejected { conn: 0, bytes: 6_000_037, ts: Timestamp(0) }], acc);
        assert_eq!((r.bytes, r.source.key(), r.lower_bound, r.upper_bound), (None, "inferred", Some(864_030), Some(6_000_037)));
        assert_eq!(r.conflicts.len(), 1);
        assert!(matches!(r.conflicts[0].against, Against::Rejected(Rejected { bytes: 6_000_037, .. })));
        // accepted above the claim
        let big = Accepted { bytes: 4 << 20, conn: 3, conn_start: Timestamp(0), ts: Timestamp(0) };
        let r = effective(Some(1 << 20), &[], &v, &[], big);
        // the flag gives way; the version default agrees with the evidence
        assert_eq!((r.bytes, r.source.key(), r.conflicts.len()), (Some(16 << 20), "version_default", 1));
        assert!(matches!(r.conflicts[0].against, Against::Accepted(Accepted { conn: 3, .. })));
    }

    #[test]
    fn recommendation_rounding() {
        assert_eq!(recommend(6_000_037), 8 << 20);
        assert_eq!(unit(recommend(6_000_037)), "8M");
        assert_eq!(recommend(60 << 20), 128 << 20);
        assert_eq!(recommend(2 << 30), 1 << 30);
    }
}
