//! The command line: arguments (clap derive) and the dispatch to the engine
//! and the reporters ([`run`]).

use crate::config::{AnalyzeOptions, CommandsMode};
use crate::engine::{self, LiveLimit, Runner};
use crate::model::Severity;
use crate::output::{OutputFile, Owner};
use crate::report::model::{ConnReport, Finding};
use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::{BufWriter, Write};
use std::path::Path;

/// mywire: watch MySQL traffic on the wire and explain what went wrong.
#[derive(Debug, Parser)]
#[command(name = "mywire", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse capture files (pcap/pcapng, optionally .gz/.zst; `-` = stdin).
    Analyze(AnalyzeArgs),
    /// Sniff a live interface (TUI on a terminal; text/JSON/NDJSON report otherwise).
    Live(LiveArgs),
    /// Explore capture files in a terminal UI.
    Tui(TuiArgs),
    /// List every MySQL packet (one tab-separated line per logical PDU), like `tshark -Y mysql`.
    Pdus(PdusArgs),
    /// Run a program so that OpenSSL writes its TLS keys (NSS key log) for decrypting captures.
    Keylog(crate::keylog::KeylogArgs),
}

/// `mywire pdus`.
#[derive(Debug, Args)]
pub struct PdusArgs {
    /// Capture files, merged by timestamp.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Extra MySQL server port (repeatable).
    #[arg(long = "port", value_name = "N")]
    pub ports: Vec<u16>,
}

pub use crate::report::Format;

/// Options shared by every analysis.
#[derive(Debug, Args, Clone)]
pub struct AnalysisOpts {
    /// Extra MySQL server port (repeatable; 3306 is always included; other
    /// ports are recognised by the shape of the traffic).
    #[arg(long = "port", value_name = "N")]
    pub ports: Vec<u16>,
    /// The server's max_allowed_packet, if known (1048576, 16M, 1G, 1024*1024*256).
    #[arg(long, value_name = "SIZE", value_parser = parse_max_allowed_packet)]
    pub max_allowed_packet: Option<u64>,
    /// Mask every literal in SQL (passwords are always masked).
    #[arg(long)]
    pub redact_literals: bool,
    /// Report commands slower than this many milliseconds.
    #[arg(long, value_name = "MS")]
    pub slow: Option<f64>,
    /// Which commands to list per connection.
    #[arg(long, value_enum, default_value = "capped")]
    pub commands: CommandsMode,
    /// Commands listed per connection with `--commands capped` (flagged ones always).
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub max_commands: usize,
}

fn parse_size_arg(s: &str) -> Result<u64, String> {
    crate::analysis::limit::parse_size(s).ok_or_else(|| format!("'{s}' is not a size: use bytes or a K/M/G suffix, e.g. 16M"))
}

/// max_allowed_packet as the server accepts it: 1 KiB to 1 GiB.
fn parse_max_allowed_packet(s: &str) -> Result<u64, String> {
    let v = parse_size_arg(s)?;
    if !(1024..=1 << 30).contains(&v) {
        return Err(format!("{v} bytes is not a possible max_allowed_packet: the server accepts 1K to 1G"));
    }
    Ok(v)
}

/// The kernel capture buffer: libpcap takes an `int`, so at most 2 GiB - 1; at least 64 KiB.
fn parse_buffer_size(s: &str) -> Result<u64, String> {
    let v = parse_size_arg(s)?;
    if !(64 << 10..=i32::MAX as u64).contains(&v) {
        return Err(format!("{v} bytes cannot be a capture buffer: use 64K to 2047M"));
    }
    Ok(v)
}

/// `mywire analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Capture files, merged by timestamp.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Output format (default: text).
    #[arg(long, short, value_enum, default_value = "text")]
    pub format: Format,
    /// Write the report here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<String>,
    /// Exit 1 when a finding of at least this severity exists.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// Analysis threads: 0 = one per core (at most 8) for uncompressed files of
    /// 64 MiB or more, else 1. The report is the same for every value.
    #[arg(long, short = 'j', default_value_t = 0, value_name = "N")]
    pub threads: usize,
    /// Analysis options.
    #[command(flatten)]
    pub opts: AnalysisOpts,
}

/// `mywire live`.
#[derive(Debug, Args)]
pub struct LiveArgs {
    /// Interface to sniff (`any` for all; default: the one libpcap picks).
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub iface: Option<String>,
    /// BPF filter; replaces the default `tcp port 3306 [or tcp port N ...]` built from --port.
    #[arg(long, value_name = "EXPR")]
    pub bpf: Option<String>,
    /// Output format (default: tui when stdout is a terminal and no -o, text otherwise).
    #[arg(long, short, value_enum)]
    pub format: Option<LiveFormat>,
    /// Write the report here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<String>,
    /// Stop after this long: 30s, 5m, 1h, or seconds.
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    pub duration: Option<f64>,
    /// Stop after this many frames.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Also write the raw frames to this pcap file (flushed on exit).
    #[arg(short = 'w', long = "write", value_name = "FILE.pcap")]
    pub write: Option<String>,
    /// Bytes captured per frame.
    #[arg(long, default_value_t = 262_144, value_name = "N")]
    pub snaplen: i32,
    /// Kernel capture buffer (e.g. 64M).
    #[arg(long, default_value = "64M", value_name = "SIZE", value_parser = parse_buffer_size)]
    pub buffer_size: u64,
    /// After opening the device, switch to this user (default `nobody` when root).
    #[arg(long, value_name = "NAME", default_value = "nobody")]
    pub user: String,
    /// Keep root privileges.
    #[arg(long)]
    pub no_drop: bool,
    /// Exit 1 when a finding of at least this severity exists.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// Analysis options.
    #[command(flatten)]
    pub opts: AnalysisOpts,
}

/// Live output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LiveFormat {
    /// The terminal UI.
    Tui,
    /// Postmortem at the end.
    Text,
    /// One JSON document at the end.
    Json,
    /// One JSON object per line as connections end, then a summary.
    Ndjson,
}

fn parse_duration(s: &str) -> Result<f64, String> {
    let s = s.trim();
    let (num, mult) = match s.chars().last() {
        Some('s') => (&s[..s.len() - 1], 1.0),
        Some('m') => (&s[..s.len() - 1], 60.0),
        Some('h') => (&s[..s.len() - 1], 3600.0),
        _ => (s, 1.0),
    };
    num.parse::<f64>()
        .ok()
        .filter(|v| *v > 0.0)
        .map(|v| v * mult)
        .ok_or_else(|| format!("'{s}' is not a duration: use 30s, 5m, 1h or seconds"))
}

/// `mywire tui`.
#[derive(Debug, Args)]
pub struct TuiArgs {
    /// Capture files, merged by timestamp.
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,
    /// Analysis options.
    #[command(flatten)]
    pub opts: AnalysisOpts,
}

impl AnalysisOpts {
    /// The analysis options these arguments ask for.
    pub fn options(&self) -> AnalyzeOptions {
        let mut opts = AnalyzeOptions::new(&self.ports);
        opts.cfg.max_allowed_packet = self.max_allowed_packet;
        opts.cfg.redact_literals = self.redact_literals;
        opts.cfg.slow_us = self.slow.map(|ms| (ms * 1000.0) as u64);
        opts.cfg.commands = self.commands;
        opts.cfg.max_commands = self.max_commands;
        opts
    }
}

/// Runs the CLI; returns the process exit code.
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Analyze(a) => analyze(a),
        Command::Live(a) => live(a),
        Command::Tui(a) => {
            if a.files.is_empty() {
                bail!("mywire tui needs capture files (for live traffic: mywire live)");
            }
            crate::report::tui::run::run_files(a.files, a.opts.options())
        }
        Command::Keylog(a) => crate::keylog::run(a),
        Command::Pdus(a) => {
            let conns = engine::trace_pdus(&a.files, &a.ports)?;
            let mut out = BufWriter::new(std::io::stdout().lock());
            crate::report::pdus::write(&conns, &mut out)?;
            Ok(0)
        }
    }
}

/// Where a report goes: stdout, or a file that replaces its target only
/// once the report is complete ([`crate::output`]).
enum Sink {
    Stdout(BufWriter<std::io::StdoutLock<'static>>),
    File(BufWriter<OutputFile>),
}

impl Sink {
    fn open(path: &Option<String>, owner: Option<Owner>) -> Result<Sink> {
        Ok(match path {
            Some(p) => Sink::File(BufWriter::new(OutputFile::create_for(Path::new(p), 0o644, owner)?)),
            None => Sink::Stdout(BufWriter::new(std::io::stdout().lock())),
        })
    }

    /// Flushes, and for a file makes it the target's content.
    fn commit(self) -> Result<()> {
        match self {
            Sink::Stdout(mut w) => Ok(w.flush()?),
            Sink::File(w) => w.into_inner().map_err(|e| e.into_error())?.commit(),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Stdout(w) => w.write(buf),
            Sink::File(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Stdout(w) => w.flush(),
            Sink::File(w) => w.flush(),
        }
    }
}

fn analyze(a: AnalyzeArgs) -> Result<u8> {
    let mut opts = a.opts.options();
    opts.threads = if a.threads == 0 { crate::parallel::auto_threads(&a.files) } else { a.threads.min(64) };
    let mut out = Sink::open(&a.output, None)?;
    let ndjson = a.format == Format::Ndjson;
    let report = {
        let mut on_conn = |c: &ConnReport, f: &[Finding]| if ndjson { crate::report::json::write_conn(&mut out, c, f) } else { Ok(()) };
        engine::analyze_files(&a.files, &opts, &mut on_conn)?
    };
    let code = crate::report::write(&report, a.format, &mut out, a.fail_on)?;
    out.commit()?;
    Ok(code)
}

fn live(a: LiveArgs) -> Result<u8> {
    use crate::capture::live::{LiveOptions, LiveSource, drop_privileges, lookup_user};
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
    let opts = a.opts.options();
    let bpf =
        a.bpf.clone().unwrap_or_else(|| opts.cfg.server_ports.iter().map(|p| format!("tcp port {p}")).collect::<Vec<_>>().join(" or "));
    let lo = LiveOptions {
        iface: a.iface.clone(),
        bpf: bpf.clone(),
        snaplen: a.snaplen,
        buffer_size: i32::try_from(a.buffer_size).unwrap_or(i32::MAX),
        timeout_ms: 100,
    };
    let limit = LiveLimit { duration: a.duration, count: a.count };
    // Every argument is checked before anything is opened or written: the user
    // to switch to, then the output files (staged; their targets are replaced
    // only when complete), then the device.
    let owner = if a.no_drop { None } else { lookup_user(&a.user).map_err(|e| anyhow::anyhow!("{e}"))? };
    let mut out = Sink::open(&a.output, owner)?;
    let save = match &a.write {
        Some(p) => Some(OutputFile::create_for(Path::new(p), 0o644, owner).with_context(|| format!("-w {p}"))?),
        None => None,
    };
    let mut src = LiveSource::open(&lo)?;
    if let Some(f) = save {
        src.save_to(f).context("-w")?;
    }
    if let Some(o) = owner {
        drop_privileges(o).map_err(|e| anyhow::anyhow!("dropping privileges: {e}"))?;
    }
    if tui {
        // after the UI closes, the postmortem of what was captured
        let report = crate::report::tui::run::run_live(src, opts, bpf, limit)?;
        let code = crate::report::write(&report, format, &mut out, a.fail_on)?;
        out.commit()?;
        return Ok(code);
    }
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst)).context("installing the Ctrl-C / SIGTERM handler")?;
    }
    eprintln!("mywire: capturing on {} with filter \"{bpf}\"; Ctrl-C stops and writes the report", src.iface);
    let ndjson = format == Format::Ndjson;
    let report = {
        let mut on_conn = |c: &ConnReport, f: &[Finding]| if ndjson { crate::report::json::write_conn(&mut out, c, f) } else { Ok(()) };
        let mut runner = Runner::new(&opts, &mut on_conn);
        let r = engine::capture_live(&mut src, &mut runner, &bpf, limit, &|| stop.load(Ordering::SeqCst), None)?;
        src.finish_savefile()?;
        runner.finish(vec![r.input], r.warnings, Some(r.live))?
    };
    let code = crate::report::write(&report, format, &mut out, a.fail_on)?;
    out.commit()?;
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
