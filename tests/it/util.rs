//! Shared helpers.

use mywire::config::AnalyzeOptions;
use mywire::engine::analyze_files;
use mywire::report::model::Report;
use std::path::PathBuf;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The captures folder: `captures/`, or `$MYWIRE_CAPTURES` (CI points it at a
/// fresh recording to test the recording script, not only its old output).
pub fn captures_dir() -> PathBuf {
    std::env::var_os("MYWIRE_CAPTURES").map(PathBuf::from).unwrap_or_else(|| root().join("captures"))
}

/// True when running on the committed captures (snapshots apply only there).
pub fn committed_captures() -> bool {
    std::env::var_os("MYWIRE_CAPTURES").is_none()
}

pub fn capture(name: &str) -> String {
    let d = captures_dir();
    for ext in ["pcap", "pcap.zst", "pcap.gz", "pcapng"] {
        let p = d.join(format!("{name}.{ext}"));
        if p.exists() {
            return p.to_string_lossy().into_owned();
        }
    }
    panic!("no capture named {name} in captures/");
}

pub fn analyze(files: &[String]) -> Report {
    analyze_with(files, AnalyzeOptions::new(&[]))
}

pub fn analyze_with(files: &[String], opts: AnalyzeOptions) -> Report {
    analyze_files(files, &opts, &mut |_, _| Ok(())).expect("analysis")
}

pub fn count(r: &Report, sev: &str) -> u64 {
    json(&r.summary)["findings"][sev].as_u64().unwrap()
}

/// A report part as its JSON value (what the JSON report holds).
pub fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).expect("serialisable")
}
