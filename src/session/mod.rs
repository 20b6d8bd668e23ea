//! One MySQL connection: the protocol state machine over framed packets.
//!
//! The transition table ([`Phase`] x packet x direction) lives in
//! [`State::on_packet`]; parsers stay pure in `crate::mysql`. Everything kept is
//! owned and bounded by `config::Limits`; anomalies become events, never `Err`.

mod record;

pub use record::*;

use crate::config::Limits;
use crate::mysql::compress::{Algorithm, Decompressor};
use crate::mysql::framing::{Control, Framer, Packet};
use crate::mysql::messages::{self as msg, Command, LoginRequest};
use crate::mysql::{Capabilities, CommandCode};
use crate::time::Timestamp;
use std::collections::{HashMap, VecDeque};

/// Where the connection is in the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the server greeting.
    AwaitGreeting,
    /// Greeting seen; waiting for the client's handshake response.
    AwaitLogin,
    /// Authentication exchange in progress.
    Auth,
    /// Command phase.
    Command,
    /// After SSLRequest: the stream is TLS and opaque.
    Tls,
    /// Picked up mid-stream: waiting for a recognisable command.
    Unsynced,
    /// Authentication failed; the server will close.
    AuthFailed,
}

/// Response parsing state for the exchange in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resp {
    First,
    Cols(u64),
    ColsEnd,
    Rows,
    PrepParams(u32, u32),
    PrepCols(u32),
    FieldList,
    LocalInfileData,
    LocalInfileOk,
    ChangeUserAuth,
    Stream,
}

#[derive(Clone, Debug)]
struct Exchange {
    rec: CommandRecord,
    code: CommandCode,
    resp: Resp,
    binary: bool,
    prepare_sql: Option<String>,
    capture_vars: bool,
    col_names: Vec<String>,
    var_rows: Vec<Vec<Option<String>>>,
    last_ts: Timestamp,
    answered: bool,
    incomplete_ts: Option<Timestamp>,
    /// (user, schema) that COM_CHANGE_USER / COM_INIT_DB switch to, once the server says OK.
    identity_change: Option<(Option<String>, Option<String>)>,
}

#[derive(Clone, Debug, Default)]
struct Stmt {
    sql: String,
    num_params: u16,
    types: Vec<(u8, u8)>,
    long_data: Vec<u16>,
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
    /// Login result: `ok`, `error <code>`, or none when not seen.
    pub auth_result: Option<String>,
    /// Connection attributes sent by the client (program name, driver).
    pub attrs: Vec<(String, String)>,
}

/// Per-connection protocol state (everything but the byte-level I/O).
#[derive(Clone, Debug)]
pub struct State {
    limits: Limits,
    /// Protocol phase.
    pub phase: Phase,
    server_caps: Capabilities,
    caps: Capabilities,
    mariadb_ext: u32,
    compress_pending: Option<Algorithm>,
    /// Negotiated compression.
    pub compression: Option<Algorithm>,
    /// Identity learned from the handshake.
    pub identity: Identity,
    /// True when the handshake was not captured.
    pub mid_stream: bool,
    pending: VecDeque<Exchange>,
    next_seq: u8,
    in_exchange: bool,
    stmts: HashMap<u32, Stmt>,
    /// Completed commands kept (bounded; flagged ones always kept).
    pub commands: Vec<CommandRecord>,
    /// Commands seen in all.
    pub commands_total: u64,
    /// Commands not kept because of the cap.
    pub commands_omitted: u64,
    /// Server errors of commands not kept, by code: count and first message.
    pub omitted_errors: std::collections::BTreeMap<u16, (u64, String)>,
    /// Flagged commands kept (see `Limits::max_flagged_per_conn`).
    flagged_kept: usize,
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
    /// `KILL` targets sent by this connection: (ts, connection id, query-only).
    pub kills: Vec<(Timestamp, u32, bool)>,
    /// Close facts.
    pub end: EndFacts,
    gap_pending: [bool; 2],
    reply_resync: Option<u64>,
    comp_next_seq: u8,
    server_closed: bool,
    last_packet_ts: Option<Timestamp>,
    /// Bytes skipped while resynchronising.
    pub skipped_bytes: u64,
    /// TLS record-layer version, when seen.
    pub tls_version: Option<String>,
    /// Replication stream (binlog dump) detected.
    pub replication: bool,
    /// PDU trace (only when `Limits::trace_pdus` > 0).
    pub pdus: Vec<PduTrace>,
}

/// Packets at or above this size are remembered for the oversize detectors.
pub const BIG_PACKET: u64 = 256 * 1024;
const MAX_BIG_PACKETS: usize = 32;
const MAX_PENDING: usize = 256;

fn lossy(b: &[u8], cap: usize) -> (String, bool) {
    let cut = b.len() > cap;
    (String::from_utf8_lossy(&b[..b.len().min(cap)]).into_owned(), cut)
}

fn value_text(v: &msg::Value<'_>) -> String {
    match v {
        msg::Value::Null => "NULL".into(),
        msg::Value::Int(n) => n.to_string(),
        msg::Value::Float(f) => f.to_string(),
        msg::Value::Temporal(s) => s.clone(),
        msg::Value::Bytes(b) => {
            let (s, cut) = lossy(b, 64);
            if cut { format!("'{s}…' ({} bytes)", b.len()) } else { format!("'{s}'") }
        }
    }
}

impl State {
    fn new(limits: Limits, mid_stream: bool) -> Self {
        State {
            limits,
            phase: if mid_stream { Phase::Unsynced } else { Phase::AwaitGreeting },
            server_caps: Capabilities(0),
            caps: Capabilities(Capabilities::PROTOCOL_41 | Capabilities::SECURE_CONNECTION),
            mariadb_ext: 0,
            compress_pending: None,
            compression: None,
            identity: Identity::default(),
            mid_stream,
            pending: VecDeque::new(),
            next_seq: 0,
            in_exchange: false,
            stmts: HashMap::new(),
            commands: Vec::new(),
            commands_total: 0,
            commands_omitted: 0,
            omitted_errors: std::collections::BTreeMap::new(),
            flagged_kept: 0,
            errors: 0,
            seq_anomalies: Vec::new(),
            seq_anomalies_total: 0,
            events: Vec::new(),
            events_total: 0,
            big_packets: Vec::new(),
            bytes: PerDir::default(),
            largest: PerDir::default(),
            vars: Vec::new(),
            kills: Vec::new(),
            end: EndFacts::default(),
            gap_pending: [false; 2],
            reply_resync: None,
            comp_next_seq: 0,
            server_closed: false,
            last_packet_ts: None,
            skipped_bytes: 0,
            tls_version: None,
            replication: false,
            pdus: Vec::new(),
        }
    }

    fn event(&mut self, ts: Timestamp, kind: &'static str, dir: Option<Dir>, detail: String) {
        self.events_total += 1;
        if self.events.len() < self.limits.max_events_per_conn {
            self.events.push(ProtoEvent { ts, kind, direction: dir, detail });
        }
    }

    fn note_big(&mut self, ts: Timestamp, dir: Dir, bytes: u64, parts: u32, incomplete: bool) {
        if bytes < BIG_PACKET {
            return;
        }
        let command_index = self.pending.front().map(|e| e.rec.index);
        let b = BigPacket { ts, direction: dir, bytes, parts, command_index, incomplete };
        if self.big_packets.len() < MAX_BIG_PACKETS {
            self.big_packets.push(b);
        } else if let Some(min) = self.big_packets.iter_mut().min_by_key(|p| p.bytes)
            && min.bytes < bytes
        {
            *min = b;
        }
    }

    /// Compares a packet's sequence id with the expected one; records an
    /// anomaly attributed to command `cmd` (if any). Returns true on anomaly.
    fn check_seq(&mut self, p: &Packet<'_>, dir: Dir, cmd: Option<u64>) -> bool {
        // After a client packet with a wrong id, the server's reply re-synchronises
        // (MariaDB answers a broken packet with sequence id 0): not a second anomaly.
        // Under compression the inner ids follow the compressed counter: checked there.
        let resync = (dir == Dir::ToClient && cmd.is_some() && self.reply_resync == cmd) || self.compression.is_some();
        self.reply_resync = None;
        let anomaly = p.seq != self.next_seq && !resync;
        if anomaly {
            self.seq_anomalies_total += 1;
            if let Some(e) = self.pending.iter_mut().rev().find(|e| Some(e.rec.index) == cmd) {
                e.rec.seq_anomalies += 1;
            }
            if self.seq_anomalies.len() < self.limits.max_events_per_conn {
                self.seq_anomalies.push(SeqAnomaly {
                    ts: p.ts,
                    direction: dir,
                    expected: self.next_seq,
                    actual: p.seq,
                    command_index: cmd,
                    after_gap: self.gap_pending[dir.idx()],
                });
            }
            if dir == Dir::ToServer {
                self.reply_resync = cmd;
            }
        }
        if p.seq_breaks > 0 {
            self.event(p.ts, "malformed", Some(dir), format!("{} continuation packet(s) with a broken sequence id", p.seq_breaks));
        }
        self.next_seq = p.last_seq.wrapping_add(1);
        self.gap_pending[dir.idx()] = false;
        anomaly
    }

    /// Checks a compressed frame's sequence id (compressed protocol).
    fn check_compressed_seq(&mut self, seq: u8, dir: Dir, new_command: bool, ts: Timestamp) {
        if new_command {
            self.comp_next_seq = 0;
        }
        if seq != self.comp_next_seq {
            self.seq_anomalies_total += 1;
            let cmd = if new_command { Some(self.commands_total) } else { self.pending.front().map(|e| e.rec.index) };
            if self.seq_anomalies.len() < self.limits.max_events_per_conn {
                self.seq_anomalies.push(SeqAnomaly {
                    ts,
                    direction: dir,
                    expected: self.comp_next_seq,
                    actual: seq,
                    command_index: cmd,
                    after_gap: self.gap_pending[dir.idx()],
                });
            }
        }
        self.comp_next_seq = seq.wrapping_add(1);
    }

    /// The transition table. Returns `Stop` when the byte stream changes mode
    /// (TLS or compression starts after this packet).
    fn on_packet(&mut self, dir: Dir, p: Packet<'_>) -> Control {
        if self.pdus.len() < self.limits.trace_pdus {
            let error = if p.payload.first() == Some(&0xff) && dir == Dir::ToClient {
                msg::parse_err(p.payload).ok().map(|(_, e)| e.code)
            } else {
                None
            };
            self.pdus.push(PduTrace {
                ts: p.ts,
                direction: dir,
                seq: p.seq,
                len: p.len,
                parts: p.parts,
                command: None,
                query: None,
                error,
            });
        }
        *self.bytes.get_mut(dir) += p.len;
        let l = self.largest.get_mut(dir);
        *l = (*l).max(p.len);
        self.last_packet_ts = Some(p.ts);
        self.note_big(p.ts, dir, p.len, p.parts, false);
        let first = p.payload.first().copied();
        match (self.phase, dir) {
            (Phase::AwaitGreeting, Dir::ToClient) => {
                self.next_seq = p.seq;
                self.check_seq(&p, dir, None);
                match first {
                    Some(0x0a) => match msg::parse_handshake_v10(p.payload) {
                        Ok((_, hs)) => {
                            self.identity.server_version = Some(lossy(hs.server_version, 128).0);
                            self.identity.connection_id = Some(hs.connection_id);
                            self.identity.auth_plugin = hs.auth_plugin.map(|a| lossy(a, 64).0);
                            self.server_caps = hs.capabilities;
                            self.mariadb_ext = hs.mariadb_caps.unwrap_or(0);
                            self.phase = Phase::AwaitLogin;
                        }
                        Err(_) => self.event(p.ts, "malformed", Some(dir), "unparseable server greeting".into()),
                    },
                    Some(0xff) => {
                        if let Ok((_, e)) = msg::parse_err(p.payload) {
                            self.record_server_error(p.ts, &e);
                            self.identity.auth_result = Some(format!("error {}", e.code));
                            self.phase = Phase::AuthFailed;
                        }
                    }
                    _ => {
                        self.event(p.ts, "unexpected", Some(dir), format!("server sent 0x{:02x} instead of a greeting", first.unwrap_or(0)))
                    }
                }
            }
            (Phase::AwaitLogin, Dir::ToServer) => {
                self.check_seq(&p, dir, None);
                match msg::parse_login_request(p.payload) {
                    Ok((_, LoginRequest::SslRequest { .. })) => {
                        self.phase = Phase::Tls;
                        return Control::Stop;
                    }
                    Ok((_, LoginRequest::Response(r))) => {
                        self.caps = Capabilities(r.capabilities.0 & (self.server_caps.0 | Capabilities::PROTOCOL_41));
                        if !self.server_caps.has(Capabilities::LONG_PASSWORD) {
                            self.mariadb_ext &= r.mariadb_caps.unwrap_or(0);
                        } else {
                            self.mariadb_ext = 0;
                        }
                        self.identity.user = Some(lossy(r.user, 128).0);
                        self.identity.database = r.database.filter(|d| !d.is_empty()).map(|d| lossy(d, 128).0);
                        self.identity.client_max_packet = Some(r.max_packet_size);
                        if let Some(pl) = r.auth_plugin {
                            self.identity.auth_plugin = Some(lossy(pl, 64).0);
                        }
                        if let Some(a) = r.attrs
                            && let Ok((_, kv)) = msg::parse_connect_attrs(a)
                        {
                            self.identity.attrs = kv.iter().take(16).map(|(k, v)| (lossy(k, 64).0, lossy(v, 128).0)).collect();
                        }
                        if self.caps.has(Capabilities::COMPRESS) {
                            self.compress_pending = Some(Algorithm::Zlib);
                        } else if self.caps.has(Capabilities::ZSTD) {
                            self.compress_pending = Some(Algorithm::Zstd);
                        }
                        self.phase = Phase::Auth;
                    }
                    Err(_) => {
                        self.event(p.ts, "malformed", Some(dir), "unparseable handshake response".into());
                        self.phase = Phase::Auth;
                    }
                }
            }
            (Phase::Auth, Dir::ToClient) => {
                self.check_seq(&p, dir, None);
                match first {
                    Some(0x00) => {
                        self.identity.auth_result = Some("ok".into());
                        self.phase = Phase::Command;
                        if let Some(a) = self.compress_pending.take() {
                            self.compression = Some(a);
                            return Control::Stop;
                        }
                    }
                    Some(0xff) => {
                        if let Ok((_, e)) = msg::parse_err(p.payload) {
                            self.record_server_error(p.ts, &e);
                            self.identity.auth_result = Some(format!("error {}", e.code));
                        }
                        self.phase = Phase::AuthFailed;
                    }
                    Some(0xfe) => {
                        // AuthSwitchRequest: plugin name, then data
                        if let Ok((_, name)) = crate::mysql::wire::parse_nul_str(&p.payload[1..]) {
                            self.identity.auth_plugin = Some(lossy(name, 64).0);
                        }
                    }
                    _ => {} // AuthMoreData (0x01) and friends
                }
            }
            (Phase::AwaitLogin, Dir::ToClient) if first == Some(0xff) => {
                // the server rejects the connection before any login (e.g. the client sent
                // something that is not a MySQL packet: ERR 1156, or 1043 bad handshake)
                if let Ok((_, e)) = msg::parse_err(p.payload) {
                    self.record_server_error(p.ts, &e);
                    self.identity.auth_result = Some(format!("error {}", e.code));
                    self.event(p.ts, "unexpected", Some(dir), format!("server rejected the connection before login: ERR {}", e.code));
                }
                self.phase = Phase::AuthFailed;
            }
            (Phase::Auth, Dir::ToServer) => {
                self.check_seq(&p, dir, None);
            }
            (Phase::Command | Phase::Unsynced, Dir::ToServer) => self.client_packet(p),
            (Phase::Command, Dir::ToClient) => self.server_packet(p),
            (Phase::Unsynced, Dir::ToClient) => {
                self.skipped_bytes += p.len;
            }
            (Phase::AuthFailed, Dir::ToClient) => {
                if first == Some(0xff)
                    && let Ok((_, e)) = msg::parse_err(p.payload)
                {
                    self.record_server_error(p.ts, &e);
                }
            }
            (Phase::Tls, _) => {}
            (phase, dir) => {
                self.event(p.ts, "unexpected", Some(dir), format!("{} packet of {} bytes while {:?}", dir.sender(), p.len, phase));
            }
        }
        Control::Continue
    }

    fn record_server_error(&mut self, ts: Timestamp, e: &msg::ErrPacket<'_>) {
        self.errors += 1;
        self.end.last_error = Some((e.code, ts));
    }

    fn client_packet(&mut self, p: Packet<'_>) {
        // Continuation of the exchange in flight (LOCAL INFILE data, auth switch data).
        if let Some(ex) = self.pending.back()
            && matches!(ex.resp, Resp::LocalInfileData | Resp::ChangeUserAuth)
            && self.in_exchange
        {
            let idx = Some(ex.rec.index);
            self.check_seq(&p, Dir::ToServer, idx);
            let ex = self.pending.back_mut().expect("checked");
            ex.rec.request_bytes += p.len;
            if ex.resp == Resp::LocalInfileData && p.len == 0 {
                ex.resp = Resp::LocalInfileOk;
            }
            return;
        }
        // A completed packet whose start was already turned into an exchange (1153 case).
        if let Some(ex) = self.pending.back_mut()
            && ex.incomplete_ts == Some(p.ts)
        {
            ex.rec.request_bytes = p.len;
            ex.rec.request_incomplete = p.truncated && p.payload.len() as u64 == 0;
            ex.incomplete_ts = None;
            return;
        }
        let code = CommandCode(p.payload.first().copied().unwrap_or(0));
        if self.phase == Phase::Unsynced {
            if p.seq != 0 || code.name().is_none() || p.payload.is_empty() {
                self.skipped_bytes += p.len;
                return;
            }
            self.phase = Phase::Command;
            self.event(p.ts, "resync", Some(Dir::ToServer), format!("picked up mid-stream at a {code}"));
        }
        self.next_seq = 0;
        self.in_exchange = true;
        let anomalous = self.check_seq(&p, Dir::ToServer, Some(self.commands_total));
        self.start_exchange(&p, false, anomalous);
    }

    fn start_exchange(&mut self, p: &Packet<'_>, incomplete: bool, seq_anomaly: bool) {
        let code = CommandCode(p.payload.first().copied().unwrap_or(0));
        let index = self.commands_total;
        self.commands_total += 1;
        if let Some(t) = self.pdus.last_mut().filter(|t| t.ts == p.ts && t.direction == Dir::ToServer && t.command.is_none()) {
            t.command = Some(code.0);
            if matches!(code, CommandCode::QUERY | CommandCode::STMT_PREPARE) {
                let sql = if code == CommandCode::QUERY && self.caps.has(Capabilities::QUERY_ATTRIBUTES) {
                    match msg::parse_command(p.payload, self.caps) {
                        Ok((_, Command::Query { sql, .. })) => sql,
                        _ => p.payload.get(1..).unwrap_or(&[]),
                    }
                } else {
                    p.payload.get(1..).unwrap_or(&[])
                };
                t.query = Some(lossy(sql, 200).0);
            }
        }
        if let Some(b) = self.big_packets.iter_mut().rev().find(|b| b.ts == p.ts && b.direction == Dir::ToServer) {
            b.command_index.get_or_insert(index);
        }
        let qcap = self.limits.max_query_bytes;
        let mut rec = CommandRecord {
            index,
            ts: p.ts,
            command: code.name().map_or_else(|| code.to_string(), str::to_owned), // no formatter for known names
            sql: None,
            sql_truncated: false,
            argument: None,
            statement_id: None,
            params: None,
            request_bytes: p.len,
            request_incomplete: incomplete,
            response: Response { kind: "none", ..Default::default() },
            latency_us: None,
            seq_anomalies: u32::from(seq_anomaly),
            values_rows: None,
        };
        let mut resp = Resp::First;
        let mut binary = false;
        let mut prepare_sql = None;
        let mut capture_vars = false;
        let mut identity_change = None;
        match msg::parse_command(p.payload, self.caps) {
            Ok((_, cmd)) => match cmd {
                Command::Query { sql, .. } => {
                    if p.len >= BIG_PACKET / 4 {
                        rec.values_rows = count_values_rows(sql, p.len.saturating_sub(1));
                    }
                    let (s, cut) = lossy(sql, qcap);
                    rec.sql_truncated = cut || p.truncated || incomplete;
                    self.note_sql(p.ts, &s);
                    capture_vars = contains_ci(sql, b"max_allowed_packet") || contains_ci(sql, b"wait_timeout");
                    rec.sql = Some(s);
                }
                Command::StmtPrepare { sql } => {
                    let (s, cut) = lossy(sql, qcap);
                    rec.sql_truncated = cut || p.truncated;
                    prepare_sql = Some(s.clone());
                    rec.sql = Some(s);
                }
                Command::StmtExecute { statement_id, params, .. } => {
                    rec.statement_id = Some(statement_id);
                    binary = true;
                    if let Some(st) = self.stmts.get_mut(&statement_id) {
                        rec.sql = Some(st.sql.clone());
                        let mut types = std::mem::take(&mut st.types);
                        if !p.truncated {
                            match msg::parse_execute_params(params, usize::from(st.num_params), &mut types, &st.long_data) {
                                Ok((_, vals)) => rec.params = Some(vals.iter().take(64).map(value_text).collect()),
                                Err(_) => rec.params = None,
                            }
                        }
                        st.types = types;
                        st.long_data.clear();
                    }
                }
                Command::StmtSendLongData { statement_id, param, .. } => {
                    rec.statement_id = Some(statement_id);
                    rec.argument = Some(format!("param {param}"));
                    if let Some(st) = self.stmts.get_mut(&statement_id) {
                        if !st.long_data.contains(&param) && st.long_data.len() < 256 {
                            st.long_data.push(param);
                        }
                        rec.sql = Some(st.sql.clone());
                    }
                }
                Command::StmtClose { statement_id } | Command::StmtReset { statement_id } => {
                    rec.statement_id = Some(statement_id);
                    if let Some(st) = self.stmts.get(&statement_id) {
                        rec.sql = Some(st.sql.clone());
                    }
                    if code == CommandCode::STMT_CLOSE {
                        self.stmts.remove(&statement_id);
                    }
                }
                Command::StmtFetch { statement_id, rows } => {
                    rec.statement_id = Some(statement_id);
                    rec.argument = Some(format!("{rows} rows"));
                    binary = true;
                    resp = Resp::Rows;
                }
                Command::StmtBulkExecute { statement_id } => {
                    rec.statement_id = Some(statement_id);
                    binary = true;
                }
                Command::InitDb { schema } => {
                    let s = lossy(schema, 128).0;
                    rec.argument = Some(s.clone());
                    identity_change = Some((None, Some(s)));
                }
                Command::FieldList { table } => {
                    rec.argument = Some(lossy(table, 128).0);
                    resp = Resp::FieldList;
                }
                Command::ProcessKill { id } => {
                    rec.argument = Some(id.to_string());
                    self.kills.push((p.ts, id, false));
                }
                Command::ChangeUser { user, database } => {
                    rec.argument = Some(lossy(user, 128).0);
                    identity_change = Some((rec.argument.clone(), database.filter(|d| !d.is_empty()).map(|d| lossy(d, 128).0)));
                    resp = Resp::ChangeUserAuth;
                }
                Command::SetOption { option } => rec.argument = Some(option.to_string()),
                Command::BinlogDump { server_id, file } => {
                    rec.argument = Some(format!("server_id {server_id} {}", lossy(file, 128).0));
                    resp = Resp::Stream;
                    self.replication = true;
                }
                Command::RegisterSlave { server_id } => rec.argument = Some(format!("server_id {server_id}")),
                Command::Other { .. } => {
                    if code.name().is_none() {
                        self.event(p.ts, "unexpected", Some(Dir::ToServer), format!("unknown command byte 0x{:02x}", code.0));
                    }
                }
            },
            Err(_) => {
                if !incomplete && !p.truncated {
                    self.event(p.ts, "malformed", Some(Dir::ToServer), format!("malformed {code} ({} bytes)", p.len));
                }
            }
        }
        if code == CommandCode::QUIT {
            self.end.quit_sent = true;
        }
        let ex = Exchange {
            rec,
            code,
            resp,
            binary,
            prepare_sql,
            capture_vars,
            col_names: Vec::new(),
            var_rows: Vec::new(),
            last_ts: p.ts,
            answered: false,
            incomplete_ts: if incomplete { Some(p.ts) } else { None },
            identity_change,
        };
        if code.expects_no_response() {
            self.finish_exchange(ex);
            return;
        }
        if self.pending.len() >= MAX_PENDING
            && let Some(old) = self.pending.pop_front()
        {
            self.event(p.ts, "cap", None, "too many unanswered commands; oldest dropped".into());
            self.finish_exchange(old);
        }
        self.pending.push_back(ex);
    }

    /// Learns from SQL text: KILL targets and SET of interesting variables.
    fn note_sql(&mut self, ts: Timestamp, sql: &str) {
        let t = sql.trim_start();
        // only KILL and SET statements matter: decide without allocating
        let head = t.as_bytes().get(..4).unwrap_or(b"");
        if !head.eq_ignore_ascii_case(b"kill") && !head.get(..3).is_some_and(|h| h.eq_ignore_ascii_case(b"set")) {
            return;
        }
        let lower: String = t.chars().take(200).collect::<String>().to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix("kill") {
            let rest = rest.trim_start();
            let (query_only, rest) =
                if let Some(r) = rest.strip_prefix("query") { (true, r) } else { (false, rest.strip_prefix("connection").unwrap_or(rest)) };
            let rest = rest.trim_start();
            let rest = rest.strip_prefix("hard").or_else(|| rest.strip_prefix("soft")).unwrap_or(rest).trim_start();
            let rest = rest.strip_prefix("query").map(|r| r.trim_start()).unwrap_or(rest);
            let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            if let Ok(id) = digits.parse() {
                self.kills.push((ts, id, query_only));
            }
        }
        if lower.starts_with("set") {
            for var in ["max_allowed_packet", "wait_timeout", "interactive_timeout", "net_read_timeout"] {
                if let Some(pos) = lower.find(var) {
                    let scope = if lower[..pos].contains("global") { "set_global" } else { "set_session" };
                    let after = lower[pos + var.len()..].trim_start();
                    let after = after.strip_prefix(":=").or_else(|| after.strip_prefix('=')).unwrap_or(after).trim_start();
                    let val: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || "*+".contains(*c)).collect();
                    if !val.is_empty() {
                        self.vars.push(VarObservation { ts, name: var.into(), value: val, how: scope });
                    }
                }
            }
        }
    }

    fn server_packet(&mut self, p: Packet<'_>) {
        if self.pending.is_empty() {
            if p.payload.first() == Some(&0xff)
                && let Ok((_, e)) = msg::parse_err(p.payload)
            {
                self.record_server_error(p.ts, &e);
                let text = format!("server sent ERR {} with no command pending: {}", e.code, lossy(e.message, 200).0);
                self.event(p.ts, "unsolicited_error", Some(Dir::ToClient), text);
                return;
            }
            self.event(p.ts, "unexpected", Some(Dir::ToClient), format!("server packet of {} bytes with no command pending", p.len));
            return;
        }
        let front = self.pending.front().map(|e| e.rec.index);
        self.check_seq(&p, Dir::ToClient, front);
        let caps = self.caps;
        let cache_meta = self.mariadb_ext & (1 << 4) != 0;
        let payload = p.payload;
        let first = payload.first().copied().unwrap_or(0);
        let mut done = false;
        let mut err: Option<(u16, Timestamp)> = None;
        let mut new_stmt: Option<(u32, Stmt)> = None;
        let mut vars: Vec<VarObservation> = Vec::new();
        let mut malformed: Option<String> = None;
        let mut schema_change: Option<String> = None;
        {
            let ex = self.pending.front_mut().expect("not empty");
            ex.answered = true;
            ex.last_ts = p.ts;
            let r = &mut ex.rec.response;
            r.bytes += p.len;
            r.largest_packet = r.largest_packet.max(p.len);
            let is_err = first == 0xff && !matches!(ex.resp, Resp::Stream);
            if is_err {
                match msg::parse_err(payload) {
                    Ok((_, e)) => {
                        r.kind = "error";
                        r.error_code = Some(e.code);
                        r.sqlstate = e.sqlstate.map(|s| String::from_utf8_lossy(s).into_owned());
                        r.message = Some(lossy(e.message, 512).0);
                        err = Some((e.code, p.ts));
                    }
                    Err(_) => malformed = Some("malformed ERR packet".into()),
                }
                done = true;
            } else {
                match ex.resp {
                    Resp::First | Resp::ChangeUserAuth => {
                        if ex.code == CommandCode::STMT_PREPARE && first == 0 {
                            match msg::parse_prepare_ok(payload) {
                                Ok((_, ok)) => {
                                    r.kind = "prepare_ok";
                                    ex.rec.statement_id = Some(ok.statement_id);
                                    new_stmt = Some((
                                        ok.statement_id,
                                        Stmt {
                                            sql: ex.prepare_sql.clone().unwrap_or_default(),
                                            num_params: ok.num_params,
                                            ..Default::default()
                                        },
                                    ));
                                    let (np, nc) = (u32::from(ok.num_params), u32::from(ok.num_columns));
                                    if np > 0 {
                                        ex.resp = Resp::PrepParams(np, nc);
                                    } else if nc > 0 {
                                        ex.resp = Resp::PrepCols(nc);
                                    } else {
                                        done = true;
                                    }
                                }
                                Err(_) => {
                                    malformed = Some("malformed COM_STMT_PREPARE_OK".into());
                                    done = true;
                                }
                            }
                        } else if first == 0x00
                            || (first == 0xfe && ex.resp == Resp::First && payload.len() >= 7 && ex.code != CommandCode::STATISTICS)
                        {
                            if let Ok((_, ok)) = msg::parse_ok(payload, caps) {
                                r.kind = "ok";
                                if let Ok((_, changes)) = msg::parse_session_state(ok.session_state) {
                                    for c in changes.iter().take(16) {
                                        match c {
                                            msg::StateChange::Schema(s) => {
                                                let s = lossy(s, 128).0;
                                                r.state_changes.push(format!("schema={s}"));
                                                schema_change = Some(s);
                                            }
                                            msg::StateChange::SystemVariable(n, v) => {
                                                let (n, v) = (lossy(n, 64).0.to_ascii_lowercase(), lossy(v, 64).0);
                                                r.state_changes.push(format!("{n}={v}"));
                                                if n == "max_allowed_packet" || n == "wait_timeout" {
                                                    vars.push(VarObservation { ts: p.ts, name: n, value: v, how: "session_track" });
                                                }
                                            }
                                            msg::StateChange::TransactionState(t) => {
                                                r.state_changes.push(format!("trx_state={}", lossy(t, 16).0))
                                            }
                                            _ => {}
                                        }
                                    }
                                }
                                r.affected_rows = Some(r.affected_rows.unwrap_or(0) + ok.affected_rows);
                                if ok.warnings > 0 {
                                    r.warnings = Some(ok.warnings);
                                }
                                if ok.status.more_results() {
                                    ex.resp = Resp::First;
                                } else {
                                    done = true;
                                }
                            } else {
                                malformed = Some("malformed OK packet".into());
                                done = true;
                            }
                        } else if ex.resp == Resp::ChangeUserAuth {
                            // auth switch / more data: the client answers, then OK/ERR
                        } else if msg::is_eof(payload) {
                            r.kind = "eof";
                            done = true;
                        } else if first == 0xfb && ex.code == CommandCode::QUERY {
                            r.kind = "local_infile";
                            ex.resp = Resp::LocalInfileData;
                        } else if ex.code == CommandCode::STATISTICS {
                            r.kind = "ok";
                            done = true;
                        } else {
                            match crate::mysql::wire::parse_lenenc_int(payload) {
                                Ok((rest, n)) if n > 0 => {
                                    r.kind = "resultset";
                                    r.result_sets = Some(r.result_sets.unwrap_or(0) + 1);
                                    r.rows.get_or_insert(0);
                                    let skip_defs = cache_meta && rest.first() == Some(&0);
                                    ex.resp = if skip_defs { Resp::ColsEnd } else { Resp::Cols(n) };
                                }
                                _ => {
                                    r.kind = "unknown";
                                    malformed = Some(format!("unexpected response 0x{first:02x} to {}", ex.rec.command));
                                    done = true;
                                }
                            }
                        }
                    }
                    Resp::Cols(n) => {
                        if ex.capture_vars
                            && ex.col_names.len() < 8
                            && let Ok((_, c)) = msg::parse_column_def(payload)
                        {
                            ex.col_names.push(lossy(c.name, 64).0.to_ascii_lowercase());
                        }
                        ex.resp = if n > 1 { Resp::Cols(n - 1) } else { Resp::ColsEnd };
                    }
                    Resp::ColsEnd | Resp::Rows => {
                        let was_cols_end = ex.resp == Resp::ColsEnd;
                        ex.resp = Resp::Rows;
                        if was_cols_end && msg::is_eof(payload) {
                            // intermediate EOF (no CLIENT_DEPRECATE_EOF)
                        } else if first == 0xfe && p.len < 0xFF_FFFF {
                            // terminator: EOF, or OK with 0xfe header under DEPRECATE_EOF
                            let status = if msg::is_eof(payload) {
                                msg::parse_eof(payload).map(|(_, e)| e.status).ok()
                            } else {
                                msg::parse_ok(payload, caps).map(|(_, o)| o.status).ok()
                            };
                            if status.is_some_and(|s| s.more_results()) {
                                ex.resp = Resp::First;
                            } else {
                                // also when a cursor was opened: its rows come with COM_STMT_FETCH
                                done = true;
                            }
                        } else {
                            let rows = r.rows.get_or_insert(0);
                            *rows += 1;
                            if r.kind == "none" {
                                r.kind = "resultset";
                            }
                            if ex.capture_vars
                                && ex.var_rows.len() < 8
                                && !ex.binary
                                && let Ok((_, vals)) = msg::parse_text_row(payload, 8)
                            {
                                ex.var_rows.push(vals.iter().map(|v| v.map(|b| lossy(b, 64).0)).collect());
                            }
                        }
                    }
                    Resp::PrepParams(left, nc) => {
                        if msg::is_eof(payload) {
                            ex.resp = if nc > 0 { Resp::PrepCols(nc) } else { Resp::Rows };
                            if nc == 0 {
                                done = true;
                            }
                        } else if left <= 1 {
                            // last param def; EOF follows unless DEPRECATE_EOF
                            if caps.has(Capabilities::DEPRECATE_EOF) {
                                if nc > 0 {
                                    ex.resp = Resp::PrepCols(nc);
                                } else {
                                    done = true;
                                }
                            } else {
                                ex.resp = Resp::PrepParams(0, nc);
                            }
                        } else {
                            ex.resp = Resp::PrepParams(left - 1, nc);
                        }
                    }
                    Resp::PrepCols(left) => {
                        if msg::is_eof(payload) || left == 0 || (left == 1 && caps.has(Capabilities::DEPRECATE_EOF)) {
                            done = true;
                        } else {
                            ex.resp = Resp::PrepCols(left - 1);
                        }
                    }
                    Resp::FieldList => {
                        if msg::is_eof(payload) {
                            r.kind = "resultset";
                            done = true;
                        } else {
                            *r.rows.get_or_insert(0) += 1;
                        }
                    }
                    Resp::LocalInfileData => {
                        malformed = Some("server packet during LOCAL INFILE upload".into());
                    }
                    Resp::LocalInfileOk => {
                        if let Ok((_, ok)) = msg::parse_ok(payload, caps) {
                            r.affected_rows = Some(ok.affected_rows);
                            if ok.warnings > 0 {
                                r.warnings = Some(ok.warnings);
                            }
                        }
                        done = true;
                    }
                    Resp::Stream => {
                        r.kind = "stream";
                        if msg::is_eof(payload) {
                            done = true; // end of a non-blocking binlog dump
                        } else {
                            *r.rows.get_or_insert(0) += 1; // one binlog event per packet
                        }
                    }
                }
            }
            // Variables learned from result sets
            if done && ex.capture_vars {
                for row in &ex.var_rows {
                    if row.len() >= 2 && ex.col_names.first().is_some_and(|c| c.contains("variable_name")) {
                        if let (Some(n), Some(v)) = (&row[0], &row[1]) {
                            vars.push(VarObservation { ts: p.ts, name: n.to_ascii_lowercase(), value: v.clone(), how: "show_variables" });
                        }
                    } else {
                        for (k, c) in ex.col_names.iter().enumerate() {
                            for var in ["max_allowed_packet", "wait_timeout"] {
                                if c.contains(var)
                                    && let Some(Some(v)) = row.get(k)
                                {
                                    vars.push(VarObservation { ts: p.ts, name: var.into(), value: v.clone(), how: "select" });
                                }
                            }
                        }
                    }
                }
            }
        }
        if let Some(m) = malformed {
            self.event(p.ts, "malformed", Some(Dir::ToClient), m);
        }
        if let Some((code, ts)) = err {
            self.errors += 1;
            self.end.last_error = Some((code, ts));
        }
        if let Some((id, st)) = new_stmt {
            if self.stmts.len() < self.limits.max_statements || self.stmts.contains_key(&id) {
                self.stmts.insert(id, st);
            } else {
                self.event(p.ts, "cap", None, "too many prepared statements; not remembered".into());
            }
        }
        self.vars.extend(vars);
        if let Some(s) = schema_change {
            self.identity.database = Some(s);
        }
        if done {
            let ex = self.pending.pop_front().expect("not empty");
            self.in_exchange = !self.pending.is_empty();
            self.finish_exchange(ex);
        }
    }

    fn finish_exchange(&mut self, mut ex: Exchange) {
        if ex.rec.response.kind == "ok"
            && let Some((user, db)) = ex.identity_change.take()
        {
            if let Some(u) = user {
                self.identity.user = Some(u);
            }
            if let Some(d) = db {
                self.identity.database = Some(d);
            }
        }
        if ex.answered {
            ex.rec.latency_us = Some(ex.last_ts.micros_since(ex.rec.ts));
        } else if ex.code.expects_no_response() {
            ex.rec.response.kind = "none";
        }
        let flagged = ex.rec.is_flagged();
        let keep = self.commands.len() < self.limits.max_commands_per_conn
            || (flagged && self.flagged_kept < self.limits.max_flagged_per_conn)
            || ex.rec.response.error_code == Some(1153);
        if keep {
            self.flagged_kept += usize::from(flagged);
            self.commands.push(ex.rec);
        } else {
            self.commands_omitted += 1;
            if let Some(code) = ex.rec.response.error_code {
                let e = self.omitted_errors.entry(code).or_insert_with(|| (0, ex.rec.response.message.clone().unwrap_or_default()));
                e.0 += 1;
            }
        }
    }

    /// A partially received client packet becomes an exchange (the 1153 case:
    /// the server answers before the request is complete).
    fn adopt_partial(&mut self, part: crate::mysql::framing::Partial<'_>) {
        let p = Packet {
            seq: part.seq,
            last_seq: part.seq,
            len: part.declared,
            parts: 1,
            seq_breaks: 0,
            payload: part.payload,
            truncated: true,
            ts: part.ts,
        };
        if self.phase != Phase::Command {
            return;
        }
        *self.bytes.get_mut(Dir::ToServer) += part.received;
        let l = self.largest.get_mut(Dir::ToServer);
        *l = (*l).max(part.declared);
        self.note_big(part.ts, Dir::ToServer, part.declared, 1, true);
        self.next_seq = 0;
        self.in_exchange = true;
        let anomalous = self.check_seq(&p, Dir::ToServer, Some(self.commands_total));
        self.start_exchange(&p, true, anomalous);
        self.event(
            part.ts,
            "incomplete_request",
            Some(Dir::ToServer),
            format!("request declared {} bytes; {} were sent before the server answered or closed", part.declared, part.received),
        );
    }
}

/// A MySQL connection: byte-level I/O (framers, decompressors) plus [`State`].
#[derive(Clone, Debug)]
pub struct Session {
    framers: [Framer; 2],
    decomp: [Option<Decompressor>; 2],
    inflated: Vec<u8>,
    frames: Vec<(u8, usize, usize, bool)>,
    partial_adopted: Option<Timestamp>,
    /// Protocol state.
    pub st: State,
}

impl Session {
    /// A new session; `mid_stream` when the handshake was not captured.
    pub fn new(limits: Limits, mid_stream: bool) -> Self {
        let cap = limits.max_buffered_packet;
        Session {
            framers: [Framer::new(cap), Framer::new(cap)],
            decomp: [None, None],
            inflated: Vec::new(),
            frames: Vec::new(),
            partial_adopted: None,
            st: State::new(limits, mid_stream),
        }
    }

    /// Returns spare capacity to the allocator once the connection has closed
    /// and only lingers for late segments (nothing is discarded): thousands of
    /// connections closing per second all linger at once.
    pub fn shrink(&mut self) {
        for f in &mut self.framers {
            f.shrink();
        }
        self.inflated = Vec::new();
        self.frames = Vec::new();
        self.st.commands.shrink_to_fit();
        self.st.stmts.shrink_to_fit();
        self.st.pending.shrink_to_fit();
    }

    fn adopt_client_partial(&mut self) {
        if !self.st.pending.is_empty() {
            return;
        }
        if let Some(part) = self.framers[0].partial()
            && self.partial_adopted != Some(part.ts)
        {
            self.partial_adopted = Some(part.ts);
            self.st.adopt_partial(part);
        }
    }

    /// Contiguous bytes of `dir`.
    pub fn on_data(&mut self, dir: Dir, ts: Timestamp, data: &[u8]) {
        if self.st.server_closed && dir == Dir::ToServer {
            self.st.end.client_bytes_after_server_close += data.len() as u64;
        }
        if self.st.phase == Phase::Tls {
            self.note_tls(dir, data);
            *self.st.bytes.get_mut(dir) += data.len() as u64;
            return;
        }
        if dir == Dir::ToClient {
            self.adopt_client_partial();
        }
        let d = dir.idx();
        // Picked up mid-stream: a client chunk that is a whole compressed frame holding a
        // command means the compressed protocol was negotiated before the capture began.
        if self.st.phase == Phase::Unsynced
            && dir == Dir::ToServer
            && self.st.compression.is_none()
            && self.framers[d].at_boundary()
            && !plausible_command(data)
            && looks_compressed(data)
        {
            self.st.compression = Some(Algorithm::Zlib);
            for k in 0..2 {
                self.framers[k].reset();
                self.decomp[k] = Some(Decompressor::new(Algorithm::Zlib, self.st.limits.max_compressed_frame));
            }
            self.st.event(ts, "resync", Some(dir), "compressed protocol detected mid-stream".into());
        }
        if self.st.gap_pending[d] && dir == Dir::ToServer && self.framers[d].at_boundary() && !plausible_command(data) {
            self.st.skipped_bytes += data.len() as u64;
            return;
        }
        let mut rest = data;
        while !rest.is_empty() {
            if let Some(dc) = self.decomp[d].as_mut() {
                let Session { framers, st, inflated, frames, .. } = self;
                let fr = &mut framers[d];
                inflated.clear();
                frames.clear();
                dc.feed(rest, &mut |f| {
                    let start = inflated.len();
                    inflated.extend_from_slice(f.data);
                    frames.push((f.seq, start, inflated.len(), f.error.is_some()));
                });
                let buf = std::mem::take(inflated);
                for &(seq, a, b, bad) in frames.iter() {
                    if bad {
                        st.event(ts, "malformed", Some(dir), "undecodable compressed frame".into());
                        fr.reset();
                        continue;
                    }
                    // The server checks the compressed header's sequence id (and re-bases the
                    // inner ids on it), so that is the one to verify: 0 at each new command.
                    let new_command = dir == Dir::ToServer && st.pending.is_empty() && fr.at_boundary();
                    st.check_compressed_seq(seq, dir, new_command, ts);
                    fr.feed(&buf[a..b], ts, &mut |p| {
                        st.on_packet(dir, p);
                        Control::Continue
                    });
                }
                *inflated = buf;
                return;
            }
            let Session { framers, st, .. } = self;
            let used = framers[d].feed(rest, ts, &mut |p| st.on_packet(dir, p));
            rest = &rest[used..];
            if rest.is_empty() {
                break;
            }
            // The stream changed mode after the packet just handed out.
            if self.st.phase == Phase::Tls {
                self.note_tls(dir, rest);
                *self.st.bytes.get_mut(dir) += rest.len() as u64;
                return;
            }
            if let Some(a) = self.st.compression {
                for k in 0..2 {
                    if self.decomp[k].is_none() {
                        self.decomp[k] = Some(Decompressor::new(a, self.st.limits.max_compressed_frame));
                    }
                }
            }
        }
        if let Some(a) = self.st.compression {
            for k in 0..2 {
                if self.decomp[k].is_none() {
                    self.decomp[k] = Some(Decompressor::new(a, self.st.limits.max_compressed_frame));
                }
            }
        }
    }

    fn note_tls(&mut self, dir: Dir, data: &[u8]) {
        // ServerHello: record type 0x16, handshake type 2, legacy version at bytes 9..11.
        if dir == Dir::ToClient && self.st.tls_version.is_none() && data.len() > 11 && data[0] == 0x16 && data[5] == 2 {
            let v = match (data[9], data[10]) {
                (3, 1) => "TLS 1.0",
                (3, 2) => "TLS 1.1",
                (3, 3) if data.windows(4).any(|w| w == [0x00, 0x2b, 0x00, 0x02]) => "TLS 1.3",
                (3, 3) => "TLS 1.2",
                _ => "TLS (unknown version)",
            };
            self.st.tls_version = Some(v.into());
        }
    }

    /// `n` bytes of `dir` were never captured.
    pub fn on_gap(&mut self, dir: Dir, ts: Timestamp, n: u64) {
        let d = dir.idx();
        if dir == Dir::ToClient {
            self.adopt_client_partial();
        }
        self.framers[d].reset();
        if let Some(dc) = self.decomp[d].as_mut() {
            dc.reset();
        }
        self.st.gap_pending[d] = true;
        self.st.event(ts, "gap", Some(dir), format!("{n} bytes not captured; resynchronising"));
        // Exchanges in flight cannot be completed reliably.
        while let Some(mut ex) = self.st.pending.pop_front() {
            if ex.rec.response.kind == "none" {
                ex.rec.response.kind = "unknown";
            }
            self.st.finish_exchange(ex);
        }
        self.st.in_exchange = false;
        if self.st.phase == Phase::Command {
            self.st.phase = Phase::Unsynced;
        }
    }

    /// FIN from `dir`.
    pub fn on_fin(&mut self, dir: Dir, ts: Timestamp) {
        self.close_common(dir, ts);
        if self.st.end.first_fin.is_none() {
            self.st.end.first_fin = Some(dir);
            self.st.end.first_fin_ts = Some(ts);
        }
    }

    /// RST from `dir`.
    pub fn on_rst(&mut self, dir: Dir, ts: Timestamp) {
        self.close_common(dir, ts);
        if self.st.end.first_rst.is_none() {
            self.st.end.first_rst = Some(dir);
            self.st.end.first_rst_ts = Some(ts);
        }
    }

    fn close_common(&mut self, dir: Dir, _ts: Timestamp) {
        if dir == Dir::ToClient {
            self.st.server_closed = true;
        }
        self.adopt_client_partial();
        if self.st.end.last_activity.is_none() || self.st.end.first_fin.is_none() && self.st.end.first_rst.is_none() {
            self.st.end.last_activity = self.st.last_packet_ts;
            self.st.end.pending_command = self.st.pending.front().map(|e| e.rec.index);
        }
    }

    /// Ends the session (connection closed, evicted, or capture over).
    pub fn finish(&mut self, open_at_end: bool) {
        self.adopt_client_partial();
        if self.st.end.first_fin.is_none() && self.st.end.first_rst.is_none() {
            self.st.end.last_activity = self.st.last_packet_ts;
            self.st.end.pending_command = self.st.pending.front().map(|e| e.rec.index);
        }
        self.st.end.open_at_end = open_at_end;
        while let Some(ex) = self.st.pending.pop_front() {
            self.st.finish_exchange(ex);
        }
        // listed in the order they were sent (an unanswered one finishes last)
        self.st.commands.sort_by_key(|c| c.index);
    }
}

/// A whole zlib compressed-protocol frame (or a stored one) whose content starts
/// with a plausible command packet.
pub fn looks_compressed(d: &[u8]) -> bool {
    use std::io::Read;
    if d.len() < 7 + 5 {
        return false;
    }
    let comp = u32::from_le_bytes([d[0], d[1], d[2], 0]) as usize;
    let uncomp = u32::from_le_bytes([d[4], d[5], d[6], 0]) as usize;
    if d[3] != 0 || comp + 7 > d.len() || comp == 0 {
        return false;
    }
    let body = &d[7..7 + comp];
    if uncomp == 0 {
        return plausible_command(body);
    }
    let mut out = Vec::new();
    let ok = flate2::read::ZlibDecoder::new(body).take(uncomp.min(1 << 16) as u64).read_to_end(&mut out).is_ok();
    ok && plausible_command(&out)
}

/// Case-insensitive ASCII substring search, without allocating.
/// Case-insensitive substring test for a needle containing `_`: the underscore
/// (case-free and rare in SQL, absent from hex BLOB literals) is found with
/// SIMD `memchr`, and only the window around each one is compared. Scanning
/// every window of each query was 7% of a whole OLTP analysis.
fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    let Some(anchor) = needle.iter().position(|&b| b == b'_') else {
        return hay.len() >= needle.len() && hay.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle));
    };
    memchr::memchr_iter(b'_', hay).any(|at| {
        at.checked_sub(anchor).and_then(|start| hay.get(start..start + needle.len())).is_some_and(|w| w.eq_ignore_ascii_case(needle))
    })
}

/// A chunk that starts like a command packet: seq 0, a known command byte, a sane length.
pub fn plausible_command(data: &[u8]) -> bool {
    if data.len() < 5 {
        return false;
    }
    let len = u32::from_le_bytes([data[0], data[1], data[2], 0]);
    len >= 1 && data[3] == 0 && CommandCode(data[4]).name().is_some() && CommandCode(data[4]) != CommandCode::SLEEP
}

#[cfg(test)]
mod tests;
