//! Machine-readable facts behind each finding, one type per finding kind.
//! In JSON each is a plain object (keys in alphabetical order, see
//! [`super::sorted_keys`]); readers use the typed accessors instead of keys.

use super::{CloseCause, Dir, EventKind, Initiator, SeqAnomaly, ValuesRows};
use crate::time::Timestamp;
use serde::Serialize;

/// The evidence of one finding.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Evidence {
    /// A request bigger than the limit (or answered with ERR 1153).
    OversizeRequest(OversizeRequest),
    /// An ERR 1153 whose packet is not in the capture.
    OversizeUnseen(OversizeUnseen),
    /// A request close to the limit.
    NearLimitRequest(NearLimitRequest),
    /// A response packet near or over the limit.
    ResponseSize(ResponseSize),
    /// Sequence-id anomalies.
    Seq(SeqEvidence),
    /// How a connection ended.
    ConnectionDrop(ConnectionDrop),
    /// TCP gaps.
    TcpGap(TcpGap),
    /// Picked up mid-stream.
    MidStream(MidStream),
    /// Opaque TLS.
    TlsOpaque(TlsOpaque),
    /// Protocol anomalies.
    ProtocolErrors(ProtocolErrors),
    /// A slow command.
    SlowCommand(SlowCommand),
    /// Undecodable frames.
    CaptureHealth(CaptureHealth),
    /// Live capture drops.
    CaptureDrops(CaptureDrops),
    /// ERR 1040 / 1129.
    TooManyConnections(TooManyConnections),
    /// Failed statements of one code and shape.
    StatementErrors(StatementErrors),
    /// A claimed limit the wire contradicts.
    LimitContradicted(LimitContradicted),
    /// A server packet over the client's own limit.
    ClientLimit(ClientLimit),
    /// TCP traffic without MySQL.
    NoMysqlTraffic(NoMysqlTraffic),
}

impl Evidence {
    /// The statement preview, when the evidence has one.
    pub fn sql_preview(&self) -> Option<&str> {
        match self {
            Evidence::OversizeRequest(e) => e.sql_preview.as_deref(),
            Evidence::SlowCommand(e) => e.sql_preview.as_deref(),
            Evidence::StatementErrors(e) => e.example.as_deref(),
            _ => None,
        }
    }

    /// The server error code the finding is about, if any.
    pub fn error_code(&self) -> Option<u16> {
        match self {
            Evidence::OversizeRequest(e) => e.server_error,
            Evidence::OversizeUnseen(e) => Some(e.server_error),
            Evidence::Seq(e) => e.server_error,
            Evidence::ConnectionDrop(e) => e.error_code,
            Evidence::TooManyConnections(e) => Some(e.code),
            Evidence::StatementErrors(e) => Some(e.code),
            _ => None,
        }
    }

    /// The size of the packet the finding is about, if known.
    pub fn packet_bytes(&self) -> Option<u64> {
        match self {
            Evidence::OversizeRequest(e) => Some(e.packet_bytes),
            Evidence::NearLimitRequest(e) => Some(e.packet_bytes),
            Evidence::ResponseSize(e) => Some(e.packet_bytes),
            _ => None,
        }
    }

    /// Rows of the multi-row statement the finding is about, if counted.
    pub fn values_rows(&self) -> Option<ValuesRows> {
        match self {
            Evidence::OversizeRequest(e) => e.values_rows,
            Evidence::NearLimitRequest(e) => e.values_rows,
            _ => None,
        }
    }
}

/// A request bigger than the limit, or answered with ERR 1153.
#[derive(Clone, Debug, Serialize)]
pub struct OversizeRequest {
    /// Logical size of the request.
    pub packet_bytes: u64,
    /// The effective limit, when known.
    pub limit_bytes: Option<u64>,
    /// Exclusive upper bound from ERR 1153s.
    pub limit_upper_bound: Option<u64>,
    /// Where the limit came from.
    pub limit_source: &'static str,
    /// Always to the server.
    pub direction: Dir,
    /// The server's error code.
    pub server_error: Option<u16>,
    /// `COM_QUERY` etc.
    pub command: String,
    /// Index of the command in its connection.
    pub command_index: u64,
    /// Redacted start of the statement.
    pub sql_preview: Option<String>,
    /// The request was never fully sent.
    pub request_incomplete: bool,
    /// How the connection ended.
    pub close_cause: CloseCause,
    /// The client's own max_packet_size.
    pub client_max_packet_size: Option<u32>,
    /// Rows of a multi-row INSERT.
    pub values_rows: Option<ValuesRows>,
    /// `observed` (ERR 1153 on the wire) or `inferred` (no reply, the server
    /// closed, and the packet is over the limit known from elsewhere).
    pub certainty: &'static str,
}

/// An ERR 1153 whose offending packet is not in the capture.
#[derive(Clone, Debug, Serialize)]
pub struct OversizeUnseen {
    /// Not known (always null).
    pub packet_bytes: Option<u64>,
    /// The effective limit, when known.
    pub limit_bytes: Option<u64>,
    /// Where the limit came from.
    pub limit_source: &'static str,
    /// Always to the server.
    pub direction: Dir,
    /// Always 1153.
    pub server_error: u16,
}

/// A request close to the limit.
#[derive(Clone, Debug, Serialize)]
pub struct NearLimitRequest {
    /// Logical size of the request.
    pub packet_bytes: u64,
    /// The limit.
    pub limit_bytes: u64,
    /// Where the limit came from.
    pub limit_source: &'static str,
    /// Always to the server.
    pub direction: Dir,
    /// Index of the command in its connection.
    pub command_index: u64,
    /// Rows of a multi-row INSERT.
    pub values_rows: Option<ValuesRows>,
}

/// A response packet near or over the limit.
#[derive(Clone, Debug, Serialize)]
pub struct ResponseSize {
    /// Logical size of the packet.
    pub packet_bytes: u64,
    /// The limit.
    pub limit_bytes: u64,
    /// Where the limit came from.
    pub limit_source: &'static str,
    /// Always to the client.
    pub direction: Dir,
    /// No server error (always null).
    pub server_error: Option<u16>,
}

/// Sequence-id anomalies on one connection.
#[derive(Clone, Debug, Serialize)]
pub struct SeqEvidence {
    /// Anomalies in all.
    pub count: u64,
    /// The first one.
    pub first: SeqAnomaly,
    /// 1156 when the server answered "Got packets out of order".
    pub server_error: Option<u16>,
    /// A TCP gap precedes the first one.
    pub after_gap: bool,
}

/// How a connection ended.
#[derive(Clone, Debug, Serialize)]
pub struct ConnectionDrop {
    /// The cause.
    pub cause: CloseCause,
    /// Who closed first.
    pub initiator: Initiator,
    /// The command waiting for its response.
    pub pending_command: Option<String>,
    /// Seconds between the last MySQL packet and the close.
    pub idle_secs: Option<f64>,
    /// The server error before the close.
    pub error_code: Option<u16>,
    /// The connection that sent the KILL.
    pub killed_by: Option<u64>,
    /// Client bytes sent after the server had closed.
    pub client_bytes_after_close: u64,
}

/// TCP gaps on one connection.
#[derive(Clone, Debug, Serialize)]
pub struct TcpGap {
    /// Holes never filled.
    pub gaps: u64,
    /// Bytes never captured.
    pub missed_bytes: u64,
    /// Bytes skipped while resynchronising.
    pub resync_skipped_bytes: u64,
}

/// A connection picked up mid-stream.
#[derive(Clone, Debug, Serialize)]
pub struct MidStream {
    /// Bytes skipped before the first recognisable command.
    pub skipped_bytes: u64,
}

/// An opaque TLS connection.
#[derive(Clone, Debug, Serialize)]
pub struct TlsOpaque {
    /// Version from the ServerHello, when seen.
    pub tls_version: Option<String>,
}

/// Protocol anomalies on one connection.
#[derive(Clone, Debug, Serialize)]
pub struct ProtocolErrors {
    /// Anomalies kept.
    pub count: usize,
    /// The first five.
    pub events: Vec<EventBrief>,
}

/// One protocol event, briefly.
#[derive(Clone, Debug, Serialize)]
pub struct EventBrief {
    /// When.
    pub ts: Timestamp,
    /// Kind.
    pub kind: EventKind,
    /// Sanitised text.
    pub detail: String,
}

/// A slow command.
#[derive(Clone, Debug, Serialize)]
pub struct SlowCommand {
    /// Latency in microseconds.
    pub latency_us: Option<u64>,
    /// Index of the command in its connection.
    pub command_index: u64,
    /// Redacted start of the statement.
    pub sql_preview: Option<String>,
}

/// Frames that could not be decoded.
#[derive(Clone, Debug, Serialize)]
pub struct CaptureHealth {
    /// IP fragments.
    pub ip_fragments: u64,
    /// Malformed or cut frames.
    pub malformed: u64,
    /// Frames of an unsupported link type.
    pub unsupported_link: u64,
}

/// TCP traffic without MySQL: what there was instead.
#[derive(Clone, Debug, Serialize)]
pub struct NoMysqlTraffic {
    /// TCP connections seen.
    pub tcp_connections: u64,
    /// The busiest server ports by bytes.
    pub busiest_ports: Vec<PortBrief>,
    /// Non-MySQL connections on ports past the tally's cap (`config::flow::MAX_OTHER_PORTS`).
    pub ports_not_tallied: u64,
}

/// Non-MySQL traffic on one server port.
#[derive(Clone, Debug, Serialize)]
pub struct PortBrief {
    /// Server port (the SYN's target; the lower port when no SYN was seen).
    pub port: u16,
    /// Connections.
    pub connections: u64,
    /// TCP payload bytes, both directions.
    pub bytes: u64,
}

/// Live capture drops.
#[derive(Clone, Debug, Serialize)]
pub struct CaptureDrops {
    /// Dropped by the kernel.
    pub dropped_kernel: u64,
    /// Dropped by the interface.
    pub dropped_interface: u64,
    /// Received by the filter.
    pub received: u64,
}

/// ERR 1040 / 1129 answered to logins.
#[derive(Clone, Debug, Serialize)]
pub struct TooManyConnections {
    /// The code.
    pub code: u16,
    /// How often.
    pub count: u64,
}

/// Statements of one shape that failed with one error code.
#[derive(Clone, Debug, Serialize)]
pub struct StatementErrors {
    /// The error code.
    pub code: u16,
    /// Its SQLSTATE, when sent.
    pub sqlstate: Option<String>,
    /// The server's whole message (sanitised; the first one seen).
    pub message: String,
    /// Statements that got it.
    pub count: u64,
    /// First and last time.
    pub first_ts: Timestamp,
    /// Last time.
    pub last_ts: Timestamp,
    /// The statement's shape with literals as `?` (null when the statements were not kept).
    pub fingerprint: Option<String>,
    /// One of them (redacted; literals masked with `--redact-literals`).
    pub example: Option<String>,
    /// The command (`COM_QUERY`, `COM_STMT_EXECUTE`, ...).
    pub command: Option<String>,
    /// Connections it happened on (the first ones, at most a hundred).
    pub connections: Vec<u64>,
    /// Users it happened to (sanitised, at most sixteen).
    pub users: Vec<String>,
}

/// A claimed max_allowed_packet the wire contradicts.
#[derive(Clone, Debug, Serialize)]
pub struct LimitContradicted {
    /// The claimed value.
    pub claimed_bytes: u64,
    /// Where the claim came from (`command_line`, `traffic`, `version_default`).
    pub claimed_source: &'static str,
    /// `rejected` (ERR 1153 at or below the claim) or `accepted` (a bigger packet answered).
    pub evidence: &'static str,
    /// The packet that contradicts it.
    pub packet_bytes: u64,
    /// Its connection.
    pub packet_connection: u64,
    /// The limit the evidence bounds: at least this (the largest packet accepted).
    pub lower_bound: Option<u64>,
    /// And below this (the smallest packet rejected).
    pub upper_bound: Option<u64>,
}

/// A server packet bigger than the client's own max_allowed_packet.
#[derive(Clone, Debug, Serialize)]
pub struct ClientLimit {
    /// The packet's declared size.
    pub packet_bytes: u64,
    /// The client's limit, from its handshake.
    pub client_max_packet_size: u32,
    /// Bytes of the packet that were sent before the client left.
    pub received_bytes: u64,
    /// The command it answered.
    pub command: Option<String>,
    /// How the connection ended.
    pub close_cause: CloseCause,
}
