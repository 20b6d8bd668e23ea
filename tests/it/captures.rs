//! Every capture in captures/ against the facts its recording script wrote
//! down (`<scenario>.expect.json`): connections, commands in order, server
//! errors, how each connection ended, packet sizes. Plus JSON snapshots.

use crate::util::{analyze, capture, captures_dir, committed_captures, count, json};
use mywire::report::model::{ConnReport, Report};
use serde_json::Value;

fn expect(name: &str) -> Value {
    let p = captures_dir().join(format!("{name}.expect.json"));
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn conn_by_port(r: &Report, port: u64) -> &ConnReport {
    r.connections.iter().find(|c| c.client.ends_with(&format!(":{port}"))).unwrap_or_else(|| {
        panic!("no connection from client port {port}: {:?}", r.connections.iter().map(|c| &c.client).collect::<Vec<_>>())
    })
}

fn client_side_error(e: &Value) -> bool {
    e.as_u64().is_some_and(|e| e == 0 || e >= 2000)
}

/// Checks one scenario; returns the report for further assertions.
fn check(name: &str) -> Report {
    let exp = expect(name);
    let r = analyze(&[capture(name)]);
    for ec in exp["connections"].as_array().unwrap() {
        let port = ec["client_port"].as_u64().unwrap();
        let c = conn_by_port(&r, port);
        if ec["tls"].as_bool() == Some(true) {
            assert!(c.tls, "{name}:{port} should be TLS");
            continue;
        }
        // commands, in order (a subsequence when the driver adds its own)
        let subset = ec["driver_may_add_commands"].as_bool() == Some(true);
        let got: Vec<(&str, Option<&str>)> = c.commands.iter().map(|x| (x.command.as_str(), x.sql.as_deref())).collect();
        let mut i = 0;
        for w in ec["commands"].as_array().unwrap() {
            let name_w = w["command"].as_str().unwrap();
            let sql_w = if w.get("sql_bytes").is_some() { None } else { w["sql"].as_str() };
            let matches = |k: usize| got[k].0 == name_w && (sql_w.is_none() || got[k].1 == sql_w);
            if subset {
                while i < got.len() && !matches(i) {
                    i += 1;
                }
            }
            if i < got.len() && matches(i) {
                // server errors the client received are on the wire, on this command
                if let Some(code) = w["error"].as_u64().filter(|_| !client_side_error(&w["error"])) {
                    assert_eq!(c.commands[i].response.error_code, Some(code as u16), "{name}:{port} {name_w} error");
                }
                i += 1;
            } else if client_side_error(&w["error"]) {
                continue; // never (fully) sent: may be absent
            } else {
                panic!("{name}:{port}: expected {name_w} {sql_w:?} at {i}; mywire has {:?}", got.get(i));
            }
        }
        if !subset {
            assert_eq!(i, got.len(), "{name}:{port}: mywire saw extra commands {:?}", &got[i..]);
        }
        // the biggest packet the client sent
        let sent = ec["largest_packet_sent"].as_u64().unwrap();
        if sent > 1000 {
            assert_eq!(c.largest_packet.to_server, sent, "{name}:{port} largest packet");
        }
        // how it ended
        let close = &ec["close"];
        let how = close["how"].as_str().unwrap();
        let want = match (close["by"].as_str().unwrap(), how) {
            (_, "quit") => "client_quit",
            ("server", "error_close") if ec.get("login").is_some() => "auth_failed",
            ("server", "error_close") => "server_error_close",
            ("server", "killed") => "killed",
            ("server", "idle_timeout") => "server_idle_timeout",
            ("client", "process_killed") => "client_aborted",
            ("client", "reset") => "client_reset",
            ("client", "fin") => "client_aborted",
            ("client", "client_error") => "client_aborted",
            other => panic!("unmapped close {other:?}"),
        };
        assert_eq!(c.close.cause.as_str(), want, "{name}:{port} close: {}", c.close.detail);
        if let Some(code) = close["after_error"].as_u64() {
            assert_eq!(c.close.error_code, Some(code as u16), "{name}:{port} close error");
        }
        if let Some(kp) = close["killed_by_port"].as_u64() {
            let killer = conn_by_port(&r, kp);
            assert_eq!(c.close.killed_by, Some(killer.id), "{name}:{port} killer");
        }
        if how == "process_killed" {
            assert!(c.close.pending_command.is_some(), "{name}:{port}: a query was running when the client died");
        }
        if ec["compression"].as_str() == Some("zlib") {
            assert_eq!(json(&c.compression), "zlib");
        }
        if let Some(id) = ec["connection_id"].as_u64() {
            assert_eq!(c.connection_id, Some(id as u32));
        }
        let user = if ec.get("user").is_some() { ec["user"].as_str() } else { exp["user"].as_str() };
        assert_eq!(c.user.as_deref(), user, "{name}:{port} user");
    }
    if name != "replication" {
        // the replica's own connection is not in the script's list (its port is unknown to it)
        assert_eq!(r.connections.len(), exp["connections"].as_array().unwrap().len(), "{name}: connection count");
    }
    r
}

fn clean(name: &str) {
    let r = check(name);
    assert_eq!((count(&r, "critical"), count(&r, "warning")), (0, 0), "{name} is clean traffic: {:#?}", r.findings);
}

#[test]
fn basic() {
    // clean traffic except the two statements the script made fail: each is a
    // statement_error warning with its statement, code and the server's words
    let r = check("basic");
    assert_eq!(count(&r, "critical"), 0);
    let errs: Vec<(u16, String)> = r
        .findings
        .iter()
        .filter(|f| f.severity >= mywire::model::Severity::Warning)
        .map(|f| match &f.evidence {
            mywire::model::Evidence::StatementErrors(e) => (e.code, e.example.clone().unwrap_or_default()),
            _ => panic!("basic: unexpected finding {f:#?}"),
        })
        .collect();
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs.iter().any(|(c, sql)| *c == 1064 && sql.contains("SELEC")), "{errs:?}");
    assert!(errs.iter().any(|(c, _)| *c == 1146), "{errs:?}");
    let codes: Vec<u64> = r.summary.errors_by_code.iter().map(|e| u64::from(e.code)).collect();
    assert_eq!(codes, vec![1064, 1146]);
    if committed_captures() {
        insta::assert_json_snapshot!("basic", r, { ".inputs[].path" => "[path]" });
    }
}

#[test]
fn prepared() {
    clean("prepared");
    let r = analyze(&[capture("prepared")]);
    let exec: Vec<_> = r.connections[0].commands.iter().filter(|c| c.command == "COM_STMT_EXECUTE").collect();
    assert_eq!(exec[0].params.as_ref().unwrap(), &vec!["1", "'alpha'", "'\\u{0}\\u{1}binary'", "2026-11-24 09:30:15.123456", "'12.345'"]);
    assert_eq!(exec[1].params.as_ref().unwrap(), &vec!["2", "NULL", "NULL", "2001-01-02 03:04:05", "'-0.500'"]);
    let long = r.connections[1].commands.iter().find(|c| c.command == "COM_STMT_EXECUTE").unwrap();
    assert_eq!(long.params.as_ref().unwrap(), &vec!["4", "'<long data>'"]);
}

#[test]
fn compressed() {
    clean("compressed");
    let r = analyze(&[capture("compressed")]);
    let sel = r.connections[0].commands.iter().find(|c| c.sql.as_deref() == Some("SELECT * FROM words")).unwrap();
    assert_eq!(sel.response.rows, Some(6000));
}

#[test]
fn large_packet() {
    clean("large-packet");
    let r = analyze(&[capture("large-packet")]);
    let exp = expect("large-packet");
    let c = &r.connections[0];
    // the row carries the whole blob, framed as a 0xFFFFFF continuation pair
    assert!(c.largest_packet.to_client > exp["blob_bytes"].as_u64().unwrap());
    assert!(c.big_packets.iter().any(|b| b.direction == mywire::model::Dir::ToClient && b.parts == 2));
    assert!(c.big_packets.iter().any(|b| b.direction == mywire::model::Dir::ToServer && b.parts == 3));
    assert_eq!(r.settings.max_allowed_packet.source.key(), "inferred");
}

#[test]
fn tls() {
    let r = check("tls");
    assert_eq!(count(&r, "critical") + count(&r, "warning"), 0);
    assert!(r.findings.iter().any(|f| f.kind.as_str() == "tls_opaque"));
}

#[test]
fn misc() {
    clean("misc");
    let r = analyze(&[capture("misc")]);
    let lim = &json(&r.settings)["max_allowed_packet"];
    assert_eq!(lim["bytes"], 16 << 20);
    assert_eq!(lim["source"]["how"], "show_variables");
    let ld = r.connections[0].commands.iter().find(|c| c.sql.as_deref().is_some_and(|s| s.starts_with("LOAD DATA"))).unwrap();
    assert_eq!(ld.response.kind.as_str(), "local_infile");
    assert_eq!(ld.response.affected_rows, Some(200));
}

#[test]
fn gone_away() {
    let r = check("gone-away");
    let exp = expect("gone-away");
    let f = r.findings.iter().find(|f| f.kind.as_str() == "oversize_packet").expect("oversize finding");
    assert_eq!(f.severity, mywire::model::Severity::Critical);
    assert_eq!(json(&f.evidence)["packet_bytes"], exp["connections"][0]["largest_packet_sent"]);
    assert_eq!(json(&f.evidence)["server_error"], 1153);
    assert_eq!(json(&f.evidence)["close_cause"], "server_error_close");
    assert_eq!(json(&r.settings)["max_allowed_packet"]["upper_bound"], exp["connections"][0]["largest_packet_sent"]);
    let rec = &r.recommendations[0];
    assert_eq!(json(&rec.kind), "max_allowed_packet");
    assert_eq!(rec.sql.as_deref(), Some("SET GLOBAL max_allowed_packet = 8388608;"));
    assert!(rec.my_cnf.as_deref().unwrap().contains("max_allowed_packet=8M"));
    if committed_captures() {
        insta::assert_json_snapshot!("gone-away", r, { ".inputs[].path" => "[path]" });
    }
}

#[test]
fn drops() {
    let r = check("drops");
    let causes: Vec<&str> = r.connections.iter().map(|c| c.close.cause.as_str()).collect();
    assert_eq!(causes, vec!["killed", "client_quit", "server_idle_timeout", "client_aborted", "client_reset"]);
    assert!(count(&r, "critical") >= 1, "the killed client lost its connection");
}

#[test]
fn bad_seq() {
    let r = check("bad-seq");
    let f = r.findings.iter().find(|f| f.kind.as_str() == "seq_out_of_order").expect("seq finding");
    assert_eq!(f.severity, mywire::model::Severity::Critical);
    let ev = json(&f.evidence);
    assert_eq!(ev["count"], 1);
    assert_eq!(ev["first"]["expected"], 0);
    assert_eq!(ev["first"]["actual"], expect("bad-seq")["connections"][0]["sent_sequence_id"]);
    assert_eq!(ev["server_error"], 1156);
    assert_eq!(ev["after_gap"], false);
}

#[test]
fn replication() {
    let r = check("replication");
    assert_eq!(r.connections.len(), 2, "the writer and the replica");
    let exp = expect("replication");
    let dump = r.connections.iter().flat_map(|c| &c.commands).find(|x| x.command == "COM_BINLOG_DUMP").expect("binlog dump");
    assert!(dump.argument.as_deref().unwrap().ends_with(exp["binlog_file"].as_str().unwrap()));
    assert_eq!(dump.response.kind.as_str(), "stream");
    assert!(dump.response.rows.unwrap() >= 4, "binlog events: {:?}", dump.response.rows);
    assert_eq!((count(&r, "critical"), count(&r, "warning")), (0, 0));
}

#[test]
fn every_capture_has_a_test() {
    let mut names: Vec<String> = std::fs::read_dir(captures_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".expect.json").map(String::from))
        .collect();
    names.sort();
    // Skipped: recorded for the issue "Diagnoses a DBA can act on", not yet analysed by mywire
    // (no test above checks them). Remove a name here when its test is written.
    const NOT_YET_ANALYSED: &[&str] = &[];
    names.retain(|n| !NOT_YET_ANALYSED.contains(&n.as_str()));
    assert_eq!(
        names,
        [
            "auth-hangup",
            "bad-seq",
            "basic",
            "client-limit",
            "compressed",
            "drops",
            "errors",
            "gone-away",
            "keepalive",
            "large-packet",
            "limit-contradicted",
            "misc",
            "not-mysql",
            "prepared",
            "refused",
            "replication",
            "reversed-roles",
            "tls"
        ]
    );
}

/// Every statement the script made fail is a `statement_error` finding with
/// its code, its statement and the server's whole message; repeats of one
/// statement with other literals are one group.
#[test]
fn r13_errors_every_failed_statement_is_named() {
    let r = check("errors");
    let exp = expect("errors");
    let groups: Vec<&mywire::model::StatementErrors> = r
        .findings
        .iter()
        .filter_map(|f| match &f.evidence {
            mywire::model::Evidence::StatementErrors(e) => Some(e),
            _ => None,
        })
        .collect();
    for ec in exp["connections"].as_array().unwrap() {
        for w in ec["commands"].as_array().unwrap() {
            let Some(code) = w["error"].as_u64().filter(|c| *c < 2000) else { continue };
            let msg = w["message"].as_str().unwrap();
            assert!(
                groups.iter().any(|g| u64::from(g.code) == code && g.message == msg),
                "ERR {code} {msg:?} not reported; groups: {:?}",
                groups.iter().map(|g| (g.code, &g.message)).collect::<Vec<_>>()
            );
        }
    }
    let rep = &exp["repeated"];
    let g = groups
        .iter()
        .find(|g| g.fingerprint.as_deref() == Some(rep["template"].as_str().unwrap()))
        .expect("the repeated statement's group");
    assert_eq!(g.count, rep["count"].as_u64().unwrap());
    // the login failure keeps the server's whole message, and its user is not cut
    let login = r.connections.iter().find(|c| c.user.as_deref() == Some("root_nope")).expect("the failed login");
    assert_eq!(login.close.cause.as_str(), "auth_failed");
    assert!(login.close.detail.contains("Access denied for user 'root_nope'@"), "{}", login.close.detail);
    let mut text = Vec::new();
    mywire::report::text::write(&r, &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("root_nope "), "{text}");
    assert!(text.contains("statement: SELEC id FROM err_items"), "{text}");
    assert!(r.summary.verdict.starts_with("WARNING: ") && r.summary.verdict.contains("statements failed"), "{}", r.summary.verdict);
}

/// A client hanging up while logging in is not a rejected login.
#[test]
fn r13_auth_hangup_is_the_client_leaving() {
    let r = check("auth-hangup");
    for c in &r.connections {
        assert_ne!(c.close.cause.as_str(), "auth_failed", "{}", c.close.detail);
    }
    let greeting_only = r.connections.iter().find(|c| c.user.is_none()).unwrap();
    assert!(greeting_only.close.detail.contains("during authentication, after the server's greeting"), "{}", greeting_only.close.detail);
    let switched = conn_by_port(&r, expect("auth-hangup")["connections"][2]["client_port"].as_u64().unwrap());
    assert!(switched.close.detail.contains("switch authentication method"), "{}", switched.close.detail);
}

/// SHOW VARIABLES says 1M, but an older session had a 4 MB packet accepted:
/// explained by the session's value at connect time, not called a rejection.
#[test]
fn r13_limit_contradicted_by_an_older_session() {
    let r = check("limit-contradicted");
    let exp = expect("limit-contradicted");
    let older = conn_by_port(&r, exp["connections"][0]["client_port"].as_u64().unwrap());
    let f = r.findings.iter().find(|f| f.kind.as_str() == "limit_contradicted").expect("a limit_contradicted finding");
    assert_eq!(f.connection, Some(older.id));
    assert!(f.detail.contains("before the value was seen"), "{}", f.detail);
    // only the new connection's packet is over the limit, and it got ERR 1153
    let over: Vec<_> = r.findings.iter().filter(|f| f.kind.as_str() == "oversize_packet").collect();
    assert_eq!(over.len(), 1);
    assert_eq!(json(&over[0].evidence)["server_error"], 1153);
}

/// The client's own max_allowed_packet: the server sent a 2 MB row to a client
/// that announced 1 MiB, and the client left mid-row.
#[test]
fn r13_client_limit_is_the_clients() {
    let r = check("client-limit");
    let exp = expect("client-limit");
    let f = r.findings.iter().find(|f| f.kind.as_str() == "client_limit").expect("a client_limit finding");
    let ev = json(&f.evidence);
    assert_eq!(ev["client_max_packet_size"], exp["client_limit"]["client_max_allowed_packet"]);
    assert!(ev["packet_bytes"].as_u64().unwrap() > exp["client_limit"]["row_bytes"].as_u64().unwrap());
    assert!(r.findings.iter().all(|f| f.kind.as_str() != "oversize_packet"), "nothing was over the server's limit");
    assert!(r.recommendations.iter().any(|x| json(&x.kind) == "client_max_allowed_packet"));
}

/// `--max-allowed-packet 16M` on a capture whose server rejected 5.7 MiB:
/// the flag gives way, a finding says so, and no recommendation lowers the limit.
#[test]
fn r13_a_contradicted_flag_gives_way() {
    let mut opts = mywire::config::AnalyzeOptions::new(&[]);
    opts.cfg.max_allowed_packet = Some(16 << 20);
    let r = crate::util::analyze_with(&[capture("gone-away")], opts);
    assert!(r.findings.iter().any(|f| f.kind.as_str() == "limit_contradicted" && f.title.contains("--max-allowed-packet")));
    assert_eq!(r.settings.max_allowed_packet.source.key(), "inferred");
    let rec = r.recommendations.iter().find(|x| json(&x.kind) == "max_allowed_packet").unwrap();
    assert!(rec.title.contains("to 8M"), "{}", rec.title);
    // with a limit that held, a packet the server answered OK is never "rejected"
    let mut opts = mywire::config::AnalyzeOptions::new(&[]);
    opts.cfg.max_allowed_packet = Some(1024);
    let r = crate::util::analyze_with(&[capture("misc")], opts);
    assert!(r.findings.iter().all(|f| f.kind.as_str() != "oversize_packet"), "{:#?}", r.findings);
    assert!(r.findings.iter().any(|f| f.kind.as_str() == "limit_contradicted"));
}

/// Keepalive probes (one byte below the window edge) are not gaps.
#[test]
fn r13_keepalive_probes_are_not_gaps() {
    let r = check("keepalive");
    for c in &r.connections {
        assert_eq!(c.tcp.gaps, 0, "{:?}", c.tcp);
    }
    assert!(r.findings.iter().all(|f| f.kind.as_str() != "tcp_gap"));
}

/// HTTP, also on port 3306, is not MySQL: "no MySQL traffic found" with the busiest ports, dated.
#[test]
fn r13_not_mysql_says_so_and_names_the_ports() {
    let r = analyze(&[capture("not-mysql")]);
    assert!(r.connections.is_empty(), "{:?}", r.connections.iter().map(|c| &c.client).collect::<Vec<_>>());
    let f = r.findings.iter().find(|f| f.kind.as_str() == "no_mysql_traffic").expect("no_mysql_traffic finding");
    assert!(f.ts.is_some());
    let ports: Vec<u64> = json(&f.evidence)["busiest_ports"].as_array().unwrap().iter().map(|p| p["port"].as_u64().unwrap()).collect();
    let exp = expect("not-mysql");
    for h in exp["http"].as_array().unwrap() {
        assert!(ports.contains(&h["port"].as_u64().unwrap()), "{ports:?}");
    }
    assert!(f.detail.contains("--port"));
    assert_eq!(json(&f.evidence)["ports_not_tallied"], 0);
    assert!(r.summary.verdict.starts_with("WARNING: no MySQL traffic found"), "{}", r.summary.verdict);
}

/// SYN -> RST bursts to a port named with --port are one grouped finding; without it nothing is claimed.
#[test]
fn r13_refused_bursts_are_grouped() {
    let exp = expect("refused");
    let port = exp["refused"]["port"].as_u64().unwrap() as u16;
    let plain = analyze(&[capture("refused")]);
    assert!(plain.connections.iter().all(|c| c.close.cause.as_str() != "refused"));
    let mut opts = mywire::config::AnalyzeOptions::new(&[]);
    opts.cfg.server_ports.push(port);
    let r = crate::util::analyze_with(&[capture("refused")], opts);
    let n = exp["refused"]["attempts"].as_array().unwrap().len() as u64;
    let refused: Vec<_> = r.findings.iter().filter(|f| f.close_cause().is_some_and(|c| c.as_str() == "refused")).collect();
    assert_eq!(refused.len(), 1, "one group");
    assert_eq!(refused[0].weight(), n);
    assert!(refused[0].title.contains(&format!("{n} connections refused")), "{}", refused[0].title);
}

/// The client bound port 3306: the greeting's sender is the server, whatever the ports say.
#[test]
fn r13_reversed_roles_trust_the_shape() {
    let r = check("reversed-roles");
    assert!(r.connections[0].client.ends_with(":3306"), "{}", r.connections[0].client);
    assert_eq!(count(&r, "warning") + count(&r, "critical"), 0, "{:?}", r.findings.iter().map(|f| &f.title).collect::<Vec<_>>());
}
