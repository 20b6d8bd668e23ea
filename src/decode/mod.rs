//! Link, network and transport decoding with `etherparse`, dispatched on the
//! capture's link type (never guessed), with a fixed-offset fast path for the
//! commonest shape (Ethernet, IPv4, TCP) that gives the same result. Output is
//! a borrowed [`TcpSegment`].
//!
//! Contract: never panics; frames that are not TCP over IPv4/IPv6 are counted
//! in [`DecodeStats`] and skipped. A frame cut by the snaplen yields the bytes
//! present plus `missing`, the payload bytes the snaplen dropped.

use crate::capture::{Frame, LinkType};
use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket, TcpSlice};
use serde::Serialize;
use std::net::{IpAddr, SocketAddr};

/// TCP flags we act on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags {
    /// SYN
    pub syn: bool,
    /// ACK
    pub ack: bool,
    /// FIN
    pub fin: bool,
    /// RST
    pub rst: bool,
}

/// One TCP segment, borrowing its payload from the frame.
#[derive(Clone, Copy, Debug)]
pub struct TcpSegment<'a> {
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// Sequence number of the first payload byte (or of the SYN/FIN).
    pub seq: u32,
    /// Acknowledgement number (valid when `flags.ack`).
    pub ack: u32,
    /// Flags.
    pub flags: TcpFlags,
    /// Advertised window (unscaled).
    pub window: u16,
    /// Captured payload.
    pub payload: &'a [u8],
    /// Payload bytes on the wire that the snaplen cut off.
    pub missing: u32,
}

/// Counters for frames that did not yield a TCP segment.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DecodeStats {
    /// Frames seen.
    pub frames: u64,
    /// TCP segments decoded.
    pub tcp_segments: u64,
    /// Non-TCP or non-IP frames (ARP, UDP, ...).
    pub not_tcp: u64,
    /// IPv4/IPv6 fragments (not reassembled; counted).
    pub ip_fragments: u64,
    /// Frames whose link or IP/TCP headers were cut or malformed.
    pub malformed: u64,
    /// Frames cut by the snaplen inside the TCP payload.
    pub snaplen_truncated: u64,
    /// Frames of a link type mywire does not decode.
    pub unsupported_link: u64,
}

impl DecodeStats {
    /// Counts a frame that yielded `seg` (what [`decode`] counts for it).
    fn count_segment(&mut self, seg: &TcpSegment<'_>) {
        self.frames += 1;
        self.tcp_segments += 1;
        if seg.missing > 0 {
            self.snaplen_truncated += 1;
        }
    }

    /// Adds another shard's counters.
    pub fn add(&mut self, o: &DecodeStats) {
        self.frames += o.frames;
        self.tcp_segments += o.tcp_segments;
        self.not_tcp += o.not_tcp;
        self.ip_fragments += o.ip_fragments;
        self.malformed += o.malformed;
        self.snaplen_truncated += o.snaplen_truncated;
        self.unsupported_link += o.unsupported_link;
    }
}

/// The TCP endpoints of the commonest frame shape (Ethernet without VLAN tag,
/// IPv4 unfragmented or IPv6 without extension headers, TCP), read straight
/// from fixed offsets; `None` for anything else. Whenever [`decode`] yields a
/// segment for a frame this also answers, both give the same addresses, so a
/// sharded pipeline can skip frames of other shards' flows without decoding them.
pub fn quick_addrs(frame: &Frame<'_>) -> Option<(SocketAddr, SocketAddr)> {
    use std::net::{Ipv4Addr, Ipv6Addr};
    if frame.link != LinkType::ETHERNET {
        return None;
    }
    let d = frame.data;
    let port = |at: usize| d.get(at..at + 2).map(|p| u16::from_be_bytes([p[0], p[1]]));
    match d.get(12..15)? {
        [0x08, 0x00, vhl] if vhl >> 4 == 4 => {
            let ihl = usize::from(vhl & 0x0f) * 4;
            let ip = d.get(14..34)?;
            // TCP, neither a later fragment nor one with more to come
            if ihl < 20 || ip[9] != 6 || u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0 {
                return None;
            }
            let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
            let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
            let (sp, dp) = (port(14 + ihl)?, port(16 + ihl)?);
            Some((SocketAddr::new(IpAddr::V4(src), sp), SocketAddr::new(IpAddr::V4(dst), dp)))
        }
        [0x86, 0xdd, v] if v >> 4 == 6 => {
            let ip = d.get(14..54)?;
            if ip[6] != 6 {
                return None;
            }
            let addr = |b: &[u8]| <[u8; 16]>::try_from(b).ok().map(Ipv6Addr::from);
            let (src, dst) = (addr(&ip[8..24])?, addr(&ip[24..40])?);
            let (sp, dp) = (port(54)?, port(56)?);
            Some((SocketAddr::new(IpAddr::V6(src), sp), SocketAddr::new(IpAddr::V6(dst), dp)))
        }
        _ => None,
    }
}

/// Decodes one frame; `None` (with a counter bumped) when it carries no usable TCP.
pub fn decode<'a>(frame: &Frame<'a>, stats: &mut DecodeStats) -> Option<TcpSegment<'a>> {
    if let Some(seg) = fast_ipv4_tcp(frame) {
        stats.count_segment(&seg);
        return Some(seg);
    }
    decode_full(frame, stats)
}

/// Ethernet II, IPv4 without fragmentation, TCP with its whole header present:
/// read at fixed offsets, with exactly the result [`decode_full`] gives (a test
/// compares them on every frame of our captures and the corpus). Anything else
/// (`None`) goes to etherparse. The full decoder's slicing was about 8% of a
/// one-thread analysis, most of it moving its large result structs.
fn fast_ipv4_tcp<'a>(frame: &Frame<'a>) -> Option<TcpSegment<'a>> {
    if frame.link != LinkType::ETHERNET {
        return None;
    }
    let d = frame.data;
    let ip = d.get(14..34)?;
    if d[12..14] != [0x08, 0x00] || ip[0] >> 4 != 4 || ip[9] != 6 || u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0 {
        return None;
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let t = 14 + ihl;
    let tcp = d.get(t..t + 20)?;
    let doff = usize::from(tcp[12] >> 4) * 4;
    // a sane header, wholly captured and inside the IP length (else: the full decoder)
    if ihl < 20 || doff < 20 || total < ihl + doff || d.len() < t + doff {
        return None;
    }
    let end = (14 + total).min(d.len());
    let payload = &d[t + doff..end];
    let missing = (total - ihl - doff).saturating_sub(payload.len()) as u32;
    let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let flags = tcp[13];
    Some(TcpSegment {
        src: SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15])), u16::from_be_bytes([tcp[0], tcp[1]])),
        dst: SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19])), u16::from_be_bytes([tcp[2], tcp[3]])),
        seq: be32(&tcp[4..8]),
        ack: be32(&tcp[8..12]),
        flags: TcpFlags { syn: flags & 0x02 != 0, ack: flags & 0x10 != 0, fin: flags & 0x01 != 0, rst: flags & 0x04 != 0 },
        window: u16::from_be_bytes([tcp[14], tcp[15]]),
        payload,
        missing,
    })
}

/// True when the fixed-offset fast path either declines `frame` or gives
/// exactly what the general decoder gives (for the differential fuzz target
/// and tests; the pipeline only calls [`decode`]).
pub fn fast_path_agrees(frame: &Frame<'_>) -> bool {
    let Some(q) = fast_ipv4_tcp(frame) else { return true };
    decode_full(frame, &mut DecodeStats::default()).is_some_and(|f| {
        (q.src, q.dst, q.seq, q.ack, q.flags, q.window, q.payload, q.missing)
            == (f.src, f.dst, f.seq, f.ack, f.flags, f.window, f.payload, f.missing)
    })
}

/// The general decoder (etherparse), for every link type and shape.
fn decode_full<'a>(frame: &Frame<'a>, stats: &mut DecodeStats) -> Option<TcpSegment<'a>> {
    stats.frames += 1;
    let d = frame.data;
    let pkt = match frame.link {
        LinkType::ETHERNET => LaxSlicedPacket::from_ethernet(d).ok(),
        LinkType::RAW | LinkType::RAW_BSD | LinkType::RAW_OPENBSD | LinkType::IPV4 | LinkType::IPV6 => LaxSlicedPacket::from_ip(d).ok(),
        LinkType::LINUX_SLL => {
            // 16-byte header; protocol (EtherType) in bytes 14..16.
            let proto = d.get(14..16).map(|p| u16::from_be_bytes([p[0], p[1]]));
            proto.and_then(|p| d.get(16..).map(|rest| LaxSlicedPacket::from_ether_type(EtherType(p), rest)))
        }
        LinkType::LINUX_SLL2 => {
            // 20-byte header; protocol (EtherType) in bytes 0..2.
            let proto = d.get(0..2).map(|p| u16::from_be_bytes([p[0], p[1]]));
            proto.and_then(|p| d.get(20..).map(|rest| LaxSlicedPacket::from_ether_type(EtherType(p), rest)))
        }
        LinkType::NULL | LinkType::LOOP => {
            let fam = d.get(0..4).map(|f| [f[0], f[1], f[2], f[3]]);
            fam.and_then(|f| {
                // NULL is host byte order (either), LOOP network order; accept both.
                let v = if frame.link == LinkType::LOOP { u32::from_be_bytes(f) } else { u32::from_le_bytes(f) };
                let v = if v > 0xFFFF { v.swap_bytes() } else { v };
                let et = match v {
                    2 => EtherType::IPV4,
                    24 | 28 | 30 => EtherType::IPV6,
                    _ => return None,
                };
                d.get(4..).map(|rest| LaxSlicedPacket::from_ether_type(et, rest))
            })
        }
        _ => {
            stats.unsupported_link += 1;
            return None;
        }
    };
    let Some(pkt) = pkt else {
        stats.malformed += 1;
        return None;
    };
    let (src_ip, dst_ip, payload, expected_len): (IpAddr, IpAddr, _, usize) = match &pkt.net {
        Some(LaxNetSlice::Ipv4(ip)) => {
            let h = ip.header();
            let p = ip.payload();
            let expected = usize::from(h.total_len()).saturating_sub(h.slice().len());
            (IpAddr::V4(h.source_addr()), IpAddr::V4(h.destination_addr()), p, expected)
        }
        Some(LaxNetSlice::Ipv6(ip)) => {
            let h = ip.header();
            let p = ip.payload();
            // Extension headers are few in practice; the estimate only matters when cut.
            let expected = usize::from(h.payload_length());
            (IpAddr::V6(h.source_addr()), IpAddr::V6(h.destination_addr()), p, expected)
        }
        _ => {
            if pkt.stop_err.is_some() {
                stats.malformed += 1;
            } else {
                stats.not_tcp += 1;
            }
            return None;
        }
    };
    if payload.ip_number != etherparse::IpNumber::TCP {
        stats.not_tcp += 1;
        return None;
    }
    if payload.fragmented {
        stats.ip_fragments += 1;
        return None;
    }
    let Ok(tcp) = TcpSlice::from_slice(payload.payload) else {
        stats.malformed += 1;
        return None;
    };
    let hdr_len = tcp.header_slice().len();
    let data = tcp.payload();
    let missing = if payload.incomplete {
        let want = expected_len.saturating_sub(hdr_len);
        want.saturating_sub(data.len()) as u32
    } else {
        0
    };
    if missing > 0 {
        stats.snaplen_truncated += 1;
    }
    stats.tcp_segments += 1;
    Some(TcpSegment {
        src: SocketAddr::new(src_ip, tcp.source_port()),
        dst: SocketAddr::new(dst_ip, tcp.destination_port()),
        seq: tcp.sequence_number(),
        ack: tcp.acknowledgment_number(),
        flags: TcpFlags { syn: tcp.syn(), ack: tcp.ack(), fin: tcp.fin(), rst: tcp.rst() },
        window: tcp.window_size(),
        payload: data,
        missing,
    })
}

#[cfg(test)]
mod quick_tests {
    use super::*;
    use crate::time::Timestamp;
    use etherparse::PacketBuilder;

    fn frame(data: &[u8]) -> Frame<'_> {
        Frame { ts: Timestamp(0), link: LinkType::ETHERNET, orig_len: data.len() as u32, data }
    }

    #[test]
    fn quick_addresses_match_decode_or_step_aside() {
        let mut v4 = Vec::new();
        PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 0, 0, 2], [10, 0, 0, 1], 64)
            .tcp(40_000, 3306, 1, 512)
            .write(&mut v4, b"\x01\x00\x00\x00\x0e")
            .unwrap();
        let mut v6 = Vec::new();
        PacketBuilder::ethernet2([1; 6], [2; 6]).ipv6([1; 16], [2; 16], 64).tcp(40_001, 3306, 1, 512).write(&mut v6, b"").unwrap();
        let mut vlan = Vec::new();
        PacketBuilder::ethernet2([1; 6], [2; 6])
            .single_vlan(7.try_into().unwrap())
            .ipv4([10, 0, 0, 2], [10, 0, 0, 1], 64)
            .tcp(40_002, 3306, 1, 512)
            .write(&mut vlan, b"")
            .unwrap();
        let mut stats = DecodeStats::default();
        for pkt in [&v4, &v6] {
            let seg = decode(&frame(pkt), &mut stats).unwrap();
            assert_eq!(quick_addrs(&frame(pkt)), Some((seg.src, seg.dst)));
        }
        // shapes the fast path does not read: the full decoder decides
        assert!(decode(&frame(&vlan), &mut stats).is_some());
        assert_eq!(quick_addrs(&frame(&vlan)), None);
        let mut frag = v4.clone();
        frag[20] |= 0x20; // more fragments
        assert_eq!(quick_addrs(&frame(&frag)), None);
        assert_eq!(quick_addrs(&frame(&v4[..14 + 20 + 2])), None, "ports cut off");
        let mut udp = v4.clone();
        udp[23] = 17;
        assert_eq!(quick_addrs(&frame(&udp)), None);
    }
}

#[cfg(test)]
mod fast_path_tests {
    use super::*;
    use crate::capture::{FileSource, MergedSource};

    fn same(a: &TcpSegment<'_>, b: &TcpSegment<'_>) -> bool {
        (a.src, a.dst, a.seq, a.ack, a.flags, a.window, a.payload, a.missing)
            == (b.src, b.dst, b.seq, b.ack, b.flags, b.window, b.payload, b.missing)
    }

    /// Every frame of our captures and of the shared corpus (when present):
    /// where the fast path answers, it answers what etherparse does.
    #[test]
    fn fast_path_equals_the_full_decoder_on_real_frames() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        let mut stack = vec![root.join("captures"), root.join("../shared/corpus")];
        while let Some(dir) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&dir) else { continue };
            for e in rd.flatten() {
                let p = e.path();
                let name = p.to_string_lossy().into_owned();
                if p.is_dir() {
                    stack.push(p);
                } else if name.ends_with(".pcap") || name.ends_with(".pcapng") || name.ends_with(".pcap.zst") {
                    files.push(name);
                }
            }
        }
        let (mut fast, mut total) = (0u64, 0u64);
        for f in &files {
            let Ok(src) = FileSource::open(f) else { continue };
            let mut m = MergedSource::new(vec![src]);
            while let Some(frame) = m.next_frame() {
                total += 1;
                let mut st = DecodeStats::default();
                let full = decode_full(&frame, &mut st);
                if let Some(q) = fast_ipv4_tcp(&frame) {
                    fast += 1;
                    let full = full.unwrap_or_else(|| panic!("{f}: fast path decoded a frame etherparse rejects ({st:?})"));
                    assert!(same(&q, &full), "{f}: {q:?} vs {full:?}");
                    assert_eq!(st.snaplen_truncated, u64::from(q.missing > 0));
                }
            }
        }
        assert!(files.len() >= 8 && fast * 2 > total, "fast path took {fast} of {total} frames");
    }

    #[test]
    fn fast_path_on_edge_shapes() {
        use etherparse::PacketBuilder;
        let mut v4 = Vec::new();
        PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 0, 0, 2], [10, 0, 0, 1], 64)
            .tcp(40_000, 3306, 7, 512)
            .ack(99)
            .fin()
            .write(&mut v4, b"\x01\x00\x00\x00\x0e")
            .unwrap();
        let check = |d: &[u8]| {
            let f = Frame { ts: crate::time::Timestamp(0), link: LinkType::ETHERNET, orig_len: d.len() as u32, data: d };
            let mut st = DecodeStats::default();
            (
                fast_ipv4_tcp(&f).map(|s| (s.seq, s.ack, s.flags, s.payload.to_vec(), s.missing)),
                decode_full(&f, &mut st).map(|s| (s.seq, s.ack, s.flags, s.payload.to_vec(), s.missing)),
            )
        };
        let (q, full) = check(&v4);
        assert_eq!(q, full);
        assert_eq!(q.unwrap().3, b"\x01\x00\x00\x00\x0e");
        // Ethernet padding after the IP packet is not payload
        let mut padded = v4.clone();
        padded.extend_from_slice(&[0; 6]);
        assert_eq!(check(&padded).0, full);
        // cut by the snaplen inside the payload: the rest is missing
        let (q, full) = check(&v4[..v4.len() - 2]);
        assert_eq!(q, full);
        assert_eq!(q.unwrap().4, 2);
        // cut inside the TCP header, a zero IP length (TSO), a fragment: the full decoder decides
        assert_eq!(check(&v4[..14 + 20 + 10]).0, None);
        let mut tso = v4.clone();
        tso[16..18].copy_from_slice(&[0, 0]);
        assert_eq!(check(&tso).0, None);
        let mut frag = v4.clone();
        frag[20] |= 0x20;
        assert_eq!(check(&frag).0, None);
    }
}
