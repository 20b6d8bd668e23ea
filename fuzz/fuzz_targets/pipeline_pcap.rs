#![no_main]
//! The whole pipeline and analyser on arbitrary bytes read as a capture file;
//! two sharded pipelines fed the same frames must between them end the same
//! connections, with the same commands, as the single one; and the decoder's
//! fixed-offset fast path answers what etherparse answers.
use libfuzzer_sys::fuzz_target;
use mywire::analysis::Analyzer;
use mywire::config::AnalyzeOptions;
use mywire::capture::{FileSource, MergedSource};
use mywire::decode::fast_path_agrees;
use mywire::model::FinishedConn;
use mywire::pipeline::{Pipeline, Shard};
use mywire::report::model::CaptureSummary;

fn key(c: &FinishedConn) -> (String, String, i64, u64, usize) {
    (c.client.to_string(), c.server.to_string(), c.start_ts.0, c.summary.commands_total, c.summary.commands.len())
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
        assert!(fast_path_agrees(&f), "the fast path and etherparse disagree");
        p.push(&f);
        for s in &mut shards {
            s.push(&f);
        }
    }
    p.finish_all();
    let mut finished = Vec::new();
    for s in &mut shards {
        s.finish_all();
        split.extend(s.take_events().finished.iter().map(key));
    }
    for c in p.take_events().finished {
        single.push(key(&c));
        finished.push(c);
    }
    single.sort();
    split.sort();
    assert_eq!(single, split, "sharding changed which connections ended");
    for c in finished {
        an.add(c);
    }
    let capture = CaptureSummary { decode: p.decode_stats().clone(), flows: p.flow_stats().clone(), live: None };
    let r = an.report(m.inputs(), m.warnings(), capture);
    let _ = serde_json::to_string(&r);
});
