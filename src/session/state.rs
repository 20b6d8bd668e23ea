//! The protocol state of one connection: the phase, negotiated capabilities,
//! exchanges in flight, prepared statements and sequence ids, plus the
//! [`ConnSummary`] being built. Packets arrive framed from the driver
//! (`Session`); [`State::on_packet`] routes each through the phase table.

use super::exchange::{Effects, Exchange};
use super::lossy;
use super::phase::{Phase, Step, route};
use super::seq::SeqState;
use super::statements::Statements;
use crate::config::session::{MAX_ATTRS, MAX_BIG_PACKETS, MAX_PENDING, TRACE_QUERY_CHARS};
use crate::config::{BIG_PACKET, Limits};
use crate::model::{
    AuthResult, BigPacket, Compression, ConnSummary, Dir, ErrorTally, EventKind, PduTrace, ProtoEvent, ResponseKind, SeqAnomaly,
    ServerError,
};
use crate::mysql::compress::Algorithm;
use crate::mysql::framing::{Control, Packet, Partial};
use crate::mysql::messages::{self as msg, LoginRequest};
use crate::mysql::{Capabilities, CommandCode};
use crate::sql::KillTarget;
use crate::time::Timestamp;
use std::collections::VecDeque;

/// ERR 4031: the server disconnects a client for inactivity (MySQL 8.0.24+).
pub const ER_CLIENT_INTERACTION_TIMEOUT: u16 = 4031;

/// A KILL this connection sent, not yet handed to the pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SentKill {
    /// When.
    pub ts: Timestamp,
    /// What it targets.
    pub target: KillTarget,
}

/// Per-connection protocol state (everything but the byte-level I/O).
#[derive(Clone, Debug)]
pub struct State {
    pub(super) limits: Limits,
    /// Protocol phase.
    pub phase: Phase,
    server_caps: Capabilities,
    pub(super) caps: Capabilities,
    pub(super) mariadb_ext: u32,
    compress_pending: Option<Algorithm>,
    /// Negotiated compression.
    pub compression: Option<Algorithm>,
    pub(super) pending: VecDeque<Exchange>,
    pub(super) in_exchange: bool,
    pub(super) stmts: Statements,
    pub(super) seq: SeqState,
    /// Flagged commands kept (see `Limits::max_flagged_per_conn`).
    flagged_kept: usize,
    pub(super) server_closed: bool,
    pub(super) last_packet_ts: Option<Timestamp>,
    /// KILLs sent since the pipeline last took them.
    pub(super) kills: Vec<SentKill>,
    /// Scratch for what a server packet teaches: kept (empty) between
    /// packets, since most packets (rows) teach nothing and building and
    /// dropping it for each was measurable.
    fx: Effects,
    /// What the analyser will get.
    pub sum: ConnSummary,
}

impl State {
    pub(super) fn new(limits: Limits, mid_stream: bool) -> Self {
        State {
            limits,
            phase: if mid_stream { Phase::Unsynced } else { Phase::AwaitGreeting },
            server_caps: Capabilities(0),
            caps: Capabilities(Capabilities::PROTOCOL_41 | Capabilities::SECURE_CONNECTION),
            mariadb_ext: 0,
            compress_pending: None,
            compression: None,
            pending: VecDeque::new(),
            in_exchange: false,
            stmts: Statements::default(),
            seq: SeqState::default(),
            flagged_kept: 0,
            server_closed: false,
            last_packet_ts: None,
            kills: Vec::new(),
            fx: Effects::default(),
            sum: ConnSummary { mid_stream, ..ConnSummary::default() },
        }
    }

    /// Records a protocol event (bounded; every one counted).
    pub(super) fn event(&mut self, ts: Timestamp, kind: EventKind, dir: Option<Dir>, detail: String) {
        self.sum.events_total += 1;
        if self.sum.events.len() < self.limits.max_events_per_conn {
            self.sum.events.push(ProtoEvent { ts, kind, direction: dir, detail });
        }
    }

    fn note_big(&mut self, ts: Timestamp, dir: Dir, bytes: u64, parts: u32, incomplete: bool) {
        if bytes < BIG_PACKET {
            return;
        }
        let command_index = self.pending.front().map(|e| e.rec.index);
        let b = BigPacket { ts, direction: dir, bytes, parts, command_index, incomplete };
        let big = &mut self.sum.big_packets;
        if big.len() < MAX_BIG_PACKETS {
            big.push(b);
        } else if let Some(min) = big.iter_mut().min_by_key(|p| p.bytes)
            && min.bytes < bytes
        {
            *min = b;
        }
    }

    fn seq_anomaly(&mut self, a: SeqAnomaly) {
        self.sum.seq_anomalies_total += 1;
        if self.sum.seq_anomalies.len() < self.limits.max_events_per_conn {
            self.sum.seq_anomalies.push(a);
        }
    }

    /// Compares a packet's sequence id with the expected one; records an
    /// anomaly attributed to command `cmd` (if any). Returns true on anomaly.
    pub(super) fn check_seq(&mut self, p: &Packet<'_>, dir: Dir, cmd: Option<u64>) -> bool {
        // After a client packet with a wrong id, the server's reply re-synchronises
        // (MariaDB answers a broken packet with sequence id 0): not a second anomaly.
        // Under compression the inner ids follow the compressed counter: checked there.
        let resync = (dir == Dir::ToClient && cmd.is_some() && self.seq.reply_resync == cmd) || self.compression.is_some();
        self.seq.reply_resync = None;
        let anomaly = p.seq != self.seq.next && !resync;
        if anomaly {
            if let Some(e) = self.pending.iter_mut().rev().find(|e| Some(e.rec.index) == cmd) {
                e.rec.seq_anomalies += 1;
            }
            let a = SeqAnomaly {
                ts: p.ts,
                direction: dir,
                expected: self.seq.next,
                actual: p.seq,
                command_index: cmd,
                after_gap: self.seq.after_gap(dir),
                part: None,
            };
            self.seq_anomaly(a);
            if dir == Dir::ToServer {
                self.seq.reply_resync = cmd;
            }
        }
        // A continuation of a multi-packet message with a wrong id: the sender broke
        // the protocol there (the server's 1156 answers it, and is not a second anomaly).
        let broke = p.first_break.is_some() && self.compression.is_none();
        if let Some((part, expected, actual)) = p.first_break
            && broke
        {
            if let Some(e) = self.pending.iter_mut().rev().find(|e| Some(e.rec.index) == cmd) {
                e.rec.seq_anomalies += 1;
            }
            let a = SeqAnomaly { ts: p.ts, direction: dir, expected, actual, command_index: cmd, after_gap: false, part: Some(part) };
            self.seq_anomaly(a);
            if dir == Dir::ToServer {
                self.seq.reply_resync = cmd;
            }
        }
        self.seq.next = p.last_seq.wrapping_add(1);
        self.seq.gap_pending[dir.idx()] = false;
        anomaly || broke
    }

    /// Checks a compressed frame's sequence id (compressed protocol).
    pub(super) fn check_compressed_seq(&mut self, seq: u8, dir: Dir, new_command: bool, ts: Timestamp) {
        if new_command {
            self.seq.comp_next = 0;
        }
        if seq != self.seq.comp_next {
            let cmd = if new_command { Some(self.sum.commands_total) } else { self.pending.front().map(|e| e.rec.index) };
            let a = SeqAnomaly {
                ts,
                direction: dir,
                expected: self.seq.comp_next,
                actual: seq,
                command_index: cmd,
                after_gap: self.seq.after_gap(dir),
                part: None,
            };
            self.seq_anomaly(a);
        }
        self.seq.comp_next = seq.wrapping_add(1);
    }

    fn trace(&mut self, dir: Dir, p: &Packet<'_>) {
        if self.sum.pdus.len() >= self.limits.trace_pdus {
            return;
        }
        let error = if p.payload.first() == Some(&0xff) && dir == Dir::ToClient {
            msg::parse_err(p.payload).ok().map(|(_, e)| e.code)
        } else {
            None
        };
        self.sum.pdus.push(PduTrace {
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

    /// Names the command a traced client packet started.
    pub(super) fn trace_command(&mut self, p: &Packet<'_>, code: CommandCode) {
        let caps = self.caps;
        let Some(t) = self.sum.pdus.last_mut().filter(|t| t.ts == p.ts && t.direction == Dir::ToServer && t.command.is_none()) else {
            return;
        };
        t.command = Some(code.0);
        if matches!(code, CommandCode::QUERY | CommandCode::STMT_PREPARE) {
            let sql = if code == CommandCode::QUERY && caps.has(Capabilities::QUERY_ATTRIBUTES) {
                match msg::parse_command(p.payload, caps) {
                    Ok((_, msg::Command::Query { sql, .. })) => sql,
                    _ => p.payload.get(1..).unwrap_or(&[]),
                }
            } else {
                p.payload.get(1..).unwrap_or(&[])
            };
            t.query = Some(lossy(sql, TRACE_QUERY_CHARS).0);
        }
    }

    /// One framed packet. Returns `Stop` when the byte stream changes mode
    /// (TLS or compression starts after this packet).
    pub(super) fn on_packet(&mut self, dir: Dir, p: Packet<'_>) -> Control {
        self.trace(dir, &p);
        *self.sum.bytes.get_mut(dir) += p.len;
        let l = self.sum.largest.get_mut(dir);
        *l = (*l).max(p.len);
        self.last_packet_ts = Some(p.ts);
        self.note_big(p.ts, dir, p.len, p.parts, false);
        let first = p.payload.first().copied();
        match route(self.phase, dir, first) {
            Step::Greeting => self.greeting(p),
            Step::ClientBeforeGreeting => return self.client_before_greeting(p),
            Step::Login => return self.login(p),
            Step::AuthReply => return self.auth_reply(p),
            Step::RejectedBeforeLogin => {
                // the server rejects the connection before any login (e.g. the client sent
                // something that is not a MySQL packet: ERR 1156, or 1043 bad handshake)
                if let Ok((_, e)) = msg::parse_err(p.payload) {
                    self.record_server_error(p.ts, e.code, e.message);
                    self.sum.identity.auth_result = Some(AuthResult::Error(e.code));
                    let text = format!("server rejected the connection before login: ERR {}", e.code);
                    self.event(p.ts, EventKind::Unexpected, Some(dir), text);
                }
                self.phase = Phase::AuthFailed;
            }
            Step::AuthData => {
                self.check_seq(&p, dir, None);
            }
            Step::Command => self.client_packet(p),
            Step::Response => self.server_packet(p),
            Step::SkipUnsynced => self.sum.skipped_bytes += p.len,
            Step::AfterAuthFailure => {
                if first == Some(0xff)
                    && let Ok((_, e)) = msg::parse_err(p.payload)
                {
                    self.record_server_error(p.ts, e.code, e.message);
                }
            }
            Step::Ignore => {}
            Step::Unexpected => {
                let text = format!("{} packet of {} bytes while {:?}", dir.sender(), p.len, self.phase);
                self.event(p.ts, EventKind::Unexpected, Some(dir), text);
            }
        }
        Control::Continue
    }

    fn greeting(&mut self, p: Packet<'_>) {
        let dir = Dir::ToClient;
        self.seq.next = p.seq;
        self.check_seq(&p, dir, None);
        match p.payload.first().copied() {
            Some(0x0a) => match msg::parse_handshake_v10(p.payload) {
                Ok((_, hs)) => {
                    let id = &mut self.sum.identity;
                    id.server_version = Some(lossy(hs.server_version, 128).0);
                    id.connection_id = Some(hs.connection_id);
                    id.auth_plugin = hs.auth_plugin.map(|a| lossy(a, 64).0);
                    self.server_caps = hs.capabilities;
                    self.mariadb_ext = hs.mariadb_caps.unwrap_or(0);
                    self.phase = Phase::AwaitLogin;
                }
                Err(_) => self.event(p.ts, EventKind::Malformed, Some(dir), "unparseable server greeting".into()),
            },
            Some(0xff) => {
                if let Ok((_, e)) = msg::parse_err(p.payload) {
                    self.record_server_error(p.ts, e.code, e.message);
                    self.sum.identity.auth_result = Some(AuthResult::Error(e.code));
                    self.phase = Phase::AuthFailed;
                }
            }
            first => {
                // not the start of the conversation: the greeting was lost
                let text = format!("server sent 0x{:02x} where the greeting should be: the handshake was not captured", first.unwrap_or(0));
                self.handshake_lost(p.ts, text);
            }
        }
    }

    /// Part of the handshake is not in the capture: decode from the next command on.
    pub(super) fn handshake_lost(&mut self, ts: Timestamp, why: String) {
        self.sum.handshake_incomplete = true;
        self.phase = Phase::Unsynced;
        self.event(ts, EventKind::Resync, None, why);
    }

    /// A client packet before any greeting: a login (the greeting was lost) or a command.
    fn client_before_greeting(&mut self, p: Packet<'_>) -> Control {
        if p.seq == 1
            && let Ok((_, LoginRequest::Response(_))) = msg::parse_login_request(p.payload)
        {
            // the server's capabilities are unknown: take the client's at their word
            self.sum.handshake_incomplete = true;
            self.server_caps = Capabilities(u32::MAX);
            self.seq.next = 1;
            self.event(p.ts, EventKind::Resync, Some(Dir::ToClient), "the server's greeting was not captured".into());
            return self.login(p);
        }
        self.handshake_lost(p.ts, "the handshake was not captured".into());
        self.client_packet(p);
        Control::Continue
    }

    fn login(&mut self, p: Packet<'_>) -> Control {
        let dir = Dir::ToServer;
        self.check_seq(&p, dir, None);
        match msg::parse_login_request(p.payload) {
            Ok((_, LoginRequest::SslRequest { .. })) => {
                self.phase = Phase::Tls;
                self.sum.tls = true;
                return Control::Stop;
            }
            Ok((_, LoginRequest::Response(r))) => {
                self.caps = Capabilities(r.capabilities.0 & (self.server_caps.0 | Capabilities::PROTOCOL_41));
                if !self.server_caps.has(Capabilities::LONG_PASSWORD) {
                    self.mariadb_ext &= r.mariadb_caps.unwrap_or(0);
                } else {
                    self.mariadb_ext = 0;
                }
                let id = &mut self.sum.identity;
                id.login_sent = true;
                id.user = Some(lossy(r.user, 128).0);
                id.database = r.database.filter(|d| !d.is_empty()).map(|d| lossy(d, 128).0);
                id.client_max_packet = Some(r.max_packet_size);
                if let Some(pl) = r.auth_plugin {
                    id.auth_plugin = Some(lossy(pl, 64).0);
                }
                if let Some(a) = r.attrs
                    && let Ok((_, kv)) = msg::parse_connect_attrs(a)
                {
                    id.attrs = kv.iter().take(MAX_ATTRS).map(|(k, v)| (lossy(k, 64).0, lossy(v, 128).0)).collect();
                }
                if self.caps.has(Capabilities::COMPRESS) {
                    self.compress_pending = Some(Algorithm::Zlib);
                } else if self.caps.has(Capabilities::ZSTD) {
                    self.compress_pending = Some(Algorithm::Zstd);
                }
                self.phase = Phase::Auth;
            }
            Err(_) => {
                self.event(p.ts, EventKind::Malformed, Some(dir), "unparseable handshake response".into());
                self.phase = Phase::Auth;
            }
        }
        Control::Continue
    }

    fn auth_reply(&mut self, p: Packet<'_>) -> Control {
        self.check_seq(&p, Dir::ToClient, None);
        match p.payload.first().copied() {
            Some(0x00) => {
                self.sum.identity.auth_result = Some(AuthResult::Ok);
                self.phase = Phase::Command;
                if let Some(a) = self.compress_pending.take() {
                    self.set_compression(a);
                    return Control::Stop;
                }
            }
            Some(0xff) => {
                if let Ok((_, e)) = msg::parse_err(p.payload) {
                    self.record_server_error(p.ts, e.code, e.message);
                    self.sum.identity.auth_result = Some(AuthResult::Error(e.code));
                }
                self.phase = Phase::AuthFailed;
            }
            Some(0xfe) => {
                // AuthSwitchRequest: plugin name, then data
                if let Ok((_, name)) = crate::mysql::wire::parse_nul_str(&p.payload[1..]) {
                    self.sum.identity.auth_plugin = Some(lossy(name, 64).0);
                    self.sum.identity.auth_switch = true;
                }
            }
            _ => {} // AuthMoreData (0x01) and friends
        }
        Control::Continue
    }

    /// The compressed protocol is in effect from now on.
    pub(super) fn set_compression(&mut self, a: Algorithm) {
        self.compression = Some(a);
        self.sum.compression = match a {
            Algorithm::Zlib => Compression::Zlib,
            Algorithm::Zstd => Compression::Zstd,
        };
    }

    pub(super) fn record_server_error(&mut self, ts: Timestamp, code: u16, message: &[u8]) {
        self.sum.errors += 1;
        self.sum.end.last_error = Some(ServerError { code, ts, message: lossy(message, 512).0 });
    }

    pub(super) fn server_packet(&mut self, p: Packet<'_>) {
        // MySQL 8.0.24+ tells an idle client it is being disconnected (ERR 4031,
        // ER_CLIENT_INTERACTION_TIMEOUT) with sequence id 0, unasked: it answers no
        // command (a query may cross it) and is not a sequence error.
        if p.payload.first() == Some(&0xff)
            && let Ok((_, e)) = msg::parse_err(p.payload)
            && e.code == ER_CLIENT_INTERACTION_TIMEOUT
        {
            self.record_server_error(p.ts, e.code, e.message);
            let text = format!("server sent ERR 4031 (inactivity) unasked: {}", lossy(e.message, 200).0);
            self.event(p.ts, EventKind::UnsolicitedError, Some(Dir::ToClient), text);
            return;
        }
        if self.pending.is_empty() {
            if p.payload.first() == Some(&0xff)
                && let Ok((_, e)) = msg::parse_err(p.payload)
            {
                self.record_server_error(p.ts, e.code, e.message);
                let text = format!("server sent ERR {} with no command pending: {}", e.code, lossy(e.message, 200).0);
                self.event(p.ts, EventKind::UnsolicitedError, Some(Dir::ToClient), text);
                return;
            }
            let text = format!("server packet of {} bytes with no command pending", p.len);
            self.event(p.ts, EventKind::Unexpected, Some(Dir::ToClient), text);
            return;
        }
        // The response in flight lost its way (a shape the machine did not follow)
        // while the next command's answer begins: end it, and give this packet to the next.
        if self.pending.len() > 1
            && self.pending.front().is_some_and(|e| e.answered && e.next_seq != p.seq)
            && self.pending.get(1).is_some_and(|e| e.next_seq == p.seq)
        {
            let mut ex = self.pending.pop_front().expect("checked");
            if ex.rec.response.kind == ResponseKind::None {
                ex.rec.response.kind = ResponseKind::Unknown;
            }
            let text = format!("the response to {} ended without its terminator; the next response began", ex.rec.command);
            self.event(p.ts, EventKind::Malformed, Some(Dir::ToClient), text);
            self.seq.next = p.seq;
            self.finish_exchange(ex);
        }
        let front = self.pending.front().map(|e| e.rec.index);
        self.check_seq(&p, Dir::ToClient, front);
        let (caps, cache_meta) = (self.caps, self.mariadb_ext & (1 << 4) != 0);
        let State { pending, fx, .. } = self;
        pending.front_mut().expect("not empty").on_server_packet(&p, caps, cache_meta, fx);
        self.apply(p.ts);
    }

    /// Applies what the last server packet taught (see [`Effects`]), leaving the scratch empty.
    fn apply(&mut self, ts: Timestamp) {
        if let Some(m) = self.fx.malformed.take() {
            self.event(ts, EventKind::Malformed, Some(Dir::ToClient), m);
        }
        if let Some(e) = self.fx.err.take() {
            self.sum.errors += 1;
            self.sum.end.last_error = Some(e);
        }
        if let Some((id, st)) = self.fx.new_stmt.take()
            && !self.stmts.insert(id, st, self.limits.max_statements)
        {
            self.event(ts, EventKind::Cap, None, "too many prepared statements; not remembered".into());
        }
        self.sum.vars.append(&mut self.fx.vars);
        if let Some(s) = self.fx.schema_change.take() {
            self.sum.identity.database = Some(s);
        }
        if std::mem::take(&mut self.fx.done) {
            let ex = self.pending.pop_front().expect("not empty");
            self.in_exchange = !self.pending.is_empty();
            self.finish_exchange(ex);
        }
    }

    /// Queues a new exchange (or finishes it at once if the command expects no
    /// answer); past [`MAX_PENDING`] the oldest is finished unanswered.
    pub(super) fn push_exchange(&mut self, ex: Exchange) {
        if ex.code.expects_no_response() {
            self.finish_exchange(ex);
            return;
        }
        if self.pending.len() >= MAX_PENDING
            && let Some(old) = self.pending.pop_front()
        {
            self.event(ex.rec.ts, EventKind::Cap, None, "too many unanswered commands; oldest dropped".into());
            self.finish_exchange(old);
        }
        self.pending.push_back(ex);
    }

    /// Moves a finished exchange's record into the summary (bounded: past the
    /// caps the command is counted, and its error tallied by code).
    pub(super) fn finish_exchange(&mut self, mut ex: Exchange) {
        if ex.rec.response.kind == ResponseKind::Ok
            && let Some((user, db)) = ex.identity_change.take()
        {
            if let Some(u) = user {
                self.sum.identity.user = Some(u);
            }
            if let Some(d) = db {
                self.sum.identity.database = Some(d);
            }
        }
        if ex.answered {
            ex.rec.latency_us = Some(ex.last_ts.micros_since(ex.rec.ts));
        } else if ex.code.expects_no_response() {
            ex.rec.response.kind = ResponseKind::None;
        }
        let flagged = ex.rec.is_flagged();
        let keep = self.sum.commands.len() < self.limits.max_commands_per_conn
            || (flagged && self.flagged_kept < self.limits.max_flagged_per_conn)
            || ex.rec.response.error_code == Some(1153);
        if keep {
            self.flagged_kept += usize::from(flagged);
            self.sum.commands.push(ex.rec);
        } else {
            self.sum.commands_omitted += 1;
            if let Some(code) = ex.rec.response.error_code {
                let e = self
                    .sum
                    .omitted_errors
                    .entry(code)
                    .or_insert_with(|| ErrorTally { count: 0, message: ex.rec.response.message.clone().unwrap_or_default() });
                e.count += 1;
            }
        }
    }

    /// Ends every exchange in flight (a gap: their responses cannot be
    /// completed reliably; an unanswered one is marked unknown).
    pub(super) fn abandon_exchanges(&mut self) {
        while let Some(mut ex) = self.pending.pop_front() {
            if ex.rec.response.kind == ResponseKind::None {
                ex.rec.response.kind = ResponseKind::Unknown;
            }
            self.finish_exchange(ex);
        }
        self.in_exchange = false;
    }

    /// A partially received client packet becomes an exchange (the 1153 case:
    /// the server answers before the request is complete).
    pub(super) fn adopt_partial(&mut self, part: Partial<'_>) {
        let p = Packet {
            seq: part.seq,
            last_seq: part.seq,
            len: part.declared,
            parts: 1,
            seq_breaks: 0,
            first_break: None,
            payload: part.payload,
            truncated: true,
            ts: part.ts,
        };
        if self.phase != Phase::Command {
            return;
        }
        *self.sum.bytes.get_mut(Dir::ToServer) += part.received;
        let l = self.sum.largest.get_mut(Dir::ToServer);
        *l = (*l).max(part.declared);
        self.note_big(part.ts, Dir::ToServer, part.declared, 1, true);
        self.seq.next = 0;
        self.in_exchange = true;
        let anomalous = self.check_seq(&p, Dir::ToServer, Some(self.sum.commands_total));
        self.start_exchange(&p, true, anomalous);
        self.event(
            part.ts,
            EventKind::IncompleteRequest,
            Some(Dir::ToServer),
            format!("request declared {} bytes; {} were sent before the server answered or closed", part.declared, part.received),
        );
    }
}
