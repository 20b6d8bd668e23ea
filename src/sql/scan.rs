//! Per-query scans on the lexer, for the hot path: the rows of a multi-row
//! INSERT ([`values_rows`]), a statement's kind ([`statement_kind`]), the
//! statements of a multi-statement query ([`statements`]) and the KILLs and
//! SETs of watched server variables ([`scan_admin`]). Strings, comments and
//! quoted identifiers cannot fool them; executable comments are read as SQL.
//! None of them allocates.

use super::lexer::{Lexer, Token, TokenKind};
use crate::model::ValuesRows;

/// The server variables whose SETs the session records.
pub const WATCHED_VARS: [&str; 4] = ["max_allowed_packet", "wait_timeout", "interactive_timeout", "net_read_timeout"];

/// Longest SET value kept, in bytes; a longer expression is cut there.
pub const MAX_SET_VALUE_BYTES: usize = 64;

/// The first word of a statement, after comments (executable-comment markers
/// included) and opening parentheses: `SELECT` of `/* app */ (SELECT 1)`,
/// `SET` of `/*!40101 SET NAMES utf8 */`. `None` when it does not start with a word.
pub fn statement_kind(sql: &[u8]) -> Option<&[u8]> {
    Lexer::new(sql).significant().find(|t| !t.is_op(sql, b"(")).filter(|t| t.kind == TokenKind::Word).map(|t| t.text(sql))
}

/// The byte ranges of the statements of a multi-statement query, split at
/// each `;` that is not in a string, comment or quoted identifier (the `;`
/// not included); empty statements (only trivia) are left out.
pub fn statements(sql: &[u8]) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let mut lx = Lexer::new(sql);
    let mut start = 0;
    let mut any = false;
    let mut done = false;
    std::iter::from_fn(move || {
        while !done {
            match lx.next() {
                Some(t) if t.is_op(sql, b";") => {
                    let r = start..t.start;
                    start = t.end;
                    if std::mem::take(&mut any) {
                        return Some(r);
                    }
                }
                Some(t) => any |= !t.is_trivia(),
                None => {
                    done = true;
                    if any {
                        return Some(start..sql.len());
                    }
                }
            }
        }
        None
    })
}

/// Rows of a multi-row `INSERT`/`REPLACE ... VALUES (...), (...)` (also
/// `VALUE`, `VALUES ROW(...)`), counted on tokens: the statement must start
/// with INSERT or REPLACE (after comments), the rows are the parenthesised
/// groups after its first `VALUES` at depth 0, up to the first token that is
/// neither `,` nor `ROW` (`AS alias`, `ON DUPLICATE KEY UPDATE`, `;`).
///
/// `sql` is the kept text and `total_len` the whole statement's size (the
/// request packet, command byte included). When `sql` is whole (`sql.len() >=
/// total_len - 1`) the count is exact; otherwise `rows_estimated` extrapolates
/// the bytes per row seen over the rest of `total_len`. A first row cut
/// before its end gives `rows_seen: 0`, `rows_estimated: 1` and the bytes
/// from its `(` to the end of `total_len`. The contract and the figures are
/// those of `session::count_values_rows`, which this replaces.
pub fn values_rows(sql: &[u8], total_len: u64) -> Option<ValuesRows> {
    let mut lx = Lexer::new(sql);
    let first = lx.next_significant()?;
    if !(first.is_word(sql, b"INSERT") || first.is_word(sql, b"REPLACE")) {
        return None;
    }
    let mut depth = 0u32;
    // up to VALUES at depth 0, in this statement
    loop {
        let t = lx.next_significant()?;
        if depth == 0 && (t.is_word(sql, b"VALUES") || t.is_word(sql, b"VALUE")) {
            break;
        }
        if t.is_op(sql, b"(") {
            depth += 1;
        } else if t.is_op(sql, b")") {
            depth = depth.saturating_sub(1);
        } else if depth == 0 && t.is_op(sql, b";") {
            return None;
        }
    }
    let (mut first_row, mut last_end, mut rows) = (0usize, 0usize, 0u64);
    for t in lx.significant() {
        if depth == 0 {
            if t.is_op(sql, b"(") {
                if rows == 0 {
                    first_row = t.start;
                }
                depth = 1;
            } else if !(t.is_op(sql, b",") || t.is_word(sql, b"ROW")) {
                break;
            }
        } else if t.is_op(sql, b"(") {
            depth += 1;
        } else if t.is_op(sql, b")") {
            depth -= 1;
            if depth == 0 {
                rows += 1;
                last_end = t.end;
            }
        }
    }
    if rows == 0 {
        // one row that runs past the kept bytes: a single huge value
        return (depth > 0).then(|| ValuesRows {
            rows_seen: 0,
            bytes_per_row: total_len.saturating_sub(first_row as u64),
            rows_estimated: 1,
        });
    }
    let span = (last_end - first_row) as f64;
    let per_row = span / rows as f64;
    let whole = sql.len() as u64 >= total_len.saturating_sub(1);
    let rows_estimated =
        if whole { rows } else { ((total_len.saturating_sub(first_row as u64) as f64 / per_row).round() as u64).max(rows) };
    Some(ValuesRows { rows_seen: rows, bytes_per_row: (per_row.round() as u64).max(1), rows_estimated })
}

/// What a KILL stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KillTarget {
    /// `KILL n`, `KILL CONNECTION n`: the connection (thread) `n`.
    Connection,
    /// `KILL QUERY n`: the statement running on connection `n`.
    Query,
    /// MariaDB `KILL QUERY ID n`: the query whose query id is `n`.
    QueryId,
}

/// Scope of a SET.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `SET x=`, `SET SESSION x=`, `SET LOCAL x=`, `SET @@x=`, `SET @@session.x=`.
    Session,
    /// `SET GLOBAL x=`, `SET @@global.x=`.
    Global,
    /// `SET PERSIST x=`, `SET @@persist.x=` (MySQL 8: global, and kept across restarts).
    Persist,
    /// `SET PERSIST_ONLY x=` (MySQL 8: kept for the next start only).
    PersistOnly,
    /// MariaDB `SET STATEMENT x=... FOR stmt`: for that one statement.
    Statement,
}

/// One finding of [`scan_admin`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admin<'a> {
    /// `KILL [HARD|SOFT] [CONNECTION|QUERY [ID]] n`.
    Kill {
        /// The id.
        id: u64,
        /// What is killed.
        target: KillTarget,
    },
    /// An assignment to a watched variable.
    Set {
        /// The variable, as named in the watched list.
        name: &'static str,
        /// The value expression as written (trivia trimmed at both ends), at
        /// most [`MAX_SET_VALUE_BYTES`]: `16777216`, `16*1024*1024`, `DEFAULT`, `'8M'`.
        value: &'a [u8],
        /// Its scope.
        scope: Scope,
    },
}

/// Calls `f` for each `KILL` and each SET of a variable in `vars` (names
/// ASCII case-insensitive), in every statement of `sql`: `SET [GLOBAL|
/// SESSION|LOCAL|PERSIST|PERSIST_ONLY] var = expr [, ...]` with `:=` or `=`,
/// `@@var`, `@@global.var` (and the other scopes), a scope keyword carried
/// over to the next assignments as the server does, other SET forms (`SET
/// NAMES`, `SET PASSWORD`, user variables) skipped; MariaDB's `SET STATEMENT
/// ... FOR` with [`Scope::Statement`], the statement after `FOR` scanned too.
pub fn scan_admin<'a>(sql: &'a [u8], vars: &[&'static str], mut f: impl FnMut(Admin<'a>)) {
    let mut lx = Lexer::new(sql).significant().peekable();
    let mut at_start = true;
    while let Some(t) = lx.next() {
        if t.is_op(sql, b";") {
            at_start = true;
            continue;
        }
        if !at_start {
            continue;
        }
        at_start = false;
        if t.is_word(sql, b"KILL") {
            kill(sql, &mut lx, &mut f);
        } else if t.is_word(sql, b"SET") {
            at_start = set(sql, &mut lx, vars, &mut f);
        } else if memchr::memchr(b';', &sql[t.end..]).is_none() {
            // neither: only a later statement could be, and there is none
            return;
        }
    }
}

fn kill<'a, I: Iterator<Item = Token>>(sql: &'a [u8], lx: &mut std::iter::Peekable<I>, f: &mut impl FnMut(Admin<'a>)) {
    let next = |lx: &mut std::iter::Peekable<I>, kw: &[u8]| lx.next_if(|t| t.is_word(sql, kw)).is_some();
    let _ = next(lx, b"HARD") || next(lx, b"SOFT");
    let target = if next(lx, b"QUERY") {
        if next(lx, b"ID") { KillTarget::QueryId } else { KillTarget::Query }
    } else {
        let _ = next(lx, b"CONNECTION");
        KillTarget::Connection
    };
    if let Some(t) = lx.next_if(|t| t.kind == TokenKind::Number)
        && let Some(id) = std::str::from_utf8(t.text(sql)).ok().and_then(|s| s.parse().ok())
    {
        f(Admin::Kill { id, target });
    }
}

/// After `SET`: the assignments. Returns true when a statement starts next (`SET STATEMENT ... FOR`).
fn set<'a, I: Iterator<Item = Token>>(
    sql: &'a [u8],
    lx: &mut std::iter::Peekable<I>,
    vars: &[&'static str],
    f: &mut impl FnMut(Admin<'a>),
) -> bool {
    let mut scope = Scope::Session;
    if lx.next_if(|t| t.is_word(sql, b"STATEMENT")).is_some() {
        scope = Scope::Statement;
    }
    let statement = scope == Scope::Statement;
    loop {
        if !statement {
            for (kw, s) in [
                (&b"GLOBAL"[..], Scope::Global),
                (b"SESSION", Scope::Session),
                (b"LOCAL", Scope::Session),
                (b"PERSIST", Scope::Persist),
                (b"PERSIST_ONLY", Scope::PersistOnly),
            ] {
                if lx.next_if(|t| t.is_word(sql, kw)).is_some() {
                    scope = s;
                    break;
                }
            }
        }
        let Some(name_tok) = lx.next() else { return false };
        let (name, item_scope) = variable(sql, &name_tok, scope);
        let assigned = lx.next_if(|t| t.is_op(sql, b"=") || t.is_op(sql, b":=")).is_some();
        // the value: up to `,` at depth 0, `;`, `FOR` of SET STATEMENT, or the end
        let (mut first, mut last, mut depth) = (None::<Token>, None::<Token>, 0u32);
        let end = loop {
            let Some(t) = lx.peek().copied() else { break End::Eof };
            if depth == 0 && t.is_op(sql, b",") {
                lx.next();
                break End::Comma;
            }
            if t.is_op(sql, b";") {
                break End::Semicolon;
            }
            if depth == 0 && statement && t.is_word(sql, b"FOR") {
                lx.next();
                break End::For;
            }
            if t.is_op(sql, b"(") {
                depth += 1;
            } else if t.is_op(sql, b")") {
                depth = depth.saturating_sub(1);
            }
            first.get_or_insert(t);
            last = Some(t);
            lx.next();
        };
        if assigned
            && let (Some(name), Some(a), Some(b)) =
                (name.and_then(|n| vars.iter().find(|v| v.as_bytes().eq_ignore_ascii_case(n))), first, last)
        {
            let value = &sql[a.start..b.end.min(a.start + MAX_SET_VALUE_BYTES)];
            f(Admin::Set { name, value, scope: item_scope });
        }
        match end {
            End::Comma => continue,
            End::For => return true,
            End::Eof | End::Semicolon => return false,
        }
    }
}

enum End {
    Comma,
    Semicolon,
    For,
    Eof,
}

/// The variable name of an assignment's target and the scope it sets.
fn variable<'a>(sql: &'a [u8], t: &Token, scope: Scope) -> (Option<&'a [u8]>, Scope) {
    match t.kind {
        TokenKind::Word => (Some(t.text(sql)), scope),
        TokenKind::QuotedIdent => (Some(t.inner(sql)), scope),
        TokenKind::SysVar => {
            let name = &t.text(sql)[2..];
            for (prefix, s) in [
                (&b"global."[..], Scope::Global),
                (b"session.", Scope::Session),
                (b"local.", Scope::Session),
                (b"persist.", Scope::Persist),
                (b"persist_only.", Scope::PersistOnly),
            ] {
                if name.len() > prefix.len() && name[..prefix.len()].eq_ignore_ascii_case(prefix) {
                    return (Some(&name[prefix.len()..]), if scope == Scope::Statement { scope } else { s });
                }
            }
            (Some(name), if scope == Scope::Statement { scope } else { Scope::Session })
        }
        _ => (None, scope),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::count_values_rows;

    fn admin(sql: &str) -> Vec<String> {
        let mut v = Vec::new();
        scan_admin(sql.as_bytes(), &WATCHED_VARS, |a| {
            v.push(match a {
                Admin::Kill { id, target } => format!("kill {id} {target:?}"),
                Admin::Set { name, value, scope } => format!("set {name}={} {scope:?}", String::from_utf8_lossy(value)),
            })
        });
        v
    }

    #[test]
    fn kills() {
        assert_eq!(admin("KILL 12"), ["kill 12 Connection"]);
        assert_eq!(admin("kill connection 12"), ["kill 12 Connection"]);
        assert_eq!(admin("/* x */ KILL QUERY 7"), ["kill 7 Query"]);
        assert_eq!(admin("KILL HARD QUERY 7; KILL SOFT CONNECTION 8"), ["kill 7 Query", "kill 8 Connection"]);
        assert_eq!(admin("KILL QUERY ID 99"), ["kill 99 QueryId"]);
        assert_eq!(admin("SELECT 1; KILL 5"), ["kill 5 Connection"]);
        assert!(admin("SELECT 'KILL 5'").is_empty());
        assert!(admin("SELECT 1 /* ; KILL 5 */").is_empty());
        assert!(admin("SELECT 1 -- ; KILL 5").is_empty());
        assert!(admin("SELECT kill FROM t; SELECT 1 KILL 5").is_empty());
        assert!(admin("KILL USER bob").is_empty());
        assert!(admin("KILL CONNECTION_ID()").is_empty());
        assert!(admin("KILL 99999999999999999999999").is_empty());
    }

    #[test]
    fn sets() {
        assert_eq!(admin("SET GLOBAL max_allowed_packet = 16777216"), ["set max_allowed_packet=16777216 Global"]);
        assert_eq!(admin("set session wait_timeout=28800"), ["set wait_timeout=28800 Session"]);
        assert_eq!(admin("SET @@global.max_allowed_packet := 16*1024*1024"), ["set max_allowed_packet=16*1024*1024 Global"]);
        assert_eq!(
            admin("SET @@SESSION.net_read_timeout=60, @@interactive_timeout = DEFAULT"),
            ["set net_read_timeout=60 Session", "set interactive_timeout=DEFAULT Session"]
        );
        assert_eq!(
            admin("SET GLOBAL wait_timeout = 10, interactive_timeout = 20, SESSION wait_timeout = 30"),
            ["set wait_timeout=10 Global", "set interactive_timeout=20 Global", "set wait_timeout=30 Session"]
        );
        assert_eq!(admin("SET PERSIST max_allowed_packet=1073741824"), ["set max_allowed_packet=1073741824 Persist"]);
        assert_eq!(admin("SET PERSIST_ONLY wait_timeout=5"), ["set wait_timeout=5 PersistOnly"]);
        assert_eq!(admin("/*!40101 SET @@session.wait_timeout = 600 */;"), ["set wait_timeout=600 Session"]);
        assert_eq!(admin("SET NAMES utf8mb4; SET wait_timeout = 5 /* c */ ; select 1"), ["set wait_timeout=5 Session"]);
        assert_eq!(admin("SET NAMES 'utf8' COLLATE 'utf8_bin', wait_timeout = (1 + 2) * 3"), ["set wait_timeout=(1 + 2) * 3 Session"]);
        assert_eq!(
            admin("SET STATEMENT max_statement_time=1, wait_timeout=2 FOR KILL 4"),
            ["set wait_timeout=2 Statement", "kill 4 Connection"]
        );
        assert_eq!(admin("SET `wait_timeout` = 3"), ["set wait_timeout=3 Session"]);
        // not fooled by strings, comments, other SETs
        assert!(admin("SELECT 'SET GLOBAL wait_timeout = 1'").is_empty());
        assert!(admin("SET @wait_timeout = 1, @@sql_mode = ''").is_empty());
        assert!(admin("UPDATE t SET wait_timeout = 1").is_empty());
        assert!(admin("SET sql_mode = 'wait_timeout=1'").is_empty());
        assert!(admin("SET PASSWORD = 'wait_timeout'").is_empty());
        assert!(admin("SET /* GLOBAL */ -- x\n wait_timeout = 1").len() == 1);
        let long = format!("SET wait_timeout = {}", "1+".repeat(100));
        assert_eq!(admin(&long), [format!("set wait_timeout={} Session", &"1+".repeat(100)[..MAX_SET_VALUE_BYTES])]);
    }

    #[test]
    fn kinds_and_statements() {
        assert_eq!(statement_kind(b"  /* app */ (SELECT 1)"), Some(&b"SELECT"[..]));
        assert_eq!(statement_kind(b"/*!40101 SET NAMES utf8 */"), Some(&b"SET"[..]));
        assert_eq!(statement_kind(b"-- c\n# d\ninsert into t values (1)"), Some(&b"insert"[..]));
        assert_eq!(statement_kind(b"'x'"), None);
        assert_eq!(statement_kind(b""), None);
        let q = b"SELECT ';'; /* ; */ INSERT INTO t VALUES (';') ;; -- c\n";
        let parts: Vec<&[u8]> = statements(q).map(|r| &q[r]).collect();
        assert_eq!(parts, [&b"SELECT ';'"[..], b" /* ; */ INSERT INTO t VALUES (';') "]);
    }

    #[test]
    fn values_rows_cases() {
        let whole = |s: &str| values_rows(s.as_bytes(), s.len() as u64 + 1);
        assert_eq!(
            whole("INSERT INTO t VALUES (1,'a'),(2,'b'),(3,'c')"),
            Some(ValuesRows { rows_seen: 3, bytes_per_row: 8, rows_estimated: 3 })
        );
        assert_eq!(whole("/* c */ insert into t value (1)"), Some(ValuesRows { rows_seen: 1, bytes_per_row: 3, rows_estimated: 1 }));
        assert_eq!(whole("INSERT INTO t VALUES ROW(1), ROW(2)"), Some(ValuesRows { rows_seen: 2, bytes_per_row: 6, rows_estimated: 2 }));
        // the old scan counts these parentheses as rows too
        let dup = "INSERT INTO t (a) VALUES (1), (2) ON DUPLICATE KEY UPDATE a = VALUES(a)";
        assert_eq!(whole(dup).unwrap().rows_seen, 2);
        assert_eq!(count_values_rows(dup.as_bytes(), dup.len() as u64 + 1).unwrap().rows_seen, 3);
        assert_eq!(whole("INSERT INTO t VALUES (1) AS new ON DUPLICATE KEY UPDATE a = new.a").unwrap().rows_seen, 1);
        assert_eq!(whole("INSERT INTO t VALUES (1); SELECT (2), (3)").unwrap().rows_seen, 1);
        assert_eq!(whole("INSERT INTO values_log (`values`) VALUES ('values (1)'), (2)").unwrap().rows_seen, 2);
        assert_eq!(whole("/* VALUES (1) */ INSERT INTO t SELECT 1"), None);
        assert_eq!(whole("INSERT INTO t SET a = 1"), None);
        assert_eq!(whole("SELECT * FROM t WHERE x IN (VALUES (1))"), None);
        // cut: extrapolated
        let sql = b"INSERT INTO t VALUES (1,'aaaa'),(2,'bbbb'),(3,'cc";
        assert_eq!(values_rows(sql, 1001), Some(ValuesRows { rows_seen: 2, bytes_per_row: 11, rows_estimated: 93 }));
        assert_eq!(values_rows(sql, 1001), count_values_rows(sql, 1001));
        // one huge row cut
        assert_eq!(
            values_rows(b"INSERT INTO t VALUES (0x00112233", 1 << 20),
            Some(ValuesRows { rows_seen: 0, bytes_per_row: (1 << 20) - 21, rows_estimated: 1 })
        );
    }

    mod same_as_the_old_scan {
        use super::*;
        use proptest::prelude::*;

        fn value() -> impl Strategy<Value = String> {
            prop_oneof![
                "[0-9]{1,6}",
                "-?[0-9]{1,3}\\.[0-9]{1,3}",
                "'[a-z0-9 ,()]{0,10}'",
                "\"[a-z0-9 ,()]{0,10}\"",
                "'[a-z]{0,3}\\\\'[a-z)(]{0,3}'",
                "'[a-z]{0,3}''[a-z)(]{0,3}'",
                "0x[0-9A-F]{2,40}",
                "X'[0-9A-F]{0,20}'",
                "NULL",
                "NOW\\(\\)",
                "CONCAT\\('a', \\('b'\\)\\)",
                "`[a-z]{1,4}`",
            ]
        }

        fn statement() -> impl Strategy<Value = String> {
            let row = prop::collection::vec(value(), 1..6).prop_map(|v| format!("({})", v.join(", ")));
            (
                "(INSERT|insert|REPLACE|Insert ignore)",
                "( INTO)?",
                "[ \n]{1,2}(t|`db`\\.`t 1`|d\\.t2)",
                prop_oneof![Just(String::new()), "[ ]?\\(a, `b`, c\\)"],
                "[ \n\t]{1,2}(VALUES|values|VALUES ROW)[ ]?",
                prop::collection::vec(row, 1..12),
                "(,|, |,\n| ,  )",
                prop_oneof![Just(String::new()), Just(" AS new".to_string()), Just(";".to_string())],
            )
                .prop_map(|(verb, into, table, cols, values, rows, sep, tail)| {
                    format!("{verb}{into}{table}{cols}{values}{}{tail}", rows.join(&sep))
                })
        }

        proptest! {
            #![proptest_config(crate::sql::cases(3000))]

            /// Token-based rows agree with the old byte scan on statements without
            /// comments (where the old one is right), whole and cut anywhere.
            #[test]
            fn agrees(sql in statement(), cut in any::<prop::sample::Index>(), extra in 0u64..100_000) {
                let b = sql.as_bytes();
                let total = b.len() as u64 + 1;
                prop_assert_eq!(values_rows(b, total), count_values_rows(b, total), "{:?}", sql);
                let c = cut.index(b.len() + 1);
                prop_assert_eq!(values_rows(&b[..c], total + extra), count_values_rows(&b[..c], total + extra), "{:?} cut at {}", sql, c);
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn scans_total_on_any_bytes(src in proptest::collection::vec(proptest::sample::select(b"'\"`/*-#!@?.,;()= 0123456789 sSeEtTkKiIlLgGoObBaAwWuU_\n".to_vec()), 0..200)) {
            let _ = values_rows(&src, src.len() as u64);
            let _ = statement_kind(&src);
            let _ = statements(&src).count();
            scan_admin(&src, &WATCHED_VARS, |_| {});
        }
    }
}
