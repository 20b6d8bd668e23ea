#![no_main]
//! The whole pipeline and analyser on arbitrary bytes read as a capture file;
//! two sharded pipelines fed the same frames must between them end the same
//! connections, with the same commands, as the single one; and the decoder's
//! fixed-offset fast path answers what etherparse answers.
use libfuzzer_sys::fuzz_target;
use mywire::analysis::Analyzer;
use mywire::app::AnalyzeOptions;
use mywire::capture::{FileSource, MergedSource};
use mywire::decode::{DecodeStats, decode_full, fast_ipv4_tcp};
use mywire::pipeline::{FinishedConn, Pipeline, Shard};

fn key(c: &FinishedConn) -> (String, String, i64, u64, usize) {
    (c.client.to_string(), c.server.to_string(), c.start_ts.0, c.st.commands_total, c.st.commands.len())
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = FileSource::from_reader("fuzz", Box::new(std::io::Cursor::new(data.to_vec()))) else { return };
    let opts = AnalyzeOptions::new(&[]);
    let mut m = MergedSource::new(vec![src]);
    let mut p = Pipeline::new(opts.limits.clone(), opts.cfg.server_ports.clone());
    let mut shards: Vec<Pipeline> =
        (0..2).map(|index| Pipeline::new(opts.limits.clone(), opts.cfg.server_ports.clone()).sharded(Shard { index, count: 2 })).collect();
    let mut an = Analyzer::new(opts.cfg.clone());
    let (mut single, mut split) = (Vec::new(), Vec::new());
    while let Some(f) = m.next_frame() {
        if let Some(q) = fast_ipv4_tcp(&f) {
            let full = decode_full(&f, &mut DecodeStats::default()).expect("etherparse decodes what the fast path does");
            assert_eq!(
                (q.src, q.dst, q.seq, q.ack, q.flags, q.window, q.payload, q.missing),
                (full.src, full.dst, full.seq, full.ack, full.flags, full.window, full.payload, full.missing)
            );
        }
        p.push(&f);
        for s in &mut shards {
            s.push(&f);
        }
    }
    p.finish_all();
    for s in &mut shards {
        s.finish_all();
        split.extend(s.finished.iter().map(key));
    }
    single.extend(p.finished.iter().map(key));
    single.sort();
    split.sort();
    assert_eq!(single, split, "sharding changed which connections ended");
    for c in std::mem::take(&mut p.finished) {
        an.add(c);
    }
    let r = an.report(m.inputs(), m.warnings(), serde_json::Value::Null);
    let _ = serde_json::to_string(&r);
});
