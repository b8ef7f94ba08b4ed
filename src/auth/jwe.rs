//! Compact JWE decoding for the two token shapes the libraries produce:
//! `dir` + `A256GCM` (NextAuth v4, optional in Auth.js v5) and `dir` + `A256CBC-HS512` (Auth.js v5).
//!
//! Only parsing and decryption live here; which key to use is decided by the caller
//! ([`super::SessionVerifier`]) from the parsed header. All input is untrusted: no indexing that
//! can go out of bounds, no `unwrap` on input-derived data.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cbc::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
use hmac::{Hmac, Mac};
use sha2::Sha512;

use super::AuthError;

/// Longest token (after chunk reassembly) we attempt to decode.
pub const MAX_TOKEN_LEN: usize = 64 * 1024;

/// Content-encryption algorithms we decrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enc {
    A256Gcm,
    A256CbcHs512,
}

/// The parsed, not yet authenticated, parts of a compact JWE.
#[derive(Debug)]
pub struct Compact<'a> {
    /// The header segment as sent: its ASCII is the AAD.
    pub header_b64: &'a str,
    pub enc: Enc,
    pub kid: Option<String>,
    pub iv: Vec<u8>,
    pub ciphertext: Vec<u8>,
    pub tag: Vec<u8>,
}

fn invalid(reason: &'static str) -> AuthError {
    AuthError::InvalidToken(reason)
}

/// Strict base64url: URL-safe alphabet, no padding, canonical trailing bits. Anything else
/// (whitespace, `+`/`/`, `=`, stray characters) is rejected.
pub fn b64url_decode(segment: &str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD
        .decode(segment.as_bytes())
        .map_err(|_| invalid("invalid base64url"))
}

/// Split a compact JWE and check its framing and protected header.
///
/// Accepts only `alg` = `dir`, `enc` ∈ {`A256GCM`, `A256CBC-HS512`}, no `zip` (compression is
/// refused: `encode` never sets it and inflating attacker-sized data is a hazard), no `crit`,
/// an empty encrypted-key part, and IV/tag lengths matching `enc`. Which `enc` values are
/// acceptable for a given cookie family is the caller's decision.
pub fn parse(token: &str) -> Result<Compact<'_>, AuthError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(invalid("token too long"));
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(encrypted_key), Some(iv_b64), Some(ct_b64), Some(tag_b64), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(invalid("not a compact JWE"));
    };

    let header_bytes = b64url_decode(header_b64)?;
    let header: serde_json::Value =
        serde_json::from_slice(&header_bytes).map_err(|_| invalid("header is not JSON"))?;
    let header = header
        .as_object()
        .ok_or_else(|| invalid("header is not a JSON object"))?;
    if header.get("alg").and_then(|v| v.as_str()) != Some("dir") {
        return Err(invalid("unsupported alg"));
    }
    let enc = match header.get("enc").and_then(|v| v.as_str()) {
        Some("A256GCM") => Enc::A256Gcm,
        Some("A256CBC-HS512") => Enc::A256CbcHs512,
        _ => return Err(invalid("unsupported enc")),
    };
    if header.contains_key("zip") {
        return Err(invalid("compressed tokens are not accepted"));
    }
    if header.contains_key("crit") {
        return Err(invalid("crit header is not supported"));
    }
    let kid = match header.get("kid") {
        None => None,
        Some(serde_json::Value::String(k)) => Some(k.clone()),
        Some(_) => return Err(invalid("kid is not a string")),
    };
    if !encrypted_key.is_empty() {
        return Err(invalid("unexpected encrypted key"));
    }

    let iv = b64url_decode(iv_b64)?;
    let ciphertext = b64url_decode(ct_b64)?;
    let tag = b64url_decode(tag_b64)?;
    let (iv_len, tag_len) = match enc {
        Enc::A256Gcm => (12, 16),
        Enc::A256CbcHs512 => (16, 32),
    };
    if iv.len() != iv_len {
        return Err(invalid("invalid IV length"));
    }
    if tag.len() != tag_len {
        return Err(invalid("invalid tag length"));
    }
    Ok(Compact {
        header_b64,
        enc,
        kid,
        iv,
        ciphertext,
        tag,
    })
}

/// AES-256-GCM decryption (tag checked in constant time by `aes-gcm`).
pub fn decrypt_gcm(key: &[u8; 32], jwe: &Compact<'_>) -> Result<Vec<u8>, AuthError> {
    if jwe.iv.len() != 12 || jwe.tag.len() != 16 {
        return Err(invalid("invalid IV or tag length"));
    }
    let cipher = Aes256Gcm::new(key.into());
    let mut buf = jwe.ciphertext.clone();
    cipher
        .decrypt_in_place_detached(
            Nonce::from_slice(&jwe.iv),
            jwe.header_b64.as_bytes(),
            &mut buf,
            Tag::from_slice(&jwe.tag),
        )
        .map_err(|_| invalid("decryption failed"))?;
    Ok(buf)
}

type HmacSha512 = Hmac<Sha512>;
type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;

/// A256CBC-HS512 (RFC 7518 §5.2.5): MAC key = first 32 bytes, AES key = last 32;
/// tag = first 32 bytes of HMAC-SHA-512(AAD ‖ IV ‖ ciphertext ‖ AL), compared in constant time
/// before any decryption.
pub fn decrypt_cbc_hs512(key: &[u8; 64], jwe: &Compact<'_>) -> Result<Vec<u8>, AuthError> {
    if jwe.iv.len() != 16 || jwe.tag.len() != 32 {
        return Err(invalid("invalid IV or tag length"));
    }
    let (mac_key, enc_key) = key.split_at(32);
    let aad = jwe.header_b64.as_bytes();
    let al = (aad.len() as u64).wrapping_mul(8).to_be_bytes();
    let mut mac = <HmacSha512 as Mac>::new_from_slice(mac_key)
        .map_err(|_| invalid("invalid MAC key length"))?;
    mac.update(aad);
    mac.update(&jwe.iv);
    mac.update(&jwe.ciphertext);
    mac.update(&al);
    mac.verify_truncated_left(&jwe.tag)
        .map_err(|_| invalid("decryption failed"))?;

    if jwe.ciphertext.is_empty() || jwe.ciphertext.len() % 16 != 0 {
        return Err(invalid("decryption failed"));
    }
    let dec = Aes256CbcDec::new_from_slices(enc_key, &jwe.iv)
        .map_err(|_| invalid("invalid key or IV length"))?;
    let mut buf = jwe.ciphertext.clone();
    let plain_len = dec
        .decrypt_padded_mut::<Pkcs7>(&mut buf)
        .map_err(|_| invalid("decryption failed"))?
        .len();
    buf.truncate(plain_len);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_is_strict() {
        assert_eq!(b64url_decode("").unwrap(), Vec::<u8>::new());
        assert_eq!(b64url_decode("AQID").unwrap(), vec![1, 2, 3]);
        assert_eq!(b64url_decode("_-8").unwrap(), vec![0xff, 0xef]);
        // Padding, standard alphabet, whitespace, junk: rejected.
        assert!(b64url_decode("AQI=").is_err());
        assert!(b64url_decode("+/8").is_err());
        assert!(b64url_decode("AQ ID").is_err());
        assert!(b64url_decode("AQ!ID").is_err());
        assert!(b64url_decode("A").is_err());
        // Non-canonical trailing bits ("AQJ" decodes to the same bytes as "AQI" leniently).
        assert_eq!(b64url_decode("AQI").unwrap(), vec![1, 2]);
        assert!(b64url_decode("AQJ").is_err());
    }

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn token(header: &str, ek: &str, iv_len: usize, tag_len: usize) -> String {
        format!(
            "{}.{}.{}.{}.{}",
            b64(header),
            ek,
            URL_SAFE_NO_PAD.encode(vec![0u8; iv_len]),
            URL_SAFE_NO_PAD.encode([1u8; 16]),
            URL_SAFE_NO_PAD.encode(vec![0u8; tag_len]),
        )
    }

    fn reason(r: Result<Compact<'_>, AuthError>) -> &'static str {
        match r {
            Err(AuthError::InvalidToken(r)) => r,
            other => panic!("expected InvalidToken, got {other:?}"),
        }
    }

    #[test]
    fn parse_accepts_both_shapes() {
        let t = token(r#"{"alg":"dir","enc":"A256GCM"}"#, "", 12, 16);
        let c = parse(&t).unwrap();
        assert_eq!(c.enc, Enc::A256Gcm);
        assert_eq!(c.kid, None);
        let t = token(
            r#"{"alg":"dir","enc":"A256CBC-HS512","kid":"k"}"#,
            "",
            16,
            32,
        );
        let c = parse(&t).unwrap();
        assert_eq!(c.enc, Enc::A256CbcHs512);
        assert_eq!(c.kid.as_deref(), Some("k"));
    }

    #[test]
    fn parse_rejects_bad_framing_and_headers() {
        assert_eq!(reason(parse("")), "not a compact JWE");
        assert_eq!(reason(parse("a.b.c")), "not a compact JWE");
        assert_eq!(reason(parse("a.b.c.d.e.f")), "not a compact JWE");
        assert_eq!(reason(parse("....")), "header is not JSON");
        let gcm = r#"{"alg":"dir","enc":"A256GCM"}"#;
        assert_eq!(
            reason(parse(&token(
                r#"{"alg":"none","enc":"A256GCM"}"#,
                "",
                12,
                16
            ))),
            "unsupported alg"
        );
        assert_eq!(
            reason(parse(&token(
                r#"{"alg":"A256KW","enc":"A256GCM"}"#,
                "",
                12,
                16
            ))),
            "unsupported alg"
        );
        assert_eq!(
            reason(parse(&token(
                r#"{"alg":"dir","enc":"A128CBC-HS256"}"#,
                "",
                16,
                16
            ))),
            "unsupported enc"
        );
        assert_eq!(
            reason(parse(&token(
                r#"{"alg":"dir","enc":"A256GCM","zip":"DEF"}"#,
                "",
                12,
                16
            ))),
            "compressed tokens are not accepted"
        );
        assert_eq!(
            reason(parse(&token(
                r#"{"alg":"dir","enc":"A256GCM","crit":["x"]}"#,
                "",
                12,
                16
            ))),
            "crit header is not supported"
        );
        assert_eq!(
            reason(parse(&token(
                r#"{"alg":"dir","enc":"A256GCM","kid":1}"#,
                "",
                12,
                16
            ))),
            "kid is not a string"
        );
        assert_eq!(
            reason(parse(&token("[1]", "", 12, 16))),
            "header is not a JSON object"
        );
        assert_eq!(
            reason(parse(&token(gcm, "AAAA", 12, 16))),
            "unexpected encrypted key"
        );
        assert_eq!(reason(parse(&token(gcm, "", 16, 16))), "invalid IV length");
        assert_eq!(reason(parse(&token(gcm, "", 12, 32))), "invalid tag length");
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(reason(parse(&long)), "token too long");
    }

    #[test]
    fn decrypt_rejects_garbage_without_panicking() {
        let t = token(r#"{"alg":"dir","enc":"A256CBC-HS512"}"#, "", 16, 32);
        let c = parse(&t).unwrap();
        assert!(decrypt_cbc_hs512(&[0u8; 64], &c).is_err());
        assert!(decrypt_gcm(&[0u8; 32], &c).is_err());
        let t = token(r#"{"alg":"dir","enc":"A256GCM"}"#, "", 12, 16);
        let c = parse(&t).unwrap();
        assert!(decrypt_gcm(&[0u8; 32], &c).is_err());
        assert!(decrypt_cbc_hs512(&[0u8; 64], &c).is_err());
    }
}
