//! Sequence-id bookkeeping: the next id each side must use, the compressed
//! protocol's own counter, and the gap flags that qualify an anomaly.

use crate::model::Dir;

/// The expected sequence ids of one connection.
#[derive(Clone, Debug, Default)]
pub struct SeqState {
    /// Next expected (uncompressed) sequence id.
    pub next: u8,
    /// After a client packet with a wrong id, the server's reply to this
    /// command re-synchronises (MariaDB answers with sequence id 0).
    pub reply_resync: Option<u64>,
    /// Next expected compressed-frame sequence id.
    pub comp_next: u8,
    /// A TCP gap preceded the next packet of this direction.
    pub gap_pending: [bool; 2],
}

impl SeqState {
    /// True when a gap in `dir` precedes the next packet.
    pub fn after_gap(&self, dir: Dir) -> bool {
        self.gap_pending[dir.idx()]
    }
}
