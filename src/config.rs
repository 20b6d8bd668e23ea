//! Every cap in one place (STYLE.md §3.4). Each limit, when hit, increments a
//! counter that reaches the report, so nothing is dropped silently.

/// Memory and work limits for one analysis run. Defaults are documented per field.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Connections tracked at once (default 65 536); past it the idlest is evicted.
    pub max_flows: usize,
    /// Packet-time idle timeout after which a connection is evicted (default 30 min).
    pub idle_timeout_secs: u64,
    /// Out-of-order bytes buffered per direction before a gap is declared (default 4 MiB).
    pub max_ooo_bytes: usize,
    /// Bytes of one logical MySQL packet kept for decoding (default 256 KiB); the rest
    /// is counted, not buffered, and the packet is marked truncated.
    pub max_buffered_packet: usize,
    /// Bytes of SQL text kept per command (default 4 KiB).
    pub max_query_bytes: usize,
    /// Commands kept per connection in reports (default 200); commands with an
    /// error or a finding are always kept.
    pub max_commands_per_conn: usize,
    /// Flagged commands (error, sequence anomaly, big or cut-off request) kept per
    /// connection beyond the regular cap (default 1 000); past it they are counted
    /// (errors by code included), not kept. An ERR 1153 is always kept.
    pub max_flagged_per_conn: usize,
    /// Prepared statements remembered per connection (default 1 024).
    pub max_statements: usize,
    /// Sequence-id anomalies and protocol events kept per connection (default 64).
    pub max_events_per_conn: usize,
    /// Largest compressed-protocol frame accepted for inflation (default 16 MiB + 7).
    pub max_compressed_frame: usize,
    /// MySQL PDUs traced per connection for `mywire pdus` (default 0: off).
    pub trace_pdus: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_flows: 65_536,
            idle_timeout_secs: 30 * 60,
            max_ooo_bytes: 4 << 20,
            max_buffered_packet: 256 << 10,
            max_query_bytes: 4096,
            max_commands_per_conn: 200,
            max_flagged_per_conn: 1000,
            max_statements: 1024,
            max_events_per_conn: 64,
            max_compressed_frame: (16 << 20) + 7,
            trace_pdus: 0,
        }
    }
}

/// What the final report keeps across connections, so that its memory depends on
/// these caps and not on the capture's length. Streamed output (NDJSON) still
/// gets every connection in full as it ends; the report then counts what it
/// left out (`summary.not_listed`).
#[derive(Clone, Copy, Debug)]
pub struct ReportCaps {
    /// Connection records kept (default 2 000); past it, connections without a
    /// kept finding are counted, not listed.
    pub max_connections: usize,
    /// Approximate bytes of command records listed over all connections
    /// (default 8 MiB: the record, its SQL text, messages and parameters);
    /// past it, later connections list no commands.
    pub max_command_bytes: usize,
    /// Findings kept (default 2 000); past it, the lowest severity goes first and
    /// findings are counted by kind and severity.
    pub max_findings: usize,
    /// KILL statements and server-variable observations remembered (default 10 000 each).
    pub max_observations: usize,
}

impl Default for ReportCaps {
    fn default() -> Self {
        ReportCaps { max_connections: 2_000, max_command_bytes: 8 << 20, max_findings: 2_000, max_observations: 10_000 }
    }
}
