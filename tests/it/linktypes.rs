//! One real capture re-encapsulated in every link type and file flavour mywire
//! reads; each must decode exactly like the original Ethernet/pcap file.

use crate::perturb::load;
use crate::util::{analyze, capture};
use mywire::report::model::Report;

fn summary(r: &Report) -> Vec<String> {
    let mut v: Vec<String> = r
        .connections
        .iter()
        .flat_map(|c| c.commands.iter().map(|x| format!("{} {:?} {} {:?}", x.command, x.sql, x.response.kind, x.latency_us)))
        .collect();
    v.extend(r.connections.iter().map(|c| format!("{} {} {}", c.close.cause, c.user.clone().unwrap_or_default(), c.tcp.gaps)));
    v
}

/// Writes a little-endian microsecond pcap with `link` and the given frames.
fn pcap(link: u32, frames: &[(u32, u32, Vec<u8>)]) -> Vec<u8> {
    let mut out = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0];
    out.extend_from_slice(&link.to_le_bytes());
    for (s, us, d) in frames {
        for v in [*s, *us, d.len() as u32, d.len() as u32] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(d);
    }
    out
}

fn reencap(f: impl Fn(&[u8]) -> Vec<u8>) -> Vec<(u32, u32, Vec<u8>)> {
    load("basic").recs.iter().map(|(s, us, _, d)| (*s, *us, f(d))).collect()
}

fn check(name: &str, bytes: Vec<u8>) -> Report {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    let r = analyze(&[p.to_string_lossy().into_owned()]);
    assert_eq!(summary(&r), summary(&analyze(&[capture("basic")])), "{name}");
    r
}

fn ip(d: &[u8]) -> &[u8] {
    &d[14..]
}

#[test]
fn raw_ip() {
    check("raw.pcap", pcap(101, &reencap(|d| ip(d).to_vec())));
    check("ipv4.pcap", pcap(228, &reencap(|d| ip(d).to_vec())));
}

#[test]
fn linux_cooked_v1_and_v2() {
    check(
        "sll.pcap",
        pcap(
            113,
            &reencap(|d| {
                let mut h = vec![0, 0, 3, 4, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00];
                h.extend_from_slice(ip(d));
                h
            }),
        ),
    );
    check(
        "sll2.pcap",
        pcap(
            276,
            &reencap(|d| {
                let mut h = vec![0x08, 0x00, 0, 0, 0, 0, 0, 1, 3, 4, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0];
                h.extend_from_slice(ip(d));
                h
            }),
        ),
    );
}

#[test]
fn bsd_null_and_loop() {
    check(
        "null.pcap",
        pcap(
            0,
            &reencap(|d| {
                let mut h = 2u32.to_le_bytes().to_vec();
                h.extend_from_slice(ip(d));
                h
            }),
        ),
    );
    check(
        "loop.pcap",
        pcap(
            108,
            &reencap(|d| {
                let mut h = 2u32.to_be_bytes().to_vec();
                h.extend_from_slice(ip(d));
                h
            }),
        ),
    );
}

#[test]
fn vlan_and_qinq() {
    check(
        "vlan.pcap",
        pcap(
            1,
            &reencap(|d| {
                let mut h = d[..12].to_vec();
                h.extend_from_slice(&[0x81, 0x00, 0x00, 0x2a]);
                h.extend_from_slice(&d[12..]);
                h
            }),
        ),
    );
    check(
        "qinq.pcap",
        pcap(
            1,
            &reencap(|d| {
                let mut h = d[..12].to_vec();
                h.extend_from_slice(&[0x88, 0xa8, 0x00, 0x07, 0x81, 0x00, 0x00, 0x2a]);
                h.extend_from_slice(&d[12..]);
                h
            }),
        ),
    );
}

#[test]
fn ipv6() {
    let frames = reencap(|d| {
        let v4 = ip(d);
        let ihl = usize::from(v4[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([v4[2], v4[3]]));
        let tcp = &v4[ihl..total];
        let mut h = d[..12].to_vec();
        h.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
        h.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
        h.extend_from_slice(&[6, 64]);
        let (s, t) = (v4[15], v4[19]); // keep the hosts apart by their last octet
        h.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, s]);
        h.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, t]);
        h.extend_from_slice(tcp);
        h
    });
    let r = check("v6.pcap", pcap(1, &frames));
    assert!(r.connections[0].client.starts_with("[fd00::1]:"), "{}", r.connections[0].client);
}

#[test]
fn pcapng_nanoseconds_big_endian_and_nanosecond_pcap() {
    // pcapng: SHB, IDB with if_tsresol = 9 (nanoseconds), EPBs
    let blk = |t: u32, body: &[u8]| {
        let len = 12 + body.len().div_ceil(4) * 4;
        let mut b = t.to_le_bytes().to_vec();
        b.extend_from_slice(&(len as u32).to_le_bytes());
        b.extend_from_slice(body);
        b.resize(len - 4, 0);
        b.extend_from_slice(&(len as u32).to_le_bytes());
        b
    };
    let mut ng = blk(0x0a0d0d0a, &[0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    ng.extend(blk(1, &[1, 0, 0, 0, 0, 0, 4, 0, 9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]));
    for (s, us, _, d) in &load("basic").recs {
        let ns = u64::from(*s) * 1_000_000_000 + u64::from(*us) * 1000;
        let mut body = 0u32.to_le_bytes().to_vec();
        body.extend_from_slice(&((ns >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(ns as u32).to_le_bytes());
        body.extend_from_slice(&(d.len() as u32).to_le_bytes());
        body.extend_from_slice(&(d.len() as u32).to_le_bytes());
        body.extend_from_slice(d);
        ng.extend(blk(6, &body));
    }
    let r = check("ns.pcapng", ng);
    assert_eq!(r.inputs[0].format, "pcapng");
    assert_eq!(r.inputs[0].first_ts, analyze(&[capture("basic")]).inputs[0].first_ts);

    // big-endian microsecond pcap
    let p = load("basic");
    let mut be = vec![0xa1, 0xb2, 0xc3, 0xd4, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 1];
    // nanosecond little-endian pcap
    let mut nsp = vec![0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0];
    for (s, us, orig, d) in &p.recs {
        for v in [*s, *us, d.len() as u32, *orig] {
            be.extend_from_slice(&v.to_be_bytes());
        }
        be.extend_from_slice(d);
        for v in [*s, *us * 1000, d.len() as u32, *orig] {
            nsp.extend_from_slice(&v.to_le_bytes());
        }
        nsp.extend_from_slice(d);
    }
    check("be.pcap", be);
    check("ns.pcap", nsp);
}

#[test]
fn unsupported_link_is_counted_not_fatal() {
    let r = analyze(&[{
        let dir = tempfile::tempdir().unwrap().keep();
        let p = dir.join("wifi.pcap");
        std::fs::write(&p, pcap(105, &reencap(|d| d.to_vec()))).unwrap();
        p.to_string_lossy().into_owned()
    }]);
    assert_eq!(r.connections.len(), 0);
    assert!(r.summary.capture.decode.unsupported_link > 0);
    let f = r.findings.iter().find(|f| f.kind.as_str() == "capture_health").expect("a capture_health finding");
    assert!(f.detail.contains("unsupported link type"), "{}", f.detail);
}
