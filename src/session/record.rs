//! Owned, bounded summaries of a connection: what the reports serialise.

use crate::time::Timestamp;
use serde::Serialize;

/// Direction of a MySQL packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dir {
    /// Client to server.
    ToServer,
    /// Server to client.
    ToClient,
}

impl Dir {
    /// 0 for client->server, 1 for server->client.
    pub fn idx(self) -> usize {
        match self {
            Dir::ToServer => 0,
            Dir::ToClient => 1,
        }
    }
    /// `client` or `server`: who sent packets of this direction.
    pub fn sender(self) -> &'static str {
        match self {
            Dir::ToServer => "client",
            Dir::ToClient => "server",
        }
    }
}

/// A value per direction.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct PerDir {
    /// Client to server.
    pub to_server: u64,
    /// Server to client.
    pub to_client: u64,
}

impl PerDir {
    /// Mutable access by direction.
    pub fn get_mut(&mut self, d: Dir) -> &mut u64 {
        match d {
            Dir::ToServer => &mut self.to_server,
            Dir::ToClient => &mut self.to_client,
        }
    }
    /// Value by direction.
    pub fn get(&self, d: Dir) -> u64 {
        match d {
            Dir::ToServer => self.to_server,
            Dir::ToClient => self.to_client,
        }
    }
}

/// The server's answer to one command.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Response {
    /// `ok`, `error`, `resultset`, `eof`, `local_infile`, `none`, `unknown`, `prepare_ok`, `stream`.
    pub kind: &'static str,
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
            || self.request_bytes >= crate::session::BIG_PACKET
    }
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

/// Counts the row tuples after `VALUES` in an INSERT/REPLACE (quote-aware).
/// `total_len` is the whole statement's size, for extrapolating past the kept bytes.
pub fn count_values_rows(sql: &[u8], total_len: u64) -> Option<ValuesRows> {
    let head: Vec<u8> = sql.iter().take(16).map(|b| b.to_ascii_lowercase()).collect();
    let head = String::from_utf8_lossy(&head);
    let head = head.trim_start();
    if !(head.starts_with("insert") || head.starts_with("replace")) {
        return None;
    }
    let (mut quote, mut esc, mut depth) = (0u8, false, 0u32);
    let (mut values_at, mut first_row, mut last_end, mut rows) = (None, 0usize, 0usize, 0u64);
    let mut i = 0;
    while i < sql.len() {
        let c = sql[i];
        if quote != 0 {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == quote {
                quote = 0;
            } else {
                // inside a literal (a BLOB's hex or escaped bytes, most of a big
                // INSERT): jump to the next quote or backslash
                i = memchr::memchr2(quote, b'\\', &sql[i..]).map_or(sql.len(), |k| i + k);
                continue;
            }
        } else if matches!(c, b'\'' | b'"' | b'`') {
            quote = c;
        } else if values_at.is_none() {
            if (c == b'v' || c == b'V') && sql.get(i..i + 6).is_some_and(|w| w.eq_ignore_ascii_case(b"values")) {
                values_at = Some(i + 6);
                i += 6;
                continue;
            }
        } else if c == b'(' {
            if depth == 0 && rows == 0 {
                first_row = i;
            }
            depth += 1;
        } else if c == b')' && depth > 0 {
            depth -= 1;
            if depth == 0 {
                rows += 1;
                last_end = i + 1;
            }
        }
        i += 1;
    }
    values_at?;
    if rows == 0 {
        // one row that runs past the kept bytes: a single huge value
        return (depth > 0).then(|| ValuesRows {
            rows_seen: 0,
            bytes_per_row: total_len.saturating_sub(first_row as u64),
            rows_estimated: 1,
        });
    }
    let per_f = (last_end - first_row) as f64 / rows as f64;
    let per = (per_f.round() as u64).max(1);
    let whole = sql.len() as u64 >= total_len.saturating_sub(1);
    let estimated = if whole { rows } else { ((total_len.saturating_sub(first_row as u64) as f64 / per_f).round() as u64).max(rows) };
    Some(ValuesRows { rows_seen: rows, bytes_per_row: per, rows_estimated: estimated })
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

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
}

/// A protocol-level event (malformed packet, resync, cap hit, ...).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ProtoEvent {
    /// When.
    pub ts: Timestamp,
    /// Machine-readable kind: `malformed`, `unexpected`, `gap`, `resync`, `cap`.
    pub kind: &'static str,
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

/// A server variable observed in the traffic.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct VarObservation {
    /// When.
    pub ts: Timestamp,
    /// Lower-case variable name.
    pub name: String,
    /// Value as text.
    pub value: String,
    /// `show_variables`, `select`, `set_global`, `set_session`.
    pub how: &'static str,
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
    /// Last ERR from the server, with its time and whether it came with no command pending.
    pub last_error: Option<(u16, Timestamp)>,
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
