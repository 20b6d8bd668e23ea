//! The binary as a user runs it: exit codes, messages, formats, pipes.

use crate::util::{capture, root};
use assert_cmd::Command;
use std::io::{Read, Write};
use std::process::Stdio;

fn mywire() -> Command {
    Command::cargo_bin("mywire").unwrap()
}

#[test]
fn text_postmortem_names_the_incident() {
    let out = mywire().args(["analyze", &capture("gone-away")]).assert().success().get_output().stdout.clone();
    let s = String::from_utf8(out).unwrap();
    assert!(s.contains("CRITICAL"), "{s}");
    assert!(s.contains("ERR 1153"), "{s}");
    assert!(s.contains("max_allowed_packet=8M"), "{s}");
    // every line fits 80 columns, except the input line that names the (long) path
    assert!(s.lines().filter(|l| !l.contains("input:")).all(|l| l.chars().count() <= 80), "80 columns:\n{s}");
}

#[test]
fn fail_on_sets_exit_code() {
    mywire().args(["analyze", "--fail-on", "critical", &capture("gone-away")]).assert().code(1);
    // basic.pcap's two failed statements are warnings, nothing critical
    mywire().args(["analyze", "--fail-on", "critical", &capture("basic")]).assert().code(0);
    mywire().args(["analyze", "--fail-on", "warning", &capture("basic")]).assert().code(1);
    mywire().args(["analyze", "--fail-on", "info", &capture("prepared")]).assert().code(0);
}

#[test]
fn missing_file_and_non_capture_are_one_line_errors() {
    let a = mywire().args(["analyze", "/nonexistent/x.pcap"]).assert().code(2);
    let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert!(err.contains("/nonexistent/x.pcap") && err.lines().count() == 1, "{err}");
    let cargo = root().join("Cargo.toml");
    let a = mywire().args(["analyze", cargo.to_str().unwrap()]).assert().code(2);
    let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert!(err.contains("not a pcap or pcapng capture (looks like text"), "{err}");
}

#[test]
fn tui_without_a_terminal_says_so() {
    let a = mywire().args(["tui", &capture("basic")]).assert().code(2);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("the TUI needs a terminal"));
    let a = mywire().args(["tui"]).assert().code(2);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("needs capture files"));
}

#[test]
fn live_errors_are_actionable() {
    let a = mywire().args(["live", "-i", "nosuch0", "--duration", "1"]).assert().code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains("no such interface \"nosuch0\"; available:") && err.contains("lo"), "{err}");
    let a = mywire().args(["live", "--duration", "nonsense"]).assert().code(2);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("is not a duration"));
}

#[test]
fn ndjson_streams_findings_connections_then_summary() {
    let out = mywire().args(["analyze", "-f", "ndjson", &capture("drops")]).assert().success().get_output().stdout.clone();
    let lines: Vec<serde_json::Value> = String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(types.last(), Some(&"summary"));
    assert_eq!(types.iter().filter(|t| **t == "connection").count(), 5);
    for f in lines.iter().filter(|l| l["type"] == "finding") {
        assert!(f["client"].is_string() && f["server"].is_string() && f["severity"].is_string());
    }
    assert!(lines.last().unwrap()["recommendations"].is_array());
}

#[test]
fn ndjson_streams_a_connection_before_the_input_ends() {
    // basic.pcap (ends with a clean close), then its first frame again a minute
    // later: the connection's line must come out while stdin is still open
    let bytes = std::fs::read(capture("basic")).unwrap();
    assert_eq!(bytes[..4], [0xd4, 0xc3, 0xb2, 0xa1], "little-endian microsecond pcap");
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let (mut at, mut last_sec) = (24, 0);
    while at + 16 <= bytes.len() {
        last_sec = u32_at(&bytes, at);
        at += 16 + u32_at(&bytes, at + 8) as usize;
    }
    let mut later = bytes[24..24 + 16 + u32_at(&bytes, 32) as usize].to_vec();
    later[..4].copy_from_slice(&(last_sec + 60).to_le_bytes());
    let bin = assert_cmd::cargo::cargo_bin("mywire");
    let mut child = std::process::Command::new(bin)
        .args(["analyze", "-f", "ndjson", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&bytes).unwrap();
    stdin.write_all(&later).unwrap();
    stdin.flush().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx.recv_timeout(std::time::Duration::from_secs(30)).expect("a line while the input is still open");
    let v: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert!(v["type"] == "connection" || v["type"] == "finding", "{first}");
    drop(stdin);
    assert!(child.wait().unwrap().success());
    let rest: Vec<String> = rx.iter().collect();
    assert!(rest.last().is_some_and(|l| l.contains("\"summary\"")));
}

#[test]
fn threads_flag_changes_nothing_but_speed() {
    // plain files are sharded over 2 or 4 threads; -j 0 picks one thread for files this small
    let run = |j: &str, files: &[String]| {
        let mut args = vec!["analyze".to_string(), "-f".into(), "ndjson".into(), "-j".into(), j.into()];
        args.extend(files.iter().cloned());
        mywire().args(&args).assert().success().get_output().stdout.clone()
    };
    let files = [capture("drops"), capture("gone-away"), capture("misc")];
    let one = run("1", &files);
    assert!(one.len() > 1000);
    assert_eq!(one, run("2", &files));
    assert_eq!(one, run("4", &files));
    assert_eq!(one, run("0", &files));
    // stdin is read once and shared by the threads
    let bytes = std::fs::read(capture("drops")).unwrap();
    let stdin = |j: &str| {
        mywire().args(["analyze", "-f", "json", "-j", j, "-"]).write_stdin(bytes.clone()).assert().success().get_output().stdout.clone()
    };
    assert_eq!(stdin("1"), stdin("3"));
}

#[test]
fn stdin_gzip_and_several_files() {
    let bytes = std::fs::read(capture("basic")).unwrap();
    let a = mywire().args(["analyze", "-f", "json", "-"]).write_stdin(bytes.clone()).assert().success();
    let v: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    assert_eq!(v["connections"].as_array().unwrap().len(), 1);

    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("basic.pcap.gz");
    let mut e = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::fast());
    e.write_all(&bytes).unwrap();
    e.finish().unwrap();
    let a = mywire().args(["analyze", "-f", "json", gz.to_str().unwrap(), &capture("bad-seq")]).assert().success();
    let v: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    assert_eq!(v["connections"].as_array().unwrap().len(), 2);
    assert_eq!(v["inputs"][0]["format"], "pcap+gzip");
    // merged by time: basic was recorded before bad-seq
    assert!(v["connections"][0]["start_ts"].as_str() < v["connections"][1]["start_ts"].as_str());
}

#[test]
fn broken_pipe_is_success() {
    let bin = assert_cmd::cargo::cargo_bin("mywire");
    let mut child = std::process::Command::new(bin)
        .args(["analyze", "-f", "json", &capture("drops")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(status.success(), "exit {status:?}, stderr {err}");
}

#[test]
fn passwords_are_redacted_and_controls_escaped() {
    // A connection whose SQL carries a password and a terminal escape, built from the
    // real basic capture by rewriting one query in place (same length).
    let mut bytes = std::fs::read(capture("basic")).unwrap();
    let needle = b"SELECT id, name, price FROM items ORDER BY id";
    let mut repl = b"SET PASSWORD=PASSWORD('hunter22')\x1b[2J".to_vec();
    repl.resize(needle.len(), b' ');
    let pos = bytes.windows(needle.len()).position(|w| w == needle).unwrap();
    bytes[pos..pos + needle.len()].copy_from_slice(&repl);
    let a = mywire().args(["analyze", "-f", "json", "--commands", "all", "-"]).write_stdin(bytes.clone()).assert().success();
    let out = String::from_utf8(a.get_output().stdout.clone()).unwrap();
    assert!(!out.contains("hunter22"), "password leaked");
    assert!(out.contains("PASSWORD('***')"));
    assert!(!out.contains('\u{1b}') && !out.contains("\\u001b"), "escape reached the output");
    let a = mywire().args(["analyze", "--redact-literals", "-f", "json", "-"]).write_stdin(bytes).assert().success();
    let out = String::from_utf8(a.get_output().stdout.clone()).unwrap();
    assert!(!out.contains("'apple'"), "literal kept with --redact-literals");
}

#[test]
fn r13_a_failed_run_never_truncates_the_report_it_would_replace() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("report.txt");
    std::fs::write(&out, "yesterday's report").unwrap();
    let o = out.to_str().unwrap();
    mywire().args(["analyze", "-o", o, &capture("basic"), "/nonexistent/missing.pcap"]).assert().code(2);
    mywire().args(["analyze", "-o", o, "--max-allowed-packet", "0", &capture("basic")]).assert().code(2);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "yesterday's report");
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1, "no temporary file left behind");
    mywire().args(["analyze", "-o", o, &capture("basic")]).assert().success();
    assert!(std::fs::read_to_string(&out).unwrap().starts_with("mywire "));
    // a symlink at the target is never followed
    let victim = d.path().join("victim");
    std::fs::write(&victim, "keep").unwrap();
    let link = d.path().join("link.txt");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let a = mywire().args(["analyze", "-o", link.to_str().unwrap(), &capture("basic")]).assert().code(2);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("symbolic link"));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
}

#[test]
fn r13_impossible_limits_are_usage_errors() {
    for bad in ["0", "512", "2G", "lots"] {
        let a = mywire().args(["analyze", "--max-allowed-packet", bad, &capture("basic")]).assert().code(2);
        assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("max-allowed-packet"), "{bad}");
    }
    mywire().args(["analyze", "--max-allowed-packet", "1K", &capture("basic")]).assert().success();
    mywire().args(["live", "--buffer-size", "100G", "--count", "1"]).assert().code(2);
}
