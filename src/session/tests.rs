//! State-machine tests without I/O: scripted (direction, bytes) conversations
//! from real payloads, fed in arbitrary chunks.

use super::*;
use crate::model::ResponseKind as K;
use crate::mysql::testdata as td;

fn pkt(seq: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = (payload.len() as u32).to_le_bytes()[..3].to_vec();
    v.push(seq);
    v.extend_from_slice(payload);
    v
}

/// greeting, login, OK, a SELECT with one column and one row, a 1064, a quit.
fn conversation() -> Vec<(Dir, Vec<u8>)> {
    let ok = [0u8, 0, 0, 2, 0, 0, 0];
    vec![
        (Dir::ToClient, pkt(0, td::GREETING)),
        (Dir::ToServer, pkt(1, td::LOGIN)),
        (Dir::ToClient, pkt(2, &ok)),
        (Dir::ToServer, pkt(0, td::COM_QUERY)),
        (Dir::ToClient, [pkt(1, &[1]), pkt(2, td::COLUMN_DEF), pkt(3, td::EOF), pkt(4, td::TEXT_ROW), pkt(5, td::EOF)].concat()),
        (Dir::ToServer, pkt(0, b"\x03SELEC 1")),
        (Dir::ToClient, pkt(1, td::ERR_1064)),
        (Dir::ToServer, pkt(0, b"\x01")),
    ]
}

fn run(chunks: &[(Dir, Vec<u8>)], split: usize) -> ConnSummary {
    let mut s = Session::new(Limits::default(), false);
    for (i, (d, bytes)) in chunks.iter().enumerate() {
        let ts = Timestamp(i as i64 * 1000);
        for part in bytes.chunks(split.max(1)) {
            s.on_data(*d, ts, part);
        }
    }
    s.on_fin(Dir::ToClient, Timestamp(10_000));
    s.finish(false);
    s.into_summary()
}

#[test]
fn scripted_conversation() {
    let st = run(&conversation(), usize::MAX);
    assert_eq!(st.identity.user.as_deref(), Some("app"));
    assert_eq!(st.identity.database.as_deref(), Some("shop"));
    assert_eq!(st.identity.connection_id, Some(6));
    assert_eq!(st.identity.auth_result, Some(crate::model::AuthResult::Ok));
    let cmds: Vec<(&str, K, Option<u64>, Option<u16>)> =
        st.commands.iter().map(|c| (c.command.as_str(), c.response.kind, c.response.rows, c.response.error_code)).collect();
    assert_eq!(
        cmds,
        vec![("COM_QUERY", K::Resultset, Some(1), None), ("COM_QUERY", K::Error, None, Some(1064)), ("COM_QUIT", K::None, None, None)]
    );
    assert_eq!(st.commands[0].latency_us, Some(1));
    assert_eq!(st.seq_anomalies_total, 0);
    assert!(st.end.quit_sent);
}

#[test]
fn any_chunking_gives_the_same_state() {
    let base = run(&conversation(), usize::MAX);
    for split in 1..40 {
        let st = run(&conversation(), split);
        assert_eq!(st.commands, base.commands, "split {split}");
        assert_eq!(st.identity.user, base.identity.user);
    }
}

#[test]
fn wrong_sequence_id_is_reported_once() {
    let mut conv = conversation();
    conv[5] = (Dir::ToServer, pkt(5, b"\x03SELEC 1"));
    conv[6] = (Dir::ToClient, pkt(0, td::ERR_1064)); // the server re-bases at 0
    let st = run(&conv, usize::MAX);
    assert_eq!(st.seq_anomalies_total, 1);
    let a = &st.seq_anomalies[0];
    assert_eq!((a.direction, a.expected, a.actual, a.command_index), (Dir::ToServer, 0, 5, Some(1)));
    assert_eq!(st.commands[1].seq_anomalies, 1);
}

#[test]
fn gap_resynchronises_on_the_next_command() {
    let conv = conversation();
    let mut s = Session::new(Limits::default(), false);
    for (i, (d, bytes)) in conv.iter().enumerate() {
        let ts = Timestamp(i as i64);
        if i == 4 {
            // the result set is lost
            s.on_gap(*d, ts, bytes.len() as u64);
            continue;
        }
        s.on_data(*d, ts, bytes);
    }
    s.finish(false);
    let kinds: Vec<K> = s.summary().commands.iter().map(|c| c.response.kind).collect();
    assert_eq!(kinds, vec![K::Unknown, K::Error, K::None]);
    assert!(s.summary().events.iter().any(|e| e.kind == crate::model::EventKind::Gap));
    assert!(s.summary().events.iter().any(|e| e.kind == crate::model::EventKind::Resync));
}

#[test]
fn server_answers_before_the_request_is_complete() {
    // the 1153 case: a 6 MB request header, 64 KB of it, then ERR 1153 and RST
    let mut s = Session::new(Limits::default(), false);
    for (i, (d, b)) in conversation().into_iter().take(3).enumerate() {
        s.on_data(d, Timestamp(i as i64), &b);
    }
    let mut head = (6_000_037u32).to_le_bytes()[..3].to_vec();
    head.push(0);
    head.push(0x03);
    head.extend(std::iter::repeat_n(b'x', 65_535));
    s.on_data(Dir::ToServer, Timestamp(10), &head);
    let err = pkt(1, b"\xff\x81\x04#08S01Got a packet bigger than 'max_allowed_packet' bytes");
    s.on_data(Dir::ToClient, Timestamp(11), &err);
    s.on_rst(Dir::ToClient, Timestamp(12));
    s.finish(false);
    let c = &s.summary().commands[0];
    assert_eq!((c.request_bytes, c.request_incomplete, c.response.error_code), (6_000_037, true, Some(1153)));
    assert_eq!(s.summary().largest.to_server, 6_000_037);
    assert_eq!(s.summary().end.first_rst, Some(Dir::ToClient));
}

#[test]
fn ssl_request_makes_the_stream_opaque() {
    let mut s = Session::new(Limits::default(), false);
    s.on_data(Dir::ToClient, Timestamp(0), &pkt(0, td::GREETING));
    let mut ssl = td::LOGIN[..32].to_vec();
    ssl[1] |= 0x08;
    s.on_data(Dir::ToServer, Timestamp(1), &[pkt(1, &ssl), vec![0x16, 3, 1, 0, 5, 1, 0, 0, 1, 0]].concat());
    s.on_data(Dir::ToClient, Timestamp(2), &[0x16, 3, 3, 0, 40, 2, 0, 0, 36, 3, 3, 0, 0x2b, 0, 2]);
    s.finish(false);
    assert_eq!(s.phase(), Phase::Tls);
    assert_eq!(s.summary().tls_version.as_deref(), Some("TLS 1.3"));
    assert!(s.summary().commands.is_empty());
}

#[test]
fn local_infile_upload() {
    let mut conv: Vec<(Dir, Vec<u8>)> = conversation().into_iter().take(3).collect();
    conv.push((Dir::ToServer, pkt(0, b"\x03LOAD DATA LOCAL INFILE '/tmp/rows.csv' INTO TABLE kv")));
    conv.push((Dir::ToClient, pkt(1, td::LOCAL_INFILE_REQ)));
    conv.push((Dir::ToServer, [pkt(2, b"1,a\n2,b\n"), pkt(3, b"")].concat()));
    conv.push((Dir::ToClient, pkt(4, &[0, 2, 0, 2, 0, 0, 0])));
    let st = run(&conv, usize::MAX);
    let c = &st.commands[0];
    assert_eq!((c.response.kind, c.response.affected_rows), (K::LocalInfile, Some(2)));
    assert_eq!(st.seq_anomalies_total, 0);
    assert_eq!(c.request_bytes, 53 + 8); // the COM_QUERY, then the file data (the empty terminator adds 0)
}

#[test]
fn flagged_commands_past_their_cap_are_counted_by_error_code() {
    let mut conv = conversation();
    let quit = conv.pop().unwrap();
    for _ in 0..9 {
        conv.push((Dir::ToServer, pkt(0, b"\x03SELEC 1")));
        conv.push((Dir::ToClient, pkt(1, td::ERR_1064)));
    }
    conv.push(quit);
    let limits = Limits { max_commands_per_conn: 2, max_flagged_per_conn: 3, ..Limits::default() };
    let mut s = Session::new(limits, false);
    for (i, (d, bytes)) in conv.iter().enumerate() {
        s.on_data(*d, Timestamp(i as i64 * 1000), bytes);
    }
    s.finish(false);
    let st = s.into_summary();
    // the SELECT, then three errors (the flagged cap); the 7 other errors and the quit are counted
    assert_eq!(st.commands_total, 12);
    let kept: Vec<Option<u16>> = st.commands.iter().map(|c| c.response.error_code).collect();
    assert_eq!(kept, vec![None, Some(1064), Some(1064), Some(1064)]);
    assert_eq!(st.commands_omitted, 8);
    assert_eq!(st.omitted_errors.get(&1064).map(|e| e.count), Some(7));
    assert_eq!(st.errors, 10);
}

fn feed(s: &mut Session, conv: &[(Dir, Vec<u8>)]) {
    for (i, (d, bytes)) in conv.iter().enumerate() {
        s.on_data(*d, Timestamp(i as i64 * 1000), bytes);
    }
}

/// ERR 1156-style abuse inside a 16 MiB request: the continuation packet,
/// not the server's answer, broke the sequence.
#[test]
fn r13_a_broken_continuation_is_blamed_on_its_packet() {
    let mut conv: Vec<(Dir, Vec<u8>)> = conversation().into_iter().take(3).collect();
    let mut first = vec![0x03u8];
    first.resize(0xFF_FFFF, b'x');
    conv.push((Dir::ToServer, [pkt(0, &first), pkt(2, b"tail")].concat()));
    conv.push((Dir::ToClient, pkt(1, b"\xff\x84\x04#08S01Got packets out of order")));
    let mut s = Session::new(Limits::default(), false);
    feed(&mut s, &conv);
    s.on_rst(Dir::ToClient, Timestamp(99_000));
    s.finish(false);
    let st = s.into_summary();
    assert_eq!(st.seq_anomalies_total, 1, "{:?}", st.seq_anomalies);
    let a = &st.seq_anomalies[0];
    assert_eq!((a.direction, a.expected, a.actual, a.part), (Dir::ToServer, 1, 2, Some(1)));
    assert_eq!(st.commands[0].response.error_code, Some(1156));
}

/// MySQL 8.0.24+: an unasked ERR 4031 (seq 0) crossing a new query is the
/// server's idle disconnect, not the query's answer and not a sequence error.
#[test]
fn r13_err_4031_is_an_idle_disconnect_not_an_answer() {
    let mut conv: Vec<(Dir, Vec<u8>)> = conversation().into_iter().take(3).collect();
    conv.push((Dir::ToServer, pkt(0, b"\x03SELECT 1")));
    conv.push((Dir::ToClient, pkt(0, b"\xff\xbf\x0f#HY000The client was disconnected by the server because of inactivity.")));
    let mut s = Session::new(Limits::default(), false);
    feed(&mut s, &conv);
    s.on_fin(Dir::ToClient, Timestamp(99_000));
    s.finish(false);
    let st = s.into_summary();
    assert_eq!(st.seq_anomalies_total, 0);
    assert_eq!(st.commands[0].response.error_code, None, "the query got no answer");
    assert_eq!(st.end.last_error.as_ref().map(|e| e.code), Some(4031));
    assert!(st.events.iter().any(|e| e.kind == crate::model::EventKind::UnsolicitedError));
}

/// Column definitions cut short by an EOF, then the next queries: each error
/// stays with its own query.
#[test]
fn r13_a_short_column_list_does_not_shift_later_answers() {
    let mut conv: Vec<(Dir, Vec<u8>)> = conversation().into_iter().take(3).collect();
    // query 1: 3 columns announced, 1 definition, EOF, a row, EOF
    conv.push((Dir::ToServer, pkt(0, b"\x03SELECT a, b, c FROM t")));
    conv.push((Dir::ToClient, [pkt(1, &[3]), pkt(2, td::COLUMN_DEF), pkt(3, td::EOF), pkt(4, td::TEXT_ROW), pkt(5, td::EOF)].concat()));
    conv.push((Dir::ToServer, pkt(0, b"\x03SELECT 2")));
    conv.push((Dir::ToClient, [pkt(1, &[1]), pkt(2, td::COLUMN_DEF), pkt(3, td::EOF), pkt(4, td::TEXT_ROW), pkt(5, td::EOF)].concat()));
    conv.push((Dir::ToServer, pkt(0, b"\x03SELEC 3")));
    conv.push((Dir::ToClient, pkt(1, td::ERR_1064)));
    let mut s = Session::new(Limits::default(), false);
    feed(&mut s, &conv);
    s.finish(false);
    let st = s.into_summary();
    let errs: Vec<Option<u16>> = st.commands.iter().map(|c| c.response.error_code).collect();
    assert_eq!(errs, vec![None, None, Some(1064)]);
    assert_eq!(st.commands[1].response.rows, Some(1));
}

/// A lost greeting frame: the login and the commands after it are still decoded.
#[test]
fn r13_a_lost_greeting_resynchronises_instead_of_failing_the_login() {
    let conv = conversation();
    let mut s = Session::new(Limits::default(), false);
    s.on_gap(Dir::ToClient, Timestamp(0), (td::GREETING.len() + 4) as u64);
    feed(&mut s, &conv[1..]);
    s.on_fin(Dir::ToClient, Timestamp(99_000));
    s.finish(false);
    let st = s.into_summary();
    assert!(st.handshake_incomplete);
    assert_ne!(st.identity.auth_result, Some(crate::model::AuthResult::Error(1064)));
    let cmds: Vec<(&str, Option<u16>)> = st.commands.iter().map(|c| (c.command.as_str(), c.response.error_code)).collect();
    assert!(cmds.contains(&("COM_QUERY", Some(1064))), "{cmds:?}");
    assert!(cmds.len() >= 2, "{cmds:?}");
}

/// CLIENT_DEPRECATE_EOF counts only when both sides set it (a 5.7 client sets it
/// unasked): with a server that does not, the parameter definitions of a
/// PREPARE_OK end with an EOF, which belongs to the prepare.
#[test]
fn r13_deprecate_eof_needs_both_sides() {
    let mut login = td::LOGIN.to_vec();
    login[3] |= 0x01; // the client sets CLIENT_DEPRECATE_EOF (bit 24)
    let mut greeting = td::GREETING.to_vec();
    // the upper capability bytes follow the charset and the 2-byte status
    let nul = greeting.iter().position(|&b| b == 0).unwrap();
    let upper = nul + 1 + 4 + 8 + 1 + 2 + 1 + 2;
    greeting[upper + 1] &= !0x01; // the server does not
    let ok = [0u8, 0, 0, 2, 0, 0, 0];
    let mut prep = vec![pkt(1, td::PREPARE_OK)];
    for i in 0..5u8 {
        prep.push(pkt(2 + i, td::COLUMN_DEF));
    }
    prep.push(pkt(7, td::EOF));
    let conv = vec![
        (Dir::ToClient, pkt(0, &greeting)),
        (Dir::ToServer, pkt(1, &login)),
        (Dir::ToClient, pkt(2, &ok)),
        (Dir::ToServer, pkt(0, b"\x16INSERT INTO t VALUES (?, ?, ?, ?, ?)")),
        (Dir::ToClient, prep.concat()),
        (Dir::ToServer, pkt(0, b"\x01")),
    ];
    let mut s = Session::new(Limits::default(), false);
    feed(&mut s, &conv);
    s.finish(false);
    let st = s.into_summary();
    assert!(st.events.is_empty(), "the EOF must end the prepare, not be an unexpected packet: {:?}", st.events);
    assert_eq!(st.commands[0].response.kind, K::PrepareOk);
    assert_eq!(st.commands.len(), 2);
    // and with a server that sets it too, no EOF comes and none is expected
    greeting[upper + 1] |= 0x01;
    let mut conv2 = conv.clone();
    conv2[0] = (Dir::ToClient, pkt(0, &greeting));
    conv2[4] = (Dir::ToClient, prep[..6].concat());
    let mut s = Session::new(Limits::default(), false);
    feed(&mut s, &conv2);
    s.finish(false);
    assert!(s.summary().events.is_empty(), "{:?}", s.summary().events);
}
