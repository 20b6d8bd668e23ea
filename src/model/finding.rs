//! Severities and the kinds of finding.

use serde::Serialize;

/// Severity of a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Context.
    Info,
    /// About to go wrong, or evidence weakened.
    Warning,
    /// A client saw an error or lost its connection.
    Critical,
}

impl Severity {
    /// 0 for info, 1 for warning, 2 for critical.
    pub fn idx(self) -> usize {
        match self {
            Severity::Info => 0,
            Severity::Warning => 1,
            Severity::Critical => 2,
        }
    }
}

/// What a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A packet over max_allowed_packet (or an ERR 1153).
    OversizePacket,
    /// A packet close to max_allowed_packet.
    NearLimitPacket,
    /// Sequence ids broke.
    SeqOutOfOrder,
    /// A connection ended badly.
    ConnectionDrop,
    /// Bytes of a connection were not captured.
    TcpGap,
    /// The handshake is not in the capture.
    MidStream,
    /// The connection is TLS and opaque.
    TlsOpaque,
    /// Malformed or unexpected packets, cap hits.
    ProtocolError,
    /// A command slower than `--slow`.
    SlowCommand,
    /// Frames that could not be decoded.
    CaptureHealth,
    /// Live capture drops.
    CaptureDrops,
    /// ERR 1040 / 1129: connections refused by the server.
    TooManyConnections,
    /// Statements the server answered with an error, grouped by code and statement.
    StatementError,
    /// A claimed max_allowed_packet (flag, traffic, default) that the wire contradicts.
    LimitContradicted,
    /// A server packet bigger than the client's own limit.
    ClientLimit,
    /// Part of a captured connection's handshake is missing.
    HandshakeIncomplete,
    /// TCP traffic, but none of it MySQL.
    NoMysqlTraffic,
}

impl FindingKind {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::OversizePacket => "oversize_packet",
            FindingKind::NearLimitPacket => "near_limit_packet",
            FindingKind::SeqOutOfOrder => "seq_out_of_order",
            FindingKind::ConnectionDrop => "connection_drop",
            FindingKind::TcpGap => "tcp_gap",
            FindingKind::MidStream => "mid_stream",
            FindingKind::TlsOpaque => "tls_opaque",
            FindingKind::ProtocolError => "protocol_error",
            FindingKind::SlowCommand => "slow_command",
            FindingKind::CaptureHealth => "capture_health",
            FindingKind::CaptureDrops => "capture_drops",
            FindingKind::TooManyConnections => "too_many_connections",
            FindingKind::StatementError => "statement_error",
            FindingKind::LimitContradicted => "limit_contradicted",
            FindingKind::ClientLimit => "client_limit",
            FindingKind::HandshakeIncomplete => "handshake_incomplete",
            FindingKind::NoMysqlTraffic => "no_mysql_traffic",
        }
    }

    /// Every kind, in declaration order.
    pub const ALL: [FindingKind; 17] = [
        FindingKind::OversizePacket,
        FindingKind::NearLimitPacket,
        FindingKind::SeqOutOfOrder,
        FindingKind::ConnectionDrop,
        FindingKind::TcpGap,
        FindingKind::MidStream,
        FindingKind::TlsOpaque,
        FindingKind::ProtocolError,
        FindingKind::SlowCommand,
        FindingKind::CaptureHealth,
        FindingKind::CaptureDrops,
        FindingKind::TooManyConnections,
        FindingKind::StatementError,
        FindingKind::LimitContradicted,
        FindingKind::ClientLimit,
        FindingKind::HandshakeIncomplete,
        FindingKind::NoMysqlTraffic,
    ];
}

impl std::fmt::Display for FindingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
