//! The protocol phases and the transition table: which handler a packet of a
//! given direction goes to in each phase. The table is a pure function, so the
//! whole protocol's shape can be read (and tested) in one place; the handlers
//! in `state.rs` move the phase on as they parse.

use crate::model::Dir;

/// Where the connection is in the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the server greeting.
    AwaitGreeting,
    /// Greeting seen; waiting for the client's handshake response.
    AwaitLogin,
    /// Authentication exchange in progress.
    Auth,
    /// Command phase.
    Command,
    /// After SSLRequest: the stream is TLS and opaque.
    Tls,
    /// Picked up mid-stream: waiting for a recognisable command.
    Unsynced,
    /// Authentication failed; the server will close.
    AuthFailed,
}

/// The handler for one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The server's greeting (or an ERR instead of one).
    Greeting,
    /// A client packet before any greeting: the greeting was not captured.
    ClientBeforeGreeting,
    /// The client's handshake response or SSLRequest.
    Login,
    /// The server's answer during authentication (OK, ERR, auth switch, more data).
    AuthReply,
    /// An ERR before any login: the server rejects the connection.
    RejectedBeforeLogin,
    /// Client authentication data (auth switch response and the like).
    AuthData,
    /// A client command (or, unsynced, a candidate to resynchronise on).
    Command,
    /// A server response to the command in flight.
    Response,
    /// Server bytes while unsynced: skipped.
    SkipUnsynced,
    /// Server packets after a rejected login.
    AfterAuthFailure,
    /// Nothing to decode (TLS).
    Ignore,
    /// Not expected in this phase.
    Unexpected,
}

/// The transition table.
pub fn route(phase: Phase, dir: Dir, first_byte: Option<u8>) -> Step {
    match (phase, dir) {
        (Phase::AwaitGreeting, Dir::ToClient) => Step::Greeting,
        (Phase::AwaitGreeting, Dir::ToServer) => Step::ClientBeforeGreeting,
        (Phase::AwaitLogin, Dir::ToServer) => Step::Login,
        (Phase::Auth, Dir::ToClient) => Step::AuthReply,
        (Phase::AwaitLogin, Dir::ToClient) if first_byte == Some(0xff) => Step::RejectedBeforeLogin,
        (Phase::Auth, Dir::ToServer) => Step::AuthData,
        (Phase::Command | Phase::Unsynced, Dir::ToServer) => Step::Command,
        (Phase::Command, Dir::ToClient) => Step::Response,
        (Phase::Unsynced, Dir::ToClient) => Step::SkipUnsynced,
        (Phase::AuthFailed, Dir::ToClient) => Step::AfterAuthFailure,
        (Phase::Tls, _) => Step::Ignore,
        _ => Step::Unexpected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phase_and_direction_has_a_handler() {
        use Phase::*;
        let phases = [AwaitGreeting, AwaitLogin, Auth, Command, Tls, Unsynced, AuthFailed];
        let unexpected: Vec<_> = phases
            .iter()
            .flat_map(|&p| [Dir::ToServer, Dir::ToClient].map(move |d| (p, d)))
            .filter(|&(p, d)| route(p, d, Some(0)) == Step::Unexpected)
            .collect();
        // a server packet before the login, a client packet after a rejected login
        assert_eq!(unexpected, vec![(AwaitLogin, Dir::ToClient), (AuthFailed, Dir::ToServer)]);
        assert_eq!(route(AwaitLogin, Dir::ToClient, Some(0xff)), Step::RejectedBeforeLogin);
    }
}
