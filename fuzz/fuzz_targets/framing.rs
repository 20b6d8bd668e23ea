#![no_main]
//! Framer and compressed-frame decoder fed arbitrary bytes in arbitrary chunks.
use libfuzzer_sys::fuzz_target;
use mywire::mysql::compress::{Algorithm, Decompressor};
use mywire::mysql::framing::{Control, Framer};
use mywire::time::Timestamp;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else { return };
    let cap = 1024;
    let mut fr = Framer::new(cap);
    for chunk in rest.chunks(usize::from(split).max(1)) {
        let used = fr.feed(chunk, Timestamp(0), &mut |p| {
            assert!(p.payload.len() <= cap);
            assert!(p.payload.len() as u64 <= p.len);
            Control::Continue
        });
        assert_eq!(used, chunk.len());
    }
    let _ = fr.partial();
    let mut d = Decompressor::new(if split & 1 == 0 { Algorithm::Zlib } else { Algorithm::Zstd }, 1 << 16);
    d.feed(rest, &mut |f| assert!(f.data.len() <= 0xFF_FFFF));
});
