//! Wiring only: sources -> pipeline -> analyser -> reporter.

use crate::analysis::{Analyzer, AnalyzerConfig};
use crate::capture::{FileSource, MergedSource};
use crate::cli::{AnalyzeArgs, Cli, Command, Format};
use crate::config::Limits;
use crate::pipeline::{FinishedConn, KillEvent, Pipeline};
use anyhow::{Context, Result, bail};
use serde_json::json;
use std::io::{BufWriter, Write};

/// Runs the CLI; returns the process exit code.
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Analyze(a) => analyze(a),
        Command::Live(a) => live(a),
        Command::Tui(a) => {
            if a.files.is_empty() {
                bail!("mywire tui needs capture files (for live traffic: mywire live)");
            }
            crate::report::tui::run::run_files(a.files, options(&a.opts))
        }
        Command::Pdus(a) => pdus(a),
        Command::Keylog(a) => crate::keylog::run(a),
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
        pipe.kills.clear();
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
    /// Threads for offline analysis (1 = this thread only).
    pub threads: usize,
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
                caps: crate::config::ReportCaps::default(),
            },
            limits: Limits::default(),
            threads: 1,
        }
    }
}

/// Called for each connection as it ends, with the findings it added.
pub type OnConn<'a> = dyn FnMut(&crate::analysis::ConnReport, &[crate::analysis::Finding]) -> Result<()> + 'a;

/// The analyser end of the pipeline: KILLs and finished connections in,
/// findings and the report out. Calls `on_conn` for each connection as it is
/// added, so reports can stream.
pub struct Collector<'a> {
    an: Analyzer,
    on_conn: &'a mut OnConn<'a>,
}

impl<'a> Collector<'a> {
    /// A collector with `cfg`, calling `on_conn` as connections are added.
    pub fn new(cfg: AnalyzerConfig, on_conn: &'a mut OnConn<'a>) -> Self {
        Collector { an: Analyzer::new(cfg), on_conn }
    }

    /// Learns a KILL as it is seen (it may end a connection still open).
    pub fn kill(&mut self, k: KillEvent) {
        self.an.learn_kill(k);
    }

    /// Adds the connections that ended at one frame, in id order: the order
    /// (and so every finding) does not depend on how flows were spread over threads.
    pub fn add(&mut self, mut finished: Vec<FinishedConn>) -> Result<()> {
        finished.sort_by_key(|f| f.id);
        for fc in finished {
            let (ci, nf) = self.an.add(fc);
            (self.on_conn)(&self.an.conns[ci], &self.an.findings[self.an.findings.len() - nf..])?;
            // streamed in full; the report keeps what its caps allow
            self.an.trim_last(nf);
        }
        Ok(())
    }

    /// The report, once every connection was added.
    pub fn report(
        mut self,
        inputs: Vec<crate::capture::InputInfo>,
        warnings: Vec<String>,
        decode: &crate::decode::DecodeStats,
        flows: &crate::pipeline::FlowStats,
        live: Option<serde_json::Value>,
    ) -> crate::analysis::Report {
        if let Some(l) = &live {
            self.an.capture_drops(l);
        }
        self.an.capture_decode(decode);
        let mut capture = json!({"decode": decode, "flows": flows});
        if let Some(l) = live {
            capture["live"] = l;
        }
        self.an.report(inputs, warnings, capture)
    }
}

/// Frames in, connection records and findings out: the single-threaded loop
/// shared by files and live capture.
pub struct Runner<'a> {
    pipe: Pipeline,
    out: Collector<'a>,
}

impl<'a> Runner<'a> {
    /// A runner with `opts`, calling `on_conn` as connections end.
    pub fn new(opts: &AnalyzeOptions, on_conn: &'a mut OnConn<'a>) -> Self {
        Runner { pipe: Pipeline::new(opts.limits.clone(), opts.cfg.server_ports.clone()), out: Collector::new(opts.cfg.clone(), on_conn) }
    }

    /// Processes one frame.
    pub fn push(&mut self, frame: &crate::capture::Frame<'_>) -> Result<()> {
        self.pipe.push(frame);
        self.drain()
    }

    /// KILLs first: a connection ending at this frame may have been killed by one seen at it.
    fn drain(&mut self) -> Result<()> {
        for k in self.pipe.kills.drain(..) {
            self.out.kill(k);
        }
        if self.pipe.finished.is_empty() { Ok(()) } else { self.out.add(std::mem::take(&mut self.pipe.finished)) }
    }

    /// The report as if the capture ended now (open connections included), for live views.
    pub fn snapshot(&self, inputs: Vec<crate::capture::InputInfo>, live: Option<serde_json::Value>) -> crate::analysis::Report {
        let mut an = self.out.an.clone();
        let open = self.pipe.open_conns(2000);
        an.learn_live(&open.iter().map(|f| (f.id, &f.st)).collect::<Vec<_>>());
        for fc in open {
            an.add(fc);
        }
        let mut capture = json!({"decode": self.pipe.decode, "flows": self.pipe.flows});
        if let Some(l) = &live {
            an.capture_drops(l);
            capture["live"] = l.clone();
        }
        an.report(inputs, Vec::new(), capture)
    }

    /// Ends every connection and builds the report; `live` adds capture drops.
    pub fn finish(
        mut self,
        inputs: Vec<crate::capture::InputInfo>,
        warnings: Vec<String>,
        live: Option<serde_json::Value>,
    ) -> Result<crate::analysis::Report> {
        self.pipe.finish_all();
        self.drain()?;
        Ok(self.out.report(inputs, warnings, &self.pipe.decode, &self.pipe.flows, live))
    }
}

/// Runs the whole offline pipeline over `files`. `on_conn` sees each
/// connection as it ends, with the findings it added (for streaming output).
///
/// With `opts.threads` above 1 the flows are spread over that many threads
/// ([`crate::parallel`]); the report is the same either way.
pub fn analyze_files(files: &[String], opts: &AnalyzeOptions, on_conn: &mut OnConn<'_>) -> Result<crate::analysis::Report> {
    if opts.threads > 1 {
        return crate::parallel::analyze(files, opts.threads, opts, on_conn);
    }
    let mut sources = Vec::new();
    for f in files {
        sources.push(FileSource::open(f)?);
    }
    let mut merged = MergedSource::new(sources);
    let mut runner = Runner::new(opts, on_conn);
    while let Some(frame) = merged.next_frame() {
        runner.push(&frame)?;
    }
    runner.finish(merged.inputs(), merged.warnings(), None)
}

fn options(o: &crate::cli::AnalysisOpts) -> AnalyzeOptions {
    let mut opts = AnalyzeOptions::new(&o.ports);
    opts.cfg.max_allowed_packet = o.max_allowed_packet;
    opts.cfg.redact_literals = o.redact_literals;
    opts.cfg.slow_us = o.slow.map(|ms| (ms * 1000.0) as u64);
    opts.cfg.commands = o.commands;
    opts.cfg.max_commands = o.max_commands;
    opts
}

fn open_output(path: &Option<String>) -> Result<BufWriter<Box<dyn Write>>> {
    let out: Box<dyn Write> = match path {
        Some(p) => Box::new(std::fs::File::create(p).with_context(|| format!("creating {p}"))?),
        None => Box::new(std::io::stdout().lock()),
    };
    Ok(BufWriter::new(out))
}

/// Writes one NDJSON line per finding and one for the connection.
fn ndjson_conn(out: &mut dyn Write, conn: &crate::analysis::ConnReport, findings: &[crate::analysis::Finding]) -> Result<()> {
    for f in findings {
        let mut v = serde_json::to_value(f)?;
        v["type"] = json!("finding");
        serde_json::to_writer(&mut *out, &v)?;
        out.write_all(b"\n")?;
    }
    let mut v = serde_json::to_value(conn)?;
    v["type"] = json!("connection");
    serde_json::to_writer(&mut *out, &v)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

/// Writes the final report in `format`; returns the exit code for `fail_on`.
fn write_report(
    report: &crate::analysis::Report,
    format: Format,
    out: &mut dyn Write,
    fail_on: Option<crate::analysis::Severity>,
) -> Result<u8> {
    for w in &report.warnings {
        eprintln!("mywire: warning: {w}");
    }
    if report.inputs.iter().all(|i| i.frames == 0) && report.summary["capture"]["live"].is_null() {
        eprintln!("mywire: warning: no frames in the input");
    } else if report.connections.is_empty() {
        eprintln!(
            "mywire: warning: no MySQL connections recognised; if the server listens on a custom port and the handshake is not in the capture, add --port N"
        );
    }
    match format {
        Format::Text => crate::report::text::write(report, out)?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, report)?;
            out.write_all(b"\n")?;
        }
        Format::Ndjson => {
            let v = json!({"type": "summary", "generator": report.generator, "inputs": report.inputs, "summary": report.summary, "settings": report.settings, "recommendations": report.recommendations, "warnings": report.warnings});
            serde_json::to_writer(&mut *out, &v)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(u8::from(fail_on.is_some_and(|level| report.findings.iter().any(|f| f.severity >= level))))
}

/// Threads worth using on `files`: one per core (at most 8) when they are
/// uncompressed files of 64 MiB or more in all, else one (decompression or a
/// pipe, not the analysis, is then what limits the speed).
fn auto_threads(files: &[String]) -> usize {
    const MIN_BYTES: u64 = 64 << 20;
    let mut total = 0;
    for f in files {
        if !crate::capture::plain_file(f) {
            return 1;
        }
        total += std::fs::metadata(f).map_or(0, |m| m.len());
    }
    if total < MIN_BYTES {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}

fn analyze(a: AnalyzeArgs) -> Result<u8> {
    let mut opts = options(&a.opts);
    opts.threads = if a.threads == 0 { auto_threads(&a.files) } else { a.threads.min(64) };
    let mut out = open_output(&a.output)?;
    let ndjson = a.format == Format::Ndjson;
    let report = {
        let mut on_conn =
            |c: &crate::analysis::ConnReport, f: &[crate::analysis::Finding]| if ndjson { ndjson_conn(&mut out, c, f) } else { Ok(()) };
        analyze_files(&a.files, &opts, &mut on_conn)?
    };
    write_report(&report, a.format, &mut out, a.fail_on)
}

/// Called with the runner and the live statistics a few times a second (live
/// views); returning false stops the capture.
pub type LiveTick<'t> = dyn FnMut(&Runner<'_>, serde_json::Value) -> bool + 't;

/// The live capture loop shared by the report and TUI modes: frames from `src`
/// into `runner` until `stop()`, `limit` (duration, frame count) or a capture
/// error. Returns the input accounting, warnings, and the live statistics.
pub fn capture_live(
    src: &mut crate::capture::live::LiveSource,
    runner: &mut Runner<'_>,
    bpf: &str,
    limit: (Option<f64>, Option<u64>),
    stop: &dyn Fn() -> bool,
    mut tick: Option<&mut LiveTick<'_>>,
) -> Result<(crate::capture::InputInfo, Vec<String>, serde_json::Value)> {
    let started = std::time::Instant::now();
    let mut last_tick = started;
    let (mut frames, mut bytes) = (0u64, 0u64);
    let (mut first_ts, mut last_ts) = (None, None);
    let mut warnings = Vec::new();
    let stats = |src: &mut crate::capture::live::LiveSource| json!({"interface": src.iface, "filter": bpf, "stats": src.stats()});
    while !stop() {
        if limit.0.is_some_and(|d| started.elapsed().as_secs_f64() >= d) || limit.1.is_some_and(|c| frames >= c) {
            break;
        }
        match src.next_frame() {
            Ok(Some(frame)) => {
                frames += 1;
                bytes += frame.data.len() as u64;
                first_ts.get_or_insert(frame.ts);
                last_ts = Some(frame.ts);
                runner.push(&frame)?;
            }
            Ok(None) => {}
            Err(e) => {
                // e.g. the interface went away: stop cleanly and report what we have
                warnings.push(format!("capture stopped early: {e}"));
                break;
            }
        }
        if let Some(t) = tick.as_deref_mut()
            && last_tick.elapsed() > std::time::Duration::from_millis(300)
        {
            last_tick = std::time::Instant::now();
            if !t(runner, stats(src)) {
                break;
            }
        }
    }
    src.flush();
    let input = crate::capture::InputInfo {
        path: format!("live:{}", src.iface),
        format: "live".into(),
        frames,
        bytes,
        first_ts,
        last_ts,
        truncated: false,
        warnings: Vec::new(),
    };
    Ok((input, warnings, stats(src)))
}

fn live(a: crate::cli::LiveArgs) -> Result<u8> {
    use crate::capture::live::{LiveOptions, LiveSource, drop_privileges};
    use crate::cli::LiveFormat;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let tui = match a.format {
        Some(f) => f == LiveFormat::Tui,
        None => std::io::IsTerminal::is_terminal(&std::io::stdout()) && a.output.is_none(),
    };
    let format = match a.format {
        Some(LiveFormat::Json) => Format::Json,
        Some(LiveFormat::Ndjson) => Format::Ndjson,
        _ => Format::Text,
    };
    let opts = options(&a.opts);
    let bpf =
        a.bpf.clone().unwrap_or_else(|| opts.cfg.server_ports.iter().map(|p| format!("tcp port {p}")).collect::<Vec<_>>().join(" or "));
    let lo = LiveOptions {
        iface: a.iface.clone(),
        bpf: bpf.clone(),
        snaplen: a.snaplen,
        buffer_size: i32::try_from(a.buffer_size).unwrap_or(i32::MAX),
        timeout_ms: 100,
    };
    let mut src = LiveSource::open(&lo, a.write.as_deref())?;
    // the report file is created before privileges are dropped
    let mut out = open_output(&a.output)?;
    if tui {
        if !a.no_drop {
            drop_privileges(&a.user).map_err(|e| anyhow::anyhow!("dropping privileges: {e}"))?;
        }
        // after the UI closes, the postmortem of what was captured
        let report = crate::report::tui::run::run_live(src, opts, bpf, (a.duration, a.count))?;
        return write_report(&report, format, &mut out, a.fail_on);
    }
    if !a.no_drop {
        drop_privileges(&a.user).map_err(|e| anyhow::anyhow!("dropping privileges: {e}"))?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst)).context("installing the Ctrl-C / SIGTERM handler")?;
    }
    eprintln!("mywire: capturing on {} with filter \"{bpf}\"; Ctrl-C stops and writes the report", src.iface);
    let ndjson = format == Format::Ndjson;
    let report = {
        let mut on_conn =
            |c: &crate::analysis::ConnReport, f: &[crate::analysis::Finding]| if ndjson { ndjson_conn(&mut out, c, f) } else { Ok(()) };
        let mut runner = Runner::new(&opts, &mut on_conn);
        let (input, warnings, live) =
            capture_live(&mut src, &mut runner, &bpf, (a.duration, a.count), &|| stop.load(Ordering::SeqCst), None)?;
        runner.finish(vec![input], warnings, Some(live))?
    };
    write_report(&report, format, &mut out, a.fail_on)
}
