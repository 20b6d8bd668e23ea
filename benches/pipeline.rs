//! Whole pipeline on in-memory captures: read, decode, reassemble, frame,
//! decode MySQL, session, analysis (reports are not formatted).
//! `MYWIRE_BENCH_FILE=/tmp/bulk.pcap` adds a large capture (see captures/record --bulk).
//! The `analyze_files` group reads files from the page cache as the CLI does,
//! with one thread and with two (sharded flows), the report built in both.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mywire::analysis::Analyzer;
use mywire::capture::{FileSource, MergedSource};
use mywire::config::AnalyzeOptions;
use mywire::engine::analyze_files;
use mywire::pipeline::Pipeline;
use std::hint::black_box;

fn run(bytes: &'static [u8]) -> usize {
    let opts = AnalyzeOptions::new(&[]);
    let src = FileSource::from_reader("bench", Box::new(bytes)).unwrap();
    let mut merged = MergedSource::new(vec![src]);
    let mut pipe = Pipeline::new(opts.limits.clone(), opts.cfg.server_ports.clone());
    let mut an = Analyzer::new(opts.cfg.clone());
    while let Some(f) = merged.next_frame() {
        pipe.push(&f);
        for c in pipe.take_events().finished {
            an.add(c);
        }
    }
    pipe.finish_all();
    for c in pipe.take_events().finished {
        an.add(c);
    }
    an.conns.len() + an.findings.len()
}

fn load(path: &str) -> &'static [u8] {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v = if path.ends_with(".zst") { zstd::decode_all(&raw[..]).unwrap() } else { raw };
    Box::leak(v.into_boxed_slice())
}

fn bench(c: &mut Criterion) {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut inputs = vec![
        ("drops (small OLTP)", load(&format!("{root}/captures/drops.pcap"))),
        ("compressed (zlib)", load(&format!("{root}/captures/compressed.pcap"))),
        ("large-packet (35 MB packet)", load(&format!("{root}/captures/large-packet.pcap.zst"))),
    ];
    if let Ok(p) = std::env::var("MYWIRE_BENCH_FILE") {
        inputs.push(("MYWIRE_BENCH_FILE", load(&p)));
    }
    let mut g = c.benchmark_group("pipeline");
    for (name, bytes) in inputs {
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        if bytes.len() > 50 << 20 {
            g.sample_size(10);
        }
        g.bench_function(name, |b| b.iter(|| black_box(run(bytes))));
    }
    g.finish();
}

fn files(c: &mut Criterion) {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut paths = vec![("drops (small OLTP)", format!("{root}/captures/drops.pcap"))];
    if let Ok(p) = std::env::var("MYWIRE_BENCH_FILE") {
        paths.push(("MYWIRE_BENCH_FILE", p));
    }
    let mut g = c.benchmark_group("analyze_files");
    for (name, path) in paths {
        let len = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{path}: {e}")).len();
        g.throughput(Throughput::Bytes(len));
        if len > 50 << 20 {
            g.sample_size(10);
        }
        for threads in [1, 2] {
            let mut opts = AnalyzeOptions::new(&[]);
            opts.threads = threads;
            let files = [path.clone()];
            g.bench_function(format!("{name}, {threads} thread(s)"), |b| {
                b.iter(|| black_box(analyze_files(&files, &opts, &mut |_, _| Ok(())).unwrap().connections.len()))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench, files);
criterion_main!(benches);
