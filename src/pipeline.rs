//! The pipeline minus I/O: frames in, finished connections out.
//!
//! decode -> flow table ([`crate::flow`]) -> per-direction reassembly ->
//! MySQL recognition ([`crate::mysql::probe`]) -> [`Session`]. What happens is
//! queued as [`Events`] (connections that ended, KILLs seen, and for a
//! sharded pipeline the flows it created and retired), taken by the caller
//! after each frame with [`Pipeline::take_events`], so reports can stream.

use crate::capture::Frame;
use crate::config::Limits;
use crate::config::flow::{LINGER_NS, PROBE_EVENTS, SWEEP_NS};
use crate::decode::{DecodeStats, TcpSegment, decode, quick_addrs};
use crate::flow::{Flow, FlowKind, FlowStats, FlowTable, PortTally};
use crate::model::{Dir, FinishedConn, KillEvent};
use crate::mysql::probe::{self, Probe};
use crate::reassembly::{HalfStream, StreamEvent, StreamSink};
use crate::session::Session;
use crate::time::Timestamp;
use std::net::SocketAddr;

/// Which slice of the flows a [`Pipeline`] owns when several threads share one
/// capture: every pipeline reads every frame (so packet time and sweeps
/// agree), but only flows whose address-pair hash maps to `index` are decoded,
/// reassembled and analysed (and their frames counted).
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
        let x = rustc_hash::FxBuildHasher.hash_one(FlowTable::key(a, b));
        let x = (x ^ (x >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        ((x >> 32) % u64::from(count.max(1))) as u32
    }

    fn owns(self, a: SocketAddr, b: SocketAddr) -> bool {
        Shard::of(a, b, self.count) == self.index
    }
}

/// What happened since the caller last took the events.
#[derive(Debug, Default)]
pub struct Events {
    /// Connections that ended, in the order they ended.
    pub finished: Vec<FinishedConn>,
    /// KILL statements seen.
    pub kills: Vec<KillEvent>,
    /// Sharded only: ids of flows created. A sharded pipeline names each flow
    /// by the index of its first frame in the capture (unique across shards);
    /// the merger renumbers them in that order.
    pub new_flows: Vec<u64>,
    /// Sharded only: ids of flows that ended without a connection record
    /// (not MySQL), so the merger can forget them.
    pub retired: Vec<u64>,
}

impl Events {
    /// True when nothing happened.
    pub fn is_empty(&self) -> bool {
        self.finished.is_empty() && self.kills.is_empty() && self.new_flows.is_empty() && self.retired.is_empty()
    }
}

/// Feeds a flow's reassembled events to its session, recognising MySQL on the way.
struct Sink<'a> {
    kind: &'a mut FlowKind,
    session: &'a mut Option<Box<Session>>,
    by_port: &'a mut bool,
    halves_syn: [bool; 2],
    limits: &'a Limits,
    became_mysql: bool,
    /// A flow taken as MySQL by its port turned out not to be.
    demoted: bool,
}

impl Sink<'_> {
    fn new<'a>(
        kind: &'a mut FlowKind,
        session: &'a mut Option<Box<Session>>,
        by_port: &'a mut bool,
        halves: &[HalfStream; 2],
        limits: &'a Limits,
    ) -> Sink<'a> {
        let halves_syn = [halves[0].syn_seen, halves[1].syn_seen];
        Sink { kind, session, by_port, halves_syn, limits, became_mysql: false, demoted: false }
    }

    /// Classifies a flow on an unknown port from its first data events.
    fn recognise(&mut self, side: usize, d: &[u8], seen: u32) {
        let greeting = probe::greeting(d).yes() || probe::greeting_error(d).yes();
        *self.kind = if greeting {
            FlowKind::Mysql { server_side: side }
        } else if probe::command(d).yes() {
            FlowKind::Mysql { server_side: 1 - side }
        } else if seen + 1 >= PROBE_EVENTS {
            FlowKind::NotMysql
        } else {
            FlowKind::Unknown(seen + 1)
        };
        if let FlowKind::Mysql { .. } = *self.kind {
            let opened = self.halves_syn[0] && self.halves_syn[1];
            let mut session = Session::new(self.limits.clone(), !(opened && greeting));
            if opened && !greeting {
                // the connection's start is captured; only its handshake is not
                session.handshake_missed();
            }
            *self.session = Some(Box::new(session));
            self.became_mysql = true;
        }
    }

    /// The first data of a flow taken as MySQL by its port, whose start was
    /// captured: the server speaks first in MySQL, so a greeting names the
    /// server (whatever the ports say), and a client speaking first must send
    /// a login (its greeting was lost) or a command; anything else is not MySQL.
    fn confirm_port(&mut self, side: usize, d: &[u8]) {
        let FlowKind::Mysql { server_side } = *self.kind else { return };
        let greeting = probe::greeting(d);
        if greeting.yes() || probe::greeting_error(d).yes() {
            *self.by_port = false;
            // the shape outranks the port: the greeting's sender is the server
            *self.kind = FlowKind::Mysql { server_side: side };
            return;
        }
        if side == server_side {
            *self.by_port = false;
            return;
        }
        let (login, command) = (probe::login_request(d), probe::command(d));
        if login == Probe::NeedMore || command == Probe::NeedMore || greeting == Probe::NeedMore {
            return; // decide on more bytes
        }
        *self.by_port = false;
        if !login.yes() && !command.yes() {
            *self.kind = FlowKind::NotMysql;
            *self.session = None;
            self.demoted = true;
        }
    }
}

impl StreamSink for Sink<'_> {
    fn on_event(&mut self, side: usize, ts: Timestamp, ev: StreamEvent<'_>) {
        if let FlowKind::Unknown(n) = *self.kind {
            let StreamEvent::Data(d) = &ev else { return };
            self.recognise(side, d, n);
        } else if *self.by_port {
            match &ev {
                StreamEvent::Data(d) if self.halves_syn[0] && self.halves_syn[1] => self.confirm_port(side, d),
                // a gap or a mid-stream start: the port is all there is to go by
                _ => *self.by_port = false,
            }
        }
        let FlowKind::Mysql { server_side } = *self.kind else { return };
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
    table: FlowTable,
    next_id: u64,
    last_sweep: Timestamp,
    now: Timestamp,
    decode: DecodeStats,
    flows: FlowStats,
    events: Events,
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
            table: FlowTable::default(),
            next_id: 0,
            last_sweep: Timestamp(i64::MIN),
            now: Timestamp(0),
            decode: DecodeStats::default(),
            flows: FlowStats::default(),
            events: Events::default(),
            shard: None,
            frame_no: 0,
        }
    }

    /// Frames pushed so far (in a sharded pipeline, also the id its next new flow gets).
    pub fn frames(&self) -> u64 {
        self.frame_no
    }

    /// Decode counters.
    pub fn decode_stats(&self) -> &DecodeStats {
        &self.decode
    }

    /// Flow-table counters.
    pub fn flow_stats(&self) -> &FlowStats {
        &self.flows
    }

    /// True when events are waiting to be taken.
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// What happened since the last call.
    pub fn take_events(&mut self) -> Events {
        std::mem::take(&mut self.events)
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
            // (the merger adds the counters up); frames of other shards' flows are
            // skipped on their addresses, read at fixed offsets.
            Some(sh) => match quick_addrs(frame) {
                Some((a, b)) if !sh.owns(a, b) => {}
                Some(_) => {
                    if let Some(seg) = decode(frame, &mut self.decode) {
                        self.segment(frame.ts, &seg);
                    }
                }
                None => {
                    // an unusual frame may be anyone's: all decode it, the first shard counts it
                    let mut scratch = DecodeStats::default();
                    let stats = if sh.index == 0 { &mut self.decode } else { &mut scratch };
                    if let Some(seg) = decode(frame, stats)
                        && sh.owns(seg.src, seg.dst)
                    {
                        self.segment(frame.ts, &seg);
                    }
                }
            },
        }
        self.frame_no += 1;
        if self.now.0.saturating_sub(self.last_sweep.0) >= SWEEP_NS {
            self.last_sweep = self.now;
            self.sweep();
        }
    }

    fn new_flow(&mut self, ts: Timestamp, seg: &TcpSegment<'_>) -> usize {
        if self.table.len() >= self.limits.max_flows
            && let Some(idx) = self.table.idlest()
        {
            self.flows.evicted_cap += 1;
            self.finish(idx, true);
        }
        // The sender of a pure SYN is the client; a SYN-ACK's sender is the server.
        let (a, b) = if seg.flags.syn && seg.flags.ack { (seg.dst, seg.src) } else { (seg.src, seg.dst) };
        let kind = if self.server_ports.contains(&b.port()) {
            FlowKind::Mysql { server_side: 1 }
        } else if self.server_ports.contains(&a.port()) {
            FlowKind::Mysql { server_side: 0 }
        } else {
            FlowKind::Unknown(0)
        };
        let id = if self.shard.is_some() {
            self.events.new_flows.push(self.frame_no);
            self.frame_no
        } else {
            self.next_id
        };
        self.next_id += 1;
        self.flows.tcp_connections += 1;
        let mut flow = Flow::new(id, [a, b], kind, ts);
        flow.by_port = matches!(kind, FlowKind::Mysql { .. });
        self.table.insert(flow)
    }

    fn segment(&mut self, ts: Timestamp, seg: &TcpSegment<'_>) {
        let mut idx = match self.table.find(seg.src, seg.dst) {
            Some(i) => i,
            None => self.new_flow(ts, seg),
        };
        // Port reuse: a fresh SYN on a closed (or closing) flow starts a new connection.
        if seg.flags.syn && !seg.flags.ack {
            let reuse = self.table.get(idx).is_some_and(|f| {
                f.closing_since.is_some() || f.halves[0].isn.is_some_and(|isn| isn != seg.seq) && f.halves[0].stats.bytes > 0
            });
            if reuse {
                self.finish(idx, false);
                idx = self.new_flow(ts, seg);
            }
        }
        let max_ooo = self.limits.max_ooo_bytes;
        let Some(flow) = self.table.get_mut(idx) else { return };
        if flow.kind == FlowKind::Reported {
            self.flows.late_segments += 1;
            return;
        }
        flow.last_ts = ts;
        flow.wire_bytes += seg.payload.len() as u64;
        let side = if seg.src == flow.ends[0] { 0 } else { 1 };
        if seg.flags.syn {
            flow.hist.push(side, if seg.flags.ack { b'H' } else { b'S' });
        }
        if !seg.payload.is_empty() || seg.missing > 0 {
            flow.hist.push(side, b'D');
        }
        if seg.flags.fin {
            flow.hist.push(side, b'F');
        }
        if seg.flags.rst {
            flow.hist.push(side, b'R');
        }
        if flow.kind == FlowKind::NotMysql {
            return;
        }
        let syn0 = flow.halves[0].syn_seen;
        let mut sink = Sink::new(&mut flow.kind, &mut flow.session, &mut flow.by_port, &flow.halves, &self.limits);
        if let FlowKind::Mysql { .. } = *sink.kind
            && sink.session.is_none()
        {
            let mid = !(seg.flags.syn || syn0);
            *sink.session = Some(Box::new(Session::new(self.limits.clone(), mid)));
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
        if sink.demoted {
            self.flows.mysql_connections -= 1;
        }
        flow.report_kills(&mut self.events.kills);
        if flow.kind == FlowKind::NotMysql {
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
        if h[0].fin_acked() && h[1].fin_acked() && !h[0].rst_seen && !h[1].rst_seen && matches!(flow.kind, FlowKind::Mysql { .. }) {
            self.report_closed(idx);
        }
    }

    fn sweep(&mut self) {
        let now = self.now;
        let idle_ns = (self.limits.idle_timeout_secs as i64).saturating_mul(1_000_000_000);
        for i in self.table.slots() {
            let Some(f) = self.table.get(i) else { continue };
            if f.closing_since.is_some_and(|c| now.0.saturating_sub(c.0) >= LINGER_NS) {
                self.finish(i, false);
            } else if now.0.saturating_sub(f.last_ts.0) >= idle_ns {
                if f.kind != FlowKind::NotMysql && f.closing_since.is_none() {
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
        for f in self.table.iter() {
            if out.len() >= max {
                break;
            }
            let (FlowKind::Mysql { server_side }, Some(s)) = (f.kind, f.session.as_ref()) else { continue };
            let mut s = (**s).clone();
            s.finish(true);
            out.push(f.finished(server_side, s.into_summary()));
        }
        out
    }

    /// Ends every connection (end of capture); open ones are marked so.
    pub fn finish_all(&mut self) {
        for i in self.table.slots() {
            if self.table.get(i).is_some() {
                self.finish(i, false);
            }
        }
    }

    /// Reports a cleanly closed connection now and leaves a tombstone in its
    /// slot until the linger ends.
    fn report_closed(&mut self, idx: usize) {
        let Some(tomb) = self.table.get(idx).map(Flow::tombstone) else { return };
        self.finish(idx, false);
        // the tombstone takes back the slot finish() just freed
        self.table.put_back(idx, tomb);
    }

    fn finish(&mut self, idx: usize, evicted: bool) {
        let Some(mut flow) = self.table.take(idx) else { return };
        let FlowKind::Mysql { server_side } = flow.kind else {
            if flow.kind != FlowKind::Reported {
                let port = if flow.hist.saw(0, b'S') || flow.hist.saw(1, b'H') {
                    flow.ends[1].port()
                } else {
                    flow.ends[0].port().min(flow.ends[1].port())
                };
                self.flows.tally_other(port, PortTally { connections: 1, bytes: flow.wire_bytes });
                if self.shard.is_some() {
                    self.events.retired.push(flow.id);
                }
            }
            return;
        };
        let ts = flow.last_ts;
        {
            let mut sink = Sink::new(&mut flow.kind, &mut flow.session, &mut flow.by_port, &flow.halves, &self.limits);
            for (side, half) in flow.halves.iter_mut().enumerate() {
                half.flush(ts, side, &mut sink);
            }
        }
        flow.report_kills(&mut self.events.kills);
        let Some(mut session) = flow.session.take() else {
            if self.shard.is_some() {
                self.events.retired.push(flow.id);
            }
            return;
        };
        let open = flow.closing_since.is_none() && !evicted;
        session.finish(open);
        session.set_evicted(evicted);
        let fc = flow.finished(server_side, session.into_summary());
        self.events.finished.push(fc);
    }
}
