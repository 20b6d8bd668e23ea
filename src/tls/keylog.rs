//! NSS key log files (`SSLKEYLOGFILE`), as written by OpenSSL, NSS, Python's
//! `ssl` (`keylog_filename`), curl, browsers, and by `editcap --inject-secrets`
//! into a pcapng Decryption Secrets Block.
//!
//! One line per secret: `LABEL <client_random hex, 32 bytes> <secret hex>`;
//! `#` starts a comment. The labels used here are `CLIENT_RANDOM` (TLS <= 1.2
//! master secret, 48 bytes) and the TLS 1.3 traffic secrets
//! `CLIENT_HANDSHAKE_TRAFFIC_SECRET`, `SERVER_HANDSHAKE_TRAFFIC_SECRET`,
//! `CLIENT_TRAFFIC_SECRET_0`, `SERVER_TRAFFIC_SECRET_0`. Other labels
//! (`EXPORTER_SECRET`, early secrets, `RSA`) are counted and ignored.
//!
//! The table is capped ([`MAX_KEYLOG_ENTRIES`] client randoms) and every
//! line that is not used is counted in [`KeyLogStats`].

use serde::Serialize;
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Client randoms kept (default cap): past it new client randoms are counted, not kept.
pub const MAX_KEYLOG_ENTRIES: usize = 1 << 18;
/// Longest key log line accepted (the longest real one is about 200 bytes).
pub const MAX_LINE: usize = 1024;

/// The secrets known for one client random.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Secrets {
    /// TLS <= 1.2 master secret (`CLIENT_RANDOM`).
    pub master: Option<[u8; 48]>,
    /// `CLIENT_HANDSHAKE_TRAFFIC_SECRET` (TLS 1.3).
    pub client_handshake: Option<Vec<u8>>,
    /// `SERVER_HANDSHAKE_TRAFFIC_SECRET` (TLS 1.3).
    pub server_handshake: Option<Vec<u8>>,
    /// `CLIENT_TRAFFIC_SECRET_0` (TLS 1.3).
    pub client_traffic0: Option<Vec<u8>>,
    /// `SERVER_TRAFFIC_SECRET_0` (TLS 1.3).
    pub server_traffic0: Option<Vec<u8>>,
}

/// What reading key logs did, for the report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KeyLogStats {
    /// Secret lines taken.
    pub secrets: u64,
    /// Lines that are not `LABEL hex hex` with the right lengths (or too long).
    pub malformed: u64,
    /// Well-formed lines with a label not used here (EXPORTER_SECRET, RSA, early data).
    pub ignored_labels: u64,
    /// Lines naming a secret already known with a different value (the first is kept).
    pub conflicting: u64,
    /// New client randoms not kept because the table was full.
    pub cap_hits: u64,
}

/// Secrets by client random, merged from any number of sources.
#[derive(Clone, Debug)]
pub struct KeyLog {
    map: HashMap<[u8; 32], Secrets>,
    max_entries: usize,
    generation: u64,
    /// Counters over every line given so far.
    pub stats: KeyLogStats,
}

impl Default for KeyLog {
    fn default() -> Self {
        KeyLog::with_cap(MAX_KEYLOG_ENTRIES)
    }
}

fn unhex_into(s: &[u8], out: &mut [u8]) -> bool {
    if s.len() != out.len() * 2 {
        return false;
    }
    for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        let (Some(h), Some(l)) = ((pair[0] as char).to_digit(16), (pair[1] as char).to_digit(16)) else { return false };
        *o = (h * 16 + l) as u8;
    }
    true
}

fn unhex_vec(s: &[u8]) -> Option<Vec<u8>> {
    let mut v = vec![0u8; s.len() / 2];
    (s.len().is_multiple_of(2) && unhex_into(s, &mut v)).then_some(v)
}

impl KeyLog {
    /// An empty key log.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty key log keeping at most `max_entries` client randoms.
    pub fn with_cap(max_entries: usize) -> Self {
        KeyLog { map: HashMap::new(), max_entries, generation: 0, stats: KeyLogStats::default() }
    }

    /// Reads a whole key log file.
    pub fn from_file(path: &Path) -> std::io::Result<Self> {
        let mut k = KeyLog::new();
        k.add_text(&std::fs::read(path)?);
        Ok(k)
    }

    /// Adds every line of `text` (a file's contents or a DSB payload); returns the secrets taken.
    pub fn add_text(&mut self, text: &[u8]) -> usize {
        text.split(|&b| b == b'\n').map(|l| self.add_line(l) as usize).sum()
    }

    /// Adds one line; true when it gave a new secret.
    pub fn add_line(&mut self, line: &[u8]) -> bool {
        let line = line.trim_ascii();
        if line.is_empty() || line[0] == b'#' {
            return false;
        }
        if line.len() > MAX_LINE {
            self.stats.malformed += 1;
            return false;
        }
        let mut parts = line.split(|b| b.is_ascii_whitespace()).filter(|p| !p.is_empty());
        let (Some(label), Some(cr_hex), Some(secret_hex), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            self.stats.malformed += 1;
            return false;
        };
        let mut cr = [0u8; 32];
        let known = matches!(
            label,
            b"CLIENT_RANDOM"
                | b"CLIENT_HANDSHAKE_TRAFFIC_SECRET"
                | b"SERVER_HANDSHAKE_TRAFFIC_SECRET"
                | b"CLIENT_TRAFFIC_SECRET_0"
                | b"SERVER_TRAFFIC_SECRET_0"
        );
        if !known {
            // RSA lines carry an encrypted pre-master prefix, not a client random.
            let shaped = label.iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
                && cr_hex.iter().all(u8::is_ascii_hexdigit)
                && secret_hex.iter().all(u8::is_ascii_hexdigit);
            if shaped {
                self.stats.ignored_labels += 1;
            } else {
                self.stats.malformed += 1;
            }
            return false;
        }
        if !unhex_into(cr_hex, &mut cr) {
            self.stats.malformed += 1;
            return false;
        }
        let Some(secret) = unhex_vec(secret_hex) else {
            self.stats.malformed += 1;
            return false;
        };
        let tls13_len_ok = secret.len() == 32 || secret.len() == 48;
        if (label == b"CLIENT_RANDOM" && secret.len() != 48) || (label != b"CLIENT_RANDOM" && !tls13_len_ok) {
            self.stats.malformed += 1;
            return false;
        }
        if !self.map.contains_key(&cr) && self.map.len() >= self.max_entries {
            self.stats.cap_hits += 1;
            return false;
        }
        let e = self.map.entry(cr).or_default();
        let slot_new = match label {
            b"CLIENT_RANDOM" => {
                let mut m = [0u8; 48];
                m.copy_from_slice(&secret);
                set(&mut e.master, m)
            }
            b"CLIENT_HANDSHAKE_TRAFFIC_SECRET" => set(&mut e.client_handshake, secret),
            b"SERVER_HANDSHAKE_TRAFFIC_SECRET" => set(&mut e.server_handshake, secret),
            b"CLIENT_TRAFFIC_SECRET_0" => set(&mut e.client_traffic0, secret),
            _ => set(&mut e.server_traffic0, secret),
        };
        match slot_new {
            Some(true) => {
                self.stats.secrets += 1;
                self.generation += 1;
                true
            }
            Some(false) => false,
            None => {
                self.stats.conflicting += 1;
                false
            }
        }
    }

    /// Adds every secret of `other` (its counters are added too).
    pub fn merge(&mut self, other: &KeyLog) {
        for (cr, s) in &other.map {
            if !self.map.contains_key(cr) && self.map.len() >= self.max_entries {
                self.stats.cap_hits += 1;
                continue;
            }
            let e = self.map.entry(*cr).or_default();
            let mut new = 0;
            let mut conflicts = 0;
            let mut tally = |r: Option<bool>| match r {
                Some(true) => new += 1,
                Some(false) => {}
                None => conflicts += 1,
            };
            if let Some(m) = s.master {
                tally(set(&mut e.master, m));
            }
            for (dst, src) in [
                (&mut e.client_handshake, &s.client_handshake),
                (&mut e.server_handshake, &s.server_handshake),
                (&mut e.client_traffic0, &s.client_traffic0),
                (&mut e.server_traffic0, &s.server_traffic0),
            ] {
                if let Some(v) = src {
                    tally(set(dst, v.clone()));
                }
            }
            self.stats.secrets += new;
            self.stats.conflicting += conflicts;
            self.generation += new;
        }
        self.stats.malformed += other.stats.malformed;
        self.stats.ignored_labels += other.stats.ignored_labels;
        self.stats.cap_hits += other.stats.cap_hits;
    }

    /// The secrets for a client random.
    pub fn get(&self, client_random: &[u8; 32]) -> Option<&Secrets> {
        self.map.get(client_random)
    }

    /// Client randoms known.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no secret is known.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Grows by one with every new secret: a connection waiting for a key
    /// needs to look again only when this changed.
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

/// Sets an empty slot (`Some(true)`), keeps an equal one (`Some(false)`), or
/// refuses a different value (`None`: a conflict, the first value is kept).
fn set<T: PartialEq>(slot: &mut Option<T>, v: T) -> Option<bool> {
    match slot {
        None => {
            *slot = Some(v);
            Some(true)
        }
        Some(old) if *old == v => Some(false),
        Some(_) => None,
    }
}

/// Counters of a [`KeyLogFollower`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FollowStats {
    /// Reads that found new bytes.
    pub reads: u64,
    /// Bytes read so far.
    pub bytes: u64,
    /// Times the file was found shorter than the offset read (truncated or
    /// replaced): it is read again from the start.
    pub restarts: u64,
    /// Partial lines longer than [`MAX_LINE`] dropped.
    pub long_lines: u64,
}

/// Follows a key log file as it grows (live capture): each [`poll`](Self::poll)
/// reads from the last offset and adds the complete lines; a trailing partial
/// line waits for its newline (at most [`MAX_LINE`] bytes of it are kept).
#[derive(Debug)]
pub struct KeyLogFollower {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
    skipping_long: bool,
    /// Counters.
    pub stats: FollowStats,
}

/// Bytes read per poll at most (the rest is read by the next poll).
const FOLLOW_CHUNK: u64 = 1 << 20;

impl KeyLogFollower {
    /// Follows `path` from its start (the file need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        KeyLogFollower { path: path.into(), offset: 0, partial: Vec::new(), skipping_long: false, stats: FollowStats::default() }
    }

    /// The file followed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads what was appended since the last call into `keys`; returns the
    /// new secrets taken. A missing file is not an error (nothing yet).
    pub fn poll(&mut self, keys: &mut KeyLog) -> std::io::Result<usize> {
        let mut f = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let len = f.metadata()?.len();
        if len < self.offset {
            self.stats.restarts += 1;
            self.offset = 0;
            self.partial.clear();
            self.skipping_long = false;
        }
        if len == self.offset {
            return Ok(0);
        }
        f.seek(SeekFrom::Start(self.offset))?;
        let mut chunk = Vec::new();
        f.take(FOLLOW_CHUNK).read_to_end(&mut chunk)?;
        self.offset += chunk.len() as u64;
        self.stats.reads += 1;
        self.stats.bytes += chunk.len() as u64;
        let mut added = 0;
        let mut rest = &chunk[..];
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            let piece = &rest[..nl];
            rest = &rest[nl + 1..];
            if self.skipping_long {
                self.skipping_long = false;
                self.partial.clear();
                continue;
            }
            if self.partial.is_empty() {
                added += keys.add_line(piece) as usize;
            } else {
                self.partial.extend_from_slice(piece);
                let line = std::mem::take(&mut self.partial);
                added += keys.add_line(&line) as usize;
            }
        }
        if !self.skipping_long {
            self.partial.extend_from_slice(rest);
            if self.partial.len() > MAX_LINE {
                self.stats.long_lines += 1;
                self.partial.clear();
                self.skipping_long = true;
            }
        }
        Ok(added)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const CR: &str = "E39B5BF4903C68684E8512FB2F60213E9EE843A0810B4982B607914D8092D482";
    const MS: &str = "95A5D39B02693BC1FB39254B179E9293007F6D37C66172B1EE4EF0D5E25CE1DABE878B6143DC3B266883E51A75E99DF9";

    fn cr() -> [u8; 32] {
        let mut c = [0u8; 32];
        assert!(unhex_into(CR.as_bytes(), &mut c));
        c
    }

    #[test]
    fn parses_the_corpus_line_and_counts_the_rest() {
        let mut k = KeyLog::new();
        let text = format!(
            "# comment\n\nCLIENT_RANDOM {CR} {MS}\r\nCLIENT_RANDOM {CR} {MS}\nEXPORTER_SECRET {CR} {}\nCLIENT_RANDOM zz {MS}\nCLIENT_RANDOM {CR}\nCLIENT_RANDOM {CR} {}\n",
            "ab".repeat(32),
            "cd".repeat(48)
        );
        assert_eq!(k.add_text(text.as_bytes()), 1);
        assert_eq!(k.len(), 1);
        let s = k.get(&cr()).unwrap();
        assert_eq!(s.master.unwrap()[0], 0x95);
        assert_eq!(s.master.unwrap()[47], 0xF9);
        assert_eq!(k.stats, KeyLogStats { secrets: 1, malformed: 2, ignored_labels: 1, conflicting: 1, cap_hits: 0 });
        assert_eq!(k.generation(), 1);
    }

    #[test]
    fn tls13_labels_and_lengths() {
        let mut k = KeyLog::new();
        let s32 = "11".repeat(32);
        let s48 = "22".repeat(48);
        let text = format!(
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET {CR} {s32}\nSERVER_HANDSHAKE_TRAFFIC_SECRET {CR} {s32}\nCLIENT_TRAFFIC_SECRET_0 {CR} {s48}\nSERVER_TRAFFIC_SECRET_0 {CR} {s48}\nSERVER_TRAFFIC_SECRET_0 {CR} {}\n",
            "33".repeat(20)
        );
        assert_eq!(k.add_text(text.as_bytes()), 4);
        let s = k.get(&cr()).unwrap();
        assert_eq!(s.client_handshake.as_deref(), Some(&[0x11; 32][..]));
        assert_eq!(s.server_traffic0.as_deref(), Some(&[0x22; 48][..]));
        assert_eq!(k.stats.malformed, 1);
    }

    #[test]
    fn cap_and_merge() {
        let mut a = KeyLog::with_cap(1);
        a.add_line(format!("CLIENT_RANDOM {CR} {MS}").as_bytes());
        a.add_line(format!("CLIENT_RANDOM {} {MS}", "00".repeat(32)).as_bytes());
        assert_eq!((a.len(), a.stats.cap_hits), (1, 1));
        let mut b = KeyLog::new();
        b.add_line(format!("CLIENT_RANDOM {} {MS}", "00".repeat(32)).as_bytes());
        b.add_line(format!("CLIENT_RANDOM {CR} {}", "ee".repeat(48)).as_bytes());
        let mut m = KeyLog::new();
        m.merge(&a);
        m.merge(&b);
        assert_eq!(m.len(), 2);
        assert_eq!(m.stats.conflicting, 1);
        assert_eq!(m.get(&cr()).unwrap().master.unwrap()[0], 0x95);
    }

    #[test]
    fn follower_reads_appended_lines_and_restarts_on_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.log");
        let mut fw = KeyLogFollower::new(&path);
        let mut k = KeyLog::new();
        assert_eq!(fw.poll(&mut k).unwrap(), 0); // not there yet
        let line = format!("CLIENT_RANDOM {CR} {MS}\n");
        let (a, b) = line.split_at(40);
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(a.as_bytes()).unwrap();
        f.flush().unwrap();
        assert_eq!(fw.poll(&mut k).unwrap(), 0); // partial line waits
        f.write_all(b.as_bytes()).unwrap();
        f.flush().unwrap();
        assert_eq!(fw.poll(&mut k).unwrap(), 1);
        assert!(k.get(&cr()).is_some());
        // replaced by a shorter file: read again from the start
        let other = format!("CLIENT_RANDOM {} {MS}\n", "00".repeat(32));
        std::fs::write(&path, &other[..other.len() - 1]).unwrap();
        std::fs::write(&path, "x\n").unwrap();
        assert_eq!(fw.poll(&mut k).unwrap(), 0);
        assert_eq!(fw.stats.restarts, 1);
        let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all("y".repeat(MAX_LINE + 10).as_bytes()).unwrap();
        f.flush().unwrap();
        assert_eq!(fw.poll(&mut k).unwrap(), 0);
        assert_eq!(fw.stats.long_lines, 1); // an overlong partial line is dropped, not buffered
        f.write_all(format!("yyy\n{other}").as_bytes()).unwrap();
        f.flush().unwrap();
        assert_eq!(fw.poll(&mut k).unwrap(), 1);
        assert_eq!(k.len(), 2);
    }
}
