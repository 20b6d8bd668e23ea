//! One TCP connection: its endpoints, both reassembly halves, whether it is
//! MySQL, its session, and its TCP history.

use super::History;
use crate::model::{ConnSummary, FinishedConn, KillEvent, TcpInfo};
use crate::reassembly::HalfStream;
use crate::session::Session;
use crate::time::Timestamp;
use std::net::SocketAddr;

/// What a flow is known to carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowKind {
    /// Not decided yet: this many data events were inspected.
    Unknown(u32),
    /// MySQL, with `server_side` naming the server's half.
    Mysql {
        /// 0 or 1: which of [`Flow::ends`] is the server.
        server_side: usize,
    },
    /// Not MySQL (ignored from now on).
    NotMysql,
    /// Closed cleanly and already reported; kept only until the linger ends so
    /// late duplicates do not start a phantom connection.
    Reported,
}

/// One TCP connection in the flow table.
pub struct Flow {
    /// Connection id (order of first packet; in a sharded pipeline, the index
    /// of the first frame, renumbered by the merger).
    pub id: u64,
    /// The two endpoints; `ends[0]` sent the first packet seen (or the SYN).
    pub ends: [SocketAddr; 2],
    /// Reassembly per direction, indexed like `ends` (by sender).
    pub halves: [HalfStream; 2],
    /// What it carries.
    pub kind: FlowKind,
    /// The MySQL session, once recognised. Boxed: a flow without one (not
    /// MySQL, or a tombstone) stays small.
    pub session: Option<Box<Session>>,
    /// First packet.
    pub start_ts: Timestamp,
    /// Last packet.
    pub last_ts: Timestamp,
    /// When both FINs or a RST were first seen.
    pub closing_since: Option<Timestamp>,
    /// TCP history letters.
    pub hist: History,
    /// TCP payload bytes seen, both directions (for the non-MySQL port tally).
    pub wire_bytes: u64,
    /// MySQL by its port only, not yet confirmed by its first data: with the
    /// connection's start captured, the first bytes decide (a greeting from
    /// the other end reverses the roles; bytes with no MySQL shape make it
    /// not MySQL).
    pub by_port: bool,
}

impl Flow {
    /// A new flow between `ends` first seen at `ts`.
    pub fn new(id: u64, ends: [SocketAddr; 2], kind: FlowKind, ts: Timestamp) -> Self {
        Flow {
            id,
            ends,
            halves: [HalfStream::default(), HalfStream::default()],
            kind,
            session: None,
            start_ts: ts,
            last_ts: ts,
            closing_since: None,
            hist: History::default(),
            wire_bytes: 0,
            by_port: false,
        }
    }

    /// A small stand-in for a flow already reported, absorbing late segments.
    pub fn tombstone(&self) -> Self {
        Flow {
            closing_since: self.closing_since,
            last_ts: self.last_ts,
            ..Flow::new(self.id, self.ends, FlowKind::Reported, self.start_ts)
        }
    }

    /// Queues the KILLs its session recorded since the last call.
    pub fn report_kills(&mut self, out: &mut Vec<KillEvent>) {
        let id = self.id;
        if let Some(s) = self.session.as_mut() {
            s.take_kills(|k| out.push(KillEvent { by_conn: id, ts: k.ts, target: k.target.id, query_only: k.target.query_only }));
        }
    }

    /// The connection record for `summary`, with `server_side` naming the server's half.
    pub fn finished(&self, server_side: usize, summary: ConnSummary) -> FinishedConn {
        FinishedConn {
            id: self.id,
            client: self.ends[1 - server_side],
            server: self.ends[server_side],
            start_ts: self.start_ts,
            end_ts: self.last_ts,
            tcp: self.tcp_info(server_side),
            summary,
        }
    }

    /// Zeek-like TCP accounting, with `server_side` naming which half is the server.
    pub fn tcp_info(&self, server_side: usize) -> TcpInfo {
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
        tcp.history = self.hist.render(client_side, tcp.gaps > 0);
        tcp
    }
}
