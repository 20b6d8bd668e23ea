//! Primitive wire types: length-encoded integers and strings, NUL strings.
//! All parsers are `nom::*::complete`: short input inside a payload is malformed.

use nom::bytes::complete::{take, take_until};
use nom::number::complete::{le_u8, le_u16, le_u24, le_u64};
use nom::{IResult, Parser};

/// A length-encoded integer, or the NULL marker (0xfb) of a text row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LenEnc {
    /// A value.
    Int(u64),
    /// 0xfb: SQL NULL (row context).
    Null,
}

/// Parses a length-encoded integer (0xfc/0xfd/0xfe take 2/3/8 bytes; 0xff is invalid).
pub fn parse_lenenc(i: &[u8]) -> IResult<&[u8], LenEnc> {
    let (i, b) = le_u8(i)?;
    match b {
        0..=0xfa => Ok((i, LenEnc::Int(u64::from(b)))),
        0xfb => Ok((i, LenEnc::Null)),
        0xfc => le_u16.map(|v| LenEnc::Int(u64::from(v))).parse(i),
        0xfd => le_u24.map(|v| LenEnc::Int(u64::from(v))).parse(i),
        0xfe => le_u64.map(LenEnc::Int).parse(i),
        _ => Err(nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Tag))),
    }
}

/// Parses a length-encoded integer that must not be NULL.
pub fn parse_lenenc_int(i: &[u8]) -> IResult<&[u8], u64> {
    match parse_lenenc(i)? {
        (r, LenEnc::Int(v)) => Ok((r, v)),
        (_, LenEnc::Null) => Err(nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Verify))),
    }
}

/// Parses a length-encoded string (length checked against the input before taking).
pub fn parse_lenenc_bytes(i: &[u8]) -> IResult<&[u8], &[u8]> {
    let (r, n) = parse_lenenc_int(i)?;
    let n = usize::try_from(n).map_err(|_| nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::TooLarge)))?;
    take(n).parse(r)
}

/// Parses a NUL-terminated string (without the NUL).
pub fn parse_nul_str(i: &[u8]) -> IResult<&[u8], &[u8]> {
    let (i, s) = take_until(&b"\0"[..]).parse(i)?;
    let (i, _) = take(1usize).parse(i)?;
    Ok((i, s))
}

/// A little-endian `int<3>` at the start of `b` (the packet length of every
/// MySQL and compressed-protocol header); `b` holds at least 3 bytes.
#[inline]
pub fn u24(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], 0])
}

/// The 4-byte header of a MySQL packet: `int<3> payload_length, int<1> sequence_id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketHeader {
    /// Payload length.
    pub len: u32,
    /// Sequence id.
    pub seq: u8,
}

impl PacketHeader {
    /// The header at the start of `b`, if 4 bytes are there.
    #[inline]
    pub fn parse(b: &[u8]) -> Option<PacketHeader> {
        (b.len() >= 4).then(|| PacketHeader { len: u24(b), seq: b[3] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenenc_forms() {
        assert_eq!(parse_lenenc(&[0xfa]), Ok((&[][..], LenEnc::Int(250))));
        assert_eq!(parse_lenenc(&[0xfb]), Ok((&[][..], LenEnc::Null)));
        assert_eq!(parse_lenenc(&[0xfc, 0x01, 0x02]), Ok((&[][..], LenEnc::Int(0x0201))));
        assert_eq!(parse_lenenc(&[0xfd, 1, 2, 3]), Ok((&[][..], LenEnc::Int(0x030201))));
        assert_eq!(parse_lenenc(&[0xfe, 1, 0, 0, 0, 0, 0, 0, 0x80]), Ok((&[][..], LenEnc::Int(0x8000_0000_0000_0001))));
        assert!(parse_lenenc(&[0xff]).is_err());
        assert!(parse_lenenc_int(&[0xfb]).is_err());
        for buf in [&[0xfcu8, 1, 2][..], &[0xfd, 1, 2, 3], &[0xfe, 1, 2, 3, 4, 5, 6, 7, 8]] {
            for n in 0..buf.len() {
                assert!(parse_lenenc(&buf[..n]).is_err(), "truncated to {n}");
            }
        }
    }

    #[test]
    fn hostile_lengths_do_not_panic() {
        assert!(parse_lenenc_bytes(&[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, b'a']).is_err());
        assert_eq!(parse_lenenc_bytes(&[3, b'a', b'b', b'c', b'd']), Ok((&b"d"[..], &b"abc"[..])));
        assert_eq!(parse_nul_str(b"root\0x"), Ok((&b"x"[..], &b"root"[..])));
        assert!(parse_nul_str(b"no-nul").is_err());
    }
}
