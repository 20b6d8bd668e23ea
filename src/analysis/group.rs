//! Repeated findings of one kind and cause become one, with the connections
//! it covers ("10 connections refused between 10:01:02 and 10:01:09 from
//! 10.0.0.5"). The NDJSON stream still carries each connection's own finding.

use crate::config::analysis::{MAX_GROUP_CLIENTS, MAX_GROUP_CONNECTIONS};
use crate::model::{CloseCause, Evidence, FindingKind, Severity};
use crate::report::model::{Finding, FindingGroup};
use std::collections::HashMap;

/// What makes two findings the same finding, if they may be grouped.
fn key(f: &Finding) -> Option<(FindingKind, Severity, Option<CloseCause>)> {
    f.connection?;
    match (&f.kind, &f.evidence) {
        (FindingKind::ConnectionDrop, Evidence::ConnectionDrop(e)) => Some((f.kind, f.severity, Some(e.cause))),
        (
            FindingKind::TcpGap | FindingKind::MidStream | FindingKind::TlsOpaque | FindingKind::ProtocolError | FindingKind::SeqOutOfOrder,
            _,
        ) => Some((f.kind, f.severity, None)),
        _ => None,
    }
}

/// `ip:port` without the port (`[v6]:port` too).
fn host(endpoint: &str) -> &str {
    let h = endpoint.rsplit_once(':').map_or(endpoint, |(h, _)| h);
    h.trim_start_matches('[').trim_end_matches(']')
}

fn phrase(kind: FindingKind, cause: Option<CloseCause>) -> &'static str {
    use CloseCause::*;
    match (kind, cause) {
        (FindingKind::ConnectionDrop, Some(Refused)) => "refused (nothing listened on the port)",
        (FindingKind::ConnectionDrop, Some(AuthFailed)) => "rejected at login",
        (FindingKind::ConnectionDrop, Some(ClientAborted)) => "closed by their clients without COM_QUIT",
        (FindingKind::ConnectionDrop, Some(ClientReset)) => "reset by their clients",
        (FindingKind::ConnectionDrop, Some(ServerClosed)) => "closed by the server without an error",
        (FindingKind::ConnectionDrop, Some(ServerReset)) => "reset by the server without an error",
        (FindingKind::ConnectionDrop, Some(ServerIdleTimeout)) => "closed by the server's idle timeout",
        (FindingKind::ConnectionDrop, Some(ServerErrorClose)) => "closed by the server after an error",
        (FindingKind::ConnectionDrop, Some(Killed)) => "killed",
        (FindingKind::ConnectionDrop, Some(Evicted)) => "no longer tracked (idle or table full)",
        (FindingKind::ConnectionDrop, Some(ClosedInsideTls)) => "closed inside TLS (clean or not cannot be seen)",
        (FindingKind::ConnectionDrop, _) => "ended badly",
        (FindingKind::TcpGap, _) => "lost bytes to TCP gaps in the capture",
        (FindingKind::MidStream, _) => "began before the capture",
        (FindingKind::HandshakeIncomplete, _) => "lost part of their handshake to the capture",
        (FindingKind::TlsOpaque, _) => "are TLS-encrypted",
        (FindingKind::ProtocolError, _) => "had protocol anomalies",
        (FindingKind::SeqOutOfOrder, _) => "had packets with unexpected sequence ids",
        _ => "had the same finding",
    }
}

/// Groups repeated findings; the others keep their place.
pub(super) fn group(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    let mut at: HashMap<(FindingKind, Severity, Option<CloseCause>), usize> = HashMap::new();
    let mut members: Vec<Vec<Finding>> = Vec::new();
    for f in findings {
        match key(&f) {
            Some(k) => match at.get(&k) {
                Some(&i) => members[i].push(f),
                None => {
                    at.insert(k, members.len());
                    out.push(f.clone());
                    members.push(vec![f]);
                }
            },
            None => out.push(f),
        }
    }
    // replace each group's first finding by the group
    let mut groups = members.into_iter();
    for slot in out.iter_mut() {
        let Some(k) = key(slot) else { continue };
        if !at.contains_key(&k) {
            continue;
        }
        let Some(m) = groups.next() else { break };
        if m.len() > 1 {
            *slot = merge(k, m);
        }
        at.remove(&k);
    }
    out
}

fn merge(k: (FindingKind, Severity, Option<CloseCause>), m: Vec<Finding>) -> Finding {
    let first_ts = m.iter().filter_map(|f| f.ts).min();
    let last_ts = m.iter().filter_map(|f| f.ts).max();
    let mut clients: Vec<String> = Vec::new();
    for f in &m {
        if let Some(c) = f.client.as_deref().map(host)
            && !clients.iter().any(|x| x == c)
            && clients.len() < MAX_GROUP_CLIENTS
        {
            clients.push(c.to_string());
        }
    }
    let servers: Vec<&str> = m.iter().filter_map(|f| f.server.as_deref()).collect();
    let one_server = servers.first().filter(|s| servers.iter().all(|x| x == *s));
    let n = m.len();
    let connections: Vec<u64> = m.iter().filter_map(|f| f.connection).take(MAX_GROUP_CONNECTIONS).collect();
    let when = match (first_ts, last_ts) {
        (Some(a), Some(b)) if a == b => format!(" at {}", a.clock()),
        (Some(a), Some(b)) => format!(" between {} and {}", a.clock(), b.clock()),
        _ => String::new(),
    };
    let from = match clients.as_slice() {
        [] => String::new(),
        [one] => format!(" from {one}"),
        many => format!(
            " from {} clients ({}{})",
            many.len(),
            many.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
            if many.len() > 3 { ", ..." } else { "" }
        ),
    };
    let to = one_server.map(|s| format!(" to {s}")).unwrap_or_default();
    let mut g = m[0].clone();
    g.title = format!("{n} connections {}{when}{from}{to}", phrase(k.0, k.2));
    g.detail = format!("The first (connection #{}): {}", m[0].connection.unwrap_or(0), m[0].detail);
    g.ts = first_ts;
    g.connection = None;
    g.client = None;
    g.server = one_server.map(|s| s.to_string());
    g.group = Some(FindingGroup { count: n as u64, first_ts, last_ts, connections, clients });
    g
}
