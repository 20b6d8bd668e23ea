//! Perturbed real captures: reordering, duplication, loss, truncation and
//! snaplen cuts applied to captures/ files; each asserts exactly what it gives.

use crate::util::{analyze, capture};
use mywire::report::model::Report;

/// A legacy pcap: the 24-byte header and its records (ts_sec, ts_usec, orig_len, data).
pub(crate) struct Pcap {
    pub(crate) header: Vec<u8>,
    pub(crate) recs: Vec<(u32, u32, u32, Vec<u8>)>,
}

pub(crate) fn load(name: &str) -> Pcap {
    let path = capture(name);
    let raw = std::fs::read(&path).unwrap();
    let bytes = if path.ends_with(".zst") { zstd::decode_all(&raw[..]).unwrap() } else { raw };
    assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "little-endian microsecond pcap expected");
    let le = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let mut recs = Vec::new();
    let mut i = 24;
    while i + 16 <= bytes.len() {
        let (s, us, cap, orig) = (le(&bytes[i..]), le(&bytes[i + 4..]), le(&bytes[i + 8..]) as usize, le(&bytes[i + 12..]));
        recs.push((s, us, orig, bytes[i + 16..i + 16 + cap].to_vec()));
        i += 16 + cap;
    }
    Pcap { header: bytes[..24].to_vec(), recs }
}

impl Pcap {
    fn bytes(&self) -> Vec<u8> {
        let mut out = self.header.clone();
        for (s, us, orig, d) in &self.recs {
            for v in [*s, *us, d.len() as u32, *orig] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(d);
        }
        out
    }

    /// (src port, TCP payload length) of an Ethernet/IPv4/TCP frame.
    fn tcp(&self, k: usize) -> (u16, usize) {
        let d = &self.recs[k].3;
        let ihl = usize::from(d[14] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([d[16], d[17]]));
        let t = 14 + ihl;
        let doff = usize::from(d[t + 12] >> 4) * 4;
        (u16::from_be_bytes([d[t], d[t + 1]]), total - ihl - doff)
    }

    fn save(&self, dir: &tempfile::TempDir, name: &str) -> String {
        let p = dir.path().join(name);
        std::fs::write(&p, self.bytes()).unwrap();
        p.to_string_lossy().into_owned()
    }
}

fn commands(r: &Report) -> Vec<(String, Option<String>, &'static str, Option<u64>)> {
    r.connections
        .iter()
        .flat_map(|c| c.commands.iter().map(|x| (x.command.clone(), x.sql.clone(), x.response.kind.as_str(), x.response.rows)))
        .collect()
}

#[test]
fn adjacent_segments_swapped_give_the_same_decode() {
    let mut p = load("large-packet");
    let orig = analyze(&[capture("large-packet")]);
    let base = commands(&orig);
    let base_ooo = orig.connections[0].tcp.out_of_order; // loopback TSO already reorders a few
    // the 17 MiB row arrives as a run of full-size server segments: swap two of them
    let k = (0..p.recs.len() - 1).find(|&k| {
        let (a, b) = (p.tcp(k), p.tcp(k + 1));
        a.1 > 1000 && b.1 > 1000 && a.0 == b.0
    });
    let k = k.expect("a run of data segments");
    p.recs.swap(k, k + 1);
    let dir = tempfile::tempdir().unwrap();
    let r = analyze(&[p.save(&dir, "swapped.pcap")]);
    assert_eq!(commands(&r), base);
    let tcp = &r.connections[0].tcp;
    assert_eq!((tcp.out_of_order, tcp.gaps), (base_ooo + 1, 0));
}

#[test]
fn duplicated_segments_give_the_same_decode() {
    let mut p = load("basic");
    let orig = analyze(&[capture("basic")]);
    let base = commands(&orig);
    let base_retrans = orig.connections[0].tcp.retransmissions;
    let mut dup = Vec::new();
    let mut n = 0;
    for k in 0..p.recs.len() {
        dup.push(p.recs[k].clone());
        if p.tcp(k).1 > 0 {
            dup.push(p.recs[k].clone());
            n += 1;
        }
    }
    p.recs = dup;
    let dir = tempfile::tempdir().unwrap();
    let r = analyze(&[p.save(&dir, "dup.pcap")]);
    assert_eq!(commands(&r), base);
    assert_eq!(r.connections[0].tcp.retransmissions, base_retrans + n);
    assert_eq!(r.connections[0].tcp.gaps, 0);
}

#[test]
fn one_dropped_segment_is_a_gap_and_decoding_resumes() {
    let mut p = load("large-packet");
    // drop one full-size segment in the middle of the 17 MiB row
    let k = (1..p.recs.len() - 1)
        .filter(|&k| p.tcp(k).1 > 60_000 && p.tcp(k - 1).1 > 60_000 && p.tcp(k - 1).0 == p.tcp(k).0)
        .nth(300)
        .expect("a middle segment");
    let lost = p.tcp(k).1 as u64;
    p.recs.remove(k);
    let dir = tempfile::tempdir().unwrap();
    let r = analyze(&[p.save(&dir, "drop.pcap")]);
    let c = &r.connections[0];
    assert_eq!((c.tcp.gaps, c.tcp.missed_bytes), (1, lost));
    assert!(r.findings.iter().any(|f| f.kind.as_str() == "tcp_gap"));
    // after the gap, the next command is decoded again
    let last: Vec<_> = c.commands.iter().rev().take(2).map(|x| x.command.as_str()).collect();
    assert_eq!(last, vec!["COM_QUIT", "COM_QUERY"]);
    assert_eq!(c.commands[c.commands.len() - 2].sql.as_deref(), Some("SELECT LENGTH(body) FROM big"));
    assert_eq!(c.close.cause.as_str(), "client_quit");
}

#[test]
fn file_truncated_mid_record_keeps_what_was_read() {
    let p = load("drops");
    let mut bytes = p.bytes();
    let full = analyze(&[capture("drops")]);
    bytes.truncate(bytes.len() - 30); // inside the last record
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.pcap");
    std::fs::write(&path, &bytes).unwrap();
    let r = analyze(&[path.to_string_lossy().into_owned()]);
    assert_eq!(r.inputs[0].frames, p.recs.len() as u64 - 1);
    assert!(r.inputs[0].truncated);
    let off = bytes.len() - (p.recs.last().unwrap().3.len() + 16 - 30);
    assert!(r.warnings[0].contains(&format!("byte offset {off}")), "{:?}", r.warnings);
    assert_eq!(r.connections.len(), full.connections.len());
    assert_eq!(commands(&r), commands(&full));
}

#[test]
fn snaplen_96_counts_missing_bytes_as_gaps_not_garbage() {
    let mut p = load("basic");
    let mut missing = 0u64;
    for (_, _, orig, d) in &mut p.recs {
        if d.len() > 96 {
            missing += (d.len() - 96) as u64;
            d.truncate(96);
        }
        *orig = (*orig).max(96);
    }
    let dir = tempfile::tempdir().unwrap();
    let r = analyze(&[p.save(&dir, "snap96.pcap")]);
    let c = &r.connections[0];
    assert_eq!(c.tcp.missed_bytes, missing);
    assert_eq!(r.summary.capture.decode.snaplen_truncated, p.recs.iter().filter(|r| r.2 > 96).count() as u64);
    assert!(r.findings.iter().any(|f| f.kind.as_str() == "tcp_gap"));
    // nothing invented: every command named is one the client really sent
    let real: Vec<String> = commands(&analyze(&[capture("basic")])).into_iter().map(|c| c.0).collect();
    for (name, _, _, _) in commands(&r) {
        assert!(real.contains(&name), "invented {name}");
    }
}

#[test]
fn garbage_and_hostile_lengths_never_panic() {
    // every prefix of a real capture, and random bytes behind a valid header
    let p = load("bad-seq");
    let bytes = p.bytes();
    let dir = tempfile::tempdir().unwrap();
    for cut in (24..bytes.len()).step_by(37) {
        let path = dir.path().join(format!("cut{cut}.pcap"));
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let _ = analyze(&[path.to_string_lossy().into_owned()]);
    }
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut flip = bytes.clone();
    for _ in 0..400 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let i = 24 + (rng as usize % (flip.len() - 24));
        flip[i] = (rng >> 32) as u8;
    }
    let path = dir.path().join("flipped.pcap");
    std::fs::write(&path, &flip).unwrap();
    let _ = analyze(&[path.to_string_lossy().into_owned()]);
}

#[test]
fn a_clean_close_is_reported_at_once_and_late_duplicates_are_only_counted() {
    // basic.pcap ends with FIN, FIN, ACK: the connection is reported at the final
    // ACK. Its last three frames again, one second later, are late duplicates:
    // counted, never a second (phantom) connection, and the record is unchanged.
    let mut p = load("basic");
    let orig = analyze(&[capture("basic")]);
    let n = p.recs.len();
    for k in n - 3..n {
        let mut r = p.recs[k].clone();
        r.0 += 1;
        p.recs.push(r);
    }
    let dir = tempfile::tempdir().unwrap();
    let r = analyze(&[p.save(&dir, "late.pcap")]);
    assert_eq!(r.connections.len(), 1);
    assert_eq!(r.summary.capture.flows.late_segments, 3);
    let j = |c: &mywire::report::model::ConnReport| serde_json::to_value(c).unwrap();
    assert_eq!(j(&r.connections[0]), j(&orig.connections[0]));
    // and it is reported at the frame of the final ACK, before the late frames are read
    let mut src = mywire::capture::MergedSource::new(vec![mywire::capture::FileSource::open(&p.save(&dir, "late2.pcap")).unwrap()]);
    let reported = std::cell::Cell::new(None);
    let pushed = std::cell::Cell::new(0usize);
    let mut on_conn = |_: &mywire::report::model::ConnReport, _: &[mywire::report::model::Finding]| {
        reported.set(Some(pushed.get()));
        Ok(())
    };
    let opts = mywire::config::AnalyzeOptions::new(&[]);
    let mut runner = mywire::engine::Runner::new(&opts, &mut on_conn);
    while let Some(f) = src.next_frame() {
        pushed.set(pushed.get() + 1);
        runner.push(&f).unwrap();
    }
    assert_eq!(reported.get(), Some(n), "reported at frame {:?} of {}", reported.get(), n + 3);
}

/// Issue 13: the frame carrying the server's greeting is lost. The login is
/// not called rejected, and the commands after it are decoded.
#[test]
fn r13_a_lost_greeting_frame_resynchronises() {
    let base = analyze(&[capture("basic")]);
    let mut p = load("basic");
    // the first server segment with data is the greeting
    let server_port = base.connections[0].server.rsplit(':').next().unwrap().parse::<u16>().unwrap();
    let k = (0..p.recs.len()).find(|&k| p.tcp(k).0 == server_port && p.tcp(k).1 > 0).unwrap();
    p.recs.remove(k);
    let d = tempfile::tempdir().unwrap();
    let r = analyze(&[p.save(&d, "no-greeting.pcap")]);
    let c = &r.connections[0];
    assert_ne!(c.close.cause.as_str(), "auth_failed", "{}", c.close.detail);
    assert!(c.handshake_incomplete);
    assert!(r.findings.iter().any(|f| f.kind.as_str() == "handshake_incomplete"));
    // every command of the clean capture is still there
    let want: Vec<_> = base.connections[0].commands.iter().map(|x| (x.command.clone(), x.sql.clone())).collect();
    let got: Vec<_> = c.commands.iter().map(|x| (x.command.clone(), x.sql.clone())).collect();
    assert_eq!(got, want);
}
