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
