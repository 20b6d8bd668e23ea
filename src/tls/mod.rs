//! TLS decryption between TCP reassembly and MySQL framing.
//!
//! A MySQL client that wants TLS sends the 32-byte SSLRequest in clear, then
//! both sides speak TLS on the same connection. [`TlsConn`] takes each
//! direction's bytes from the first TLS byte on, follows the handshake in clear
//! (ClientHello, ServerHello), finds the secrets in a [`KeyLog`] by client
//! random, and hands on the decrypted application data of each direction, in
//! order, as [`StreamEvent::Data`] (and a lost stretch as
//! [`StreamEvent::Gap`]), ready for the MySQL framer.
//!
//! # Use
//!
//! ```
//! use mywire::reassembly::StreamEvent;
//! use mywire::model::Dir;
//! use mywire::tls::{KeyLog, TlsConn, TlsLimits};
//!
//! let mut keys = KeyLog::new(); // KeyLog::from_file(..), add_text(DSB payload), KeyLogFollower::poll(..)
//! let line = format!("CLIENT_RANDOM {} {}\n", "00".repeat(32), "11".repeat(48)); // client random, master secret
//! assert_eq!(keys.add_text(line.as_bytes()), 1);
//! let mut conn = TlsConn::new(&TlsLimits::default()); // TlsLimits::live() lets records wait for keys
//! let mut plain = Vec::new();
//! let mut out = |dir: Dir, ev: StreamEvent<'_>| match ev {
//!     StreamEvent::Data(d) => plain.extend_from_slice(d), // to the MySQL framer of `dir`
//!     StreamEvent::Gap(n) => { /* n ciphertext bytes lost: reset the framer */ }
//!     _ => {}
//! };
//! // every byte of each direction after the SSLRequest (client) / greeting (server):
//! conn.feed(Dir::ToServer, b"GET / HTTP/1.0\r\n", &keys, &mut out);
//! conn.gap(Dir::ToClient, 1448, &mut out); // a TCP gap
//! conn.retry(&keys, &mut out); // live: after the key log grew
//! let info = conn.info(); // serde::Serialize
//! assert_eq!(info.reason.as_deref(), Some("client stream is not TLS"));
//! ```
//!
//! Compared with the first sketch of this API: the output is a
//! [`StreamEvent`] rather than bare plaintext, so that lost records reach the
//! MySQL framer as a gap (and `gap` takes the output callback for the same
//! reason); everything else is as sketched.
//!
//! # What is decrypted
//!
//! * TLS 1.3: TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384,
//!   TLS_CHACHA20_POLY1305_SHA256; handshake traffic secrets until each side's
//!   Finished, then application secret 0 and each KeyUpdate after it;
//!   HelloRetryRequest (a second ClientHello with the same random); PSK
//!   resumption (the key log names the new handshake's secrets).
//! * TLS 1.0, 1.1, 1.2, any key exchange (the key log gives the master
//!   secret): AES-128/256-GCM, ChaCha20-Poly1305, AES-128/256-CBC with
//!   HMAC-SHA1/SHA256/SHA384, MAC-then-encrypt or encrypt-then-MAC (RFC 7366),
//!   TLS 1.0's chained IV; abbreviated handshakes (session id or ticket).
//! * Not: SSL 3.0, TLS compression, CCM, 3DES, RC4, Camellia, ARIA, export
//!   suites, 0-RTT early data, the `RSA` key log label (encrypted pre-master).
//!   These are reported with their name and counted, never guessed at.
//!
//! # Per direction state machine
//!
//! ```text
//! state   record                        -> action / next state
//! Clear   handshake (22)                -> parse ClientHello / ServerHello
//! Clear   change_cipher_spec (20), <1.3 -> look up the master secret:
//!                                          Active | Wait (live) | Dead(no key)
//! Clear   change_cipher_spec (20), 1.3  -> ignored (middlebox compatibility)
//! Clear   application_data (23), 1.3    -> handshake secret: Active | Wait | Dead
//! Clear   application_data (23), else   -> Dead(handshake not seen)
//! Active  any                           -> open (tag / padding / MAC checked):
//!                                          data -> out, handshake -> parse
//!                                          (Finished: app secret 0; KeyUpdate:
//!                                          next secret), alert -> noted;
//!                                          failure -> counted, Gap out
//! Wait    any                           -> queued (bounded; past the cap the
//!                                          record is counted and becomes a Gap)
//! Wait    retry() finds the key         -> Active, queue replayed in order
//! Dead    any                           -> counted
//! ```
//!
//! A TCP gap inside a record whose header was seen skips exactly that record
//! (its sequence number is kept). A gap that loses the framing starts a
//! resynchronisation: candidate headers (same type range and version,
//! plausible length, the next header plausible too) are verified by
//! decrypting them under successive sequence numbers (TLS 1.2 GCM first tries
//! the explicit nonce, which stacks set to the sequence number) until the AEAD
//! tag or MAC matches; the work is bounded ([`TlsLimits::max_resync_work`]).
//!
//! # What is counted ([`TlsDirCounters`])
//!
//! Records seen, decrypted, failing authentication, left undecrypted (and
//! why), plaintext bytes, bad headers, oversized records, gaps and their
//! bytes, records lost, resyncs and failed ones, records that waited for a
//! key, records dropped from a full wait buffer, handshake messages over the
//! cap, KeyUpdates, alerts.
//!
//! # What cannot be known
//!
//! Without the key nothing is decrypted, and a wrong key is found out (no
//! record authenticates), never decoded into garbage. Lost ciphertext is
//! lost plaintext: a Gap reports the ciphertext length (an upper bound of
//! the plaintext lost, TLS 1.3 padding included). A connection picked up
//! after its handshake cannot be matched to a key (no client random). After a
//! gap in TLS 1.0 CBC the next record's IV (the lost last block) is gone, so
//! that record is lost too. Alerts and handshake messages sent encrypted are
//! seen only when decrypted.

pub mod cipher;
pub mod kdf;
pub mod keylog;

pub use cipher::{OpenError, SuiteParams, suite_name, suite_params};
pub use keylog::{KeyLog, KeyLogFollower, KeyLogStats, Secrets};

use crate::model::Dir;
use crate::reassembly::StreamEvent;
use cipher::{Bulk, Decryptor};
use serde::Serialize;
use std::collections::VecDeque;
use tls_parser::{
    TlsExtension, parse_tls_extensions, parse_tls_handshake_client_hello, parse_tls_handshake_server_hello, parse_tls_record_header,
};

/// Largest record fragment accepted: 2^14 + 2048 (RFC 5246 §6.2.3, TLSCiphertext).
pub const MAX_RECORD_LEN: usize = (1 << 14) + 2048;

/// SHA-256("HelloRetryRequest"): the ServerHello random that marks a HelloRetryRequest (RFC 8446 §4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
    0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Caps of one TLS connection (the lead moves them into `config::Limits`).
#[derive(Clone, Debug)]
pub struct TlsLimits {
    /// Largest record fragment (default [`MAX_RECORD_LEN`]); a longer header is a bad header.
    pub max_record_len: usize,
    /// Largest ClientHello / ServerHello kept for parsing (default 64 KiB); other
    /// handshake messages are skipped without being buffered.
    pub max_handshake_msg: usize,
    /// Bytes of records buffered per direction while waiting for a key that
    /// has not been logged yet (live capture; default 0 = do not wait, see [`TlsLimits::live`]).
    pub max_wait_bytes: usize,
    /// Records buffered per direction while waiting for a key (default 0; live 4 096).
    pub max_wait_records: usize,
    /// Bytes scanned per direction for a record header after a gap (default 64 KiB).
    pub max_resync_scan: usize,
    /// Bytes of trial decryption spent per resynchronisation (default 16 MiB).
    pub max_resync_work: usize,
    /// Sequence numbers tried per candidate record after a gap (default 4 096).
    pub max_resync_seq: u64,
    /// Alerts kept in [`TlsInfo::alerts`] (default 8; all are counted).
    pub max_alerts: usize,
}

impl Default for TlsLimits {
    fn default() -> Self {
        TlsLimits {
            max_record_len: MAX_RECORD_LEN,
            max_handshake_msg: 64 << 10,
            max_wait_bytes: 0,
            max_wait_records: 0,
            max_resync_scan: 64 << 10,
            max_resync_work: 16 << 20,
            max_resync_seq: 4096,
            max_alerts: 8,
        }
    }
}

impl TlsLimits {
    /// Limits for a live capture: records wait for their key (1 MiB and 4 096 records per direction).
    pub fn live() -> Self {
        TlsLimits { max_wait_bytes: 1 << 20, max_wait_records: 4096, ..Default::default() }
    }
}

/// Counters of one direction.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TlsDirCounters {
    /// Records seen (whole, or skipped whole).
    pub records: u64,
    /// Records that opened (tag / MAC verified).
    pub decrypted: u64,
    /// Application-data plaintext bytes handed on.
    pub plaintext_bytes: u64,
    /// Encrypted records whose tag, MAC or padding did not verify.
    pub auth_failed: u64,
    /// Encrypted records not tried (no key, unsupported, handshake not seen).
    pub undecrypted: u64,
    /// Record headers that are not TLS (bad type, version or length).
    pub bad_headers: u64,
    /// Headers announcing more than `max_record_len`.
    pub oversized: u64,
    /// TCP gaps.
    pub gaps: u64,
    /// Bytes lost in TCP gaps.
    pub gap_bytes: u64,
    /// Records known to be lost (skipped after a gap, or dropped while waiting).
    pub records_lost: u64,
    /// Resynchronisations that found a record again.
    pub resyncs: u64,
    /// Resynchronisations given up (work or scan cap, or nothing verified).
    pub resync_failures: u64,
    /// Records that waited for a key.
    pub waited: u64,
    /// Records dropped because the wait buffer was full.
    pub wait_dropped: u64,
    /// Largest number of bytes waiting at once.
    pub wait_peak_bytes: u64,
    /// Handshake messages over `max_handshake_msg` (not parsed).
    pub handshake_truncated: u64,
    /// TLS 1.3 KeyUpdates applied.
    pub key_updates: u64,
    /// Alerts seen (clear or decrypted).
    pub alerts: u64,
}

/// What is known about one connection's TLS, for the report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TlsInfo {
    /// Negotiated version (`TLS 1.2`, `TLS 1.3`).
    pub version: Option<String>,
    /// Negotiated suite, IANA name.
    pub cipher_suite: Option<String>,
    /// Server name the client asked for.
    pub sni: Option<String>,
    /// Client random (hex), the key log's lookup key.
    pub client_random: Option<String>,
    /// Abbreviated (TLS <= 1.2) or PSK (TLS 1.3) handshake.
    pub resumed: bool,
    /// The server sent a HelloRetryRequest.
    pub hello_retry: bool,
    /// Encrypt-then-MAC negotiated (CBC suites).
    pub encrypt_then_mac: bool,
    /// Every encrypted record seen was decrypted (and there was at least one).
    pub decrypted: bool,
    /// Why some or all of it was not decrypted.
    pub reason: Option<String>,
    /// Alerts, `client: fatal HandshakeFailure` style (first `max_alerts`).
    pub alerts: Vec<String>,
    /// Client -> server counters.
    pub client: TlsDirCounters,
    /// Server -> client counters.
    pub server: TlsDirCounters,
}

/// Why a direction is not being decrypted.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Why {
    NotTls,
    HandshakeNotSeen,
    NoKey,
    Unsupported(String),
    Desync,
}

enum State {
    Clear,
    Wait,
    Active(Box<Decryptor>),
    Dead(Why),
}

enum Queued {
    Record(Vec<u8>),
    Lost { records: u64, bytes: u64 },
}

/// Handshake message reassembly: headers always, bodies only of the messages
/// we parse (ClientHello, ServerHello), up to the cap.
#[derive(Default)]
struct Handshake {
    head: [u8; 4],
    head_len: usize,
    need: usize,
    keep: bool,
    body: Vec<u8>,
}

impl Handshake {
    /// Feeds handshake-record bytes; returns the messages completed: (type, body if kept).
    fn feed(&mut self, mut data: &[u8], cap: usize, truncated: &mut u64) -> Vec<(u8, Option<Vec<u8>>)> {
        let mut done = Vec::new();
        while !data.is_empty() {
            if self.head_len < 4 {
                let n = (4 - self.head_len).min(data.len());
                self.head[self.head_len..self.head_len + n].copy_from_slice(&data[..n]);
                self.head_len += n;
                data = &data[n..];
                if self.head_len < 4 {
                    break;
                }
                self.need = u32::from_be_bytes([0, self.head[1], self.head[2], self.head[3]]) as usize;
                self.keep = matches!(self.head[0], 1 | 2);
                if self.keep && self.need > cap {
                    *truncated += 1;
                    self.keep = false;
                }
                self.body.clear();
            }
            let n = self.need.min(data.len());
            if self.keep {
                self.body.extend_from_slice(&data[..n]);
            }
            self.need -= n;
            data = &data[n..];
            if self.need == 0 {
                done.push((self.head[0], self.keep.then(|| std::mem::take(&mut self.body))));
                self.head_len = 0;
            }
        }
        done
    }
}

struct Half {
    buf: Vec<u8>,
    skip: u64,
    resync: bool,
    /// Bytes lost since the framing was lost (for the sequence-number estimate).
    resync_lost: u64,
    resync_work: usize,
    version: Option<u16>,
    seen_record: bool,
    seq: u64,
    state: State,
    hs: Handshake,
    queue: VecDeque<Queued>,
    queue_bytes: usize,
    /// TLS 1.3: switched to the application secret (after this side's Finished).
    app: bool,
    /// TLS 1.3 KeyUpdates applied since application secret 0.
    generation: u32,
    switch_app: bool,
    key_update: bool,
    /// TLS 1.0 CBC after a gap: the next record's IV is lost.
    chain_lost: bool,
    decrypted_any: bool,
    c: TlsDirCounters,
}

impl Default for Half {
    fn default() -> Self {
        Half {
            buf: Vec::new(),
            skip: 0,
            resync: false,
            resync_lost: 0,
            resync_work: 0,
            version: None,
            seen_record: false,
            seq: 0,
            state: State::Clear,
            hs: Handshake::default(),
            queue: VecDeque::new(),
            queue_bytes: 0,
            app: false,
            generation: 0,
            switch_app: false,
            key_update: false,
            chain_lost: false,
            decrypted_any: false,
            c: TlsDirCounters::default(),
        }
    }
}

/// The output callback: decrypted data or a hole, per direction, in order.
pub type Out<'a> = dyn FnMut(Dir, StreamEvent<'_>) + 'a;

/// One TCP connection's TLS state, both directions.
pub struct TlsConn {
    limits: TlsLimits,
    halves: [Half; 2],
    client_random: Option<[u8; 32]>,
    server_random: Option<[u8; 32]>,
    client_session_id: Option<Vec<u8>>,
    client_etm: bool,
    version: Option<u16>,
    suite: Option<u16>,
    params: Option<Result<SuiteParams, String>>,
    sni: Option<String>,
    etm: bool,
    hello_retry: bool,
    resumed: bool,
    compression: bool,
    alerts: Vec<String>,
    /// Plaintext buffer, reused for every record.
    plain: Vec<u8>,
    key_generation: u64,
}

fn dir_of(d: usize) -> Dir {
    if d == 0 { Dir::ToServer } else { Dir::ToClient }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn version_name(v: u16) -> String {
    match v {
        0x0300 => "SSL 3.0".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        _ => format!("0x{v:04x}"),
    }
}

/// Type, version and fragment length of a plausible record header.
fn header(h: &[u8], max: usize) -> Result<(u8, u16, usize), bool> {
    let Ok((_, hdr)) = parse_tls_record_header(h) else { return Err(false) };
    let (t, v, len) = (hdr.record_type.0, hdr.version.0, hdr.len as usize);
    if !(20..=24).contains(&t) || v >> 8 != 3 || v > 0x0304 || len == 0 {
        return Err(false);
    }
    if len > max {
        return Err(true);
    }
    Ok((t, v, len))
}

impl TlsConn {
    /// A connection before its first TLS byte.
    pub fn new(limits: &TlsLimits) -> Self {
        TlsConn {
            limits: limits.clone(),
            halves: [Half::default(), Half::default()],
            client_random: None,
            server_random: None,
            client_session_id: None,
            client_etm: false,
            version: None,
            suite: None,
            params: None,
            sni: None,
            etm: false,
            hello_retry: false,
            resumed: false,
            compression: false,
            alerts: Vec::new(),
            plain: Vec::new(),
            key_generation: u64::MAX,
        }
    }

    fn is13(&self) -> bool {
        self.version == Some(0x0304)
    }

    /// Ciphertext bytes of one direction, in stream order, from the first TLS
    /// byte after the MySQL SSLRequest on. Calls `out` for each decrypted
    /// application-data record (and for each lost stretch), in order.
    pub fn feed(&mut self, dir: Dir, data: &[u8], keys: &KeyLog, out: &mut Out<'_>) {
        let d = dir.idx();
        let max = self.limits.max_record_len;
        let mut rest = data;
        while !rest.is_empty() {
            let h = &mut self.halves[d];
            if h.skip > 0 {
                let n = h.skip.min(rest.len() as u64) as usize;
                h.skip -= n as u64;
                rest = &rest[n..];
                continue;
            }
            if matches!(h.state, State::Dead(Why::NotTls)) {
                return;
            }
            if h.resync {
                let room = self.limits.max_resync_scan.saturating_sub(h.buf.len()).max(1);
                let n = room.min(rest.len());
                h.buf.extend_from_slice(&rest[..n]);
                rest = &rest[n..];
                self.resync_loop(d, keys, out);
                continue;
            }
            if h.buf.is_empty() && rest.len() >= 5 {
                match header(&rest[..5], max) {
                    Ok((t, v, len)) if rest.len() >= 5 + len => {
                        // fast path: the whole record is in this chunk, decrypted from where it lies
                        let (rec, tail) = rest.split_at(5 + len);
                        rest = tail;
                        self.on_record(d, t, v, &rec[5..], keys, out);
                        continue;
                    }
                    Ok(_) => {}
                    Err(oversized) => {
                        self.bad_header(d, oversized, rest);
                        rest = &[];
                        self.resync_loop(d, keys, out);
                        continue;
                    }
                }
            }
            // slow path: gather the header, then the body
            if h.buf.len() < 5 {
                let n = (5 - h.buf.len()).min(rest.len());
                h.buf.extend_from_slice(&rest[..n]);
                rest = &rest[n..];
                if h.buf.len() < 5 {
                    continue;
                }
            }
            let (t, v, len) = match header(&h.buf[..5], max) {
                Ok(x) => x,
                Err(oversized) => {
                    let mut all = std::mem::take(&mut h.buf);
                    all.extend_from_slice(rest);
                    rest = &[];
                    self.bad_header(d, oversized, &all);
                    self.resync_loop(d, keys, out);
                    continue;
                }
            };
            let n = (5 + len - h.buf.len()).min(rest.len());
            h.buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if h.buf.len() == 5 + len {
                let mut rec = std::mem::take(&mut h.buf);
                self.on_record(d, t, v, &rec[5..], keys, out);
                rec.clear();
                let h = &mut self.halves[d];
                if h.buf.is_empty() && !h.resync {
                    h.buf = rec; // keep the allocation
                }
            }
        }
    }

    /// Processes the complete records at the front of the buffer (after a resync).
    fn drain_buf(&mut self, d: usize, keys: &KeyLog, out: &mut Out<'_>) {
        let max = self.limits.max_record_len;
        let buf = std::mem::take(&mut self.halves[d].buf);
        let mut off = 0;
        while buf.len() - off >= 5 {
            let avail = &buf[off..];
            match header(&avail[..5], max) {
                Ok((t, v, len)) if avail.len() >= 5 + len => {
                    self.on_record(d, t, v, &avail[5..5 + len], keys, out);
                    off += 5 + len;
                }
                Ok(_) => break,
                Err(oversized) => {
                    self.bad_header(d, oversized, avail);
                    return;
                }
            }
        }
        self.halves[d].buf.extend_from_slice(&buf[off..]);
    }

    fn resync_loop(&mut self, d: usize, keys: &KeyLog, out: &mut Out<'_>) {
        while self.halves[d].resync && self.resync_scan(d, out) {
            self.drain_buf(d, keys, out);
        }
    }

    /// A header that is not TLS: before any record the stream is not TLS;
    /// later the framing is lost and a resync starts over `data`.
    fn bad_header(&mut self, d: usize, oversized: bool, data: &[u8]) {
        let h = &mut self.halves[d];
        if oversized {
            h.c.oversized += 1;
        } else {
            h.c.bad_headers += 1;
        }
        if !h.seen_record {
            h.state = State::Dead(Why::NotTls);
            h.buf.clear();
            return;
        }
        self.start_resync(d, 1);
        // skip the bad header's first byte, then scan the rest
        self.halves[d].buf.extend_from_slice(&data[1.min(data.len())..]);
    }

    fn start_resync(&mut self, d: usize, lost: u64) {
        let h = &mut self.halves[d];
        h.resync = true;
        h.resync_lost = lost;
        h.resync_work = 0;
        h.buf.clear();
        h.hs = Handshake::default();
        if matches!(h.state, State::Wait) {
            // without the key the sequence numbers cannot be verified again
            h.state = State::Dead(Why::Desync);
        }
    }

    /// A TCP gap of `n` bytes in `dir`: skips the record it fell in when its
    /// header was seen, or resynchronises on a later record header (counted).
    pub fn gap(&mut self, dir: Dir, n: u64, out: &mut Out<'_>) {
        let d = dir.idx();
        let max = self.limits.max_record_len;
        let h = &mut self.halves[d];
        h.c.gaps += 1;
        h.c.gap_bytes += n;
        if matches!(h.state, State::Dead(Why::NotTls)) {
            return;
        }
        if h.resync {
            h.resync_lost += n + h.buf.len() as u64;
            h.buf.clear();
            return;
        }
        if h.skip > 0 {
            if n <= h.skip {
                h.skip -= n;
                return;
            }
            let over = n - h.skip;
            h.skip = 0;
            self.start_resync(d, over);
            return;
        }
        if h.buf.len() >= 5
            && let Ok((_, _, len)) = header(&h.buf[..5], max)
        {
            let remaining = (5 + len - h.buf.len()) as u64;
            h.buf.clear();
            self.lose_records(d, 1, len as u64, out);
            if n <= remaining {
                self.halves[d].skip = remaining - n;
            } else {
                self.start_resync(d, n - remaining);
            }
            return;
        }
        let had = h.buf.len() as u64;
        self.start_resync(d, n + had);
    }

    /// Records known lost (sequence numbers still advance); a hole for the consumer.
    fn lose_records(&mut self, d: usize, records: u64, bytes: u64, out: &mut Out<'_>) {
        let h = &mut self.halves[d];
        h.c.records += records;
        h.c.records_lost += records;
        match &h.state {
            State::Active(dec) => {
                h.seq += records;
                h.chain_lost |= dec.chained();
                if h.decrypted_any {
                    out(dir_of(d), StreamEvent::Gap(bytes));
                }
            }
            State::Wait => push_lost(h, records, bytes),
            State::Clear => h.hs = Handshake::default(),
            State::Dead(_) => {}
        }
    }

    /// Keys may have arrived (live): decrypts the records that were waiting.
    pub fn retry(&mut self, keys: &KeyLog, out: &mut Out<'_>) {
        if keys.generation() == self.key_generation {
            return;
        }
        self.key_generation = keys.generation();
        for d in 0..2 {
            if !matches!(self.halves[d].state, State::Wait) {
                continue;
            }
            self.activate(d, keys);
            if matches!(self.halves[d].state, State::Wait) {
                continue;
            }
            let q = std::mem::take(&mut self.halves[d].queue);
            self.halves[d].queue_bytes = 0;
            for item in q {
                match item {
                    Queued::Record(r) => {
                        self.halves[d].c.records -= 1; // counted when it was queued
                        self.on_record(d, r[0], u16::from_be_bytes([r[1], r[2]]), &r[5..], keys, out);
                    }
                    Queued::Lost { records, bytes } => {
                        let c = &mut self.halves[d].c;
                        c.records -= records;
                        c.records_lost -= records;
                        self.lose_records(d, records, bytes, out);
                    }
                }
            }
        }
    }

    /// Installs this direction's keys: Active, Wait (live, key not logged yet) or Dead.
    fn activate(&mut self, d: usize, keys: &KeyLog) {
        let live = self.limits.max_wait_records > 0 && self.limits.max_wait_bytes > 0;
        let next = self.make_state(d, keys, live);
        let h = &mut self.halves[d];
        if matches!(next, State::Active(_)) {
            h.seq = 0;
        }
        h.state = next;
    }

    fn make_state(&mut self, d: usize, keys: &KeyLog, live: bool) -> State {
        let (Some(cr), Some(sr), Some(v)) = (self.client_random, self.server_random, self.version) else {
            return State::Dead(Why::HandshakeNotSeen);
        };
        if v < 0x0301 {
            return State::Dead(Why::Unsupported(format!("unsupported version {}", version_name(v))));
        }
        if self.compression {
            return State::Dead(Why::Unsupported("TLS compression".into()));
        }
        let p = match &self.params {
            Some(Ok(p)) => *p,
            Some(Err(e)) => return State::Dead(Why::Unsupported(e.clone())),
            None => return State::Dead(Why::HandshakeNotSeen),
        };
        let wait_or_dead = || if live { State::Wait } else { State::Dead(Why::NoKey) };
        let Some(s) = keys.get(&cr) else { return wait_or_dead() };
        let client = d == 0;
        if v == 0x0304 {
            let (app, generation) = (self.halves[d].app, self.halves[d].generation);
            let (hs, app0) = if client { (&s.client_handshake, &s.client_traffic0) } else { (&s.server_handshake, &s.server_traffic0) };
            // no handshake secret logged: only the application secret can be used
            let use_app = app || (hs.is_none() && app0.is_some());
            let Some(secret) = (if use_app { app0 } else { hs }) else { return wait_or_dead() };
            self.halves[d].app = use_app;
            let Some(mut dec) = Decryptor::tls13(&p, secret) else {
                return State::Dead(Why::Unsupported(format!("bad secret length for {}", p.name)));
            };
            for _ in 0..if use_app { generation } else { 0 } {
                dec.key_update();
            }
            return State::Active(Box::new(dec));
        }
        let Some(master) = s.master else { return wait_or_dead() };
        match Decryptor::tls12(&p, v, self.etm, &master, &cr, &sr, client) {
            Some(dec) => State::Active(Box::new(dec)),
            None => State::Dead(Why::Unsupported(format!("cannot key {}", p.name))),
        }
    }

    fn on_record(&mut self, d: usize, t: u8, v: u16, body: &[u8], keys: &KeyLog, out: &mut Out<'_>) {
        let is13 = self.is13();
        let h = &mut self.halves[d];
        h.c.records += 1;
        h.seen_record = true;
        let state = match h.state {
            State::Clear => 0,
            State::Wait => 1,
            State::Active(_) => 2,
            State::Dead(_) => 3,
        };
        match (state, t) {
            (3, _) if t == 23 || h.version.is_some() => h.c.undecrypted += 1,
            (3, _) => {}
            (1, _) => self.enqueue(d, t, v, body),
            (2, _) => {
                h.version = Some(v);
                self.decrypt(d, t, v, body, keys, out);
            }
            (_, 20) if !is13 => {
                h.version = Some(v);
                if d == 1 && matches!(self.halves[0].state, State::Clear) {
                    self.resumed = true; // the server's ChangeCipherSpec first: abbreviated handshake
                }
                self.activate(d, keys);
            }
            (_, 21) => self.alert(d, body, false),
            (_, 22) => {
                let cap = self.limits.max_handshake_msg;
                let msgs = h.hs.feed(body, cap, &mut h.c.handshake_truncated);
                for (typ, b) in msgs {
                    self.on_handshake(d, typ, b.as_deref());
                }
            }
            (_, 23) if is13 => {
                h.version = Some(v);
                h.c.records -= 1; // counted again below
                self.activate(d, keys);
                self.on_record(d, t, v, body, keys, out);
            }
            (_, 23) => {
                h.c.undecrypted += 1;
                h.state = State::Dead(Why::HandshakeNotSeen);
            }
            _ => {}
        }
    }

    fn enqueue(&mut self, d: usize, t: u8, v: u16, body: &[u8]) {
        let (max_b, max_r) = (self.limits.max_wait_bytes, self.limits.max_wait_records);
        let h = &mut self.halves[d];
        let size = 5 + body.len();
        if h.queue_bytes + size > max_b || h.queue.len() >= max_r {
            h.c.wait_dropped += 1;
            h.c.records_lost += 1;
            push_lost(h, 1, body.len() as u64);
            return;
        }
        let mut r = Vec::with_capacity(size);
        r.push(t);
        r.extend_from_slice(&v.to_be_bytes());
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        h.queue.push_back(Queued::Record(r));
        h.queue_bytes += size;
        h.c.waited += 1;
        h.c.wait_peak_bytes = h.c.wait_peak_bytes.max(h.queue_bytes as u64);
    }

    /// TLS 1.3 without this side's Finished seen (lost, or no handshake
    /// secret logged): tries application secret 0 on a record that did not open.
    fn try_app_secret(&mut self, d: usize, t: u8, v: u16, body: &[u8], keys: &KeyLog) -> Option<(u8, std::ops::Range<usize>)> {
        let (old_app, old_gen) = (self.halves[d].app, self.halves[d].generation);
        self.halves[d].app = true;
        self.halves[d].generation = 0;
        if let State::Active(mut dec) = self.make_state(d, keys, false)
            && let Ok(r) = dec.open(0, t, v, body, &mut self.plain)
        {
            let h = &mut self.halves[d];
            h.state = State::Active(dec);
            h.seq = 1;
            return Some(r);
        }
        self.halves[d].app = old_app;
        self.halves[d].generation = old_gen;
        None
    }

    fn decrypt(&mut self, d: usize, t: u8, v: u16, body: &[u8], keys: &KeyLog, out: &mut Out<'_>) {
        if self.plain.len() < body.len() {
            self.plain.resize(body.len(), 0);
        }
        let dir = dir_of(d);
        let is13 = self.is13();
        let h = &mut self.halves[d];
        let State::Active(dec) = &mut h.state else { return };
        let seq = h.seq;
        h.seq += 1;
        if h.chain_lost {
            // TLS 1.0 CBC: this record's IV was the lost record's last block
            h.chain_lost = false;
            if let Some(last) = body.last_chunk::<16>() {
                dec.set_chain_iv(*last);
            }
            h.c.records_lost += 1;
            if h.decrypted_any {
                out(dir, StreamEvent::Gap(body.len() as u64));
            }
            return;
        }
        let mut res = dec.open(seq, t, v, body, &mut self.plain);
        if res.is_err() && is13 && !h.app {
            res = self.try_app_secret(d, t, v, body, keys).ok_or(OpenError::Tag);
        }
        let h = &mut self.halves[d];
        match res {
            Ok((ct, range)) => {
                h.c.decrypted += 1;
                h.decrypted_any = true;
                let pt = &self.plain[range];
                match ct {
                    23 => {
                        h.c.plaintext_bytes += pt.len() as u64;
                        if !pt.is_empty() {
                            out(dir, StreamEvent::Data(pt));
                        }
                    }
                    22 => {
                        let cap = self.limits.max_handshake_msg;
                        let msgs = h.hs.feed(pt, cap, &mut h.c.handshake_truncated);
                        for (typ, b) in msgs {
                            self.on_handshake(d, typ, b.as_deref());
                        }
                    }
                    21 => {
                        let a = [pt.first().copied().unwrap_or(0), pt.get(1).copied().unwrap_or(0)];
                        self.alert(d, &a[..pt.len().min(2)], true);
                    }
                    _ => {}
                }
            }
            Err(_) => {
                h.c.auth_failed += 1;
                if h.decrypted_any {
                    out(dir, StreamEvent::Gap(body.len() as u64));
                }
            }
        }
        let h = &mut self.halves[d];
        if std::mem::take(&mut h.switch_app) {
            h.app = true;
            h.generation = 0;
            self.activate(d, keys);
        } else if std::mem::take(&mut h.key_update) {
            h.generation += 1;
            h.c.key_updates += 1;
            h.seq = 0;
            if let State::Active(dec) = &mut h.state
                && !dec.key_update()
            {
                h.state = State::Dead(Why::Unsupported("KeyUpdate failed".into()));
            }
        }
    }

    fn alert(&mut self, d: usize, body: &[u8], encrypted: bool) {
        self.halves[d].c.alerts += 1;
        if self.alerts.len() < self.limits.max_alerts && body.len() >= 2 {
            let level = match body[0] {
                1 => "warning",
                2 => "fatal",
                _ => "level?",
            };
            let who = if d == 0 { "client" } else { "server" };
            let clear = if encrypted { "" } else { " (in clear)" };
            self.alerts.push(format!("{who}: {level} {:?}{clear}", tls_parser::TlsAlertDescription(body[1])));
        }
    }

    fn on_handshake(&mut self, d: usize, typ: u8, body: Option<&[u8]>) {
        match (d, typ, body) {
            (0, 1, Some(b)) => {
                let Ok((_, ch)) = parse_tls_handshake_client_hello(b) else { return };
                if let Ok(r) = <[u8; 32]>::try_from(ch.random) {
                    self.client_random = Some(r);
                }
                self.client_session_id = ch.session_id.map(<[u8]>::to_vec);
                if let Some(ext) = ch.ext
                    && let Ok((_, exts)) = parse_tls_extensions(ext)
                {
                    for e in exts {
                        match e {
                            TlsExtension::SNI(names) => {
                                if let Some((_, n)) = names.iter().find(|(t, _)| t.0 == 0) {
                                    self.sni = Some(String::from_utf8_lossy(n).chars().take(255).collect());
                                }
                            }
                            TlsExtension::EncryptThenMac => self.client_etm = true,
                            _ => {}
                        }
                    }
                }
            }
            (1, 2, Some(b)) => {
                let Ok((_, sh)) = parse_tls_handshake_server_hello(b) else { return };
                if sh.random == HRR_RANDOM {
                    // TLS 1.3 only; the real ServerHello follows the client's second ClientHello
                    self.hello_retry = true;
                    self.version = Some(0x0304);
                    return;
                }
                if let Ok(r) = <[u8; 32]>::try_from(sh.random) {
                    self.server_random = Some(r);
                }
                let mut version = sh.version.0;
                let (mut etm, mut psk) = (false, false);
                // The generic extension parser: tls-parser 0.12's ServerHello one
                // reads type 21 (padding) as encrypt_then_mac (22).
                if let Some(ext) = sh.ext
                    && let Ok((_, exts)) = parse_tls_extensions(ext)
                {
                    for e in exts {
                        match e {
                            TlsExtension::SupportedVersions(v) if v.len() == 1 => version = v[0].0,
                            TlsExtension::EncryptThenMac => etm = true,
                            TlsExtension::PreSharedKey(_) => psk = true,
                            _ => {}
                        }
                    }
                }
                self.version = Some(version);
                self.suite = Some(sh.cipher.0);
                self.compression = sh.compression.0 != 0;
                let params = suite_params(sh.cipher.0);
                let cbc = matches!(params, Ok(SuiteParams { bulk: Bulk::Aes128Cbc | Bulk::Aes256Cbc, .. }));
                self.etm = etm && self.client_etm && cbc && version < 0x0304;
                self.params = Some(params);
                if version == 0x0304 {
                    self.resumed = psk;
                } else if let (Some(c), Some(s)) = (&self.client_session_id, sh.session_id)
                    && !c.is_empty()
                    && c.as_slice() == s
                {
                    self.resumed = true;
                }
            }
            (_, 20, _) if self.is13() => self.halves[d].switch_app = true,
            (_, 24, _) if self.is13() => self.halves[d].key_update = true,
            _ => {}
        }
    }

    /// Resync: looks for a verified record in the scan buffer. On success the
    /// buffer starts at that record (sequence number set) and true is returned.
    fn resync_scan(&mut self, d: usize, out: &mut Out<'_>) -> bool {
        let max = self.limits.max_record_len;
        let (work_cap, seq_span, scan_cap) = (self.limits.max_resync_work, self.limits.max_resync_seq, self.limits.max_resync_scan);
        let h = &mut self.halves[d];
        let mut p = 0;
        while p + 5 <= h.buf.len() {
            let Ok((t, v, len)) = header(&h.buf[p..p + 5], max) else {
                p += 1;
                continue;
            };
            if h.version.is_some_and(|hv| hv != v) || !(21..=23).contains(&t) {
                p += 1;
                continue;
            }
            let end = p + 5 + len;
            if end > h.buf.len() {
                break; // wait for the rest of this candidate
            }
            if end + 5 <= h.buf.len() && header(&h.buf[end..end + 5], max).is_err() {
                p += 1;
                continue;
            }
            if self.plain.len() < len {
                self.plain.resize(len, 0);
            }
            let found = match &mut h.state {
                State::Active(dec) => {
                    let body = &h.buf[p + 5..end];
                    if dec.chained() && p < 16 {
                        p += 1;
                        continue;
                    }
                    let iv = if dec.chained() { h.buf[p - 16..p].try_into().ok() } else { None };
                    let lo = h.seq + h.resync_lost / (5 + max as u64);
                    let first = dec.explicit_nonce(body).filter(|&e| e >= h.seq && e < lo.saturating_add(1 << 24));
                    let mut hit = None;
                    for s in first.into_iter().chain(lo..lo.saturating_add(seq_span)) {
                        if h.resync_work > work_cap {
                            break;
                        }
                        h.resync_work += len;
                        if let Some(iv) = iv {
                            dec.set_chain_iv(iv);
                        }
                        if dec.open(s, t, v, body, &mut self.plain).is_ok() {
                            hit = Some(s);
                            break;
                        }
                    }
                    if let (Some(iv), Some(_)) = (iv, hit) {
                        dec.set_chain_iv(iv); // opened again by drain_buf
                    }
                    hit
                }
                // without a key nothing can be verified: the header's shape has to do
                _ => Some(h.seq),
            };
            if let Some(s) = found {
                h.c.resyncs += 1;
                h.c.records_lost += s.saturating_sub(h.seq);
                h.c.records += s.saturating_sub(h.seq);
                h.seq = s;
                h.resync = false;
                h.chain_lost = false;
                let lost = h.resync_lost + p as u64;
                if h.decrypted_any && matches!(h.state, State::Active(_)) {
                    out(dir_of(d), StreamEvent::Gap(lost));
                }
                h.buf.drain(..p);
                return true;
            }
            if h.resync_work > work_cap {
                h.c.resync_failures += 1;
                h.resync = false;
                h.buf = Vec::new();
                h.state = State::Dead(Why::Desync);
                return false;
            }
            p += 1;
        }
        // keep the unscanned tail (a candidate may still complete), bounded
        let drop = if h.buf.len() >= scan_cap { p.max(h.buf.len() - scan_cap / 2) } else { p };
        h.resync_lost += drop as u64;
        h.buf.drain(..drop);
        false
    }

    /// What is known about this connection's TLS so far.
    pub fn info(&self) -> TlsInfo {
        let mut reasons: Vec<String> = Vec::new();
        let cr = self.client_random.map(|c| hex(&c));
        for (d, h) in self.halves.iter().enumerate() {
            let who = if d == 0 { "client" } else { "server" };
            match &h.state {
                State::Dead(w) => reasons.push(match w {
                    Why::NotTls => format!("{who} stream is not TLS"),
                    Why::HandshakeNotSeen => "handshake not seen (capture started after it, or it was lost)".into(),
                    Why::NoKey => format!("no key for client random {}", cr.as_deref().unwrap_or("?")),
                    Why::Unsupported(s) => s.clone(),
                    Why::Desync => format!("{who} records lost after a gap (could not resynchronise)"),
                }),
                State::Wait => reasons.push(format!(
                    "waiting for the key of client random {} ({} records buffered)",
                    cr.as_deref().unwrap_or("?"),
                    h.queue.len()
                )),
                _ => {}
            }
            if h.c.auth_failed > 0 {
                reasons.push(format!("{} {who} records failed authentication", h.c.auth_failed));
            }
            if h.c.records_lost > 0 {
                reasons.push(format!("{} {who} records lost", h.c.records_lost));
            }
        }
        reasons.dedup();
        let (c, s) = (self.halves[0].c.clone(), self.halves[1].c.clone());
        let decrypted = c.decrypted + s.decrypted > 0 && reasons.is_empty();
        if reasons.is_empty() && !decrypted {
            reasons.push(if self.server_random.is_none() { "handshake not complete".into() } else { "no encrypted record seen".into() });
        }
        TlsInfo {
            version: self.version.map(version_name),
            cipher_suite: self.suite.map(suite_name),
            sni: self.sni.clone(),
            client_random: cr,
            resumed: self.resumed,
            hello_retry: self.hello_retry,
            encrypt_then_mac: self.etm,
            decrypted,
            reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
            alerts: self.alerts.clone(),
            client: c,
            server: s,
        }
    }
}

fn push_lost(h: &mut Half, records: u64, bytes: u64) {
    if let Some(Queued::Lost { records: r, bytes: b }) = h.queue.back_mut() {
        *r += records;
        *b += bytes;
    } else {
        h.queue.push_back(Queued::Lost { records, bytes });
    }
}

#[cfg(test)]
mod tests;
