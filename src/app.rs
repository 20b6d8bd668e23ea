//! Wiring only: sources -> pipeline -> analyser -> reporter.

use crate::analysis::{Analyzer, AnalyzerConfig};
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
        Command::Pdus(a) => pdus(a),
    }
}

/// Every logical MySQL PDU of every connection, by connection (tcp stream) id.
pub fn trace_pdus(files: &[String], extra_ports: &[u16]) -> Result<Vec<crate::pipeline::FinishedConn>> {
    let mut opts = AnalyzeOptions::new(extra_ports);
    opts.limits.trace_pdus = 10_000_000;
    let mut sources = Vec::new();
    for f in files {
        sources.push(FileSource::open(f)?);
    }
    let mut merged = MergedSource::new(sources);
    let mut pipe = Pipeline::new(opts.limits.clone(), opts.cfg.server_ports.clone());
    let mut done = Vec::new();
    while let Some(frame) = merged.next_frame() {
        pipe.push(&frame);
        done.append(&mut pipe.finished);
    }
    pipe.finish_all();
    done.append(&mut pipe.finished);
    done.sort_by_key(|c| c.id);
    Ok(done)
}

fn pdus(a: crate::cli::PdusArgs) -> Result<u8> {
    let conns = trace_pdus(&a.files, &a.ports)?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    writeln!(out, "conn\tclient\tserver\tdir\tts\tseq\tlen\tparts\tcommand\tquery\terror")?;
    for c in conns {
        for p in &c.st.pdus {
            let cmd = p.command.map(|c| crate::mysql::CommandCode(c).to_string()).unwrap_or_default();
            let q = p
                .query
                .as_deref()
                .map(|q| crate::analysis::text::sanitize(&crate::analysis::text::redact_sql(q, false)))
                .unwrap_or_default();
            let err = p.error.map(|e| e.to_string()).unwrap_or_default();
            let dir = if p.direction == crate::session::Dir::ToServer { "C>S" } else { "S>C" };
            writeln!(out, "{}\t{}\t{}\t{dir}\t{}\t{}\t{}\t{}\t{cmd}\t{q}\t{err}", c.id, c.client, c.server, p.ts, p.seq, p.len, p.parts)?;
        }
    }
    out.flush()?;
    Ok(0)
}

/// Options for one offline analysis, independent of the CLI.
#[derive(Clone, Debug)]
pub struct AnalyzeOptions {
    /// Analyser settings.
    pub cfg: AnalyzerConfig,
    /// Memory limits.
    pub limits: Limits,
}

impl AnalyzeOptions {
    /// Defaults: port 3306 plus `extra_ports`, every limit at its default.
    pub fn new(extra_ports: &[u16]) -> Self {
        let mut ports = vec![3306];
        for p in extra_ports {
            if !ports.contains(p) {
                ports.push(*p);
            }
        }
        AnalyzeOptions {
            cfg: AnalyzerConfig {
                max_allowed_packet: None,
                server_ports: ports,
                redact_literals: false,
                slow_us: None,
                commands: crate::analysis::CommandsMode::Capped,
                max_commands: 200,
            },
            limits: Limits::default(),
        }
    }
}

/// Runs the whole offline pipeline over `files`. `on_conn` sees each
/// connection as it ends, with the findings it added (for streaming output).
pub fn analyze_files(
    files: &[String],
    opts: &AnalyzeOptions,
    on_conn: &mut dyn FnMut(&crate::analysis::ConnReport, &[crate::analysis::Finding]) -> Result<()>,
) -> Result<crate::analysis::Report> {
    let mut sources = Vec::new();
    for f in files {
        sources.push(FileSource::open(f)?);
    }
    let mut merged = MergedSource::new(sources);
    let mut pipe = Pipeline::new(opts.limits.clone(), opts.cfg.server_ports.clone());
    let mut an = Analyzer::new(opts.cfg.clone());
    let drain = |pipe: &mut Pipeline,
                 an: &mut Analyzer,
                 on_conn: &mut dyn FnMut(&crate::analysis::ConnReport, &[crate::analysis::Finding]) -> Result<()>|
     -> Result<()> {
        let finished = std::mem::take(&mut pipe.finished);
        if !finished.is_empty() {
            // KILLs and variables of connections still open, or ending in the same batch,
            // must be known before any connection of the batch is classified.
            an.learn_live(&pipe.live_states());
            an.learn_live(&finished.iter().map(|f| (f.id, &f.st)).collect::<Vec<_>>());
        }
        for fc in finished {
            let (ci, nf) = an.add(fc);
            on_conn(&an.conns[ci], &an.findings[an.findings.len() - nf..])?;
        }
        Ok(())
    };
    while let Some(frame) = merged.next_frame() {
        pipe.push(&frame);
        if !pipe.finished.is_empty() {
            drain(&mut pipe, &mut an, on_conn)?;
        }
    }
    pipe.finish_all();
    drain(&mut pipe, &mut an, on_conn)?;
    let inputs = merged.inputs();
    let warnings = merged.warnings();
    let capture = json!({"decode": pipe.decode, "flows": pipe.flows});
    Ok(an.report(inputs, warnings, capture))
}

fn analyze(a: AnalyzeArgs) -> Result<u8> {
    let mut opts = AnalyzeOptions::new(&a.opts.ports);
    opts.cfg.max_allowed_packet = a.opts.max_allowed_packet;
    opts.cfg.redact_literals = a.opts.redact_literals;
    opts.cfg.slow_us = a.opts.slow.map(|ms| (ms * 1000.0) as u64);
    opts.cfg.commands = a.opts.commands;
    opts.cfg.max_commands = a.opts.max_commands;
    let out: Box<dyn Write> = match &a.output {
        Some(p) => Box::new(std::fs::File::create(p).with_context(|| format!("creating {p}"))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::new(out);
    let ndjson = a.format == Format::Ndjson;
    let report = analyze_files(&a.files, &opts, &mut |conn, findings| {
        if ndjson {
            for f in findings {
                let mut v = serde_json::to_value(f)?;
                v["type"] = json!("finding");
                serde_json::to_writer(&mut out, &v)?;
                out.write_all(b"\n")?;
            }
            let mut v = serde_json::to_value(conn)?;
            v["type"] = json!("connection");
            serde_json::to_writer(&mut out, &v)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    })?;
    for w in &report.warnings {
        eprintln!("mywire: warning: {w}");
    }
    if report.inputs.iter().all(|i| i.frames == 0) {
        eprintln!("mywire: warning: no frames in the input");
    } else if report.connections.is_empty() {
        eprintln!(
            "mywire: warning: no MySQL connections recognised; if the server listens on a custom port and the handshake is not in the capture, add --port N"
        );
    }
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
    Ok(0)
}
