//! One direction of a TCP connection.

use super::{StreamEvent, StreamSink};
use crate::time::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;

/// Accounting for one direction.
#[derive(Clone, Debug, Default, Serialize)]
pub struct HalfStats {
    /// Segments seen.
    pub segments: u64,
    /// Payload bytes on the wire (captured or not).
    pub bytes: u64,
    /// Segments wholly or partly already delivered.
    pub retransmissions: u64,
    /// Segments that arrived ahead of a hole.
    pub out_of_order: u64,
    /// Holes declared.
    pub gaps: u64,
    /// Bytes never captured (sum of gaps).
    pub missed_bytes: u64,
    /// Segments advertising a zero window.
    pub zero_windows: u64,
    /// Out-of-order bytes dropped because the buffer cap was reached.
    pub ooo_cap_hits: u64,
    /// Buffered copies of the same bytes that differ (the first copy is kept).
    /// Bytes already delivered are not kept, so overlaps with them are not compared.
    pub conflicting_overlaps: u64,
}

/// Reassembly state for one direction.
#[derive(Debug, Default)]
pub struct HalfStream {
    started: bool,
    /// Sequence number that corresponds to `next`.
    next_seq: u32,
    /// Stream offset of the next byte to deliver.
    next: u64,
    ooo: BTreeMap<u64, (Vec<u8>, u32)>,
    ooo_bytes: usize,
    fin_at: Option<u64>,
    fin_delivered: bool,
    /// Highest offset of this direction acknowledged by the peer.
    peer_acked: u64,
    /// True when the stream was picked up without its SYN.
    pub mid_stream: bool,
    /// True once a SYN was seen for this direction.
    pub syn_seen: bool,
    /// Initial sequence number, when a SYN was seen.
    pub isn: Option<u32>,
    /// True once a FIN was seen.
    pub fin_seen: bool,
    /// True once a RST was seen.
    pub rst_seen: bool,
    /// Counters.
    pub stats: HalfStats,
}

impl HalfStream {
    fn rel(&self, seq: u32) -> i64 {
        self.next as i64 + i64::from(seq.wrapping_sub(self.next_seq) as i32)
    }

    /// True once this direction's FIN was delivered (every byte before it in
    /// order) and the peer acknowledged it: nothing new can follow.
    pub fn fin_acked(&self) -> bool {
        self.fin_delivered && self.fin_at.is_some_and(|at| self.peer_acked > at)
    }

    /// Stream offset of the next byte to deliver (bytes delivered plus gaps).
    pub fn offset(&self) -> u64 {
        self.next
    }

    /// Records an acknowledgement from the peer covering this direction. A hole
    /// the peer has acknowledged will never be filled: it becomes a gap now, so
    /// the bytes behind it are delivered before anything the peer sends next.
    pub fn note_ack<S: StreamSink>(&mut self, ack: u32, ts: Timestamp, side: usize, sink: &mut S) {
        if self.started {
            let a = self.rel(ack);
            if a > self.peer_acked as i64 {
                self.peer_acked = a as u64;
                if !self.ooo.is_empty() {
                    self.close_acked_holes(ts, side, sink);
                }
            }
        }
    }

    /// Processes one segment of this direction; events go to `sink` as `side`.
    #[allow(clippy::too_many_arguments)]
    pub fn on_segment<S: StreamSink>(
        &mut self,
        seq: u32,
        syn: bool,
        fin: bool,
        rst: bool,
        window: u16,
        payload: &[u8],
        missing: u32,
        ts: Timestamp,
        max_ooo: usize,
        side: usize,
        sink: &mut S,
    ) {
        self.stats.segments += 1;
        if window == 0 && !rst && !syn {
            self.stats.zero_windows += 1;
        }
        if syn {
            self.syn_seen = true;
            self.isn = Some(seq);
            if !self.started || self.next == 0 {
                self.started = true;
                self.next_seq = seq.wrapping_add(1);
                self.next = 0;
                self.mid_stream = false;
            }
            return;
        }
        if !self.started {
            self.started = true;
            self.mid_stream = true;
            self.next_seq = seq;
            self.next = 0;
        }
        let len = payload.len() as u64 + u64::from(missing);
        self.stats.bytes += len;
        if len > 0 {
            let start = self.rel(seq);
            let end = start + len as i64;
            if end <= self.next as i64 {
                self.stats.retransmissions += 1;
            } else if start <= self.next as i64 {
                if start < self.next as i64 {
                    self.stats.retransmissions += 1;
                }
                let skip = (self.next as i64 - start) as u64;
                self.deliver(payload, missing, skip, ts, side, sink);
                self.drain(ts, side, sink);
            } else {
                self.stats.out_of_order += 1;
                let start = start as u64;
                match self.ooo.entry(start) {
                    std::collections::btree_map::Entry::Vacant(v) => {
                        self.ooo_bytes += payload.len();
                        v.insert((payload.to_vec(), missing));
                    }
                    std::collections::btree_map::Entry::Occupied(o) => {
                        // keep the first copy; count a copy whose bytes differ
                        let (first, _) = o.get();
                        let n = first.len().min(payload.len());
                        self.stats.retransmissions += 1;
                        if first[..n] != payload[..n] {
                            self.stats.conflicting_overlaps += 1;
                        }
                    }
                }
                // Data acknowledged by the peer was on the wire: the hole before the
                // first buffered segment will never fill.
                self.close_acked_holes(ts, side, sink);
                while self.ooo_bytes > max_ooo {
                    self.stats.ooo_cap_hits += 1;
                    let Some(&first) = self.ooo.keys().next() else { break };
                    self.gap_to(first, ts, side, sink);
                    self.drain(ts, side, sink);
                }
            }
        }
        if fin {
            self.fin_seen = true;
            let at = self.rel(seq) + len as i64;
            if at >= 0 {
                self.fin_at = Some(at as u64);
            }
            self.check_fin(ts, side, sink);
        }
        if rst {
            self.rst_seen = true;
            sink.on_event(side, ts, StreamEvent::Rst);
        }
    }

    fn deliver<S: StreamSink>(&mut self, payload: &[u8], missing: u32, skip: u64, ts: Timestamp, side: usize, sink: &mut S) {
        let plen = payload.len() as u64;
        if skip < plen {
            let data = &payload[skip as usize..];
            self.next += data.len() as u64;
            self.next_seq = self.next_seq.wrapping_add(data.len() as u32);
            sink.on_event(side, ts, StreamEvent::Data(data));
        }
        let miss = u64::from(missing).saturating_sub(skip.saturating_sub(plen));
        if miss > 0 {
            self.record_gap(miss, ts, side, sink);
        }
    }

    fn record_gap<S: StreamSink>(&mut self, n: u64, ts: Timestamp, side: usize, sink: &mut S) {
        self.stats.gaps += 1;
        self.stats.missed_bytes += n;
        self.next += n;
        self.next_seq = self.next_seq.wrapping_add(n as u32);
        sink.on_event(side, ts, StreamEvent::Gap(n));
    }

    fn gap_to<S: StreamSink>(&mut self, to: u64, ts: Timestamp, side: usize, sink: &mut S) {
        if to > self.next {
            self.record_gap(to - self.next, ts, side, sink);
        }
    }

    fn close_acked_holes<S: StreamSink>(&mut self, ts: Timestamp, side: usize, sink: &mut S) {
        while let Some(&first) = self.ooo.keys().next() {
            if self.peer_acked < first || first <= self.next {
                break;
            }
            self.gap_to(first, ts, side, sink);
            self.drain(ts, side, sink);
        }
    }

    fn drain<S: StreamSink>(&mut self, ts: Timestamp, side: usize, sink: &mut S) {
        while let Some((&start, _)) = self.ooo.iter().next() {
            if start > self.next {
                break;
            }
            let Some((data, missing)) = self.ooo.remove(&start) else { break };
            self.ooo_bytes = self.ooo_bytes.saturating_sub(data.len());
            let end = start + data.len() as u64 + u64::from(missing);
            if end <= self.next {
                self.stats.retransmissions += 1;
                continue;
            }
            self.deliver(&data, missing, self.next - start, ts, side, sink);
        }
        self.check_fin(ts, side, sink);
    }

    fn check_fin<S: StreamSink>(&mut self, ts: Timestamp, side: usize, sink: &mut S) {
        if let Some(at) = self.fin_at
            && !self.fin_delivered
            && self.next >= at
        {
            self.fin_delivered = true;
            sink.on_event(side, ts, StreamEvent::Fin);
        }
    }

    /// Delivers everything still buffered, declaring the holes as gaps
    /// (connection end, eviction or end of capture).
    pub fn flush<S: StreamSink>(&mut self, ts: Timestamp, side: usize, sink: &mut S) {
        while let Some(&first) = self.ooo.keys().next() {
            self.gap_to(first, ts, side, sink);
            self.drain(ts, side, sink);
        }
        if let Some(at) = self.fin_at {
            self.gap_to(at, ts, side, sink);
            self.check_fin(ts, side, sink);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Default)]
    struct Collect {
        bytes: Vec<u8>,
        gaps: Vec<u64>,
        fins: usize,
    }
    impl StreamSink for Collect {
        fn on_event(&mut self, _side: usize, _ts: Timestamp, ev: StreamEvent<'_>) {
            match ev {
                StreamEvent::Data(d) => self.bytes.extend_from_slice(d),
                StreamEvent::Gap(n) => {
                    self.gaps.push(n);
                    self.bytes.extend(std::iter::repeat_n(b'?', n as usize));
                }
                StreamEvent::Fin => self.fins += 1,
                StreamEvent::Rst => {}
            }
        }
    }

    fn seg(h: &mut HalfStream, c: &mut Collect, seq: u32, data: &[u8]) {
        h.on_segment(seq, false, false, false, 100, data, 0, Timestamp(0), 1 << 20, 0, c);
    }

    #[test]
    fn in_order_reorder_duplicate_and_wrap() {
        let isn = u32::MAX - 3; // the stream crosses the 2^32 wrap after 3 bytes
        let mut h = HalfStream::default();
        let mut c = Collect::default();
        h.on_segment(isn, true, false, false, 100, &[], 0, Timestamp(0), 1 << 20, 0, &mut c);
        let base = isn.wrapping_add(1);
        seg(&mut h, &mut c, base.wrapping_add(5), b"fghij");
        seg(&mut h, &mut c, base, b"abcde");
        seg(&mut h, &mut c, base, b"abc"); // duplicate
        seg(&mut h, &mut c, base.wrapping_add(8), b"ijklm"); // overlap
        assert_eq!(c.bytes, b"abcdefghijklm");
        assert!(c.gaps.is_empty());
        assert_eq!(h.stats.retransmissions, 2);
        assert_eq!(h.stats.out_of_order, 1);
    }

    #[test]
    fn acked_hole_becomes_gap_and_stream_resumes() {
        let mut h = HalfStream::default();
        let mut c = Collect::default();
        seg(&mut h, &mut c, 1000, b"abc");
        h.note_ack(1010, Timestamp(0), 0, &mut c);
        seg(&mut h, &mut c, 1006, b"ghij");
        assert_eq!(c.bytes, b"abc???ghij");
        assert_eq!(c.gaps, vec![3]);
        assert!(h.mid_stream);
    }

    #[test]
    fn acked_hole_ends_at_the_first_buffered_segment() {
        // lost [3,8), buffered [8,10); the ACK covers both; a later segment must not
        // widen the gap over the buffered bytes.
        let mut h = HalfStream::default();
        let mut c = Collect::default();
        seg(&mut h, &mut c, 0, b"abc");
        seg(&mut h, &mut c, 8, b"ij");
        h.note_ack(10, Timestamp(0), 0, &mut c);
        assert_eq!(c.bytes, b"abc?????ij", "the ACK alone closes the hole");
        seg(&mut h, &mut c, 10, b"kl");
        assert_eq!(c.bytes, b"abc?????ijkl");
        assert_eq!((c.gaps.clone(), h.stats.missed_bytes), (vec![5], 5));
    }

    #[test]
    fn conflicting_copies_keep_the_first() {
        let mut h = HalfStream::default();
        let mut c = Collect::default();
        seg(&mut h, &mut c, 0, b"a");
        seg(&mut h, &mut c, 5, b"xyz");
        seg(&mut h, &mut c, 5, b"XYZ"); // same bytes position, different content
        seg(&mut h, &mut c, 5, b"xyz"); // an identical copy
        seg(&mut h, &mut c, 1, b"bcde");
        assert_eq!(c.bytes, b"abcdexyz");
        assert_eq!((h.stats.conflicting_overlaps, h.stats.retransmissions), (1, 2));
    }

    #[test]
    fn snaplen_missing_bytes_are_a_gap_not_garbage() {
        let mut h = HalfStream::default();
        let mut c = Collect::default();
        h.on_segment(1, false, false, false, 100, b"abcd", 6, Timestamp(0), 1 << 20, 0, &mut c);
        seg(&mut h, &mut c, 11, b"XY");
        assert_eq!(c.bytes, b"abcd??????XY");
        assert_eq!(h.stats.missed_bytes, 6);
    }

    #[test]
    fn ooo_cap_declares_gap_and_fin_waits_for_data() {
        let mut h = HalfStream::default();
        let mut c = Collect::default();
        seg(&mut h, &mut c, 0, b"a");
        h.on_segment(5, false, true, false, 100, b"xyz", 0, Timestamp(0), 2, 0, &mut c);
        // cap of 2 bytes exceeded: hole 1..5 declared, data and FIN delivered
        assert_eq!(c.bytes, b"a????xyz");
        assert_eq!(c.fins, 1);
        assert_eq!(h.stats.ooo_cap_hits, 1);
    }

    proptest! {
        /// Any segmentation, reordering and duplication of a stream yields the same bytes
        /// (compared against the obviously correct model: the original bytes).
        #[test]
        fn reorder_duplicate_invariance(
            data in proptest::collection::vec(any::<u8>(), 1..400),
            cuts in proptest::collection::vec(1usize..50, 1..40),
            order in proptest::collection::vec(any::<u16>(), 0..60),
            isn in any::<u32>(),
        ) {
            let mut segs = Vec::new();
            let mut pos = 0;
            for c in cuts.iter().cycle() {
                if pos >= data.len() { break; }
                let end = (pos + c).min(data.len());
                segs.push((pos, end));
                pos = end;
            }
            // duplicate some, then permute (the first segment stays first: it sets the base)
            let mut all = segs.clone();
            for o in &order { all.push(segs[*o as usize % segs.len()]); }
            let first = all.remove(0);
            let mut rest = all;
            for (i, o) in order.iter().enumerate() {
                let n = rest.len(); if n > 1 { let j = *o as usize % n; rest.swap(i % n, j); }
            }
            let mut h = HalfStream::default();
            let mut c = Collect::default();
            h.on_segment(isn, true, false, false, 1, &[], 0, Timestamp(0), 1 << 20, 0, &mut c);
            let base = isn.wrapping_add(1);
            for (s, e) in std::iter::once(first).chain(rest) {
                seg(&mut h, &mut c, base.wrapping_add(s as u32), &data[s..e]);
            }
            h.flush(Timestamp(0), 0, &mut c);
            prop_assert_eq!(&c.bytes, &data);
            prop_assert!(c.gaps.is_empty());
        }
    }
}
