//! Sharded analysis (flows spread over several threads) gives exactly the
//! single-threaded report and the same NDJSON stream, in the same order, on
//! every capture we have: ours, the shared corpus, and several files merged.

use crate::corpus::corpus_files;
use crate::util::captures_dir;
use mywire::config::AnalyzeOptions;
use mywire::engine::analyze_files;

/// The report (as JSON) and the stream of per-connection callbacks.
fn single(files: &[String]) -> (String, Vec<String>) {
    let mut stream = Vec::new();
    let report = analyze_files(files, &AnalyzeOptions::new(&[]), &mut |c, f| {
        stream.push(format!("{}\n{}", serde_json::to_string(c)?, serde_json::to_string(f)?));
        Ok(())
    })
    .expect("analysis");
    (serde_json::to_string_pretty(&report).unwrap(), stream)
}

/// The same through `parallel::analyze` directly (never the single-thread fallback).
fn sharded(files: &[String], threads: usize) -> (String, Vec<String>) {
    let mut stream = Vec::new();
    let report = mywire::parallel::analyze(files, threads, &AnalyzeOptions::new(&[]), &mut |c, f| {
        stream.push(format!("{}\n{}", serde_json::to_string(c)?, serde_json::to_string(f)?));
        Ok(())
    })
    .expect("sharded analysis");
    (serde_json::to_string_pretty(&report).unwrap(), stream)
}

fn check(files: &[String]) {
    let one = single(files);
    for threads in [2, 3] {
        let many = sharded(files, threads);
        assert!(one.1 == many.1, "{files:?}: the connection stream differs with {threads} threads");
        if one.0 != many.0 {
            let diff = one.0.lines().zip(many.0.lines()).position(|(a, b)| a != b).unwrap_or(0);
            let show = |s: &str| s.lines().skip(diff.saturating_sub(3)).take(8).collect::<Vec<_>>().join("\n");
            panic!("{files:?}: report differs with {threads} threads near line {diff}:\n{}\n---\n{}", show(&one.0), show(&many.0));
        }
    }
}

#[test]
fn sharded_equals_single_on_our_captures() {
    let mut all = Vec::new();
    for e in std::fs::read_dir(captures_dir()).unwrap().flatten() {
        let p = e.path().to_string_lossy().into_owned();
        if p.ends_with(".pcap") || p.ends_with(".pcap.zst") {
            all.push(p);
        }
    }
    all.sort();
    assert!(all.len() >= 8, "captures missing: {all:?}");
    for f in &all {
        check(std::slice::from_ref(f));
    }
    // several inputs merged by time, in every worker; plain files read by each
    // worker mixed with a compressed one read once and shared
    check(&all[..3]);
    let zst: Vec<String> = all.iter().filter(|f| f.ends_with(".zst")).cloned().collect();
    assert!(!zst.is_empty());
    check(&[zst[0].clone(), all[0].clone(), all[1].clone()]);
}

#[test]
fn sharded_equals_single_on_the_corpus() {
    for f in corpus_files() {
        check(&[f.to_string_lossy().into_owned()]);
    }
}

#[test]
fn quick_addresses_agree_with_the_full_decoder_on_every_frame() {
    use mywire::capture::{FileSource, MergedSource};
    use mywire::decode::{DecodeStats, decode, quick_addrs};
    let mut files: Vec<String> = Vec::new();
    for e in std::fs::read_dir(captures_dir()).unwrap().flatten() {
        let p = e.path().to_string_lossy().into_owned();
        if p.ends_with(".pcap") || p.ends_with(".pcap.zst") {
            files.push(p);
        }
    }
    let ours = files.len();
    files.extend(corpus_files().into_iter().map(|p| p.to_string_lossy().into_owned()));
    let (mut answered, mut frames) = (0u64, 0u64);
    for (i, f) in files.iter().enumerate() {
        let mut src = MergedSource::new(vec![FileSource::open(f).unwrap()]);
        let mut stats = DecodeStats::default();
        while let Some(frame) = src.next_frame() {
            let quick = quick_addrs(&frame);
            if i < ours {
                frames += 1;
                answered += u64::from(quick.is_some());
            }
            if let (Some(q), Some(seg)) = (quick, decode(&frame, &mut stats)) {
                assert_eq!(q, (seg.src, seg.dst), "{f}: frame at {:?}", frame.ts);
            }
        }
    }
    // on our (Ethernet) captures the fast path must be the common path, or
    // every shard decodes every frame
    assert!(answered * 100 > frames * 95, "quick path answered {answered} of {frames} frames");
}
