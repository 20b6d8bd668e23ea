//! The `mywire` binary: parse the CLI, run, map errors to exit codes.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = mywire::cli::Cli::parse();
    match mywire::cli::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            if mywire::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("mywire: {err:#}");
            ExitCode::from(2)
        }
    }
}
