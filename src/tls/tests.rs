//! `TlsConn` end to end over real captures: the crate's own capture reader,
//! decoder and TCP reassembly extract a connection's two byte streams, the
//! bytes after the MySQL SSLRequest (client) and greeting (server) go to
//! `TlsConn`, and the decrypted client stream is framed as MySQL packets.

use super::*;
use crate::capture::FileSource;
use crate::decode::{DecodeStats, decode};
use crate::mysql::framing::{Control, Framer};
use crate::reassembly::{HalfStream, StreamSink};
use crate::time::Timestamp;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// One event of a connection, in delivery order.
#[derive(Clone, Debug)]
pub(crate) enum Ev {
    Data(usize, Vec<u8>),
    Gap(usize, u64),
}

#[derive(Default)]
struct Collect {
    evs: Vec<Ev>,
}

impl StreamSink for Collect {
    fn on_event(&mut self, side: usize, _ts: Timestamp, ev: StreamEvent<'_>) {
        match ev {
            StreamEvent::Data(d) => self.evs.push(Ev::Data(side, d.to_vec())),
            StreamEvent::Gap(n) => self.evs.push(Ev::Gap(side, n)),
            _ => {}
        }
    }
}

/// A TCP connection to `server_port`: its client port and its events, side 0 = client.
pub(crate) struct TcpConn {
    pub client_port: u16,
    pub evs: Vec<Ev>,
}

/// The recorded TLS scenarios: `captures/tls`, or `$MYWIRE_CAPTURES/tls` (CI's fresh recording).
pub(crate) fn tls_captures() -> PathBuf {
    std::env::var_os("MYWIRE_CAPTURES").map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("captures"), PathBuf::from).join("tls")
}

/// Every TCP connection to `server_port` in the capture, in order of first packet.
pub(crate) fn tcp_conns(path: &Path, server_port: u16) -> Vec<TcpConn> {
    let mut src = FileSource::open(path.to_str().unwrap()).unwrap();
    let mut stats = DecodeStats::default();
    let mut conns: Vec<(SocketAddr, [HalfStream; 2], Collect)> = Vec::new();
    while let Some(frame) = src.next_frame() {
        let Some(seg) = decode(&frame, &mut stats) else { continue };
        let (client, side) = if seg.dst.port() == server_port {
            (seg.src, 0)
        } else if seg.src.port() == server_port {
            (seg.dst, 1)
        } else {
            continue;
        };
        let i = match conns.iter().position(|c| c.0 == client) {
            Some(i) => i,
            None => {
                conns.push((client, Default::default(), Collect::default()));
                conns.len() - 1
            }
        };
        let (_, halves, sink) = &mut conns[i];
        if seg.flags.ack {
            halves[1 - side].note_ack(seg.ack, frame.ts, 1 - side, sink);
        }
        halves[side].on_segment(
            seg.seq,
            seg.flags.syn,
            seg.flags.fin,
            seg.flags.rst,
            seg.window,
            seg.payload,
            seg.missing,
            frame.ts,
            4 << 20,
            side,
            sink,
        );
    }
    conns.into_iter().map(|(a, _, c)| TcpConn { client_port: a.port(), evs: c.evs }).collect()
}

/// The events after the MySQL prefix of each side: the client's 32-byte
/// SSLRequest (sequence id 1, CLIENT_SSL set) and the server's greeting.
pub(crate) fn after_ssl_request(evs: &[Ev]) -> Vec<Ev> {
    let mut seen = [Vec::new(), Vec::new()];
    let mut skip: [Option<usize>; 2] = [None, None];
    let mut outv = Vec::new();
    for e in evs {
        let Ev::Data(side, d) = e else {
            outv.push(e.clone());
            continue;
        };
        let s = *side;
        let mut d = &d[..];
        if skip[s].is_none() {
            seen[s].extend_from_slice(d);
            let b = &seen[s];
            let need = if s == 0 {
                if b.len() < 36 {
                    continue;
                }
                assert_eq!(&b[..4], &[32, 0, 0, 1], "client's first packet is not a 32-byte packet with sequence id 1");
                assert_ne!(u32::from_le_bytes([b[4], b[5], b[6], b[7]]) & 0x800, 0, "CLIENT_SSL not set: not an SSLRequest");
                36
            } else {
                if b.len() < 4 {
                    continue;
                }
                let n = 4 + (b[0] as usize | (b[1] as usize) << 8 | (b[2] as usize) << 16);
                if b.len() < n {
                    continue;
                }
                n
            };
            skip[s] = Some(need);
            let tail = seen[s][need..].to_vec();
            if !tail.is_empty() {
                outv.push(Ev::Data(s, tail));
            }
            continue;
        }
        if d.is_empty() {
            d = &[];
        }
        outv.push(Ev::Data(s, d.to_vec()));
    }
    outv
}

/// Runs a TlsConn over the events; returns the plaintext of each side (gaps as `None` entries) and the info.
pub(crate) fn decrypt(evs: &[Ev], keys: &KeyLog, limits: &TlsLimits) -> ([Vec<u8>; 2], u64, TlsInfo) {
    let mut t = TlsConn::new(limits);
    let mut plain = [Vec::new(), Vec::new()];
    let mut gaps = 0;
    let mut sink = |dir: Dir, ev: StreamEvent<'_>| match ev {
        StreamEvent::Data(d) => plain[dir.idx()].extend_from_slice(d),
        _ => gaps += 1,
    };
    for e in evs {
        match e {
            Ev::Data(s, d) => t.feed(dir_of(*s), d, keys, &mut sink),
            Ev::Gap(s, n) => t.gap(dir_of(*s), *n, &mut sink),
        }
    }
    let info = t.info();
    (plain, gaps, info)
}

/// COM_QUERY texts of a client stream.
pub(crate) fn queries(client_plain: &[u8]) -> Vec<String> {
    let mut fr = Framer::new(1 << 20);
    let mut q = Vec::new();
    let used = fr.feed(client_plain, Timestamp(0), &mut |p| {
        if p.payload.first() == Some(&3) {
            q.push(String::from_utf8_lossy(&p.payload[1..]).into_owned());
        }
        Control::Continue
    });
    assert_eq!(used, client_plain.len());
    q
}

/// Number of MySQL packets in a stream, and whether it ended on a packet boundary.
fn packets(plain: &[u8]) -> (usize, bool) {
    let mut fr = Framer::new(1 << 20);
    let mut n = 0;
    fr.feed(plain, Timestamp(0), &mut |_| {
        n += 1;
        Control::Continue
    });
    (n, fr.at_boundary())
}

pub(crate) fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/wireshark-notes");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(std::env::var_os("MYWIRE_REQUIRE_CORPUS").is_none(), "corpus missing at {}", dir.display());
    eprintln!("corpus not found at {}: skipped", dir.display());
    None
}

/// The `mysql.query` column of a stored tshark decode.
fn tshark_queries(tsv: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(tsv).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = head.iter().position(|h| *h == "mysql.query").unwrap();
    lines.filter_map(|l| l.split('\t').nth(col).filter(|q| !q.is_empty()).map(str::to_string)).collect()
}

fn corpus_case(name: &str) {
    let Some(dir) = corpus_dir() else { return };
    let keys = KeyLog::from_file(&dir.join(format!("{name}.keylog.txt"))).unwrap();
    let conns = tcp_conns(&dir.join(format!("{name}.pcapng")), 3306);
    assert_eq!(conns.len(), 1);
    let evs = after_ssl_request(&conns[0].evs);
    let (plain, gaps, info) = decrypt(&evs, &keys, &TlsLimits::default());
    assert_eq!(info.version.as_deref(), Some("TLS 1.0"), "{info:?}");
    assert!(info.decrypted, "{info:#?}");
    assert_eq!(gaps, 0);
    let want = tshark_queries(&dir.join(format!("{name}.tshark.tsv")));
    assert!(!want.is_empty());
    assert_eq!(queries(&plain[0]), want);
    let (server_packets, boundary) = packets(&plain[1]);
    assert!(server_packets > want.len() && boundary, "server stream: {server_packets} packets");
    eprintln!("{name}: {} queries, {} server packets, {}", want.len(), server_packets, info.cipher_suite.unwrap());

    // No key, or the wrong key: nothing comes out, and the reason says why.
    let (plain, _, info) = decrypt(&evs, &KeyLog::new(), &TlsLimits::default());
    assert!(plain[0].is_empty() && plain[1].is_empty() && !info.decrypted);
    assert!(info.reason.unwrap().starts_with("no key for client random e39b5bf4") || name != "mysql-ssl");
    let mut wrong = KeyLog::new();
    let text = std::fs::read_to_string(dir.join(format!("{name}.keylog.txt"))).unwrap();
    let (head, tail) = text.trim_end().split_at(text.trim_end().len() - 1);
    let flipped = format!("{head}{}\n", if tail == "0" { "1" } else { "0" });
    assert_eq!(wrong.add_text(flipped.as_bytes()), 1);
    let (plain, _, info) = decrypt(&evs, &wrong, &TlsLimits::default());
    assert!(plain[0].is_empty() && plain[1].is_empty() && !info.decrypted);
    assert!(info.reason.as_deref().unwrap().contains("failed authentication"), "{info:?}");
    assert!(info.client.auth_failed > 0 && info.client.decrypted == 0);
}

#[test]
fn corpus_mysql_ssl_tls10_queries_match_tshark() {
    corpus_case("mysql-ssl");
}

#[test]
fn corpus_mysql_ssl_larger_tls10_queries_match_tshark() {
    corpus_case("mysql-ssl-larger");
}

/// Every prefix of the corpus stream, fed in one chunk after another at
/// every split point of one record: the same plaintext (the slow path and
/// the fast path agree), never a panic.
#[test]
fn corpus_split_anywhere_gives_the_same_plaintext() {
    let Some(dir) = corpus_dir() else { return };
    let keys = KeyLog::from_file(&dir.join("mysql-ssl.keylog.txt")).unwrap();
    let evs = after_ssl_request(&tcp_conns(&dir.join("mysql-ssl.pcapng"), 3306)[0].evs);
    let (want, _, _) = decrypt(&evs, &keys, &TlsLimits::default());
    for chunk in [1, 2, 3, 5, 7, 64, 1000] {
        let mut split = Vec::new();
        for e in &evs {
            if let Ev::Data(s, d) = e {
                split.extend(d.chunks(chunk).map(|c| Ev::Data(*s, c.to_vec())));
            }
        }
        let (got, _, info) = decrypt(&split, &keys, &TlsLimits::default());
        assert_eq!(got, want, "chunk {chunk}");
        assert!(info.decrypted);
    }
}

/// A TCP gap inside a server record: that record is lost (a Gap is handed
/// on), and with TLS 1.0 CBC the next one too (its IV was the lost record's
/// last block); everything after decrypts again, the 13,856-byte result record included.
#[test]
fn corpus_gap_loses_only_the_records_it_touches() {
    let Some(dir) = corpus_dir() else { return };
    let keys = KeyLog::from_file(&dir.join("mysql-ssl-larger.keylog.txt")).unwrap();
    let evs = after_ssl_request(&tcp_conns(&dir.join("mysql-ssl-larger.pcapng"), 3306)[0].evs);
    let (full, _, _) = decrypt(&evs, &keys, &TlsLimits::default());
    // the segment holding a 32-byte and a 368-byte record: cut 50 bytes out of the second
    let mut cut = Vec::new();
    let mut done = false;
    for e in &evs {
        match e {
            Ev::Data(1, d) if d.len() == 410 && !done => {
                done = true;
                cut.push(Ev::Data(1, d[..100].to_vec()));
                cut.push(Ev::Gap(1, 50));
                cut.push(Ev::Data(1, d[150..].to_vec()));
            }
            _ => cut.push(e.clone()),
        }
    }
    assert!(done);
    let (got, gaps, info) = decrypt(&cut, &keys, &TlsLimits::default());
    assert_eq!(got[0], full[0], "client stream untouched");
    assert_eq!(gaps, 2, "{info:#?}");
    assert_eq!((info.server.records_lost, info.server.auth_failed, info.server.gaps), (2, 0, 1));
    let lost = full[1].len() - got[1].len();
    assert!(lost > 300 && lost < 400, "lost {lost}");
    assert!(got[1].ends_with(&full[1][full[1].len() - 13000..]));
    assert!(!info.decrypted && info.reason.as_deref() == Some("2 server records lost"), "{info:?}");
}

/// Garbage, truncation and random damage never panic and never yield plaintext
/// that did not authenticate.
#[test]
fn corpus_damage_is_counted_not_decoded() {
    let Some(dir) = corpus_dir() else { return };
    let keys = KeyLog::from_file(&dir.join("mysql-ssl.keylog.txt")).unwrap();
    let evs = after_ssl_request(&tcp_conns(&dir.join("mysql-ssl.pcapng"), 3306)[0].evs);
    let (full, _, _) = decrypt(&evs, &keys, &TlsLimits::default());
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    for round in 0..200 {
        let mut damaged = evs.clone();
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let i = (rng as usize) % damaged.len();
        if let Ev::Data(_, d) = &mut damaged[i] {
            let j = (rng >> 20) as usize % d.len();
            d[j] ^= 1 << (round % 8);
        }
        let (got, _, info) = decrypt(&damaged, &keys, &TlsLimits::default());
        // whatever came out is a prefix-and-pieces of the truth: every byte handed on authenticated
        for side in 0..2 {
            assert!(got[side].len() <= full[side].len(), "round {round}");
        }
        let _ = info;
    }
    // not TLS at all
    let (got, _, info) = decrypt(&[Ev::Data(0, b"GET / HTTP/1.1\r\n\r\n".to_vec())], &keys, &TlsLimits::default());
    assert!(got[0].is_empty() && info.reason.unwrap().contains("not TLS"));
}

#[test]
fn hrr_random_is_sha256_of_its_name() {
    use sha2::Digest;
    assert_eq!(sha2::Sha256::digest(b"HelloRetryRequest")[..], HRR_RANDOM[..]);
}

/// The recorded TLS scenarios (captures/tls, `captures/record`): every
/// connection decrypts, with the version, suite, resumption, HelloRetryRequest
/// and encrypt-then-MAC the client's TLS stack reported, and the decrypted
/// client stream holds exactly the COM_QUERYs the client ran.
#[test]
fn recorded_tls_scenarios_decrypt_to_the_commands_run() {
    let dir = tls_captures();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".expect.json").map(String::from))
        .collect();
    names.sort();
    assert_eq!(names.len(), 15, "{names:?}");
    for name in &names {
        let exp: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.expect.json"))).unwrap()).unwrap();
        let port = exp["server"]["port"].as_u64().unwrap() as u16;
        let keys = KeyLog::from_file(&dir.join(exp["keylog"].as_str().unwrap())).unwrap();
        let conns = tcp_conns(&dir.join(exp["capture"].as_str().unwrap()), port);
        let want_conns = exp["connections"].as_array().unwrap();
        assert_eq!(conns.len(), want_conns.len(), "{name}");
        for (i, w) in want_conns.iter().enumerate() {
            let conn = match w["client_port"].as_u64() {
                Some(p) => conns.iter().find(|c| u64::from(c.client_port) == p).unwrap(),
                None => &conns[i],
            };
            let evs = after_ssl_request(&conn.evs);
            let (plain, gaps, info) = decrypt(&evs, &keys, &TlsLimits::default());
            assert!(info.decrypted && gaps == 0, "{name}: {info:#?}");
            assert_eq!(info.client.auth_failed + info.server.auth_failed, 0);
            if name == "tls13-keyupdate" {
                assert_eq!(plain[0], crate::tls::kdf::unhex(exp["client_sent_after_key_update_hex"].as_str().unwrap()), "{name}");
                assert_eq!((info.client.key_updates, info.server.key_updates), (1, 1), "{name}");
                let code = exp["server_error_code_client_saw"].as_u64().unwrap();
                assert_eq!(plain[1][4], 0xff);
                assert_eq!(u64::from(u16::from_le_bytes([plain[1][5], plain[1][6]])), code);
                assert_eq!(info.version.as_deref(), Some("TLS 1.3"));
                continue;
            }
            let saw = &w["tls_client_saw"];
            let version = saw["version"].as_str().unwrap().replace("TLSv", "TLS ");
            assert_eq!(info.version.as_deref(), Some(version.as_str()), "{name}");
            let id = saw["cipher_id"].as_u64().unwrap() as u16;
            assert_eq!(info.cipher_suite, Some(suite_name(id)), "{name}");
            assert_eq!(info.resumed, saw["session_reused"].as_bool().unwrap(), "{name} connection {i}");
            assert_eq!(info.hello_retry, name == "tls13-hrr", "{name}");
            let cbc = suite_name(id).contains("_CBC_");
            let etm_off = exp["tls_client_config"]["client_disabled_encrypt_then_mac"].as_bool().unwrap_or(false);
            assert_eq!(info.encrypt_then_mac, cbc && !etm_off, "{name}");
            let want: Vec<&str> = w["commands"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["command"] == "COM_QUERY")
                .map(|c| c["sql"].as_str().unwrap())
                .collect();
            assert_eq!(queries(&plain[0]), want, "{name} connection {i}");
            let (n, boundary) = packets(&plain[1]);
            assert!(boundary && n > want.len(), "{name}: server stream framing");
            // the 20,000-byte result spans more than one TLS record
            assert!(info.server.decrypted >= 4);
        }
    }
}

/// Live mode: records wait for a key that is logged later, and come out in
/// order once `retry` finds it; past the wait cap records are counted and lost.
#[test]
fn records_wait_for_a_late_key() {
    let dir = tls_captures();
    for name in ["tls13-aes128gcm", "tls12-ecdhe-cbc-sha-noetm"] {
        let exp: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.expect.json"))).unwrap()).unwrap();
        let port = exp["server"]["port"].as_u64().unwrap() as u16;
        let keys = KeyLog::from_file(&dir.join(format!("{name}.keylog"))).unwrap();
        let evs = after_ssl_request(&tcp_conns(&dir.join(format!("{name}.pcap")), port)[0].evs);
        let (want, _, _) = decrypt(&evs, &keys, &TlsLimits::default());
        let mut t = TlsConn::new(&TlsLimits::live());
        let mut plain = [Vec::new(), Vec::new()];
        let empty = KeyLog::new();
        let mut sink = |dir: Dir, ev: StreamEvent<'_>| {
            if let StreamEvent::Data(d) = ev {
                plain[dir.idx()].extend_from_slice(d)
            }
        };
        let half = evs.len() / 2;
        for e in &evs[..half] {
            if let Ev::Data(s, d) = e {
                t.feed(dir_of(*s), d, &empty, &mut sink);
            }
        }
        let info = t.info();
        assert!(info.reason.as_deref().unwrap().starts_with("waiting for the key"), "{info:?}");
        assert!(info.client.waited > 0 && info.client.decrypted == 0);
        t.retry(&keys, &mut sink);
        for e in &evs[half..] {
            if let Ev::Data(s, d) = e {
                t.feed(dir_of(*s), d, &keys, &mut sink);
            }
        }
        assert_eq!(plain, want, "{name}");
        assert!(t.info().decrypted, "{:#?}", t.info());

        // a wait buffer too small for the server's records: they are counted as lost, the rest decrypts
        let small = TlsLimits { max_wait_bytes: 4096, max_wait_records: 4, ..TlsLimits::live() };
        let mut t = TlsConn::new(&small);
        let mut gaps = 0;
        let mut got = [Vec::new(), Vec::new()];
        let mut sink = |dir: Dir, ev: StreamEvent<'_>| match ev {
            StreamEvent::Data(d) => got[dir.idx()].extend_from_slice(d),
            _ => gaps += 1,
        };
        for e in &evs {
            if let Ev::Data(s, d) = e {
                t.feed(dir_of(*s), d, &empty, &mut sink);
            }
        }
        t.retry(&keys, &mut sink);
        let info = t.info();
        assert!(info.server.wait_dropped > 0 && info.server.records_lost == info.server.wait_dropped, "{info:#?}");
        assert!(got[1].len() < want[1].len());
    }
}

/// Keys carried in the capture: `editcap --inject-secrets tls,KEYLOG` writes a
/// pcapng Decryption Secrets Block; `FileSource` hands its text on, and it
/// alone decrypts the connection.
#[test]
fn decryption_secrets_block_from_editcap() {
    let Ok(st) = std::process::Command::new("editcap").arg("-h").output() else {
        assert!(std::env::var_os("MYWIRE_REQUIRE_CORPUS").is_none(), "editcap missing");
        eprintln!("editcap not installed (apt-get install tshark): skipped");
        return;
    };
    assert!(st.status.success());
    let dir = tls_captures();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("with-keys.pcapng");
    let name = "tls13-chacha20";
    let s = std::process::Command::new("editcap")
        .arg("--inject-secrets")
        .arg(format!("tls,{}", dir.join(format!("{name}.keylog")).display()))
        .args(["-F", "pcapng"])
        .arg(dir.join(format!("{name}.pcap")))
        .arg(&out)
        .status()
        .unwrap();
    assert!(s.success());
    let mut src = FileSource::open(out.to_str().unwrap()).unwrap();
    let mut keys = KeyLog::new();
    let mut frames = 0;
    while src.next_frame().is_some() {
        frames += 1;
        for sec in src.take_secrets() {
            assert_eq!(sec.secrets_type, crate::capture::SECRETS_TLS_KEYLOG);
            keys.add_text(&sec.data);
        }
    }
    assert!(frames > 10);
    assert_eq!(src.secrets_stats().blocks, 1);
    let file_keys = KeyLog::from_file(&dir.join(format!("{name}.keylog"))).unwrap();
    assert_eq!((keys.len(), keys.stats.secrets), (file_keys.len(), file_keys.stats.secrets));
    assert_eq!(keys.stats.malformed, 0);
    let exp: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.expect.json"))).unwrap()).unwrap();
    let port = exp["server"]["port"].as_u64().unwrap() as u16;
    let evs = after_ssl_request(&tcp_conns(&out, port)[0].evs);
    let (plain, _, info) = decrypt(&evs, &keys, &TlsLimits::default());
    assert!(info.decrypted, "{info:#?}");
    assert_eq!(queries(&plain[0]).len(), 5);
}

/// The fuzz target's input format (fuzz/fuzz_targets/tls.rs): a mode byte, then
/// (ctl, len) events, ctl >> 5 == 0 a gap, otherwise data of direction ctl & 1.
fn fuzz_encode(evs: &[Ev]) -> Vec<u8> {
    let mut v = vec![0u8];
    for e in evs {
        match e {
            Ev::Data(s, d) => {
                for c in d.chunks(255) {
                    v.extend_from_slice(&[0x40 | *s as u8, c.len() as u8]);
                    v.extend_from_slice(c);
                }
            }
            Ev::Gap(s, n) => v.extend_from_slice(&[*s as u8, (*n).min(255) as u8]),
        }
    }
    v
}

fn fuzz_decode(data: &[u8]) -> Vec<Ev> {
    let mut evs = Vec::new();
    let mut i = 1;
    while i + 2 <= data.len() {
        let (ctl, len) = (data[i], usize::from(data[i + 1]));
        i += 2;
        let end = (i + len).min(data.len());
        if ctl >> 5 == 0 {
            evs.push(Ev::Gap(usize::from(ctl & 1), len as u64));
        } else {
            evs.push(Ev::Data(usize::from(ctl & 1), data[i..end].to_vec()));
        }
        i = end;
    }
    evs
}

/// The fuzz seeds are recorded sessions in the target's format: they decode to
/// the same plaintext as the capture (so the fuzzer starts inside real
/// decryption). `MYWIRE_WRITE_FUZZ_SEEDS=DIR` writes them out.
#[test]
fn fuzz_seed_format_round_trips() {
    let dir = tls_captures();
    for name in ["tls13-aes128gcm", "tls12-ecdhe-cbc-sha-noetm", "tls12-ecdhe-aes128gcm", "tls12-ecdhe-chacha20"] {
        let exp: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.expect.json"))).unwrap()).unwrap();
        let port = exp["server"]["port"].as_u64().unwrap() as u16;
        let keys = KeyLog::from_file(&dir.join(format!("{name}.keylog"))).unwrap();
        let evs = after_ssl_request(&tcp_conns(&dir.join(format!("{name}.pcap")), port)[0].evs);
        let seed = fuzz_encode(&evs);
        let (want, _, _) = decrypt(&evs, &keys, &TlsLimits::default());
        let (got, _, info) = decrypt(&fuzz_decode(&seed), &keys, &TlsLimits::default());
        assert!(info.decrypted && !want[0].is_empty());
        assert_eq!(got, want, "{name}");
        if let Some(out) = std::env::var_os("MYWIRE_WRITE_FUZZ_SEEDS") {
            std::fs::write(Path::new(&out).join(format!("{name}.bin")), &seed).unwrap();
        }
    }
}

/// Removes bytes [from, to) of `side`'s stream, putting a Gap in their place.
fn cut(evs: &[Ev], side: usize, from: usize, to: usize) -> Vec<Ev> {
    let mut outv = Vec::new();
    let mut off = 0;
    let mut gap_done = false;
    for e in evs {
        match e {
            Ev::Data(s, d) if *s == side => {
                let (a, b) = (off, off + d.len());
                off = b;
                if b <= from || a >= to {
                    if a >= to && !gap_done {
                        outv.push(Ev::Gap(side, (to - from) as u64));
                        gap_done = true;
                    }
                    outv.push(e.clone());
                    continue;
                }
                if a < from {
                    outv.push(Ev::Data(side, d[..from - a].to_vec()));
                }
                if !gap_done && b >= to {
                    outv.push(Ev::Gap(side, (to - from) as u64));
                    gap_done = true;
                }
                if b > to {
                    outv.push(Ev::Data(side, d[to - a..].to_vec()));
                }
            }
            _ => outv.push(e.clone()),
        }
    }
    outv
}

/// Record boundaries (offsets of headers) of one side's TLS stream.
fn boundaries(evs: &[Ev], side: usize) -> Vec<(usize, u8, usize)> {
    let stream: Vec<u8> =
        evs.iter().filter_map(|e| if let Ev::Data(s, d) = e { (*s == side).then_some(d.clone()) } else { None }).flatten().collect();
    let mut v = Vec::new();
    let mut p = 0;
    while p + 5 <= stream.len() {
        let len = u16::from_be_bytes([stream[p + 3], stream[p + 4]]) as usize;
        v.push((p, stream[p], len));
        p += 5 + len;
    }
    v
}

/// A gap across a record boundary loses the framing: the records after it are
/// found again by trial decryption (sequence numbers tried until the tag or
/// MAC verifies), for TLS 1.3, TLS 1.2 GCM (explicit nonce), ChaCha20 and CBC.
#[test]
fn gap_across_a_record_header_resynchronises() {
    let dir = tls_captures();
    for name in ["tls13-aes128gcm", "tls12-ecdhe-aes128gcm", "tls12-ecdhe-chacha20", "tls12-ecdhe-cbc-sha-noetm"] {
        let exp: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.expect.json"))).unwrap()).unwrap();
        let port = exp["server"]["port"].as_u64().unwrap() as u16;
        let keys = KeyLog::from_file(&dir.join(format!("{name}.keylog"))).unwrap();
        let evs = after_ssl_request(&tcp_conns(&dir.join(format!("{name}.pcap")), port)[0].evs);
        let (full, _, _) = decrypt(&evs, &keys, &TlsLimits::default());
        // the server record after the first one over 16,000 bytes: cut across its header
        let b = boundaries(&evs, 1);
        let big = b.iter().position(|r| r.1 == 23 && r.2 > 16000).unwrap();
        let (next, _, _) = b[big + 1];
        assert!(b.len() > big + 3, "{name}: records after the big one");
        let cutv = cut(&evs, 1, next - 10, next + 10);
        let (got, gaps, info) = decrypt(&cutv, &keys, &TlsLimits::default());
        assert_eq!(got[0], full[0], "{name}");
        assert_eq!((info.server.resyncs, info.server.auth_failed, info.server.resync_failures), (1, 0, 0), "{name}: {info:#?}");
        assert_eq!(info.server.records_lost, 2, "{name}: {info:#?}");
        assert!(gaps >= 2, "{name}");
        // everything from the third record after the cut on is back, byte for byte
        let tail_records: usize = b[big + 2..].iter().filter(|r| r.1 == 23).count();
        assert!(tail_records >= 2);
        let lost = full[1].len() - got[1].len();
        // at most the two records' ciphertext, at least the big one's plaintext
        assert!(lost > 16000 && lost <= b[big].2 + b[big + 1].2, "{name}: lost {lost}");
        let back = &full[1][full[1].len() - 100..];
        assert!(got[1].ends_with(back), "{name}");
    }
}

fn hello_records(suite: u16, version: u16) -> (Vec<u8>, Vec<u8>) {
    let rec = |body: Vec<u8>| {
        let mut r = vec![22, 3, 1, 0, 0];
        r[3..5].copy_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(&body);
        r
    };
    let hs = |typ: u8, b: Vec<u8>| {
        let mut h = vec![typ, 0, (b.len() >> 8) as u8, b.len() as u8];
        h.extend_from_slice(&b);
        h
    };
    let mut ch = version.to_be_bytes().to_vec();
    ch.extend_from_slice(&[0x11; 32]);
    ch.extend_from_slice(&[0, 0, 2]);
    ch.extend_from_slice(&suite.to_be_bytes());
    ch.extend_from_slice(&[1, 0]);
    let mut sh = version.to_be_bytes().to_vec();
    sh.extend_from_slice(&[0x22; 32]);
    sh.push(0);
    sh.extend_from_slice(&suite.to_be_bytes());
    sh.push(0);
    (rec(hs(1, ch)), rec(hs(2, sh)))
}

/// Unknown and unsupported suites, SSL 3.0, keys of other connections,
/// and a handshake cut anywhere: reported, counted, nothing decoded.
#[test]
fn what_cannot_be_decrypted_says_why() {
    let mut keys = KeyLog::new();
    keys.add_line(format!("CLIENT_RANDOM {} {}", "11".repeat(32), "33".repeat(48)).as_bytes());
    let app = [23u8, 3, 3, 0, 40].iter().copied().chain([7u8; 40]).collect::<Vec<u8>>();
    for (suite, version, why) in [
        (0x000a, 0x0303, "unsupported cipher suite TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
        (0xfefe, 0x0303, "unknown cipher suite 0xfefe"),
        (0x002f, 0x0300, "unsupported version SSL 3.0"),
        (0xc0ac, 0x0303, "unsupported cipher suite TLS_ECDHE_ECDSA_WITH_AES_128_CCM"),
    ] {
        let (ch, sh) = hello_records(suite, version);
        let mut t = TlsConn::new(&TlsLimits::default());
        let mut n = 0;
        let mut out = |_: Dir, _: StreamEvent<'_>| n += 1;
        t.feed(Dir::ToServer, &ch, &keys, &mut out);
        t.feed(Dir::ToClient, &sh, &keys, &mut out);
        t.feed(Dir::ToServer, &[20, 3, 3, 0, 1, 1], &keys, &mut out);
        t.feed(Dir::ToServer, &app, &keys, &mut out);
        let info = t.info();
        assert_eq!(n, 0);
        assert_eq!(info.reason.as_deref(), Some(why), "{info:#?}");
        assert_eq!(info.client.undecrypted, 1);
    }

    // keys of another connection
    let dir = tls_captures();
    let exp: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("tls12-ecdhe-aes128gcm.expect.json")).unwrap()).unwrap();
    let port = exp["server"]["port"].as_u64().unwrap() as u16;
    let evs = after_ssl_request(&tcp_conns(&dir.join("tls12-ecdhe-aes128gcm.pcap"), port)[0].evs);
    let other = KeyLog::from_file(&dir.join("tls12-ecdhe-chacha20.keylog")).unwrap();
    let (plain, _, info) = decrypt(&evs, &other, &TlsLimits::default());
    assert!(plain[0].is_empty() && plain[1].is_empty());
    assert!(info.reason.as_deref().unwrap().starts_with("no key for client random"), "{info:?}");
    // every record after each side's ChangeCipherSpec (Finished and 7 application records each,
    // as tshark lists them), and none before it
    assert_eq!((info.client.undecrypted, info.server.undecrypted), (8, 8), "{info:#?}");
    assert_eq!((info.client.records, info.server.records), (12, 15));

    // the handshake cut at every point: no panic, and "not complete" or "not seen" until the hellos are in
    let keys = KeyLog::from_file(&dir.join("tls12-ecdhe-aes128gcm.keylog")).unwrap();
    let flat: Vec<(usize, u8)> =
        evs.iter().filter_map(|e| if let Ev::Data(s, d) = e { Some(d.iter().map(move |b| (*s, *b))) } else { None }).flatten().collect();
    for cut in (0..flat.len().min(4000)).step_by(37) {
        let part: Vec<Ev> = flat[..cut].iter().map(|&(s, b)| Ev::Data(s, vec![b])).collect();
        let (_, _, info) = decrypt(&part, &keys, &TlsLimits::default());
        if info.cipher_suite.is_none() {
            assert_eq!(info.reason.as_deref(), Some("handshake not complete"), "cut {cut}");
        }
    }
}

/// SNI and encrypt-then-MAC come from the ClientHello / ServerHello extensions
/// (parsed with tls-parser's generic extension parser: EtM is type 22).
#[test]
fn sni_and_encrypt_then_mac_from_the_hellos() {
    let ext = |typ: u16, body: &[u8]| {
        let mut e = typ.to_be_bytes().to_vec();
        e.extend_from_slice(&(body.len() as u16).to_be_bytes());
        e.extend_from_slice(body);
        e
    };
    let name = b"db.example.test";
    let mut sni = ((name.len() + 3) as u16).to_be_bytes().to_vec();
    sni.push(0);
    sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sni.extend_from_slice(name);
    let with_ext = |rec: Vec<u8>, exts: Vec<u8>| {
        // append an extensions block to the hello inside the record, fixing both lengths
        let mut body = rec[9..].to_vec();
        body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        body.extend_from_slice(&exts);
        let mut hs = vec![rec[5], 0, (body.len() >> 8) as u8, body.len() as u8];
        hs.extend_from_slice(&body);
        let mut r = vec![22, 3, 1];
        r.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        r.extend_from_slice(&hs);
        r
    };
    let (ch, sh) = hello_records(0xc013, 0x0303);
    let ch = with_ext(ch, [ext(0, &sni), ext(22, &[]), ext(21, &[0, 0])].concat());
    for (server_exts, etm) in [(ext(22, &[]), true), (ext(21, &[0; 4]), false)] {
        let sh = with_ext(sh.clone(), server_exts);
        let mut t = TlsConn::new(&TlsLimits::default());
        let mut out = |_: Dir, _: StreamEvent<'_>| {};
        t.feed(Dir::ToServer, &ch, &KeyLog::new(), &mut out);
        t.feed(Dir::ToClient, &sh, &KeyLog::new(), &mut out);
        let info = t.info();
        assert_eq!(info.sni.as_deref(), Some("db.example.test"));
        assert_eq!(info.cipher_suite.as_deref(), Some("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"));
        assert_eq!(info.encrypt_then_mac, etm, "server extension {etm}");
    }
}
