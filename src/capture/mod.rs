//! Capture sources: pcap and pcapng files (plain, `.gz`, `.zst`, or stdin) and,
//! later, live interfaces. A source yields [`Frame`]s in file order; several
//! files are merged into one timeline by [`MergedSource`].
//!
//! Contract: a source never panics on bad input. A file that is not a capture
//! fails with a one-line [`CaptureError`]; a file truncated mid-record ends
//! with what was read before and a warning naming the byte offset.

mod file;
pub mod live;
pub mod writer;

pub use file::{DecryptionSecrets, FileSource, InputInfo, MAX_SECRETS_BYTES, SECRETS_TLS_KEYLOG, SecretsStats, WaitHook, plain_file};

use crate::time::Timestamp;
use thiserror::Error;

/// A link-layer type as written in the capture (LINKTYPE_* values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkType(pub i32);

impl LinkType {
    /// BSD loopback: 4-byte address family in the capturing host's byte order.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II (with optional 802.1Q / QinQ tags).
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IP (the value used by most systems).
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1 (`tcpdump -i any` on older libpcap).
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux cooked capture v2 (`tcpdump -i any` on libpcap >= 1.10).
    pub const LINUX_SLL2: LinkType = LinkType(276);
    /// DLT_RAW as numbered on some BSDs.
    pub const RAW_BSD: LinkType = LinkType(12);
    /// DLT_RAW as numbered on OpenBSD.
    pub const RAW_OPENBSD: LinkType = LinkType(14);
}

/// One captured frame, borrowed from the source's buffer.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// Capture timestamp.
    pub ts: Timestamp,
    /// Link-layer type of the interface it was captured on.
    pub link: LinkType,
    /// Length of the frame on the wire (may exceed `data.len()` under a snaplen).
    pub orig_len: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}

/// Why a capture source could not be opened or read.
#[derive(Debug, Error)]
pub enum CaptureError {
    /// The file could not be opened or read.
    #[error("cannot read {path}")]
    Io {
        /// File name as given.
        path: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The bytes are not a pcap or pcapng capture.
    #[error("{path}: not a pcap or pcapng capture ({looks_like})")]
    NotACapture {
        /// File name as given.
        path: String,
        /// A short description of what the first bytes look like.
        looks_like: String,
    },
    /// A record is larger than the reader accepts.
    #[error("{path}: record at byte offset {offset} is larger than {max} bytes; the file is damaged")]
    RecordTooLarge {
        /// File name as given.
        path: String,
        /// Offset of the record in the (decompressed) stream.
        offset: u64,
        /// The largest record accepted.
        max: usize,
    },
}

/// Several sources merged by timestamp (rotated `tcpdump -C/-G` output).
/// Ties keep file order, so output is deterministic.
pub struct MergedSource {
    sources: Vec<FileSource>,
    bufs: Vec<Vec<u8>>,
    heads: Vec<Option<file::FrameMeta>>,
    primed: bool,
    current: usize,
}

impl MergedSource {
    /// Wraps opened sources.
    pub fn new(sources: Vec<FileSource>) -> Self {
        let n = sources.len();
        MergedSource { sources, bufs: vec![Vec::new(); n], heads: vec![None; n], primed: false, current: 0 }
    }

    /// The next frame across all files in timestamp order, or `None` at the end.
    pub fn next_frame(&mut self) -> Option<Frame<'_>> {
        if self.sources.len() == 1 {
            return self.sources[0].next_frame(); // one file: frames straight from the reader's buffer
        }
        if !self.primed {
            self.primed = true;
            for i in 0..self.sources.len() {
                self.heads[i] = self.sources[i].next_into(&mut self.bufs[i]);
            }
        } else if let Some(slot) = self.heads.get_mut(self.current) {
            // advance the source whose frame was handed out last time
            *slot = self.sources[self.current].next_into(&mut self.bufs[self.current]);
        }
        let mut best: Option<(usize, Timestamp)> = None;
        for (i, h) in self.heads.iter().enumerate() {
            if let Some(m) = h
                && best.is_none_or(|(_, t)| m.ts < t)
            {
                best = Some((i, m.ts));
            }
        }
        let (i, _) = best?;
        self.current = i;
        let m = self.heads[i]?;
        Some(Frame { ts: m.ts, link: m.link, orig_len: m.orig_len, data: &self.bufs[i] })
    }

    /// Per-input accounting (frames, bytes, time span, truncation).
    pub fn inputs(&self) -> Vec<InputInfo> {
        self.sources.iter().map(|s| s.info().clone()).collect()
    }

    /// The Decryption Secrets Blocks read since the last call, over all inputs.
    pub fn take_secrets(&mut self) -> Vec<DecryptionSecrets> {
        self.sources.iter_mut().flat_map(FileSource::take_secrets).collect()
    }

    /// Warnings raised while reading (truncation and the like), in input order.
    pub fn warnings(&self) -> Vec<String> {
        self.sources.iter().flat_map(|s| s.info().warnings.iter().cloned()).collect()
    }
}
