//! The connection record as the report shows it: wire text sanitised,
//! passwords (and with `--redact-literals` every literal) redacted, commands
//! chosen by `--commands`.

use super::{AnalyzerConfig, CommandsMode};
use crate::model::{CommandRecord, FinishedConn};
use crate::report::fmt::sanitize;
use crate::report::model::{AuthInfo, CloseInfo, ConnReport};
use crate::sql::redact_sql;

/// The record of `fc`, which ended as `close` says.
pub(super) fn report(cfg: &AnalyzerConfig, fc: &FinishedConn, close: CloseInfo) -> ConnReport {
    let st = &fc.summary;
    let lit = cfg.redact_literals;
    let clean = |s: &Option<String>| s.as_deref().map(sanitize);
    let mut commands: Vec<CommandRecord> = Vec::new();
    let mut omitted = st.commands_omitted;
    for c in &st.commands {
        let flagged = c.is_flagged();
        let keep = match cfg.commands {
            CommandsMode::All => true,
            CommandsMode::Capped => flagged || commands.len() < cfg.max_commands,
            CommandsMode::Flagged => flagged,
            CommandsMode::None => false,
        };
        if !keep {
            omitted += 1;
            continue;
        }
        let mut c = c.clone();
        c.sql = c.sql.as_deref().map(|s| sanitize(&redact_sql(s, lit)));
        // COM_CHANGE_USER's argument is the user name; auth data is never kept
        c.argument = clean(&c.argument);
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
        auth: AuthInfo { plugin: st.identity.auth_plugin.as_deref().map(sanitize), result: st.identity.auth_result, auth_data: "redacted" },
        attributes: st.identity.attrs.iter().map(|(k, v)| (sanitize(k), sanitize(v))).collect(),
        tls: st.tls,
        compression: st.compression,
        mid_stream: st.mid_stream,
        handshake_incomplete: st.handshake_incomplete,
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
