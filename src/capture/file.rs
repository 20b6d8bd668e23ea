//! Offline capture files via `pcap-parser`'s streaming reader (constant memory),
//! with transparent gzip / zstd decompression and `-` for stdin.

use super::{CaptureError, LinkType};
use crate::time::Timestamp;
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError};
use serde::Serialize;
use std::io::{Cursor, Read};
use std::sync::Arc;

/// Initial reader buffer (256 KiB: each read() lands in the L2 cache, measured
/// 12% faster on a 1.27 GB capture than 1 MiB); grown up to [`MAX_RECORD`] for jumbo records.
const READ_BUF: usize = 1 << 18;
/// The largest single record accepted (pcapng blocks with huge TSO frames included).
const MAX_RECORD: usize = 256 << 20;

/// What we know about one input file, for the report's `inputs` array.
#[derive(Clone, Debug, Default, Serialize)]
pub struct InputInfo {
    /// Path as given (`-` for stdin).
    pub path: String,
    /// `pcap`, `pcapng`, with `+gzip` / `+zstd` when compressed.
    pub format: String,
    /// Frames read.
    pub frames: u64,
    /// Captured bytes read (sum of frame lengths).
    pub bytes: u64,
    /// Timestamp of the first frame.
    pub first_ts: Option<Timestamp>,
    /// Timestamp of the last frame.
    pub last_ts: Option<Timestamp>,
    /// True when the file ended inside a record.
    pub truncated: bool,
    /// Human-readable warnings (truncation offset, unsupported blocks).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The payload of one pcapng Decryption Secrets Block (block type 0x0000000A).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecryptionSecrets {
    /// Secrets type: [`SECRETS_TLS_KEYLOG`] for an NSS key log (others are kept as read).
    pub secrets_type: u32,
    /// The secrets (for TLS: key log text), padding removed.
    pub data: Vec<u8>,
}

/// Secrets type of a TLS key log in a Decryption Secrets Block ("TLSK").
pub const SECRETS_TLS_KEYLOG: u32 = 0x544c_534b;
/// Bytes of Decryption Secrets Block payload kept per input until taken (16 MiB);
/// past it blocks are counted in [`SecretsStats::dropped`], not kept.
pub const MAX_SECRETS_BYTES: usize = 16 << 20;

/// Counters of the Decryption Secrets Blocks read from one input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SecretsStats {
    /// Blocks read.
    pub blocks: u64,
    /// Payload bytes read.
    pub bytes: u64,
    /// Blocks not kept because [`MAX_SECRETS_BYTES`] were waiting to be taken.
    pub dropped: u64,
}

/// The header of the frame last copied into a caller's buffer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FrameMeta {
    pub ts: Timestamp,
    pub link: LinkType,
    pub orig_len: u32,
}

#[derive(Clone, Copy)]
struct Iface {
    link: LinkType,
    units_per_sec: u64,
    offset_secs: i64,
}

/// A pcap or pcapng file (or stdin), possibly gzip- or zstd-compressed.
pub struct FileSource {
    reader: Box<dyn PcapReaderIterator + Send>,
    rs: ReadState,
    done: bool,
    /// Bytes of the last packet's block, consumed on the next call.
    pending: usize,
}

struct ReadState {
    ifaces: Vec<Iface>,
    legacy: Option<Iface>,
    info: InputInfo,
    secrets: Vec<DecryptionSecrets>,
    secrets_bytes: usize,
    secrets_stats: SecretsStats,
}

fn describe(head: &[u8]) -> String {
    if head.is_empty() {
        return "the file is empty".into();
    }
    let printable = head.iter().take(16).all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace());
    let hex: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
    if printable {
        let text: String = head.iter().take(24).map(|&b| if b.is_ascii_graphic() { b as char } else { ' ' }).collect();
        format!("looks like text: \"{}\"", text.trim())
    } else {
        format!("starts with bytes {}", hex.join(" "))
    }
}

impl FileSource {
    /// Opens `path` (`-` = stdin), detecting gzip/zstd and pcap/pcapng by magic bytes.
    pub fn open(path: &str) -> Result<Self, CaptureError> {
        Self::from_reader(path, open_raw(path)?)
    }

    /// Reads a capture from any byte stream (`path` names it in messages).
    pub fn from_reader(path: &str, raw: Box<dyn Read + Send>) -> Result<Self, CaptureError> {
        let (inner, comp) = decompressed(path, raw, true)?;
        Self::from_plain(path, inner, comp)
    }

    /// Opens `path` (`-` = stdin) once for `hooks.len()` readers: one thread reads
    /// (and decompresses) it and hands every reader the same blocks, so the
    /// file is read once whatever the number of readers. Each reader calls its
    /// hook just before it would wait for the next block (see [`fanout`]).
    pub fn open_shared(path: &str, hooks: Vec<WaitHook>) -> Result<Vec<Self>, CaptureError> {
        let io = |source| CaptureError::Io { path: path.to_string(), source };
        let (inner, comp) = decompressed(path, open_raw(path)?, false)?;
        fanout(inner, hooks).map_err(io)?.into_iter().map(|tap| Self::from_plain(path, Box::new(tap), comp)).collect()
    }

    /// A capture from an uncompressed byte stream; `comp` is the compression it
    /// came in (`+gzip`, `+zstd` or empty), for the report.
    fn from_plain(path: &str, inner: Box<dyn Read + Send>, comp: &str) -> Result<Self, CaptureError> {
        let io = |source| CaptureError::Io { path: path.to_string(), source };
        let (head, inner) = peek(inner, 24).map_err(io)?;
        let fmt = match head.get(..4) {
            Some([0x0a, 0x0d, 0x0d, 0x0a]) => "pcapng",
            Some([0xd4, 0xc3, 0xb2, 0xa1] | [0xa1, 0xb2, 0xc3, 0xd4] | [0x4d, 0x3c, 0xb2, 0xa1] | [0xa1, 0xb2, 0x3c, 0x4d]) => "pcap",
            _ => return Err(CaptureError::NotACapture { path: path.into(), looks_like: describe(&head) }),
        };
        // the parser wants the whole file header (pcap) or section header block (pcapng) in its first read
        let header = if fmt == "pcapng" && head.len() >= 12 {
            let len = if head[8..12] == [0x4d, 0x3c, 0x2b, 0x1a] {
                <[u8; 4]>::try_from(&head[4..8]).map(u32::from_le_bytes)
            } else {
                <[u8; 4]>::try_from(&head[4..8]).map(u32::from_be_bytes)
            };
            len.map_or(MIN_FILL, |l| (l as usize).clamp(24, MIN_FILL))
        } else {
            24
        };
        let reader = pcap_parser::create_reader(READ_BUF, FillRead { inner, first: header }).map_err(|e| CaptureError::NotACapture {
            path: path.into(),
            looks_like: format!("{}; the {fmt} reader said: {e:?}", describe(&head)),
        })?;
        Ok(FileSource {
            reader,
            rs: ReadState {
                ifaces: Vec::new(),
                legacy: None,
                info: InputInfo { path: path.into(), format: format!("{fmt}{comp}"), ..Default::default() },
                secrets: Vec::new(),
                secrets_bytes: 0,
                secrets_stats: SecretsStats::default(),
            },
            done: false,
            pending: 0,
        })
    }

    /// Accounting for this input so far.
    pub fn info(&self) -> &InputInfo {
        &self.rs.info
    }

    /// The Decryption Secrets Blocks read since the last call, in file order.
    /// A pcapng writer puts them before the packets they decrypt, so taking
    /// them after each frame gives the keys in time (`editcap --inject-secrets`
    /// puts them right after the section header).
    pub fn take_secrets(&mut self) -> Vec<DecryptionSecrets> {
        self.rs.secrets_bytes = 0;
        std::mem::take(&mut self.rs.secrets)
    }

    /// Counters of the Decryption Secrets Blocks read so far.
    pub fn secrets_stats(&self) -> &SecretsStats {
        &self.rs.secrets_stats
    }

    fn warn_truncated(&mut self, what: &str) {
        self.rs.info.truncated = true;
        let off = self.reader.consumed();
        self.rs
            .info
            .warnings
            .push(format!("{}: {what} at byte offset {off}; kept the {} frames read before it", self.rs.info.path, self.rs.info.frames));
    }

    /// Copies the next packet into `buf`; `None` at the end of the file (or on damage,
    /// which is recorded as a warning in [`InputInfo`]).
    pub(crate) fn next_into(&mut self, buf: &mut Vec<u8>) -> Option<FrameMeta> {
        let (meta, start, len) = self.advance()?;
        buf.clear();
        buf.extend_from_slice(&self.reader.data()[start..start + len]);
        Some(meta)
    }

    /// The next packet, borrowed from the reader's buffer (no copy); valid until
    /// the next call.
    pub fn next_frame(&mut self) -> Option<super::Frame<'_>> {
        let (m, start, len) = self.advance()?;
        Some(super::Frame { ts: m.ts, link: m.link, orig_len: m.orig_len, data: &self.reader.data()[start..start + len] })
    }

    /// Moves to the next packet; returns its header and where its bytes are in
    /// `reader.data()`. The packet's block is consumed on the next call (so the
    /// bytes stay in place until then).
    fn advance(&mut self) -> Option<(FrameMeta, usize, usize)> {
        while !self.done {
            // Consumed without shifting: the parser's buffer moves its unread tail to
            // the front on every consume past half its size, which copied about half
            // of every capture a second time (10% of a one-thread run's instructions,
            // callgrind). A refill shifts anyway, moving only the partial record.
            if self.pending > 0 {
                self.reader.consume_noshift(self.pending);
                self.pending = 0;
            }
            // the buffer does not move between data() and next(): positions are stable
            let base = self.reader.data().as_ptr() as usize;
            let meta = match self.reader.next() {
                Ok((off, block)) => {
                    let found = self.rs.handle(block, base);
                    if found.is_some() {
                        self.pending = off;
                    } else {
                        self.reader.consume_noshift(off);
                    }
                    found
                }
                Err(PcapError::Eof) => {
                    self.done = true;
                    None
                }
                Err(PcapError::Incomplete(_)) => {
                    if self.reader.reader_exhausted() {
                        let partial = self.reader.data().len();
                        self.warn_truncated(&format!("file ends inside a record ({partial} bytes of it present)"));
                        self.done = true;
                    } else if self.reader.refill().is_err() {
                        self.warn_truncated("read error");
                        self.done = true;
                    }
                    None
                }
                Err(PcapError::BufferTooSmall) => {
                    let cur = self.reader.data().len().max(READ_BUF);
                    if cur >= MAX_RECORD || !self.reader.grow(cur * 2) {
                        let e = CaptureError::RecordTooLarge {
                            path: self.rs.info.path.clone(),
                            offset: self.reader.consumed() as u64,
                            max: MAX_RECORD,
                        };
                        self.rs.info.truncated = true;
                        self.rs.info.warnings.push(e.to_string());
                        self.done = true;
                    } else if self.reader.refill().is_err() {
                        self.warn_truncated("read error");
                        self.done = true;
                    }
                    None
                }
                Err(PcapError::UnexpectedEof) => {
                    self.warn_truncated("file ends inside a record");
                    self.done = true;
                    None
                }
                Err(e) => {
                    let msg = match e {
                        PcapError::ReadError => "read error (damaged compressed stream?)".to_string(),
                        other => format!("unparseable record ({:?})", other.to_owned_vec()),
                    };
                    self.warn_truncated(&msg);
                    self.done = true;
                    None
                }
            };
            if let Some((m, start, len)) = meta {
                self.rs.info.frames += 1;
                self.rs.info.bytes += len as u64;
                if self.rs.info.first_ts.is_none() {
                    self.rs.info.first_ts = Some(m.ts);
                }
                self.rs.info.last_ts = Some(m.ts);
                return Some((m, start, len));
            }
        }
        None
    }
}

impl ReadState {
    /// Interprets one block; for a packet, returns its header and the position of
    /// its bytes relative to `base` (the reader buffer's start).
    fn handle(&mut self, block: PcapBlockOwned<'_>, base: usize) -> Option<(FrameMeta, usize, usize)> {
        let at = |d: &[u8]| (d.as_ptr() as usize).wrapping_sub(base);
        match block {
            PcapBlockOwned::LegacyHeader(h) => {
                let units = if h.is_nanosecond_precision() { 1_000_000_000 } else { 1_000_000 };
                self.legacy = Some(Iface { link: LinkType(h.network.0), units_per_sec: units, offset_secs: 0 });
                None
            }
            PcapBlockOwned::Legacy(b) => {
                let ifc = self.legacy?;
                let n = (b.caplen as usize).min(b.data.len());
                let meta = FrameMeta {
                    ts: Timestamp::from_parts(i64::from(b.ts_sec), u64::from(b.ts_usec), ifc.units_per_sec),
                    link: ifc.link,
                    orig_len: b.origlen,
                };
                Some((meta, at(b.data), n))
            }
            PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                self.ifaces.clear(); // interface ids are per section
                None
            }
            PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                self.ifaces.push(Iface {
                    link: LinkType(idb.linktype.0),
                    units_per_sec: idb.ts_resolution().unwrap_or(1_000_000),
                    offset_secs: idb.ts_offset(),
                });
                None
            }
            PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                let Some(ifc) = self.ifaces.get(epb.if_id as usize).copied() else {
                    self.note_once("enhanced packet block names an interface that was not described; skipped");
                    return None;
                };
                let n = (epb.caplen as usize).min(epb.data.len());
                let raw = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                let units = ifc.units_per_sec.max(1);
                let secs = (raw / units) as i64 + ifc.offset_secs;
                let meta = FrameMeta { ts: Timestamp::from_parts(secs, raw % units, units), link: ifc.link, orig_len: epb.origlen };
                Some((meta, at(epb.data), n))
            }
            PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                let ifc = self.ifaces.first().copied()?;
                // SPBs carry no timestamp: reuse the last one so time never goes backwards.
                let meta = FrameMeta { ts: self.info.last_ts.unwrap_or_default(), link: ifc.link, orig_len: spb.origlen };
                Some((meta, at(spb.data), spb.data.len()))
            }
            PcapBlockOwned::NG(Block::DecryptionSecrets(dsb)) => {
                let data = &dsb.data[..(dsb.secrets_len as usize).min(dsb.data.len())];
                let st = &mut self.secrets_stats;
                st.blocks += 1;
                st.bytes += data.len() as u64;
                if self.secrets_bytes + data.len() > MAX_SECRETS_BYTES {
                    st.dropped += 1;
                } else {
                    self.secrets_bytes += data.len();
                    self.secrets.push(DecryptionSecrets { secrets_type: dsb.secrets_type.0, data: data.to_vec() });
                }
                None
            }
            PcapBlockOwned::NG(_) => None,
        }
    }

    fn note_once(&mut self, msg: &str) {
        let m = format!("{}: {msg}", self.info.path);
        if !self.info.warnings.contains(&m) {
            self.info.warnings.push(m);
        }
    }
}

/// True for a file that can be read again from the start at no cost: a
/// regular file (not stdin) that is not gzip or zstd compressed.
pub fn plain_file(path: &str) -> bool {
    let mut magic = [0u8; 4];
    path != "-"
        && std::fs::File::open(path)
            .and_then(|mut h| {
                let regular = h.metadata()?.is_file();
                h.read_exact(&mut magic).map(|_| regular)
            })
            .unwrap_or(false)
        && compression(&magic).is_none()
}

/// The compression a stream's first bytes announce (`+gzip`, `+zstd`), if any.
fn compression(magic: &[u8]) -> Option<&'static str> {
    if magic.starts_with(&[0x1f, 0x8b]) {
        Some("+gzip")
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some("+zstd")
    } else {
        None
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read and the
/// error that stopped it early, if any.
fn fill(r: &mut dyn Read, buf: &mut [u8]) -> (usize, std::io::Result<()>) {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return (n, Err(e)),
        }
    }
    (n, Ok(()))
}

/// The file at `path`, or stdin for `-`.
fn open_raw(path: &str) -> Result<Box<dyn Read + Send>, CaptureError> {
    if path == "-" {
        grow_pipe();
        return Ok(Box::new(std::io::stdin()));
    }
    let f = std::fs::File::open(path).map_err(|source| CaptureError::Io { path: path.to_string(), source })?;
    Ok(Box::new(f))
}

/// When stdin is a pipe (`tcpdump -w - | mywire analyze -`), asks for a 1 MiB
/// pipe buffer instead of 64 KiB: the writer and mywire then switch 16 times
/// less often. Measured with `tcpdump -r bulk.pcap -w - | mywire analyze -`:
/// 1.61 s with the default buffer. Not a pipe, or refused: nothing changes.
fn grow_pipe() {
    #[cfg(target_os = "linux")]
    {
        let _ = nix::fcntl::fcntl(std::io::stdin(), nix::fcntl::FcntlArg::F_SETPIPE_SZ(1 << 20));
    }
}

/// Detects gzip and zstd by their magic bytes; returns the uncompressed stream
/// (decompressed on its own thread when `threaded`) and the format suffix.
fn decompressed(path: &str, raw: Box<dyn Read + Send>, threaded: bool) -> Result<(Box<dyn Read + Send>, &'static str), CaptureError> {
    let io = |source| CaptureError::Io { path: path.to_string(), source };
    let (magic, raw) = peek(raw, 4).map_err(io)?;
    let (dec, comp): (Box<dyn Read + Send>, &str) = match compression(&magic) {
        Some(c @ "+gzip") => (Box::new(flate2::read::MultiGzDecoder::new(raw)), c),
        Some(c) => (Box::new(zstd::stream::read::Decoder::new(raw).map_err(io)?), c),
        None => return Ok((raw, "")),
    };
    Ok((if threaded { Box::new(ThreadedRead::new(dec)) } else { dec }, comp))
}

/// Called by a [`fanout`] reader just before it blocks waiting for the next block.
pub type WaitHook = Arc<dyn Fn() + Send + Sync>;

/// Bytes per shared block: a block is read once into memory and stays in the
/// cache while every reader copies it out.
const SHARED_BLOCK: usize = 256 << 10;
/// Blocks in flight: the fastest reader is at most this far (4 MiB) ahead of the slowest.
const SHARED_POOL: usize = 16;

/// One thread reads `src` in blocks and gives every returned reader each block
/// (reference-counted, recycled once all readers are done with it). Memory is
/// [`SHARED_POOL`] blocks; when the pool is used up the thread waits for the
/// slowest reader.
///
/// Because a reader that is ahead may have to wait for one that is behind, a
/// consumer that also waits on the others (the sharded analysis' merger) could
/// deadlock; so each reader calls its hook right before it waits, letting the
/// consumer announce how far it got.
fn fanout(mut src: Box<dyn Read + Send>, hooks: Vec<WaitHook>) -> std::io::Result<Vec<Tap>> {
    use std::sync::mpsc::sync_channel;
    let (freed_tx, freed_rx) = sync_channel::<()>(SHARED_POOL * hooks.len().max(1));
    let mut txs = Vec::new();
    let mut taps = Vec::new();
    for hook in hooks {
        // room for every block of the pool plus an error: sending never blocks
        let (tx, rx) = sync_channel(SHARED_POOL + 1);
        txs.push(tx);
        taps.push(Tap { rx, cur: None, pos: 0, freed: freed_tx.clone(), hook, eof: false });
    }
    drop(freed_tx);
    std::thread::Builder::new().name("mywire-read".into()).spawn(move || {
        let mut pool: Vec<Arc<Vec<u8>>> = Vec::new();
        loop {
            // a block no reader holds any more, a new one, or wait for one
            let idx = loop {
                if let Some(i) = (0..pool.len()).find(|&i| Arc::get_mut(&mut pool[i]).is_some()) {
                    break i;
                }
                if pool.len() < SHARED_POOL {
                    pool.push(Arc::new(vec![0; SHARED_BLOCK]));
                    break pool.len() - 1;
                }
                if freed_rx.recv().is_err() {
                    return; // every reader is gone
                }
            };
            let Some(buf) = Arc::get_mut(&mut pool[idx]) else { continue };
            let (n, res) = fill(&mut *src, buf);
            let mut alive = 0;
            if n > 0 {
                for tx in &txs {
                    alive += usize::from(tx.send(Ok((pool[idx].clone(), n))).is_ok());
                }
            }
            if let Err(e) = res {
                for tx in &txs {
                    let _ = tx.send(Err(std::io::Error::new(e.kind(), e.to_string())));
                }
                return;
            }
            if alive == 0 || n < SHARED_BLOCK {
                return; // end of input (the readers see their channel close), or nobody listens
            }
        }
    })?;
    Ok(taps)
}

/// A block and how many of its bytes are data, or a read error.
type Shared = std::io::Result<(Arc<Vec<u8>>, usize)>;

/// One reader of a [`fanout`].
struct Tap {
    rx: std::sync::mpsc::Receiver<Shared>,
    cur: Option<(Arc<Vec<u8>>, usize)>,
    pos: usize,
    freed: std::sync::mpsc::SyncSender<()>,
    hook: WaitHook,
    eof: bool,
}

impl Read for Tap {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        use std::sync::mpsc::TryRecvError;
        loop {
            if let Some((block, len)) = &self.cur
                && self.pos < *len
            {
                let n = out.len().min(len - self.pos);
                out[..n].copy_from_slice(&block[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if self.cur.take().is_some() {
                let _ = self.freed.try_send(()); // full: the thread has wake-ups enough
            }
            if self.eof {
                return Ok(0);
            }
            let next = match self.rx.try_recv() {
                Ok(m) => Some(m),
                Err(TryRecvError::Empty) => {
                    (self.hook)();
                    self.rx.recv().ok()
                }
                Err(TryRecvError::Disconnected) => None,
            };
            match next {
                Some(Ok(c)) => {
                    self.cur = Some(c);
                    self.pos = 0;
                }
                Some(Err(e)) => {
                    self.eof = true;
                    return Err(e);
                }
                None => self.eof = true,
            }
        }
    }
}

/// Runs a (decompressing) reader on its own thread, 1 MiB at a time, so the
/// analysis does not wait for inflation: both cores work on a compressed capture.
/// Bounded: at most 4 chunks in flight; buffers are recycled.
struct ThreadedRead {
    rx: std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
    back: std::sync::mpsc::SyncSender<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
    eof: bool,
}

const CHUNK: usize = 1 << 20;

impl ThreadedRead {
    fn new(mut inner: Box<dyn Read + Send>) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<Vec<u8>>>(4);
        let (back, spare) = std::sync::mpsc::sync_channel::<Vec<u8>>(8);
        std::thread::spawn(move || {
            loop {
                let mut buf = spare.try_recv().unwrap_or_default();
                buf.resize(CHUNK, 0);
                let (n, res) = fill(&mut *inner, &mut buf);
                buf.truncate(n);
                let last = n < CHUNK || res.is_err();
                if n > 0 && tx.send(Ok(buf)).is_err() {
                    return; // the reader was dropped
                }
                if let Err(e) = res {
                    let _ = tx.send(Err(e));
                    return;
                }
                if last {
                    let _ = tx.send(Ok(Vec::new()));
                    return;
                }
            }
        });
        ThreadedRead { rx, back, cur: Vec::new(), pos: 0, eof: false }
    }
}

impl Read for ThreadedRead {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.cur.len() {
            if self.eof {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Ok(v)) if v.is_empty() => self.eof = true,
                Ok(Ok(v)) => {
                    let old = std::mem::replace(&mut self.cur, v);
                    let _ = self.back.try_send(old);
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.eof = true;
                    return Err(e);
                }
                Err(_) => self.eof = true,
            }
        }
        let n = out.len().min(self.cur.len() - self.pos);
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// pcap-parser parses the file header from the result of its first `read()`,
/// and our peeked header (a 24-byte cursor chained before the stream) or a
/// decoder returns short reads: so the first read keeps reading until it has
/// the whole header (`first` bytes). Later reads pass through whatever one read
/// returns (a short read is then only an incomplete record to the parser), so
/// a slow pipe (`tcpdump -U -w - | mywire analyze -`) is analysed as each
/// packet arrives.
struct FillRead<R> {
    inner: R,
    /// Bytes the next read must collect (the header), then 1.
    first: usize,
}

/// The most the first read waits for (a pcapng section header with long options).
const MIN_FILL: usize = 64 << 10;

impl<R: Read> Read for FillRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = buf.len().min(std::mem::replace(&mut self.first, 1));
        let mut n = 0;
        while n < want {
            match self.inner.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if n > 0 => {
                    let _ = e;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }
}

/// Reads up to `n` bytes and returns them with a reader that replays them first.
fn peek(mut r: Box<dyn Read + Send>, n: usize) -> std::io::Result<(Vec<u8>, Box<dyn Read + Send>)> {
    let mut head = vec![0u8; n];
    let mut got = 0;
    while got < n {
        match r.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(got);
    Ok((head.clone(), Box::new(Cursor::new(head).chain(r))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A reader that returns short, uneven reads (like a pipe or a decoder).
    struct Dribble(Cursor<Vec<u8>>, usize);

    impl Read for Dribble {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.1 = self.1 % 7 + 1;
            let n = buf.len().min(self.1 * 9_973);
            self.0.read(&mut buf[..n])
        }
    }

    #[test]
    fn fanout_gives_every_reader_every_byte_while_recycling_blocks() {
        // 32.5 blocks through a pool of 16: every block is recycled
        let data: Vec<u8> = (0..SHARED_BLOCK * SHARED_POOL * 2 + SHARED_BLOCK / 2).map(|i| (i * 31 % 251) as u8).collect();
        let waits = Arc::new(AtomicUsize::new(0));
        let hooks = (0..3)
            .map(|_| {
                let w = waits.clone();
                Arc::new(move || {
                    w.fetch_add(1, Ordering::Relaxed);
                }) as WaitHook
            })
            .collect();
        let taps = fanout(Box::new(Dribble(Cursor::new(data.clone()), 0)), hooks).unwrap();
        let got: Vec<Vec<u8>> = std::thread::scope(|s| {
            let handles: Vec<_> = taps
                .into_iter()
                .enumerate()
                .map(|(i, mut t)| {
                    s.spawn(move || {
                        // readers of different speeds and read sizes
                        let mut out = Vec::new();
                        let mut buf = vec![0u8; 1000 + i * 70_000];
                        loop {
                            let n = t.read(&mut buf).unwrap();
                            if n == 0 {
                                break out;
                            }
                            out.extend_from_slice(&buf[..n]);
                            if i == 2 {
                                std::thread::yield_now();
                            }
                        }
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for g in &got {
            assert!(g == &data, "a reader got {} bytes of {}", g.len(), data.len());
        }
        assert!(waits.load(Ordering::Relaxed) > 0, "readers waited for blocks and said so first");
    }

    #[test]
    fn fanout_readers_may_stop_early() {
        let data = vec![7u8; SHARED_BLOCK * (SHARED_POOL + 3)];
        let hooks = (0..2).map(|_| Arc::new(|| {}) as WaitHook).collect();
        let mut taps = fanout(Box::new(Cursor::new(data.clone())), hooks).unwrap();
        drop(taps.pop()); // one reader goes away at once: the other still gets everything
        let mut all = Vec::new();
        taps[0].read_to_end(&mut all).unwrap();
        assert_eq!(all.len(), data.len());
    }
}
