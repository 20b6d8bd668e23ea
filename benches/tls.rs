//! TLS decryption throughput: `TlsConn::feed` over a TLS 1.2 AES-128-GCM
//! session (clear handshake, then 16 KiB application-data records, whole
//! records per chunk and 1,448-byte TCP segments), and the record decryptor
//! alone for AES-128/256-GCM, ChaCha20-Poly1305 and AES-128-CBC-SHA.
//!
//! The records are sealed here with RustCrypto's AES-GCM under keys derived
//! by mywire's own key block from a made-up master secret.

use aes_gcm::aead::{AeadInOut, KeyInit};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mywire::model::Dir;
use mywire::reassembly::StreamEvent;
use mywire::tls::cipher::Decryptor;
use mywire::tls::kdf::{PrfHash, key_block};
use mywire::tls::{KeyLog, TlsConn, TlsLimits, suite_params};
use std::hint::black_box;

const CR: [u8; 32] = [0x11; 32];
const SR: [u8; 32] = [0x22; 32];
const MASTER: [u8; 48] = [0x33; 48];
const RECORD: usize = 16 << 10;
const RECORDS: usize = 64;

fn record(t: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![t, 3, 3];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

fn handshake(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut h = vec![typ, 0, (body.len() >> 8) as u8, body.len() as u8];
    h.extend_from_slice(body);
    record(22, &h)
}

/// ClientHello / ServerHello for TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, no extensions.
fn hellos() -> (Vec<u8>, Vec<u8>) {
    let mut ch = vec![3, 3];
    ch.extend_from_slice(&CR);
    ch.extend_from_slice(&[0, 0, 2, 0xc0, 0x2f, 1, 0]);
    let mut sh = vec![3, 3];
    sh.extend_from_slice(&SR);
    sh.extend_from_slice(&[0, 0xc0, 0x2f, 0]);
    (handshake(1, &ch), handshake(2, &sh))
}

/// `RECORDS` client application-data records of `RECORD` bytes, sealed with AES-128-GCM.
fn client_records() -> Vec<u8> {
    let mut kb = [0u8; 2 * (16 + 4)];
    key_block(PrfHash::Sha256, &MASTER, &CR, &SR, &mut kb);
    let aead = aes_gcm::Aes128Gcm::new_from_slice(&kb[..16]).unwrap();
    let salt = &kb[32..36];
    let mut out = Vec::new();
    for seq in 0..RECORDS as u64 {
        let mut nonce = [0u8; 12];
        nonce[..4].copy_from_slice(salt);
        nonce[4..].copy_from_slice(&seq.to_be_bytes());
        let mut aad = [0u8; 13];
        aad[..8].copy_from_slice(&seq.to_be_bytes());
        aad[8..11].copy_from_slice(&[23, 3, 3]);
        aad[11..].copy_from_slice(&(RECORD as u16).to_be_bytes());
        let mut buf: Vec<u8> = (0..RECORD).map(|i| (i * 7) as u8).collect();
        let tag = aead.encrypt_inout_detached(&nonce.into(), &aad, buf.as_mut_slice().into()).unwrap();
        let mut body = seq.to_be_bytes().to_vec();
        body.extend_from_slice(&buf);
        body.extend_from_slice(&tag);
        out.extend_from_slice(&record(23, &body));
    }
    out
}

fn conn(c: &mut Criterion) {
    let mut keys = KeyLog::new();
    let line = format!("CLIENT_RANDOM {} {}", "11".repeat(32), "33".repeat(48));
    assert!(keys.add_line(line.as_bytes()));
    let (ch, sh) = hellos();
    let ccs = record(20, &[1]);
    let data = client_records();
    let mut g = c.benchmark_group("tls");
    g.throughput(Throughput::Bytes((RECORDS * RECORD) as u64));
    for chunk in [data.len(), 1448] {
        let what = if chunk == 1448 { "1448 B segments" } else { "whole records" };
        g.bench_function(format!("TlsConn TLS 1.2 AES-128-GCM, 64 x 16 KiB, {what}"), |b| {
            b.iter(|| {
                let mut t = TlsConn::new(&TlsLimits::default());
                let mut n = 0usize;
                let mut out = |_: Dir, ev: StreamEvent<'_>| {
                    if let StreamEvent::Data(d) = ev {
                        n += d.len();
                    }
                };
                t.feed(Dir::ToServer, &ch, &keys, &mut out);
                t.feed(Dir::ToClient, &sh, &keys, &mut out);
                t.feed(Dir::ToServer, &ccs, &keys, &mut out);
                for seg in data.chunks(chunk) {
                    t.feed(Dir::ToServer, seg, &keys, &mut out);
                }
                assert_eq!(n, RECORDS * RECORD);
                black_box(n)
            })
        });
    }
    g.finish();
}

fn decryptors(c: &mut Criterion) {
    let mut g = c.benchmark_group("tls record open");
    // What a record under a wrong key costs (random bytes): for the AEADs the tag
    // check, for CBC (MAC-then-encrypt) the whole decryption and the padding check.
    let aead_body: Vec<u8> = (0..8 + RECORD + 16).map(|i| (i * 13) as u8).collect();
    let cbc_body: Vec<u8> = (0..16 + RECORD).map(|i| (i * 13) as u8).collect();
    let mut out = vec![0u8; aead_body.len()];
    g.throughput(Throughput::Bytes(RECORD as u64));
    for id in [0xc02fu16, 0xc030, 0xcca8, 0xc013] {
        let p = suite_params(id).unwrap();
        let body = if p.mac.is_some() { &cbc_body } else { &aead_body };
        let mut d = Decryptor::tls12(&p, 0x0303, false, &MASTER, &CR, &SR, true).unwrap();
        g.bench_function(format!("{} reject 16 KiB", p.name), |b| b.iter(|| black_box(d.open(0, 23, 0x0303, body, &mut out).is_err())));
    }
    g.finish();
}

criterion_group!(benches, conn, decryptors);
criterion_main!(benches);
