//! The shared corpus (../shared/corpus, real captures by other projects):
//! no crash, no false critical. Set MYWIRE_REQUIRE_CORPUS=1 (CI does) to fail
//! when the corpus is missing instead of skipping.

use crate::util::analyze_with;
use mywire::config::AnalyzeOptions;
use mywire::model::Severity;
use std::path::{Path, PathBuf};

pub fn corpus_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if !dir.exists() {
        assert!(std::env::var_os("MYWIRE_REQUIRE_CORPUS").is_none(), "corpus missing at {}", dir.display());
        eprintln!("corpus not found at {}: skipped", dir.display());
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Criticals that are real in the corpus (the capture shows a client losing a
/// connection or being refused), by file name and finding kind.
const REAL_CRITICALS: &[(&str, &str)] = &[
    ("mysql-login-error.pcap", "connection_drop"),      // ERR 1040 Too many connections at login
    ("mysql-login-error.pcap", "too_many_connections"), // same
    ("change-user-error.pcap", "connection_drop"),      // COM_CHANGE_USER refused (ERR 1045), then the server closes
];

#[test]
fn corpus_no_crash_no_false_critical() {
    let files = corpus_files();
    let mut criticals = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let r = analyze_with(&[f.to_string_lossy().into_owned()], AnalyzeOptions::new(&[]));
        for x in r.findings.iter().filter(|x| x.severity == Severity::Critical) {
            if !REAL_CRITICALS.contains(&(name.as_str(), x.kind.as_str())) {
                criticals.push(format!("{name}: {} {}", x.kind, x.title));
            }
        }
    }
    assert!(criticals.is_empty(), "unexpected critical findings:\n{}", criticals.join("\n"));
}
