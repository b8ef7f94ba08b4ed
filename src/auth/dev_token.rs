//! Mints NextAuth v4 session tokens (`dir` + `A256GCM`), as `next-auth/jwt` `encode` does.
//! Used by the `dev-token` CLI subcommand and by tests; the service itself never mints tokens.

use aes_gcm::aead::{AeadCore, AeadInPlace, OsRng};
use aes_gcm::{Aes256Gcm, KeyInit};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};

use super::keys;

/// Base64url of `{"alg":"dir","enc":"A256GCM"}`, the only header v4 `encode` writes.
const V4_HEADER: &str = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0";

/// A NextAuth v4 session token for `email` (and optional `sub`/`name`), with `iat` = `now_unix`,
/// `exp` = `now_unix + ttl_secs`, a random `jti` (UUID v4) and a random 12-byte IV.
pub fn encode_v4(
    secret: &SecretString,
    sub: Option<&str>,
    email: &str,
    name: Option<&str>,
    now_unix: i64,
    ttl_secs: i64,
) -> String {
    let mut claims = serde_json::Map::new();
    if let Some(name) = name {
        claims.insert("name".into(), name.into());
    }
    claims.insert("email".into(), email.into());
    if let Some(sub) = sub {
        claims.insert("sub".into(), sub.into());
    }
    claims.insert("iat".into(), now_unix.into());
    claims.insert("exp".into(), now_unix.saturating_add(ttl_secs).into());
    claims.insert("jti".into(), uuid::Uuid::new_v4().to_string().into());
    let mut buf = serde_json::Value::Object(claims).to_string().into_bytes();

    let key = keys::derive_v4(secret.expose_secret());
    let cipher = Aes256Gcm::new(key.expose_secret().into());
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let tag = match cipher.encrypt_in_place_detached(&nonce, V4_HEADER.as_bytes(), &mut buf) {
        Ok(tag) => tag,
        // Only fails for plaintexts beyond GCM's ~64 GiB limit.
        Err(_) => unreachable!("AES-GCM encryption of a small claim set cannot fail"),
    };
    format!(
        "{V4_HEADER}..{}.{}.{}",
        URL_SAFE_NO_PAD.encode(nonce),
        URL_SAFE_NO_PAD.encode(&buf),
        URL_SAFE_NO_PAD.encode(tag),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{AuthError, Principal, SessionSecrets, SessionVerifier, V4_COOKIE};

    #[test]
    fn header_constant_matches() {
        assert_eq!(
            URL_SAFE_NO_PAD.decode(V4_HEADER).unwrap(),
            br#"{"alg":"dir","enc":"A256GCM"}"#
        );
    }

    #[test]
    fn round_trip_through_verifier() {
        let secret = SecretString::from("round-trip-secret");
        let now = 1_800_000_000;
        let token = encode_v4(&secret, Some("u_1"), "a@b.c", Some("A"), now, 3600);
        let verifier = SessionVerifier::new(&SessionSecrets::resolve(
            Some(secret.clone()),
            None,
            [None, None, None],
        ));
        let expected = Principal {
            user_id: Some("u_1".into()),
            email: "a@b.c".into(),
        };
        assert_eq!(
            verifier.verify_cookie_value(V4_COOKIE, &token, now),
            Ok(expected.clone())
        );
        let mut headers = http::HeaderMap::new();
        let cookie = format!("__Secure-next-auth.session-token={token}");
        headers.insert(http::header::COOKIE, cookie.parse().unwrap());
        assert_eq!(verifier.verify_headers(&headers, now), Ok(expected));
        assert_eq!(
            verifier.verify_cookie_value(V4_COOKIE, &token, now + 3600 + 15),
            Err(AuthError::InvalidToken("expired"))
        );
        // A v4 token under a v5 name is decoded the Auth.js way and fails.
        assert!(verifier
            .verify_cookie_value(crate::auth::V5_COOKIE, &token, now)
            .is_err());
        // Two tokens differ (random IV and jti).
        assert_ne!(
            token,
            encode_v4(&secret, Some("u_1"), "a@b.c", Some("A"), now, 3600)
        );
    }

    #[test]
    fn wrong_secret_fails() {
        let token = encode_v4(&SecretString::from("a"), None, "e@x", None, 0, 60);
        let verifier = SessionVerifier::new(&SessionSecrets::resolve(
            Some(SecretString::from("b")),
            None,
            [None, None, None],
        ));
        assert_eq!(
            verifier.verify_cookie_value(V4_COOKIE, &token, 0),
            Err(AuthError::InvalidToken("decryption failed"))
        );
    }

    #[test]
    fn mutated_tokens_never_panic_or_verify() {
        let secret = SecretString::from("mutation-secret");
        let token = encode_v4(&secret, Some("u"), "e@x", None, 1_000, 3600);
        let verifier = SessionVerifier::new(&SessionSecrets::resolve(
            Some(secret),
            None,
            [None, None, None],
        ));
        for name in crate::auth::SESSION_COOKIE_NAMES {
            for end in 0..token.len() {
                assert!(verifier
                    .verify_cookie_value(name, &token[..end], 1_000)
                    .is_err());
            }
            for i in 0..token.len() {
                for c in ['.', '!', 'A', '_', '\u{e9}'] {
                    let mut t = token.clone();
                    t.replace_range(i..i + 1, &c.to_string());
                    if t != token {
                        assert!(verifier.verify_cookie_value(name, &t, 1_000).is_err());
                    }
                }
            }
        }
    }
}
