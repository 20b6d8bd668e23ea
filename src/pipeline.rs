//! The offline/live pipeline minus I/O: frames in, finished connections out.
//!
//! decode -> flow table -> per-direction reassembly -> MySQL recognition ->
//! [`Session`]. Finished connections are queued in [`Pipeline::finished`] as
//! soon as they end (after a short packet-time linger for late segments), so
//! reports can stream them.

use crate::capture::Frame;
use crate::config::Limits;
use crate::decode::{DecodeStats, TcpSegment, decode, decode_full, fast_ipv4_tcp, quick_addrs};
use crate::reassembly::{HalfStream, StreamEvent, StreamSink};
use crate::session::{Dir, Session, State};
use crate::time::Timestamp;
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::net::SocketAddr;

/// After both FINs or a RST, late segments are still attributed for this long.
const LINGER_NS: i64 = 5_000_000_000;
/// How often (packet time) closed and idle flows are swept.
const SWEEP_NS: i64 = 1_000_000_000;
/// Bytes of a flow on an unknown port inspected before deciding it is not MySQL.
const PROBE_EVENTS: u32 = 4;

/// TCP-level accounting for one connection (Zeek conn.log-like).
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct TcpInfo {
    /// Retransmitted segments (both directions).
    pub retransmissions: u64,
    /// Out-of-order segments.
    pub out_of_order: u64,
    /// Holes never filled.
    pub gaps: u64,
    /// Bytes never captured.
    pub missed_bytes: u64,
    /// Zero-window advertisements.
    pub zero_windows: u64,
    /// Overlapping copies whose bytes differed (the first copy is kept).
    pub conflicting_overlaps: u64,
    /// Zeek-style history: upper case = client, lower case = server
    /// (S syn, H syn-ack, D data, F fin, R rst, G gap).
    pub history: String,
    /// Payload bytes on the wire, client to server.
    pub bytes_to_server: u64,
    /// Payload bytes on the wire, server to client.
    pub bytes_to_client: u64,
}

/// A connection that ended (or was still open at the end of the capture).
#[derive(Debug)]
pub struct FinishedConn {
    /// Sequential id in order of first packet.
    pub id: u64,
    /// Client endpoint.
    pub client: SocketAddr,
    /// Server endpoint.
    pub server: SocketAddr,
    /// First packet.
    pub start_ts: Timestamp,
    /// Last packet.
    pub end_ts: Timestamp,
    /// TCP accounting.
    pub tcp: TcpInfo,
    /// The MySQL state at the end.
    pub st: State,
}

/// A KILL statement seen on a connection, reported as soon as its session
/// records it: the connection it ends may live in another shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KillEvent {
    /// The connection that sent the KILL (its flow id).
    pub by_conn: u64,
    /// When.
    pub ts: Timestamp,
    /// The target thread id.
    pub target: u32,
    /// `KILL QUERY` (the connection survives).
    pub query_only: bool,
}

/// Which slice of the flows a [`Pipeline`] owns when several threads share one
/// capture: every pipeline decodes every frame (so packet time, sweeps and
/// decode counters agree), but only flows whose address-pair hash maps to
/// `index` are reassembled and decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This pipeline's slice, `0..count`.
    pub index: u32,
    /// Number of slices.
    pub count: u32,
}

impl Shard {
    /// The slice that owns the connection between `a` and `b` (either order).
    pub fn of(a: SocketAddr, b: SocketAddr, count: u32) -> u32 {
        use std::hash::BuildHasher;
        // Fx leaves the low bits weak for similar keys: fold the high half in
        let x = rustc_hash::FxBuildHasher.hash_one(Pipeline::key(a, b));
        let x = (x ^ (x >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        ((x >> 32) % u64::from(count.max(1))) as u32
    }
}

/// Counters for the flow table.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FlowStats {
    /// TCP connections seen.
    pub tcp_connections: u64,
    /// Of those, recognised as MySQL.
    pub mysql_connections: u64,
    /// Not MySQL (ignored).
    pub other_connections: u64,
    /// Evicted because idle for `Limits::idle_timeout_secs`.
    pub evicted_idle: u64,
    /// Evicted because `Limits::max_flows` was reached.
    pub evicted_cap: u64,
    /// Segments that arrived after a connection closed cleanly and was reported
    /// (retransmissions, duplicate ACKs); counted, not attributed.
    pub late_segments: u64,
}

impl FlowStats {
    /// Adds another shard's counters.
    pub fn add(&mut self, o: &FlowStats) {
        self.tcp_connections += o.tcp_connections;
        self.mysql_connections += o.mysql_connections;
        self.other_connections += o.other_connections;
        self.evicted_idle += o.evicted_idle;
        self.evicted_cap += o.evicted_cap;
        self.late_segments += o.late_segments;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Unknown(u32),
    Mysql {
        server_side: usize,
    },
    NotMysql,
    /// Closed cleanly and already reported; kept only until the linger ends so
    /// late duplicates do not start a phantom connection.
    Reported,
}

struct Flow {
    id: u64,
    ends: [SocketAddr; 2],
    halves: [HalfStream; 2],
    kind: Kind,
    /// Boxed: a flow without one (not MySQL, or a tombstone) stays small.
    session: Option<Box<Session>>,
    start_ts: Timestamp,
    last_ts: Timestamp,
    closing_since: Option<Timestamp>,
    /// KILLs of this flow's session already reported as [`KillEvent`]s.
    kills_seen: usize,
    hist: [u8; 16],
    hist_len: usize,
    limits: Limits,
}

impl Flow {
    fn hist(&mut self, side: usize, c: u8) {
        // letters are stored per side and mapped to client/server case at the end
        let code = if side == 0 { c } else { c | 0x80 };
        if self.hist[..self.hist_len].contains(&code) || self.hist_len == self.hist.len() {
            return;
        }
        self.hist[self.hist_len] = code;
        self.hist_len += 1;
    }

    /// Queues the KILLs its session recorded since the last call.
    fn report_kills(&mut self, out: &mut Vec<KillEvent>) {
        let Some(s) = &self.session else { return };
        if s.st.kills.len() > self.kills_seen {
            for &(ts, target, query_only) in &s.st.kills[self.kills_seen..] {
                out.push(KillEvent { by_conn: self.id, ts, target, query_only });
            }
            self.kills_seen = s.st.kills.len();
        }
    }

    /// The connection record for `st`, with `server_side` naming the server's half.
    fn finished(&self, server_side: usize, st: State) -> FinishedConn {
        FinishedConn {
            id: self.id,
            client: self.ends[1 - server_side],
            server: self.ends[server_side],
            start_ts: self.start_ts,
            end_ts: self.last_ts,
            tcp: self.tcp_info(server_side),
            st,
        }
    }

    /// Zeek-like TCP accounting, with `server_side` naming which half is the server.
    fn tcp_info(&self, server_side: usize) -> TcpInfo {
        let client_side = 1 - server_side;
        let mut tcp = TcpInfo::default();
        for h in &self.halves {
            tcp.retransmissions += h.stats.retransmissions;
            tcp.out_of_order += h.stats.out_of_order;
            tcp.gaps += h.stats.gaps;
            tcp.missed_bytes += h.stats.missed_bytes;
            tcp.zero_windows += h.stats.zero_windows;
            tcp.conflicting_overlaps += h.stats.conflicting_overlaps;
        }
        tcp.bytes_to_server = self.halves[client_side].stats.bytes;
        tcp.bytes_to_client = self.halves[server_side].stats.bytes;
        for &code in &self.hist[..self.hist_len] {
            let side = usize::from(code & 0x80 != 0);
            let c = (code & 0x7f) as char;
            tcp.history.push(if side == client_side { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() });
        }
        if tcp.gaps > 0 {
            tcp.history.push('G');
        }
        tcp
    }
}

/// Probe: does this chunk start with a MySQL server greeting (HandshakeV10)?
pub fn looks_like_greeting(d: &[u8]) -> bool {
    if d.len() < 4 + 1 + 2 + 4 {
        return false;
    }
    let len = u32::from_le_bytes([d[0], d[1], d[2], 0]) as usize;
    if d[3] != 0 || !(20..=1024).contains(&len) {
        return false;
    }
    if d[4] == 0x0a {
        let body = &d[5..d.len().min(4 + len)];
        if let Some(nul) = body.iter().position(|&b| b == 0) {
            return nul >= 1 && body[..nul].iter().all(|b| b.is_ascii_graphic() || *b == b' ');
        }
    }
    false
}

/// Probe: an ERR packet sent instead of a greeting (1040, 1129, 1130 ...).
fn looks_like_greeting_error(d: &[u8]) -> bool {
    d.len() >= 9 && d[3] == 0 && d[4] == 0xff && u32::from_le_bytes([d[0], d[1], d[2], 0]) as usize == d.len() - 4
}

/// Probe: a whole client command with printable SQL (for mid-stream pickup on unknown ports).
fn looks_like_command(d: &[u8]) -> bool {
    if !crate::session::plausible_command(d) {
        return false;
    }
    let len = u32::from_le_bytes([d[0], d[1], d[2], 0]) as usize;
    let whole = len + 4 <= d.len();
    match d[4] {
        // a query may span segments: 16 printable bytes of SQL are evidence enough
        0x03 | 0x16 => {
            let sql = &d[5..d.len().min(4 + len)];
            (whole || sql.len() >= 16)
                && !sql.is_empty()
                && sql.iter().take(64).all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace() || *b >= 0x80)
        }
        _ if !whole => false,
        0x0e | 0x01 | 0x09 => len == 1,
        0x17 | 0x19 => len >= 5,
        _ => false,
    }
}

struct Sink<'a> {
    kind: &'a mut Kind,
    session: &'a mut Option<Box<Session>>,
    halves_syn: [bool; 2],
    limits: &'a Limits,
    became_mysql: bool,
}

impl StreamSink for Sink<'_> {
    fn on_event(&mut self, side: usize, ts: Timestamp, ev: StreamEvent<'_>) {
        if let Kind::Unknown(n) = *self.kind {
            match &ev {
                StreamEvent::Data(d) => {
                    if looks_like_greeting(d) || looks_like_greeting_error(d) {
                        *self.kind = Kind::Mysql { server_side: side };
                    } else if looks_like_command(d) {
                        *self.kind = Kind::Mysql { server_side: 1 - side };
                    } else if n + 1 >= PROBE_EVENTS {
                        *self.kind = Kind::NotMysql;
                    } else {
                        *self.kind = Kind::Unknown(n + 1);
                    }
                }
                _ => return,
            }
            if let Kind::Mysql { server_side } = *self.kind {
                let greeting = matches!(&ev, StreamEvent::Data(d) if looks_like_greeting(d) || looks_like_greeting_error(d));
                let mid = !(self.halves_syn[0] && self.halves_syn[1] && greeting);
                let _ = server_side;
                *self.session = Some(Box::new(Session::new(self.limits.clone(), mid)));
                self.became_mysql = true;
            }
        }
        let Kind::Mysql { server_side } = *self.kind else { return };
        let Some(s) = self.session.as_mut() else { return };
        let dir = if side == server_side { Dir::ToClient } else { Dir::ToServer };
        match ev {
            StreamEvent::Data(d) => s.on_data(dir, ts, d),
            StreamEvent::Gap(n) => s.on_gap(dir, ts, n),
            StreamEvent::Fin => s.on_fin(dir, ts),
            StreamEvent::Rst => s.on_rst(dir, ts),
        }
    }
}

/// Frames in, finished connections out.
pub struct Pipeline {
    limits: Limits,
    server_ports: Vec<u16>,
    index: FxHashMap<(SocketAddr, SocketAddr), usize>,
    slab: Vec<Option<Flow>>,
    free: Vec<usize>,
    next_id: u64,
    last_sweep: Timestamp,
    /// Last packet time seen.
    pub now: Timestamp,
    /// Decode counters.
    pub decode: DecodeStats,
    /// Flow-table counters.
    pub flows: FlowStats,
    /// Connections that ended, in the order they ended; drained by the caller.
    pub finished: Vec<FinishedConn>,
    /// KILL statements seen since the caller last drained them.
    pub kills: Vec<KillEvent>,
    /// Sharded only: ids of flows created since the last drain. A sharded
    /// pipeline names each flow by the index of its first frame in the capture
    /// (unique across shards); the merger renumbers them in that order.
    pub new_flows: Vec<u64>,
    /// Sharded only: ids of flows that ended without a connection record
    /// (not MySQL), so the merger can forget them.
    pub retired: Vec<u64>,
    shard: Option<Shard>,
    /// Frames pushed so far (the index of the next frame).
    frame_no: u64,
}

impl Pipeline {
    /// A pipeline treating `server_ports` as MySQL (others are recognised by shape).
    pub fn new(limits: Limits, server_ports: Vec<u16>) -> Self {
        Pipeline {
            limits,
            server_ports,
            index: FxHashMap::default(),
            slab: Vec::new(),
            free: Vec::new(),
            next_id: 0,
            last_sweep: Timestamp(i64::MIN),
            now: Timestamp(0),
            decode: DecodeStats::default(),
            flows: FlowStats::default(),
            finished: Vec::new(),
            kills: Vec::new(),
            new_flows: Vec::new(),
            retired: Vec::new(),
            shard: None,
            frame_no: 0,
        }
    }

    /// Frames pushed so far (in a sharded pipeline, also the id its next new flow gets).
    pub fn frames(&self) -> u64 {
        self.frame_no
    }

    /// Makes this pipeline own only the flows of `shard` (see [`Shard`]); the
    /// flow-table cap is split evenly between the shards.
    pub fn sharded(mut self, shard: Shard) -> Self {
        if shard.count > 1 {
            self.limits.max_flows = self.limits.max_flows.div_ceil(shard.count as usize).max(1);
            self.shard = Some(shard);
        }
        self
    }

    /// Processes one captured frame.
    pub fn push(&mut self, frame: &Frame<'_>) {
        if frame.ts > self.now {
            self.now = frame.ts;
        }
        match self.shard {
            None => {
                if let Some(seg) = decode(frame, &mut self.decode) {
                    self.segment(frame.ts, &seg);
                }
            }
            // Sharded: each frame is decoded and counted once, by its flow's shard
            // (the merger adds the counters up). The commonest shape is read once,
            // by the fast decoder; others are first matched by address.
            Some(sh) => {
                let mine = |a, b| Shard::of(a, b, sh.count) == sh.index;
                if let Some(seg) = fast_ipv4_tcp(frame) {
                    if mine(seg.src, seg.dst) {
                        self.decode.count_segment(&seg);
                        self.segment(frame.ts, &seg);
                    }
                } else {
                    match quick_addrs(frame) {
                        Some((a, b)) if !mine(a, b) => {}
                        Some(_) => {
                            if let Some(seg) = decode_full(frame, &mut self.decode) {
                                self.segment(frame.ts, &seg);
                            }
                        }
                        None => {
                            // an unusual frame may be anyone's: all decode it, the first shard counts it
                            let mut scratch = DecodeStats::default();
                            let stats = if sh.index == 0 { &mut self.decode } else { &mut scratch };
                            if let Some(seg) = decode_full(frame, stats)
                                && mine(seg.src, seg.dst)
                            {
                                self.segment(frame.ts, &seg);
                            }
                        }
                    }
                }
            }
        }
        self.frame_no += 1;
        if self.now.0.saturating_sub(self.last_sweep.0) >= SWEEP_NS {
            self.last_sweep = self.now;
            self.sweep(false);
        }
    }

    fn key(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
        if a <= b { (a, b) } else { (b, a) }
    }

    fn new_flow(&mut self, ts: Timestamp, seg: &TcpSegment<'_>) -> usize {
        if self.index.len() >= self.limits.max_flows {
            // evict the idlest flow
            if let Some(idx) =
                self.slab.iter().enumerate().filter_map(|(i, f)| f.as_ref().map(|f| (i, f.last_ts))).min_by_key(|(_, t)| *t).map(|(i, _)| i)
            {
                self.flows.evicted_cap += 1;
                self.finish(idx, true);
            }
        }
        // The sender of a pure SYN is the client; a SYN-ACK's sender is the server.
        let (a, b) = if seg.flags.syn && seg.flags.ack { (seg.dst, seg.src) } else { (seg.src, seg.dst) };
        let kind = if self.server_ports.contains(&b.port()) {
            Kind::Mysql { server_side: 1 }
        } else if self.server_ports.contains(&a.port()) {
            Kind::Mysql { server_side: 0 }
        } else {
            Kind::Unknown(0)
        };
        let id = if self.shard.is_some() {
            self.new_flows.push(self.frame_no);
            self.frame_no
        } else {
            self.next_id
        };
        let flow = Flow {
            id,
            ends: [a, b],
            halves: [HalfStream::default(), HalfStream::default()],
            kind,
            session: None,
            start_ts: ts,
            last_ts: ts,
            closing_since: None,
            kills_seen: 0,
            hist: [0; 16],
            hist_len: 0,
            limits: self.limits.clone(),
        };
        self.next_id += 1;
        self.flows.tcp_connections += 1;
        let idx = if let Some(i) = self.free.pop() {
            self.slab[i] = Some(flow);
            i
        } else {
            self.slab.push(Some(flow));
            self.slab.len() - 1
        };
        self.index.insert(Self::key(a, b), idx);
        idx
    }

    fn segment(&mut self, ts: Timestamp, seg: &TcpSegment<'_>) {
        let key = Self::key(seg.src, seg.dst);
        let mut idx = match self.index.get(&key) {
            Some(&i) => i,
            None => self.new_flow(ts, seg),
        };
        // Port reuse: a fresh SYN on a closed (or closing) flow starts a new connection.
        if seg.flags.syn && !seg.flags.ack {
            let reuse = self.slab[idx].as_ref().is_some_and(|f| {
                f.closing_since.is_some() || f.halves[0].isn.is_some_and(|isn| isn != seg.seq) && f.halves[0].stats.bytes > 0
            });
            if reuse {
                self.finish(idx, false);
                idx = self.new_flow(ts, seg);
            }
        }
        let max_ooo = self.limits.max_ooo_bytes;
        let Some(flow) = self.slab[idx].as_mut() else { return };
        if flow.kind == Kind::Reported {
            self.flows.late_segments += 1;
            return;
        }
        flow.last_ts = ts;
        let side = if seg.src == flow.ends[0] { 0 } else { 1 };
        if seg.flags.syn {
            flow.hist(side, if seg.flags.ack { b'H' } else { b'S' });
        }
        if !seg.payload.is_empty() || seg.missing > 0 {
            flow.hist(side, b'D');
        }
        if seg.flags.fin {
            flow.hist(side, b'F');
        }
        if seg.flags.rst {
            flow.hist(side, b'R');
        }
        if flow.kind == Kind::NotMysql {
            return;
        }
        let syns = [flow.halves[0].syn_seen, flow.halves[1].syn_seen];
        let mut sink =
            Sink { kind: &mut flow.kind, session: &mut flow.session, halves_syn: syns, limits: &flow.limits, became_mysql: false };
        if let Kind::Mysql { .. } = *sink.kind
            && sink.session.is_none()
        {
            let mid = !(seg.flags.syn || syns[0]);
            *sink.session = Some(Box::new(Session::new(flow.limits.clone(), mid)));
            sink.became_mysql = true;
        }
        if seg.flags.ack {
            // before this segment's data: bytes the peer acknowledged come first
            flow.halves[1 - side].note_ack(seg.ack, ts, 1 - side, &mut sink);
        }
        flow.halves[side].on_segment(
            seg.seq,
            seg.flags.syn,
            seg.flags.fin,
            seg.flags.rst,
            seg.window,
            seg.payload,
            seg.missing,
            ts,
            max_ooo,
            side,
            &mut sink,
        );
        if sink.became_mysql {
            self.flows.mysql_connections += 1;
        }
        flow.report_kills(&mut self.kills);
        if flow.kind == Kind::NotMysql {
            self.flows.other_connections += 1;
            flow.session = None;
            flow.halves = [HalfStream::default(), HalfStream::default()];
        }
        let h = &flow.halves;
        if flow.closing_since.is_none() && (h[0].rst_seen || h[1].rst_seen || (h[0].fin_seen && h[1].fin_seen)) {
            flow.closing_since = Some(ts);
            if let Some(s) = flow.session.as_mut() {
                s.shrink();
            }
        }
        // Both FINs delivered and acknowledged, no RST: nothing new can come. Report
        // the connection now rather than after the linger (a busy server closes
        // thousands a second, and each would be held for 5 s); a small tombstone
        // absorbs late duplicates until then.
        let h = &flow.halves;
        if h[0].fin_acked() && h[1].fin_acked() && !h[0].rst_seen && !h[1].rst_seen && matches!(flow.kind, Kind::Mysql { .. }) {
            self.report_closed(idx);
        }
    }

    fn sweep(&mut self, _final: bool) {
        let now = self.now;
        let idle_ns = (self.limits.idle_timeout_secs as i64).saturating_mul(1_000_000_000);
        for i in 0..self.slab.len() {
            let Some(f) = self.slab[i].as_ref() else { continue };
            if f.closing_since.is_some_and(|c| now.0.saturating_sub(c.0) >= LINGER_NS) {
                self.finish(i, false);
            } else if now.0.saturating_sub(f.last_ts.0) >= idle_ns {
                if f.kind != Kind::NotMysql && f.closing_since.is_none() {
                    self.flows.evicted_idle += 1;
                }
                self.finish(i, true);
            }
        }
    }

    /// Copies of the MySQL connections still open, as if the capture ended now
    /// (for live views); at most `max` of them.
    pub fn open_conns(&self, max: usize) -> Vec<FinishedConn> {
        let mut out = Vec::new();
        for f in self.slab.iter().flatten() {
            if out.len() >= max {
                break;
            }
            let (Kind::Mysql { server_side }, Some(s)) = (f.kind, f.session.as_ref()) else { continue };
            let mut s = s.clone();
            s.finish(true);
            out.push(f.finished(server_side, s.st));
        }
        out
    }

    /// MySQL state of the connections still open, by connection id.
    pub fn live_states(&self) -> Vec<(u64, &State)> {
        self.slab.iter().flatten().filter_map(|f| f.session.as_ref().map(|s| (f.id, &s.st))).collect()
    }

    /// Ends every connection (end of capture); open ones are marked so.
    pub fn finish_all(&mut self) {
        for i in 0..self.slab.len() {
            if self.slab[i].is_some() {
                self.finish(i, false);
            }
        }
    }

    /// Reports a cleanly closed connection now and leaves a tombstone in its
    /// slot until the linger ends.
    fn report_closed(&mut self, idx: usize) {
        let Some(flow) = self.slab[idx].as_ref() else { return };
        let tomb = Flow {
            id: flow.id,
            ends: flow.ends,
            halves: [HalfStream::default(), HalfStream::default()],
            kind: Kind::Reported,
            session: None,
            start_ts: flow.start_ts,
            last_ts: flow.last_ts,
            closing_since: flow.closing_since,
            kills_seen: 0,
            hist: [0; 16],
            hist_len: 0,
            limits: flow.limits.clone(),
        };
        self.finish(idx, false);
        // the tombstone takes back the slot finish() just freed
        let reclaimed = self.free.pop();
        debug_assert_eq!(reclaimed, Some(idx));
        self.index.insert(Self::key(tomb.ends[0], tomb.ends[1]), idx);
        self.slab[idx] = Some(tomb);
    }

    fn finish(&mut self, idx: usize, evicted: bool) {
        let Some(mut flow) = self.slab[idx].take() else { return };
        self.free.push(idx);
        self.index.remove(&Self::key(flow.ends[0], flow.ends[1]));
        let Kind::Mysql { server_side } = flow.kind else {
            if self.shard.is_some() && flow.kind != Kind::Reported {
                self.retired.push(flow.id);
            }
            return;
        };
        let ts = flow.last_ts;
        {
            let syns = [flow.halves[0].syn_seen, flow.halves[1].syn_seen];
            let mut sink =
                Sink { kind: &mut flow.kind, session: &mut flow.session, halves_syn: syns, limits: &flow.limits, became_mysql: false };
            for side in 0..2 {
                flow.halves[side].flush(ts, side, &mut sink);
            }
        }
        flow.report_kills(&mut self.kills);
        let Some(mut session) = flow.session.take() else {
            if self.shard.is_some() {
                self.retired.push(flow.id);
            }
            return;
        };
        let open = flow.closing_since.is_none() && !evicted;
        session.finish(open);
        session.st.end.evicted = evicted;
        self.finished.push(flow.finished(server_side, session.st));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_symmetric_and_spread_sequential_client_ports() {
        let server: SocketAddr = "10.0.0.1:3306".parse().unwrap();
        for count in [2u32, 3, 8] {
            let mut per = vec![0u32; count as usize];
            for port in 40_000..41_000u16 {
                let client = SocketAddr::from(([10, 0, 0, 2], port));
                let s = Shard::of(client, server, count);
                assert_eq!(s, Shard::of(server, client, count), "both directions of a flow go to one shard");
                per[s as usize] += 1;
            }
            let fair = 1000 / count;
            assert!(per.iter().all(|&n| n > fair * 8 / 10 && n < fair * 12 / 10), "{count} shards: {per:?}");
        }
    }
}
