//! Running an analysis: frames from a source through the [`Pipeline`] into
//! the analyser's [`Collector`], on one thread ([`Runner`]) or, for big
//! files, on several ([`crate::parallel`]); the live capture loop; and the
//! PDU trace behind `mywire pdus`.
//!
//! The engine knows no CLI and no output format: `crate::cli` parses and
//! dispatches, `crate::report` writes. Packet time is the only clock below
//! this module; the live loop's wall-clock ticks only pace the UI.

use crate::analysis::{Collector, OnConn};
use crate::capture::live::LiveSource;
use crate::capture::{FileSource, Frame, InputInfo, MergedSource};
use crate::config::AnalyzeOptions;
use crate::config::analysis::MAX_SNAPSHOT_CONNS;
use crate::model::FinishedConn;
use crate::pipeline::Pipeline;
use crate::report::model::{CaptureSummary, LiveCapture, Report};
use anyhow::Result;

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
    pub fn push(&mut self, frame: &Frame<'_>) -> Result<()> {
        self.pipe.push(frame);
        self.drain()
    }

    /// KILLs first: a connection ending at this frame may have been killed by one seen at it.
    fn drain(&mut self) -> Result<()> {
        if !self.pipe.has_events() {
            return Ok(());
        }
        let ev = self.pipe.take_events();
        for k in ev.kills {
            self.out.kill(k);
        }
        if ev.finished.is_empty() { Ok(()) } else { self.out.add(ev.finished) }
    }

    /// The report as if the capture ended now (open connections included), for live views.
    pub fn snapshot(&self, inputs: Vec<InputInfo>, live: Option<LiveCapture>) -> Report {
        let open = self.pipe.open_conns(MAX_SNAPSHOT_CONNS);
        let capture = CaptureSummary { decode: self.pipe.decode_stats().clone(), flows: self.pipe.flow_stats().clone(), live };
        self.out.snapshot(open, inputs, capture)
    }

    /// Ends every connection and builds the report; `live` adds capture drops.
    pub fn finish(mut self, inputs: Vec<InputInfo>, warnings: Vec<String>, live: Option<LiveCapture>) -> Result<Report> {
        self.pipe.finish_all();
        self.drain()?;
        Ok(self.out.report(inputs, warnings, self.pipe.decode_stats(), self.pipe.flow_stats(), live))
    }
}

/// Opens `files` as one time-merged source.
pub fn open_files(files: &[String]) -> Result<MergedSource> {
    let mut sources = Vec::new();
    for f in files {
        sources.push(FileSource::open(f)?);
    }
    Ok(MergedSource::new(sources))
}

/// Runs the whole offline pipeline over `files`. `on_conn` sees each
/// connection as it ends, with the findings it added (for streaming output).
///
/// With `opts.threads` above 1 the flows are spread over that many threads
/// ([`crate::parallel`]); the report is the same either way.
pub fn analyze_files(files: &[String], opts: &AnalyzeOptions, on_conn: &mut OnConn<'_>) -> Result<Report> {
    if opts.threads > 1 {
        return crate::parallel::analyze(files, opts.threads, opts, on_conn);
    }
    let mut merged = open_files(files)?;
    let mut runner = Runner::new(opts, on_conn);
    while let Some(frame) = merged.next_frame() {
        runner.push(&frame)?;
    }
    runner.finish(merged.inputs(), merged.warnings(), None)
}

/// Every logical MySQL PDU of every connection, by connection (tcp stream) id.
pub fn trace_pdus(files: &[String], extra_ports: &[u16]) -> Result<Vec<FinishedConn>> {
    let mut opts = AnalyzeOptions::new(extra_ports);
    opts.limits.trace_pdus = 10_000_000;
    let mut merged = open_files(files)?;
    let mut pipe = Pipeline::new(opts.limits.clone(), opts.cfg.server_ports.clone());
    let mut done = Vec::new();
    while let Some(frame) = merged.next_frame() {
        pipe.push(&frame);
        if pipe.has_events() {
            done.append(&mut pipe.take_events().finished);
        }
    }
    pipe.finish_all();
    done.append(&mut pipe.take_events().finished);
    done.sort_by_key(|c| c.id);
    Ok(done)
}

/// Called with the runner and the live statistics a few times a second (live
/// views); returning false stops the capture.
pub type LiveTick<'t> = dyn FnMut(&Runner<'_>, LiveCapture) -> bool + 't;

/// When a live capture stops by itself: after a duration, after a frame count.
#[derive(Clone, Copy, Debug, Default)]
pub struct LiveLimit {
    /// Seconds of wall-clock time.
    pub duration: Option<f64>,
    /// Frames.
    pub count: Option<u64>,
}

/// What a finished live capture read.
pub struct LiveResult {
    /// Input accounting for the report.
    pub input: InputInfo,
    /// Why the capture stopped early, if it did.
    pub warnings: Vec<String>,
    /// Interface, filter and drop counters.
    pub live: LiveCapture,
}

/// The live capture loop shared by the report and TUI modes: frames from `src`
/// into `runner` until `stop()`, `limit` or a capture error.
pub fn capture_live(
    src: &mut LiveSource,
    runner: &mut Runner<'_>,
    bpf: &str,
    limit: LiveLimit,
    stop: &dyn Fn() -> bool,
    mut tick: Option<&mut LiveTick<'_>>,
) -> Result<LiveResult> {
    let started = std::time::Instant::now();
    let mut last_tick = started;
    let (mut frames, mut bytes) = (0u64, 0u64);
    let (mut first_ts, mut last_ts) = (None, None);
    let mut warnings = Vec::new();
    let stats = |src: &mut LiveSource| LiveCapture { interface: src.iface.clone(), filter: bpf.to_string(), stats: src.stats() };
    while !stop() {
        if limit.duration.is_some_and(|d| started.elapsed().as_secs_f64() >= d) || limit.count.is_some_and(|c| frames >= c) {
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
    let input = InputInfo {
        path: format!("live:{}", src.iface),
        format: "live".into(),
        frames,
        bytes,
        first_ts,
        last_ts,
        truncated: false,
        warnings: Vec::new(),
    };
    Ok(LiveResult { input, warnings, live: stats(src) })
}
