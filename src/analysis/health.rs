//! Capture health and visibility: TCP gaps, connections picked up
//! mid-stream, opaque TLS, protocol anomalies, frames that could not be
//! decoded, and live-capture drops. These say how far the other findings can
//! be trusted.

use super::Context;
use crate::decode::DecodeStats;
use crate::flow::FlowStats;
use crate::model::{
    CaptureDrops, CaptureHealth, EventBrief, EventKind, Evidence, FindingKind, FinishedConn, MidStream, NoMysqlTraffic, PortBrief,
    ProtocolErrors, Severity, TcpGap, TlsOpaque,
};
use crate::report::fmt::{commas, sanitize, size};
use crate::report::model::{ConnReport, Finding, LiveCapture};

pub(super) fn detect(cx: &Context<'_>, fc: &FinishedConn, rep: &ConnReport, out: &mut Vec<Finding>) {
    let (st, who) = (&fc.summary, &cx.who);
    if rep.tcp.gaps > 0 {
        let title = format!("{} TCP gap(s), {} missed ({who})", rep.tcp.gaps, size(rep.tcp.missed_bytes));
        let detail = "Bytes of this connection were not captured (packet loss at the capture point, snaplen, or buffer limits). Commands around the gap are reported as unknown; sequence-id and size conclusions there are weakened.".into();
        let ev =
            Evidence::TcpGap(TcpGap { gaps: rep.tcp.gaps, missed_bytes: rep.tcp.missed_bytes, resync_skipped_bytes: st.skipped_bytes });
        // dated at the first gap the session saw (events keep the first ones), else the connection's start
        let at = st.events.iter().find(|e| e.kind == EventKind::Gap).map_or(rep.start_ts, |e| e.ts);
        out.push(Finding::new(FindingKind::TcpGap, Severity::Warning, title, detail, ev).on(rep).at(Some(at)));
    }
    if rep.mid_stream {
        let title = format!("connection began before the capture ({who})");
        let detail = "The handshake is not in the capture: user, schema, server version and negotiated capabilities are unknown; decoding resumed at the first recognisable command.".into();
        let ev = Evidence::MidStream(MidStream { skipped_bytes: st.skipped_bytes });
        out.push(Finding::new(FindingKind::MidStream, Severity::Info, title, detail, ev).on(rep).at(Some(rep.start_ts)));
    }
    if rep.handshake_incomplete {
        let title = format!("the handshake was not fully captured ({who})");
        let detail = "The connection's start is in the capture but part of its handshake is not (a lost greeting frame, or a gap during authentication): user, schema or negotiated capabilities may be unknown; decoding resumed at the next recognisable command.".into();
        let ev = Evidence::MidStream(MidStream { skipped_bytes: st.skipped_bytes });
        out.push(Finding::new(FindingKind::HandshakeIncomplete, Severity::Info, title, detail, ev).on(rep).at(Some(rep.start_ts)));
    }
    if rep.tls {
        let title = format!("TLS-encrypted after SSLRequest ({who})");
        let detail = format!(
            "Commands and errors cannot be seen; only sizes and the close are analysed.{}",
            st.tls_version.as_deref().map(|v| format!(" {v} negotiated.")).unwrap_or_default()
        );
        let ev = Evidence::TlsOpaque(TlsOpaque { tls_version: st.tls_version.clone() });
        out.push(Finding::new(FindingKind::TlsOpaque, Severity::Info, title, detail, ev).on(rep).at(Some(rep.start_ts)));
    }
    let anomalies: Vec<_> = st.events.iter().filter(|e| e.kind.is_anomaly()).collect();
    if let Some(first) = anomalies.first() {
        let n = anomalies.len();
        let title = format!("{n} protocol anomal{} ({who})", if n == 1 { "y" } else { "ies" });
        let detail = format!("First: {}", sanitize(&first.detail));
        let events = anomalies.iter().take(5).map(|e| EventBrief { ts: e.ts, kind: e.kind, detail: sanitize(&e.detail) }).collect();
        let ev = Evidence::ProtocolErrors(ProtocolErrors { count: n, events });
        out.push(Finding::new(FindingKind::ProtocolError, Severity::Warning, title, detail, ev).on(rep).at(Some(first.ts)));
    }
}

/// "No MySQL traffic found", when the capture holds TCP connections but
/// none of them MySQL (by port or by shape): the busiest ports, and how to
/// name the server's port.
pub(super) fn no_mysql(f: &FlowStats) -> Option<Finding> {
    if f.mysql_connections > 0 || f.tcp_connections == 0 {
        return None;
    }
    let busiest: Vec<PortBrief> =
        f.busiest_other_ports(5).into_iter().map(|(port, t)| PortBrief { port, connections: t.connections, bytes: t.bytes }).collect();
    let ports: Vec<String> =
        busiest.iter().map(|p| format!("{} ({} connection(s), {})", p.port, commas(p.connections), size(p.bytes))).collect();
    let title = format!("no MySQL traffic found in {} TCP connection(s)", commas(f.tcp_connections));
    let detail = format!(
        "No connection had a MySQL shape (a server greeting, a login or a command) or a MySQL port. Busiest TCP ports: {}. If the server listens on one of them, name it with --port PORT (a port is still checked against the shape when the connection's start is captured).",
        if ports.is_empty() { "none with data".to_string() } else { ports.join(", ") }
    );
    let ev = Evidence::NoMysqlTraffic(NoMysqlTraffic {
        tcp_connections: f.tcp_connections,
        busiest_ports: busiest,
        ports_not_tallied: f.other_ports_not_tallied,
    });
    Some(Finding::new(FindingKind::NoMysqlTraffic, Severity::Warning, title, detail, ev))
}

/// A capture-health finding for frames that could not be used.
pub(super) fn capture_decode(d: &DecodeStats) -> Option<Finding> {
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
        return None;
    }
    let title = format!("{} frames could not be decoded", commas(d.ip_fragments + d.malformed + d.unsupported_link));
    let detail =
        format!("{}. Connections that lost data to them show TCP gaps; sizes and sequence checks there are incomplete.", parts.join("; "));
    let ev = Evidence::CaptureHealth(CaptureHealth {
        ip_fragments: d.ip_fragments,
        malformed: d.malformed,
        unsupported_link: d.unsupported_link,
    });
    Some(Finding::new(FindingKind::CaptureHealth, Severity::Warning, title, detail, ev))
}

/// A finding for live-capture drops (kernel or interface).
pub(super) fn capture_drops(live: &LiveCapture) -> Option<Finding> {
    let (k, i) = (u64::from(live.stats.dropped_kernel), u64::from(live.stats.dropped_interface));
    if k + i == 0 {
        return None;
    }
    let title = format!("{} packets dropped by the kernel, {} by the interface", commas(k), commas(i));
    let detail = "The capture missed packets: connections with gaps are reported, and their conclusions (sizes, sequence ids, latencies) are incomplete. Raise --buffer-size, narrow --bpf, or write with -w and analyse offline.".into();
    let ev = Evidence::CaptureDrops(CaptureDrops { dropped_kernel: k, dropped_interface: i, received: u64::from(live.stats.received) });
    Some(Finding::new(FindingKind::CaptureDrops, Severity::Warning, title, detail, ev))
}
