//! Every cap and option of a run in one place (STYLE.md §3.4): the memory and
//! work limits ([`Limits`], [`ReportCaps`], and the fixed bounds below), and the
//! analyser's settings ([`AnalyzerConfig`], [`AnalyzeOptions`]). Each limit, when
//! hit, increments a counter that reaches the report, so nothing is dropped silently.

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

/// How many commands per connection the report lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CommandsMode {
    /// Every command (still bounded by the session's cap).
    All,
    /// Up to the per-connection cap; flagged ones always.
    Capped,
    /// Only commands with an error or a finding.
    Flagged,
    /// None.
    None,
}

/// Analyser settings from the command line.
#[derive(Clone, Debug)]
pub struct AnalyzerConfig {
    /// `--max-allowed-packet`.
    pub max_allowed_packet: Option<u64>,
    /// MySQL server ports.
    pub server_ports: Vec<u16>,
    /// Mask every literal (`--redact-literals`).
    pub redact_literals: bool,
    /// Report commands slower than this (`--slow`), in microseconds.
    pub slow_us: Option<u64>,
    /// Which commands to list.
    pub commands: CommandsMode,
    /// Commands listed per connection when capped.
    pub max_commands: usize,
    /// What the report keeps across connections.
    pub caps: ReportCaps,
}

/// Options for one analysis, independent of the CLI.
#[derive(Clone, Debug)]
pub struct AnalyzeOptions {
    /// Analyser settings.
    pub cfg: AnalyzerConfig,
    /// Memory limits.
    pub limits: Limits,
    /// Threads for offline analysis (1 = this thread only).
    pub threads: usize,
}

impl AnalyzeOptions {
    /// Defaults: port 3306 plus `extra_ports`, every limit at its default.
    pub fn new(extra_ports: &[u16]) -> Self {
        let mut ports = vec![3306];
        for p in extra_ports {
            if !ports.contains(p) {
                ports.push(*p);
            }
        }
        AnalyzeOptions {
            cfg: AnalyzerConfig {
                max_allowed_packet: None,
                server_ports: ports,
                redact_literals: false,
                slow_us: None,
                commands: CommandsMode::Capped,
                max_commands: 200,
                caps: ReportCaps::default(),
            },
            limits: Limits::default(),
            threads: 1,
        }
    }
}

/// Logical packets at or above this size are remembered per connection for
/// the oversize detectors, and a command this big is always listed.
pub const BIG_PACKET: u64 = 256 * 1024;

/// Fixed per-connection bounds of the session (the sizes of small tables that
/// need no tuning). Each is named here so every bound of the tool is in this file.
pub mod session {
    /// Large packets remembered per connection (the largest are kept).
    pub const MAX_BIG_PACKETS: usize = 32;
    /// Commands sent but not yet answered (pipelining); past it the oldest is
    /// finished as unanswered, with a `cap` event.
    pub const MAX_PENDING: usize = 256;
    /// Connection attributes kept from the handshake.
    pub const MAX_ATTRS: usize = 16;
    /// Decoded COM_STMT_EXECUTE parameters kept per command.
    pub const MAX_PARAMS: usize = 64;
    /// Parameters of one statement that may have COM_STMT_SEND_LONG_DATA pending.
    pub const MAX_LONG_DATA_PARAMS: usize = 256;
    /// Session-state changes kept per OK packet.
    pub const MAX_STATE_CHANGES: usize = 16;
    /// Column names and rows read from a result set that may hold server variables.
    pub const MAX_VAR_COLUMNS: usize = 8;
    /// Rows read from such a result set.
    pub const MAX_VAR_ROWS: usize = 8;
    /// Characters of SQL kept in a PDU trace line.
    pub const TRACE_QUERY_CHARS: usize = 200;
}

/// Bounds of the flow table and TCP bookkeeping.
pub mod flow {
    /// After both FINs or a RST, late segments are still attributed for this long (packet time).
    pub const LINGER_NS: i64 = 5_000_000_000;
    /// How often (packet time) closed and idle flows are swept.
    pub const SWEEP_NS: i64 = 1_000_000_000;
    /// Data events of a flow on an unknown port inspected before deciding it is not MySQL.
    pub const PROBE_EVENTS: u32 = 4;
    /// Distinct Zeek-style history letters kept per connection.
    pub const HISTORY_LETTERS: usize = 16;
    /// Distinct server ports of non-MySQL connections tallied (for "no MySQL
    /// traffic found"); connections on further ports are counted in
    /// `FlowStats::other_ports_not_tallied`.
    pub const MAX_OTHER_PORTS: usize = 4096;
}

/// Bounds of the analyser beyond [`ReportCaps`].
pub mod analysis {
    /// `slow_command` findings made over the whole run (`--slow`).
    pub const MAX_SLOW_FINDINGS: u64 = 100;
    /// Open connections included in a live snapshot.
    pub const MAX_SNAPSHOT_CONNS: usize = 2000;
    /// Groups of failed statements (error code x statement shape); past it the
    /// statements are counted in `summary.not_listed.error_groups`.
    pub const MAX_ERROR_GROUPS: usize = 1000;
    /// Connections listed in one group of findings or failed statements.
    pub const MAX_GROUP_CONNECTIONS: usize = 100;
    /// Users listed in one group of failed statements.
    pub const MAX_GROUP_USERS: usize = 16;
    /// Client addresses named in one group of findings.
    pub const MAX_GROUP_CLIENTS: usize = 16;
}
