//! The report's memory caps: totals stay exact, what is left out is counted,
//! the most severe findings stay, and streamed output is untouched.

use crate::util::{analyze_with, capture, json};
use mywire::config::AnalyzeOptions;
use mywire::config::ReportCaps;
use mywire::engine::analyze_files;

#[test]
fn tiny_caps_keep_totals_and_count_what_they_leave_out() {
    let files = [capture("drops"), capture("gone-away"), capture("misc"), capture("bad-seq"), capture("basic")];
    let full = analyze_with(&files, AnalyzeOptions::new(&[]));
    let mut opts = AnalyzeOptions::new(&[]);
    opts.cfg.caps = ReportCaps { max_connections: 1, max_command_bytes: 4000, max_findings: 2, ..ReportCaps::default() };
    let mut streamed = Vec::new();
    let capped = analyze_files(&files, &opts, &mut |c, _| {
        streamed.push(serde_json::to_string(c)?);
        Ok(())
    })
    .unwrap();
    assert!(full.connections.len() >= 8 && full.findings.len() >= 4, "the captures have enough to cap");
    for key in ["connections", "commands", "errors", "findings", "verdict", "errors_by_code"] {
        assert_eq!(json(&full.summary)[key], json(&capped.summary)[key], "summary.{key}");
    }
    // every connection streamed in full, as without caps
    let full_stream: Vec<String> = full.connections.iter().map(|c| serde_json::to_string(c).unwrap()).collect();
    let mut sorted = streamed.clone();
    sorted.sort_by_key(|s| serde_json::from_str::<serde_json::Value>(s).unwrap()["id"].as_u64());
    assert_eq!(sorted, full_stream);
    let nl = &json(&capped.summary)["not_listed"];
    let n = |k: &str| nl[k].as_u64().unwrap();
    assert_eq!(capped.connections.len() as u64 + n("connections"), full.connections.len() as u64);
    // a grouped finding stands for its members
    let weight = |r: &mywire::report::model::Report| r.findings.iter().map(|f| f.weight()).sum::<u64>();
    assert_eq!(weight(&capped) + n("findings"), weight(&full));
    assert!(n("connections") > 0 && n("findings") > 0 && n("commands") > 0, "{nl}");
    // the findings kept are the most severe ones
    let kept_min = capped.findings.iter().map(|f| f.severity).min().unwrap();
    let left_out_max = full.findings[capped.findings.len()..].iter().map(|f| f.severity).max().unwrap();
    assert!(kept_min >= left_out_max);
    // a connection kept lists fewer commands only when the budget ran out, and says so
    let mut dropped = 0;
    for c in &capped.connections {
        let f = full.connections.iter().find(|f| f.id == c.id).unwrap();
        assert_eq!(c.commands.len() as u64 + c.commands_omitted, f.commands.len() as u64 + f.commands_omitted);
        dropped += f.commands.len() - c.commands.len();
    }
    assert_eq!(dropped as u64, n("commands"));
    // and the text report says what it left out
    let mut text = Vec::new();
    mywire::report::text::write(&capped, &mut text).unwrap();
    assert!(String::from_utf8(text).unwrap().contains("not listed below (report memory caps)"));
}
