//! mywire: watches MySQL traffic on the wire and explains what went wrong.
//!
//! ```text
//! capture (pcap/pcapng files, stdin, live)   capture::
//!   -> L2-L4 decode (one entry, with a      decode::
//!      fixed-offset fast path)
//!   -> flow table (idle-ordered eviction)    flow::, pipeline::
//!   -> TCP reassembly (gaps, FIN, RST)       reassembly::
//!   -> TLS decryption (key logs)             tls::
//!   -> MySQL framing + message decode        mysql::
//!   -> per-connection session                session::    (SQL scans: sql::)
//!   -> detectors + report model              analysis::   (shared types: model::)
//!   -> reporters (text, JSON, NDJSON, TUI)   report::
//! ```
//!
//! `engine::` runs the stages on one thread, `parallel::` on several (flows
//! spread by address hash, merged in frame order, so the output does not
//! depend on the thread count); `cli::` parses the command line and
//! dispatches; `config::` holds every cap and option. ARCHITECTURE.md says
//! where each kind of change goes.
//!
//! Packet time is the only clock below `engine`, so results are deterministic.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod analysis;
pub mod capture;
pub mod cli;
pub mod config;
pub mod decode;
pub mod engine;
pub mod flow;
pub mod keylog;
pub mod model;
pub mod mysql;
pub mod output;
pub mod parallel;
pub mod pipeline;
pub mod reassembly;
pub mod report;
pub mod session;
pub mod sql;
pub mod time;
pub mod tls;

/// True when an error chain ends in a broken pipe (`mywire ... | head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>().and_then(|e| e.io_error_kind()) == Some(std::io::ErrorKind::BrokenPipe)
    })
}
