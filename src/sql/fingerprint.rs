//! Statement fingerprints of the pt-query-digest class, with its checksums.
//!
//! A fingerprint groups statements that differ only in their values. The
//! rules are pt-query-digest's (`QueryRewriter::fingerprint` in
//! percona-toolkit 3.x, read and re-stated here; no code taken), so classes
//! and checksums line up with its reports; strings and comments come from
//! the lexer instead of its regular expressions:
//!
//! 1. Whole-statement cases: `SELECT /*!40001 SQL_NO_CACHE */ * FROM `` ` ``
//!    -> `mysqldump`; a comment like `/*db.tbl:1/4*/` -> `percona-toolkit`;
//!    `administrator command: ...` stays as it is; `CALL p(...)` -> `call p`.
//! 2. A multi-row `INSERT|REPLACE [IGNORE] INTO ... VALUES (...), (...)` is cut
//!    after its first row (the rest, `ON DUPLICATE KEY ...` included, is dropped).
//! 3. Comments are removed; executable comments `/*!50100 ...*/` are kept,
//!    markers and content (the server runs them).
//! 4. `USE db` (alone) -> `use ?`.
//! 5. String literals -> `?` (a prefix stays: `N'a'` -> `n?`, `X'0A'` -> `x?`
//!    as in pt-query-digest, whose regex leaves them); `TRUE`/`FALSE` -> `?`.
//! 6. Numbers: every run that starts with a digit, `+` or `-` and goes on with
//!    `[0-9a-f.xb+-]` becomes `?` -- also inside identifiers (`t1` -> `t?`,
//!    `foo_2_3` -> `foo_?_?`) and operators (`a - b` -> `a ? b`), exactly like
//!    pt-query-digest's default. With [`Options::preserve_embedded_numbers`]
//!    (its `--preserve-embedded-numbers`) a run must start at a word boundary,
//!    so `t1` and `rt_5min` are kept. Then `x?`, `b?`, `.?`, `+?`, `-?` -> `?`.
//! 7. Leading whitespace removed, one trailing newline removed, runs of
//!    space/tab/newline/CR/FF collapsed to one space (a trailing space stays).
//! 8. Everything lower-cased (ASCII), keywords and identifiers alike.
//! 9. `NULL` -> `?` (so `= NULL` and `= 5` are one class).
//! 10. `IN (?, ?)` -> `in(?+)`, `VALUES (?), (?)` -> `values(?+)` (no space),
//!     also a single `(?)`; only lists of nothing but `?`.
//! 11. `select x union select x union ...` -> `select x /*repeat union*/`.
//! 12. The first `LIMIT ?`, `LIMIT ?, ?`, `LIMIT ? OFFSET ?` -> `limit ?`.
//! 13. After the first `ORDER BY `, ` ASC` is removed (also as the start of a
//!     word: pt-query-digest's rule has no word boundary there).
//!
//! Divergences from pt-query-digest, all where its regexes misread SQL:
//! `--x` without a space is not a comment (MySQL's rule; pt-query-digest
//! removes it), a `--`/`#` comment holding a quote is removed (it keeps it),
//! a doubled quote `'it''s'` is one string (it sees two), an unterminated
//! string or comment (a statement cut at the cap) is a string / comment to
//! the end (it keeps the raw text), strings inside backticks are not
//! strings, MariaDB's `/*M! ... */` is kept like `/*!` (it removes it).
//!
//! The checksum is the MD5 of the fingerprint ([`Checksum`]): pt-query-digest
//! shows all 32 hex digits since 3.0.11 (`ID 0x7417646A9FE969365D51E5F01B88B79E`),
//! the last 16 of them before (`ID 0x5D51E5F01B88B79E`), i.e. the low 64 bits
//! of the digest read big-endian, which [`Checksum::id64`] gives.

use super::lexer::{Flags, Lexer, TokenKind};
use md5::{Digest, Md5};

/// Fingerprint settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Keep digits that are part of a word (`t1`, `rt_5min`): pt-query-digest's
    /// `--preserve-embedded-numbers`. Off by default, like there.
    pub preserve_embedded_numbers: bool,
}

/// Work bound of the UNION folding: `select` starts times `union`s compared.
/// Past it the rest of the statement is left unfolded.
pub const MAX_UNION_PAIRS: usize = 4096;

/// The fingerprint of `sql` with pt-query-digest's default settings.
///
/// ```
/// use mywire::sql::fingerprint::{checksum, fingerprint};
/// let fp = fingerprint("SELECT * FROM t WHERE id IN (1, 2, 3) LIMIT 10");
/// assert_eq!(fp, "select * from t where id in(?+) limit ?");
/// assert_eq!(fingerprint("select @@version_comment limit 1"), "select @@version_comment limit ?");
/// assert_eq!(checksum("select @@version_comment limit ?").to_string(), "0xE3A3649C5FAC418D");
/// ```
pub fn fingerprint(sql: &(impl AsRef<[u8]> + ?Sized)) -> String {
    fingerprint_with(sql, Options::default())
}

/// The fingerprint of `sql` with `opts`.
pub fn fingerprint_with(sql: &(impl AsRef<[u8]> + ?Sized), opts: Options) -> String {
    let src = sql.as_ref();
    if src.starts_with(b"SELECT /*!40001 SQL_NO_CACHE */ * FROM `") {
        return "mysqldump".into();
    }
    if src.starts_with(b"administrator command: ") {
        return String::from_utf8_lossy(src).into_owned();
    }
    if let Some(call) = call_name(src) {
        return String::from_utf8_lossy(call).to_ascii_lowercase();
    }
    // pt-query-digest looks for its own mark before cutting anything
    if memchr::memmem::find(src, b"/*").is_some()
        && memchr::memchr(b':', src).is_some()
        && Lexer::new(src).any(|t| t.kind == TokenKind::BlockComment && is_toolkit_comment(t.text(src)))
    {
        return "percona-toolkit".into();
    }
    let src = &src[..first_row_end(src).unwrap_or(src.len())];
    let mut sink = Sink::new(src.len(), opts.preserve_embedded_numbers);
    let first = Lexer::new(src).find(|t| !t.is_comment());
    if first.is_some_and(|t| t.is_word(src, b"USE")) {
        let mut s1 = Vec::with_capacity(src.len());
        step5(src, &mut |b| s1.extend_from_slice(b));
        if let Some(u) = use_db(&s1) {
            return u;
        }
        sink.feed(&s1);
    } else {
        step5(src, &mut |b| sink.feed(b));
    }
    let mut s = sink.finish();
    if memchr::memmem::find(&s, b"null").is_some() {
        s = replace_word(&s, b"null", b"?");
    }
    if memchr::memchr(b'(', &s).is_some() {
        s = collapse_lists(&s);
    }
    if memchr::memmem::find(&s, b" union").is_some() {
        s = fold_unions(&s);
    }
    let s = limit(s);
    let s = order_by_asc(s);
    String::from_utf8(s).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Steps 3 and 5 over the tokens of `src`: comments out (executable ones
/// kept), strings and quoted hex/bit literals to `?` (a prefix kept), TRUE
/// and FALSE to `?`, everything else as it is.
fn step5(src: &[u8], emit: &mut impl FnMut(&[u8])) {
    for t in Lexer::new(src) {
        match t.kind {
            TokenKind::LineComment | TokenKind::BlockComment => {}
            TokenKind::String | TokenKind::Hex | TokenKind::Bit if t.kind == TokenKind::String || t.flags.has(Flags::QUOTED) => {
                let text = t.text(src);
                let q = text.iter().position(|&c| c == b'\'' || c == b'"').unwrap_or(0);
                emit(&text[..q]);
                emit(b"?");
            }
            TokenKind::Word if t.is_word(src, b"TRUE") || t.is_word(src, b"FALSE") => emit(b"?"),
            _ => emit(t.text(src)),
        }
    }
}

/// Steps 6 to 8 in one pass over the bytes of step 5, each stage fed by the
/// one before as pt-query-digest's substitutions run one after the other:
/// numbers (`[0-9+-][0-9a-f.xb+-]*` -> `?`), leftovers (`[xb.+-]\?` -> `?`,
/// on the original case), whitespace (leading run removed, one trailing
/// newline removed, runs of ` \n\t\r\f` -> one space), ASCII lower case.
struct Sink {
    out: Vec<u8>,
    preserve: bool,
    /// Inside a number run (its bytes are swallowed).
    in_run: bool,
    /// Previous input byte, for the word boundary of `preserve` (0: none yet).
    prev: u8,
    /// Previous byte out of the number stage, original case, for the leftovers.
    last: u8,
    /// A byte other than leading whitespace went out.
    started: bool,
    /// Length of the current run of collapsed whitespace and its last byte.
    ws_run: usize,
    ws_last: u8,
}

impl Sink {
    fn new(cap: usize, preserve: bool) -> Self {
        Sink { out: Vec::with_capacity(cap), preserve, in_run: false, prev: 0, last: 0, started: false, ws_run: 0, ws_last: 0 }
    }

    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.push(b);
        }
    }

    #[inline]
    fn push(&mut self, b: u8) {
        if self.in_run && in_number_class(b) {
            self.prev = b;
            return;
        }
        self.in_run = false;
        let starts = matches!(b, b'0'..=b'9' | b'+' | b'-');
        let boundary = !self.preserve || is_word_byte(self.prev) != is_word_byte(b);
        self.prev = b;
        if starts && boundary {
            self.in_run = true;
            self.leftover(b'?');
        } else {
            self.leftover(b);
        }
    }

    #[inline]
    fn leftover(&mut self, c: u8) {
        if c == b'?' && matches!(self.last, b'x' | b'b' | b'.' | b'+' | b'-') {
            // the `[xb.+-]` went out as the last byte: it becomes the `?`
            if let Some(l) = self.out.last_mut() {
                *l = b'?';
            }
            self.last = b'?';
            return;
        }
        self.last = c;
        if !self.started {
            if is_space(c) {
                return;
            }
            self.started = true;
        }
        if matches!(c, b' ' | b'\n' | b'\t' | b'\r' | 0x0c) {
            if self.ws_run == 0 {
                self.out.push(b' ');
            }
            self.ws_run += 1;
            self.ws_last = c;
        } else {
            self.ws_run = 0;
            self.out.push(c.to_ascii_lowercase());
        }
    }

    fn finish(mut self) -> Vec<u8> {
        // `chomp` came before the collapse: a lone trailing newline goes
        if self.ws_run == 1 && self.ws_last == b'\n' {
            self.out.pop();
        }
        self.out
    }
}

/// The MD5 of a fingerprint, as pt-query-digest computes its query IDs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Checksum(pub [u8; 16]);

impl Checksum {
    /// The 64 bits pt-query-digest before 3.0.11 showed: the digest's last 8
    /// bytes, big-endian (its last 16 hex digits).
    pub fn id64(&self) -> u64 {
        u64::from_be_bytes(self.0[8..].try_into().expect("8 bytes"))
    }

    /// All 32 upper-case hex digits, as pt-query-digest 3.0.11 and later show them.
    pub fn hex128(&self) -> String {
        self.0.iter().map(|b| format!("{b:02X}")).collect()
    }
}

/// `0x` and the 16 hex digits of [`Checksum::id64`].
impl std::fmt::Display for Checksum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{:016X}", self.id64())
    }
}

/// The checksum of a fingerprint.
pub fn checksum(fingerprint: &str) -> Checksum {
    Checksum(Md5::digest(fingerprint.as_bytes()).into())
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// `\A\s*(call\s+\S+)\(`: the text up to the last `(` of the name's run.
fn call_name(src: &[u8]) -> Option<&[u8]> {
    let start = src.iter().position(|&c| !is_space(c))?;
    let rest = &src[start..];
    if rest.len() < 5 || !rest[..4].eq_ignore_ascii_case(b"call") || !is_space(rest[4]) {
        return None;
    }
    let name = rest[4..].iter().position(|&c| !is_space(c)).map(|k| 4 + k)?;
    let run_end = rest[name..].iter().position(|&c| is_space(c)).map_or(rest.len(), |k| name + k);
    let paren = rest[name + 1..run_end].iter().rposition(|&c| c == b'(')? + name + 1;
    Some(&rest[..paren])
}

/// `/*word.word:digit/digit*/`, the mark of percona-toolkit's own queries
/// (one digit each side of the `/`, as its pattern has it).
fn is_toolkit_comment(c: &[u8]) -> bool {
    let Some(body) = c.strip_prefix(b"/*").and_then(|b| b.strip_suffix(b"*/")) else { return false };
    let word = |b: &[u8]| b.iter().take_while(|&&c| is_word_byte(c)).count();
    let a = word(body);
    if a == 0 || body.get(a) != Some(&b'.') {
        return false;
    }
    let rest = &body[a + 1..];
    let b = word(rest);
    let tail = &rest[b..];
    b > 0 && tail.len() == 4 && tail[0] == b':' && tail[1].is_ascii_digit() && tail[2] == b'/' && tail[3].is_ascii_digit()
}

/// Where a multi-row INSERT/REPLACE is cut after its first row: the end of
/// `\A((?:INSERT|REPLACE)(?: IGNORE)?\s+INTO.+?VALUES\s*\(.*?\))\s*,\s*\(`
/// (case-insensitive, `.` matching newlines) on the raw text, as
/// pt-query-digest matches it before anything else is removed: the first
/// `VALUES (` after `INTO`, then the first `)` followed by `, (`.
fn first_row_end(src: &[u8]) -> Option<usize> {
    let starts = |at: usize, w: &[u8]| src.get(at..at + w.len()).is_some_and(|x| x.eq_ignore_ascii_case(w));
    let spaces = |mut at: usize| {
        while at < src.len() && is_space(src[at]) {
            at += 1;
        }
        at
    };
    let mut p = if starts(0, b"INSERT") {
        6
    } else if starts(0, b"REPLACE") {
        7
    } else {
        return None;
    };
    if starts(p, b" IGNORE") && spaces(p + 7) > p + 7 && starts(spaces(p + 7), b"INTO") {
        p += 7;
    }
    let q = spaces(p);
    if q == p || !starts(q, b"INTO") {
        return None;
    }
    // `.+?VALUES\s*\(`: at least one byte after INTO
    let mut k = q + 5;
    let paren = loop {
        let at = k + find_ci(src.get(k..)?, b"values")?;
        let after = spaces(at + 6);
        if src.get(after) == Some(&b'(') {
            break after;
        }
        k = at + 1;
    };
    // `.*?\)\s*,\s*\(`
    let mut m = paren + 1;
    while let Some(x) = memchr::memchr(b')', src.get(m..)?) {
        let close = m + x;
        let comma = spaces(close + 1);
        if src.get(comma) == Some(&b',') && src.get(spaces(comma + 1)) == Some(&b'(') {
            return Some(close + 1);
        }
        m = close + 1;
    }
    None
}

/// First position of `needle` (ASCII lower-case) in `hay`, ASCII case-insensitively.
fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle))
}

/// `\Ause \S+\Z` (case-insensitive) -> `use ?`.
fn use_db(s: &[u8]) -> Option<String> {
    if s.len() < 5 || !s[..4].eq_ignore_ascii_case(b"use ") {
        return None;
    }
    let (body, nl) = match s.strip_suffix(b"\n") {
        Some(b) => (b, "\n"),
        None => (s, ""),
    };
    let name = &body[4..];
    (!name.is_empty() && !name.iter().any(|&c| is_space(c))).then(|| format!("use ?{nl}"))
}

fn in_number_class(c: u8) -> bool {
    matches!(c, b'0'..=b'9' | b'a'..=b'f' | b'.' | b'x' | b'+' | b'-')
}

/// `\bword\b` -> `with`.
fn replace_word(s: &[u8], word: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let at_start = i == 0 || !is_word_byte(s[i - 1]);
        if at_start && s[i..].starts_with(word) && s.get(i + word.len()).is_none_or(|&c| !is_word_byte(c)) {
            out.extend_from_slice(with);
            i += word.len();
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

/// `\b(in|values?)(?:[\s,]*\([\s?,]*\))+` -> `$1(?+)` (the text is collapsed: `\s` is a space).
fn collapse_lists(s: &[u8]) -> Vec<u8> {
    let group = |mut j: usize| -> Option<usize> {
        while j < s.len() && matches!(s[j], b' ' | b',') {
            j += 1;
        }
        if s.get(j) != Some(&b'(') {
            return None;
        }
        j += 1;
        while j < s.len() && matches!(s[j], b' ' | b'?' | b',') {
            j += 1;
        }
        (s.get(j) == Some(&b')')).then_some(j + 1)
    };
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let boundary = i == 0 || !is_word_byte(s[i - 1]);
        let kw = if !boundary {
            0
        } else if s[i..].starts_with(b"in") {
            2
        } else if s[i..].starts_with(b"values") {
            6
        } else if s[i..].starts_with(b"value") {
            5
        } else {
            0
        };
        // `values?` gives back its `s` when only `value` is followed by a list
        let kw = if kw == 6 && group(i + 6).is_none() { 5 } else { kw };
        if kw > 0
            && let Some(mut end) = group(i + kw)
        {
            while let Some(e) = group(end) {
                end = e;
            }
            out.extend_from_slice(&s[i..i + kw]);
            out.extend_from_slice(b"(?+)");
            i = end;
            continue;
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

/// `\b(select\s.*?)(?:(\sunion(?:\sall)?)\s\1)+` -> `$1 /*repeat$2*/`.
fn fold_unions(s: &[u8]) -> Vec<u8> {
    if memchr::memmem::find(s, b" union").is_none() {
        return s.to_vec();
    }
    let unions: Vec<usize> = memchr::memmem::find_iter(s, b" union").collect();
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    let mut work = 0usize;
    'scan: while i < s.len() {
        let boundary = i == 0 || !is_word_byte(s[i - 1]);
        if boundary && s[i..].starts_with(b"select ") {
            for &j in unions.iter().filter(|&&j| j >= i + 7) {
                work += 1;
                if work > MAX_UNION_PAIRS {
                    break 'scan;
                }
                let body = &s[i..j];
                // one repetition at least, the separator with ` all` tried first
                let rep = |at: usize| -> Option<(usize, &'static [u8])> {
                    for sep in [&b" union all "[..], b" union "] {
                        if s[at..].starts_with(sep) && s[at + sep.len()..].starts_with(body) {
                            return Some((at + sep.len() + body.len(), &sep[..sep.len() - 1]));
                        }
                    }
                    None
                };
                if let Some((mut end, mut sep)) = rep(j) {
                    while let Some((e, sp)) = rep(end) {
                        end = e;
                        sep = sp;
                    }
                    out.extend_from_slice(body);
                    out.extend_from_slice(b" /*repeat");
                    out.extend_from_slice(sep);
                    out.extend_from_slice(b"*/");
                    i = end;
                    continue 'scan;
                }
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out.extend_from_slice(&s[i.min(s.len())..]);
    out
}

/// The first `\blimit \?(?:, ?\?| offset \?)?` -> `limit ?`.
fn limit(mut s: Vec<u8>) -> Vec<u8> {
    let mut from = 0;
    while let Some(k) = memchr::memmem::find(&s[from..], b"limit ?").map(|k| from + k) {
        if k > 0 && is_word_byte(s[k - 1]) {
            from = k + 1;
            continue;
        }
        let after = k + 7;
        let tail = &s[after..];
        let extra = if tail.starts_with(b", ?") {
            3
        } else if tail.starts_with(b",?") {
            2
        } else if tail.starts_with(b" offset ?") {
            9
        } else {
            0
        };
        s.drain(after..after + extra);
        break;
    }
    s
}

/// After the first `\border by `, every `(.+?)\s+asc` loses its ` asc`.
fn order_by_asc(mut s: Vec<u8>) -> Vec<u8> {
    let mut from = 0;
    let mut pos = None;
    while let Some(k) = memchr::memmem::find(&s[from..], b"order by ").map(|k| from + k) {
        if k == 0 || !is_word_byte(s[k - 1]) {
            pos = Some(k + 9);
            break;
        }
        from = k + 1;
    }
    let Some(mut p) = pos else { return s };
    while p < s.len() {
        match memchr::memmem::find(&s[p + 1..], b" asc").map(|k| p + 1 + k) {
            Some(k) => {
                s.drain(k..k + 4);
                p = k;
            }
            None => break,
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(s: &str) -> String {
        fingerprint(s)
    }

    #[test]
    fn pt_query_digest_rules() {
        for (sql, want) in [
            ("SELECT * from foo where a = 5", "select * from foo where a = ?"),
            ("  select  *\n from\tfoo where a = 'x'\n", "select * from foo where a = ?"),
            ("select foo -- bar\n", "select foo "),
            ("select \n# bar\n foo", "select foo"),
            ("select /* c */ 1, \"two\", 'th''ree', 'f\\'our'", "select ?, ?, ?, ?"),
            ("select null, NULL, nullable, 5.001, 5001., .5, -6.00, +6e-30 from t", "select ?, ?, nullable, ?, ?, ?, ?, ? from t"),
            ("select 0x0A, X'0a', x'0a', 0b101, b'01', N'n', _utf8mb4'u'", "select ?a, x?, ?, ?, ?, n?, _utf?m??"),
            ("select foo_1 from foo_2_3 join t1 on t1.id = 12abc", "select foo_? from foo_?_? join t? on t?id = ?"),
            ("select a-b, a - b", "select a?, a ? b"),
            ("SELECT * FROM tbl WHERE id=1 AND flag=true AND trueflag=FALSE", "select * from tbl where id=? and flag=? and trueflag=?"),
            (
                "select * from t where a in (5) and b IN (5, 8,9 ,9 , 10) and c in (select 1)",
                "select * from t where a in(?+) and b in(?+) and c in (select ?)",
            ),
            ("insert into foo(a, b, c) values(2, 4, 5) , (2,4,5)", "insert into foo(a, b, c) values(?+)"),
            ("insert into foo(a, b, c) value(2, 4, 5)", "insert into foo(a, b, c) value(?+)"),
            ("INSERT INTO t VALUES (NOW(), 1), (NOW(), 2) ON DUPLICATE KEY UPDATE a=VALUES(a)", "insert into t values (now(), ?)"),
            ("INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a=1", "insert into t values(?+) on duplicate key update a=?"),
            ("INSERT IGNORE INTO `film_actor` VALUES (1,2),(3,4)", "insert ignore into `film_actor` values(?+)"),
            ("select * from foo limit 5", "select * from foo limit ?"),
            ("select * from foo limit 5, 10", "select * from foo limit ?"),
            ("select * from foo limit 5 offset 10", "select * from foo limit ?"),
            ("select 1 union select 2 union select 4", "select ? /*repeat union*/"),
            ("select 1 union all select 2 union all select 4", "select ? /*repeat union all*/"),
            (
                "select * from (select 1 union all select 2 union all select 4) as x join (select 2 union select 2 union select 3) as y",
                "select * from (select ? /*repeat union all*/) as x join (select ? /*repeat union*/) as y",
            ),
            ("select c from t where i=1 order by c asc", "select c from t where i=? order by c"),
            ("select * from t where i=1 order by a, b ASC, d DESC, e asc", "select * from t where i=? order by a, b, d desc, e"),
            (
                "select * from t where i=1      order            by \n a,  b   ASC, d    DESC,\n\n e asc",
                "select * from t where i=? order by a, b, d desc, e",
            ),
            ("LOAD DATA INFILE '/tmp/foo.txt' INTO db.tbl", "load data infile ? into db.tbl"),
            ("use `foo`", "use ?"),
            ("USE information_schema", "use ?"),
            ("/* x */use db", "use ?"),
            ("use  db", "use db"),
            ("SELECT /*!40001 SQL_NO_CACHE */ * FROM `film`", "mysqldump"),
            ("CALL foo(1, 2, 3)", "call foo"),
            ("  call db.p(x(1))", "call db.p(x"),
            ("administrator command: Init DB", "administrator command: Init DB"),
            ("REPLACE /*foo.bar:3/3*/ INTO checksum.checksum SELECT 1", "percona-toolkit"),
            ("/* -- S++ SU -- u: x */SELECT DISTINCT c FROM t WHERE id=1001", "select distinct c from t where id=?"),
            ("EXPLAIN /*!50100 PARTITIONS*/ SELECT 1", "explain /*!? partitions*/ select ?"),
            ("SELECT 1 /*M!100100 , 2 */", "select ? /*m!? , ? */"),
            ("SELECT 'cut", "select ?"),
        ] {
            assert_eq!(fp(sql), want, "{sql}");
        }
    }

    #[test]
    fn preserved_embedded_numbers() {
        let o = Options { preserve_embedded_numbers: true };
        assert_eq!(fingerprint_with("SELECT * FROM prices.rt_5min where id=1", o), "select * from prices.rt_5min where id=?");
        assert_eq!(fingerprint_with("select foo_1, t1.c, 12abc, a-1, a - 1 from t2", o), "select foo_1, t1.c, ?, a?, a - ? from t2");
    }

    #[test]
    fn checksums() {
        let c = checksum("administrator command: Connect");
        assert_eq!(c.hex128(), "7417646A9FE969365D51E5F01B88B79E");
        assert_eq!(c.id64(), 0x5D51E5F01B88B79E);
        assert_eq!(c.to_string(), "0x5D51E5F01B88B79E");
    }

    #[test]
    fn never_panics_on_odd_input() {
        for s in [
            "",
            " ",
            "\n",
            "use",
            "use ",
            "call",
            "call (",
            "call x(",
            "insert",
            "insert into",
            "insert into t values",
            "insert into t values (",
            "order by ",
            "limit ?",
            "x union",
            "select  union select ",
        ] {
            let _ = fp(s);
        }
        assert_eq!(fp("select  union select "), "select union select ");
    }

    proptest::proptest! {
        #[test]
        fn total_on_any_bytes(src in proptest::collection::vec(proptest::sample::select(b"'\"`/*-#!@?.,;() 0123456789abcdefxXbBnN_uUsSeElLiIcCtT\n".to_vec()), 0..200)) {
            let a = fingerprint(&src);
            let _ = fingerprint_with(&src, Options { preserve_embedded_numbers: true });
            let _ = checksum(&a);
        }
    }

    /// Every query ID of the pt-query-digest reports in the shared corpus
    /// (`percona-toolkit/*.expected.pt-query-digest*.txt`) is reproduced from
    /// the report's sample statement, and every fingerprint of its JSON report.
    #[test]
    fn corpus_pt_query_digest_reports() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/percona-toolkit");
        if !dir.exists() {
            assert!(std::env::var_os("MYWIRE_REQUIRE_CORPUS").is_none(), "corpus missing at {}", dir.display());
            eprintln!("corpus not found at {}: skipped", dir.display());
            return;
        }
        let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
        files.retain(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.contains(".expected.pt-query-digest")));
        files.sort();
        let (mut ids, mut fps) = (0, 0);
        for path in &files {
            let text = std::fs::read_to_string(path).unwrap();
            if path.to_string_lossy().ends_with(".json.txt") {
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                for class in v["classes"].as_array().unwrap() {
                    let query = class["example"]["query"].as_str().unwrap();
                    let want = class["fingerprint"].as_str().unwrap();
                    assert_eq!(fingerprint(query), want, "{}: {query}", path.display());
                    assert_eq!(checksum(want).hex128(), class["checksum"].as_str().unwrap(), "{}", path.display());
                    fps += 1;
                }
                continue;
            }
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let Some(id) = line.split(", ID 0x").nth(1).and_then(|r| r.split(' ').next()) else { continue };
                // the sample: the first lines after the header that are not comments, up to `\G`
                let mut sample = String::new();
                for l in lines[i + 1..].iter().filter(|l| !l.starts_with('#')) {
                    match l.strip_suffix("\\G") {
                        Some(last) => {
                            sample.push_str(last);
                            break;
                        }
                        None => {
                            sample.push_str(l);
                            sample.push('\n');
                        }
                    }
                }
                let c = checksum(&fingerprint(&sample));
                let got = if id.len() == 16 { format!("{:016X}", c.id64()) } else { c.hex128() };
                assert_eq!(got, id, "{}: {sample:?} -> {:?}", path.display(), fingerprint(&sample));
                ids += 1;
            }
        }
        eprintln!("pt-query-digest reports: {} files, {ids} query IDs and {fps} JSON fingerprints reproduced", files.len());
        // 29 `# Query N: ... ID 0x..` headers in 15 reports, 3 classes in the JSON one
        assert_eq!((ids, fps), (29, 3));
    }

    /// Runs pt-query-digest's `QueryRewriter::fingerprint` (loaded from the
    /// `pt-fingerprint` script) over `queries`.
    fn pt_fingerprints(pt: &std::path::Path, preserve: bool, queries: &[String]) -> Vec<Vec<u8>> {
        let script = format!(
            "require '{}'; my $qr = QueryRewriter->new(match_embedded_numbers => {}); local $/ = \"\\0\"; \
             while (my $q = <STDIN>) {{ chomp $q; print $qr->fingerprint($q), \"\\0\"; }}",
            pt.display(),
            preserve as u8
        );
        let mut child = std::process::Command::new("perl")
            .args(["-e", &script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = Vec::new();
        for q in queries {
            input.extend_from_slice(q.as_bytes());
            input.push(0);
        }
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input));
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        let mut v: Vec<Vec<u8>> = out.stdout.split(|&b| b == 0).map(<[u8]>::to_vec).collect();
        v.pop();
        assert_eq!(v.len(), queries.len(), "pt-fingerprint answered {} of {}", v.len(), queries.len());
        v
    }

    /// Differential test against pt-query-digest's own `fingerprint`, through
    /// `pt-fingerprint` (Debian's `percona-toolkit`, or the script named by
    /// `MYWIRE_PT_FINGERPRINT`), on generated statements, both settings of
    /// embedded numbers. Skipped when it is not installed. The generator
    /// leaves out what the module docs list as divergences (`--x`, quotes in
    /// comments or in the other kind of string, doubled quotes, cut
    /// statements, `/*M!`); older versions (Debian's 3.2.1) keep `TRUE`/`FALSE`
    /// and misread a string ending in `\\`: statements with those are left out
    /// when a probe shows the installed version does so.
    #[test]
    fn same_as_pt_fingerprint() {
        use proptest::strategy::{Strategy, ValueTree};
        let pt = std::env::var_os("MYWIRE_PT_FINGERPRINT").map(std::path::PathBuf::from).or_else(|| {
            std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join("pt-fingerprint")).find(|f| f.exists()))
        });
        let Some(pt) = pt else {
            eprintln!("pt-fingerprint not found (Debian package percona-toolkit): skipped");
            return;
        };
        let probes = pt_fingerprints(&pt, false, &["select true".into(), "select 'a\\\\' from t".into()]);
        let (booleans, escapes) = (probes[0] == b"select ?", probes[1] == b"select ? from t");
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let strategy = pt_like_statement();
        let all: Vec<String> = (0..4000).map(|_| strategy.new_tree(&mut runner).unwrap().current()).collect();
        let queries: Vec<String> = all
            .into_iter()
            .filter(|q| booleans || !(q.to_ascii_lowercase().contains("true") || q.to_ascii_lowercase().contains("false")))
            .filter(|q| escapes || !q.contains("\\\\"))
            .collect();
        for preserve in [false, true] {
            let theirs = pt_fingerprints(&pt, preserve, &queries);
            let opts = Options { preserve_embedded_numbers: preserve };
            let mut bad = Vec::new();
            for (q, t) in queries.iter().zip(&theirs) {
                let ours = fingerprint_with(q, opts);
                if ours.as_bytes() != t.as_slice() {
                    bad.push(format!("{q:?}\n  ours   {ours:?}\n  theirs {:?}", String::from_utf8_lossy(t)));
                }
            }
            assert!(
                bad.is_empty(),
                "{} of {} differ (preserve={preserve}), e.g.:\n{}",
                bad.len(),
                queries.len(),
                bad[..bad.len().min(8)].join("\n")
            );
            eprintln!(
                "{} (preserve_embedded_numbers={preserve}, booleans={booleans}, escapes={escapes}): {} statements, same fingerprints",
                pt.display(),
                queries.len()
            );
        }
    }

    /// Statements in the forms pt-query-digest groups: keywords in any case,
    /// comments, strings, numbers of every shape, IN/VALUES lists, UNION, LIMIT, ORDER BY.
    fn pt_like_statement() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let ws = prop_oneof![6 => Just(" "), 1 => Just("\n"), 1 => Just("\t"), 1 => Just("  "), 1 => Just(" /* c */ "), 1 => Just(" -- c\n"), 1 => Just(" # c\n")];
        let num = prop_oneof![
            "[0-9]{1,6}",
            "-[0-9]{1,3}",
            "[0-9]{1,3}\\.[0-9]{1,3}",
            "\\.[0-9]{1,2}",
            "[0-9]\\.[0-9]e[+-]?[0-9]{1,2}",
            "0x[0-9a-fA-F]{1,6}",
            "[xX]'[0-9a-f]{0,4}'",
            "[bB]'[01]{0,4}'",
            "0b[01]{1,4}",
        ];
        let string = prop_oneof![
            "'[a-z0-9 ,.()?=]{0,8}'",
            "\"[a-z0-9 ,.()?=]{0,8}\"",
            "'[a-z]{0,3}\\\\'[a-z]{0,3}'",
            "'[a-z]{0,3}\\\\\\\\'",
            "_utf8mb4'[a-z]{0,4}'",
            "N'[a-z]{0,4}'",
        ];
        let literal = prop_oneof![3 => num, 3 => string, 1 => Just("NULL".to_string()), 1 => Just("true".to_string()), 1 => Just("FALSE".to_string()), 1 => Just("?".to_string())];
        let ident = prop_oneof![
            "[a-z]{1,6}",
            "[a-z]{1,4}[0-9]{1,2}",
            "[a-z]{1,3}_[0-9]{1,2}_[a-z0-9]{1,3}",
            "`[a-z0-9_]{1,6}`",
            "[a-z]{1,3}\\.[a-z]{1,3}[0-9]?",
            "[0-9]{1,2}[g-z][a-z]{0,3}",
            Just("ascii_col".to_string()),
            Just("nullable".to_string()),
        ];
        let list = (prop::collection::vec(literal.clone(), 1..5), ws.clone()).prop_map(|(v, w)| format!("({})", v.join(&format!(",{w}"))));
        let item = prop_oneof![
            4 => ident.clone(),
            4 => literal.clone(),
            2 => (ident.clone(), "(=|<>|<=|>=|<|>|\\+|\\*)", literal.clone()).prop_map(|(a, o, b)| format!("{a}{o}{b}")),
            1 => (prop_oneof![Just("IN"), Just("in"), Just("In")], ws.clone(), list.clone()).prop_map(|(k, w, l)| format!("{k}{w}{l}")),
            1 => (prop_oneof![Just("VALUES"), Just("values"), Just("VALUE")], prop::collection::vec(list.clone(), 1..4), ws.clone())
                .prop_map(|(k, v, w)| format!("{k}{w}{}", v.join(&format!(",{w}")))),
            1 => (prop_oneof![Just("LIMIT"), Just("limit")], num_pair()).prop_map(|(k, n)| format!("{k} {n}")),
            1 => (prop_oneof![Just("ORDER BY"), Just("order by"), Just("Order  By")], ident.clone(), prop_oneof![Just(""), Just(" ASC"), Just(" asc"), Just(" DESC")])
                .prop_map(|(k, c, d)| format!("{k} {c}{d}")),
            2 => prop_oneof![
                Just("FROM"), Just("WHERE"), Just("and"), Just("OR"), Just("JOIN"), Just("on"), Just("GROUP BY"), Just(","), Just("("), Just(")"),
                Just("/*!50100 PARTITIONS*/"), Just("*")
            ]
            .prop_map(str::to_string),
        ];
        let head = prop_oneof![
            Just("SELECT"),
            Just("select"),
            Just("Select DISTINCT"),
            Just("INSERT INTO t1"),
            Just("insert ignore into `tb`"),
            Just("REPLACE INTO t"),
            Just("UPDATE t2 SET"),
            Just("DELETE FROM x9"),
            Just("EXPLAIN SELECT")
        ];
        let body = (head, prop::collection::vec((item, ws.clone()), 1..14)).prop_map(|(h, v)| {
            let mut s = h.to_string();
            for (i, w) in v {
                s.push_str(w);
                s.push_str(&i);
            }
            s
        });
        let union = (body.clone(), prop_oneof![Just(" UNION "), Just(" union all ")], 1..4usize).prop_map(|(b, u, n)| {
            let one = b.replacen("INSERT INTO t1", "SELECT", 1);
            vec![one; n + 1].join(u)
        });
        prop_oneof![
            10 => body,
            2 => union,
            1 => "(USE|use) [a-z_0-9`]{1,8}".prop_map(|s| s),
            1 => "(CALL|call) [a-z]{1,4}\\([0-9, ]{0,6}\\)".prop_map(|s| s),
        ]
    }

    fn num_pair() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            "[0-9]{1,3}".prop_map(|s| s),
            "[0-9]{1,3}, ?[0-9]{1,3}".prop_map(|s| s),
            "[0-9]{1,3} OFFSET [0-9]{1,3}".prop_map(|s| s),
            "[0-9]{1,3} offset [0-9]{1,3}".prop_map(|s| s),
        ]
    }
}
