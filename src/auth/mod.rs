//! Session-cookie authentication: NextAuth v4 and Auth.js v5 JWT cookies, validated locally.
//!
//! The dashboard (NextAuth v4 or Auth.js v5) stores the session as an encrypted JWT (compact JWE)
//! in a cookie; we derive the same keys from the shared secret(s) and decrypt it here, with no
//! call back to the dashboard. See `tests/fixtures/nextauth/README.md` for the algorithms.
//!
//! - [`cookies`]: `Cookie` header parsing and chunk reassembly ([`CookieJar`]).
//! - [`jwe`]: compact JWE framing, header checks, A256GCM and A256CBC-HS512 decryption.
//! - [`keys`]: HKDF key derivation and `kid` thumbprints (start-up only).
//! - [`claims`]: time and identity claim checks.
//! - [`dev_token`]: mints NextAuth v4 tokens for local development and tests.
//! - [`opaque`]: which cookies hold opaque (database) session tokens; see [`crate::store`].
//!
//! Only `Cookie` headers are read. `Authorization: Bearer` is deliberately NOT accepted, although
//! the libraries' `getToken` falls back to it: our contract is cookie auth, the dashboard never
//! sends a bearer token, and accepting one would widen the attack surface and let the session
//! token travel in a header that proxies and tools routinely log.

pub mod claims;
pub mod cookies;
pub mod dev_token;
mod extract;
pub mod jwe;
pub mod keys;
pub mod opaque;

use std::fmt;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

pub use cookies::CookieJar;

/// NextAuth v4 session cookie name (http).
pub const V4_COOKIE: &str = "next-auth.session-token";
/// NextAuth v4 session cookie name (https sites).
pub const V4_SECURE_COOKIE: &str = "__Secure-next-auth.session-token";
/// Auth.js v5 session cookie name (http).
pub const V5_COOKIE: &str = "authjs.session-token";
/// Auth.js v5 session cookie name (https sites).
pub const V5_SECURE_COOKIE: &str = "__Secure-authjs.session-token";

/// Session cookie families in the order they are tried (secure names first); the first that
/// verifies wins.
pub const SESSION_COOKIE_NAMES: [&str; 4] =
    [V5_SECURE_COOKIE, V4_SECURE_COOKIE, V5_COOKIE, V4_COOKIE];

/// The signed-in user a request acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's `sub` claim: the dashboard's user id, when present.
    pub user_id: Option<String>,
    /// The token's `email` claim; never empty.
    pub email: String,
}

/// Why a request is not authenticated. Every variant maps to the same 401 for the client; the
/// variant is only for logs and metrics, so it never carries cookie material.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum AuthError {
    #[error("no session cookie")]
    NoSessionCookie,
    #[error("no session secret configured")]
    NotConfigured,
    #[error("invalid session token: {0}")]
    InvalidToken(&'static str),
}

/// The configured session secrets, already resolved the way the libraries resolve them.
#[derive(Debug, Default, Clone)]
pub struct SessionSecrets {
    /// NextAuth v4 uses exactly one secret.
    pub v4: Option<SecretString>,
    /// Auth.js v5 secrets in decode order (rotation).
    pub v5: Vec<SecretString>,
}

fn non_empty(s: Option<SecretString>) -> Option<SecretString> {
    s.filter(|s| !s.expose_secret().is_empty())
}

impl SessionSecrets {
    /// Resolve secrets from the environment values as NextAuth/Auth.js do.
    ///
    /// `rotated` is `[AUTH_SECRET_1, AUTH_SECRET_2, AUTH_SECRET_3]`. An empty value counts as
    /// unset (the libraries throw on an empty secret).
    /// - v4: `NEXTAUTH_SECRET`, else `AUTH_SECRET` — one secret only (v4 has no rotation).
    /// - v5: `[AUTH_SECRET_3, AUTH_SECRET_2, AUTH_SECRET_1, AUTH_SECRET]`, with `NEXTAUTH_SECRET`
    ///   in the last place when `AUTH_SECRET` is unset; only those set.
    pub fn resolve(
        nextauth_secret: Option<SecretString>,
        auth_secret: Option<SecretString>,
        rotated: [Option<SecretString>; 3],
    ) -> Self {
        let nextauth_secret = non_empty(nextauth_secret);
        let auth_secret = non_empty(auth_secret);
        let v4 = nextauth_secret.clone().or_else(|| auth_secret.clone());
        let [r1, r2, r3] = rotated;
        let v5 = [r3, r2, r1, auth_secret.or(nextauth_secret)]
            .into_iter()
            .filter_map(non_empty)
            .collect();
        Self { v4, v5 }
    }
}

/// Keys for one v5 secret: one set per v5 cookie name (the cookie name is the HKDF salt).
struct V5SecretKeys {
    plain: keys::V5Keys,
    secure: keys::V5Keys,
}

impl V5SecretKeys {
    fn for_cookie(&self, secure: bool) -> &keys::V5Keys {
        if secure {
            &self.secure
        } else {
            &self.plain
        }
    }
}

struct Inner {
    v4: Option<keys::Key32>,
    /// In decode order.
    v5: Vec<V5SecretKeys>,
}

/// Which decoder a cookie name routes to.
#[derive(Clone, Copy)]
enum Family {
    V4,
    V5 { secure: bool },
}

fn family(cookie_name: &str) -> Option<Family> {
    match cookie_name {
        V4_COOKIE | V4_SECURE_COOKIE => Some(Family::V4),
        V5_COOKIE => Some(Family::V5 { secure: false }),
        V5_SECURE_COOKIE => Some(Family::V5 { secure: true }),
        _ => None,
    }
}

/// Keys derived once at start-up; verifies session cookies.
///
/// Cheap to clone (an `Arc`). Its `Debug` output shows only what is configured, never keys.
#[derive(Clone, Default)]
pub struct SessionVerifier {
    inner: Option<Arc<Inner>>,
}

impl fmt::Debug for SessionVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (v4, v5) = match &self.inner {
            Some(i) => (i.v4.is_some(), i.v5.len()),
            None => (false, 0),
        };
        f.debug_struct("SessionVerifier")
            .field("v4_configured", &v4)
            .field("v5_secrets", &v5)
            .finish_non_exhaustive()
    }
}

impl SessionVerifier {
    /// Derive every key up front: the v4 key, and for each v5 secret and each v5 cookie name the
    /// A256CBC-HS512 key and the A256GCM key with their `kid`s. Empty secrets are ignored.
    pub fn new(secrets: &SessionSecrets) -> Self {
        let v4 = secrets
            .v4
            .as_ref()
            .map(|s| s.expose_secret())
            .filter(|s| !s.is_empty())
            .map(keys::derive_v4);
        let v5: Vec<V5SecretKeys> = secrets
            .v5
            .iter()
            .map(|s| s.expose_secret())
            .filter(|s| !s.is_empty())
            .map(|s| V5SecretKeys {
                plain: keys::V5Keys::derive(s, V5_COOKIE),
                secure: keys::V5Keys::derive(s, V5_SECURE_COOKIE),
            })
            .collect();
        if v4.is_none() && v5.is_empty() {
            return Self { inner: None };
        }
        Self {
            inner: Some(Arc::new(Inner { v4, v5 })),
        }
    }

    pub fn is_configured(&self) -> bool {
        self.inner.is_some()
    }

    /// Authenticate from the request headers (Cookie only), at `now` (unix seconds).
    ///
    /// Each session cookie family present (see [`SESSION_COOKIE_NAMES`]) is reassembled and
    /// verified in turn; the first valid one wins. With none present: [`AuthError::NoSessionCookie`];
    /// otherwise the first family's error. `Authorization` is never read (see the module docs).
    pub fn verify_headers(
        &self,
        headers: &http::HeaderMap,
        now_unix: i64,
    ) -> Result<Principal, AuthError> {
        if !self.is_configured() {
            return Err(AuthError::NotConfigured);
        }
        let jar = CookieJar::from_headers(headers);
        let mut first_error = None;
        for name in SESSION_COOKIE_NAMES {
            let result = match jar.try_reassemble(name) {
                Ok(None) => continue,
                Ok(Some(value)) => self.verify_cookie_value(name, &value, now_unix),
                Err(e) => Err(AuthError::InvalidToken(e.reason())),
            };
            match result {
                Ok(principal) => return Ok(principal),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or(AuthError::NoSessionCookie))
    }

    /// Verify one (already reassembled) session cookie value presented under `cookie_name`.
    ///
    /// The cookie name selects the decoder, as in the service: a v4 name decodes the NextAuth v4
    /// way (`dir` + `A256GCM` only, the single v4 key); a v5 name decodes the Auth.js way with keys
    /// salted by that name (`dir` + `A256CBC-HS512` or `A256GCM`; with a `kid`, the first secret
    /// whose thumbprint matches, none → invalid; without a `kid`, the first secret only).
    pub fn verify_cookie_value(
        &self,
        cookie_name: &str,
        value: &str,
        now_unix: i64,
    ) -> Result<Principal, AuthError> {
        let inner = self.inner.as_ref().ok_or(AuthError::NotConfigured)?;
        let family =
            family(cookie_name).ok_or(AuthError::InvalidToken("not a session cookie name"))?;
        if value.is_empty() {
            return Err(AuthError::NoSessionCookie);
        }
        let jwe = jwe::parse(value)?;
        let payload = match family {
            Family::V4 => {
                let key = inner
                    .v4
                    .as_ref()
                    .ok_or(AuthError::InvalidToken("no NextAuth v4 secret configured"))?;
                if jwe.enc != jwe::Enc::A256Gcm {
                    return Err(AuthError::InvalidToken("unsupported enc"));
                }
                jwe::decrypt_gcm(key.expose_secret(), &jwe)?
            }
            Family::V5 { secure } => {
                if inner.v5.is_empty() {
                    return Err(AuthError::InvalidToken("no Auth.js v5 secret configured"));
                }
                let keys = match &jwe.kid {
                    None => inner.v5.first().map(|k| k.for_cookie(secure)),
                    Some(kid) => inner
                        .v5
                        .iter()
                        .map(|k| k.for_cookie(secure))
                        .find(|k| match jwe.enc {
                            jwe::Enc::A256CbcHs512 => k.cbc_kid == *kid,
                            jwe::Enc::A256Gcm => k.gcm_kid == *kid,
                        }),
                }
                .ok_or(AuthError::InvalidToken("no matching decryption key"))?;
                match jwe.enc {
                    jwe::Enc::A256CbcHs512 => {
                        jwe::decrypt_cbc_hs512(keys.cbc.expose_secret(), &jwe)?
                    }
                    jwe::Enc::A256Gcm => jwe::decrypt_gcm(keys.gcm.expose_secret(), &jwe)?,
                }
            }
        };
        claims::validate(&payload, now_unix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<SecretString> {
        Some(SecretString::from(v))
    }

    fn exposed(list: &[SecretString]) -> Vec<&str> {
        list.iter().map(|s| s.expose_secret()).collect()
    }

    #[test]
    fn resolve_prefers_nextauth_secret_for_v4() {
        let r = SessionSecrets::resolve(s("na"), s("auth"), [None, None, None]);
        assert_eq!(r.v4.as_ref().map(|s| s.expose_secret()), Some("na"));
        assert_eq!(exposed(&r.v5), ["auth"]);
    }

    #[test]
    fn resolve_falls_back_to_auth_secret_for_v4_and_nextauth_for_v5() {
        let r = SessionSecrets::resolve(None, s("auth"), [None, None, None]);
        assert_eq!(r.v4.as_ref().map(|s| s.expose_secret()), Some("auth"));
        let r = SessionSecrets::resolve(s("na"), None, [None, None, None]);
        assert_eq!(exposed(&r.v5), ["na"]);
        let r = SessionSecrets::resolve(s("na"), s(""), [None, None, None]);
        assert_eq!(exposed(&r.v5), ["na"]);
        assert_eq!(r.v4.as_ref().map(|s| s.expose_secret()), Some("na"));
    }

    #[test]
    fn resolve_orders_rotation_newest_first() {
        let r = SessionSecrets::resolve(None, s("a"), [s("one"), s("two"), s("three")]);
        assert_eq!(exposed(&r.v5), ["three", "two", "one", "a"]);
        let r = SessionSecrets::resolve(None, s("a"), [s("one"), s(""), s("three")]);
        assert_eq!(exposed(&r.v5), ["three", "one", "a"]);
        let r = SessionSecrets::resolve(None, None, [s("one"), None, None]);
        assert_eq!(exposed(&r.v5), ["one"]);
        assert!(r.v4.is_none());
    }

    #[test]
    fn resolve_nothing_set_is_unconfigured() {
        let r = SessionSecrets::resolve(s(""), None, [None, s(""), None]);
        assert!(r.v4.is_none() && r.v5.is_empty());
        let v = SessionVerifier::new(&r);
        assert!(!v.is_configured());
        assert_eq!(
            v.verify_headers(&http::HeaderMap::new(), 0),
            Err(AuthError::NotConfigured)
        );
    }

    #[test]
    fn debug_does_not_print_keys() {
        let secret = "dev-secret-for-tests-only-0123456789abcdef";
        let v = SessionVerifier::new(&SessionSecrets::resolve(
            None,
            s(secret),
            [None, None, None],
        ));
        let dbg = format!("{v:?}");
        assert!(dbg.contains("v4_configured: true"));
        assert!(!dbg.contains(secret));
        assert!(!dbg.contains("482b97"));
        assert!(!dbg.contains("SLBIl4DJ"));
    }

    #[test]
    fn unknown_cookie_name_and_missing_cookie() {
        let v = SessionVerifier::new(&SessionSecrets::resolve(None, s("x"), [None, None, None]));
        assert_eq!(
            v.verify_cookie_value("agentbot-session", "a.b.c.d.e", 0),
            Err(AuthError::InvalidToken("not a session cookie name"))
        );
        let mut h = http::HeaderMap::new();
        h.insert(http::header::COOKIE, "other=1".parse().unwrap());
        h.insert(
            http::header::AUTHORIZATION,
            "Bearer a.b.c.d.e".parse().unwrap(),
        );
        assert_eq!(v.verify_headers(&h, 0), Err(AuthError::NoSessionCookie));
    }
}
