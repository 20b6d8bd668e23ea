//! The types every layer shares: directions, command records and response
//! kinds, what a session hands to the analyser ([`ConnSummary`] inside a
//! [`FinishedConn`], plus [`KillEvent`]s as they happen), close causes,
//! severities, finding kinds and their typed evidence.
//!
//! Nothing here parses or decides; the types only carry facts between the
//! stages (session -> analysis -> report), so each stage can be read and
//! tested on its own. Enums serialise with serde renames to the same strings
//! the JSON report has always used (`schema/report.schema.json`).

mod close;
mod command;
mod conn;
mod dir;
mod evidence;
mod finding;

pub use close::{CloseCause, Initiator};
pub use command::{CommandRecord, Response, ResponseKind, ValuesRows};
pub use conn::{
    AuthResult, BigPacket, Compression, ConnSummary, EndFacts, ErrorTally, EventKind, FinishedConn, Identity, KillEvent, PartialPacket,
    PduTrace, ProtoEvent, SeqAnomaly, ServerError, TcpInfo, VarObservation, VarSource,
};
pub use dir::{Dir, PerDir};
pub use evidence::{
    CaptureDrops, CaptureHealth, ClientLimit, ConnectionDrop, EventBrief, Evidence, LimitContradicted, MidStream, NearLimitRequest,
    NoMysqlTraffic, OversizeRequest, OversizeUnseen, PortBrief, ProtocolErrors, ResponseSize, SeqEvidence, SlowCommand, StatementErrors,
    TcpGap, TlsOpaque, TooManyConnections,
};
pub use finding::{FindingKind, Severity};

/// Serialises `v` through a `serde_json::Value`, so an object's keys come out
/// in alphabetical order. The report's `settings`, `summary`, each finding's
/// `evidence` and each connection's `auth` have always been written that way
/// (they were built as JSON maps); typed, they keep the same bytes.
pub fn sorted_keys<T: serde::Serialize, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    serde_json::to_value(v).map_err(serde::ser::Error::custom)?.serialize(s)
}
