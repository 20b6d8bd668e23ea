//! The effective `max_allowed_packet`: from the command line, else learned
//! from the traffic, else bounded by ERR 1153, else the version default.

use super::{ConnVar, Rejected};
use crate::model::VarSource;
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
    /// The limit in bytes, when known.
    pub bytes: Option<u64>,
    /// Where it came from.
    pub source: LimitSource,
    /// Exclusive upper bound implied by a rejected packet (ERR 1153).
    pub upper_bound: Option<u64>,
    /// Lower bound implied by the largest packet the server accepted.
    pub lower_bound: Option<u64>,
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

/// Default max_allowed_packet for a server version string.
pub fn version_default(v: &str) -> Option<u64> {
    let mariadb = v.contains("MariaDB");
    let core = v.strip_prefix("5.5.5-").filter(|_| mariadb).unwrap_or(v);
    let mut it = core.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).map(|s| s.parse::<u32>().unwrap_or(0));
    let (maj, min) = (it.next()?, it.next().unwrap_or(0));
    Some(if mariadb {
        if (maj, min) >= (10, 2) { 16 << 20 } else { 4 << 20 }
    } else if maj >= 8 {
        64 << 20
    } else if (maj, min) >= (5, 6) {
        4 << 20
    } else {
        1 << 20
    })
}

/// Combines all sources (see module docs).
pub fn effective(cli: Option<u64>, vars: &[ConnVar], versions: &[String], rejected: &[Rejected], accepted: u64) -> LimitInfo {
    let upper = rejected.iter().map(|r| r.bytes).filter(|&b| b > 0).min();
    let lower = if accepted > 0 { Some(accepted) } else { None };
    if let Some(b) = cli {
        return LimitInfo { bytes: Some(b), source: LimitSource::CommandLine, upper_bound: upper, lower_bound: lower };
    }
    let seen = vars
        .iter()
        .filter(|v| v.var.name == "max_allowed_packet" && v.var.how != VarSource::SetSession)
        .filter_map(|v| parse_size(&v.var.value).map(|b| (v.conn, &v.var, b)))
        .next_back();
    if let Some((c, v, b)) = seen {
        return LimitInfo {
            bytes: Some(b),
            source: LimitSource::Traffic { connection: c, how: v.how },
            upper_bound: upper,
            lower_bound: lower,
        };
    }
    if upper.is_some() {
        return LimitInfo { bytes: None, source: LimitSource::Inferred, upper_bound: upper, lower_bound: lower };
    }
    if let Some((v, b)) = versions.iter().find_map(|v| version_default(v).map(|b| (v, b))) {
        // The server accepted a larger packet: its limit was raised; the default is wrong.
        if accepted > b {
            return LimitInfo { bytes: None, source: LimitSource::Inferred, upper_bound: None, lower_bound: lower };
        }
        return LimitInfo {
            bytes: Some(b),
            source: LimitSource::VersionDefault { version: v.clone() },
            upper_bound: None,
            lower_bound: lower,
        };
    }
    LimitInfo { bytes: None, source: LimitSource::Unknown, upper_bound: None, lower_bound: lower }
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
    }

    #[test]
    fn evidence_beats_version_default() {
        let v = vec!["5.5.5-10.11.19-MariaDB".to_string()];
        let d = effective(None, &[], &v, &[], 1000);
        assert_eq!((d.bytes, d.source.key()), (Some(16 << 20), "version_default"));
        let raised = effective(None, &[], &v, &[], 35_660_258);
        assert_eq!((raised.bytes, raised.source.key(), raised.lower_bound), (None, "inferred", Some(35_660_258)));
        let rejected = effective(None, &[], &v, &[Rejected { conn: 0, bytes: 6_000_037 }], 100);
        assert_eq!((rejected.bytes, rejected.upper_bound), (None, Some(6_000_037)));
        let cli = effective(Some(1 << 20), &[], &v, &[Rejected { conn: 0, bytes: 6_000_037 }], 100);
        assert_eq!((cli.bytes, cli.source.key()), (Some(1 << 20), "command_line"));
    }

    #[test]
    fn recommendation_rounding() {
        assert_eq!(recommend(6_000_037), 8 << 20);
        assert_eq!(unit(recommend(6_000_037)), "8M");
        assert_eq!(recommend(60 << 20), 128 << 20);
        assert_eq!(recommend(2 << 30), 1 << 30);
    }
}
