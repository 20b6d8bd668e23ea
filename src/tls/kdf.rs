//! Key derivation: the TLS 1.0/1.1 PRF (RFC 2246 §5: P_MD5 xor P_SHA1), the
//! TLS 1.2 PRF (RFC 5246 §5: P_SHA256 or P_SHA384), the TLS 1.2 key block
//! (RFC 5246 §6.3) and TLS 1.3's HKDF-Expand-Label (RFC 8446 §7.1, §7.3).
//!
//! Only the composition is ours; HMAC, the hashes and HKDF-Expand come from
//! RustCrypto (`hmac`, `md-5`, `sha1`, `sha2`, `hkdf`).

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use sha1::Sha1;
use sha2::{Sha256, Sha384};

/// The hash under a TLS <= 1.2 PRF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrfHash {
    /// TLS 1.0 and 1.1: P_MD5 over the first half of the secret xor P_SHA1 over the second.
    Md5Sha1,
    /// TLS 1.2 default.
    Sha256,
    /// TLS 1.2 suites named `_SHA384`.
    Sha384,
}

/// The hash of a TLS 1.3 suite (HKDF and the transcript).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tls13Hash {
    /// TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256.
    Sha256,
    /// TLS_AES_256_GCM_SHA384.
    Sha384,
}

impl Tls13Hash {
    /// Output length in bytes (the length of a traffic secret).
    pub fn output_len(self) -> usize {
        match self {
            Tls13Hash::Sha256 => 32,
            Tls13Hash::Sha384 => 48,
        }
    }
}

/// P_hash (RFC 5246 §5) of `secret` over `label || seed`, xored into `out`.
fn p_hash_xor<M: Mac + KeyInit + Clone>(secret: &[u8], label: &[u8], seed: &[u8], out: &mut [u8]) {
    // HMAC accepts keys of any length; the error arm is unreachable but kept panic-free.
    let Ok(key) = <M as KeyInit>::new_from_slice(secret) else { return };
    // A(1) = HMAC(secret, label || seed)
    let mut m = key.clone();
    m.update(label);
    m.update(seed);
    let mut a = m.finalize().into_bytes();
    let mut pos = 0;
    while pos < out.len() {
        let mut m = key.clone();
        m.update(&a);
        m.update(label);
        m.update(seed);
        let block = m.finalize().into_bytes();
        for (o, b) in out[pos..].iter_mut().zip(block.iter()) {
            *o ^= b;
        }
        pos += block.len();
        let mut m = key.clone();
        m.update(&a);
        a = m.finalize().into_bytes();
    }
}

/// PRF(secret, label, seed) filling `out` (RFC 2246 §5 for `Md5Sha1`, RFC 5246 §5 otherwise).
pub fn prf(hash: PrfHash, secret: &[u8], label: &[u8], seed: &[u8], out: &mut [u8]) {
    out.fill(0);
    match hash {
        PrfHash::Md5Sha1 => {
            // S1 and S2 are the two halves of the secret, sharing the middle byte when its length is odd.
            let half = secret.len().div_ceil(2);
            p_hash_xor::<Hmac<Md5>>(&secret[..half], label, seed, out);
            p_hash_xor::<Hmac<Sha1>>(&secret[secret.len() - half..], label, seed, out);
        }
        PrfHash::Sha256 => p_hash_xor::<Hmac<Sha256>>(secret, label, seed, out),
        PrfHash::Sha384 => p_hash_xor::<Hmac<Sha384>>(secret, label, seed, out),
    }
}

/// The TLS <= 1.2 key block: PRF(master, "key expansion", server_random || client_random).
/// It is sliced as client MAC key, server MAC key, client key, server key, client IV, server IV.
pub fn key_block(hash: PrfHash, master: &[u8], client_random: &[u8; 32], server_random: &[u8; 32], out: &mut [u8]) {
    let mut seed = [0u8; 64];
    seed[..32].copy_from_slice(server_random);
    seed[32..].copy_from_slice(client_random);
    prf(hash, master, b"key expansion", &seed, out);
}

/// HKDF-Expand-Label(secret, label, context, out.len()) (RFC 8446 §7.1). `None` when
/// the secret is shorter than the hash or `out` is longer than HKDF can give.
pub fn hkdf_expand_label(hash: Tls13Hash, secret: &[u8], label: &[u8], context: &[u8], out: &mut [u8]) -> Option<()> {
    // struct { uint16 length; opaque label<7..255> = "tls13 " + label; opaque context<0..255>; } HkdfLabel
    let full = 6 + label.len();
    if full > 255 || context.len() > 255 || out.len() > u16::MAX as usize {
        return None;
    }
    let mut info = Vec::with_capacity(4 + full + context.len());
    info.extend_from_slice(&(out.len() as u16).to_be_bytes());
    info.push(full as u8);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label);
    info.push(context.len() as u8);
    info.extend_from_slice(context);
    match hash {
        Tls13Hash::Sha256 => hkdf::Hkdf::<Sha256>::from_prk(secret).ok()?.expand(&info, out).ok(),
        Tls13Hash::Sha384 => hkdf::Hkdf::<Sha384>::from_prk(secret).ok()?.expand(&info, out).ok(),
    }
}

/// A TLS 1.3 traffic secret's write key and IV (RFC 8446 §7.3): `key` is filled
/// to its length, the IV is always 12 bytes.
pub fn tls13_traffic_key_iv(hash: Tls13Hash, secret: &[u8], key: &mut [u8]) -> Option<[u8; 12]> {
    let mut iv = [0u8; 12];
    hkdf_expand_label(hash, secret, b"key", b"", key)?;
    hkdf_expand_label(hash, secret, b"iv", b"", &mut iv)?;
    Some(iv)
}

/// The next traffic secret after a KeyUpdate (RFC 8446 §7.2):
/// HKDF-Expand-Label(secret, "traffic upd", "", Hash.length).
pub fn tls13_next_secret(hash: Tls13Hash, secret: &[u8]) -> Option<Vec<u8>> {
    let mut next = vec![0u8; hash.output_len()];
    hkdf_expand_label(hash, secret, b"traffic upd", b"", &mut next)?;
    Some(next)
}

#[cfg(test)]
pub(crate) fn unhex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
    s.chunks(2).map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // TLS 1.2 PRF vectors posted to the IETF TLS working group list
    // (mail-archive/web/tls/current/msg03416.html), as also used by BearSSL's
    // test_crypto.c and many TLS stacks: P_SHA256 with a 16-byte secret, 100 bytes out.
    #[test]
    fn tls12_prf_sha256_vector() {
        let mut out = [0u8; 100];
        prf(
            PrfHash::Sha256,
            &unhex("9bbe436ba940f017b17652849a71db35"),
            b"test label",
            &unhex("a0ba9f936cda311827a6f796ffd5198c"),
            &mut out,
        );
        let want = unhex(
            "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af\
             0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701\
             87347b66",
        );
        assert_eq!(out[..], want[..]);
    }

    // Same source: P_SHA384, 148 bytes out.
    #[test]
    fn tls12_prf_sha384_vector() {
        let mut out = [0u8; 148];
        prf(
            PrfHash::Sha384,
            &unhex("b80b733d6ceefcdc71566ea48e5567df"),
            b"test label",
            &unhex("cd665cf6a8447dd6ff8b27555edb7465"),
            &mut out,
        );
        let want = unhex(
            "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cde9ca0faa60be9fe34f82b1233c9146a0\
             e534cb400fed2700884f9dc236f80edd8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d918425\
             9b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee691c8f3a26854308d5eaa3be85e099070\
             3d73e56f",
        );
        assert_eq!(out[..], want[..]);
    }

    // TLS 1.0/1.1 PRF (MD5 xor SHA1) known answer as published in BearSSL's
    // test_crypto.c (secret 48 x 0xAB, label "PRF Testvector", seed 64 x 0xCD, 104 bytes out).
    #[test]
    fn tls10_prf_md5_sha1_vector() {
        let mut out = [0u8; 104];
        prf(PrfHash::Md5Sha1, &[0xab; 48], b"PRF Testvector", &[0xcd; 64], &mut out);
        let want = unhex(
            "d3d4d1e349b5d515044666d51de32bab258cb521b6b053463e354832fd976754443bcf9a296519bc289abcbc1187e4eb\
             d31e602353776c408aafb74cbc85eff69255f9788faa184cbb957a9819d84a5d7eb006eb459d3ae8de9810454b8b2d8f\
             1afbc655a8c9a013",
        );
        assert_eq!(out[..], want[..]);
    }

    /// RFC 8448 §3 (simple 1-RTT, TLS_AES_128_GCM_SHA256): traffic secrets and the
    /// write keys and IVs the RFC derives from them.
    pub(crate) const RFC8448: [(&str, &str, &str); 4] = [
        // (secret, key, iv)
        (
            "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21",
            "dbfaa693d1762c5b666af5d950258d01",
            "5bd3c71b836e0b76bb73265f",
        ),
        (
            "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38",
            "3fce516009c21727d0f2e4e86ee403bc",
            "5d313eb2671276ee13000b30",
        ),
        (
            "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5",
            "17422dda596ed5d9acd890e3c63f5051",
            "5b78923dee08579033e523d9",
        ),
        (
            "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643",
            "9f02283b6c9c07efc26bb9f2ac92e356",
            "cf782b88dd83549aadf1e984",
        ),
    ];

    #[test]
    fn rfc8448_traffic_keys_and_ivs() {
        for (secret, key, iv) in RFC8448 {
            let mut k = [0u8; 16];
            let got_iv = tls13_traffic_key_iv(Tls13Hash::Sha256, &unhex(secret), &mut k).unwrap();
            assert_eq!(k[..], unhex(key)[..], "key from {secret}");
            assert_eq!(got_iv[..], unhex(iv)[..], "iv from {secret}");
        }
    }

    #[test]
    fn hkdf_rejects_short_secret_and_huge_output() {
        let mut k = [0u8; 16];
        assert!(tls13_traffic_key_iv(Tls13Hash::Sha256, &[1; 8], &mut k).is_none());
        let mut big = vec![0u8; 255 * 32 + 1];
        assert!(hkdf_expand_label(Tls13Hash::Sha256, &[1; 32], b"key", b"", &mut big).is_none());
        assert_eq!(tls13_next_secret(Tls13Hash::Sha384, &[7; 48]).map(|s| s.len()), Some(48));
    }
}
