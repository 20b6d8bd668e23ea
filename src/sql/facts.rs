//! What the session learns from a statement's text: KILL targets and SET of
//! the server variables the detectors use.

use crate::model::VarSource;

/// A `KILL [CONNECTION|QUERY] n` statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KillTarget {
    /// The thread id.
    pub id: u32,
    /// `KILL QUERY`: the connection survives.
    pub query_only: bool,
}

/// A `SET [GLOBAL] var = value` of a variable the detectors use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VarSet {
    /// Lower-case name.
    pub name: &'static str,
    /// The value as written (lower-case).
    pub value: String,
    /// `SetGlobal` or `SetSession`.
    pub scope: VarSource,
}

/// What one statement tells about the server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// The KILL it sends, if any.
    pub kill: Option<KillTarget>,
    /// Variables it sets.
    pub sets: Vec<VarSet>,
}

/// The variables a SET is scanned for.
const SET_VARS: [&str; 4] = ["max_allowed_packet", "wait_timeout", "interactive_timeout", "net_read_timeout"];

/// Scans a statement for a KILL and for SETs of [`SET_VARS`]; `None` for
/// every statement that is neither (decided without allocating).
pub fn facts(sql: &str) -> Option<Facts> {
    let t = sql.trim_start();
    let head = t.as_bytes().get(..4).unwrap_or(b"");
    if !head.eq_ignore_ascii_case(b"kill") && !head.get(..3).is_some_and(|h| h.eq_ignore_ascii_case(b"set")) {
        return None;
    }
    let mut out = Facts::default();
    let lower: String = t.chars().take(200).collect::<String>().to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("kill") {
        let rest = rest.trim_start();
        let (query_only, rest) =
            if let Some(r) = rest.strip_prefix("query") { (true, r) } else { (false, rest.strip_prefix("connection").unwrap_or(rest)) };
        let rest = rest.trim_start();
        let rest = rest.strip_prefix("hard").or_else(|| rest.strip_prefix("soft")).unwrap_or(rest).trim_start();
        let rest = rest.strip_prefix("query").map(|r| r.trim_start()).unwrap_or(rest);
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if let Ok(id) = digits.parse() {
            out.kill = Some(KillTarget { id, query_only });
        }
    }
    if lower.starts_with("set") {
        for var in SET_VARS {
            if let Some(pos) = lower.find(var) {
                let scope = if lower[..pos].contains("global") { VarSource::SetGlobal } else { VarSource::SetSession };
                let after = lower[pos + var.len()..].trim_start();
                let after = after.strip_prefix(":=").or_else(|| after.strip_prefix('=')).unwrap_or(after).trim_start();
                let value: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || "*+".contains(*c)).collect();
                if !value.is_empty() {
                    out.sets.push(VarSet { name: var, value, scope });
                }
            }
        }
    }
    Some(out)
}

/// Case-insensitive substring test for a needle containing `_`: the underscore
/// (case-free and rare in SQL, absent from hex BLOB literals) is found with
/// SIMD `memchr`, and only the window around each one is compared. Scanning
/// every window of each query was 7% of a whole OLTP analysis.
pub fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    let Some(anchor) = needle.iter().position(|&b| b == b'_') else {
        return hay.len() >= needle.len() && hay.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle));
    };
    memchr::memchr_iter(b'_', hay).any(|at| {
        at.checked_sub(anchor).and_then(|start| hay.get(start..start + needle.len())).is_some_and(|w| w.eq_ignore_ascii_case(needle))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_ci_finds_keywords_in_any_case_and_position() {
        assert!(contains_ci(b"SHOW VARIABLES LIKE 'max_allowed_packet'", b"max_allowed_packet"));
        assert!(contains_ci(b"set global MAX_ALLOWED_PACKET=1", b"max_allowed_packet"));
        assert!(contains_ci(b"max_allowed_packet", b"max_allowed_packet"));
        assert!(contains_ci(b"select @@wait_timeout", b"wait_timeout"));
        // underscores that do not anchor the needle, and a needle cut off by the end
        assert!(!contains_ci(b"_ax_allowed_packet", b"max_allowed_packet"));
        assert!(!contains_ci(b"select 1 from t_1 where max_allowed_packe", b"max_allowed_packet"));
        assert!(!contains_ci(b"_", b"max_allowed_packet"));
        assert!(!contains_ci(b"", b"wait_timeout"));
        // needles without an underscore still work
        assert!(contains_ci(b"xx KiLl yy", b"kill"));
    }

    #[test]
    fn kill_and_set_statements() {
        assert_eq!(facts("KILL 42").unwrap().kill, Some(KillTarget { id: 42, query_only: false }));
        assert_eq!(facts("kill query 7").unwrap().kill, Some(KillTarget { id: 7, query_only: true }));
        assert_eq!(facts("KILL HARD QUERY 9").unwrap().kill, Some(KillTarget { id: 9, query_only: false }));
        let f = facts("SET GLOBAL max_allowed_packet = 16M").unwrap();
        assert_eq!(f.sets, vec![VarSet { name: "max_allowed_packet", value: "16m".into(), scope: VarSource::SetGlobal }]);
        assert_eq!(facts("set wait_timeout:=5").unwrap().sets[0].scope, VarSource::SetSession);
        assert_eq!(facts("SELECT 1"), None);
    }
}
