//! A total, zero-copy tokenizer for MySQL/MariaDB SQL over raw bytes.
//!
//! Every byte of the input belongs to exactly one token, so concatenating the
//! token ranges gives the input back; the lexer never fails and never panics,
//! whatever the bytes (statements cut at a cap mid-token, invalid UTF-8,
//! control bytes). A literal or comment cut by the end of the input is one
//! token flagged [`Flags::UNTERMINATED`].
//!
//! What it knows of the server's lexer (`sql_lex.cc` rules, read from the
//! manuals): `-- ` comments need whitespace or a control byte (or the end)
//! after the dashes; `#` comments; `/* */` comments; executable comments
//! `/*! */`, `/*!50700 */` and MariaDB's `/*M! */`, `/*M!100100 */`, whose
//! content is lexed as SQL between an [`TokenKind::ExecOpen`] and an
//! [`TokenKind::ExecClose`] token (the server runs it); `'..'` and `".."`
//! strings with doubled quotes and backslash escapes; backtick identifiers
//! with doubled backticks; charset introducers (`_utf8mb4`, only for known
//! character-set names); `N'..'`, `X'..'`, `0x..`, `B'..'`, `0b..`; numbers
//! (`1`, `1.5e-3`, `.5`); identifiers that start with a digit (`1t`) and that
//! contain `$` or any byte of 0x80 and above (UTF-8 letters, and invalid bytes
//! too, so no input can break a word in two); `@var`, `@'quoted'`, `@@global.x`;
//! `?` placeholders; operators with longest match (`<=>`, `->>`, `:=`, ...).
//!
//! Choices where the server depends on settings this lexer cannot see:
//! - `"..."` is a string (the default `sql_mode`; under `ANSI_QUOTES` it is an identifier).
//! - Backslash escapes are on (`NO_BACKSLASH_ESCAPES` off, the default).
//! - An executable comment's content is lexed whatever its version number
//!   (a server older than the version skips it; redaction must mask it anyway).
//! - `/*! .. /* .. */ .. */`: the inner comment ends at its own `*/`, the next
//!   `*/` ends the executable comment. Executable comments do not nest.
//! - `@` right after a word, string or quoted identifier (no space) is the
//!   `user@host` separator, an operator; elsewhere `@name` is a user variable.
//! - After a word and a `.` (no spaces: `t1.5col`), a word may start with a digit.
//!
//! Speed: one pass, no allocation; strings, quoted identifiers and comments
//! jump with `memchr` to their closing quote, so a many-MB BLOB literal costs
//! a few memchr calls, and the digits of a `0x...` literal are checked 8
//! bytes at a time (`benches/sql.rs`).

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// Spaces, tabs, newlines, `\v`, `\f`.
    Whitespace,
    /// `-- ...` or `# ...` up to (not including) the newline.
    LineComment,
    /// `/* ... */` (unterminated: to the end), also optimizer hints `/*+ */`.
    BlockComment,
    /// `/*!`, `/*!50700`, `/*M!`, `/*M!100100`: opens an executable comment whose content follows as tokens.
    ExecOpen,
    /// The `*/` that closes an executable comment.
    ExecClose,
    /// `'...'`, `"..."`, `N'...'` (see [`Flags`]).
    String,
    /// `` `...` ``.
    QuotedIdent,
    /// A bare word: keyword or identifier (`SELECT`, `t1`, `1t`, `$x`, `数据`).
    Word,
    /// A charset introducer before a literal: `_utf8mb4`, `_binary`, `_latin1`.
    Introducer,
    /// `1`, `1.5`, `1.5e-3`, `.5`, `1e10`.
    Number,
    /// `X'0A'` or `0x0A`.
    Hex,
    /// `B'01'` or `0b01`.
    Bit,
    /// `@name`, `@'name'`, `@"name"`, `` @`name` ``.
    UserVar,
    /// `@@name`, `@@global.name`, `@@session.name`.
    SysVar,
    /// `?`.
    Placeholder,
    /// Punctuation and operators: `(`, `,`, `;`, `.`, `=`, `<=>`, `->>`, `:=`, `@` (in `user@host`), ...
    Operator,
    /// Any other byte (ASCII control bytes, `\`): one byte per token.
    Other,
}

/// Bit flags of a token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(pub u8);

impl Flags {
    /// A string, quoted identifier, comment or quoted hex/bit literal cut by the end of the input.
    pub const UNTERMINATED: u8 = 1;
    /// A string in double quotes.
    pub const DOUBLE_QUOTED: u8 = 2;
    /// A national string `N'...'`.
    pub const NATIONAL: u8 = 4;
    /// A hex or bit literal in the quoted form `X'..'` / `B'..'`.
    pub const QUOTED: u8 = 8;
    /// An executable comment of MariaDB (`/*M!`).
    pub const MARIADB: u8 = 16;

    /// True when every bit of `f` is set.
    pub fn has(self, f: u8) -> bool {
        self.0 & f == f
    }
}

/// One token: a kind and a byte range of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Flags (see [`Flags`]).
    pub flags: Flags,
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Token {
    /// The token's bytes in `src` (the input it was lexed from).
    pub fn text<'a>(&self, src: &'a [u8]) -> &'a [u8] {
        src.get(self.start..self.end).unwrap_or(b"")
    }

    /// Byte length.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// True for an empty token (never produced by the lexer).
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Whitespace, comments and the executable-comment delimiters: what a
    /// statement's meaning skips (the delimiters' content is SQL and is not trivia).
    pub fn is_trivia(&self) -> bool {
        matches!(
            self.kind,
            TokenKind::Whitespace | TokenKind::LineComment | TokenKind::BlockComment | TokenKind::ExecOpen | TokenKind::ExecClose
        )
    }

    /// A comment that is not executable (line or block).
    pub fn is_comment(&self) -> bool {
        matches!(self.kind, TokenKind::LineComment | TokenKind::BlockComment)
    }

    /// A literal value: string, number, hex or bit.
    pub fn is_literal(&self) -> bool {
        matches!(self.kind, TokenKind::String | TokenKind::Number | TokenKind::Hex | TokenKind::Bit)
    }

    /// Cut by the end of the input.
    pub fn is_unterminated(&self) -> bool {
        self.flags.has(Flags::UNTERMINATED)
    }

    /// A bare word equal to `kw`, ASCII case-insensitively (`kw` in any case).
    pub fn is_word(&self, src: &[u8], kw: &[u8]) -> bool {
        self.kind == TokenKind::Word && self.text(src).eq_ignore_ascii_case(kw)
    }

    /// An operator spelled exactly `op`.
    pub fn is_op(&self, src: &[u8], op: &[u8]) -> bool {
        self.kind == TokenKind::Operator && self.text(src) == op
    }

    /// The content of a string, quoted identifier, quoted hex/bit literal or
    /// quoted user variable, between its quotes, escapes left as they are
    /// (an unterminated one: to the end). Other tokens: their text.
    pub fn inner<'a>(&self, src: &'a [u8]) -> &'a [u8] {
        let t = self.text(src);
        let open = match self.kind {
            TokenKind::String | TokenKind::Hex | TokenKind::Bit => t.iter().position(|&c| c == b'\'' || c == b'"'),
            TokenKind::QuotedIdent => Some(0),
            TokenKind::UserVar if t.len() > 1 && matches!(t[1], b'\'' | b'"' | b'`') => Some(1),
            _ => None,
        };
        match open {
            Some(o) if o < t.len() => {
                let close = if self.is_unterminated() { t.len() } else { t.len().saturating_sub(1).max(o + 1) };
                &t[o + 1..close]
            }
            _ => t,
        }
    }
}

/// Character-set names the server accepts after `_` as an introducer
/// (MySQL 8.x and MariaDB 10.x/11.x `SHOW CHARACTER SET`).
const CHARSETS: &[&[u8]] = &[
    b"armscii8",
    b"ascii",
    b"big5",
    b"binary",
    b"cp1250",
    b"cp1251",
    b"cp1256",
    b"cp1257",
    b"cp850",
    b"cp852",
    b"cp866",
    b"cp932",
    b"dec8",
    b"eucjpms",
    b"euckr",
    b"gb18030",
    b"gb2312",
    b"gbk",
    b"geostd8",
    b"greek",
    b"hebrew",
    b"hp8",
    b"keybcs2",
    b"koi8r",
    b"koi8u",
    b"latin1",
    b"latin2",
    b"latin5",
    b"latin7",
    b"macce",
    b"macroman",
    b"sjis",
    b"swe7",
    b"tis620",
    b"ucs2",
    b"ujis",
    b"utf16",
    b"utf16le",
    b"utf32",
    b"utf8",
    b"utf8mb3",
    b"utf8mb4",
];

/// True when `name` (without the `_`) is a character set an introducer may name.
pub fn is_charset(name: &[u8]) -> bool {
    name.len() <= 8 && CHARSETS.iter().any(|c| c.eq_ignore_ascii_case(name))
}

// Byte classes, one table lookup per byte on the hot paths.
const C_OTHER: u8 = 0;
const C_WS: u8 = 1;
const C_IDENT: u8 = 2; // letter, _, $, >= 0x80 (word start and part)
const C_DIGIT: u8 = 3;
const C_QUOTE: u8 = 4; // ' "
const C_PUNCT: u8 = 5;

const fn classes() -> [u8; 256] {
    let mut t = [C_OTHER; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = match b {
            b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' => C_WS,
            b'a'..=b'z' | b'A'..=b'Z' | b'_' | b'$' | 0x80..=0xff => C_IDENT,
            b'0'..=b'9' => C_DIGIT,
            b'\'' | b'"' => C_QUOTE,
            b'(' | b')' | b',' | b';' | b'.' | b'=' | b'<' | b'>' | b'!' | b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'&' | b'|' | b'~'
            | b':' | b'{' | b'}' | b'[' | b']' | b'@' | b'?' | b'#' | b'`' => C_PUNCT,
            _ => C_OTHER,
        };
        i += 1;
    }
    t
}

static CLASS: [u8; 256] = classes();

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// High bit of each byte of `x` set where `lo <= byte <= hi` (every byte below 0x80).
#[inline]
fn in_range(x: u64, lo: u8, hi: u8) -> u64 {
    let ge_lo = x + ONES * (128 - lo as u64);
    let gt_hi = x + ONES * (127 - hi as u64);
    ge_lo & !gt_hi & HIGHS
}

/// End of the run of hex digits from `i`: 8 bytes at a time (a `0x...` BLOB
/// literal is most of a big INSERT), then byte by byte.
fn hex_end(s: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = s.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        if w & HIGHS != 0 || in_range(w, b'0', b'9') | in_range(w | (ONES * 0x20), b'a', b'f') != HIGHS {
            break;
        }
        i += 8;
    }
    while i < s.len() && s[i].is_ascii_hexdigit() {
        i += 1;
    }
    i
}

#[inline]
fn is_ident_byte(b: u8) -> bool {
    let c = CLASS[b as usize];
    c == C_IDENT || c == C_DIGIT
}

/// The tokenizer: an iterator of [`Token`]s over one input.
///
/// ```
/// use mywire::sql::lexer::{Lexer, TokenKind};
/// let sql = b"SELECT 'a''b' /* c */ FROM t1";
/// let kinds: Vec<TokenKind> = Lexer::new(sql).significant().map(|t| t.kind).collect();
/// assert_eq!(kinds, [TokenKind::Word, TokenKind::String, TokenKind::Word, TokenKind::Word]);
/// ```
#[derive(Clone, Debug)]
pub struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    in_exec: bool,
    /// Kind and end of the previous token, for the `user@host` and `t.5col` rules.
    prev: Option<(TokenKind, usize)>,
    /// The previous token was a `.` right after a word.
    after_dot: bool,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `src`.
    pub fn new(src: &'a [u8]) -> Self {
        Lexer { src, pos: 0, in_exec: false, prev: None, after_dot: false }
    }

    /// The input.
    pub fn src(&self) -> &'a [u8] {
        self.src
    }

    /// The next token that is not trivia (see [`Token::is_trivia`]).
    pub fn next_significant(&mut self) -> Option<Token> {
        self.find(|t| !t.is_trivia())
    }

    /// An iterator of the tokens that are not trivia.
    pub fn significant(self) -> impl Iterator<Item = Token> + 'a {
        self.filter(|t| !t.is_trivia())
    }

    #[inline]
    fn at(&self, i: usize) -> u8 {
        self.src.get(i).copied().unwrap_or(0)
    }

    fn has(&self, i: usize) -> bool {
        i < self.src.len()
    }

    /// End of a run of ident bytes starting at `i`.
    #[inline]
    fn ident_end(&self, mut i: usize) -> usize {
        let s = self.src;
        while i < s.len() && is_ident_byte(s[i]) {
            i += 1;
        }
        i
    }

    /// End of a quoted run opened at `open` (the quote byte): (end, terminated).
    /// `escapes`: backslash escapes the next byte. A doubled quote is one quote.
    fn quoted_end(&self, open: usize, q: u8, escapes: bool) -> (usize, bool) {
        let s = self.src;
        let mut i = open + 1;
        loop {
            let hit = if escapes { memchr::memchr2(q, b'\\', &s[i.min(s.len())..]) } else { memchr::memchr(q, &s[i.min(s.len())..]) };
            match hit {
                None => return (s.len(), false),
                Some(k) => {
                    let j = i + k;
                    if s[j] == b'\\' {
                        if j + 1 >= s.len() {
                            return (s.len(), false);
                        }
                        i = j + 2;
                    } else if s.get(j + 1) == Some(&q) {
                        i = j + 2;
                    } else {
                        return (j + 1, true);
                    }
                }
            }
        }
    }

    fn quoted(&self, open: usize, q: u8, escapes: bool) -> (usize, Flags) {
        let (end, ok) = self.quoted_end(open, q, escapes);
        (end, Flags(if ok { 0 } else { Flags::UNTERMINATED }))
    }

    /// Number or digit-led word at `p` (first byte is a digit).
    fn number(&self, p: usize) -> (TokenKind, usize) {
        let s = self.src;
        let c1 = self.at(p + 1);
        if s[p] == b'0' && (c1 == b'x' || c1 == b'b') {
            let i = if c1 == b'x' {
                hex_end(s, p + 2)
            } else {
                let mut i = p + 2;
                while i < s.len() && (s[i] == b'0' || s[i] == b'1') {
                    i += 1;
                }
                i
            };
            if i > p + 2 && !(i < s.len() && is_ident_byte(s[i])) {
                return (if c1 == b'x' { TokenKind::Hex } else { TokenKind::Bit }, i);
            }
            return (TokenKind::Word, self.ident_end(p));
        }
        let mut i = p;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        let int_end = i;
        let mut plain = true;
        if self.at(i) == b'.' {
            plain = false;
            i += 1;
            while i < s.len() && s[i].is_ascii_digit() {
                i += 1;
            }
        }
        if let Some(e) = self.exponent(i) {
            return (TokenKind::Number, e);
        }
        if plain && int_end < s.len() && is_ident_byte(s[int_end]) {
            // `1t`, `123abc`, `1e` (no exponent digits): an identifier
            return (TokenKind::Word, self.ident_end(p));
        }
        (TokenKind::Number, i)
    }

    /// End of an exponent `e[+-]digits` starting at `i`, if there is one.
    fn exponent(&self, i: usize) -> Option<usize> {
        if !matches!(self.at(i), b'e' | b'E') {
            return None;
        }
        let mut j = i + 1;
        if matches!(self.at(j), b'+' | b'-') {
            j += 1;
        }
        if !self.at(j).is_ascii_digit() {
            return None;
        }
        while self.at(j).is_ascii_digit() {
            j += 1;
        }
        Some(j)
    }

    /// Executable-comment opener at `p` (`/*!` or `/*M!` already checked): end of the version digits.
    fn exec_open_end(&self, after_bang: usize) -> usize {
        let mut i = after_bang;
        // 5 digits is the MySQL version form, MariaDB also writes 6
        while i < after_bang + 6 && self.at(i).is_ascii_digit() {
            i += 1;
        }
        i
    }

    fn lex(&mut self) -> Option<Token> {
        let s = self.src;
        let p = self.pos;
        if p >= s.len() {
            return None;
        }
        let b = s[p];
        let mut flags = Flags(0);
        let after_dot = std::mem::take(&mut self.after_dot);
        // kind of the previous token when it ends right here (no trivia between)
        let glued = match self.prev {
            Some((k, e)) if e == p => Some(k),
            _ => None,
        };
        let after_word = matches!(glued, Some(TokenKind::Word | TokenKind::String | TokenKind::QuotedIdent));
        let (kind, end) = match CLASS[b as usize] {
            C_WS => {
                let mut i = p + 1;
                while i < s.len() && CLASS[s[i] as usize] == C_WS {
                    i += 1;
                }
                (TokenKind::Whitespace, i)
            }
            C_DIGIT if after_dot => (TokenKind::Word, self.ident_end(p)),
            C_DIGIT => self.number(p),
            C_QUOTE => {
                if b == b'"' {
                    flags.0 |= Flags::DOUBLE_QUOTED;
                }
                let (e, f) = self.quoted(p, b, true);
                flags.0 |= f.0;
                (TokenKind::String, e)
            }
            C_IDENT => {
                let c1 = self.at(p + 1);
                match b {
                    b'x' | b'X' | b'b' | b'B' | b'n' | b'N' if c1 == b'\'' => {
                        let (e, f) = self.quoted(p + 1, b'\'', b == b'n' || b == b'N');
                        flags.0 |= f.0;
                        let kind = match b {
                            b'x' | b'X' => TokenKind::Hex,
                            b'b' | b'B' => TokenKind::Bit,
                            _ => TokenKind::String,
                        };
                        flags.0 |= if kind == TokenKind::String { Flags::NATIONAL } else { Flags::QUOTED };
                        (kind, e)
                    }
                    _ => {
                        let e = self.ident_end(p);
                        if b == b'_' && is_charset(&s[p + 1..e]) { (TokenKind::Introducer, e) } else { (TokenKind::Word, e) }
                    }
                }
            }
            C_PUNCT => self.punct(p, b, &mut flags, after_word, matches!(glued, Some(TokenKind::Word | TokenKind::QuotedIdent))),
            _ => (TokenKind::Other, p + 1),
        };
        if kind == TokenKind::Operator && b == b'.' && matches!(glued, Some(TokenKind::Word | TokenKind::QuotedIdent)) {
            self.after_dot = true;
        }
        self.pos = end;
        self.prev = Some((kind, end));
        Some(Token { kind, flags, start: p, end })
    }

    /// `after_word`: glued to a word, string or quoted identifier (`user@host`);
    /// `after_name`: glued to a word or quoted identifier (`t.5col`).
    fn punct(&mut self, p: usize, b: u8, flags: &mut Flags, after_word: bool, after_name: bool) -> (TokenKind, usize) {
        let s = self.src;
        let c1 = self.at(p + 1);
        let c2 = self.at(p + 2);
        let has1 = self.has(p + 1);
        match b {
            b'#' => (TokenKind::LineComment, self.line_end(p)),
            b'-' if c1 == b'-' && (!self.has(p + 2) || c2 <= b' ' || c2 == 0x7f) => (TokenKind::LineComment, self.line_end(p)),
            b'/' if c1 == b'*' => {
                if c2 == b'!' && self.has(p + 2) {
                    self.in_exec = true;
                    (TokenKind::ExecOpen, self.exec_open_end(p + 3))
                } else if c2 == b'M' && self.at(p + 3) == b'!' && self.has(p + 3) {
                    self.in_exec = true;
                    flags.0 |= Flags::MARIADB;
                    (TokenKind::ExecOpen, self.exec_open_end(p + 4))
                } else {
                    match memchr::memmem::find(&s[(p + 2).min(s.len())..], b"*/") {
                        Some(k) => (TokenKind::BlockComment, p + 2 + k + 2),
                        None => {
                            flags.0 |= Flags::UNTERMINATED;
                            (TokenKind::BlockComment, s.len())
                        }
                    }
                }
            }
            b'*' if c1 == b'/' && self.in_exec => {
                self.in_exec = false;
                (TokenKind::ExecClose, p + 2)
            }
            b'`' => {
                let (e, f) = self.quoted(p, b'`', false);
                flags.0 |= f.0;
                (TokenKind::QuotedIdent, e)
            }
            b'?' => (TokenKind::Placeholder, p + 1),
            b'.' if c1.is_ascii_digit() && has1 && !after_name => {
                let mut i = p + 1;
                while self.at(i).is_ascii_digit() {
                    i += 1;
                }
                (TokenKind::Number, self.exponent(i).unwrap_or(i))
            }
            b'@' if after_word => (TokenKind::Operator, p + 1),
            b'@' if c1 == b'@' && has1 => (TokenKind::SysVar, self.var_end(p + 2)),
            b'@' if matches!(c1, b'\'' | b'"' | b'`') && has1 => {
                let (e, f) = self.quoted(p + 1, c1, c1 != b'`');
                flags.0 |= f.0;
                (TokenKind::UserVar, e)
            }
            b'@' if has1 && (is_ident_byte(c1) || c1 == b'.') => (TokenKind::UserVar, self.var_end(p + 1)),
            _ => {
                let three = [b, c1, c2];
                let two = [b, c1];
                let len = if self.has(p + 2) && (&three == b"<=>" || &three == b"->>") {
                    3
                } else if has1 && matches!(&two, b"<=" | b">=" | b"<>" | b"!=" | b"<<" | b">>" | b"&&" | b"||" | b":=" | b"->") {
                    2
                } else {
                    1
                };
                (TokenKind::Operator, p + len)
            }
        }
    }

    /// End of a variable name: ident bytes and dots (`@a.b`, `@@global.x`).
    fn var_end(&self, mut i: usize) -> usize {
        let s = self.src;
        while i < s.len() && (is_ident_byte(s[i]) || s[i] == b'.') {
            i += 1;
        }
        i
    }

    /// End of a line comment starting at `p`: the next `\n` (not included), or the end.
    fn line_end(&self, p: usize) -> usize {
        memchr::memchr(b'\n', &self.src[p..]).map_or(self.src.len(), |k| p + k)
    }
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    #[inline]
    fn next(&mut self) -> Option<Token> {
        self.lex()
    }
}

/// All tokens of `src`, in order.
pub fn tokenize(src: &[u8]) -> Vec<Token> {
    Lexer::new(src).collect()
}

#[cfg(test)]
mod tests {
    use super::TokenKind::*;
    use super::*;

    fn lex(s: &str) -> Vec<(TokenKind, &str)> {
        Lexer::new(s.as_bytes()).map(|t| (t.kind, &s[t.start..t.end])).collect()
    }

    fn sig(s: &str) -> Vec<(TokenKind, &str)> {
        lex(s).into_iter().filter(|(k, _)| !matches!(k, Whitespace)).collect()
    }

    #[test]
    fn basic_statement() {
        assert_eq!(
            lex("SELECT a, `b``c` FROM t1 WHERE x='it''s' AND y=\"q\\\"\""),
            [
                (Word, "SELECT"),
                (Whitespace, " "),
                (Word, "a"),
                (Operator, ","),
                (Whitespace, " "),
                (QuotedIdent, "`b``c`"),
                (Whitespace, " "),
                (Word, "FROM"),
                (Whitespace, " "),
                (Word, "t1"),
                (Whitespace, " "),
                (Word, "WHERE"),
                (Whitespace, " "),
                (Word, "x"),
                (Operator, "="),
                (String, "'it''s'"),
                (Whitespace, " "),
                (Word, "AND"),
                (Whitespace, " "),
                (Word, "y"),
                (Operator, "="),
                (String, "\"q\\\"\""),
            ]
        );
    }

    #[test]
    fn comments() {
        assert_eq!(sig("a -- x\nb"), [(Word, "a"), (LineComment, "-- x"), (Word, "b")]);
        assert_eq!(sig("a --x"), [(Word, "a"), (Operator, "-"), (Operator, "-"), (Word, "x")]);
        assert_eq!(sig("a --"), [(Word, "a"), (LineComment, "--")]);
        assert_eq!(sig("a --\tx"), [(Word, "a"), (LineComment, "--\tx")]);
        assert_eq!(sig("a --\x01x"), [(Word, "a"), (LineComment, "--\x01x")]);
        assert_eq!(sig("1--1"), [(Number, "1"), (Operator, "-"), (Operator, "-"), (Number, "1")]);
        assert_eq!(sig("a # x\r\nb"), [(Word, "a"), (LineComment, "# x\r"), (Word, "b")]);
        assert_eq!(sig("a /* x */ b"), [(Word, "a"), (BlockComment, "/* x */"), (Word, "b")]);
        assert_eq!(sig("a /*+ BKA(t) */ b"), [(Word, "a"), (BlockComment, "/*+ BKA(t) */"), (Word, "b")]);
        let t: Vec<_> = Lexer::new(b"a /* x").collect();
        assert_eq!(t[2].kind, BlockComment);
        assert!(t[2].is_unterminated());
        assert_eq!(t[2].end, 6);
        assert_eq!(sig("a /**/b"), [(Word, "a"), (BlockComment, "/**/"), (Word, "b")]);
        assert_eq!(sig("a */ b"), [(Word, "a"), (Operator, "*"), (Operator, "/"), (Word, "b")]);
    }

    #[test]
    fn executable_comments_lex_their_content() {
        assert_eq!(
            sig("/*!40101 SET NAMES utf8 */;"),
            [(ExecOpen, "/*!40101"), (Word, "SET"), (Word, "NAMES"), (Word, "utf8"), (ExecClose, "*/"), (Operator, ";")]
        );
        assert_eq!(sig("/*!SET x=1*/"), [(ExecOpen, "/*!"), (Word, "SET"), (Word, "x"), (Operator, "="), (Number, "1"), (ExecClose, "*/")]);
        assert_eq!(
            sig("/*M!100100 IDENTIFIED BY 'x' */"),
            [(ExecOpen, "/*M!100100"), (Word, "IDENTIFIED"), (Word, "BY"), (String, "'x'"), (ExecClose, "*/")]
        );
        assert_eq!(
            sig("/*!50700 a /* c */ b */ c*/"),
            [
                (ExecOpen, "/*!50700"),
                (Word, "a"),
                (BlockComment, "/* c */"),
                (Word, "b"),
                (ExecClose, "*/"),
                (Word, "c"),
                (Operator, "*"),
                (Operator, "/")
            ]
        );
        // a string inside holds a `*/`
        assert_eq!(sig("/*! 'a*/b' */"), [(ExecOpen, "/*!"), (String, "'a*/b'"), (ExecClose, "*/")]);
        assert!(Lexer::new(b"/*M!x*/").next().unwrap().flags.has(Flags::MARIADB));
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(sig(r"'a\'b' 'c'"), [(String, r"'a\'b'"), (String, "'c'")]);
        assert_eq!(sig(r"'a\\' 'c'"), [(String, r"'a\\'"), (String, "'c'")]);
        assert_eq!(sig("'a''' x"), [(String, "'a'''"), (Word, "x")]);
        assert_eq!(sig("N'x' n'y'"), [(String, "N'x'"), (String, "n'y'")]);
        let t = Lexer::new(b"'abc").next().unwrap();
        assert!(t.is_unterminated() && t.end == 4);
        let t = Lexer::new(b"'abc\\").next().unwrap();
        assert!(t.is_unterminated() && t.end == 5);
        let t = Lexer::new(b"'abc''").next().unwrap();
        assert!(t.is_unterminated() && t.end == 6);
        assert_eq!(Lexer::new(b"'it''s'").next().unwrap().inner(b"'it''s'"), b"it''s");
        assert_eq!(Lexer::new(b"N'ab").next().unwrap().inner(b"N'ab"), b"ab");
    }

    #[test]
    fn literals_and_introducers() {
        assert_eq!(
            sig("_utf8mb4'x' _binary 0xFF _latin1\"y\""),
            [(Introducer, "_utf8mb4"), (String, "'x'"), (Introducer, "_binary"), (Hex, "0xFF"), (Introducer, "_latin1"), (String, "\"y\""),]
        );
        assert_eq!(sig("_id 'alias'"), [(Word, "_id"), (String, "'alias'")]);
        assert_eq!(sig("X'0a' x'' 0x1F 0xG 0x"), [(Hex, "X'0a'"), (Hex, "x''"), (Hex, "0x1F"), (Word, "0xG"), (Word, "0x")]);
        assert_eq!(sig("B'01' 0b101 0b12"), [(Bit, "B'01'"), (Bit, "0b101"), (Word, "0b12")]);
        assert_eq!(
            sig("1 1.5 1.5e-3 .5 1e10 1. 1e 1t 12abc"),
            [
                (Number, "1"),
                (Number, "1.5"),
                (Number, "1.5e-3"),
                (Number, ".5"),
                (Number, "1e10"),
                (Number, "1."),
                (Word, "1e"),
                (Word, "1t"),
                (Word, "12abc"),
            ]
        );
        assert_eq!(sig("t1.5col a.b"), [(Word, "t1"), (Operator, "."), (Word, "5col"), (Word, "a"), (Operator, "."), (Word, "b")]);
        assert_eq!(sig("x-1 1+.5"), [(Word, "x"), (Operator, "-"), (Number, "1"), (Number, "1"), (Operator, "+"), (Number, ".5")]);
    }

    #[test]
    fn variables_and_operators() {
        assert_eq!(
            sig("@a @a.b @'q r' @`x` @@global.max_allowed_packet @@x @"),
            [
                (UserVar, "@a"),
                (UserVar, "@a.b"),
                (UserVar, "@'q r'"),
                (UserVar, "@`x`"),
                (SysVar, "@@global.max_allowed_packet"),
                (SysVar, "@@x"),
                (Operator, "@"),
            ]
        );
        assert_eq!(sig("'u'@'h' u@h"), [(String, "'u'"), (Operator, "@"), (String, "'h'"), (Word, "u"), (Operator, "@"), (Word, "h")]);
        assert_eq!(
            sig("a:=b<=>c->>'$.x'->d<>e!=f<<g>>h&&i||j?"),
            [
                (Word, "a"),
                (Operator, ":="),
                (Word, "b"),
                (Operator, "<=>"),
                (Word, "c"),
                (Operator, "->>"),
                (String, "'$.x'"),
                (Operator, "->"),
                (Word, "d"),
                (Operator, "<>"),
                (Word, "e"),
                (Operator, "!="),
                (Word, "f"),
                (Operator, "<<"),
                (Word, "g"),
                (Operator, ">>"),
                (Word, "h"),
                (Operator, "&&"),
                (Word, "i"),
                (Operator, "||"),
                (Word, "j"),
                (Placeholder, "?"),
            ]
        );
    }

    #[test]
    fn unicode_and_invalid_bytes_stay_in_words() {
        assert_eq!(sig("SELECT 数据 FROM $t"), [(Word, "SELECT"), (Word, "数据"), (Word, "FROM"), (Word, "$t")]);
        let src = b"a\xff\xfeb \x00\\";
        let t: Vec<_> = Lexer::new(src).collect();
        assert_eq!(t.iter().map(|t| t.kind).collect::<Vec<_>>(), [Word, Whitespace, Other, Other]);
        assert_eq!(t[0].text(src), b"a\xff\xfeb");
    }

    #[test]
    fn every_cut_of_a_statement_reassembles() {
        let sql = "/*!50700 SELECT */ `a``b`, _utf8mb4'x\\'y', X'0A', 0x1F, 1.5e-3, @@global.x, @'v' -- c\n# d\n FROM t WHERE a<=>? /* e";
        for cut in 0..=sql.len() {
            let src = &sql.as_bytes()[..cut];
            let mut at = 0;
            for t in Lexer::new(src) {
                assert_eq!(t.start, at, "cut {cut}");
                assert!(t.end > t.start);
                at = t.end;
            }
            assert_eq!(at, cut);
        }
    }

    /// Proptests: totality on any bytes, and the `sqlparser` crate's MySQL
    /// tokenizer as an oracle for token boundaries.
    ///
    /// Compared: string literals (`'..'`, `".."`, `N'..'`), comments (`--`,
    /// `#`, `/* */`), identifiers (bare, digit-led, unicode, backticked; an
    /// introducer counts as a word), numbers, quoted hex/bit literals.
    /// Divergences accepted, so left out of the generator (each follows the
    /// server's lexer, `sql_lex.cc`): executable comments (sqlparser drops
    /// the `/*!50700`/`*/` markers into whitespace), `@var`/`@@x.y` (sqlparser:
    /// a word `@@x`, `.`, a word), `0b101` (sqlparser: a word; MySQL: a bit
    /// literal), `1e` and `0xG` (sqlparser: number + word; MySQL: one
    /// identifier), `--` at the very end (sqlparser: two minus; MySQL: a
    /// comment), `?1` (sqlparser: one numbered placeholder), unterminated
    /// literals (sqlparser: an error), `` `t`.5 `` (sqlparser: `.` and a
    /// number; MySQL: a column named `5`).
    mod oracle {
        use super::super::*;
        use proptest::prelude::*;
        use sqlparser::dialect::MySqlDialect;
        use sqlparser::tokenizer::{Token as SpToken, Tokenizer, Whitespace as SpWs};

        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        enum Class {
            Str,
            Comment,
            Ident,
            Num,
            Hex,
            Bit,
        }

        /// A generated fragment and whether it is word-like (must not touch a neighbour).
        #[derive(Clone, Debug)]
        struct Frag(String, bool);

        fn quoted(q: char) -> impl Strategy<Value = String> {
            let piece = prop_oneof![
                4 => "[a-z0-9 ,;*#/-]".prop_map(|s| s),
                1 => Just("\n".to_string()),
                1 => Just(format!("{q}{q}")),
                1 => "[a-z'\"\\\\n]".prop_map(|c| format!("\\{c}")),
                1 => Just(if q == '\'' { "\"".to_string() } else { "'".to_string() }),
                1 => "[éø数]".prop_map(|s| s),
            ];
            prop::collection::vec(piece, 0..8).prop_map(move |v| format!("{q}{}{q}", v.concat()))
        }

        fn frag() -> impl Strategy<Value = Frag> {
            prop_oneof![
                3 => "[a-zA-Z_][a-zA-Z0-9_$]{0,8}".prop_map(|s| Frag(s, true)),
                1 => "[1-9][0-9]{0,2}[g-wyzG-WYZ_][a-z0-9_]{0,4}".prop_map(|s| Frag(s, true)),
                1 => "(数据|café|ñame|表[0-9])".prop_map(|s| Frag(s, true)),
                1 => "[a-z][a-z0-9]{0,4}\\.[a-z][a-z0-9]{0,4}".prop_map(|s| Frag(s, true)),
                1 => prop::collection::vec("[a-z `]", 0..6)
                    .prop_map(|v| Frag(format!("`{}`", v.concat().replace('`', "``")), false)),
                3 => quoted('\'').prop_map(|s| Frag(s, false)),
                2 => quoted('"').prop_map(|s| Frag(s, false)),
                1 => quoted('\'').prop_map(|s| Frag(format!("N{s}"), true)),
                1 => "(_utf8mb4|_latin1|_binary) ".prop_map(|s| Frag(s, true)),
                2 => "[0-9]{1,5}".prop_map(|s| Frag(s, true)),
                2 => "([0-9]{1,3}\\.[0-9]{1,3}|\\.[0-9]{1,3}|[0-9]{1,3})([eE][+-]?[0-9]{1,2})?".prop_map(|s| Frag(s, true)),
                1 => "[xX]'[0-9a-f]{0,4}'".prop_map(|s| Frag(s, true)),
                1 => "0x[0-9a-f]{1,4}".prop_map(|s| Frag(s, true)),
                1 => "[bB]'[01]{0,4}'".prop_map(|s| Frag(s, true)),
                1 => "-- [a-z '\"*#/-]{0,8}\n".prop_map(|s| Frag(s, false)),
                1 => "#[a-z '\"*#/-]{0,8}\n".prop_map(|s| Frag(s, false)),
                1 => "/\\*[a-z '\"#-]{0,8}\\*/".prop_map(|s| Frag(s, false)),
                2 => "(=|<=>|<>|!=|<=|>=|<|>|:=|\\(|\\)|,|;|\\+|%)".prop_map(|s| Frag(s, false)),
                // `?0` is a numbered placeholder to sqlparser, `?` and `0` to MySQL
                1 => Just(Frag("?".into(), true)),
            ]
        }

        fn statement() -> impl Strategy<Value = String> {
            let sep = prop_oneof![3 => Just(" "), 1 => Just(""), 1 => Just("\n"), 1 => Just("\t"), 1 => Just("  ")];
            prop::collection::vec((frag(), sep), 1..24).prop_map(|v| {
                let mut out = String::new();
                let mut prev_word = false;
                let mut prev_op = false;
                for (Frag(f, word), sep) in v {
                    let op = !word && f.len() <= 3 && !f.starts_with(['\'', '"', '`']);
                    // words glue into one word, operators into other operators
                    // and `` `t`.5 `` is a qualified name to MySQL
                    let glue = (prev_word && word)
                        || (prev_op && op)
                        || (prev_word && f.starts_with(['\'', '"']))
                        || (out.ends_with('`') && f.starts_with('.'));
                    let sep = if sep.is_empty() && glue { " " } else { sep };
                    out.push_str(sep);
                    out.push_str(&f);
                    prev_word = word;
                    prev_op = op;
                }
                out
            })
        }

        fn ours(s: &str) -> Vec<(Class, usize, usize)> {
            Lexer::new(s.as_bytes())
                .filter_map(|t| {
                    let c = match t.kind {
                        TokenKind::String => Class::Str,
                        TokenKind::LineComment | TokenKind::BlockComment => Class::Comment,
                        TokenKind::Word | TokenKind::QuotedIdent | TokenKind::Introducer => Class::Ident,
                        TokenKind::Number => Class::Num,
                        TokenKind::Hex => Class::Hex,
                        TokenKind::Bit => Class::Bit,
                        _ => return None,
                    };
                    Some((c, t.start, t.end))
                })
                .collect()
        }

        /// Byte offset of a 1-based (line, column in chars) location.
        fn offsets(s: &str) -> std::collections::HashMap<(u64, u64), usize> {
            let mut m = std::collections::HashMap::new();
            let (mut line, mut col) = (1u64, 1u64);
            for (i, c) in s.char_indices() {
                m.insert((line, col), i);
                if c == '\n' {
                    line += 1;
                    col = 1;
                } else {
                    col += 1;
                }
            }
            m.insert((line, col), s.len());
            m
        }

        fn theirs(s: &str) -> Vec<(Class, usize, usize)> {
            let d = MySqlDialect {};
            let toks = Tokenizer::new(&d, s).with_unescape(false).tokenize_with_location().expect("generated SQL tokenizes");
            let at = offsets(s);
            toks.into_iter()
                .filter_map(|t| {
                    let c = match t.token {
                        SpToken::SingleQuotedString(_) | SpToken::DoubleQuotedString(_) | SpToken::NationalStringLiteral(_) => Class::Str,
                        SpToken::Whitespace(SpWs::SingleLineComment { .. } | SpWs::MultiLineComment(_)) => Class::Comment,
                        SpToken::Word(_) => Class::Ident,
                        SpToken::Number(..) => Class::Num,
                        SpToken::HexStringLiteral(_) => Class::Hex,
                        SpToken::SingleQuotedByteStringLiteral(_) => Class::Bit,
                        _ => return None,
                    };
                    Some((c, at[&(t.span.start.line, t.span.start.column)], at[&(t.span.end.line, t.span.end.column)]))
                })
                .collect()
        }

        proptest! {
            #![proptest_config(crate::sql::cases(2000))]

            #[test]
            fn same_boundaries_as_sqlparser(s in statement()) {
                prop_assert_eq!(ours(&s), theirs(&s), "{:?}", s);
            }
        }

        #[test]
        fn oracle_sees_the_same_on_a_fixed_mix() {
            let s = "SELECT `a``b`, 'it''s', \"q\\\"\", N'n', _utf8mb4 'x', 1.5e-3, .5, 0x1F, X'0a', b'01', 1t -- c\n# d\n/* e */ FROM t1.c2 WHERE 数据 <=> ?";
            assert_eq!(ours(s), theirs(s));
        }
    }

    proptest::proptest! {
        #![proptest_config(crate::sql::cases(2000))]

        /// Any bytes: no panic, tokens tile the input exactly.
        #[test]
        fn total_on_any_bytes(src in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            check_tiling(&src)?;
        }

        /// Bytes drawn from the characters that steer the lexer, where edge cases live.
        #[test]
        fn total_on_sql_punctuation(src in proptest::collection::vec(proptest::sample::select(b"'\"`\\/*-#!M@?.:<=>0xXbBnNe1_ \n\t\xc3\xa9".to_vec()), 0..300)) {
            check_tiling(&src)?;
        }
    }

    proptest::proptest! {
        /// The 8-bytes-at-a-time hex scan ends where a byte-by-byte one does.
        #[test]
        fn hex_end_is_exact(src in proptest::collection::vec(proptest::sample::select(b"0123456789abcdefABCDEFgG:@`/\x7f\x80\xff ".to_vec()), 0..80), from in 0usize..8) {
            let from = from.min(src.len());
            let slow = from + src[from..].iter().take_while(|b| b.is_ascii_hexdigit()).count();
            proptest::prop_assert_eq!(hex_end(&src, from), slow);
        }
    }

    fn check_tiling(src: &[u8]) -> Result<(), proptest::test_runner::TestCaseError> {
        let mut at = 0;
        let mut joined = Vec::with_capacity(src.len());
        for t in Lexer::new(src) {
            proptest::prop_assert_eq!(t.start, at);
            proptest::prop_assert!(t.end > t.start && t.end <= src.len());
            joined.extend_from_slice(t.text(src));
            at = t.end;
            let _ = t.inner(src);
        }
        proptest::prop_assert_eq!(joined.as_slice(), src);
        Ok(())
    }
}
