//! The TUI event loop. Analysis runs on a worker thread and sends messages
//! over a bounded `sync_channel`; when the UI lags, snapshots are dropped and
//! counted (capture is never blocked). The terminal is restored on quit, on a
//! panic (ratatui's hook), on Ctrl-C (a key in raw mode) and on SIGTERM.

use super::app::{App, Msg};
use super::view::render;
use crate::capture::{FileSource, MergedSource};
use crate::config::AnalyzeOptions;
use crate::engine::{LiveLimit, Runner, capture_live};
use crate::report::model::{ConnReport, Finding, LiveCapture, Report};
use anyhow::Result;
use crossterm::event::{self, Event, KeyEventKind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

fn send(tx: &SyncSender<Msg>, m: Msg) -> bool {
    match tx.try_send(m) {
        Ok(()) => true,
        Err(TrySendError::Full(_)) => {
            let _ = tx.try_send(Msg::Skipped);
            true
        }
        Err(TrySendError::Disconnected(_)) => false,
    }
}

/// Runs the UI until the user quits; `rx` delivers analysis messages.
fn ui_loop(mut app: App, rx: Receiver<Msg>, stop: Arc<AtomicBool>) -> Result<()> {
    let mut terminal = ratatui::try_init()?;
    let res = (|| -> Result<()> {
        loop {
            terminal.draw(|f| render(&app, f))?;
            if event::poll(Duration::from_millis(100))? {
                match event::read()? {
                    Event::Key(k) if k.kind == KeyEventKind::Press => app.update(Msg::Key(k)),
                    _ => {} // resize: redrawn on the next pass
                }
            }
            while let Ok(m) = rx.try_recv() {
                app.update(m);
            }
            if app.quit || stop.load(Ordering::SeqCst) {
                return Ok(());
            }
        }
    })();
    ratatui::restore();
    res
}

fn sigterm_flag() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    // SIGTERM, SIGHUP (and SIGINT outside raw mode) end the UI cleanly. When the
    // terminal has hung up, crossterm's reader spins on read() == 0 and never
    // returns to the loop that checks the flag, so a watchdog ends the process.
    let _ = ctrlc::set_handler(move || {
        s.store(true, Ordering::SeqCst);
        std::thread::spawn(|| {
            std::thread::sleep(Duration::from_secs(2));
            ratatui::restore();
            std::process::exit(143);
        });
    });
    stop
}

/// Fails unless stdin and stdout are terminals.
pub fn require_terminal() -> Result<()> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        anyhow::bail!("the TUI needs a terminal (stdin/stdout are not a tty); use `mywire analyze` or `--format text|json|ndjson`");
    }
    Ok(())
}

/// `mywire tui FILE...`: analyse with a progress indicator, then browse.
pub fn run_files(files: Vec<String>, mut opts: AnalyzeOptions) -> Result<u8> {
    require_terminal()?;
    opts.cfg.commands = crate::config::CommandsMode::All;
    let mut sources = Vec::new();
    let mut total = 0u64;
    for f in &files {
        total += std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
        sources.push(FileSource::open(f)?); // open errors are reported before the UI starts
    }
    let (tx, rx) = sync_channel::<Msg>(64);
    let stop = sigterm_flag();
    let worker = std::thread::spawn(move || -> Result<()> {
        let mut merged = MergedSource::new(sources);
        let mut on_conn = |_: &ConnReport, _: &[Finding]| Ok(());
        let mut runner = Runner::new(&opts, &mut on_conn);
        let (mut frames, mut bytes) = (0u64, 0u64);
        let mut last = Instant::now();
        while let Some(f) = merged.next_frame() {
            frames += 1;
            bytes += f.data.len() as u64 + 16;
            runner.push(&f)?;
            if frames % 4096 == 0 && last.elapsed() > Duration::from_millis(100) {
                last = Instant::now();
                if !send(&tx, Msg::Progress { frames, bytes, total: Some(total) }) {
                    return Ok(());
                }
            }
        }
        let report = runner.finish(merged.inputs(), merged.warnings(), None)?;
        let _ = tx.send(Msg::Data(Box::new(report)));
        Ok(())
    });
    ui_loop(App::new(false), rx, stop)?;
    if worker.is_finished() {
        worker.join().map_err(|_| anyhow::anyhow!("analysis thread panicked"))??;
    }
    Ok(0)
}

/// `mywire live` in a terminal: capture on a worker thread, snapshots a few
/// times a second; returns the final report once the UI closes.
pub fn run_live(mut src: crate::capture::live::LiveSource, opts: AnalyzeOptions, bpf: String, limit: LiveLimit) -> Result<Report> {
    require_terminal()?;
    let (tx, rx) = sync_channel::<Msg>(4);
    let stop = sigterm_flag();
    let stop_worker = stop.clone();
    let quit = Arc::new(AtomicBool::new(false));
    let quit_worker = quit.clone();
    let worker = std::thread::spawn(move || -> Result<Report> {
        let mut on_conn = |_: &ConnReport, _: &[Finding]| Ok(());
        let mut runner = Runner::new(&opts, &mut on_conn);
        let stop = || quit_worker.load(Ordering::SeqCst) || stop_worker.load(Ordering::SeqCst);
        let mut tick = |r: &Runner<'_>, live: LiveCapture| send(&tx, Msg::Data(Box::new(r.snapshot(Vec::new(), Some(live)))));
        let r = capture_live(&mut src, &mut runner, &bpf, limit, &stop, Some(&mut tick))?;
        src.finish_savefile()?;
        runner.finish(vec![r.input], r.warnings, Some(r.live))
    });
    let res = ui_loop(App::new(true), rx, stop);
    quit.store(true, Ordering::SeqCst);
    let report = worker.join().map_err(|_| anyhow::anyhow!("capture thread panicked"))?;
    res?;
    report
}
