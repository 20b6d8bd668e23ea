//! Does a chunk of a TCP stream look like MySQL? Used to recognise MySQL on
//! ports not given with `--port`, to pick up connections mid-stream, and to
//! find the next command after a gap. Each probe looks at the start of the
//! chunk only and answers yes, no, or "need more bytes to tell".

use super::CommandCode;
use super::wire::{PacketHeader, u24};

/// A probe's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// The bytes have the shape.
    Yes,
    /// They do not.
    No,
    /// Too few bytes to tell.
    NeedMore,
}

impl Probe {
    /// True for [`Probe::Yes`].
    pub fn yes(self) -> bool {
        self == Probe::Yes
    }
}

impl From<bool> for Probe {
    fn from(b: bool) -> Self {
        if b { Probe::Yes } else { Probe::No }
    }
}

/// A server greeting (HandshakeV10: protocol 10, a printable NUL-terminated version).
pub fn greeting(d: &[u8]) -> Probe {
    if d.len() < 4 + 1 + 2 + 4 {
        return Probe::NeedMore;
    }
    let len = u24(d) as usize;
    if d[3] != 0 || !(20..=1024).contains(&len) {
        return Probe::No;
    }
    if d[4] == 0x0a {
        let body = &d[5..d.len().min(4 + len)];
        return match body.iter().position(|&b| b == 0) {
            Some(nul) => (nul >= 1 && body[..nul].iter().all(|b| b.is_ascii_graphic() || *b == b' ')).into(),
            None if d.len() < 4 + len => Probe::NeedMore,
            None => Probe::No,
        };
    }
    Probe::No
}

/// A whole ERR packet sent instead of a greeting (1040, 1129, 1130 ...).
pub fn greeting_error(d: &[u8]) -> Probe {
    if d.len() < 9 {
        return Probe::NeedMore;
    }
    (d[3] == 0 && d[4] == 0xff && u24(d) as usize == d.len() - 4).into()
}

/// A chunk that starts like a command packet: seq 0, a known command byte
/// (not COM_SLEEP), a sane length.
pub fn command_header(data: &[u8]) -> Probe {
    if data.len() < 5 {
        return Probe::NeedMore;
    }
    let Some(h) = PacketHeader::parse(data) else { return Probe::NeedMore };
    (h.len >= 1 && h.seq == 0 && CommandCode(data[4]).name().is_some() && CommandCode(data[4]) != CommandCode::SLEEP).into()
}

/// A whole client command with printable SQL, for recognising a connection
/// picked up mid-stream on an unknown port: a query may span segments, so 16
/// printable bytes of SQL are evidence enough.
pub fn command(d: &[u8]) -> Probe {
    match command_header(d) {
        Probe::Yes => {}
        other => return other,
    }
    let len = u24(d) as usize;
    let whole = len + 4 <= d.len();
    match d[4] {
        0x03 | 0x16 => {
            let sql = &d[5..d.len().min(4 + len)];
            ((whole || sql.len() >= 16)
                && !sql.is_empty()
                && sql.iter().take(64).all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace() || *b >= 0x80))
            .into()
        }
        _ if !whole => Probe::NeedMore,
        0x0e | 0x01 | 0x09 => (len == 1).into(),
        0x17 | 0x19 => (len >= 5).into(),
        _ => Probe::No,
    }
}

/// A client's first packet after the greeting: a HandshakeResponse41 or an
/// SSLRequest (sequence id 1, at least 32 bytes, CLIENT_PROTOCOL_41 set, and
/// the reserved filler zero; MariaDB keeps its extended capabilities in the
/// filler's last 4 bytes, so 19 of the 23 are checked).
pub fn login_request(d: &[u8]) -> Probe {
    if d.len() < 4 + 32 {
        return Probe::NeedMore;
    }
    let Some(h) = PacketHeader::parse(d) else { return Probe::NeedMore };
    let caps = u32::from_le_bytes([d[4], d[5], d[6], d[7]]);
    (h.seq == 1 && h.len >= 32 && caps & 0x200 != 0 && d[4 + 9..4 + 28].iter().all(|&b| b == 0)).into()
}

/// A whole zlib compressed-protocol frame (or a stored one) whose content
/// starts with a plausible command packet.
pub fn compressed_command(d: &[u8]) -> Probe {
    use std::io::Read;
    if d.len() < 7 + 5 {
        return Probe::NeedMore;
    }
    let comp = u24(d) as usize;
    let uncomp = u24(&d[4..]) as usize;
    if d[3] != 0 || comp == 0 {
        return Probe::No;
    }
    if comp + 7 > d.len() {
        return Probe::NeedMore;
    }
    let body = &d[7..7 + comp];
    if uncomp == 0 {
        return command_header(body);
    }
    let mut out = Vec::new();
    let ok = flate2::read::ZlibDecoder::new(body).take(uncomp.min(1 << 16) as u64).read_to_end(&mut out).is_ok();
    (ok && command_header(&out).yes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mysql::testdata as td;

    fn pkt(seq: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = (payload.len() as u32).to_le_bytes()[..3].to_vec();
        v.push(seq);
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn real_greeting_and_command() {
        let g = pkt(0, td::GREETING);
        assert_eq!(greeting(&g), Probe::Yes);
        assert_eq!(greeting(&g[..6]), Probe::NeedMore);
        assert_eq!(greeting(&pkt(0, td::COM_QUERY)), Probe::No);
        let q = pkt(0, td::COM_QUERY);
        assert_eq!(command(&q), Probe::Yes);
        assert_eq!(command_header(&q[..3]), Probe::NeedMore);
        assert_eq!(command(&pkt(1, td::COM_QUERY)), Probe::No);
        assert_eq!(command(b"GET / HTTP/1.1\r\n"), Probe::No);
        assert!(!compressed_command(&q).yes());
    }

    #[test]
    fn login_requests() {
        assert_eq!(login_request(&pkt(1, td::LOGIN)), Probe::Yes);
        assert_eq!(login_request(&pkt(2, td::LOGIN)), Probe::No);
        assert_eq!(login_request(&pkt(1, &td::LOGIN[..20])), Probe::NeedMore);
        assert_eq!(login_request(b"GET /health HTTP/1.1\r\nHost: localhost:3306\r\n\r\n"), Probe::No);
    }
}
