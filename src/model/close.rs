//! How a connection ended: the cause the analyser settles on, and who closed.

use super::Dir;
use serde::Serialize;

/// Why a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseCause {
    /// COM_QUIT, then a clean close.
    ClientQuit,
    /// The client closed without COM_QUIT.
    ClientAborted,
    /// The client reset the connection.
    ClientReset,
    /// The server sent a fatal ERR and closed.
    ServerErrorClose,
    /// The server closed an idle connection (wait_timeout, ERR 4031).
    ServerIdleTimeout,
    /// A KILL from another connection ended it.
    Killed,
    /// The server closed with no error seen.
    ServerClosed,
    /// The server reset the connection with no error seen.
    ServerReset,
    /// Still open when the capture ended.
    OpenAtCaptureEnd,
    /// Tracking stopped (idle timeout or a full connection table).
    Evicted,
    /// The login was rejected.
    AuthFailed,
    /// The SYN was answered with a RST.
    Refused,
    /// An opaque TLS connection ended: whether it was clean cannot be seen.
    ClosedInsideTls,
}

impl CloseCause {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseCause::ClientQuit => "client_quit",
            CloseCause::ClientAborted => "client_aborted",
            CloseCause::ClientReset => "client_reset",
            CloseCause::ServerErrorClose => "server_error_close",
            CloseCause::ServerIdleTimeout => "server_idle_timeout",
            CloseCause::Killed => "killed",
            CloseCause::ServerClosed => "server_closed",
            CloseCause::ServerReset => "server_reset",
            CloseCause::OpenAtCaptureEnd => "open_at_capture_end",
            CloseCause::Evicted => "evicted",
            CloseCause::AuthFailed => "auth_failed",
            CloseCause::Refused => "refused",
            CloseCause::ClosedInsideTls => "closed_inside_tls",
        }
    }

    /// Every cause, in declaration order.
    pub const ALL: [CloseCause; 13] = [
        CloseCause::ClientQuit,
        CloseCause::ClientAborted,
        CloseCause::ClientReset,
        CloseCause::ServerErrorClose,
        CloseCause::ServerIdleTimeout,
        CloseCause::Killed,
        CloseCause::ServerClosed,
        CloseCause::ServerReset,
        CloseCause::OpenAtCaptureEnd,
        CloseCause::Evicted,
        CloseCause::AuthFailed,
        CloseCause::Refused,
        CloseCause::ClosedInsideTls,
    ];
}

impl std::fmt::Display for CloseCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who closed first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Initiator {
    /// The client.
    Client,
    /// The server.
    Server,
    /// Nobody (still open, or tracking stopped).
    None,
}

impl From<Dir> for Initiator {
    /// The sender of packets in `d`.
    fn from(d: Dir) -> Self {
        match d {
            Dir::ToServer => Initiator::Client,
            Dir::ToClient => Initiator::Server,
        }
    }
}

impl std::fmt::Display for Initiator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Initiator::Client => "client",
            Initiator::Server => "server",
            Initiator::None => "none",
        })
    }
}
