//! The report: one typed document that every reporter (text, JSON, NDJSON,
//! TUI) reads. Built by `crate::analysis`; nothing here decides anything.
//!
//! JSON layout: field order is the declaration order, except for the objects
//! marked "keys sorted" (`settings`, `summary`, each finding's `evidence` and
//! each connection's `auth`), whose keys are alphabetical
//! ([`crate::model::sorted_keys`]); `schema/report.schema.json` describes it.

use crate::analysis::LimitInfo;
use crate::capture::InputInfo;
use crate::capture::live::LiveStats;
use crate::decode::DecodeStats;
use crate::flow::FlowStats;
use crate::model::{
    AuthResult, BigPacket, CloseCause, CommandRecord, Compression, Evidence, FindingKind, Initiator, PerDir, ProtoEvent, SeqAnomaly,
    Severity, TcpInfo, sorted_keys,
};
use crate::time::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;

/// The whole analysis, as one JSON document (`--format json`).
#[derive(Debug, Serialize)]
pub struct Report {
    /// Who wrote it.
    pub generator: Generator,
    /// One entry per input file.
    pub inputs: Vec<InputInfo>,
    /// Server ports and the effective max_allowed_packet (keys sorted).
    #[serde(serialize_with = "sorted_keys")]
    pub settings: Settings,
    /// Counts and the verdict (keys sorted).
    #[serde(serialize_with = "sorted_keys")]
    pub summary: Summary,
    /// Every MySQL connection (within the report caps).
    pub connections: Vec<ConnReport>,
    /// Findings, most severe first.
    pub findings: Vec<Finding>,
    /// What to change.
    pub recommendations: Vec<Recommendation>,
    /// Reader warnings (truncation and the like).
    pub warnings: Vec<String>,
}

/// The program that wrote the report.
#[derive(Clone, Debug, Serialize)]
pub struct Generator {
    /// `mywire`.
    pub name: &'static str,
    /// Its version.
    pub version: &'static str,
}

impl Default for Generator {
    fn default() -> Self {
        Generator { name: "mywire", version: env!("CARGO_PKG_VERSION") }
    }
}

/// The settings the analysis ran with, and the limit it settled on.
#[derive(Clone, Debug, Serialize)]
pub struct Settings {
    /// The effective max_allowed_packet, with its source.
    pub max_allowed_packet: LimitInfo,
    /// Passwords are always redacted.
    pub passwords_redacted: bool,
    /// `--redact-literals`.
    pub redact_literals: bool,
    /// Ports treated as MySQL servers.
    pub server_ports: Vec<u16>,
}

/// Counts over the whole capture, and the verdict.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// MySQL connections (listed or not).
    pub connections: u64,
    /// What the report caps left out.
    pub not_listed: NotListed,
    /// Commands over all connections.
    pub commands: u64,
    /// Server errors over all connections.
    pub errors: u64,
    /// Server errors by code.
    pub errors_by_code: Vec<ErrorCount>,
    /// Findings by severity (kept and not listed).
    pub findings: SeverityCounts,
    /// One sentence.
    pub verdict: String,
    /// Decoder, flow-table and live-capture counters.
    pub capture: CaptureSummary,
}

/// One error code with its count and first message.
#[derive(Clone, Debug, Serialize)]
pub struct ErrorCount {
    /// Error code.
    pub code: u16,
    /// Occurrences.
    pub count: u64,
    /// The first message (sanitised).
    pub message: String,
}

/// Findings by severity.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct SeverityCounts {
    /// Critical findings.
    pub critical: usize,
    /// Warnings.
    pub warning: usize,
    /// Context.
    pub info: usize,
}

/// Counters of the stages below the analyser.
#[derive(Clone, Debug, Serialize)]
pub struct CaptureSummary {
    /// Frame decoding.
    pub decode: DecodeStats,
    /// The flow table.
    pub flows: FlowStats,
    /// Live capture (interface, filter, drops); absent for files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveCapture>,
}

/// What a live capture ran on, and its drop counters.
#[derive(Clone, Debug, Serialize)]
pub struct LiveCapture {
    /// The interface opened.
    pub interface: String,
    /// The BPF filter.
    pub filter: String,
    /// Kernel and interface counters.
    pub stats: LiveStats,
}

/// What the report's caps left out.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NotListed {
    /// Connection records not kept.
    pub connections: u64,
    /// Command records dropped from kept connections.
    pub commands: u64,
    /// Findings not kept, in all.
    pub findings: u64,
    /// Findings not kept, by kind, severity and (for connection ends) cause.
    #[serde(skip)]
    pub by_kind: BTreeMap<(FindingKind, Severity, Option<CloseCause>), u64>,
    /// KILLs and variable observations not remembered.
    pub observations: u64,
    /// Failed statements not grouped into a `statement_error` finding (group cap).
    pub error_groups: u64,
}

/// One explained problem.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// What it is about.
    pub kind: FindingKind,
    /// Severity.
    pub severity: Severity,
    /// Connection id (see `connections[].id`), if any.
    pub connection: Option<u64>,
    /// Client endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// Server endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// When.
    pub ts: Option<Timestamp>,
    /// One line.
    pub title: String,
    /// The explanation.
    pub detail: String,
    /// Machine-readable facts (keys sorted); of the first, for a group.
    #[serde(serialize_with = "sorted_keys")]
    pub evidence: Evidence,
    /// When several connections had the same finding: all of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<FindingGroup>,
    /// Already written as an NDJSON line when its connection ended.
    #[serde(skip)]
    pub streamed: bool,
}

/// The connections that share one finding (same kind, severity and cause).
#[derive(Clone, Debug, Serialize)]
pub struct FindingGroup {
    /// Connections in the group.
    pub count: u64,
    /// When the first happened.
    pub first_ts: Option<Timestamp>,
    /// When the last happened.
    pub last_ts: Option<Timestamp>,
    /// Their ids (the first ones; at most a hundred).
    pub connections: Vec<u64>,
    /// Client addresses (without ports; at most sixteen).
    pub clients: Vec<String>,
}

impl Finding {
    /// A finding about the whole capture; see [`Finding::on`] and [`Finding::at`].
    pub fn new(kind: FindingKind, severity: Severity, title: String, detail: String, evidence: Evidence) -> Finding {
        Finding {
            kind,
            severity,
            connection: None,
            client: None,
            server: None,
            ts: None,
            title,
            detail,
            evidence,
            group: None,
            streamed: false,
        }
    }

    /// The same finding, about connection `c`.
    pub fn on(mut self, c: &ConnReport) -> Finding {
        self.connection = Some(c.id);
        self.client = Some(c.client.clone());
        self.server = Some(c.server.clone());
        self
    }

    /// How many connections (or events) it stands for: its group's size, else 1.
    pub fn weight(&self) -> u64 {
        self.group.as_ref().map_or(1, |g| g.count)
    }

    /// The close cause, for a connection-end finding.
    pub fn close_cause(&self) -> Option<CloseCause> {
        match &self.evidence {
            Evidence::ConnectionDrop(e) => Some(e.cause),
            _ => None,
        }
    }

    /// The same finding, at `ts`.
    pub fn at(mut self, ts: Option<Timestamp>) -> Finding {
        self.ts = ts;
        self
    }
}

/// How a connection ended.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CloseInfo {
    /// The cause.
    pub cause: CloseCause,
    /// Who closed first.
    pub initiator: Initiator,
    /// The command that was waiting for a response, if any.
    pub pending_command: Option<String>,
    /// Its statement (redacted, at most 120 characters), when it had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_sql: Option<String>,
    /// Seconds between the last MySQL packet and the close.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_secs: Option<f64>,
    /// The server error that preceded the close.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u16>,
    /// The connection that sent the KILL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub killed_by: Option<u64>,
    /// Client bytes sent after the server had closed (the app used a dead connection).
    #[serde(skip_serializing_if = "is_zero64")]
    pub client_bytes_after_close: u64,
    /// Human text.
    pub detail: String,
}

fn is_zero64(v: &u64) -> bool {
    *v == 0
}

/// Authentication of a connection (the data itself is never kept).
#[derive(Clone, Debug, Serialize)]
pub struct AuthInfo {
    /// The plugin (sanitised).
    pub plugin: Option<String>,
    /// The login's outcome.
    pub result: Option<AuthResult>,
    /// Always `redacted`.
    pub auth_data: &'static str,
}

/// A connection as the report shows it.
#[derive(Clone, Debug, Serialize)]
pub struct ConnReport {
    /// Id in order of first packet.
    pub id: u64,
    /// `ip:port`.
    pub client: String,
    /// `ip:port`.
    pub server: String,
    /// First packet.
    pub start_ts: Timestamp,
    /// Last packet.
    pub end_ts: Timestamp,
    /// From the greeting.
    pub server_version: Option<String>,
    /// Thread id from the greeting.
    pub connection_id: Option<u32>,
    /// Login user.
    pub user: Option<String>,
    /// Current schema.
    pub database: Option<String>,
    /// The client's own max_packet_size from its handshake.
    pub client_max_packet_size: Option<u32>,
    /// Auth plugin and result (keys sorted).
    #[serde(serialize_with = "sorted_keys")]
    pub auth: AuthInfo,
    /// Connection attributes (program, driver).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// SSLRequest seen: the rest is opaque.
    pub tls: bool,
    /// Protocol compression.
    pub compression: Compression,
    /// Handshake not captured.
    pub mid_stream: bool,
    /// Part of the handshake not captured (the connection's start was).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub handshake_incomplete: bool,
    /// MySQL payload bytes.
    pub bytes: PerDir,
    /// Largest logical packet each way.
    pub largest_packet: PerDir,
    /// TCP accounting.
    pub tcp: TcpInfo,
    /// How it ended.
    pub close: CloseInfo,
    /// Commands sent.
    pub commands_total: u64,
    /// Commands not listed (cap or `--commands`).
    pub commands_omitted: u64,
    /// Server errors.
    pub errors: u64,
    /// Listed commands.
    pub commands: Vec<CommandRecord>,
    /// Sequence-id anomalies.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub seq_anomalies: Vec<SeqAnomaly>,
    /// Protocol events.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<ProtoEvent>,
    /// Large packets.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub big_packets: Vec<BigPacket>,
}

/// What a recommendation is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecommendationKind {
    /// Size max_allowed_packet.
    MaxAllowedPacket,
    /// Send fewer rows per statement.
    Batching,
    /// Send large values in pieces.
    LargeValues,
    /// Raise the client's own limit.
    ClientMaxAllowedPacket,
    /// Pool settings against wait_timeout.
    WaitTimeout,
    /// Capture better.
    Capture,
}

/// A concrete change to make.
#[derive(Clone, Debug, Serialize)]
pub struct Recommendation {
    /// What it is about.
    pub kind: RecommendationKind,
    /// One line.
    pub title: String,
    /// Why, from the evidence.
    pub detail: String,
    /// my.cnf snippet.
    pub my_cnf: Option<String>,
    /// SQL to run now.
    pub sql: Option<String>,
    /// Client-side setting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
}
