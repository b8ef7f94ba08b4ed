//! HKDF key derivation and JWK thumbprints (`kid`) for NextAuth v4 / Auth.js v5 session tokens.
//!
//! Everything here runs once, in [`super::SessionVerifier::new`]; the request path only reads the
//! derived keys.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hkdf::Hkdf;
use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox};
use sha2::{Digest, Sha256, Sha512};

/// HKDF `info` for NextAuth v4 (no salt).
pub const V4_INFO: &str = "NextAuth.js Generated Encryption Key";

/// A 32-byte key (v4 A256GCM, v5 A256GCM), zeroized on drop.
pub type Key32 = SecretBox<[u8; 32]>;
/// A 64-byte key (v5 A256CBC-HS512: MAC key ‖ AES key), zeroized on drop.
pub type Key64 = SecretBox<[u8; 64]>;

fn hkdf_expand<const L: usize>(ikm: &[u8], salt: &[u8], info: &[u8]) -> SecretBox<[u8; L]>
where
    [u8; L]: secrecy::zeroize::Zeroize,
{
    let mut out = SecretBox::new(Box::new([0u8; L]));
    let hk = Hkdf::<Sha256>::new(Some(salt), ikm);
    // L is 32 or 64, far below HKDF-SHA256's 255 * 32 limit, so expand cannot fail.
    if hk.expand(info, out.expose_secret_mut()).is_err() {
        unreachable!("HKDF output length {L} is within limits");
    }
    out
}

/// NextAuth v4 key: HKDF-SHA256(secret, salt "", info "NextAuth.js Generated Encryption Key", 32).
pub fn derive_v4(secret: &str) -> Key32 {
    hkdf_expand::<32>(secret.as_bytes(), b"", V4_INFO.as_bytes())
}

/// The Auth.js v5 HKDF `info` for a cookie name (the salt).
pub fn v5_info(cookie_name: &str) -> String {
    format!("Auth.js Generated Encryption Key ({cookie_name})")
}

/// Auth.js v5 key for `A256CBC-HS512` (64 bytes), salt = cookie name.
pub fn derive_v5_cbc(secret: &str, cookie_name: &str) -> Key64 {
    hkdf_expand::<64>(
        secret.as_bytes(),
        cookie_name.as_bytes(),
        v5_info(cookie_name).as_bytes(),
    )
}

/// Auth.js v5 key for `A256GCM` (32 bytes), salt = cookie name.
pub fn derive_v5_gcm(secret: &str, cookie_name: &str) -> Key32 {
    hkdf_expand::<32>(
        secret.as_bytes(),
        cookie_name.as_bytes(),
        v5_info(cookie_name).as_bytes(),
    )
}

/// RFC 7638 thumbprint of the symmetric JWK `{"k":…,"kty":"oct"}` as jose computes it for Auth.js:
/// SHA-512 for a 64-byte key, SHA-256 otherwise; base64url without padding.
pub fn thumbprint(key: &[u8]) -> String {
    let jwk = format!(r#"{{"k":"{}","kty":"oct"}}"#, URL_SAFE_NO_PAD.encode(key));
    if key.len() == 64 {
        URL_SAFE_NO_PAD.encode(Sha512::digest(jwk.as_bytes()))
    } else {
        URL_SAFE_NO_PAD.encode(Sha256::digest(jwk.as_bytes()))
    }
}

/// Keys derived from one v5 secret for one cookie name.
pub struct V5Keys {
    pub cbc: Key64,
    pub cbc_kid: String,
    pub gcm: Key32,
    pub gcm_kid: String,
}

impl V5Keys {
    pub fn derive(secret: &str, cookie_name: &str) -> Self {
        let cbc = derive_v5_cbc(secret, cookie_name);
        let gcm = derive_v5_gcm(secret, cookie_name);
        let cbc_kid = thumbprint(cbc.expose_secret());
        let gcm_kid = thumbprint(gcm.expose_secret());
        Self {
            cbc,
            cbc_kid,
            gcm,
            gcm_kid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "dev-secret-for-tests-only-0123456789abcdef";

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn key_derivation() -> Vec<serde_json::Value> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/nextauth/vectors.json"
        );
        let text = std::fs::read_to_string(path).expect("vectors.json");
        let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
        doc["keyDerivation"].as_array().expect("array").clone()
    }

    #[test]
    fn derivation_matches_library_vectors() {
        let entries = key_derivation();
        assert_eq!(entries.len(), 3);
        for e in &entries {
            let ikm = e["ikm"].as_str().unwrap();
            assert_eq!(ikm, SECRET);
            let salt = e["salt"].as_str().unwrap();
            let info = e["info"].as_str().unwrap();
            let expected_hex = e["keyHex"].as_str().unwrap();
            match e["library"].as_str().unwrap() {
                "next-auth-v4" => {
                    assert_eq!(salt, "");
                    assert_eq!(info, V4_INFO);
                    assert_eq!(e["length"], 32);
                    assert_eq!(hex(derive_v4(ikm).expose_secret()), expected_hex);
                    assert!(e["kid"].is_null());
                }
                "authjs-v5" => {
                    assert_eq!(info, v5_info(salt));
                    assert_eq!(e["length"], 64);
                    let keys = V5Keys::derive(ikm, salt);
                    assert_eq!(hex(keys.cbc.expose_secret()), expected_hex);
                    assert_eq!(keys.cbc_kid, e["kid"].as_str().unwrap());
                }
                other => panic!("unknown library {other}"),
            }
        }
    }

    #[test]
    fn gcm_kid_matches_crafted_vector() {
        // v5/crafted-a256gcm carries the SHA-256 thumbprint of the 32-byte key.
        let keys = V5Keys::derive(SECRET, "authjs.session-token");
        assert_eq!(keys.gcm_kid, "aH8dYQYFcEkt82MaC7LkwEBrGAtQkIQhrP5W8gulZco");
    }

    #[test]
    fn keys_depend_on_cookie_name_and_secret() {
        let a = V5Keys::derive(SECRET, "authjs.session-token");
        let b = V5Keys::derive(SECRET, "__Secure-authjs.session-token");
        let c = V5Keys::derive("other", "authjs.session-token");
        assert_ne!(a.cbc_kid, b.cbc_kid);
        assert_ne!(a.cbc_kid, c.cbc_kid);
        assert_ne!(a.gcm_kid, b.gcm_kid);
        // The GCM key is the 32-byte HKDF output, i.e. a prefix of the 64-byte one.
        assert_eq!(a.gcm.expose_secret()[..], a.cbc.expose_secret()[..32]);
    }
}
