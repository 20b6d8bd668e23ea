#![no_main]
//! The TLS record layer and decryptor: a `TlsConn` fed arbitrary (direction,
//! chunk) events and gaps, with the key logs of four recorded captures (the
//! seeds are those captures' streams, so mutations reach the decryptors).
//! Plaintext out never exceeds ciphertext in, and `info()` always serialises.
use libfuzzer_sys::fuzz_target;
use mywire::reassembly::StreamEvent;
use mywire::model::Dir;
use mywire::tls::{KeyLog, TlsConn, TlsLimits};
use std::sync::OnceLock;

static KEYS: OnceLock<KeyLog> = OnceLock::new();

fn keys() -> &'static KeyLog {
    KEYS.get_or_init(|| {
        let mut k = KeyLog::new();
        for text in [
            include_str!("../../captures/tls/tls13-aes128gcm.keylog"),
            include_str!("../../captures/tls/tls12-ecdhe-cbc-sha-noetm.keylog"),
            include_str!("../../captures/tls/tls12-ecdhe-aes128gcm.keylog"),
            include_str!("../../captures/tls/tls12-ecdhe-chacha20.keylog"),
        ] {
            k.add_text(text.as_bytes());
        }
        k
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let limits = if mode & 1 == 1 { TlsLimits { max_wait_bytes: 8192, max_wait_records: 8, ..TlsLimits::live() } } else { TlsLimits::default() };
    let empty = KeyLog::new();
    let mut t = TlsConn::new(&limits);
    let (mut fed, mut got) = ([0u64; 2], [0u64; 2]);
    let mut out = |d: Dir, ev: StreamEvent<'_>| {
        if let StreamEvent::Data(p) = ev {
            assert!(!p.is_empty());
            got[d.idx()] += p.len() as u64;
        }
    };
    let mut i = 0;
    while i + 2 <= rest.len() {
        let ctl = rest[i];
        let len = usize::from(rest[i + 1]);
        i += 2;
        let end = (i + len).min(rest.len());
        let dir = if ctl & 1 == 0 { Dir::ToServer } else { Dir::ToClient };
        // live mode: keys arrive halfway
        let k = if mode & 1 == 1 && i < rest.len() / 2 { &empty } else { keys() };
        match ctl >> 5 {
            0 => t.gap(dir, len as u64, &mut out),
            1 => t.retry(k, &mut out),
            _ => {
                fed[dir.idx()] += (end - i) as u64;
                t.feed(dir, &rest[i..end], k, &mut out);
            }
        }
        i = end;
    }
    t.retry(keys(), &mut out);
    let info = t.info();
    for d in 0..2 {
        assert!(got[d] <= fed[d], "more plaintext than ciphertext");
    }
    assert_eq!(info.client.plaintext_bytes, got[0]);
    assert_eq!(info.server.plaintext_bytes, got[1]);
    assert!(info.alerts.len() <= limits.max_alerts);
    serde_json::to_string(&info).unwrap();
});
