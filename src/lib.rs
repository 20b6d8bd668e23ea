//! mywire: watches MySQL traffic on the wire and explains what went wrong.
//!
//! ```text
//! capture (pcap/pcapng files, stdin)      capture::
//!   -> L2-L4 decode (etherparse; fixed    decode::
//!      offsets for Ethernet/IPv4/TCP)
//!   -> TCP reassembly (gaps, FIN, RST)    reassembly::, pipeline::
//!   -> MySQL framing + message decode     mysql::
//!   -> per-connection session            session::
//!   -> detectors + report model           analysis::
//!   -> reporters (text, JSON, NDJSON)     report::, app::
//! ```
//!
//! Offline analysis of a big capture spreads the flows over threads by
//! address hash and merges their results in frame order (`parallel::`), so
//! the output does not depend on the thread count.
//!
//! Packet time is the only clock below `app`, so results are deterministic.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod analysis;
pub mod app;
pub mod capture;
pub mod cli;
pub mod config;
pub mod decode;
pub mod mysql;
pub mod parallel;
pub mod pipeline;
pub mod reassembly;
pub mod report;
pub mod session;
pub mod sql;
pub mod time;

/// True when an error chain ends in a broken pipe (`mywire ... | head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>().and_then(|e| e.io_error_kind()) == Some(std::io::ErrorKind::BrokenPipe)
    })
}
