//! The compressed protocol: `int<3> compressed_length, int<1> compressed_seq,
//! int<3> uncompressed_length`, then zlib (or zstd when negotiated) data; an
//! uncompressed length of 0 means the payload was sent as is
//! [dev.mysql.com: Compression › Compressed Packet].
//!
//! Contract: frames larger than the cap are skipped by length (counted), and
//! inflation never produces more than the announced length.

use std::io::Read;

/// Compression algorithm negotiated for a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// zlib (CLIENT_COMPRESS)
    Zlib,
    /// zstd (CLIENT_ZSTD_COMPRESSION_ALGORITHM)
    Zstd,
}

/// One compressed frame, decoded.
#[derive(Debug)]
pub struct CompressedFrame<'a> {
    /// The compressed sequence id.
    pub seq: u8,
    /// Bytes on the wire after the 7-byte header.
    pub wire_len: u32,
    /// The decompressed bytes (empty when skipped or undecodable).
    pub data: &'a [u8],
    /// Set when the frame could not be decoded (corrupt or over the cap).
    pub error: Option<&'static str>,
}

/// Incremental compressed-frame decoder for one direction.
#[derive(Clone, Debug)]
pub struct Decompressor {
    algo: Algorithm,
    cap: usize,
    hdr: [u8; 7],
    hlen: usize,
    comp_len: u32,
    uncomp_len: u32,
    seq: u8,
    in_body: bool,
    skipping: bool,
    skip_left: u32,
    buf: Vec<u8>,
    out: Vec<u8>,
    /// Frames decoded.
    pub frames: u64,
    /// Frames that failed to decode or exceeded the cap.
    pub bad_frames: u64,
}

impl Decompressor {
    /// A decoder for `algo` accepting frames up to `cap` bytes.
    pub fn new(algo: Algorithm, cap: usize) -> Self {
        Decompressor {
            algo,
            cap,
            hdr: [0; 7],
            hlen: 0,
            comp_len: 0,
            uncomp_len: 0,
            seq: 0,
            in_body: false,
            skipping: false,
            skip_left: 0,
            buf: Vec::new(),
            out: Vec::new(),
            frames: 0,
            bad_frames: 0,
        }
    }

    /// Forgets the frame in progress (after a gap).
    pub fn reset(&mut self) {
        self.hlen = 0;
        self.in_body = false;
        self.buf.clear();
    }

    /// Decodes frames from `input`, calling `f` for each.
    pub fn feed(&mut self, mut input: &[u8], f: &mut dyn FnMut(CompressedFrame<'_>)) {
        while !input.is_empty() {
            if !self.in_body {
                let n = (7 - self.hlen).min(input.len());
                self.hdr[self.hlen..self.hlen + n].copy_from_slice(&input[..n]);
                self.hlen += n;
                input = &input[n..];
                if self.hlen < 7 {
                    return;
                }
                self.hlen = 0;
                let h = self.hdr;
                self.comp_len = super::wire::u24(&h);
                self.seq = h[3];
                self.uncomp_len = super::wire::u24(&h[4..]);
                self.in_body = true;
                self.skipping = self.comp_len as usize > self.cap;
                self.skip_left = self.comp_len;
                self.buf.clear();
            }
            if self.skipping {
                let n = (self.skip_left as usize).min(input.len());
                self.skip_left -= n as u32;
                input = &input[n..];
                if self.skip_left > 0 {
                    return;
                }
                self.in_body = false;
                self.frames += 1;
                self.bad_frames += 1;
                f(CompressedFrame { seq: self.seq, wire_len: self.comp_len, data: &[], error: Some("frame over the cap") });
                continue;
            }
            let want = self.comp_len as usize - self.buf.len();
            let n = want.min(input.len());
            self.buf.extend_from_slice(&input[..n]);
            input = &input[n..];
            if self.buf.len() < self.comp_len as usize {
                return;
            }
            self.in_body = false;
            self.frames += 1;
            if self.uncomp_len == 0 {
                f(CompressedFrame { seq: self.seq, wire_len: self.comp_len, data: &self.buf, error: None });
                continue;
            }
            self.out.clear();
            let ok = match self.algo {
                Algorithm::Zlib => {
                    flate2::read::ZlibDecoder::new(&self.buf[..]).take(u64::from(self.uncomp_len)).read_to_end(&mut self.out).is_ok()
                }
                Algorithm::Zstd => zstd::stream::read::Decoder::new(&self.buf[..])
                    .map(|d| d.take(u64::from(self.uncomp_len)).read_to_end(&mut self.out).is_ok())
                    .unwrap_or(false),
            };
            if ok && self.out.len() == self.uncomp_len as usize {
                f(CompressedFrame { seq: self.seq, wire_len: self.comp_len, data: &self.out, error: None });
            } else {
                self.bad_frames += 1;
                f(CompressedFrame { seq: self.seq, wire_len: self.comp_len, data: &[], error: Some("corrupt compressed frame") });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::ZlibEncoder};
    use std::io::Write;

    fn frame(seq: u8, data: &[u8], compress: bool) -> Vec<u8> {
        let (body, ulen) = if compress {
            let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
            e.write_all(data).unwrap();
            (e.finish().unwrap(), data.len() as u32)
        } else {
            (data.to_vec(), 0)
        };
        let mut v = (body.len() as u32).to_le_bytes()[..3].to_vec();
        v.push(seq);
        v.extend_from_slice(&ulen.to_le_bytes()[..3]);
        v.extend(body);
        v
    }

    #[test]
    fn zlib_and_stored_frames_any_split() {
        let payload = b"\x05\x00\x00\x01\x03ab\x00\x00".repeat(40);
        let mut s = frame(0, &payload, true);
        s.extend(frame(1, b"\x01\x00\x00\x02\x01", false));
        for cut in 0..s.len() {
            let mut d = Decompressor::new(Algorithm::Zlib, 1 << 20);
            let mut out = Vec::new();
            let mut seqs = Vec::new();
            for part in [&s[..cut], &s[cut..]] {
                d.feed(part, &mut |f| {
                    assert!(f.error.is_none());
                    seqs.push(f.seq);
                    out.extend_from_slice(f.data);
                });
            }
            let mut want = payload.clone();
            want.extend_from_slice(b"\x01\x00\x00\x02\x01");
            assert_eq!(out, want);
            assert_eq!(seqs, vec![0, 1]);
        }
    }

    #[test]
    fn zstd_frames() {
        let payload = b"\x05\x00\x00\x01\x03ab\x00\x00".repeat(50);
        let body = zstd::bulk::compress(&payload, 3).unwrap();
        let mut s = (body.len() as u32).to_le_bytes()[..3].to_vec();
        s.push(4);
        s.extend_from_slice(&(payload.len() as u32).to_le_bytes()[..3]);
        s.extend(body);
        for cut in [1, 7, 9, s.len() - 1] {
            let mut d = Decompressor::new(Algorithm::Zstd, 1 << 20);
            let mut out = Vec::new();
            for part in [&s[..cut], &s[cut..]] {
                d.feed(part, &mut |f| {
                    assert_eq!((f.seq, f.error), (4, None));
                    out.extend_from_slice(f.data);
                });
            }
            assert_eq!(out, payload);
        }
    }

    #[test]
    fn corrupt_frame_is_reported_not_fatal() {
        let mut s = vec![4, 0, 0, 0, 50, 0, 0, 1, 2, 3, 4];
        s.extend(frame(1, b"ok", false));
        let mut d = Decompressor::new(Algorithm::Zlib, 1 << 20);
        let mut errs = 0;
        let mut data = Vec::new();
        d.feed(&s, &mut |f| {
            errs += usize::from(f.error.is_some());
            data.extend_from_slice(f.data);
        });
        assert_eq!((errs, data.as_slice()), (1, &b"ok"[..]));
    }
}
