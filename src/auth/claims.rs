//! Claim checks on a decrypted session payload: time claims (15 s tolerance) and identity.

use super::{AuthError, Principal};

/// Clock tolerance used by both libraries (`clockTolerance: 15`).
pub const CLOCK_TOLERANCE_SECS: i64 = 15;

fn invalid(reason: &'static str) -> AuthError {
    AuthError::InvalidToken(reason)
}

/// A numeric date claim: absent → `None`; present but not a JSON number → error. Floats and values
/// beyond `u32`/`i64` are allowed (tokens minted with a 100-year `maxAge` have `exp` ≈ 4.9e9).
fn numeric_date(
    claims: &serde_json::Map<String, serde_json::Value>,
    name: &str,
    reason: &'static str,
) -> Result<Option<f64>, AuthError> {
    match claims.get(name) {
        None => Ok(None),
        Some(serde_json::Value::Number(n)) => n.as_f64().map(Some).ok_or_else(|| invalid(reason)),
        Some(_) => Err(invalid(reason)),
    }
}

/// Validate a decrypted payload at `now_unix` and extract the [`Principal`].
///
/// - The payload must be a JSON object.
/// - `exp`, `nbf`, `iat`, when present, must be numbers. Rejected when `exp <= now - 15` or
///   `nbf > now + 15` (the libraries' rule with their 15 s tolerance).
/// - DECISION: a token without `exp` is rejected. The libraries accept one (jose does not require
///   `exp`), but their `encode` always sets it, so only a holder of the secret could mint such a
///   never-expiring token; refusing it costs nothing and bounds every session's lifetime.
/// - A non-empty string `email` is required (the principal the gateway is queried for).
/// - `sub`, when present, must be a string; it becomes [`Principal::user_id`].
pub fn validate(payload: &[u8], now_unix: i64) -> Result<Principal, AuthError> {
    let value: serde_json::Value =
        serde_json::from_slice(payload).map_err(|_| invalid("payload is not JSON"))?;
    let claims = value
        .as_object()
        .ok_or_else(|| invalid("payload is not a JSON object"))?;

    let exp = numeric_date(claims, "exp", "exp is not a number")?;
    let nbf = numeric_date(claims, "nbf", "nbf is not a number")?;
    let _iat = numeric_date(claims, "iat", "iat is not a number")?;

    let exp = exp.ok_or_else(|| invalid("missing exp"))?;
    let earliest = now_unix.saturating_sub(CLOCK_TOLERANCE_SECS) as f64;
    if exp <= earliest {
        return Err(invalid("expired"));
    }
    if let Some(nbf) = nbf {
        let latest = now_unix.saturating_add(CLOCK_TOLERANCE_SECS) as f64;
        if nbf > latest {
            return Err(invalid("not yet valid"));
        }
    }

    let email = match claims.get("email") {
        Some(serde_json::Value::String(e)) if !e.is_empty() => e.clone(),
        _ => return Err(invalid("missing email")),
    };
    let user_id = match claims.get("sub") {
        None => None,
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(invalid("sub is not a string")),
    };
    Ok(Principal { user_id, email })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn check(json: &str) -> Result<Principal, AuthError> {
        validate(json.as_bytes(), NOW)
    }

    fn reason(r: Result<Principal, AuthError>) -> &'static str {
        match r {
            Err(AuthError::InvalidToken(r)) => r,
            other => panic!("expected InvalidToken, got {other:?}"),
        }
    }

    #[test]
    fn valid_payload_gives_principal() {
        let p = check(r#"{"sub":"u1","email":"a@b.c","exp":4949913106,"iat":1}"#).unwrap();
        assert_eq!(p.user_id.as_deref(), Some("u1"));
        assert_eq!(p.email, "a@b.c");
        let p = check(r#"{"email":"a@b.c","exp":4949913106.5}"#).unwrap();
        assert_eq!(p.user_id, None);
    }

    #[test]
    fn exp_boundary_uses_tolerance() {
        let at = |exp: i64| check(&format!(r#"{{"email":"e","exp":{exp}}}"#));
        assert!(at(NOW - 14).is_ok());
        assert_eq!(reason(at(NOW - 15)), "expired");
        assert_eq!(reason(at(NOW - 16)), "expired");
        assert!(check(r#"{"email":"e","exp":1699999985.5}"#).is_ok());
        assert!(at(NOW + 1).is_ok());
    }

    #[test]
    fn nbf_boundary_uses_tolerance() {
        let at = |nbf: i64| check(&format!(r#"{{"email":"e","exp":4949913106,"nbf":{nbf}}}"#));
        assert!(at(NOW + 15).is_ok());
        assert_eq!(reason(at(NOW + 16)), "not yet valid");
        assert!(at(NOW - 1000).is_ok());
    }

    #[test]
    fn type_and_presence_checks() {
        assert_eq!(reason(check(r#"{"email":"e"}"#)), "missing exp");
        assert_eq!(
            reason(check(r#"{"email":"e","exp":"9"}"#)),
            "exp is not a number"
        );
        assert_eq!(
            reason(check(r#"{"email":"e","exp":4949913106,"nbf":null}"#)),
            "nbf is not a number"
        );
        assert_eq!(
            reason(check(r#"{"email":"e","exp":4949913106,"iat":true}"#)),
            "iat is not a number"
        );
        assert_eq!(reason(check(r#"{"exp":4949913106}"#)), "missing email");
        assert_eq!(
            reason(check(r#"{"email":"","exp":4949913106}"#)),
            "missing email"
        );
        assert_eq!(
            reason(check(r#"{"email":7,"exp":4949913106}"#)),
            "missing email"
        );
        assert_eq!(
            reason(check(r#"{"email":"e","sub":1,"exp":4949913106}"#)),
            "sub is not a string"
        );
        assert_eq!(reason(check("[1]")), "payload is not a JSON object");
        assert_eq!(reason(check("nope")), "payload is not JSON");
        assert_eq!(
            reason(check(r#"{"email":"e","exp":1e999}"#)),
            "payload is not JSON"
        );
    }

    #[test]
    fn extreme_clock_values_do_not_panic() {
        assert!(validate(br#"{"email":"e","exp":1e300}"#, i64::MAX).is_ok());
        assert!(validate(br#"{"email":"e","exp":-1e300}"#, i64::MIN).is_err());
    }
}
