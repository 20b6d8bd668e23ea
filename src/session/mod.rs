//! One MySQL connection: the protocol state machine over framed packets.
//!
//! - `mod.rs` (this file): the driver, [`Session`]. Byte-level I/O per
//!   direction: framers, decompressors for the compressed protocol, the
//!   switch to opaque TLS, gaps, FIN/RST, and the partial request the server
//!   answered early (the ERR 1153 case).
//! - `phase.rs`: the phases and the pure transition table.
//! - `state.rs`: the connection state and the handshake/auth handlers;
//!   `request.rs`: client commands; `exchange.rs`: the response sub-machine
//!   of the command in flight; `statements.rs`: prepared statements;
//!   `seq.rs`: sequence-id bookkeeping.
//!
//! Parsers stay pure in `crate::mysql`. Everything kept is owned and bounded
//! by `config::Limits`; anomalies become events, never `Err`. The analyser
//! gets an owned [`ConnSummary`] when the connection ends, and the KILLs it
//! sent as they happen ([`Session::take_kills`]), never this mutable state.

mod exchange;
mod phase;
mod request;
mod seq;
mod state;
mod statements;

pub use phase::{Phase, Step, route};
pub use state::{SentKill, State};

use crate::config::Limits;
use crate::model::{ConnSummary, Dir, EventKind};
use crate::mysql::compress::{Algorithm, Decompressor};
use crate::mysql::framing::{Control, Framer};
use crate::mysql::probe;
use crate::time::Timestamp;

/// `b` as text (invalid UTF-8 replaced), at most `cap` bytes; true when cut.
pub(crate) fn lossy(b: &[u8], cap: usize) -> (String, bool) {
    let cut = b.len() > cap;
    (String::from_utf8_lossy(&b[..b.len().min(cap)]).into_owned(), cut)
}

/// Where one inflated compressed-protocol frame sits in the inflate buffer.
#[derive(Clone, Copy, Debug)]
struct InflatedFrame {
    /// The compressed header's sequence id.
    seq: u8,
    /// Byte range in the buffer.
    start: usize,
    end: usize,
    /// The frame could not be inflated.
    bad: bool,
}

/// A MySQL connection: byte-level I/O (framers, decompressors) plus [`State`].
#[derive(Clone, Debug)]
pub struct Session {
    framers: [Framer; 2],
    decomp: [Option<Decompressor>; 2],
    inflated: Vec<u8>,
    frames: Vec<InflatedFrame>,
    partial_adopted: Option<Timestamp>,
    st: State,
}

impl Session {
    /// A new session; `mid_stream` when the handshake was not captured.
    pub fn new(limits: Limits, mid_stream: bool) -> Self {
        let cap = limits.max_buffered_packet;
        Session {
            framers: [Framer::new(cap), Framer::new(cap)],
            decomp: [None, None],
            inflated: Vec::new(),
            frames: Vec::new(),
            partial_adopted: None,
            st: State::new(limits, mid_stream),
        }
    }

    /// What the session has learned so far.
    pub fn summary(&self) -> &ConnSummary {
        &self.st.sum
    }

    /// The protocol phase.
    pub fn phase(&self) -> Phase {
        self.st.phase
    }

    /// Hands the KILLs sent since the last call to `f`.
    pub fn take_kills(&mut self, mut f: impl FnMut(SentKill)) {
        for k in self.st.kills.drain(..) {
            f(k);
        }
    }

    /// The summary, once the session is finished ([`Session::finish`]).
    pub fn into_summary(self) -> ConnSummary {
        self.st.sum
    }

    /// The connection's start was captured but its handshake was not seen (a
    /// lost greeting): not "mid-stream", but decoded from the next command on.
    pub fn handshake_missed(&mut self) {
        self.st.sum.mid_stream = false;
        self.st.sum.handshake_incomplete = true;
    }

    /// Marks the connection as evicted by the tracker.
    pub fn set_evicted(&mut self, evicted: bool) {
        self.st.sum.end.evicted = evicted;
    }

    /// Returns spare capacity to the allocator once the connection has closed
    /// and only lingers for late segments (nothing is discarded): thousands of
    /// connections closing per second all linger at once.
    pub fn shrink(&mut self) {
        for f in &mut self.framers {
            f.shrink();
        }
        self.inflated = Vec::new();
        self.frames = Vec::new();
        self.st.sum.commands.shrink_to_fit();
        self.st.stmts.shrink();
        self.st.pending.shrink_to_fit();
    }

    fn adopt_client_partial(&mut self) {
        if !self.st.pending.is_empty() {
            return;
        }
        if let Some(part) = self.framers[0].partial()
            && self.partial_adopted != Some(part.ts)
        {
            self.partial_adopted = Some(part.ts);
            self.st.adopt_partial(part);
        }
    }

    fn start_decompression(&mut self) {
        if let Some(a) = self.st.compression {
            for k in 0..2 {
                if self.decomp[k].is_none() {
                    self.decomp[k] = Some(Decompressor::new(a, self.st.limits.max_compressed_frame));
                }
            }
        }
    }

    /// Contiguous bytes of `dir`.
    pub fn on_data(&mut self, dir: Dir, ts: Timestamp, data: &[u8]) {
        if self.st.server_closed && dir == Dir::ToServer {
            self.st.sum.end.client_bytes_after_server_close += data.len() as u64;
        }
        if self.st.phase == Phase::Tls {
            self.note_tls(dir, data);
            *self.st.sum.bytes.get_mut(dir) += data.len() as u64;
            return;
        }
        if dir == Dir::ToClient {
            self.adopt_client_partial();
        }
        let d = dir.idx();
        // Picked up mid-stream: a client chunk that is a whole compressed frame holding a
        // command means the compressed protocol was negotiated before the capture began.
        if self.st.phase == Phase::Unsynced
            && dir == Dir::ToServer
            && self.st.compression.is_none()
            && self.framers[d].at_boundary()
            && !probe::command_header(data).yes()
            && probe::compressed_command(data).yes()
        {
            self.st.set_compression(Algorithm::Zlib);
            for k in 0..2 {
                self.framers[k].reset();
                self.decomp[k] = Some(Decompressor::new(Algorithm::Zlib, self.st.limits.max_compressed_frame));
            }
            self.st.event(ts, EventKind::Resync, Some(dir), "compressed protocol detected mid-stream".into());
        }
        if self.st.seq.gap_pending[d] && dir == Dir::ToServer && self.framers[d].at_boundary() && !probe::command_header(data).yes() {
            self.st.sum.skipped_bytes += data.len() as u64;
            return;
        }
        let mut rest = data;
        while !rest.is_empty() {
            if self.decomp[d].is_some() {
                self.inflate(dir, ts, rest);
                return;
            }
            let Session { framers, st, .. } = self;
            let used = framers[d].feed(rest, ts, &mut |p| st.on_packet(dir, p));
            rest = &rest[used..];
            if rest.is_empty() {
                break;
            }
            // The stream changed mode after the packet just handed out.
            if self.st.phase == Phase::Tls {
                self.note_tls(dir, rest);
                *self.st.sum.bytes.get_mut(dir) += rest.len() as u64;
                return;
            }
            self.start_decompression();
        }
        self.start_decompression();
    }

    /// Compressed protocol: inflates the frames in `data` and frames their content.
    fn inflate(&mut self, dir: Dir, ts: Timestamp, data: &[u8]) {
        let d = dir.idx();
        let Session { framers, decomp, st, inflated, frames, .. } = self;
        let (fr, Some(dc)) = (&mut framers[d], decomp[d].as_mut()) else { return };
        inflated.clear();
        frames.clear();
        dc.feed(data, &mut |f| {
            let start = inflated.len();
            inflated.extend_from_slice(f.data);
            frames.push(InflatedFrame { seq: f.seq, start, end: inflated.len(), bad: f.error.is_some() });
        });
        let buf = std::mem::take(inflated);
        for f in frames.iter() {
            if f.bad {
                st.event(ts, EventKind::Malformed, Some(dir), "undecodable compressed frame".into());
                fr.reset();
                continue;
            }
            // The server checks the compressed header's sequence id (and re-bases the
            // inner ids on it), so that is the one to verify: 0 at each new command.
            let new_command = dir == Dir::ToServer && st.pending.is_empty() && fr.at_boundary();
            // MySQL 8.0.24 puts a wrong sequence id in the compressed header of its
            // unasked ERR 4031 (bug 103412): not a client-visible protocol break
            let inner = &buf[f.start..f.end];
            let err_4031 =
                inner.len() >= 7 && inner[4] == 0xff && u16::from_le_bytes([inner[5], inner[6]]) == state::ER_CLIENT_INTERACTION_TIMEOUT;
            if !err_4031 {
                st.check_compressed_seq(f.seq, dir, new_command, ts);
            }
            fr.feed(&buf[f.start..f.end], ts, &mut |p| {
                st.on_packet(dir, p);
                Control::Continue
            });
        }
        *inflated = buf;
    }

    fn note_tls(&mut self, dir: Dir, data: &[u8]) {
        // ServerHello: record type 0x16, handshake type 2, legacy version at bytes 9..11.
        if dir == Dir::ToClient && self.st.sum.tls_version.is_none() && data.len() > 11 && data[0] == 0x16 && data[5] == 2 {
            let v = match (data[9], data[10]) {
                (3, 1) => "TLS 1.0",
                (3, 2) => "TLS 1.1",
                (3, 3) if data.windows(4).any(|w| w == [0x00, 0x2b, 0x00, 0x02]) => "TLS 1.3",
                (3, 3) => "TLS 1.2",
                _ => "TLS (unknown version)",
            };
            self.st.sum.tls_version = Some(v.into());
        }
    }

    /// `n` bytes of `dir` were never captured.
    pub fn on_gap(&mut self, dir: Dir, ts: Timestamp, n: u64) {
        let d = dir.idx();
        if dir == Dir::ToClient {
            self.adopt_client_partial();
        }
        self.framers[d].reset();
        if let Some(dc) = self.decomp[d].as_mut() {
            dc.reset();
        }
        self.st.seq.gap_pending[d] = true;
        self.st.event(ts, EventKind::Gap, Some(dir), format!("{n} bytes not captured; resynchronising"));
        // Exchanges in flight cannot be completed reliably.
        self.st.abandon_exchanges();
        match self.st.phase {
            Phase::Command => self.st.phase = Phase::Unsynced,
            Phase::AwaitGreeting | Phase::AwaitLogin | Phase::Auth => {
                self.st.handshake_lost(ts, format!("{n} bytes of the handshake not captured; resuming at the next command"))
            }
            _ => {}
        }
    }

    /// FIN from `dir`.
    pub fn on_fin(&mut self, dir: Dir, ts: Timestamp) {
        self.close_common(dir);
        let end = &mut self.st.sum.end;
        if end.first_fin.is_none() {
            end.first_fin = Some(dir);
            end.first_fin_ts = Some(ts);
        }
    }

    /// RST from `dir`.
    pub fn on_rst(&mut self, dir: Dir, ts: Timestamp) {
        self.close_common(dir);
        let end = &mut self.st.sum.end;
        if end.first_rst.is_none() {
            end.first_rst = Some(dir);
            end.first_rst_ts = Some(ts);
        }
    }

    fn close_common(&mut self, dir: Dir) {
        if dir == Dir::ToClient {
            self.st.server_closed = true;
        }
        self.adopt_client_partial();
        let e = &self.st.sum.end;
        if e.last_activity.is_none() || e.first_fin.is_none() && e.first_rst.is_none() {
            self.note_last_activity();
        }
    }

    fn note_last_activity(&mut self) {
        let pending = self.st.pending.front().map(|e| e.rec.index);
        let end = &mut self.st.sum.end;
        end.last_activity = self.st.last_packet_ts;
        end.pending_command = pending;
    }

    /// Ends the session (connection closed, evicted, or capture over).
    pub fn finish(&mut self, open_at_end: bool) {
        self.adopt_client_partial();
        if let Some(p) = self.framers[1].partial() {
            let command_index = self.st.pending.front().map(|e| e.rec.index);
            self.st.sum.server_partial =
                Some(crate::model::PartialPacket { ts: p.ts, declared: p.declared, received: p.received, command_index });
        }
        if self.st.sum.end.first_fin.is_none() && self.st.sum.end.first_rst.is_none() {
            self.note_last_activity();
        }
        self.st.sum.end.open_at_end = open_at_end;
        while let Some(ex) = self.st.pending.pop_front() {
            self.st.finish_exchange(ex);
        }
        // listed in the order they were sent (an unanswered one finishes last)
        self.st.sum.commands.sort_by_key(|c| c.index);
    }
}

#[cfg(test)]
mod tests;
