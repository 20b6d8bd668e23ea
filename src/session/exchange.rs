//! One request/response exchange in flight: the command's record being built
//! and the response sub-machine that walks the server's packets (OK, ERR,
//! result sets with their column definitions and rows, PREPARE_OK with its
//! parameter and column definitions, LOCAL INFILE, binlog streams).
//!
//! [`Exchange::on_server_packet`] only updates the exchange itself; what the
//! connection must learn from the packet is returned as [`Effects`] and applied
//! by the caller, so the exchange never needs the rest of the session.

use super::lossy;
use super::statements::Stmt;
use crate::config::session::{MAX_STATE_CHANGES, MAX_VAR_COLUMNS, MAX_VAR_ROWS};
use crate::model::{CommandRecord, ResponseKind, ServerError, VarObservation, VarSource};
use crate::mysql::framing::Packet;
use crate::mysql::messages as msg;
use crate::mysql::{Capabilities, CommandCode};
use crate::time::Timestamp;

/// Where the response parser is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resp {
    /// Waiting for the first response packet.
    First,
    /// Column definitions, this many left.
    Cols(u64),
    /// After the last column definition (an EOF may follow).
    ColsEnd,
    /// Rows until the terminator.
    Rows,
    /// PREPARE_OK parameter definitions left, then this many columns.
    PrepParams(u32, u32),
    /// PREPARE_OK column definitions left.
    PrepCols(u32),
    /// COM_FIELD_LIST: column definitions until EOF.
    FieldList,
    /// The client is uploading a LOCAL INFILE.
    LocalInfileData,
    /// The upload ended; the server's OK comes next.
    LocalInfileOk,
    /// COM_CHANGE_USER: authentication exchange, then OK/ERR.
    ChangeUserAuth,
    /// A stream of packets (binlog dump) until EOF.
    Stream,
}

/// One command in flight.
#[derive(Clone, Debug)]
pub struct Exchange {
    /// The record being built.
    pub rec: CommandRecord,
    /// The command byte.
    pub code: CommandCode,
    /// Response parser state.
    pub resp: Resp,
    /// Rows are in the binary protocol.
    pub binary: bool,
    /// COM_STMT_PREPARE: the SQL, for the statement table.
    pub prepare_sql: Option<String>,
    /// The statement may return server variables (`max_allowed_packet`, `wait_timeout`).
    pub capture_vars: bool,
    /// Column names of such a result (lower case, bounded).
    pub col_names: Vec<String>,
    /// Rows of such a result (bounded).
    pub var_rows: Vec<Vec<Option<String>>>,
    /// Time of the last packet of the exchange.
    pub last_ts: Timestamp,
    /// The server answered at least once.
    pub answered: bool,
    /// The sequence id its next response packet should carry.
    pub next_seq: u8,
    /// The request was adopted from a partial packet at this time (1153 case).
    pub incomplete_ts: Option<Timestamp>,
    /// (user, schema) that COM_CHANGE_USER / COM_INIT_DB switch to, once the server says OK.
    pub identity_change: Option<(Option<String>, Option<String>)>,
}

/// What a server packet teaches the connection beyond the exchange itself.
#[derive(Clone, Debug, Default)]
pub struct Effects {
    /// The exchange is complete.
    pub done: bool,
    /// The server answered ERR.
    pub err: Option<ServerError>,
    /// A statement was prepared.
    pub new_stmt: Option<(u32, Stmt)>,
    /// Server variables seen.
    pub vars: Vec<VarObservation>,
    /// The packet did not parse as expected.
    pub malformed: Option<String>,
    /// The server reported a new current schema (session tracking).
    pub schema_change: Option<String>,
}

impl Exchange {
    /// Walks one server packet of this exchange's response; what the
    /// connection must learn from it goes into `fx` (which starts empty).
    pub fn on_server_packet(&mut self, p: &Packet<'_>, caps: Capabilities, cache_meta: bool, fx: &mut Effects) {
        let payload = p.payload;
        let first = payload.first().copied().unwrap_or(0);
        self.answered = true;
        self.last_ts = p.ts;
        self.next_seq = p.last_seq.wrapping_add(1);
        let r = &mut self.rec.response;
        r.bytes += p.len;
        r.largest_packet = r.largest_packet.max(p.len);
        let is_err = first == 0xff && !matches!(self.resp, Resp::Stream);
        if is_err {
            match msg::parse_err(payload) {
                Ok((_, e)) => {
                    r.kind = ResponseKind::Error;
                    r.error_code = Some(e.code);
                    r.sqlstate = e.sqlstate.map(|s| String::from_utf8_lossy(s).into_owned());
                    let message = lossy(e.message, 512).0;
                    fx.err = Some(ServerError { code: e.code, ts: p.ts, message: message.clone() });
                    r.message = Some(message);
                }
                Err(_) => fx.malformed = Some("malformed ERR packet".into()),
            }
            fx.done = true;
        } else {
            match self.resp {
                Resp::First | Resp::ChangeUserAuth => {
                    if self.code == CommandCode::STMT_PREPARE && first == 0 {
                        match msg::parse_prepare_ok(payload) {
                            Ok((_, ok)) => {
                                r.kind = ResponseKind::PrepareOk;
                                self.rec.statement_id = Some(ok.statement_id);
                                fx.new_stmt = Some((
                                    ok.statement_id,
                                    Stmt {
                                        sql: self.prepare_sql.clone().unwrap_or_default(),
                                        num_params: ok.num_params,
                                        ..Default::default()
                                    },
                                ));
                                let (np, nc) = (u32::from(ok.num_params), u32::from(ok.num_columns));
                                if np > 0 {
                                    self.resp = Resp::PrepParams(np, nc);
                                } else if nc > 0 {
                                    self.resp = Resp::PrepCols(nc);
                                } else {
                                    fx.done = true;
                                }
                            }
                            Err(_) => {
                                fx.malformed = Some("malformed COM_STMT_PREPARE_OK".into());
                                fx.done = true;
                            }
                        }
                    } else if first == 0x00
                        || (first == 0xfe && self.resp == Resp::First && payload.len() >= 7 && self.code != CommandCode::STATISTICS)
                    {
                        if let Ok((_, ok)) = msg::parse_ok(payload, caps) {
                            r.kind = ResponseKind::Ok;
                            if let Ok((_, changes)) = msg::parse_session_state(ok.session_state) {
                                for c in changes.iter().take(MAX_STATE_CHANGES) {
                                    match c {
                                        msg::StateChange::Schema(s) => {
                                            let s = lossy(s, 128).0;
                                            r.state_changes.push(format!("schema={s}"));
                                            fx.schema_change = Some(s);
                                        }
                                        msg::StateChange::SystemVariable(n, v) => {
                                            let (n, v) = (lossy(n, 64).0.to_ascii_lowercase(), lossy(v, 64).0);
                                            r.state_changes.push(format!("{n}={v}"));
                                            if n == "max_allowed_packet" || n == "wait_timeout" {
                                                fx.vars.push(VarObservation { ts: p.ts, name: n, value: v, how: VarSource::SessionTrack });
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
                                self.resp = Resp::First;
                            } else {
                                fx.done = true;
                            }
                        } else {
                            fx.malformed = Some("malformed OK packet".into());
                            fx.done = true;
                        }
                    } else if self.resp == Resp::ChangeUserAuth {
                        // auth switch / more data: the client answers, then OK/ERR
                    } else if msg::is_eof(payload) {
                        r.kind = ResponseKind::Eof;
                        fx.done = true;
                    } else if first == 0xfb && self.code == CommandCode::QUERY {
                        r.kind = ResponseKind::LocalInfile;
                        self.resp = Resp::LocalInfileData;
                    } else if self.code == CommandCode::STATISTICS {
                        r.kind = ResponseKind::Ok;
                        fx.done = true;
                    } else {
                        match crate::mysql::wire::parse_lenenc_int(payload) {
                            Ok((rest, n)) if n > 0 => {
                                r.kind = ResponseKind::Resultset;
                                r.result_sets = Some(r.result_sets.unwrap_or(0) + 1);
                                r.rows.get_or_insert(0);
                                let skip_defs = cache_meta && rest.first() == Some(&0);
                                self.resp = if skip_defs { Resp::ColsEnd } else { Resp::Cols(n) };
                            }
                            _ => {
                                r.kind = ResponseKind::Unknown;
                                fx.malformed = Some(format!("unexpected response 0x{first:02x} to {}", self.rec.command));
                                fx.done = true;
                            }
                        }
                    }
                }
                Resp::Cols(_) if msg::is_eof(payload) => {
                    // fewer column definitions than announced: the rows follow
                    fx.malformed = Some("column definitions cut short by an EOF".into());
                    self.resp = Resp::Rows;
                }
                Resp::Cols(n) => {
                    if self.capture_vars
                        && self.col_names.len() < MAX_VAR_COLUMNS
                        && let Ok((_, c)) = msg::parse_column_def(payload)
                    {
                        self.col_names.push(lossy(c.name, 64).0.to_ascii_lowercase());
                    }
                    self.resp = if n > 1 { Resp::Cols(n - 1) } else { Resp::ColsEnd };
                }
                Resp::ColsEnd | Resp::Rows => {
                    let was_cols_end = self.resp == Resp::ColsEnd;
                    self.resp = Resp::Rows;
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
                            self.resp = Resp::First;
                        } else {
                            // also when a cursor was opened: its rows come with COM_STMT_FETCH
                            fx.done = true;
                        }
                    } else {
                        let rows = r.rows.get_or_insert(0);
                        *rows += 1;
                        if r.kind == ResponseKind::None {
                            r.kind = ResponseKind::Resultset;
                        }
                        if self.capture_vars
                            && self.var_rows.len() < MAX_VAR_ROWS
                            && !self.binary
                            && let Ok((_, vals)) = msg::parse_text_row(payload, MAX_VAR_COLUMNS)
                        {
                            self.var_rows.push(vals.iter().map(|v| v.map(|b| lossy(b, 64).0)).collect());
                        }
                    }
                }
                Resp::PrepParams(left, nc) => {
                    if msg::is_eof(payload) {
                        self.resp = if nc > 0 { Resp::PrepCols(nc) } else { Resp::Rows };
                        if nc == 0 {
                            fx.done = true;
                        }
                    } else if left <= 1 {
                        // last param def; EOF follows unless DEPRECATE_EOF
                        if caps.has(Capabilities::DEPRECATE_EOF) {
                            if nc > 0 {
                                self.resp = Resp::PrepCols(nc);
                            } else {
                                fx.done = true;
                            }
                        } else {
                            self.resp = Resp::PrepParams(0, nc);
                        }
                    } else {
                        self.resp = Resp::PrepParams(left - 1, nc);
                    }
                }
                Resp::PrepCols(left) => {
                    if msg::is_eof(payload) || left == 0 || (left == 1 && caps.has(Capabilities::DEPRECATE_EOF)) {
                        fx.done = true;
                    } else {
                        self.resp = Resp::PrepCols(left - 1);
                    }
                }
                Resp::FieldList => {
                    if msg::is_eof(payload) {
                        r.kind = ResponseKind::Resultset;
                        fx.done = true;
                    } else {
                        *r.rows.get_or_insert(0) += 1;
                    }
                }
                Resp::LocalInfileData => {
                    fx.malformed = Some("server packet during LOCAL INFILE upload".into());
                }
                Resp::LocalInfileOk => {
                    if let Ok((_, ok)) = msg::parse_ok(payload, caps) {
                        r.affected_rows = Some(ok.affected_rows);
                        if ok.warnings > 0 {
                            r.warnings = Some(ok.warnings);
                        }
                    }
                    fx.done = true;
                }
                Resp::Stream => {
                    r.kind = ResponseKind::Stream;
                    if msg::is_eof(payload) {
                        fx.done = true; // end of a non-blocking binlog dump
                    } else {
                        *r.rows.get_or_insert(0) += 1; // one binlog event per packet
                    }
                }
            }
        }
        if fx.done && self.capture_vars {
            self.learn_vars(p.ts, &mut fx.vars);
        }
    }

    /// Variables learned from the result set of `SHOW VARIABLES` (name, value
    /// rows) or of `SELECT @@var` (a column named after the variable).
    fn learn_vars(&self, ts: Timestamp, vars: &mut Vec<VarObservation>) {
        for row in &self.var_rows {
            if row.len() >= 2 && self.col_names.first().is_some_and(|c| c.contains("variable_name")) {
                if let (Some(n), Some(v)) = (&row[0], &row[1]) {
                    vars.push(VarObservation { ts, name: n.to_ascii_lowercase(), value: v.clone(), how: VarSource::ShowVariables });
                }
            } else {
                for (k, c) in self.col_names.iter().enumerate() {
                    for var in ["max_allowed_packet", "wait_timeout"] {
                        if c.contains(var)
                            && let Some(Some(v)) = row.get(k)
                        {
                            vars.push(VarObservation { ts, name: var.into(), value: v.clone(), how: VarSource::Select });
                        }
                    }
                }
            }
        }
    }
}
