//! Server error codes the detectors reason about: their meaning, and which of
//! them the server follows by closing the connection.

/// The server's own wording for the connection-level errors mywire explains.
pub fn meaning(code: u16) -> Option<&'static str> {
    Some(match code {
        1040 => "Too many connections",
        1043 => "Bad handshake",
        1045 => "Access denied",
        1129 => "Host blocked because of many connection errors",
        1130 => "Host is not allowed to connect",
        1152 => "Aborted connection",
        1153 => "Got a packet bigger than 'max_allowed_packet' bytes",
        1154 => "Got a read error from the connection pipe",
        1156 => "Got packets out of order",
        1158 => "Got an error reading communication packets",
        1159 => "Got timeout reading communication packets",
        1160 => "Got an error writing communication packets",
        1161 => "Got timeout writing communication packets",
        1927 => "Connection was killed",
        4031 => "The client was disconnected by the server because of inactivity",
        _ => return None,
    })
}

/// Errors after which the server closes the connection.
pub fn is_fatal(code: u16) -> bool {
    matches!(code, 1040 | 1043 | 1045 | 1129 | 1130 | 1152 | 1153 | 1154 | 1156 | 1158 | 1159 | 1160 | 1161 | 1184 | 1927 | 4031)
}
