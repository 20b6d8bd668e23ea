//! The flow table: one [`Flow`] per TCP connection (both directions), found
//! by its address pair, with an idle order for eviction, and the Zeek-style
//! TCP history of each connection.
//!
//! The table is bounded by `Limits::max_flows`; when full, the idlest flow
//! (least recent packet time, then the lowest slot) is evicted in O(log n)
//! amortised time ([`FlowTable::idlest`]), and counted in [`FlowStats`].

mod conn;
mod history;
mod table;

pub use conn::{Flow, FlowKind};
pub use history::History;
pub use table::FlowTable;

use serde::Serialize;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

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
    /// Connections that were not MySQL, by server port (the SYN's target, or
    /// the lower port when no SYN was seen); bounded by
    /// [`crate::config::flow::MAX_OTHER_PORTS`]. Not serialised: it feeds the
    /// "no MySQL traffic found" finding.
    #[serde(skip)]
    pub other_ports: BTreeMap<u16, PortTally>,
    /// Non-MySQL connections on ports past the tally's cap.
    #[serde(skip)]
    pub other_ports_not_tallied: u64,
}

/// Non-MySQL traffic on one server port.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PortTally {
    /// Connections.
    pub connections: u64,
    /// TCP payload bytes, both directions.
    pub bytes: u64,
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
        for (port, t) in &o.other_ports {
            self.tally_other(*port, *t);
        }
        self.other_ports_not_tallied += o.other_ports_not_tallied;
    }

    /// Counts a non-MySQL connection on `port`.
    pub fn tally_other(&mut self, port: u16, t: PortTally) {
        let n = self.other_ports.len();
        match self.other_ports.entry(port) {
            Entry::Occupied(mut e) => {
                let e = e.get_mut();
                e.connections += t.connections;
                e.bytes += t.bytes;
            }
            Entry::Vacant(e) if n < crate::config::flow::MAX_OTHER_PORTS => {
                e.insert(t);
            }
            Entry::Vacant(_) => self.other_ports_not_tallied += t.connections,
        }
    }

    /// The busiest non-MySQL server ports by bytes (then connections), at most `n`.
    pub fn busiest_other_ports(&self, n: usize) -> Vec<(u16, PortTally)> {
        let mut v: Vec<(u16, PortTally)> = self.other_ports.iter().map(|(p, t)| (*p, *t)).collect();
        v.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then(b.1.connections.cmp(&a.1.connections)).then(a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }
}
