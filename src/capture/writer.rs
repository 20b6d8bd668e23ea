//! Writing frames as a classic pcap file (microsecond timestamps, the
//! format `tcpdump -w` writes), for `live -w`.

use super::{Frame, LinkType};
use std::io::{self, Write};

/// A pcap writer over any byte sink.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: io::BufWriter<W>,
    snaplen: u32,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header for `link` frames cut at `snaplen` bytes.
    pub fn new(out: W, link: LinkType, snaplen: u32) -> io::Result<Self> {
        let mut out = io::BufWriter::with_capacity(256 << 10, out);
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        h[4..6].copy_from_slice(&2u16.to_le_bytes());
        h[6..8].copy_from_slice(&4u16.to_le_bytes());
        h[16..20].copy_from_slice(&snaplen.to_le_bytes());
        h[20..24].copy_from_slice(&(link.0 as u32).to_le_bytes());
        out.write_all(&h)?;
        Ok(PcapWriter { out, snaplen })
    }

    /// Appends one frame (cut at the snaplen; its original length kept).
    pub fn write(&mut self, f: &Frame<'_>) -> io::Result<()> {
        let data = &f.data[..f.data.len().min(self.snaplen as usize)];
        let secs = f.ts.0.div_euclid(1_000_000_000);
        let micros = f.ts.0.rem_euclid(1_000_000_000) / 1000;
        let mut r = [0u8; 16];
        r[0..4].copy_from_slice(&(secs as u32).to_le_bytes());
        r[4..8].copy_from_slice(&(micros as u32).to_le_bytes());
        r[8..12].copy_from_slice(&(data.len() as u32).to_le_bytes());
        r[12..16].copy_from_slice(&f.orig_len.max(data.len() as u32).to_le_bytes());
        self.out.write_all(&r)?;
        self.out.write_all(data)
    }

    /// Flushes and returns the sink.
    pub fn finish(self) -> io::Result<W> {
        self.out.into_inner().map_err(|e| e.into_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::FileSource;
    use crate::time::Timestamp;

    #[test]
    fn frames_read_back_as_written() {
        let data = [0u8, 1, 2, 3, 4, 5, 6, 7];
        let mut w = PcapWriter::new(Vec::new(), LinkType::ETHERNET, 6).unwrap();
        w.write(&Frame { ts: Timestamp(1_700_000_000_123_456_000), link: LinkType::ETHERNET, orig_len: 8, data: &data }).unwrap();
        let bytes = w.finish().unwrap();
        let mut src = FileSource::from_reader("mem", Box::new(std::io::Cursor::new(bytes))).unwrap();
        let f = src.next_frame().expect("one frame");
        assert_eq!((f.ts, f.orig_len, f.data), (Timestamp(1_700_000_000_123_456_000), 8, &data[..6]));
    }
}
