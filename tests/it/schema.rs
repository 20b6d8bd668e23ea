//! The JSON report validates against the published schema, for every capture
//! in captures/ and a sample of the shared corpus.

use crate::util::{analyze, capture, root};

fn validator() -> jsonschema::Validator {
    let s: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(root().join("schema/report.schema.json")).unwrap()).unwrap();
    jsonschema::validator_for(&s).expect("schema compiles")
}

#[test]
fn reports_match_the_schema() {
    let v = validator();
    let mut files: Vec<String> = ["basic", "gone-away", "large-packet", "prepared", "compressed", "tls", "drops", "bad-seq", "misc"]
        .iter()
        .map(|n| capture(n))
        .collect();
    files.extend(crate::corpus::corpus_files().into_iter().step_by(5).map(|p| p.to_string_lossy().into_owned()));
    for f in files {
        let doc = serde_json::to_value(analyze(std::slice::from_ref(&f))).unwrap();
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| format!("{} at {}", e, e.instance_path())).take(5).collect();
        assert!(errors.is_empty(), "{f}: {errors:#?}");
    }
}

#[test]
fn schema_rejects_a_broken_report() {
    let v = validator();
    let mut doc = serde_json::to_value(analyze(&[capture("gone-away")])).unwrap();
    doc["findings"][0]["evidence"].as_object_mut().unwrap().remove("packet_bytes");
    assert!(!v.is_valid(&doc), "oversize evidence without packet_bytes must fail");
}
