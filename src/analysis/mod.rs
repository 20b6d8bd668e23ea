//! Detectors and the report model: turns finished connections into
//! connection records, findings and recommendations.
//!
//! Severity: critical = a client saw an error or lost its connection;
//! warning = it is about to (or the evidence is damaged); info = context.

pub mod limit;
pub mod text;

use crate::capture::InputInfo;
use crate::pipeline::{FinishedConn, TcpInfo};
use crate::session::{BigPacket, CommandRecord, Dir, PerDir, SeqAnomaly, VarObservation};
use crate::time::Timestamp;
pub use limit::{LimitInfo, LimitSource};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use text::{redact_sql, sanitize};

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
    pub caps: crate::config::ReportCaps,
}

/// Severity of a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Context.
    Info,
    /// About to go wrong, or evidence weakened.
    Warning,
    /// A client saw an error or lost its connection.
    Critical,
}

/// One explained problem.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// `oversize_packet`, `near_limit_packet`, `seq_out_of_order`, `connection_drop`, ...
    pub kind: &'static str,
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
    /// Machine-readable facts.
    pub evidence: Value,
}

/// How a connection ended.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CloseInfo {
    /// `client_quit`, `client_aborted`, `client_reset`, `server_error_close`, `server_idle_timeout`,
    /// `killed`, `server_closed`, `server_reset`, `open_at_capture_end`, `evicted`, `auth_failed`, `refused`.
    pub cause: &'static str,
    /// `client`, `server` or `none`.
    pub initiator: &'static str,
    /// The command that was waiting for a response, if any.
    pub pending_command: Option<String>,
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

/// Seconds for people: `2.1 ms`, `1.503 s`, `12 min 3 s`.
pub fn secs(s: f64) -> String {
    if s < 1.0 {
        format!("{:.1} ms", s * 1000.0)
    } else if s < 120.0 {
        format!("{s:.3} s")
    } else {
        format!("{} min {} s", (s / 60.0) as u64, (s % 60.0) as u64)
    }
}

fn is_zero64(v: &u64) -> bool {
    *v == 0
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
    /// Auth plugin and result.
    pub auth: Value,
    /// Connection attributes (program, driver).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// SSLRequest seen: the rest is opaque.
    pub tls: bool,
    /// `none`, `zlib`, `zstd`.
    pub compression: &'static str,
    /// Handshake not captured.
    pub mid_stream: bool,
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
    pub events: Vec<crate::session::ProtoEvent>,
    /// Large packets.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub big_packets: Vec<BigPacket>,
}

/// A concrete change to make.
#[derive(Clone, Debug, Serialize)]
pub struct Recommendation {
    /// `max_allowed_packet`, `batching`, `wait_timeout`, `capture`.
    pub kind: &'static str,
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

#[derive(Clone)]
struct Kill {
    ts: Timestamp,
    target: u32,
    query_only: bool,
    by_conn: u64,
}

/// Accumulates connections as they finish; produces the report at the end.
#[derive(Clone)]
pub struct Analyzer {
    cfg: AnalyzerConfig,
    /// Connection records so far.
    pub conns: Vec<ConnReport>,
    /// Findings so far.
    pub findings: Vec<Finding>,
    kills: Vec<Kill>,
    vars: Vec<(u64, VarObservation)>,
    versions: Vec<String>,
    rejected: Vec<(u64, u64)>,
    largest_accepted: u64,
    errors_by_code: BTreeMap<u16, (u64, String)>,
    slow_count: u64,
    totals: Totals,
    /// Kept findings by severity (info, warning, critical).
    kept_by_severity: [u64; 3],
    /// Approximate bytes of the command records listed so far.
    command_bytes: usize,
    not_listed: NotListed,
}

/// Counts over every connection, listed or not.
#[derive(Clone, Debug, Default)]
struct Totals {
    connections: u64,
    commands: u64,
    errors: u64,
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
    /// Findings not kept, by kind and severity.
    #[serde(skip)]
    by_kind: BTreeMap<(&'static str, Severity), u64>,
    /// KILLs and variable observations not remembered.
    pub observations: u64,
}

fn sev_idx(s: Severity) -> usize {
    match s {
        Severity::Info => 0,
        Severity::Warning => 1,
        Severity::Critical => 2,
    }
}

/// Approximate heap bytes of a command record (what the report budget counts).
fn command_cost(c: &CommandRecord) -> usize {
    std::mem::size_of::<CommandRecord>()
        + c.sql.as_ref().map_or(0, String::capacity)
        + c.argument.as_ref().map_or(0, String::capacity)
        + c.response.message.as_ref().map_or(0, String::capacity)
        + c.response.state_changes.iter().map(|s| s.capacity() + 24).sum::<usize>()
        + c.params.as_ref().map_or(0, |p| p.iter().map(|v| v.capacity() + 24).sum())
}

/// Bytes in binary units, e.g. `5.7 MiB`.
pub fn human(n: u64) -> String {
    const K: f64 = 1024.0;
    let f = n as f64;
    if f >= K * K * K {
        format!("{:.1} GiB", f / K / K / K)
    } else if f >= K * K {
        format!("{:.1} MiB", f / K / K)
    } else if f >= K {
        format!("{:.1} KiB", f / K)
    } else {
        format!("{n} B")
    }
}

/// `1234567` as `1,234,567`.
pub fn commas(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes as `6,000,037 bytes (5.7 MiB)`.
pub fn size(n: u64) -> String {
    if n >= 1024 { format!("{} bytes ({})", commas(n), human(n)) } else { format!("{n} bytes") }
}

fn err_meaning(code: u16) -> Option<&'static str> {
    Some(match code {
        1040 => "Too many connections",
        1043 => "Bad handshake",
        1045 => "Access denied",
        1129 => "Host blocked because of many connection errors",
        1130 => "Host is not allowed to connect",
        1152 => "Aborted connection",
        1153 => "Got a packet bigger than 'max_allowed_packet' bytes",
        1154 => "Got a read error from the connection pipe",
        1156 => "Got packets out of order",
        1158 => "Got an error reading communication packets",
        1159 => "Got timeout reading communication packets",
        1160 => "Got an error writing communication packets",
        1161 => "Got timeout writing communication packets",
        1927 => "Connection was killed",
        4031 => "The client was disconnected by the server because of inactivity",
        _ => return None,
    })
}

/// An INSERT/REPLACE whose value is a hex literal (drivers encode bytes so).
fn is_hex_literal_insert(sql: &str) -> bool {
    let l = sql.to_ascii_lowercase();
    (l.starts_with("insert") || l.starts_with("replace")) && l.contains("values (x'")
}

/// Batching advice for an INSERT/REPLACE near or over `limit`.
fn batching_text(v: Option<crate::session::ValuesRows>, limit: Option<u64>) -> String {
    match (v, limit) {
        (Some(v), Some(l)) if v.rows_estimated > 1 => format!(
            " It is a multi-row INSERT/REPLACE of about {} rows (~{} bytes per row): batches of at most {} rows keep each statement under half the limit.",
            commas(v.rows_estimated),
            commas(v.bytes_per_row),
            commas((l / 2 / v.bytes_per_row).max(1))
        ),
        (Some(v), _) if v.rows_estimated == 1 => " It inserts a single row: the value itself is this large, so batching cannot help; raise max_allowed_packet (server and client) or write the value in chunks.".into(),
        _ => String::new(),
    }
}

/// Errors after which the server closes the connection.
fn is_fatal_error(code: u16) -> bool {
    matches!(code, 1040 | 1043 | 1045 | 1129 | 1130 | 1152 | 1153 | 1154 | 1156 | 1158 | 1159 | 1160 | 1161 | 1184 | 1927 | 4031)
}

impl Analyzer {
    /// A new analyser.
    pub fn new(cfg: AnalyzerConfig) -> Self {
        Analyzer {
            cfg,
            conns: Vec::new(),
            findings: Vec::new(),
            kills: Vec::new(),
            vars: Vec::new(),
            versions: Vec::new(),
            rejected: Vec::new(),
            largest_accepted: 0,
            errors_by_code: BTreeMap::new(),
            slow_count: 0,
            totals: Totals::default(),
            kept_by_severity: [0; 3],
            command_bytes: 0,
            not_listed: NotListed::default(),
        }
    }

    /// Learns one KILL as soon as it is seen, before the connection it ends finishes.
    pub fn learn_kill(&mut self, k: crate::pipeline::KillEvent) {
        if self.kills.len() >= self.cfg.caps.max_observations {
            self.not_listed.observations += 1;
            return;
        }
        self.kills.push(Kill { ts: k.ts, target: k.target, query_only: k.query_only, by_conn: k.by_conn });
    }

    /// The effective max_allowed_packet with its source, given what is known now.
    pub fn limit(&self) -> LimitInfo {
        limit::effective(self.cfg.max_allowed_packet, &self.vars, &self.versions, &self.rejected, self.largest_accepted)
    }

    /// Adds one finished connection; returns the index of its record and the
    /// number of findings it added (they are the last ones in `findings`).
    pub fn add(&mut self, fc: FinishedConn) -> (usize, usize) {
        let before = self.findings.len();
        let st = &fc.st;
        let id = fc.id;
        for v in &st.vars {
            if self.vars.len() >= self.cfg.caps.max_observations {
                self.not_listed.observations += 1;
                break;
            }
            self.vars.push((id, v.clone()));
        }
        if let Some(v) = &st.identity.server_version
            && !self.versions.contains(v)
        {
            self.versions.push(v.clone());
        }
        // What the server accepted and rejected (bounds on max_allowed_packet).
        for c in &st.commands {
            match c.response.error_code {
                Some(1153) => self.rejected.push((id, c.request_bytes)),
                _ if c.response.kind != "none" && c.response.kind != "unknown" && !c.request_incomplete => {
                    self.largest_accepted = self.largest_accepted.max(c.request_bytes)
                }
                _ => {}
            }
            if let Some(code) = c.response.error_code {
                let e = self.errors_by_code.entry(code).or_insert((0, c.response.message.clone().unwrap_or_default()));
                e.0 += 1;
            }
        }
        for (code, (n, msg)) in &st.omitted_errors {
            self.errors_by_code.entry(*code).or_insert_with(|| (0, msg.clone())).0 += n;
        }
        if let Some((code, _)) = st.end.last_error
            && st.commands.iter().all(|c| c.response.error_code != Some(code))
            && !st.omitted_errors.contains_key(&code)
        {
            let e = self.errors_by_code.entry(code).or_insert((0, err_meaning(code).unwrap_or("").to_string()));
            e.0 += 1;
            if code == 1153 && self.rejected.iter().all(|(c, _)| *c != id) {
                self.rejected.push((id, st.largest.to_server));
            }
        }
        let close = self.classify(&fc);
        let rep = self.report_conn(&fc, close);
        self.detect(&fc, &rep);
        self.totals.connections += 1;
        self.totals.commands += rep.commands_total;
        self.totals.errors += rep.errors;
        for f in &self.findings[before..] {
            self.kept_by_severity[sev_idx(f.severity)] += 1;
        }
        self.conns.push(rep);
        (self.conns.len() - 1, self.findings.len() - before)
    }

    /// Applies [`crate::config::ReportCaps`] to the connection added last (with
    /// its `nf` findings), once it has been streamed: findings over the cap go,
    /// lowest severity first; the record goes if over the connection cap with no
    /// finding kept; its commands go (flagged ones last) if over the byte budget.
    pub fn trim_last(&mut self, nf: usize) {
        let caps = self.cfg.caps;
        let Some(id) = self.conns.last().map(|c| c.id) else { return };
        let mut own = nf;
        while self.findings.len() > caps.max_findings {
            // the lowest severity kept; among those, the newest
            let Some(low) = (0..3).find(|&i| self.kept_by_severity[i] > 0) else { break };
            let Some(at) = self.findings.iter().rposition(|f| sev_idx(f.severity) == low) else { break };
            let f = self.findings.remove(at);
            self.kept_by_severity[low] -= 1;
            self.not_listed.findings += 1;
            *self.not_listed.by_kind.entry((f.kind, f.severity)).or_insert(0) += 1;
            if at >= self.findings.len() + 1 - own {
                own -= 1;
            }
        }
        let has_finding = self.findings[self.findings.len() - own..].iter().any(|f| f.connection == Some(id));
        if self.conns.len() > caps.max_connections && !has_finding {
            self.conns.pop();
            self.not_listed.connections += 1;
            return;
        }
        let Some(rep) = self.conns.last_mut() else { return };
        let cost: usize = rep.commands.iter().map(command_cost).sum();
        if self.command_bytes + cost <= caps.max_command_bytes {
            self.command_bytes += cost;
            return;
        }
        let before = rep.commands.len();
        rep.commands.retain(CommandRecord::is_flagged);
        let mut cost: usize = rep.commands.iter().map(command_cost).sum();
        if self.command_bytes + cost > caps.max_command_bytes {
            rep.commands.clear();
            cost = 0;
        }
        rep.commands.shrink_to_fit();
        let dropped = (before - rep.commands.len()) as u64;
        rep.commands_omitted += dropped;
        self.not_listed.commands += dropped;
        self.command_bytes += cost;
    }

    fn classify(&self, fc: &FinishedConn) -> CloseInfo {
        let st = &fc.st;
        let e = &st.end;
        let pending = e.pending_command.and_then(|i| st.commands.iter().find(|c| c.index == i)).map(|c| c.command.clone());
        let mut ci = CloseInfo {
            cause: "open_at_capture_end",
            initiator: "none",
            pending_command: pending.clone(),
            idle_secs: None,
            error_code: None,
            killed_by: None,
            client_bytes_after_close: e.client_bytes_after_server_close,
            detail: String::new(),
        };
        if e.evicted {
            ci.cause = "evicted";
            ci.detail = "no packets for the idle timeout (or the connection table was full); tracking stopped".into();
            return ci;
        }
        let fin = e.first_fin.zip(e.first_fin_ts);
        let rst = e.first_rst.zip(e.first_rst_ts);
        let first = match (fin, rst) {
            (Some(f), Some(r)) => Some(if r.1 < f.1 { (r.0, r.1, true) } else { (f.0, f.1, false) }),
            (Some(f), None) => Some((f.0, f.1, false)),
            (None, Some(r)) => Some((r.0, r.1, true)),
            (None, None) => None,
        };
        let Some((dir, close_ts, is_rst)) = first else {
            ci.detail = "still open when the capture ended".into();
            return ci;
        };
        ci.initiator = dir.sender();
        if is_rst && dir == Dir::ToClient && fc.tcp.history == "Sr" {
            ci.cause = "refused";
            ci.detail =
                "the server host answered the SYN with a RST: nothing listens on that port (clients see 2002/2003 \"Can't connect\")"
                    .into();
            return ci;
        }
        ci.idle_secs = e.last_activity.map(|t| (close_ts.secs_since(t) * 1e6).round() / 1e6);
        let idle = ci.idle_secs.unwrap_or(0.0);
        if st.identity.auth_result.as_deref().is_some_and(|r| r.starts_with("error")) {
            ci.cause = "auth_failed";
            ci.error_code = e.last_error.map(|(c, _)| c);
            ci.detail = format!("login rejected ({})", st.identity.auth_result.clone().unwrap_or_default());
            return ci;
        }
        if e.quit_sent {
            ci.cause = "client_quit";
            ci.detail = "COM_QUIT, clean close".into();
            return ci;
        }
        match dir {
            Dir::ToClient => {
                if let Some((code, ets)) = e.last_error
                    && is_fatal_error(code)
                    && ets <= close_ts
                    && close_ts.secs_since(ets) < 5.0
                {
                    ci.error_code = Some(code);
                    ci.cause = match code {
                        4031 => "server_idle_timeout",
                        1927 => "killed",
                        _ => "server_error_close",
                    };
                    ci.detail = format!(
                        "server sent ERR {code} ({}) and {} the connection {:.3} ms later",
                        err_meaning(code).unwrap_or("error"),
                        if is_rst { "reset" } else { "closed" },
                        close_ts.secs_since(ets) * 1000.0
                    );
                    if code == 1927 {
                        ci.killed_by = self.killer(st.identity.connection_id, fc.start_ts, close_ts);
                    }
                    return ci;
                }
                if let Some(by) = self.killer(st.identity.connection_id, fc.start_ts, close_ts) {
                    ci.cause = "killed";
                    ci.killed_by = Some(by);
                    ci.detail = format!(
                        "KILL {} sent by connection #{by}; the server closed this connection",
                        st.identity.connection_id.unwrap_or(0)
                    );
                    return ci;
                }
                let wait = self.wait_timeout(fc.id);
                if pending.is_none() && wait.is_some_and(|w| idle + 0.5 >= w) {
                    ci.cause = "server_idle_timeout";
                    ci.detail = format!("idle {} >= wait_timeout {} s; the server closed it", secs(idle), wait.unwrap_or(0.0));
                    return ci;
                }
                ci.cause = if is_rst { "server_reset" } else { "server_closed" };
                ci.detail = match &pending {
                    Some(p) => format!(
                        "the server {} the connection while a {p} was waiting for its response: the client sees \"MySQL server has gone away\" (2006) or \"Lost connection\" (2013)",
                        if is_rst { "reset" } else { "closed" }
                    ),
                    None => format!(
                        "the server {} the connection after {} idle, with no error and no KILL in the capture (wait_timeout unknown)",
                        if is_rst { "reset" } else { "closed" },
                        secs(idle)
                    ),
                };
            }
            Dir::ToServer => {
                ci.cause = if is_rst { "client_reset" } else { "client_aborted" };
                ci.detail = match &pending {
                    Some(p) => format!(
                        "the client {} while its {p} was still running (process killed, timeout or crash)",
                        if is_rst { "reset the connection" } else { "closed without COM_QUIT" }
                    ),
                    None => format!("the client {} without COM_QUIT", if is_rst { "reset the connection" } else { "closed" }),
                };
            }
        }
        ci
    }

    fn killer(&self, target: Option<u32>, start: Timestamp, close: Timestamp) -> Option<u64> {
        let t = target?;
        self.kills.iter().filter(|k| k.target == t && !k.query_only && k.ts >= start && k.ts <= close).map(|k| k.by_conn).next_back()
    }

    fn wait_timeout(&self, conn: u64) -> Option<f64> {
        let own = self.vars.iter().rfind(|(c, v)| *c == conn && v.name == "wait_timeout");
        let any = self.vars.iter().rfind(|(_, v)| v.name == "wait_timeout" && v.how != "set_session");
        own.or(any).and_then(|(_, v)| v.value.parse::<f64>().ok())
    }

    fn report_conn(&self, fc: &FinishedConn, close: CloseInfo) -> ConnReport {
        let st = &fc.st;
        let lit = self.cfg.redact_literals;
        let clean = |s: &Option<String>| s.as_deref().map(sanitize);
        let mut commands: Vec<CommandRecord> = Vec::new();
        let mut omitted = st.commands_omitted;
        for c in &st.commands {
            let flagged = c.is_flagged();
            let keep = match self.cfg.commands {
                CommandsMode::All => true,
                CommandsMode::Capped => flagged || commands.len() < self.cfg.max_commands,
                CommandsMode::Flagged => flagged,
                CommandsMode::None => false,
            };
            if !keep {
                omitted += 1;
                continue;
            }
            let mut c = c.clone();
            c.sql = c.sql.as_deref().map(|s| sanitize(&redact_sql(s, lit)));
            c.argument = clean(&c.argument);
            if c.command == "COM_CHANGE_USER" {
                // the argument is the user name; auth data is never kept
            }
            if lit {
                c.params = c.params.map(|p| p.iter().map(|_| "?".to_string()).collect());
            } else {
                c.params = c.params.map(|p| p.iter().map(|v| sanitize(v)).collect());
            }
            c.response.message = clean(&c.response.message);
            commands.push(c);
        }
        let mut events = st.events.clone();
        for e in &mut events {
            e.detail = sanitize(&e.detail);
        }
        let auth = json!({
            "plugin": st.identity.auth_plugin.as_deref().map(sanitize),
            "result": st.identity.auth_result,
            "auth_data": "redacted",
        });
        ConnReport {
            id: fc.id,
            client: fc.client.to_string(),
            server: fc.server.to_string(),
            start_ts: fc.start_ts,
            end_ts: fc.end_ts,
            server_version: clean(&st.identity.server_version),
            connection_id: st.identity.connection_id,
            user: clean(&st.identity.user),
            database: clean(&st.identity.database),
            client_max_packet_size: st.identity.client_max_packet,
            auth,
            attributes: st.identity.attrs.iter().map(|(k, v)| (sanitize(k), sanitize(v))).collect(),
            tls: st.phase == crate::session::Phase::Tls,
            compression: match st.compression {
                None => "none",
                Some(crate::mysql::compress::Algorithm::Zlib) => "zlib",
                Some(crate::mysql::compress::Algorithm::Zstd) => "zstd",
            },
            mid_stream: st.mid_stream,
            bytes: st.bytes,
            largest_packet: st.largest,
            tcp: fc.tcp.clone(),
            close,
            commands_total: st.commands_total,
            commands_omitted: omitted,
            errors: st.errors,
            commands,
            seq_anomalies: st.seq_anomalies.clone(),
            events,
            big_packets: st.big_packets.clone(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        rep: &ConnReport,
        kind: &'static str,
        severity: Severity,
        ts: Option<Timestamp>,
        title: String,
        detail: String,
        evidence: Value,
    ) {
        self.findings.push(Finding {
            kind,
            severity,
            connection: Some(rep.id),
            client: Some(rep.client.clone()),
            server: Some(rep.server.clone()),
            ts,
            title,
            detail,
            evidence,
        });
    }

    fn detect(&mut self, fc: &FinishedConn, rep: &ConnReport) {
        let st = &fc.st;
        let lim = self.limit();
        let who = format!("connection #{} ({} -> {})", rep.id, rep.client, rep.server);
        // --- oversize packets -------------------------------------------------
        let mut oversize_cmds = Vec::new();
        for c in &st.commands {
            let over_limit = lim.bytes.is_some_and(|l| c.request_bytes > l);
            if c.response.error_code == Some(1153) || over_limit {
                oversize_cmds.push(c.index);
                let sql = c.sql.as_deref().map(|s| sanitize(&redact_sql(s, self.cfg.redact_literals)));
                let preview: Option<String> = sql.as_ref().map(|s| s.chars().take(120).collect());
                let closed =
                    matches!(rep.close.cause, "server_error_close" | "server_reset" | "server_closed") && rep.close.initiator == "server";
                let after_close = if closed {
                    format!(
                        "The server then {} the connection{}; the application sees \"MySQL server has gone away\" (2006) or \"Lost connection to MySQL server during query\" (2013), not the 1153 itself.",
                        if rep.close.cause == "server_reset" || rep.tcp.history.contains('r') { "reset" } else { "closed" },
                        rep.close.idle_secs.map(|s| format!(" {:.1} ms later", s * 1000.0)).unwrap_or_default()
                    )
                } else {
                    String::new()
                };
                let limit_txt = match (lim.bytes, lim.upper_bound) {
                    (Some(l), _) => format!("max_allowed_packet is {} ({})", size(l), lim.source.describe()),
                    (None, Some(u)) => match lim.lower_bound {
                        Some(l) if l < u => format!(
                            "the server's max_allowed_packet is between {} (the largest packet it accepted) and {} (inferred; no SHOW VARIABLES in the capture)",
                            size(l),
                            size(u)
                        ),
                        _ => format!(
                            "the server's max_allowed_packet is below {} (inferred from the ERR 1153; no SHOW VARIABLES in the capture)",
                            size(u)
                        ),
                    },
                    _ => "the server's max_allowed_packet is not visible in the capture".into(),
                };
                let mut batching = batching_text(c.values_rows, lim.bytes.or(lim.upper_bound));
                if c.sql.as_deref().is_some_and(is_hex_literal_insert) {
                    batching.push_str(&format!(
                        " The value is sent as a hex literal (X'...'), which doubles it on the wire: the BLOB itself is about {}; binding it as a parameter of a server-side prepared statement sends it raw.",
                        size(c.request_bytes / 2)
                    ));
                }
                let detail = format!(
                    "The client sent a {} of {}{}; {}. {}{}{batching}",
                    c.command,
                    size(c.request_bytes),
                    if c.request_incomplete {
                        " (declared in the packet header; the server answered before it was fully sent)"
                    } else {
                        ""
                    },
                    limit_txt,
                    if c.response.error_code == Some(1153) {
                        "The server answered ERR 1153 (08S01) \"Got a packet bigger than 'max_allowed_packet' bytes\". "
                    } else {
                        ""
                    },
                    after_close
                );
                let ev = json!({
                    "packet_bytes": c.request_bytes,
                    "limit_bytes": lim.bytes,
                    "limit_upper_bound": lim.upper_bound,
                    "limit_source": lim.source.key(),
                    "direction": "to_server",
                    "server_error": c.response.error_code,
                    "command": c.command,
                    "command_index": c.index,
                    "sql_preview": preview,
                    "request_incomplete": c.request_incomplete,
                    "close_cause": rep.close.cause,
                    "client_max_packet_size": st.identity.client_max_packet,
                    "values_rows": c.values_rows,
                });
                self.push(
                    rep,
                    "oversize_packet",
                    Severity::Critical,
                    Some(c.ts),
                    format!("{} packet rejected: bigger than max_allowed_packet ({who})", size(c.request_bytes)),
                    detail,
                    ev,
                );
            } else if let Some(l) = lim.bytes
                && c.request_bytes * 10 >= l * 8
            {
                let pct = c.request_bytes as f64 * 100.0 / l as f64;
                self.push(
                        rep,
                        "near_limit_packet",
                        Severity::Warning,
                        Some(c.ts),
                        format!("{} packet is {pct:.0}% of max_allowed_packet ({who})", size(c.request_bytes)),
                        format!("A {} of {} was accepted, but max_allowed_packet is {} ({}); a slightly larger one will be rejected with ERR 1153 and the connection dropped.{}", c.command, size(c.request_bytes), size(l), lim.source.describe(), batching_text(c.values_rows, Some(l))),
                        json!({"packet_bytes": c.request_bytes, "limit_bytes": l, "limit_source": lim.source.key(), "direction": "to_server", "command_index": c.index, "values_rows": c.values_rows}),
                    );
            }
        }
        // 1153 without a matching command (no size evidence)
        if let Some((1153, ts)) = st.end.last_error
            && oversize_cmds.is_empty()
        {
            self.push(rep, "oversize_packet", Severity::Critical, Some(ts), format!("ERR 1153: packet bigger than max_allowed_packet ({who})"),
                    "The server answered ERR 1153 (08S01) \"Got a packet bigger than 'max_allowed_packet' bytes\"; the offending packet is not in the capture (it began before the capture or was not captured).".into(),
                    json!({"packet_bytes": null, "limit_bytes": lim.bytes, "limit_source": lim.source.key(), "direction": "to_server", "server_error": 1153}));
        }
        // Responses near or over the limit (large result rows)
        if let Some(l) = lim.bytes {
            for b in st.big_packets.iter().filter(|b| b.direction == Dir::ToClient) {
                if b.bytes * 10 >= l * 8 {
                    self.push(rep, if b.bytes > l { "oversize_packet" } else { "near_limit_packet" }, Severity::Warning, Some(b.ts),
                        format!("server sent a {} packet, {:.0}% of max_allowed_packet ({who})", size(b.bytes), b.bytes as f64 * 100.0 / l as f64),
                        "A result row this large fails on clients whose own max_allowed_packet is smaller (error 2020 \"Got packet bigger than 'max_allowed_packet'\" on the client).".into(),
                        json!({"packet_bytes": b.bytes, "limit_bytes": l, "limit_source": lim.source.key(), "direction": "to_client", "server_error": null}));
                }
            }
        }
        // --- sequence ids ---------------------------------------------------
        if st.seq_anomalies_total > 0 {
            let a = &st.seq_anomalies[0];
            let got_1156 =
                st.commands.iter().any(|c| c.response.error_code == Some(1156)) || st.end.last_error.is_some_and(|(c, _)| c == 1156);
            let sev = if a.after_gap {
                Severity::Info
            } else if got_1156 || rep.close.initiator == "server" {
                Severity::Critical
            } else {
                Severity::Warning
            };
            let followed = if got_1156 {
                format!(
                    "The server answered ERR 1156 (08S01) \"Got packets out of order\"; connection end: {} ({}).",
                    rep.close.cause, rep.close.detail
                )
            } else {
                format!("Connection end: {}.", rep.close.cause)
            };
            self.push(rep, "seq_out_of_order", sev, Some(a.ts),
                format!("{} packet(s) with an unexpected sequence id ({who})", st.seq_anomalies_total),
                format!("First: a {} packet had sequence id {} where {} was expected{}. {followed}{}",
                    a.direction.sender(), a.actual, a.expected,
                    a.command_index.and_then(|i| st.commands.iter().find(|c| c.index == i)).map(|c| format!(" (in {})", c.command)).unwrap_or_default(),
                    if a.after_gap { " A TCP gap in the capture precedes it, so the capture itself may explain it." } else { " No TCP gap precedes it: the sender really broke the protocol (a client bug, or two threads sharing one connection)." }),
                json!({"count": st.seq_anomalies_total, "first": a, "server_error": if got_1156 { Some(1156) } else { None }, "after_gap": a.after_gap}));
        }
        // --- connection drops ----------------------------------------------
        let c = &rep.close;
        let sev = match c.cause {
            "killed" | "server_error_close" => Some(Severity::Critical),
            "server_closed" | "server_reset" if c.pending_command.is_some() => Some(Severity::Critical),
            "server_closed" | "server_reset" | "server_idle_timeout" if c.client_bytes_after_close > 0 => Some(Severity::Critical),
            "server_closed" | "server_reset" | "server_idle_timeout" | "client_reset" => Some(Severity::Warning),
            "client_aborted" if c.pending_command.is_some() => Some(Severity::Warning),
            "client_aborted" | "evicted" => Some(Severity::Info),
            "refused" => Some(Severity::Warning),
            "auth_failed" => {
                Some(if c.error_code == Some(1040) || c.error_code == Some(1129) { Severity::Critical } else { Severity::Warning })
            }
            _ => None,
        };
        // Behind TLS the COM_QUIT and any error are invisible: a close says little.
        let sev = if rep.tls { sev.map(|_| Severity::Info) } else { sev };
        if let Some(sev) = sev {
            let used_dead = if c.client_bytes_after_close > 0 {
                format!(" The client then sent {} on the dead connection and got an error (2006/2013).", size(c.client_bytes_after_close))
            } else {
                String::new()
            };
            let ts = st.end.first_rst_ts.into_iter().chain(st.end.first_fin_ts).min().or(Some(rep.end_ts));
            self.push(rep, "connection_drop", sev, ts,
                format!("{}: {} ({who})", c.cause, c.detail.split(';').next().unwrap_or("")),
                format!("{}.{used_dead}", c.detail),
                json!({"cause": c.cause, "initiator": c.initiator, "pending_command": c.pending_command, "idle_secs": c.idle_secs, "error_code": c.error_code, "killed_by": c.killed_by, "client_bytes_after_close": c.client_bytes_after_close}));
        }
        // --- capture health -------------------------------------------------
        if rep.tcp.gaps > 0 {
            self.push(rep, "tcp_gap", Severity::Warning, None, format!("{} TCP gap(s), {} missed ({who})", rep.tcp.gaps, size(rep.tcp.missed_bytes)),
                "Bytes of this connection were not captured (packet loss at the capture point, snaplen, or buffer limits). Commands around the gap are reported as unknown; sequence-id and size conclusions there are weakened.".into(),
                json!({"gaps": rep.tcp.gaps, "missed_bytes": rep.tcp.missed_bytes, "resync_skipped_bytes": st.skipped_bytes}));
        }
        if rep.mid_stream {
            self.push(rep, "mid_stream", Severity::Info, Some(rep.start_ts), format!("connection began before the capture ({who})"),
                "The handshake is not in the capture: user, schema, server version and negotiated capabilities are unknown; decoding resumed at the first recognisable command.".into(),
                json!({"skipped_bytes": st.skipped_bytes}));
        }
        if rep.tls {
            self.push(
                rep,
                "tls_opaque",
                Severity::Info,
                Some(rep.start_ts),
                format!("TLS-encrypted after SSLRequest ({who})"),
                format!(
                    "Commands and errors cannot be seen; only sizes and the close are analysed.{}",
                    st.tls_version.as_deref().map(|v| format!(" {v} negotiated.")).unwrap_or_default()
                ),
                json!({"tls_version": st.tls_version}),
            );
        }
        let malformed: Vec<_> = st.events.iter().filter(|e| matches!(e.kind, "malformed" | "unexpected" | "cap")).collect();
        if !malformed.is_empty() {
            self.push(rep, "protocol_error", Severity::Warning, Some(malformed[0].ts), format!("{} protocol anomal{} ({who})", malformed.len(), if malformed.len() == 1 { "y" } else { "ies" }),
                format!("First: {}", sanitize(&malformed[0].detail)),
                json!({"count": malformed.len(), "events": malformed.iter().take(5).map(|e| json!({"ts": e.ts, "kind": e.kind, "detail": sanitize(&e.detail)})).collect::<Vec<_>>()}));
        }
        // --- slow commands --------------------------------------------------
        if let Some(slow) = self.cfg.slow_us {
            for cmd in st.commands.iter().filter(|c| c.latency_us.is_some_and(|l| l >= slow)) {
                self.slow_count += 1;
                if self.slow_count > 100 {
                    break;
                }
                let sql =
                    cmd.sql.as_deref().map(|s| sanitize(&redact_sql(s, self.cfg.redact_literals)).chars().take(120).collect::<String>());
                self.push(
                    rep,
                    "slow_command",
                    Severity::Warning,
                    Some(cmd.ts),
                    format!("{} took {:.1} ms ({who})", cmd.command, cmd.latency_us.unwrap_or(0) as f64 / 1000.0),
                    sql.clone().unwrap_or_default(),
                    json!({"latency_us": cmd.latency_us, "command_index": cmd.index, "sql_preview": sql}),
                );
            }
        }
    }

    /// Adds a capture-health finding for frames that could not be used.
    pub fn capture_decode(&mut self, d: &crate::decode::DecodeStats) {
        let mut parts = Vec::new();
        if d.ip_fragments > 0 {
            parts.push(format!("{} IP fragments (not reassembled; their TCP payload is missing)", commas(d.ip_fragments)));
        }
        if d.malformed > 0 {
            parts.push(format!("{} malformed or cut frames", commas(d.malformed)));
        }
        if d.unsupported_link > 0 {
            parts.push(format!("{} frames of an unsupported link type", commas(d.unsupported_link)));
        }
        if parts.is_empty() {
            return;
        }
        self.findings.push(Finding {
            kind: "capture_health",
            severity: Severity::Warning,
            connection: None,
            client: None,
            server: None,
            ts: None,
            title: format!("{} frames could not be decoded", commas(d.ip_fragments + d.malformed + d.unsupported_link)),
            detail: format!(
                "{}. Connections that lost data to them show TCP gaps; sizes and sequence checks there are incomplete.",
                parts.join("; ")
            ),
            evidence: json!({"ip_fragments": d.ip_fragments, "malformed": d.malformed, "unsupported_link": d.unsupported_link}),
        });
    }

    /// Adds a finding for live-capture drops (kernel or interface).
    pub fn capture_drops(&mut self, live: &Value) {
        let k = live["stats"]["dropped_kernel"].as_u64().unwrap_or(0);
        let i = live["stats"]["dropped_interface"].as_u64().unwrap_or(0);
        if k + i > 0 {
            self.findings.push(Finding {
                kind: "capture_drops",
                severity: Severity::Warning,
                connection: None,
                client: None,
                server: None,
                ts: None,
                title: format!("{} packets dropped by the kernel, {} by the interface", commas(k), commas(i)),
                detail: "The capture missed packets: connections with gaps are reported, and their conclusions (sizes, sequence ids, latencies) are incomplete. Raise --buffer-size, narrow --bpf, or write with -w and analyse offline.".into(),
                evidence: json!({"dropped_kernel": k, "dropped_interface": i, "received": live["stats"]["received"]}),
            });
        }
    }

    /// The final document.
    pub fn report(mut self, inputs: Vec<InputInfo>, warnings: Vec<String>, capture: Value) -> Report {
        self.conns.sort_by_key(|c| c.id);
        let lim = self.limit();
        // Connection-wide error summary (1040 bursts, SQL errors).
        for (code, (n, msg)) in &self.errors_by_code {
            if matches!(code, 1040 | 1129) {
                self.findings.push(Finding {
                    kind: "too_many_connections",
                    severity: Severity::Critical,
                    connection: None,
                    client: None,
                    server: None,
                    ts: None,
                    title: format!("ERR {code} {} x{n}", err_meaning(*code).unwrap_or("")),
                    detail: "The server refused new connections: raise max_connections or fix the pool sizing / connection leak.".into(),
                    evidence: json!({"code": code, "count": n}),
                });
            }
            let _ = msg;
        }
        self.findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.ts.cmp(&b.ts)).then(a.connection.cmp(&b.connection)));
        let recs = self.recommendations(&lim);
        let dropped = |s: Severity| self.not_listed.by_kind.iter().filter(|((_, sv), _)| *sv == s).map(|(_, n)| *n as usize).sum::<usize>();
        let count = |s: Severity| self.findings.iter().filter(|f| f.severity == s).count() + dropped(s);
        let (cr, wa, inf) = (count(Severity::Critical), count(Severity::Warning), count(Severity::Info));
        let verdict = self.verdict(cr, wa);
        let errors = self.totals.errors;
        let by_code: Vec<Value> =
            self.errors_by_code.iter().map(|(c, (n, m))| json!({"code": c, "count": n, "message": sanitize(m)})).collect();
        Report {
            generator: json!({"name": "mywire", "version": env!("CARGO_PKG_VERSION")}),
            inputs,
            settings: json!({
                "server_ports": self.cfg.server_ports,
                "max_allowed_packet": lim,
                "redact_literals": self.cfg.redact_literals,
                "passwords_redacted": true,
            }),
            summary: json!({
                "connections": self.totals.connections,
                "not_listed": self.not_listed,
                "commands": self.totals.commands,
                "errors": errors,
                "errors_by_code": by_code,
                "findings": {"critical": cr, "warning": wa, "info": inf},
                "verdict": verdict,
                "capture": capture,
            }),
            connections: self.conns,
            findings: self.findings,
            recommendations: recs,
            warnings,
        }
    }

    fn verdict(&self, cr: usize, wa: usize) -> String {
        if cr == 0 && wa == 0 {
            return format!("OK: {} MySQL connection(s), no errors that cost a connection, no warnings.", self.totals.connections);
        }
        let mut parts = Vec::new();
        let dropped = |k: &str| self.not_listed.by_kind.get(&(k, Severity::Critical)).map_or(0, |n| *n as usize);
        let n = |k: &str| self.findings.iter().filter(|f| f.kind == k && f.severity == Severity::Critical).count() + dropped(k);
        if n("oversize_packet") > 0 {
            parts.push(format!("{} packet(s) over max_allowed_packet (ERR 1153) dropped connection(s)", n("oversize_packet")));
        }
        if n("seq_out_of_order") > 0 {
            parts.push(format!("{} connection(s) broke packet sequence ids", n("seq_out_of_order")));
        }
        let drops = n("connection_drop");
        if drops > 0 {
            parts.push(format!("{drops} client connection(s) lost"));
        }
        if n("too_many_connections") > 0 {
            parts.push("connections refused (too many connections)".into());
        }
        let level = if cr > 0 { "CRITICAL" } else { "WARNING" };
        if parts.is_empty() {
            format!("{level}: {cr} critical and {wa} warning finding(s).")
        } else {
            format!("{level}: {} ({cr} critical, {wa} warning).", parts.join("; "))
        }
    }

    fn recommendations(&self, lim: &LimitInfo) -> Vec<Recommendation> {
        let mut out = Vec::new();
        let rejected_max = self.rejected.iter().map(|r| r.1).max();
        let near: Option<u64> =
            self.findings.iter().filter(|f| f.kind == "near_limit_packet").filter_map(|f| f.evidence["packet_bytes"].as_u64()).max();
        if let Some(biggest) = rejected_max.or(near) {
            let rec = limit::recommend(biggest);
            // the largest value sent: half the packet when it went out as a hex literal
            let hex = self
                .conns
                .iter()
                .flat_map(|c| &c.commands)
                .any(|c| c.request_bytes == biggest && c.sql.as_deref().is_some_and(is_hex_literal_insert));
            let value = if hex { biggest / 2 } else { biggest };
            let ten_x = limit::round_unit((value.saturating_mul(10)).min(1 << 30));
            out.push(Recommendation {
                kind: "max_allowed_packet",
                title: format!("Raise max_allowed_packet to {} (largest packet seen: {})", limit::unit(rec), size(biggest)),
                detail: format!(
                    "Sized from evidence: the largest packet the clients sent is {} and needs max_allowed_packet >= {}; {} adds headroom. Rule of thumb (generous): about 10x the largest BLOB/TEXT value sent, here at most {}. The server allocates up to this much per connection buffer, so do not set it far above need. SET GLOBAL applies to new connections only: reconnect the pool afterwards. Clients have their own limit too (the driver's max_allowed_packet / maxAllowedPacket option). {}",
                    size(biggest), commas(biggest), limit::unit(rec), limit::unit(ten_x),
                    match (lim.bytes, lim.upper_bound) { (Some(l), _) => format!("Current value: {} ({}).", size(l), lim.source.describe()), (None, Some(u)) => match lim.lower_bound {
                            Some(l) if l < u => format!("Current value: between {} and {} (inferred from what the server accepted and rejected).", size(l), size(u)),
                            _ => format!("Current value: below {} (inferred from ERR 1153).", size(u)),
                        }, _ => String::new() }
                ),
                my_cnf: Some(format!("[mysqld]\nmax_allowed_packet={}", limit::unit(rec))),
                sql: Some(format!("SET GLOBAL max_allowed_packet = {rec};")),
                client: Some(format!("mysql --max-allowed-packet={0}; connectors: max_allowed_packet={rec} (PyMySQL, mysql-connector), maxAllowedPacket={rec} (Connector/J)", limit::unit(rec))),
            });
            let multi = self
                .findings
                .iter()
                .filter(|f| matches!(f.kind, "oversize_packet" | "near_limit_packet"))
                .filter_map(|f| serde_json::from_value::<crate::session::ValuesRows>(f.evidence["values_rows"].clone()).ok())
                .filter(|v| v.rows_estimated > 1)
                .max_by_key(|v| v.bytes_per_row);
            let half = lim.bytes.or(lim.upper_bound).map(|l| l / 2);
            let detail = match (multi, half) {
                (Some(v), Some(h)) => format!(
                    "The large statements are multi-row INSERT/REPLACEs of ~{} bytes per row: send at most {} rows per statement to stay under {} (half the limit), or raise the limit.",
                    commas(v.bytes_per_row),
                    commas((h / v.bytes_per_row).max(1)),
                    size(h)
                ),
                _ => format!(
                    "The large packets carry single big values, so batching rows cannot help: raise the limit, or write large values in chunks (e.g. UPDATE ... SET col = CONCAT(col, ?) in pieces, or COM_STMT_SEND_LONG_DATA), keeping each statement under {}.",
                    half.map(size).unwrap_or_else(|| "half the limit".into())
                ),
            };
            out.push(Recommendation {
                kind: "batching",
                title: "Or keep each statement small".into(),
                detail,
                my_cnf: None,
                sql: None,
                client: None,
            });
        }
        let idle_drops: Vec<_> = self.conns.iter().filter(|c| c.close.cause == "server_idle_timeout").collect();
        if !idle_drops.is_empty() {
            let used = idle_drops.iter().filter(|c| c.close.client_bytes_after_close > 0).count();
            out.push(Recommendation {
                kind: "wait_timeout",
                title: format!("{} connection(s) closed by wait_timeout; make the pool validate or recycle idle connections", idle_drops.len()),
                detail: format!("{used} of them were then used by the client and failed. Configure the pool's max idle time / max lifetime below the server's wait_timeout (or test connections on borrow), or raise wait_timeout if long idle connections are intended."),
                my_cnf: Some("[mysqld]\nwait_timeout=28800".into()),
                sql: Some("SET GLOBAL wait_timeout = 28800;".into()),
                client: None,
            });
        }
        let gaps: u64 = self.conns.iter().map(|c| c.tcp.gaps).sum();
        if gaps > 0 {
            out.push(Recommendation {
                kind: "capture",
                title: "Capture lost data: re-capture with a larger buffer and full snaplen".into(),
                detail: "Use `tcpdump -i IFACE -s 0 -B 65536 -w FILE 'tcp port 3306'` (or `mywire live -w FILE`) on the database host, so conclusions are not weakened by gaps.".into(),
                my_cnf: None,
                sql: None,
                client: None,
            });
        }
        out
    }
}

/// The whole analysis, as one JSON document (`--format json`).
#[derive(Debug, Serialize)]
pub struct Report {
    /// `{name, version}`.
    pub generator: Value,
    /// One entry per input file.
    pub inputs: Vec<InputInfo>,
    /// Server ports and the effective max_allowed_packet.
    pub settings: Value,
    /// Counts and the verdict.
    pub summary: Value,
    /// Every MySQL connection.
    pub connections: Vec<ConnReport>,
    /// Findings, most severe first.
    pub findings: Vec<Finding>,
    /// What to change.
    pub recommendations: Vec<Recommendation>,
    /// Reader warnings (truncation and the like).
    pub warnings: Vec<String>,
}
