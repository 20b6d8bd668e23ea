//! Secrets (and, on request, every literal) masked on tokens of the lexer.
//!
//! A value is secret when the tokens before it say so, whatever the case,
//! the whitespace, the comments, a charset introducer or an executable
//! comment between them, and in any statement of a multi-statement query:
//!
//! - `IDENTIFIED BY <v>`, `IDENTIFIED {WITH|VIA} plugin {BY|USING|AS} <v>`,
//!   MariaDB's `... USING <v> OR plugin USING <v>`, and the syntax errors
//!   `IDENTIFIED <v>`, `IDENTIFIED WITH plugin <v>` (the server echoes them);
//! - `PASSWORD(<v>)`, `OLD_PASSWORD(<v>)` anywhere (every literal inside the
//!   parentheses), `PASSWORD <v>` (`OPTIONS (PASSWORD 'x')` of CREATE/ALTER
//!   SERVER, `IDENTIFIED BY PASSWORD '*hash'`), `PASSWORD = <v>` (`START
//!   REPLICA|SLAVE|GROUP_REPLICATION ... PASSWORD=`, `UPDATE ... SET password=`);
//! - `SET PASSWORD [FOR user] = <v>`;
//! - `MASTER_PASSWORD = <v>`, `SOURCE_PASSWORD = <v>`;
//! - `REPLACE <v>` (ALTER USER / SET PASSWORD ... REPLACE 'current').
//!
//! `<v>` is a literal (string, hex, bit, number), a `?` placeholder (see
//! [`secret_params`]) or, after `BY`/`USING`/`AS` and `SET PASSWORD ... =`,
//! an unquoted word (a password typed without quotes is still a password;
//! `RANDOM` in `BY RANDOM PASSWORD` is not); strings right after a secret
//! string are part of it (the server joins `'hun' 'ter2'`). A secret literal becomes `'***'`
//! (a word: `***`), an unterminated one (the statement cut at the cap) too, so
//! it is masked to the end. With `literals`, every other literal becomes `?`.
//! Everything else is kept byte for byte (invalid UTF-8 becomes U+FFFD).

use super::lexer::{Lexer, Token, TokenKind, tokenize};

/// What a secret literal becomes.
pub const MASK: &str = "'***'";

/// What a secret written as a bare word becomes.
pub const WORD_MASK: &str = "***";

/// Shortest secret masked wherever it occurs in a server message; shorter
/// ones are masked only where the message quotes them whole (`'ab'`).
pub const MIN_ECHO_LEN: usize = 4;

/// A word that may start a secret rule: without one, a statement has no secret.
fn is_trigger(src: &[u8], t: &Token) -> bool {
    t.kind == TokenKind::Word
        && matches!(t.len(), 7 | 8 | 10 | 12 | 15)
        && [&b"REPLACE"[..], b"PASSWORD", b"IDENTIFIED", b"OLD_PASSWORD", b"MASTER_PASSWORD", b"SOURCE_PASSWORD"]
            .iter()
            .any(|k| t.text(src).eq_ignore_ascii_case(k))
}

/// Token indices of the values in secret positions (sorted, no duplicates).
pub fn secret_tokens(src: &[u8], toks: &[Token]) -> Vec<usize> {
    if !toks.iter().any(|t| is_trigger(src, t)) {
        return Vec::new();
    }
    let sig: Vec<usize> = (0..toks.len()).filter(|&i| !toks[i].is_trivia()).collect();
    let mut f = Finder { src, toks, sig: &sig, found: Vec::new() };
    f.run();
    let mut out: Vec<usize> = f.found.into_iter().map(|p| sig[p]).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// May a bare word stand for the secret?
#[derive(Clone, Copy, PartialEq, Eq)]
enum Word {
    Never,
    Always,
    AfterEq,
}

/// What may come where a secret is expected.
#[derive(Clone, Copy)]
struct Expect {
    /// `=` or `:=` may come first.
    eq: bool,
    /// `(` ... `)`: every literal inside is secret.
    paren: bool,
    word: Word,
}

const KEYWORD_VALUE: Expect = Expect { eq: true, paren: true, word: Word::Never };
const AFTER_BY: Expect = Expect { eq: false, paren: true, word: Word::Always };

/// Upper bound of tokens skipped over a user name (`SET PASSWORD FOR 'u'@'h' =`).
const MAX_USER_TOKENS: usize = 16;
/// Upper bound of `OR plugin USING ...` alternatives followed after one `IDENTIFIED VIA`.
const MAX_AUTH_ALTERNATIVES: usize = 8;

struct Finder<'a> {
    src: &'a [u8],
    toks: &'a [Token],
    /// Indices of the significant tokens.
    sig: &'a [usize],
    /// Positions in `sig` of secret values.
    found: Vec<usize>,
}

impl Finder<'_> {
    fn tok(&self, p: usize) -> Option<&Token> {
        self.sig.get(p).map(|&i| &self.toks[i])
    }
    fn kind(&self, p: usize) -> Option<TokenKind> {
        self.tok(p).map(|t| t.kind)
    }
    fn word(&self, p: usize, kw: &[u8]) -> bool {
        self.tok(p).is_some_and(|t| t.is_word(self.src, kw))
    }
    fn op(&self, p: usize, op: &[u8]) -> bool {
        self.tok(p).is_some_and(|t| t.is_op(self.src, op))
    }

    fn run(&mut self) {
        for p in 0..self.sig.len() {
            let t = self.toks[self.sig[p]];
            if t.kind != TokenKind::Word {
                continue;
            }
            let w = t.text(self.src);
            if w.eq_ignore_ascii_case(b"IDENTIFIED") {
                self.identified(p + 1);
            } else if [&b"PASSWORD"[..], b"OLD_PASSWORD", b"MASTER_PASSWORD", b"SOURCE_PASSWORD"].iter().any(|k| w.eq_ignore_ascii_case(k))
            {
                let set = p > 0 && self.word(p - 1, b"SET") && w.eq_ignore_ascii_case(b"PASSWORD");
                let mut q = p + 1;
                if set && self.word(q, b"FOR") {
                    let stop = q + MAX_USER_TOKENS;
                    while q < self.sig.len() && q < stop && !self.op(q, b"=") && !self.op(q, b":=") && !self.op(q, b";") {
                        q += 1;
                    }
                }
                let word = if set { Word::AfterEq } else { Word::Never };
                self.value(q, Expect { word, ..KEYWORD_VALUE });
            } else if w.eq_ignore_ascii_case(b"REPLACE") {
                self.value(p + 1, Expect { eq: false, paren: false, word: Word::Never });
            }
        }
    }

    /// After `IDENTIFIED`.
    fn identified(&mut self, q: usize) {
        if self.word(q, b"BY") {
            self.value(q + 1, AFTER_BY);
            return;
        }
        if self.tok(q).is_some_and(|t| t.is_literal() || t.kind == TokenKind::Introducer) {
            // `IDENTIFIED 'x'`: a syntax error the server echoes, the password in it
            self.value(q, Expect { eq: false, paren: false, word: Word::Never });
            return;
        }
        if !(self.word(q, b"WITH") || self.word(q, b"VIA")) {
            return;
        }
        let mut q = q + 1;
        for _ in 0..MAX_AUTH_ALTERNATIVES {
            // the plugin's name
            if !matches!(self.kind(q), Some(TokenKind::Word | TokenKind::QuotedIdent | TokenKind::String)) {
                return;
            }
            q += 1;
            if self.word(q, b"BY") || self.word(q, b"USING") || self.word(q, b"AS") {
                q = self.value(q + 1, AFTER_BY);
            } else if self.tok(q).is_some_and(|t| t.is_literal() || t.kind == TokenKind::Introducer) {
                q = self.value(q, Expect { eq: false, paren: false, word: Word::Never });
            }
            if !self.word(q, b"OR") {
                return;
            }
            q += 1;
        }
    }

    /// Marks the secret value expected at `q`; returns the position after it.
    fn value(&mut self, mut q: usize, e: Expect) -> usize {
        let mut had_eq = false;
        if e.eq && (self.op(q, b"=") || self.op(q, b":=")) {
            q += 1;
            had_eq = true;
        }
        if e.paren && self.op(q, b"(") {
            return self.paren(q);
        }
        if self.word(q, b"PASSWORD") || self.word(q, b"OLD_PASSWORD") {
            // `BY PASSWORD '*hash'`, `USING PASSWORD('x')`, `= PASSWORD('x')`
            return self.value(q + 1, Expect { eq: false, paren: true, word: Word::Never });
        }
        if self.kind(q) == Some(TokenKind::Introducer) {
            q += 1;
        }
        let Some(&t) = self.tok(q) else { return q };
        let word_ok = match e.word {
            Word::Never => false,
            Word::Always => true,
            Word::AfterEq => had_eq,
        };
        let is_secret = t.is_literal()
            || t.kind == TokenKind::Placeholder
            || (word_ok
                && matches!(t.kind, TokenKind::Word | TokenKind::QuotedIdent)
                && !t.is_word(self.src, b"RANDOM")
                && !t.is_word(self.src, b"NULL")
                && !t.is_word(self.src, b"DEFAULT")
                && !self.op(q + 1, b"(")
                && !self.op(q + 1, b"."));
        if is_secret {
            self.found.push(q);
            q += 1;
            // adjacent strings are one string to the server: `'hunter' '2'`
            if t.kind == TokenKind::String {
                while self.kind(q) == Some(TokenKind::String) {
                    self.found.push(q);
                    q += 1;
                }
            }
            return q;
        }
        q
    }

    /// Every literal and placeholder from the `(` at `q` to its `)` (or a `;`, or the end).
    fn paren(&mut self, q: usize) -> usize {
        let mut depth = 0usize;
        let mut p = q;
        while let Some(t) = self.tok(p) {
            if t.is_op(self.src, b"(") {
                depth += 1;
            } else if t.is_op(self.src, b")") {
                depth -= 1;
                if depth == 0 {
                    return p + 1;
                }
            } else if t.is_op(self.src, b";") {
                return p;
            } else if t.is_literal() || t.kind == TokenKind::Placeholder {
                self.found.push(p);
            }
            p += 1;
        }
        p
    }
}

/// `sql` with secrets masked as `'***'` and, with `literals`, every other
/// literal as `?`; the rest byte for byte (see the module docs).
///
/// ```
/// use mywire::sql::redact::redact;
/// assert_eq!(
///     redact("ALTER USER u IDENTIFIED WITH caching_sha2_password BY /*c*/ _utf8mb4'hunter2'", false),
///     "ALTER USER u IDENTIFIED WITH caching_sha2_password BY /*c*/ _utf8mb4'***'"
/// );
/// assert_eq!(redact("SELECT 'a', 1 FROM t1", true), "SELECT ?, ? FROM t1");
/// ```
pub fn redact(sql: &(impl AsRef<[u8]> + ?Sized), literals: bool) -> String {
    let src = sql.as_ref();
    // most statements have no word a secret rule starts with: one streaming pass
    if !literals {
        if !Lexer::new(src).any(|t| is_trigger(src, &t)) {
            return String::from_utf8_lossy(src).into_owned();
        }
    } else {
        let mut out = Vec::with_capacity(src.len());
        let mut plain = true;
        for t in Lexer::new(src) {
            if is_trigger(src, &t) {
                plain = false;
                break;
            }
            if t.is_literal() {
                out.push(b'?');
            } else {
                out.extend_from_slice(t.text(src));
            }
        }
        if plain {
            return into_string(out);
        }
    }
    let toks = tokenize(src);
    let secrets = secret_tokens(src, &toks);
    if secrets.is_empty() && !literals {
        return String::from_utf8_lossy(src).into_owned();
    }
    let mut out = Vec::with_capacity(src.len());
    emit(src, &toks, &secrets, literals, 0..src.len(), &mut out);
    into_string(out)
}

/// Writes the part `range` of `src` (a range of its bytes, possibly cutting
/// tokens) with secrets masked and, with `literals`, literals replaced.
fn emit(src: &[u8], toks: &[Token], secrets: &[usize], literals: bool, range: std::ops::Range<usize>, out: &mut Vec<u8>) {
    let mut s = secrets.iter().peekable();
    for (i, t) in toks.iter().enumerate() {
        if t.end <= range.start {
            continue;
        }
        if t.start >= range.end {
            break;
        }
        while s.next_if(|&&k| k < i).is_some() {}
        let secret = s.peek() == Some(&&i);
        if secret && t.kind != TokenKind::Placeholder {
            out.extend_from_slice(if t.is_literal() { MASK } else { WORD_MASK }.as_bytes());
        } else if literals && t.is_literal() {
            out.push(b'?');
        } else {
            out.extend_from_slice(&src[t.start.max(range.start)..t.end.min(range.end)]);
        }
    }
}

fn into_string(v: Vec<u8>) -> String {
    String::from_utf8(v).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// 0-based indices, among the `?` placeholders of `sql` (outside strings and
/// comments, in order), of those in secret positions: `SET PASSWORD FOR u =
/// PASSWORD(?)`, `ALTER USER u IDENTIFIED BY ?`. The bound values of those
/// parameters (COM_STMT_EXECUTE) must be masked.
pub fn secret_params(sql: &(impl AsRef<[u8]> + ?Sized)) -> Vec<usize> {
    let src = sql.as_ref();
    let toks = tokenize(src);
    let secrets = secret_tokens(src, &toks);
    let mut out = Vec::new();
    let mut n = 0;
    for (i, t) in toks.iter().enumerate() {
        if t.kind == TokenKind::Placeholder {
            if secrets.binary_search(&i).is_ok() {
                out.push(n);
            }
            n += 1;
        }
    }
    out
}

/// A server error message with the SQL it echoes masked.
///
/// The syntax-error text quotes the rest of the statement from the error on
/// (`... near 'IDENTIFIED BY 'secret'' at line 1`, the quotes inside left
/// raw, the fragment cut by the server). That fragment is masked like the
/// statement: with the statement's own tokens when `statement` contains it
/// (so a fragment starting at `'secret'` is known to be a password), else
/// lexed on its own (an unterminated secret, cut by the server, is masked to
/// the fragment's end). Then every occurrence of one of the statement's
/// secret values (its raw and its unescaped text) in the message is masked:
/// anywhere for values of [`MIN_ECHO_LEN`] bytes or more, where quoted whole
/// for shorter ones; an unterminated value (a cut statement) is masked to the
/// next quote. With `literals`, all literals of the fragment become `?`, and
/// so do string literals of the statement the message repeats (`Duplicate
/// entry 'alice' for key ...`), under the same length rule.
pub fn redact_error_message(msg: &str, statement: Option<&str>, literals: bool) -> String {
    let stmt = statement.map(str::as_bytes).unwrap_or(b"");
    let toks = tokenize(stmt);
    let secrets = secret_tokens(stmt, &toks);
    let mut out = match echoed_fragment(msg) {
        Some((a, b)) => {
            let frag = &msg.as_bytes()[a..b];
            let mut r = Vec::with_capacity(msg.len());
            r.extend_from_slice(&msg.as_bytes()[..a]);
            match memchr::memmem::find(stmt, frag).filter(|_| !frag.is_empty()) {
                Some(o) => emit(stmt, &toks, &secrets, literals, o..o + frag.len(), &mut r),
                None => r.extend_from_slice(redact(frag, literals).as_bytes()),
            }
            r.extend_from_slice(&msg.as_bytes()[b..]);
            into_string(r)
        }
        None => msg.to_string(),
    };
    let mut values: Vec<(Vec<u8>, bool, &str)> = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        let secret = secrets.binary_search(&i).is_ok();
        let mask = if secret {
            WORD_MASK
        } else if literals && t.kind == TokenKind::String {
            "?"
        } else {
            continue;
        };
        if t.kind == TokenKind::Placeholder {
            continue;
        }
        let inner = t.inner(stmt);
        let open = t.is_unterminated();
        values.push((inner.to_vec(), open, mask));
        let plain = unescape(inner);
        if plain != inner {
            values.push((plain, open, mask));
        }
    }
    // longest first, so a value that contains another is masked whole
    values.sort_by_key(|v| std::cmp::Reverse(v.0.len()));
    for (v, open, mask) in values {
        let Ok(v) = std::str::from_utf8(&v) else { continue };
        if v.is_empty() {
            continue;
        }
        out = mask_occurrences(&out, v, open, mask);
    }
    out
}

/// The byte range of the statement fragment a syntax error echoes (`near '...' at line N`).
fn echoed_fragment(msg: &str) -> Option<(usize, usize)> {
    const NEAR: &str = "near '";
    let a = msg.find(NEAR)? + NEAR.len();
    let b = msg[a..].rfind("' at line ").map_or(msg.len(), |k| a + k);
    Some((a, b))
}

/// `msg` with occurrences of `v` masked (see [`redact_error_message`]).
fn mask_occurrences(msg: &str, v: &str, open: bool, mask: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(k) = rest.find(v) {
        let before = &rest[..k];
        let after = &rest[k + v.len()..];
        let quoted = before.ends_with(['\'', '"']) && after.starts_with(['\'', '"']);
        if v.len() < MIN_ECHO_LEN && !quoted {
            out.push_str(&rest[..k + v.len()]);
            rest = after;
            continue;
        }
        out.push_str(before);
        out.push_str(mask);
        // a value cut in the statement may go on in the message: to the next quote
        let skip = if open { after.find(['\'', '"']).unwrap_or(after.len()) } else { 0 };
        rest = &after[skip..];
    }
    out.push_str(rest);
    out
}

/// A string literal's content without MySQL's escapes (`\n`, `\'`, `''`, ...).
fn unescape(inner: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        let c = inner[i];
        if c == b'\\' && i + 1 < inner.len() {
            let e = inner[i + 1];
            match e {
                b'0' => out.push(0),
                b'b' => out.push(8),
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'Z' => out.push(26),
                b'%' | b'_' => out.extend_from_slice(&[b'\\', e]),
                _ => out.push(e),
            }
            i += 2;
        } else if (c == b'\'' || c == b'"' || c == b'`') && inner.get(i + 1) == Some(&c) {
            out.push(c);
            i += 2;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> String {
        redact(s, false)
    }

    #[test]
    fn todays_outputs_are_kept() {
        // the cases of analysis::text::redact_sql's tests
        assert_eq!(r("CREATE USER 'bob'@'%' IDENTIFIED BY 's3cr''et'"), "CREATE USER 'bob'@'%' IDENTIFIED BY '***'");
        assert_eq!(r("SET PASSWORD FOR bob = PASSWORD('x')"), "SET PASSWORD FOR bob = PASSWORD('***')");
        assert_eq!(
            r("ALTER USER a IDENTIFIED WITH mysql_native_password AS '*ABC'"),
            "ALTER USER a IDENTIFIED WITH mysql_native_password AS '***'"
        );
        assert_eq!(r("SELECT 'keep', 42"), "SELECT 'keep', 42");
        assert_eq!(redact("SELECT 'x', 42 FROM t1 WHERE a=1.5", true), "SELECT ?, ? FROM t1 WHERE a=?");
    }

    #[test]
    fn mysql8_and_mariadb_forms() {
        for (sql, want) in [
            (
                "CREATE USER u@'%' IDENTIFIED WITH caching_sha2_password BY 'p1'",
                "CREATE USER u@'%' IDENTIFIED WITH caching_sha2_password BY '***'",
            ),
            ("alter user u identified with 'sha256_password' by \"p1\"", "alter user u identified with 'sha256_password' by '***'"),
            ("CREATE USER u IDENTIFIED\n\t BY\n'p1'", "CREATE USER u IDENTIFIED\n\t BY\n'***'"),
            ("CREATE USER u IDENTIFIED /* c */ BY /*c*/ 'p1'", "CREATE USER u IDENTIFIED /* c */ BY /*c*/ '***'"),
            ("CREATE USER u IDENTIFIED -- c\n BY # d\n 'p1'", "CREATE USER u IDENTIFIED -- c\n BY # d\n '***'"),
            ("CREATE USER u IDENTIFIED BY _utf8mb4'p1'", "CREATE USER u IDENTIFIED BY _utf8mb4'***'"),
            ("CREATE USER u IDENTIFIED BY _binary 0x7031", "CREATE USER u IDENTIFIED BY _binary '***'"),
            ("CREATE USER u IDENTIFIED VIA ed25519 USING PASSWORD('p1')", "CREATE USER u IDENTIFIED VIA ed25519 USING PASSWORD('***')"),
            (
                "CREATE USER u IDENTIFIED VIA mysql_native_password USING '*hash' OR unix_socket",
                "CREATE USER u IDENTIFIED VIA mysql_native_password USING '***' OR unix_socket",
            ),
            (
                "CREATE USER u IDENTIFIED VIA unix_socket OR ed25519 USING PASSWORD ('p1')",
                "CREATE USER u IDENTIFIED VIA unix_socket OR ed25519 USING PASSWORD ('***')",
            ),
            ("GRANT ALL ON *.* TO u IDENTIFIED BY PASSWORD '*hash'", "GRANT ALL ON *.* TO u IDENTIFIED BY PASSWORD '***'"),
            (
                "ALTER USER u IDENTIFIED BY 'new' REPLACE 'old' RETAIN CURRENT PASSWORD",
                "ALTER USER u IDENTIFIED BY '***' REPLACE '***' RETAIN CURRENT PASSWORD",
            ),
            ("SET PASSWORD = \"p1\"", "SET PASSWORD = '***'"),
            ("/* app */ SET PASSWORD FOR 'u'@'h' = 'p1'", "/* app */ SET PASSWORD FOR 'u'@'h' = '***'"),
            ("SET PASSWORD FOR u = OLD_PASSWORD('p1')", "SET PASSWORD FOR u = OLD_PASSWORD('***')"),
            ("SET PASSWORD FOR u = 'p1' REPLACE 'p0'", "SET PASSWORD FOR u = '***' REPLACE '***'"),
            ("SELECT PASSWORD ('p1'), password(CONCAT('a', 'b'))", "SELECT PASSWORD ('***'), password(CONCAT('***', '***'))"),
            (
                "CHANGE MASTER TO MASTER_HOST='h', MASTER_USER='r', MASTER_PASSWORD = 'p1', MASTER_PORT=3306",
                "CHANGE MASTER TO MASTER_HOST='h', MASTER_USER='r', MASTER_PASSWORD = '***', MASTER_PORT=3306",
            ),
            ("CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD='p1'", "CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD='***'"),
            ("START REPLICA USER='r' PASSWORD='p1'", "START REPLICA USER='r' PASSWORD='***'"),
            (
                "START SLAVE IO_THREAD USER='r' PASSWORD = 'p1' DEFAULT_AUTH='x'",
                "START SLAVE IO_THREAD USER='r' PASSWORD = '***' DEFAULT_AUTH='x'",
            ),
            (
                "CREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (USER 'r', PASSWORD 'p1', HOST 'h')",
                "CREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (USER 'r', PASSWORD '***', HOST 'h')",
            ),
            ("ALTER SERVER s OPTIONS (PASSWORD 'p1')", "ALTER SERVER s OPTIONS (PASSWORD '***')"),
            ("/*!80000 CREATE USER u IDENTIFIED BY 'p1' */", "/*!80000 CREATE USER u IDENTIFIED BY '***' */"),
            ("/*M!100100 SET PASSWORD = 'p1' */", "/*M!100100 SET PASSWORD = '***' */"),
            ("SELECT 1; CREATE USER u IDENTIFIED BY 'p1'; SELECT 'k'", "SELECT 1; CREATE USER u IDENTIFIED BY '***'; SELECT 'k'"),
            ("CREATE USER u IDENTIFIED BY hunter2", "CREATE USER u IDENTIFIED BY ***"),
            ("ALTER USER u IDENTIFIED 'p1'", "ALTER USER u IDENTIFIED '***'"),
            ("ALTER USER u IDENTIFIED WITH sha256_password 'p1'", "ALTER USER u IDENTIFIED WITH sha256_password '***'"),
            ("CREATE USER u IDENTIFIED BY 'hun' \"ter\" 'two'", "CREATE USER u IDENTIFIED BY '***' '***' '***'"),
            ("SET PASSWORD = hunter2", "SET PASSWORD = ***"),
            // not secrets
            ("CREATE USER u IDENTIFIED BY RANDOM PASSWORD", "CREATE USER u IDENTIFIED BY RANDOM PASSWORD"),
            ("ALTER USER u PASSWORD EXPIRE INTERVAL 90 DAY", "ALTER USER u PASSWORD EXPIRE INTERVAL 90 DAY"),
            ("SELECT REPLACE('a', 'b', 'c'), 'IDENTIFIED BY x'", "SELECT REPLACE('a', 'b', 'c'), 'IDENTIFIED BY x'"),
            ("REPLACE INTO t VALUES ('a')", "REPLACE INTO t VALUES ('a')"),
            ("SELECT password FROM users -- IDENTIFIED BY 'x'", "SELECT password FROM users -- IDENTIFIED BY 'x'"),
        ] {
            assert_eq!(r(sql), want, "{sql}");
        }
    }

    #[test]
    fn cut_secrets_are_masked_to_the_end() {
        assert_eq!(r("CREATE USER u IDENTIFIED BY 'hunter2hunt"), "CREATE USER u IDENTIFIED BY '***'");
        assert_eq!(r("SET PASSWORD = PASSWORD('hunter"), "SET PASSWORD = PASSWORD('***'");
        let long = format!("CREATE USER u IDENTIFIED BY '{}'", "s".repeat(5000));
        assert_eq!(r(&long[..4096]), "CREATE USER u IDENTIFIED BY '***'");
        assert_eq!(redact(&b"CREATE USER u IDENTIFIED BY 'p\xff\xfe"[..], true), "CREATE USER u IDENTIFIED BY '***'");
    }

    #[test]
    fn literals_mode() {
        assert_eq!(
            redact("INSERT INTO t VALUES ('a', -1, 0x0F, X'0A', b'1', N'n', _utf8mb4'u', 1.5e3) /* 7 */", true),
            "INSERT INTO t VALUES (?, -?, ?, ?, ?, ?, _utf8mb4?, ?) /* 7 */"
        );
        assert_eq!(redact("SET PASSWORD FOR 'u'@'h' = 'p1'", true), "SET PASSWORD FOR ?@? = '***'");
        assert_eq!(redact("SELECT * FROM t1 WHERE `a1` = @v", true), "SELECT * FROM t1 WHERE `a1` = @v");
    }

    #[test]
    fn placeholders_in_secret_positions() {
        assert_eq!(secret_params("SET PASSWORD FOR u = PASSWORD(?)"), [0]);
        assert_eq!(secret_params("ALTER USER ? IDENTIFIED BY ?"), [1]);
        assert_eq!(secret_params("SELECT ?, '?' /* ? */; CREATE USER u IDENTIFIED WITH p BY ? ; SELECT ?"), [1]);
        assert_eq!(secret_params("CHANGE MASTER TO MASTER_USER=?, MASTER_PASSWORD=?"), [1]);
        assert_eq!(secret_params("SELECT * FROM t WHERE a = ?"), Vec::<usize>::new());
        // a placeholder is left as it is in the text
        assert_eq!(r("ALTER USER u IDENTIFIED BY ?"), "ALTER USER u IDENTIFIED BY ?");
    }

    const SYNTAX: &str = "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near";

    #[test]
    fn error_messages() {
        let stmt = "CREATE USER u IDENTIFIED BY 'secret' PASSWORD EXPIRE NEVR";
        let msg = format!("{SYNTAX} 'IDENTIFIED BY 'secret' PASSWORD EXPIRE NEVR' at line 1");
        let want = format!("{SYNTAX} 'IDENTIFIED BY '***' PASSWORD EXPIRE NEVR' at line 1");
        assert_eq!(redact_error_message(&msg, Some(stmt), false), want);
        assert_eq!(redact_error_message(&msg, None, false), want);
        // the fragment starts at the password: known from the statement only
        let stmt = "ALTER USER u IDENTIFIED 'secret' PASSWORD EXPIRE";
        let msg = format!("{SYNTAX} ''secret' PASSWORD EXPIRE' at line 1");
        assert_eq!(redact_error_message(&msg, Some(stmt), false), format!("{SYNTAX} ''***' PASSWORD EXPIRE' at line 1"));
        // cut by the server: masked to the fragment's end
        let msg = format!("{SYNTAX} 'IDENTIFIED BY 'secr");
        assert_eq!(redact_error_message(&msg, None, false), format!("{SYNTAX} 'IDENTIFIED BY '***'"));
        // the statement cut at the cap, the message holding more of the secret
        let msg = "Operation failed for 'longsecretvalue' (x)";
        assert_eq!(redact_error_message(msg, Some("SET PASSWORD = 'longsecr"), false), "Operation failed for '***' (x)");
        // a secret echoed elsewhere; short secrets only where quoted whole
        assert_eq!(redact_error_message("value 'pw' and pw", Some("SET PASSWORD = 'pw'"), false), "value '***' and pw");
        assert_eq!(redact_error_message("x hunter2 y", Some("SET PASSWORD = 'hunter2'"), false), "x *** y");
        assert_eq!(redact_error_message("x it's y", Some("SET PASSWORD = 'it''s'"), false), "x *** y");
        // literals
        let msg = format!("{SYNTAX} 'WHERE a = 'x' AND b = 5' at line 1");
        assert_eq!(redact_error_message(&msg, None, true), format!("{SYNTAX} 'WHERE a = ? AND b = ?' at line 1"));
        let dup = "Duplicate entry 'alice@example.com' for key 'users.email'";
        assert_eq!(
            redact_error_message(dup, Some("INSERT INTO users VALUES ('alice@example.com')"), true),
            "Duplicate entry '?' for key 'users.email'"
        );
        assert_eq!(redact_error_message(dup, Some("INSERT INTO users VALUES ('alice@example.com')"), false), dup);
    }

    /// A secret planted in generated statements of every form never survives.
    mod planted {
        use super::super::*;
        use super::SYNTAX;
        use proptest::prelude::*;

        const SLOT: &str = "\u{0}";

        /// Statement shapes with the secret's place (`SLOT`); upper-case words are keywords.
        const FORMS: &[&[&str]] = &[
            &["CREATE", "USER", "u", "IDENTIFIED", "BY", SLOT],
            &["CREATE", "USER", "u", "IDENTIFIED", "WITH", "caching_sha2_password", "BY", SLOT],
            &["ALTER", "USER", "u", "IDENTIFIED", "WITH", "mysql_native_password", "AS", SLOT],
            &["ALTER", "USER", "u", "IDENTIFIED", "WITH", "'sha256_password'", "BY", SLOT, "PASSWORD", "EXPIRE"],
            &["CREATE", "USER", "u", "IDENTIFIED", "VIA", "ed25519", "USING", SLOT],
            &["CREATE", "USER", "u", "IDENTIFIED", "VIA", "ed25519", "USING", "PASSWORD", "(", SLOT, ")"],
            &["CREATE", "USER", "u", "IDENTIFIED", "VIA", "unix_socket", "OR", "mysql_native_password", "USING", SLOT],
            &["GRANT", "ALL", "ON", "*", ".", "*", "TO", "u", "IDENTIFIED", "BY", "PASSWORD", SLOT],
            &["SET", "PASSWORD", "=", SLOT],
            &["SET", "PASSWORD", "FOR", "'u'@'h'", "=", SLOT],
            &["SET", "PASSWORD", "FOR", "u", "=", "PASSWORD", "(", SLOT, ")"],
            &["SET", "PASSWORD", "=", "OLD_PASSWORD", "(", SLOT, ")"],
            &["SELECT", "PASSWORD", "(", SLOT, ")"],
            &["ALTER", "USER", "u", "IDENTIFIED", "BY", "'x1'", "REPLACE", SLOT, "RETAIN", "CURRENT", "PASSWORD"],
            &["CHANGE", "MASTER", "TO", "MASTER_HOST", "=", "'h'", ",", "MASTER_PASSWORD", "=", SLOT, ",", "MASTER_PORT", "=", "3306"],
            &["CHANGE", "REPLICATION", "SOURCE", "TO", "SOURCE_PASSWORD", "=", SLOT],
            &["START", "REPLICA", "USER", "=", "'r'", "PASSWORD", "=", SLOT],
            &["START", "SLAVE", "USER", "=", "'r'", "PASSWORD", "=", SLOT, "DEFAULT_AUTH", "=", "'p'"],
            &[
                "CREATE", "SERVER", "s", "FOREIGN", "DATA", "WRAPPER", "mysql", "OPTIONS", "(", "USER", "'r'", ",", "PASSWORD", SLOT, ",",
                "HOST", "'h'", ")",
            ],
        ];

        const GAPS: &[&str] = &[" ", " ", " ", "\t", "\n", "  ", "\r\n", " /* c */ ", "/*c*/", " -- c\n", " # c\n", "/*!*/", "\n-- \n"];
        const PREFIXES: &[&str] = &["", "", "SELECT 1; ", "SET NAMES utf8mb4;", "/* lead */ ", "-- lead\n", "/*!40101 SET @x=1*/;\n"];
        const SUFFIXES: &[&str] = &["", "", "; SELECT 'tail'", ";\nSELECT 2", ";COMMIT"];

        #[derive(Debug, Clone)]
        struct Case {
            sql: String,
            /// Texts that must not survive (the secret, and its spelling in the statement).
            needles: Vec<Vec<u8>>,
            /// Where the secret literal starts and ends in `sql`.
            slot: (usize, usize),
            /// The statement with a `?` in the slot.
            with_param: String,
        }

        fn spell(secret: &str, style: u8) -> (String, Vec<u8>) {
            let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
            let esc = |q: char, doubled: bool| -> String {
                let mut o = String::new();
                for c in secret.chars() {
                    if c == '\\' {
                        o.push_str("\\\\");
                    } else if c == q {
                        o.push_str(if doubled {
                            if q == '\'' { "''" } else { "\"\"" }
                        } else if q == '\'' {
                            "\\'"
                        } else {
                            "\\\""
                        });
                    } else {
                        o.push(c);
                    }
                }
                o
            };
            if style % 11 == 10 {
                // two adjacent strings the server joins into one
                let mid = secret.char_indices().nth(secret.chars().count() / 2).map_or(0, |(i, _)| i);
                let (a, b) = (&secret[..mid], &secret[mid..]);
                let q = |x: &str| x.replace('\\', "\\\\").replace('\'', "''");
                return (format!("'{}' '{}'", q(a), q(b)), q(a).into_bytes());
            }
            match style % 11 {
                0 => (format!("'{}'", esc('\'', true)), esc('\'', true).into_bytes()),
                1 => (format!("'{}'", esc('\'', false)), esc('\'', false).into_bytes()),
                2 => (format!("\"{}\"", esc('"', true)), esc('"', true).into_bytes()),
                3 => (format!("\"{}\"", esc('"', false)), esc('"', false).into_bytes()),
                4 => (format!("_utf8mb4'{}'", esc('\'', true)), esc('\'', true).into_bytes()),
                5 => (format!("_latin1 \"{}\"", esc('"', false)), esc('"', false).into_bytes()),
                6 => (format!("N'{}'", esc('\'', true)), esc('\'', true).into_bytes()),
                7 => (format!("_binary 0x{hex}"), hex.into_bytes()),
                8 => (format!("X'{}'", hex.to_uppercase()), hex.to_uppercase().into_bytes()),
                _ => (format!("_utf8mb4/*i*/'{}'", esc('\'', false)), esc('\'', false).into_bytes()),
            }
        }

        fn case() -> impl Strategy<Value = Case> {
            (
                0..FORMS.len(),
                "[A-Za-z0-9 !#$%&()*+,./:;<=>?@^_{|}~'\"\\\\-]{6,20}",
                any::<u8>(),
                prop::collection::vec((0..GAPS.len(), any::<u32>()), 24),
                0..PREFIXES.len(),
                0..SUFFIXES.len(),
                any::<bool>(),
            )
                .prop_map(|(form, secret, style, gaps, pre, suf, exec)| {
                    let (lit, enc) = spell(&secret, style);
                    let mut needles = vec![secret.clone().into_bytes(), enc];
                    if style % 11 == 10 {
                        let mid = secret.char_indices().nth(secret.chars().count() / 2).map_or(0, |(i, _)| i);
                        needles.push(secret[mid..].replace('\\', "\\\\").replace('\'', "''").into_bytes());
                    }
                    let mut sql = String::from(PREFIXES[pre]);
                    if exec {
                        sql.push_str("/*!80000 ");
                    }
                    let mut with_param = sql.clone();
                    let mut slot = (0, 0);
                    for (i, part) in FORMS[form].iter().enumerate() {
                        let (g, bits) = gaps[i % gaps.len()];
                        if i > 0 {
                            sql.push_str(GAPS[g]);
                            with_param.push_str(GAPS[g]);
                        }
                        if *part == SLOT {
                            slot.0 = sql.len();
                            sql.push_str(&lit);
                            slot.1 = sql.len();
                            with_param.push('?');
                        } else if part.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
                            // keywords in random case
                            let w: String = part
                                .chars()
                                .enumerate()
                                .map(|(k, c)| if bits >> (k % 32) & 1 == 1 { c.to_ascii_lowercase() } else { c })
                                .collect();
                            sql.push_str(&w);
                            with_param.push_str(&w);
                        } else {
                            sql.push_str(part);
                            with_param.push_str(part);
                        }
                    }
                    if exec {
                        sql.push_str(" */");
                        with_param.push_str(" */");
                    }
                    sql.push_str(SUFFIXES[suf]);
                    with_param.push_str(SUFFIXES[suf]);
                    Case { sql, needles, slot, with_param }
                })
        }

        /// No 6-byte window of a needle is in `out`, unless the statement has it outside the secret.
        fn check(out: &str, case: &Case, what: &str) -> Result<(), TestCaseError> {
            let mut rest = case.sql.as_bytes()[..case.slot.0].to_vec();
            rest.extend_from_slice(&case.sql.as_bytes()[case.slot.1..]);
            rest.extend_from_slice(MASK.as_bytes());
            rest.extend_from_slice(SYNTAX.as_bytes());
            rest.extend_from_slice(b"' at line 1");
            for n in &case.needles {
                for w in n.windows(6.min(n.len())) {
                    if memchr::memmem::find(&rest, w).is_some() {
                        continue;
                    }
                    prop_assert!(
                        memchr::memmem::find(out.as_bytes(), w).is_none(),
                        "{what}: {:?} of {:?} survives in {:?} (from {:?})",
                        String::from_utf8_lossy(w),
                        String::from_utf8_lossy(n),
                        out,
                        case.sql
                    );
                }
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(crate::sql::cases(3000))]

            #[test]
            fn planted_secret_never_survives(case in case(), cut in any::<prop::sample::Index>(), from in any::<prop::sample::Index>()) {
                // the whole statement, and cut anywhere from the slot on
                let len = case.sql.len();
                let cut = case.slot.0 + cut.index(len - case.slot.0 + 1);
                for end in [len, cut] {
                    let sql = &case.sql.as_bytes()[..end];
                    for literals in [false, true] {
                        check(&redact(sql, literals), &case, "redact")?;
                    }
                    // the server echoes up to 80 bytes from some token on
                    let stmt = String::from_utf8_lossy(sql).into_owned();
                    let a = from.index(case.slot.1.min(end) + 1);
                    let frag = String::from_utf8_lossy(&sql[a.min(end)..(a + 80).min(end)]).into_owned();
                    let msg = format!("{SYNTAX} '{frag}' at line 1");
                    for literals in [false, true] {
                        check(&redact_error_message(&msg, Some(&stmt), literals), &case, "error message")?;
                    }
                    let whole = format!("{SYNTAX} '{}' at line 1", String::from_utf8_lossy(&sql[..(80).min(end)]));
                    if case.slot.1 <= 80 || end < case.slot.1 {
                        check(&redact_error_message(&whole, None, false), &case, "error message without the statement")?;
                    }
                }
                let params = secret_params(&case.with_param);
                prop_assert_eq!(params, vec![0], "{}", case.with_param);
            }
        }
    }
}
