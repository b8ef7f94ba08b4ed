//! Opaque (database) session cookies: which cookies hold a token to look up in `"Session"`.
//!
//! The dashboard issues its own session cookie (`agentbot-session`, or
//! `__Secure-agentbot.session-token` on https) and NextAuth's database strategy puts an opaque
//! token (not a JWE) in the usual NextAuth cookie. The dashboard checks these before the JWT
//! cookie; so does [`super::extract`].

use super::cookies::CookieJar;
use super::{V4_COOKIE, V4_SECURE_COOKIE};

/// The dashboard's own session cookie (http).
pub const DASHBOARD_COOKIE: &str = "agentbot-session";
/// The dashboard's own session cookie (https sites).
pub const DASHBOARD_SECURE_COOKIE: &str = "__Secure-agentbot.session-token";

/// Longest value treated as an opaque token; longer values are not looked up.
pub const MAX_OPAQUE_TOKEN_LEN: usize = 512;

/// A compact JWE has exactly five dot-separated segments; an opaque token (a UUID or random
/// hex/base64url string) has none.
pub fn looks_like_jwe(value: &str) -> bool {
    value.split('.').count() == 5
}

fn plausible(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_OPAQUE_TOKEN_LEN
        && value.bytes().all(|b| b.is_ascii_graphic())
}

/// The opaque session tokens of a request, in the order they are tried: the dashboard's
/// cookies, then a NextAuth session cookie whose value is not a JWE. At most four, de-duplicated.
pub fn opaque_session_tokens<'a>(jar: &CookieJar<'a>) -> Vec<&'a str> {
    let mut tokens: Vec<&'a str> = Vec::new();
    let mut push = |value: &'a str| {
        if plausible(value) && !tokens.contains(&value) {
            tokens.push(value);
        }
    };
    for name in [DASHBOARD_COOKIE, DASHBOARD_SECURE_COOKIE] {
        if let Some(value) = jar.get(name) {
            push(value);
        }
    }
    for name in [V4_SECURE_COOKIE, V4_COOKIE] {
        if let Some(value) = jar.get(name).filter(|v| !looks_like_jwe(v)) {
            push(value);
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(header: &str) -> Vec<String> {
        opaque_session_tokens(&CookieJar::parse(header))
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn dashboard_cookies_come_first_in_order() {
        assert_eq!(
            tokens("next-auth.session-token=n1; __Secure-agentbot.session-token=s1; agentbot-session=a1"),
            ["a1", "s1", "n1"]
        );
    }

    #[test]
    fn nextauth_jwe_values_are_not_opaque() {
        assert!(tokens("next-auth.session-token=a.b.c.d.e").is_empty());
        assert!(tokens("__Secure-next-auth.session-token=eyJh.x..y.z").is_empty());
        assert_eq!(
            tokens("next-auth.session-token=6f1c2b9e-1d7a-4c1e-9a57-0b5f3e2d1c00"),
            ["6f1c2b9e-1d7a-4c1e-9a57-0b5f3e2d1c00"]
        );
        assert_eq!(
            tokens("__Secure-next-auth.session-token=x; next-auth.session-token=y"),
            ["x", "y"]
        );
        // A chunked NextAuth cookie is always a JWT.
        assert!(tokens("next-auth.session-token.0=abc").is_empty());
    }

    #[test]
    fn other_cookie_families_are_ignored() {
        assert!(tokens("authjs.session-token=abc; agentbot=1; session=2").is_empty());
    }

    #[test]
    fn empty_oversized_odd_and_duplicate_values_are_skipped() {
        assert!(tokens("agentbot-session=").is_empty());
        let long = "a".repeat(MAX_OPAQUE_TOKEN_LEN + 1);
        assert!(tokens(&format!("agentbot-session={long}")).is_empty());
        assert!(tokens("agentbot-session=a b").is_empty());
        assert_eq!(
            tokens("agentbot-session=t; next-auth.session-token=t"),
            ["t"]
        );
    }

    #[test]
    fn jwe_detection() {
        assert!(looks_like_jwe("a.b.c.d.e"));
        assert!(looks_like_jwe("a..c.d.e"));
        assert!(!looks_like_jwe("a.b.c"));
        assert!(!looks_like_jwe("abc"));
    }
}
