//! One client command and the server's answer to it.

use crate::time::Timestamp;
use serde::Serialize;

/// What kind of answer the server gave to a command.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseKind {
    /// No response (yet, or the command expects none).
    #[default]
    None,
    /// OK packet.
    Ok,
    /// ERR packet.
    Error,
    /// A result set (text or binary), or a field list.
    Resultset,
    /// A bare EOF.
    Eof,
    /// The server asked for a LOCAL INFILE upload.
    LocalInfile,
    /// COM_STMT_PREPARE_OK.
    PrepareOk,
    /// A stream of events (binlog dump).
    Stream,
    /// Could not be told (a gap, or an unexpected packet).
    Unknown,
}

impl ResponseKind {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseKind::None => "none",
            ResponseKind::Ok => "ok",
            ResponseKind::Error => "error",
            ResponseKind::Resultset => "resultset",
            ResponseKind::Eof => "eof",
            ResponseKind::LocalInfile => "local_infile",
            ResponseKind::PrepareOk => "prepare_ok",
            ResponseKind::Stream => "stream",
            ResponseKind::Unknown => "unknown",
        }
    }

    /// True when the server was seen answering (anything but none/unknown).
    pub fn answered(self) -> bool {
        !matches!(self, ResponseKind::None | ResponseKind::Unknown)
    }
}

impl std::fmt::Display for ResponseKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The server's answer to one command.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Response {
    /// What kind of answer.
    pub kind: ResponseKind,
    /// ERR code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u16>,
    /// ERR SQLSTATE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sqlstate: Option<String>,
    /// ERR message (sanitised at report time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Rows in result sets (all of them for multi-results).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Result sets returned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_sets: Option<u32>,
    /// Affected rows from OK.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affected_rows: Option<u64>,
    /// Warnings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<u16>,
    /// Session-state changes reported by the server (CLIENT_SESSION_TRACK), e.g. `schema=test`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub state_changes: Vec<String>,
    /// Payload bytes of all response packets.
    pub bytes: u64,
    /// Largest single response packet.
    pub largest_packet: u64,
}

/// One client command and its response.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CommandRecord {
    /// Position in the connection (0-based, over all commands, kept or not).
    pub index: u64,
    /// Time the request's first byte was captured.
    pub ts: Timestamp,
    /// `COM_QUERY` etc.
    pub command: String,
    /// SQL (COM_QUERY, COM_STMT_PREPARE; the prepared SQL for COM_STMT_EXECUTE), capped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    /// True when `sql` was cut at the cap or the packet was incomplete.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sql_truncated: bool,
    /// Main argument of other commands (schema, table, user, connection id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argument: Option<String>,
    /// Prepared statement id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement_id: Option<u32>,
    /// Decoded COM_STMT_EXECUTE parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<Vec<String>>,
    /// Size of the request's logical packet (declared size when incomplete).
    pub request_bytes: u64,
    /// True when the request packet was never fully sent/captured.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub request_incomplete: bool,
    /// The response.
    pub response: Response,
    /// From the request's first byte to the response's last packet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_us: Option<u64>,
    /// Sequence-id anomalies seen within this exchange.
    #[serde(skip_serializing_if = "is_zero")]
    pub seq_anomalies: u32,
    /// For INSERT/REPLACE ... VALUES: rows and bytes per row, measured on the kept bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values_rows: Option<ValuesRows>,
}

impl CommandRecord {
    /// Worth keeping past the caps: the server answered an error, sequence ids
    /// broke, or the request was big or cut off.
    pub fn is_flagged(&self) -> bool {
        self.response.error_code.is_some()
            || self.seq_anomalies > 0
            || self.request_incomplete
            || self.request_bytes >= crate::config::BIG_PACKET
    }
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// Rows of a multi-row INSERT/REPLACE, for batching advice.
#[derive(Clone, Copy, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ValuesRows {
    /// Rows counted in the bytes kept (all of them when the packet was kept whole).
    pub rows_seen: u64,
    /// Average bytes per row over the rows counted.
    pub bytes_per_row: u64,
    /// Estimated rows in the whole statement (`rows_seen` when it was kept whole).
    pub rows_estimated: u64,
}
