//! Wiring only: sources -> pipeline -> analyser -> reporter.

use crate::analysis::{Analyzer, AnalyzerConfig, Severity};
use crate::capture::{FileSource, MergedSource};
use crate::cli::{AnalyzeArgs, Cli, Command, Format};
use crate::config::Limits;
use crate::pipeline::Pipeline;
use anyhow::{Context, Result, bail};
use serde_json::json;
use std::io::{BufWriter, Write};

/// Runs the CLI; returns the process exit code.
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Analyze(a) => analyze(a),
        Command::Live(_) => bail!(
            "`mywire live` is not implemented yet (see issue: live capture); use `tcpdump -w FILE` and `mywire analyze FILE` meanwhile"
        ),
        Command::Tui(_) => bail!("`mywire tui` is not implemented yet (see issue: TUI); use `mywire analyze` meanwhile"),
    }
}

fn analyze(a: AnalyzeArgs) -> Result<u8> {
    let mut sources = Vec::new();
    for f in &a.files {
        sources.push(FileSource::open(f)?);
    }
    let mut ports = vec![3306];
    for p in &a.opts.ports {
        if !ports.contains(p) {
            ports.push(*p);
        }
    }
    let limits = Limits::default();
    let cfg = AnalyzerConfig {
        max_allowed_packet: a.opts.max_allowed_packet,
        server_ports: ports.clone(),
        redact_literals: a.opts.redact_literals,
        slow_us: a.opts.slow.map(|ms| (ms * 1000.0) as u64),
        commands: a.opts.commands,
        max_commands: a.opts.max_commands,
    };
    let out: Box<dyn Write> = match &a.output {
        Some(p) => Box::new(std::fs::File::create(p).with_context(|| format!("creating {p}"))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::new(out);
    let mut merged = MergedSource::new(sources);
    let mut pipe = Pipeline::new(limits, ports);
    let mut an = Analyzer::new(cfg);
    let ndjson = a.format == Format::Ndjson;
    let drain = |pipe: &mut Pipeline, an: &mut Analyzer, out: &mut dyn Write| -> Result<()> {
        let finished = std::mem::take(&mut pipe.finished);
        if !finished.is_empty() {
            // KILLs and variables of connections still open, or ending in the same batch,
            // must be known before any connection of the batch is classified.
            an.learn_live(&pipe.live_states());
            an.learn_live(&finished.iter().map(|f| (f.id, &f.st)).collect::<Vec<_>>());
        }
        for fc in finished {
            let (ci, nf) = an.add(fc);
            if ndjson {
                let c = &an.conns[ci];
                for f in &an.findings[an.findings.len() - nf..] {
                    let mut v = serde_json::to_value(f)?;
                    v["type"] = json!("finding");
                    serde_json::to_writer(&mut *out, &v)?;
                    out.write_all(b"\n")?;
                }
                let mut v = serde_json::to_value(c)?;
                v["type"] = json!("connection");
                serde_json::to_writer(&mut *out, &v)?;
                out.write_all(b"\n")?;
            }
        }
        Ok(())
    };
    while let Some(frame) = merged.next_frame() {
        pipe.push(&frame);
        if !pipe.finished.is_empty() {
            drain(&mut pipe, &mut an, &mut out)?;
        }
    }
    pipe.finish_all();
    drain(&mut pipe, &mut an, &mut out)?;
    let inputs = merged.inputs();
    let warnings = merged.warnings();
    for w in &warnings {
        eprintln!("mywire: warning: {w}");
    }
    if inputs.iter().all(|i| i.frames == 0) {
        eprintln!("mywire: warning: no frames in the input");
    }
    let capture = json!({"decode": pipe.decode, "flows": pipe.flows});
    let report = an.report(inputs, warnings, capture);
    match a.format {
        Format::Text => crate::report::text::write(&report, &mut out)?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            out.write_all(b"\n")?;
        }
        Format::Ndjson => {
            let v = json!({"type": "summary", "generator": report.generator, "inputs": report.inputs, "summary": report.summary, "settings": report.settings, "recommendations": report.recommendations, "warnings": report.warnings});
            serde_json::to_writer(&mut out, &v)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    if let Some(level) = a.fail_on
        && report.findings.iter().any(|f| f.severity >= level)
    {
        return Ok(1);
    }
    let _ = Severity::Info;
    Ok(0)
}
