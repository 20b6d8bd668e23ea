//! MySQL packet framing: `int<3> payload_length, int<1> sequence_id, payload`
//! [dev.mysql.com: Protocol Basics › MySQL Packets]. A payload of exactly
//! 0xFFFFFF bytes is continued by the next packet; the logical packet ends with
//! a shorter (possibly empty) one.
//!
//! Contract: the [`Framer`] never buffers more than its cap of one logical
//! packet; past it the rest is counted (true total size kept) and the packet
//! is marked `truncated`. Complete packets that arrive in one chunk are handed
//! out without copying.

use crate::time::Timestamp;

/// int<3> payload_length maximum: a packet this long is continued.
pub const MAX_PAYLOAD: u32 = 0xFF_FFFF;

/// One logical packet (continuations joined).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Sequence id of the first physical packet.
    pub seq: u8,
    /// Sequence id of the last physical packet.
    pub last_seq: u8,
    /// Total payload length over all physical packets.
    pub len: u64,
    /// Number of physical packets.
    pub parts: u32,
    /// Continuations whose sequence id was not the previous one plus one.
    pub seq_breaks: u32,
    /// The first of them: (its index among the physical packets, 0-based;
    /// the sequence id expected; the one it had).
    pub first_break: Option<(u32, u8, u8)>,
    /// The payload, at most the framer's cap.
    pub payload: &'a [u8],
    /// True when `payload` is shorter than `len`.
    pub truncated: bool,
    /// Time the first byte of the packet arrived.
    pub ts: Timestamp,
}

/// A logical packet that had started but not finished (at a close or gap).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partial<'a> {
    /// Sequence id of its first physical packet.
    pub seq: u8,
    /// Declared length so far (sum of the headers read).
    pub declared: u64,
    /// Payload bytes actually received.
    pub received: u64,
    /// Kept prefix of the payload.
    pub payload: &'a [u8],
    /// Time the first byte arrived.
    pub ts: Timestamp,
}

/// What the consumer wants after each packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Keep framing.
    Continue,
    /// Stop and return the bytes consumed so far (the stream changes mode).
    Stop,
}

/// Incremental, capped framer for one direction.
#[derive(Clone, Debug)]
pub struct Framer {
    cap: usize,
    hdr: [u8; 4],
    hlen: usize,
    /// Payload bytes still expected for the current physical packet.
    remaining: u32,
    in_payload: bool,
    cur_len: u32,
    // logical packet in progress
    started: bool,
    acc: Vec<u8>,
    total: u64,
    received: u64,
    first_seq: u8,
    last_seq: u8,
    parts: u32,
    breaks: u32,
    first_break: Option<(u32, u8, u8)>,
    ts: Timestamp,
    /// Physical packets framed.
    pub physical_packets: u64,
}

impl Framer {
    /// Returns spare buffer capacity to the allocator (a closed connection that
    /// only lingers for late segments); the bytes of a packet in progress stay.
    pub fn shrink(&mut self) {
        self.acc.shrink_to_fit();
    }

    /// A framer keeping at most `cap` payload bytes of one logical packet.
    pub fn new(cap: usize) -> Self {
        Framer {
            cap,
            hdr: [0; 4],
            hlen: 0,
            remaining: 0,
            in_payload: false,
            cur_len: 0,
            started: false,
            acc: Vec::new(),
            total: 0,
            received: 0,
            first_seq: 0,
            last_seq: 0,
            parts: 0,
            breaks: 0,
            first_break: None,
            ts: Timestamp(0),
            physical_packets: 0,
        }
    }

    /// True when no packet is in progress (the next byte starts a header).
    pub fn at_boundary(&self) -> bool {
        !self.started && self.hlen == 0 && !self.in_payload
    }

    /// Forgets any packet in progress (after a gap or a mode change).
    pub fn reset(&mut self) {
        self.hlen = 0;
        self.in_payload = false;
        self.remaining = 0;
        self.started = false;
        self.acc.clear();
        self.total = 0;
        self.received = 0;
        self.parts = 0;
        self.breaks = 0;
        self.first_break = None;
    }

    /// The packet in progress, if any.
    pub fn partial(&self) -> Option<Partial<'_>> {
        if !self.started {
            return None;
        }
        Some(Partial { seq: self.first_seq, declared: self.total, received: self.received, payload: &self.acc, ts: self.ts })
    }

    /// Frames `input`, calling `f` for each complete logical packet. Returns the
    /// bytes consumed: all of `input` unless `f` returned [`Control::Stop`].
    pub fn feed(&mut self, input: &[u8], ts: Timestamp, f: &mut dyn FnMut(Packet<'_>) -> Control) -> usize {
        let mut i = 0usize;
        while i < input.len() {
            let rest = &input[i..];
            // Fast path: a whole short packet at a boundary, handed out without copying.
            if self.at_boundary() && rest.len() >= 4 {
                let len = super::wire::u24(rest);
                if len < MAX_PAYLOAD && rest.len() - 4 >= len as usize {
                    let end = 4 + len as usize;
                    let full = &rest[4..end];
                    let keep = full.len().min(self.cap);
                    self.physical_packets += 1;
                    i += end;
                    let p = Packet {
                        seq: rest[3],
                        last_seq: rest[3],
                        len: u64::from(len),
                        parts: 1,
                        seq_breaks: 0,
                        first_break: None,
                        payload: &full[..keep],
                        truncated: keep < full.len(),
                        ts,
                    };
                    if f(p) == Control::Stop {
                        return i;
                    }
                    continue;
                }
            }
            if !self.in_payload {
                let need = 4 - self.hlen;
                let n = need.min(rest.len());
                self.hdr[self.hlen..self.hlen + n].copy_from_slice(&rest[..n]);
                self.hlen += n;
                i += n;
                if self.hlen < 4 {
                    break;
                }
                self.hlen = 0;
                let len = super::wire::u24(&self.hdr);
                let seq = self.hdr[3];
                self.physical_packets += 1;
                if !self.started {
                    self.started = true;
                    self.first_seq = seq;
                    self.ts = ts;
                    self.acc.clear();
                    self.total = 0;
                    self.received = 0;
                    self.parts = 0;
                    self.breaks = 0;
                    self.first_break = None;
                } else if seq != self.last_seq.wrapping_add(1) {
                    self.breaks += 1;
                    self.first_break.get_or_insert((self.parts, self.last_seq.wrapping_add(1), seq));
                }
                self.last_seq = seq;
                self.parts += 1;
                self.total += u64::from(len);
                self.cur_len = len;
                self.remaining = len;
                self.in_payload = true;
            } else {
                let n = (self.remaining as usize).min(rest.len());
                let room = self.cap.saturating_sub(self.acc.len());
                self.acc.extend_from_slice(&rest[..n.min(room)]);
                self.received += n as u64;
                self.remaining -= n as u32;
                i += n;
            }
            if self.in_payload && self.remaining == 0 {
                self.in_payload = false;
                if self.cur_len < MAX_PAYLOAD {
                    self.started = false;
                    let p = Packet {
                        seq: self.first_seq,
                        last_seq: self.last_seq,
                        len: self.total,
                        parts: self.parts,
                        seq_breaks: self.breaks,
                        first_break: self.first_break,
                        payload: &self.acc,
                        truncated: (self.acc.len() as u64) < self.total,
                        ts: self.ts,
                    };
                    if f(p) == Control::Stop {
                        return i;
                    }
                }
            }
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(seq: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = (payload.len() as u32).to_le_bytes()[..3].to_vec();
        v.push(seq);
        v.extend_from_slice(payload);
        v
    }

    fn collect(fr: &mut Framer, chunks: &[&[u8]]) -> Vec<(u8, u64, Vec<u8>, bool, u32)> {
        let mut out = Vec::new();
        for c in chunks {
            fr.feed(c, Timestamp(0), &mut |p| {
                out.push((p.seq, p.len, p.payload.to_vec(), p.truncated, p.parts));
                Control::Continue
            });
        }
        out
    }

    /// COM_QUERY "SELECT 1" as MariaDB's client sends it (real bytes).
    const COM_QUERY: &[u8] = &[0x09, 0x00, 0x00, 0x00, 0x03, b'S', b'E', b'L', b'E', b'C', b'T', b' ', b'1'];

    #[test]
    fn split_anywhere_gives_same_packets() {
        let mut stream = COM_QUERY.to_vec();
        stream.extend(pkt(1, b"\x01"));
        stream.extend(pkt(2, b""));
        let whole = collect(&mut Framer::new(1 << 20), &[&stream]);
        assert_eq!(whole.len(), 3);
        assert_eq!(whole[0], (0, 9, b"\x03SELECT 1".to_vec(), false, 1));
        for a in 0..stream.len() {
            for b in a..stream.len() {
                let got = collect(&mut Framer::new(1 << 20), &[&stream[..a], &stream[a..b], &stream[b..]]);
                assert_eq!(got, whole, "split at {a},{b}");
            }
        }
    }

    #[test]
    fn continuation_packets_join_and_cap_holds() {
        let big = vec![7u8; MAX_PAYLOAD as usize];
        let mut stream = pkt(0, &big);
        stream.extend(pkt(1, b"tail"));
        let mut fr = Framer::new(1000);
        let got = collect(&mut fr, &[&stream[..5000], &stream[5000..]]);
        assert_eq!(got.len(), 1);
        let (seq, len, payload, truncated, parts) = &got[0];
        assert_eq!((*seq, *len, payload.len(), *truncated, *parts), (0, u64::from(MAX_PAYLOAD) + 4, 1000, true, 2));
        // exactly 0xFFFFFF ends with an empty packet
        let mut s2 = pkt(3, &big);
        s2.extend(pkt(4, b""));
        let got = collect(&mut Framer::new(10), &[&s2]);
        assert_eq!(got[0].1, u64::from(MAX_PAYLOAD));
    }

    #[test]
    fn partial_reports_declared_and_received() {
        let mut fr = Framer::new(16);
        let mut head = (6_000_037u32).to_le_bytes()[..3].to_vec();
        head.push(0);
        head.extend_from_slice(&[3u8; 100]);
        assert!(collect(&mut fr, &[&head]).is_empty());
        let p = fr.partial().unwrap();
        assert_eq!((p.seq, p.declared, p.received, p.payload.len()), (0, 6_000_037, 100, 16));
        for n in 0..4 {
            let mut fr = Framer::new(16);
            assert!(collect(&mut fr, &[&COM_QUERY[..n]]).is_empty());
            assert!(fr.partial().is_none(), "header incomplete at {n}");
        }
    }

    #[test]
    fn stop_returns_consumed() {
        let mut stream = pkt(2, b"\x00\x00\x00\x02\x00\x00\x00");
        stream.extend_from_slice(&[0xaa; 10]);
        let mut fr = Framer::new(64);
        let used = fr.feed(&stream, Timestamp(0), &mut |_| Control::Stop);
        assert_eq!(used, 11);
    }
}
