//! Command-line interface (clap derive).

use crate::analysis::{CommandsMode, Severity};
use clap::{Args, Parser, Subcommand, ValueEnum};

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

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Postmortem for people.
    Text,
    /// One JSON document.
    Json,
    /// One JSON object per line, as things happen.
    Ndjson,
}

/// Options shared by every analysis.
#[derive(Debug, Args, Clone)]
pub struct AnalysisOpts {
    /// Extra MySQL server port (repeatable; 3306 is always included; other
    /// ports are recognised by the shape of the traffic).
    #[arg(long = "port", value_name = "N")]
    pub ports: Vec<u16>,
    /// The server's max_allowed_packet, if known (1048576, 16M, 1G, 1024*1024*256).
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
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
    #[arg(long, default_value = "64M", value_name = "SIZE", value_parser = parse_size_arg)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
