#![no_main]
//! The whole pipeline and analyser on arbitrary bytes read as a capture file.
use libfuzzer_sys::fuzz_target;
use mywire::analysis::Analyzer;
use mywire::app::AnalyzeOptions;
use mywire::capture::{FileSource, MergedSource};
use mywire::pipeline::Pipeline;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = FileSource::from_reader("fuzz", Box::new(std::io::Cursor::new(data.to_vec()))) else { return };
    let opts = AnalyzeOptions::new(&[]);
    let mut m = MergedSource::new(vec![src]);
    let mut p = Pipeline::new(opts.limits.clone(), opts.cfg.server_ports.clone());
    let mut an = Analyzer::new(opts.cfg.clone());
    while let Some(f) = m.next_frame() {
        p.push(&f);
    }
    p.finish_all();
    for c in std::mem::take(&mut p.finished) {
        an.add(c);
    }
    let r = an.report(m.inputs(), m.warnings(), serde_json::Value::Null);
    let _ = serde_json::to_string(&r);
});
