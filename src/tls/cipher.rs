//! Record protection: which suites are decrypted, and the per-direction
//! decryptor that opens one record (AEAD tag, or CBC padding and HMAC, checked
//! before any byte is handed on).
//!
//! Ciphers and MACs are RustCrypto's (`aes-gcm`, `chacha20poly1305`, `aes` +
//! `cbc`, `hmac`); what is ours is the TLS framing around them: nonces,
//! additional data, explicit IVs, padding, MAC input (RFC 5246 §6.2.3,
//! RFC 2246 §6.2.3.2, RFC 7366, RFC 7905, RFC 8446 §5.2-5.3).
//!
//! Decryption is buffer to buffer: the ciphertext is read where it lies (the
//! TCP payload when a record fits in one segment) and the plaintext written
//! into a reusable buffer, so a record costs no copy beyond the cipher's own
//! write.

use super::kdf::{self, PrfHash, Tls13Hash};
use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use cbc::cipher::{BlockModeDecrypt, InOutBuf, InnerIvInit};
use chacha20poly1305::ChaCha20Poly1305;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha384};
use std::ops::Range;
use tls_parser::{TlsCipherEnc, TlsCipherEncMode, TlsCipherKx, TlsCipherMac, TlsCipherSuite, TlsPRF};

/// Bulk cipher of a supported suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bulk {
    /// AES-128 in GCM.
    Aes128Gcm,
    /// AES-256 in GCM.
    Aes256Gcm,
    /// ChaCha20-Poly1305.
    ChaCha20Poly1305,
    /// AES-128 in CBC with an HMAC.
    Aes128Cbc,
    /// AES-256 in CBC with an HMAC.
    Aes256Cbc,
}

impl Bulk {
    fn key_len(self) -> usize {
        match self {
            Bulk::Aes128Gcm | Bulk::Aes128Cbc => 16,
            _ => 32,
        }
    }
    /// IV bytes in the TLS <= 1.2 key block.
    fn iv_len(self) -> usize {
        match self {
            Bulk::Aes128Gcm | Bulk::Aes256Gcm => 4,
            Bulk::ChaCha20Poly1305 => 12,
            Bulk::Aes128Cbc | Bulk::Aes256Cbc => 16,
        }
    }
}

/// HMAC of a CBC suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacAlg {
    /// HMAC-SHA1 (20 bytes).
    Sha1,
    /// HMAC-SHA256 (32 bytes).
    Sha256,
    /// HMAC-SHA384 (48 bytes).
    Sha384,
}

impl MacAlg {
    fn len(self) -> usize {
        match self {
            MacAlg::Sha1 => 20,
            MacAlg::Sha256 => 32,
            MacAlg::Sha384 => 48,
        }
    }
}

/// What a supported suite needs for decryption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SuiteParams {
    /// IANA id.
    pub id: u16,
    /// IANA name.
    pub name: &'static str,
    /// A TLS 1.3 suite (HKDF key schedule, AEAD with inner content type).
    pub tls13: bool,
    /// Bulk cipher.
    pub bulk: Bulk,
    /// HMAC for CBC suites.
    pub mac: Option<MacAlg>,
    /// PRF hash in TLS 1.2 (TLS 1.0/1.1 always use MD5+SHA1).
    pub prf12: PrfHash,
    /// HKDF hash in TLS 1.3.
    pub hash13: Tls13Hash,
}

/// The IANA name of a suite id (`0x1301` -> `TLS_AES_128_GCM_SHA256`), or its hex form.
pub fn suite_name(id: u16) -> String {
    TlsCipherSuite::from_id(id).map_or_else(|| format!("0x{id:04x}"), |s| s.name.to_string())
}

/// The decryption parameters of suite `id`, or why it cannot be decrypted.
pub fn suite_params(id: u16) -> Result<SuiteParams, String> {
    let Some(s) = TlsCipherSuite::from_id(id) else { return Err(format!("unknown cipher suite 0x{id:04x}")) };
    let unsupported = || Err(format!("unsupported cipher suite {}", s.name));
    let bulk = match (s.enc, s.enc_mode, s.enc_size) {
        (TlsCipherEnc::Aes, TlsCipherEncMode::Gcm, 128) => Bulk::Aes128Gcm,
        (TlsCipherEnc::Aes, TlsCipherEncMode::Gcm, 256) => Bulk::Aes256Gcm,
        (TlsCipherEnc::Chacha20_Poly1305, _, _) => Bulk::ChaCha20Poly1305,
        (TlsCipherEnc::Aes, TlsCipherEncMode::Cbc, 128) => Bulk::Aes128Cbc,
        (TlsCipherEnc::Aes, TlsCipherEncMode::Cbc, 256) => Bulk::Aes256Cbc,
        _ => return unsupported(),
    };
    let mac = match (bulk, s.mac) {
        (Bulk::Aes128Cbc | Bulk::Aes256Cbc, TlsCipherMac::HmacSha1) => Some(MacAlg::Sha1),
        (Bulk::Aes128Cbc | Bulk::Aes256Cbc, TlsCipherMac::HmacSha256) => Some(MacAlg::Sha256),
        (Bulk::Aes128Cbc | Bulk::Aes256Cbc, TlsCipherMac::HmacSha384) => Some(MacAlg::Sha384),
        (Bulk::Aes128Cbc | Bulk::Aes256Cbc, _) => return unsupported(),
        _ => None,
    };
    let sha384 = s.prf == TlsPRF::Sha384 || s.name.ends_with("_SHA384");
    Ok(SuiteParams {
        id,
        name: s.name,
        tls13: s.kx == TlsCipherKx::Tls13,
        bulk,
        mac,
        prf12: if sha384 { PrfHash::Sha384 } else { PrfHash::Sha256 },
        hash13: if sha384 { Tls13Hash::Sha384 } else { Tls13Hash::Sha256 },
    })
}

enum Aead {
    A128(Box<Aes128Gcm>),
    A256(Box<Aes256Gcm>),
    ChaCha(Box<ChaCha20Poly1305>),
}

impl Aead {
    fn new(bulk: Bulk, key: &[u8]) -> Option<Aead> {
        Some(match bulk {
            Bulk::Aes128Gcm => Aead::A128(Box::new(Aes128Gcm::new_from_slice(key).ok()?)),
            Bulk::Aes256Gcm => Aead::A256(Box::new(Aes256Gcm::new_from_slice(key).ok()?)),
            Bulk::ChaCha20Poly1305 => Aead::ChaCha(Box::new(ChaCha20Poly1305::new_from_slice(key).ok()?)),
            Bulk::Aes128Cbc | Bulk::Aes256Cbc => return None,
        })
    }

    /// Verifies the tag over `buf`'s input and writes the plaintext to its output.
    fn open(&self, nonce: &[u8; 12], aad: &[u8], buf: InOutBuf<'_, '_, u8>, tag: &[u8; 16]) -> bool {
        match self {
            Aead::A128(c) => c.decrypt_inout_detached(&(*nonce).into(), aad, buf, &(*tag).into()).is_ok(),
            Aead::A256(c) => c.decrypt_inout_detached(&(*nonce).into(), aad, buf, &(*tag).into()).is_ok(),
            Aead::ChaCha(c) => c.decrypt_inout_detached(&(*nonce).into(), aad, buf, &(*tag).into()).is_ok(),
        }
    }
}

enum CbcKey {
    A128(Box<aes::Aes128>),
    A256(Box<aes::Aes256>),
}

impl CbcKey {
    fn new(bulk: Bulk, key: &[u8]) -> Option<CbcKey> {
        use aes::cipher::KeyInit as _;
        Some(match bulk {
            Bulk::Aes128Cbc => CbcKey::A128(Box::new(aes::Aes128::new_from_slice(key).ok()?)),
            Bulk::Aes256Cbc => CbcKey::A256(Box::new(aes::Aes256::new_from_slice(key).ok()?)),
            _ => return None,
        })
    }

    /// CBC-decrypts whole blocks (`buf.len()` is a multiple of 16).
    fn decrypt(&self, iv: &[u8; 16], buf: InOutBuf<'_, '_, u8>) {
        let (blocks, _) = buf.into_chunks();
        match self {
            CbcKey::A128(k) => cbc::Decryptor::<aes::Aes128>::inner_iv_init((**k).clone(), &(*iv).into()).decrypt_blocks_inout(blocks),
            CbcKey::A256(k) => cbc::Decryptor::<aes::Aes256>::inner_iv_init((**k).clone(), &(*iv).into()).decrypt_blocks_inout(blocks),
        }
    }
}

enum MacKey {
    Sha1(Box<Hmac<Sha1>>),
    Sha256(Box<Hmac<Sha256>>),
    Sha384(Box<Hmac<Sha384>>),
}

impl MacKey {
    fn new(alg: MacAlg, key: &[u8]) -> Option<MacKey> {
        use hmac::KeyInit as _;
        Some(match alg {
            MacAlg::Sha1 => MacKey::Sha1(Box::new(Hmac::new_from_slice(key).ok()?)),
            MacAlg::Sha256 => MacKey::Sha256(Box::new(Hmac::new_from_slice(key).ok()?)),
            MacAlg::Sha384 => MacKey::Sha384(Box::new(Hmac::new_from_slice(key).ok()?)),
        })
    }

    fn len(&self) -> usize {
        match self {
            MacKey::Sha1(_) => 20,
            MacKey::Sha256(_) => 32,
            MacKey::Sha384(_) => 48,
        }
    }

    /// HMAC over `head || body` equals `tag`.
    fn verify(&self, head: &[u8], body: &[u8], tag: &[u8]) -> bool {
        fn run<M: Mac + Clone>(m: &M, head: &[u8], body: &[u8], tag: &[u8]) -> bool {
            let mut m = m.clone();
            m.update(head);
            m.update(body);
            m.verify_slice(tag).is_ok()
        }
        match self {
            MacKey::Sha1(m) => run(&**m, head, body, tag),
            MacKey::Sha256(m) => run(&**m, head, body, tag),
            MacKey::Sha384(m) => run(&**m, head, body, tag),
        }
    }
}

/// Why a record did not open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenError {
    /// Too short for the suite's overhead, or not a whole number of blocks.
    Malformed,
    /// AEAD tag mismatch.
    Tag,
    /// CBC padding bytes wrong.
    Padding,
    /// CBC suite: HMAC mismatch.
    Mac,
}

/// One direction's record protection (a key, and the state the suite keeps between records).
pub struct Decryptor {
    kind: Kind,
}

enum Kind {
    Tls13 { aead: Aead, iv: [u8; 12], bulk: Bulk, hash: Tls13Hash, secret: Vec<u8> },
    Gcm12 { aead: Aead, salt: [u8; 4] },
    ChaCha12 { aead: Aead, iv: [u8; 12] },
    Cbc { key: CbcKey, mac: MacKey, etm: bool, explicit_iv: bool, chain: [u8; 16] },
}

fn xor_seq(iv: &[u8; 12], seq: u64) -> [u8; 12] {
    let mut n = *iv;
    for (a, b) in n[4..].iter_mut().zip(seq.to_be_bytes()) {
        *a ^= b;
    }
    n
}

/// seq_num || type || version || length: the additional data / MAC header of TLS <= 1.2.
fn head12(seq: u64, rtype: u8, version: u16, len: usize) -> [u8; 13] {
    let mut h = [0u8; 13];
    h[..8].copy_from_slice(&seq.to_be_bytes());
    h[8] = rtype;
    h[9..11].copy_from_slice(&version.to_be_bytes());
    h[11..13].copy_from_slice(&(len as u16).to_be_bytes());
    h
}

fn arr<const N: usize>(s: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&s[..N]);
    a
}

/// Checks TLS CBC padding at the end of `plain`; returns the length before it.
fn unpad(plain: &[u8]) -> Option<usize> {
    let p = *plain.last()? as usize;
    let start = plain.len().checked_sub(p + 1)?;
    plain[start..plain.len() - 1].iter().all(|&b| b as usize == p).then_some(start)
}

impl Decryptor {
    /// A TLS 1.3 decryptor from a traffic secret.
    pub fn tls13(params: &SuiteParams, secret: &[u8]) -> Option<Decryptor> {
        let mut key = [0u8; 32];
        let key = &mut key[..params.bulk.key_len()];
        let iv = kdf::tls13_traffic_key_iv(params.hash13, secret, key)?;
        let aead = Aead::new(params.bulk, key)?;
        Some(Decryptor { kind: Kind::Tls13 { aead, iv, bulk: params.bulk, hash: params.hash13, secret: secret.to_vec() } })
    }

    /// A TLS <= 1.2 decryptor for one direction from the master secret.
    /// `client` picks the client's write keys; `etm` is encrypt-then-MAC (CBC only).
    pub fn tls12(
        params: &SuiteParams,
        version: u16,
        etm: bool,
        master: &[u8; 48],
        cr: &[u8; 32],
        sr: &[u8; 32],
        client: bool,
    ) -> Option<Decryptor> {
        let prf = if version >= 0x0303 { params.prf12 } else { PrfHash::Md5Sha1 };
        let (m, k, i) = (params.mac.map_or(0, MacAlg::len), params.bulk.key_len(), params.bulk.iv_len());
        let mut kb = [0u8; 2 * (48 + 32 + 16)];
        let kb = &mut kb[..2 * (m + k + i)];
        kdf::key_block(prf, master, cr, sr, kb);
        let pick = |off: usize, len: usize| if client { &kb[off..off + len] } else { &kb[off + len..off + 2 * len] };
        let (mac_key, key, iv) = (pick(0, m), pick(2 * m, k), pick(2 * m + 2 * k, i));
        let kind = match params.bulk {
            Bulk::Aes128Gcm | Bulk::Aes256Gcm => Kind::Gcm12 { aead: Aead::new(params.bulk, key)?, salt: arr(iv) },
            Bulk::ChaCha20Poly1305 => Kind::ChaCha12 { aead: Aead::new(params.bulk, key)?, iv: arr(iv) },
            Bulk::Aes128Cbc | Bulk::Aes256Cbc => Kind::Cbc {
                key: CbcKey::new(params.bulk, key)?,
                mac: MacKey::new(params.mac?, mac_key)?,
                etm,
                explicit_iv: version >= 0x0302,
                chain: arr(iv),
            },
        };
        Some(Decryptor { kind })
    }

    /// TLS 1.3 KeyUpdate: moves to the next traffic secret. False for other versions.
    pub fn key_update(&mut self) -> bool {
        let Kind::Tls13 { hash, secret, bulk, .. } = &self.kind else { return false };
        let (hash, bulk) = (*hash, *bulk);
        let Some(next) = kdf::tls13_next_secret(hash, secret) else { return false };
        let params = SuiteParams { id: 0, name: "", tls13: true, bulk, mac: None, prf12: PrfHash::Sha256, hash13: hash };
        match Decryptor::tls13(&params, &next) {
            Some(d) => {
                *self = d;
                true
            }
            None => false,
        }
    }

    /// TLS 1.0 CBC: the IV the next record will use (the last ciphertext block).
    pub fn chain_iv(&self) -> Option<[u8; 16]> {
        match &self.kind {
            Kind::Cbc { explicit_iv: false, chain, .. } => Some(*chain),
            _ => None,
        }
    }

    /// TLS 1.0 CBC: sets the chained IV (after records were skipped or lost).
    pub fn set_chain_iv(&mut self, iv: [u8; 16]) {
        if let Kind::Cbc { explicit_iv: false, chain, .. } = &mut self.kind {
            *chain = iv;
        }
    }

    /// True for TLS 1.0 CBC, whose IV is the previous record's last block.
    pub fn chained(&self) -> bool {
        self.chain_iv().is_some()
    }

    /// For TLS 1.2 AES-GCM: the explicit nonce as a number (most stacks send the sequence number).
    pub fn explicit_nonce(&self, body: &[u8]) -> Option<u64> {
        match &self.kind {
            Kind::Gcm12 { .. } if body.len() >= 8 => Some(u64::from_be_bytes(arr(body))),
            _ => None,
        }
    }

    /// Opens record `seq` (`rtype`, `version` from its header; `body` is the
    /// fragment). The plaintext goes to `out` (at least `body.len()` bytes);
    /// returns the content type and where the plaintext is in `out`.
    pub fn open(&mut self, seq: u64, rtype: u8, version: u16, body: &[u8], out: &mut [u8]) -> Result<(u8, Range<usize>), OpenError> {
        let n = body.len();
        if out.len() < n {
            return Err(OpenError::Malformed);
        }
        let out = &mut out[..n];
        match &mut self.kind {
            Kind::Tls13 { aead, iv, .. } => {
                if n < 17 {
                    return Err(OpenError::Malformed);
                }
                let mut aad = [rtype, 0, 0, 0, 0];
                aad[1..3].copy_from_slice(&version.to_be_bytes());
                aad[3..5].copy_from_slice(&(n as u16).to_be_bytes());
                let (ct, tag) = body.split_at(n - 16);
                let buf = InOutBuf::new(ct, &mut out[..n - 16]).map_err(|_| OpenError::Malformed)?;
                if !aead.open(&xor_seq(iv, seq), &aad, buf, &arr(tag)) {
                    return Err(OpenError::Tag);
                }
                // TLSInnerPlaintext: content || type || zeros
                let inner = &out[..n - 16];
                let end = inner.iter().rposition(|&b| b != 0).ok_or(OpenError::Malformed)?;
                Ok((inner[end], 0..end))
            }
            Kind::Gcm12 { aead, salt } => {
                if n < 24 {
                    return Err(OpenError::Malformed);
                }
                let plain_len = n - 24;
                let mut nonce = [0u8; 12];
                nonce[..4].copy_from_slice(salt);
                nonce[4..].copy_from_slice(&body[..8]);
                let aad = head12(seq, rtype, version, plain_len);
                let buf = InOutBuf::new(&body[8..n - 16], &mut out[8..n - 16]).map_err(|_| OpenError::Malformed)?;
                if !aead.open(&nonce, &aad, buf, &arr(&body[n - 16..])) {
                    return Err(OpenError::Tag);
                }
                Ok((rtype, 8..n - 16))
            }
            Kind::ChaCha12 { aead, iv } => {
                if n < 16 {
                    return Err(OpenError::Malformed);
                }
                let aad = head12(seq, rtype, version, n - 16);
                let buf = InOutBuf::new(&body[..n - 16], &mut out[..n - 16]).map_err(|_| OpenError::Malformed)?;
                if !aead.open(&xor_seq(iv, seq), &aad, buf, &arr(&body[n - 16..])) {
                    return Err(OpenError::Tag);
                }
                Ok((rtype, 0..n - 16))
            }
            Kind::Cbc { key, mac, etm, explicit_iv, chain } => {
                let ml = mac.len();
                let ivl = if *explicit_iv { 16 } else { 0 };
                // [IV] ciphertext [MAC if encrypt-then-MAC]
                let ct_end = if *etm { n.checked_sub(ml).ok_or(OpenError::Malformed)? } else { n };
                let ct_len = ct_end.checked_sub(ivl).ok_or(OpenError::Malformed)?;
                if ct_len == 0 || ct_len % 16 != 0 || (!*etm && ct_len < ml + 1) {
                    return Err(OpenError::Malformed);
                }
                if *etm && !mac.verify(&head12(seq, rtype, version, ct_end), &body[..ct_end], &body[ct_end..]) {
                    return Err(OpenError::Mac);
                }
                let iv: [u8; 16] = if *explicit_iv { arr(body) } else { *chain };
                if !*explicit_iv {
                    *chain = arr(&body[ct_end - 16..ct_end]);
                }
                let buf = InOutBuf::new(&body[ivl..ct_end], &mut out[ivl..ct_end]).map_err(|_| OpenError::Malformed)?;
                key.decrypt(&iv, buf);
                let plain = &out[ivl..ct_end];
                let unpadded = unpad(plain).ok_or(OpenError::Padding)?;
                if *etm {
                    return Ok((rtype, ivl..ivl + unpadded));
                }
                let content = unpadded.checked_sub(ml).ok_or(OpenError::Padding)?;
                if !mac.verify(&head12(seq, rtype, version, content), &plain[..content], &plain[content..unpadded]) {
                    return Err(OpenError::Mac);
                }
                Ok((rtype, ivl..ivl + content))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::kdf::unhex;

    fn p13() -> SuiteParams {
        suite_params(0x1301).unwrap()
    }

    #[test]
    fn suite_table() {
        let p = suite_params(0xc02f).unwrap();
        assert_eq!((p.name, p.bulk, p.tls13, p.prf12), ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", Bulk::Aes128Gcm, false, PrfHash::Sha256));
        let p = suite_params(0xc030).unwrap();
        assert_eq!((p.bulk, p.prf12), (Bulk::Aes256Gcm, PrfHash::Sha384));
        let p = suite_params(0x1302).unwrap();
        assert_eq!((p.bulk, p.tls13, p.hash13), (Bulk::Aes256Gcm, true, Tls13Hash::Sha384));
        assert_eq!(suite_params(0x1303).unwrap().bulk, Bulk::ChaCha20Poly1305);
        let p = suite_params(0x0039).unwrap(); // TLS_DHE_RSA_WITH_AES_256_CBC_SHA
        assert_eq!((p.bulk, p.mac), (Bulk::Aes256Cbc, Some(MacAlg::Sha1)));
        assert_eq!(suite_params(0x003d).unwrap().mac, Some(MacAlg::Sha256)); // TLS_RSA_WITH_AES_256_CBC_SHA256
        assert!(suite_params(0x000a).unwrap_err().contains("TLS_RSA_WITH_3DES_EDE_CBC_SHA"));
        assert!(suite_params(0x1304).unwrap_err().contains("CCM"));
        assert_eq!(suite_params(0xfefe).unwrap_err(), "unknown cipher suite 0xfefe");
    }

    // RFC 8448 §3: "{client} send application_data record" (client application
    // traffic secret, sequence 0: the bytes 00..31) and the client's close_notify
    // alert (sequence 1); the server's application_data record is its second
    // record under the application keys (sequence 1, after NewSessionTicket).
    const CLIENT_APP: &str = "1703030043a23f7054b62c94d0affafe8228ba55cbefacea42f914aa66bcab3f2b9819a8a5b46b395bd54a9a20441e2b62974e1f5a6292a2977014bd1e3deae63aeebb21694915e4";
    const CLIENT_ALERT: &str = "1703030013c9872760655666b74d7ff1153efd6db6d0b0e3";
    const SERVER_APP: &str = "17030300432e937e11ef4ac740e538ad36005fc4a46932fc3225d05f82aa1b36e30efaf97d90e6dffc602dcb501a59a8fcc49c4bf2e5f0a21c0047c2abf332540dd032e167c2955d";
    const CLIENT_APP_SECRET: &str = "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5";
    const SERVER_APP_SECRET: &str = "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643";

    #[test]
    fn rfc8448_records_decrypt() {
        let mut out = [0u8; 128];
        let mut c = Decryptor::tls13(&p13(), &unhex(CLIENT_APP_SECRET)).unwrap();
        let rec = unhex(CLIENT_APP);
        let (t, r) = c.open(0, rec[0], 0x0303, &rec[5..], &mut out).unwrap();
        assert_eq!(t, 23);
        assert_eq!(out[r], (0u8..=0x31).collect::<Vec<_>>()[..]);
        let rec = unhex(CLIENT_ALERT);
        let (t, r) = c.open(1, rec[0], 0x0303, &rec[5..], &mut out).unwrap();
        assert_eq!((t, &out[r]), (21, &[1u8, 0][..]));
        let mut s = Decryptor::tls13(&p13(), &unhex(SERVER_APP_SECRET)).unwrap();
        let rec = unhex(SERVER_APP);
        let (t, r) = s.open(1, 23, 0x0303, &rec[5..], &mut out).unwrap();
        assert_eq!((t, r.len(), out[r.end - 1]), (23, 50, 0x31));
    }

    #[test]
    fn rfc8448_wrong_seq_key_or_byte_fails_authentication() {
        let mut out = [0u8; 128];
        let rec = unhex(CLIENT_APP);
        let mut c = Decryptor::tls13(&p13(), &unhex(CLIENT_APP_SECRET)).unwrap();
        assert_eq!(c.open(1, 23, 0x0303, &rec[5..], &mut out).unwrap_err(), OpenError::Tag);
        let mut s = Decryptor::tls13(&p13(), &unhex(SERVER_APP_SECRET)).unwrap();
        assert_eq!(s.open(0, 23, 0x0303, &rec[5..], &mut out).unwrap_err(), OpenError::Tag);
        for i in 5..rec.len() {
            let mut bad = rec.clone();
            bad[i] ^= 0x80;
            assert_eq!(c.open(0, 23, 0x0303, &bad[5..], &mut out).unwrap_err(), OpenError::Tag, "flip at {i}");
        }
        // the header is authenticated too
        assert_eq!(c.open(0, 23, 0x0301, &rec[5..], &mut out).unwrap_err(), OpenError::Tag);
        for cut in 0..17 {
            assert_eq!(c.open(0, 23, 0x0303, &rec[5..5 + cut], &mut out).unwrap_err(), OpenError::Malformed);
        }
        // after a KeyUpdate the old record no longer opens
        assert!(c.key_update());
        assert_eq!(c.open(0, 23, 0x0303, &rec[5..], &mut out).unwrap_err(), OpenError::Tag);
    }

    #[test]
    fn unpad_checks_every_padding_byte() {
        assert_eq!(unpad(&[9, 9, 2, 2, 2]), Some(2));
        assert_eq!(unpad(&[9, 0]), Some(1));
        assert_eq!(unpad(&[9, 1, 2, 2]), None);
        assert_eq!(unpad(&[3, 3]), None);
        assert_eq!(unpad(&[]), None);
    }
}
