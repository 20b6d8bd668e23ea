//! TCP reassembly: per connection and direction, an ordered byte stream with
//! explicit gap, FIN and RST events, plus Zeek conn.log-like accounting.
//!
//! Contract: in-order bytes are always delivered (never stalled behind a full
//! buffer, smoltcp#452); out-of-order bytes are buffered up to
//! `Limits::max_ooo_bytes` per direction, past which the hole becomes a
//! [`StreamEvent::Gap`]. Sequence numbers are unwrapped to 64-bit offsets, so
//! the 2^32 wrap needs no special case downstream.

mod half;

pub use half::{HalfStats, HalfStream};

/// What a half stream hands to its consumer, in stream order.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamEvent<'a> {
    /// Contiguous bytes.
    Data(&'a [u8]),
    /// `n` bytes that were never captured (snaplen, loss, or buffer cap).
    Gap(u64),
    /// The sender closed its side (FIN), after all preceding bytes.
    Fin,
    /// The sender reset the connection.
    Rst,
}

/// Receives stream events for one half of a connection.
pub trait StreamSink {
    /// One event for `side` (0 = the side that sent the first packet seen).
    fn on_event(&mut self, side: usize, ts: crate::time::Timestamp, ev: StreamEvent<'_>);
}
