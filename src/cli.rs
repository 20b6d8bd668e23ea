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
    /// Sniff a live interface (not built yet).
    Live(LiveArgs),
    /// Explore capture files in a terminal UI (not built yet).
    Tui(TuiArgs),
    /// List every MySQL packet (one tab-separated line per logical PDU), like `tshark -Y mysql`.
    Pdus(PdusArgs),
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
    /// Analysis options.
    #[command(flatten)]
    pub opts: AnalysisOpts,
}

/// `mywire live` (not built yet).
#[derive(Debug, Args)]
pub struct LiveArgs {
    /// Everything else, reserved for the live-capture implementation.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub rest: Vec<String>,
}

/// `mywire tui` (not built yet).
#[derive(Debug, Args)]
pub struct TuiArgs {
    /// Capture files.
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,
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
