//! The client side of the command phase: a command packet starts an
//! exchange; its arguments (SQL, statement ids, decoded parameters) go into
//! the command record, and the statement's text is scanned for KILLs and SETs.

use super::exchange::{Exchange, Resp};
use super::lossy;
use super::phase::Phase;
use super::state::{SentKill, State};
use crate::config::BIG_PACKET;
use crate::config::session::{MAX_LONG_DATA_PARAMS, MAX_PARAMS};
use crate::model::{CommandRecord, Dir, EventKind, Response, VarObservation};
use crate::mysql::CommandCode;
use crate::mysql::framing::Packet;
use crate::mysql::messages::{self as msg, Command};
use crate::sql::{KillTarget, contains_ci, count_values_rows};
use crate::time::Timestamp;

/// A decoded COM_STMT_EXECUTE parameter as the report shows it.
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
    pub(super) fn client_packet(&mut self, p: Packet<'_>) {
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
                self.sum.skipped_bytes += p.len;
                return;
            }
            self.phase = Phase::Command;
            self.event(p.ts, EventKind::Resync, Some(Dir::ToServer), format!("picked up mid-stream at a {code}"));
        }
        self.seq.next = 0;
        self.in_exchange = true;
        let anomalous = self.check_seq(&p, Dir::ToServer, Some(self.sum.commands_total));
        self.start_exchange(&p, false, anomalous);
    }

    pub(super) fn start_exchange(&mut self, p: &Packet<'_>, incomplete: bool, seq_anomaly: bool) {
        let code = CommandCode(p.payload.first().copied().unwrap_or(0));
        let index = self.sum.commands_total;
        self.sum.commands_total += 1;
        self.trace_command(p, code);
        if let Some(b) = self.sum.big_packets.iter_mut().rev().find(|b| b.ts == p.ts && b.direction == Dir::ToServer) {
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
            response: Response::default(),
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
                    if let Some(st) = self.stmts.get_mut(statement_id) {
                        rec.sql = Some(st.sql.clone());
                        let mut types = std::mem::take(&mut st.types);
                        if !p.truncated {
                            match msg::parse_execute_params(params, usize::from(st.num_params), &mut types, &st.long_data) {
                                Ok((_, vals)) => rec.params = Some(vals.iter().take(MAX_PARAMS).map(value_text).collect()),
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
                    if let Some(st) = self.stmts.get_mut(statement_id) {
                        if !st.long_data.contains(&param) && st.long_data.len() < MAX_LONG_DATA_PARAMS {
                            st.long_data.push(param);
                        }
                        rec.sql = Some(st.sql.clone());
                    }
                }
                Command::StmtClose { statement_id } | Command::StmtReset { statement_id } => {
                    rec.statement_id = Some(statement_id);
                    if let Some(st) = self.stmts.get(statement_id) {
                        rec.sql = Some(st.sql.clone());
                    }
                    if code == CommandCode::STMT_CLOSE {
                        self.stmts.remove(statement_id);
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
                    self.kills.push(SentKill { ts: p.ts, target: KillTarget { id, query_only: false } });
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
                    self.sum.replication = true;
                }
                Command::RegisterSlave { server_id } => rec.argument = Some(format!("server_id {server_id}")),
                Command::Other { .. } => {
                    if code.name().is_none() {
                        let text = format!("unknown command byte 0x{:02x}", code.0);
                        self.event(p.ts, EventKind::Unexpected, Some(Dir::ToServer), text);
                    }
                }
            },
            Err(_) => {
                if !incomplete && !p.truncated {
                    self.event(p.ts, EventKind::Malformed, Some(Dir::ToServer), format!("malformed {code} ({} bytes)", p.len));
                }
            }
        }
        if code == CommandCode::QUIT {
            self.sum.end.quit_sent = true;
        }
        self.push_exchange(Exchange {
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
            next_seq: p.last_seq.wrapping_add(1),
            incomplete_ts: if incomplete { Some(p.ts) } else { None },
            identity_change,
        });
    }

    /// Learns from SQL text: KILL targets and SET of interesting variables.
    fn note_sql(&mut self, ts: Timestamp, sql: &str) {
        let Some(f) = crate::sql::facts(sql) else { return };
        if let Some(target) = f.kill {
            self.kills.push(SentKill { ts, target });
        }
        for s in f.sets {
            self.sum.vars.push(VarObservation { ts, name: s.name.into(), value: s.value, how: s.scope });
        }
    }
}
