//! What a session hands to the analyser: an owned, bounded summary of one
//! connection ([`ConnSummary`], inside a [`FinishedConn`]) and, as they
//! happen, [`KillEvent`]s (the connection a KILL ends may live elsewhere).

use super::{CommandRecord, Dir, PerDir};
use crate::time::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// A packet whose sequence id was not the expected next one.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SeqAnomaly {
    /// When.
    pub ts: Timestamp,
    /// Direction of the offending packet.
    pub direction: Dir,
    /// Expected sequence id.
    pub expected: u8,
    /// Actual sequence id.
    pub actual: u8,
    /// Index of the command it belongs to.
    pub command_index: Option<u64>,
    /// True when a TCP gap in this direction preceded it (the capture may explain it).
    pub after_gap: bool,
    /// For a continuation of a multi-packet (16 MiB+) message: which physical
    /// packet of it (0 is the first) had the wrong id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<u32>,
}

/// What kind of protocol event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A packet that does not parse as what the phase expects.
    Malformed,
    /// A packet the phase does not expect at all.
    Unexpected,
    /// Bytes not captured.
    Gap,
    /// Decoding resumed at a recognisable boundary.
    Resync,
    /// A per-connection cap was hit.
    Cap,
    /// A request the server answered before it was fully sent.
    IncompleteRequest,
    /// An ERR with no command pending.
    UnsolicitedError,
}

impl EventKind {
    /// True for the kinds that make a `protocol_error` finding.
    pub fn is_anomaly(self) -> bool {
        matches!(self, EventKind::Malformed | EventKind::Unexpected | EventKind::Cap)
    }
}

/// A protocol-level event (malformed packet, resync, cap hit, ...).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ProtoEvent {
    /// When.
    pub ts: Timestamp,
    /// Machine-readable kind.
    pub kind: EventKind,
    /// Direction, where it applies.
    pub direction: Option<Dir>,
    /// Human text.
    pub detail: String,
}

/// A large logical packet, kept for the oversize detectors.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct BigPacket {
    /// When its first byte was captured.
    pub ts: Timestamp,
    /// Direction.
    pub direction: Dir,
    /// Logical size (continuations joined; declared size when incomplete).
    pub bytes: u64,
    /// Physical packets it spanned.
    pub parts: u32,
    /// Command it belonged to.
    pub command_index: Option<u64>,
    /// True when it was never completely seen.
    pub incomplete: bool,
}

/// How a server variable's value was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VarSource {
    /// A `SHOW VARIABLES` result.
    ShowVariables,
    /// A `SELECT @@var` result.
    Select,
    /// `SET GLOBAL var = ...`.
    SetGlobal,
    /// `SET [SESSION] var = ...`.
    SetSession,
    /// A session-state change in an OK packet (CLIENT_SESSION_TRACK).
    SessionTrack,
}

impl VarSource {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            VarSource::ShowVariables => "show_variables",
            VarSource::Select => "select",
            VarSource::SetGlobal => "set_global",
            VarSource::SetSession => "set_session",
            VarSource::SessionTrack => "session_track",
        }
    }
}

impl std::fmt::Display for VarSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A server variable observed in the traffic.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct VarObservation {
    /// When.
    pub ts: Timestamp,
    /// Lower-case variable name.
    pub name: String,
    /// Value as text.
    pub value: String,
    /// How it was seen.
    pub how: VarSource,
}

/// An ERR the server sent, with its time and message.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ServerError {
    /// Error code.
    pub code: u16,
    /// When.
    pub ts: Timestamp,
    /// The server's message (capped, not yet sanitised).
    pub message: String,
}

/// Raw facts about how a connection ended; `analysis` turns them into a cause.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct EndFacts {
    /// Direction whose FIN came first.
    pub first_fin: Option<Dir>,
    /// Time of the first FIN.
    pub first_fin_ts: Option<Timestamp>,
    /// Direction whose RST came first.
    pub first_rst: Option<Dir>,
    /// Time of the first RST.
    pub first_rst_ts: Option<Timestamp>,
    /// COM_QUIT was sent.
    pub quit_sent: bool,
    /// Last ERR from the server.
    pub last_error: Option<ServerError>,
    /// Command pending (sent, not answered) when the connection closed.
    pub pending_command: Option<u64>,
    /// Time of the last MySQL packet before the close.
    pub last_activity: Option<Timestamp>,
    /// Client bytes sent after the server had closed its side.
    pub client_bytes_after_server_close: u64,
    /// The connection was still open when the capture ended.
    pub open_at_end: bool,
    /// The connection was evicted by the tracker.
    pub evicted: bool,
}

/// One logical MySQL packet, for `mywire pdus` and the tshark differential tests.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PduTrace {
    /// When its first byte was captured.
    pub ts: Timestamp,
    /// Direction.
    pub direction: Dir,
    /// Sequence id of the first physical packet.
    pub seq: u8,
    /// Logical length (continuations joined).
    pub len: u64,
    /// Physical packets.
    pub parts: u32,
    /// Command byte, when this packet started a command.
    pub command: Option<u8>,
    /// SQL text of COM_QUERY / COM_STMT_PREPARE (capped).
    pub query: Option<String>,
    /// ERR code, when this is an ERR packet.
    pub error: Option<u16>,
}

/// A logical packet that began but did not end before the connection did.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct PartialPacket {
    /// When its first byte was captured.
    pub ts: Timestamp,
    /// Its size as its header(s) declared it.
    pub declared: u64,
    /// Bytes of it that were sent.
    pub received: u64,
    /// The command it answered, if any.
    pub command_index: Option<u64>,
}

/// The login's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthResult {
    /// The server said OK.
    Ok,
    /// The server answered ERR with this code.
    Error(u16),
}

impl std::fmt::Display for AuthResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthResult::Ok => f.write_str("ok"),
            AuthResult::Error(code) => write!(f, "error {code}"),
        }
    }
}

impl Serialize for AuthResult {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Connection-level facts the session learns (identity, negotiation).
#[derive(Clone, Debug, Default)]
pub struct Identity {
    /// Server version from the greeting.
    pub server_version: Option<String>,
    /// Connection (thread) id from the greeting.
    pub connection_id: Option<u32>,
    /// User from the handshake response (or COM_CHANGE_USER).
    pub user: Option<String>,
    /// Current schema.
    pub database: Option<String>,
    /// Client's max_packet_size from the handshake response.
    pub client_max_packet: Option<u32>,
    /// Authentication plugin.
    pub auth_plugin: Option<String>,
    /// Login result, when seen.
    pub auth_result: Option<AuthResult>,
    /// The client's login (HandshakeResponse) was seen.
    pub login_sent: bool,
    /// The server asked to switch authentication method.
    pub auth_switch: bool,
    /// Connection attributes sent by the client (program name, driver).
    pub attrs: Vec<(String, String)>,
}

/// Compression of the MySQL protocol on a connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Not compressed.
    #[default]
    None,
    /// zlib (CLIENT_COMPRESS).
    Zlib,
    /// zstd (CLIENT_ZSTD_COMPRESSION_ALGORITHM).
    Zstd,
}

/// How often one error code was seen, with its first message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorTally {
    /// Occurrences.
    pub count: u64,
    /// The first message seen.
    pub message: String,
}

/// Everything the analyser learns about one connection from its session:
/// owned and bounded (`config::Limits`), built as the traffic is decoded.
#[derive(Clone, Debug, Default)]
pub struct ConnSummary {
    /// Identity learned from the handshake.
    pub identity: Identity,
    /// True when the handshake was not captured.
    pub mid_stream: bool,
    /// The connection's start was captured but part of its handshake was not
    /// (a lost greeting, a gap during authentication): decoding resumed at the next command.
    pub handshake_incomplete: bool,
    /// The connection switched to TLS after an SSLRequest.
    pub tls: bool,
    /// TLS record-layer version, when seen.
    pub tls_version: Option<String>,
    /// Negotiated compression.
    pub compression: Compression,
    /// Replication stream (binlog dump) detected.
    pub replication: bool,
    /// Completed commands kept (bounded; flagged ones always kept).
    pub commands: Vec<CommandRecord>,
    /// Commands seen in all.
    pub commands_total: u64,
    /// Commands not kept because of the cap.
    pub commands_omitted: u64,
    /// Server errors of commands not kept, by code.
    pub omitted_errors: BTreeMap<u16, ErrorTally>,
    /// Errors answered by the server.
    pub errors: u64,
    /// Sequence-id anomalies (bounded).
    pub seq_anomalies: Vec<SeqAnomaly>,
    /// Sequence-id anomalies in all.
    pub seq_anomalies_total: u64,
    /// Protocol events (bounded).
    pub events: Vec<ProtoEvent>,
    /// Protocol events in all.
    pub events_total: u64,
    /// Large packets (bounded, largest kept).
    pub big_packets: Vec<BigPacket>,
    /// Payload bytes per direction.
    pub bytes: PerDir,
    /// Largest logical packet per direction.
    pub largest: PerDir,
    /// Variables observed.
    pub vars: Vec<VarObservation>,
    /// Close facts.
    pub end: EndFacts,
    /// Bytes skipped while resynchronising.
    pub skipped_bytes: u64,
    /// A server packet begun but not finished when the connection ended.
    pub server_partial: Option<PartialPacket>,
    /// PDU trace (only when `Limits::trace_pdus` > 0).
    pub pdus: Vec<PduTrace>,
}

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

impl TcpInfo {
    /// The client's SYN was answered by a RST and nothing else happened:
    /// nothing listens on the port.
    pub fn refused(&self) -> bool {
        self.history == "Sr"
    }
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
    /// What the MySQL session learned.
    pub summary: ConnSummary,
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
