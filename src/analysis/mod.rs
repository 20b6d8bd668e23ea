//! The analyser: turns finished connections into connection records,
//! findings and recommendations, and assembles the [`Report`].
//!
//! - `mod.rs`: [`Analyzer`], what it accumulates across connections, the
//!   report caps, and the final report with its verdict.
//! - `collector.rs`: the streaming front ([`Collector`]) the engine feeds.
//! - `close.rs`: how a connection ended (the close cause);
//!   `conn.rs`: the connection record as the report shows it (sanitised, redacted).
//! - One file per detector: `oversize.rs` (packets over or near the limit),
//!   `sequence.rs` (sequence ids), `drops.rs` (connections lost),
//!   `health.rs` (capture health: gaps, mid-stream, TLS, protocol anomalies,
//!   undecodable frames, live drops), `errors.rs` (server-wide error bursts),
//!   `slow.rs` (`--slow`).
//! - `limit.rs`: the effective max_allowed_packet and its evidence;
//!   `recommend.rs`: what to change.
//!
//! Adding a detector: a file with `pub(super) fn detect(cx: &Context<'_>,
//! fc: &FinishedConn, rep: &ConnReport, out: &mut Vec<Finding>)`, a
//! [`FindingKind`] and its evidence type in `crate::model`, and one line in
//! [`Analyzer::add`].
//!
//! Severity: critical = a client saw an error or lost its connection;
//! warning = it is about to (or the evidence is damaged); info = context.

mod client;
mod close;
mod collector;
mod conn;
mod contradict;
mod drops;
mod errors;
mod group;
mod health;
pub mod limit;
mod oversize;
mod recommend;
mod sequence;
mod slow;
mod verdict;

pub use crate::config::{AnalyzerConfig, CommandsMode};
pub use collector::{Collector, OnConn};
pub use limit::{LimitInfo, LimitSource};

use crate::capture::InputInfo;
use crate::model::{CommandRecord, ErrorTally, FinishedConn, KillEvent, Severity, VarObservation};
use crate::report::fmt::sanitize;
use crate::report::model::{
    CaptureSummary, ConnReport, ErrorCount, Finding, Generator, NotListed, Report, Settings, SeverityCounts, Summary,
};
use crate::time::Timestamp;
use std::collections::BTreeMap;

/// A KILL remembered until the connection it ends finishes.
#[derive(Clone, Copy, Debug)]
struct Kill {
    ts: Timestamp,
    target: u32,
    query_only: bool,
    by_conn: u64,
}

/// A server variable seen on a connection.
#[derive(Clone, Debug)]
pub struct ConnVar {
    /// The connection it was seen on.
    pub conn: u64,
    /// What was seen.
    pub var: VarObservation,
}

/// A request the server rejected with ERR 1153.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// The connection.
    pub conn: u64,
    /// The request's size (0 when unknown).
    pub bytes: u64,
    /// When the server rejected it.
    pub ts: Timestamp,
}

/// Counts over every connection, listed or not.
#[derive(Clone, Debug, Default)]
struct Totals {
    connections: u64,
    commands: u64,
    errors: u64,
}

/// What the detectors of one connection see besides the connection itself.
pub(crate) struct Context<'a> {
    cfg: &'a AnalyzerConfig,
    lim: LimitInfo,
    who: String,
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
    vars: Vec<ConnVar>,
    versions: Vec<String>,
    rejected: Vec<Rejected>,
    largest_accepted: limit::Accepted,
    errors_by_code: BTreeMap<u16, ErrorTally>,
    statement_errors: errors::ErrorGroups,
    tally: verdict::Tally,
    slow_count: u64,
    totals: Totals,
    /// Kept findings by severity (info, warning, critical).
    kept_by_severity: [u64; 3],
    /// Approximate bytes of the command records listed so far.
    command_bytes: usize,
    not_listed: NotListed,
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
            largest_accepted: limit::Accepted::default(),
            errors_by_code: BTreeMap::new(),
            statement_errors: errors::ErrorGroups::default(),
            tally: verdict::Tally::new(),
            slow_count: 0,
            totals: Totals::default(),
            kept_by_severity: [0; 3],
            command_bytes: 0,
            not_listed: NotListed::default(),
        }
    }

    /// Learns one KILL as soon as it is seen, before the connection it ends finishes.
    pub fn learn_kill(&mut self, k: KillEvent) {
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
        let st = &fc.summary;
        let id = fc.id;
        for v in &st.vars {
            if self.vars.len() >= self.cfg.caps.max_observations {
                self.not_listed.observations += 1;
                break;
            }
            self.vars.push(ConnVar { conn: id, var: v.clone() });
        }
        if let Some(v) = &st.identity.server_version
            && !self.versions.contains(v)
        {
            self.versions.push(v.clone());
        }
        self.learn_limit_bounds(&fc);
        let close = self.classify(&fc);
        let rep = conn::report(&self.cfg, &fc, close);
        let cx = Context { cfg: &self.cfg, lim: self.limit(), who: format!("connection #{} ({} -> {})", rep.id, rep.client, rep.server) };
        let mut out = Vec::new();
        oversize::detect(&cx, &fc, &rep, &mut out);
        client::detect(&cx, &fc, &rep, &mut out);
        sequence::detect(&cx, &fc, &rep, &mut out);
        drops::detect(&cx, &fc, &rep, &mut out);
        health::detect(&cx, &fc, &rep, &mut out);
        slow::detect(&cx, &fc, &rep, &mut out, &mut self.slow_count);
        self.findings.append(&mut out);
        self.totals.connections += 1;
        self.totals.commands += rep.commands_total;
        self.totals.errors += rep.errors;
        for f in &self.findings[before..] {
            self.kept_by_severity[f.severity.idx()] += 1;
            verdict::count(&mut self.tally, f, 1);
        }
        self.conns.push(rep);
        (self.conns.len() - 1, self.findings.len() - before)
    }

    /// What the server accepted and rejected (bounds on max_allowed_packet),
    /// and the errors it returned, by code.
    fn learn_limit_bounds(&mut self, fc: &FinishedConn) {
        let (st, id) = (&fc.summary, fc.id);
        let user = st.identity.user.as_deref();
        for c in &st.commands {
            self.statement_errors.add_command(&self.cfg, id, user, c);
            match c.response.error_code {
                Some(1153) => self.rejected.push(Rejected { conn: id, bytes: c.request_bytes, ts: c.ts }),
                _ if c.response.kind.answered() && !c.request_incomplete && c.request_bytes > self.largest_accepted.bytes => {
                    self.largest_accepted = limit::Accepted { bytes: c.request_bytes, conn: id, conn_start: fc.start_ts, ts: c.ts }
                }
                _ => {}
            }
            if let Some(code) = c.response.error_code {
                let e = self
                    .errors_by_code
                    .entry(code)
                    .or_insert(ErrorTally { count: 0, message: c.response.message.clone().unwrap_or_default() });
                e.count += 1;
            }
        }
        for (code, t) in &st.omitted_errors {
            self.statement_errors.add_omitted(id, user, fc.end_ts, *code, t);
            self.errors_by_code.entry(*code).or_insert_with(|| ErrorTally { count: 0, message: t.message.clone() }).count += t.count;
        }
        if let Some(e) = &st.end.last_error
            && st.commands.iter().all(|c| c.response.error_code != Some(e.code))
            && !st.omitted_errors.contains_key(&e.code)
        {
            let message =
                if e.message.is_empty() { crate::mysql::errors::meaning(e.code).unwrap_or("").to_string() } else { e.message.clone() };
            self.errors_by_code.entry(e.code).or_insert(ErrorTally { count: 0, message }).count += 1;
            if e.code == 1153 && self.rejected.iter().all(|r| r.conn != id) {
                self.rejected.push(Rejected { conn: id, bytes: st.largest.to_server, ts: e.ts });
            }
        }
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
            let Some(at) = self.findings.iter().rposition(|f| f.severity.idx() == low) else { break };
            let f = self.findings.remove(at);
            self.kept_by_severity[low] -= 1;
            self.not_listed.findings += 1;
            *self.not_listed.by_kind.entry((f.kind, f.severity, f.close_cause())).or_insert(0) += 1;
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

    /// Adds a capture-health finding for frames that could not be used.
    pub fn capture_decode(&mut self, d: &crate::decode::DecodeStats) {
        let at = self.findings.len();
        self.findings.extend(health::capture_decode(d));
        self.capture_findings(at);
    }

    /// Adds "no MySQL traffic found" when the flow table saw TCP but no MySQL.
    pub fn capture_flows(&mut self, f: &crate::flow::FlowStats) {
        let at = self.findings.len();
        self.findings.extend(health::no_mysql(f));
        self.capture_findings(at);
    }

    /// Adds a finding for live-capture drops (kernel or interface).
    pub fn capture_drops(&mut self, live: &crate::report::model::LiveCapture) {
        let at = self.findings.len();
        self.findings.extend(health::capture_drops(live));
        self.capture_findings(at);
    }

    /// Counts the findings from `at` on, made about the whole capture (never capped).
    fn capture_findings(&mut self, at: usize) {
        for f in &self.findings[at..] {
            verdict::count(&mut self.tally, f, 1);
        }
    }

    /// The final document.
    pub fn report(mut self, inputs: Vec<InputInfo>, warnings: Vec<String>, capture: CaptureSummary) -> Report {
        self.conns.sort_by_key(|c| c.id);
        let lim = self.limit();
        let at = self.findings.len();
        self.findings.extend(errors::refusals(&self.errors_by_code));
        self.findings.extend(self.statement_errors.findings());
        self.findings.extend(contradict::findings(&lim));
        self.capture_findings(at);
        self.not_listed.error_groups = self.statement_errors.not_grouped;
        // a finding about the whole capture is dated at its start
        if let Some(start) = inputs.iter().filter_map(|i| i.first_ts).min() {
            for f in self.findings.iter_mut().filter(|f| f.ts.is_none()) {
                f.ts = Some(start);
            }
        }
        self.findings = group::group(std::mem::take(&mut self.findings));
        self.findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.ts.cmp(&b.ts)).then(a.connection.cmp(&b.connection)));
        let recommendations = recommend::recommendations(&self.conns, &self.findings, &self.rejected, &lim);
        // individual findings (a group counts its members), kept or not: exact whatever the caps
        let count = |s: Severity| self.tally.iter().filter(|((_, sv, _, _), _)| *sv == s).map(|(_, n)| *n as usize).sum::<usize>();
        let findings =
            SeverityCounts { critical: count(Severity::Critical), warning: count(Severity::Warning), info: count(Severity::Info) };
        let verdict =
            verdict::verdict(&self.tally, &self.statement_errors.by_code(), findings.critical, findings.warning, self.totals.connections);
        let errors_by_code =
            self.errors_by_code.iter().map(|(c, t)| ErrorCount { code: *c, count: t.count, message: sanitize(&t.message) }).collect();
        Report {
            generator: Generator::default(),
            inputs,
            settings: Settings {
                max_allowed_packet: lim,
                passwords_redacted: true,
                redact_literals: self.cfg.redact_literals,
                server_ports: self.cfg.server_ports.clone(),
            },
            summary: Summary {
                connections: self.totals.connections,
                not_listed: self.not_listed,
                commands: self.totals.commands,
                errors: self.totals.errors,
                errors_by_code,
                findings,
                verdict,
                capture,
            },
            connections: self.conns,
            findings: self.findings,
            recommendations,
            warnings,
        }
    }
}
