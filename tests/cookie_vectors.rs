//! Every vector in `tests/fixtures/nextauth/vectors.json` (minted by next-auth 4.24.15 and
//! @auth/core 0.41.3) run through the service's verifier, as the service would see it: a `Cookie`
//! header carrying the token (or its chunks) under the vector's cookie name.
//!
//! The cookie name routes to the decoder (v4 names → NextAuth v4 decoding, v5 names → Auth.js
//! decoding salted by that name), which is also how the libraries in the vectors decoded them.
//! Vectors without `quirk` must match `expectValid` exactly. Vectors with `quirk` (the library
//! accepts something a strict implementation may reject) are checked against [`quirk_decision`].
//!
//! Nothing secret is printed: failures name the vector and the error reason only.

use std::collections::BTreeMap;

use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use secrecy::SecretString;
use serde_json::Value;
use sessions_api::auth::{Principal, SessionSecrets, SessionVerifier};

const EXPECTED_VECTORS: usize = 80;

/// Our decision for each kind of library quirk: `true` = we accept it too.
fn quirk_decision(library: &str, quirk: &str) -> bool {
    match (library, quirk) {
        // Never-expiring tokens: `encode` always sets `exp`; we require it.
        (_, "no-exp") => false,
        // Compressed (`zip: DEF`) tokens: `encode` never compresses; inflating is a hazard.
        (_, "zip") => false,
        // Invalid characters / non-canonical trailing bits: we decode base64url strictly.
        (_, "base64-lenient") => false,
        // v4: only `dir` + `A256GCM`, the one form v4 `encode` writes.
        ("next-auth-v4", "other-enc") | ("next-auth-v4", "other-alg") => false,
        // v5: `A256GCM` is in the library's own allow-list for decode.
        ("authjs-v5", "other-enc") => true,
        // v5: no `kid` → the first secret's key, exactly the library rule.
        ("authjs-v5", "no-kid") => true,
        (library, quirk) => panic!("no documented decision for quirk {quirk:?} ({library})"),
    }
}

fn load() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/nextauth/vectors.json"
    );
    let text = std::fs::read_to_string(path).expect("read vectors.json");
    serde_json::from_str(&text).expect("parse vectors.json")
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("field {key} missing"))
}

/// The verifier the service would build for this vector's configuration.
fn verifier_for(v: &Value) -> SessionVerifier {
    let library = str_field(v, "library");
    let secret = str_field(v, "secret");
    let list: Vec<&str> = match v.get("secrets").and_then(Value::as_array) {
        Some(list) => list
            .iter()
            .map(|s| s.as_str().expect("secret string"))
            .collect(),
        None => vec![secret],
    };
    let first = list.first().copied().expect("at least one secret");
    // v4 supports one secret only: with a list, the first one (this reproduces the library's
    // rejection of a rotation array). v5: the list in order. The service configures both from the
    // same environment, so both are set; the cookie name decides which one is used.
    let secrets = match library {
        "next-auth-v4" | "authjs-v5" => SessionSecrets {
            v4: Some(SecretString::from(first)),
            v5: list.iter().map(|s| SecretString::from(*s)).collect(),
        },
        other => panic!("unknown library {other}"),
    };
    let verifier = SessionVerifier::new(&secrets);
    assert!(verifier.is_configured());
    verifier
}

fn headers_for(v: &Value) -> HeaderMap {
    let cookie = if let Some(chunks) = v.get("chunks").and_then(Value::as_array) {
        chunks
            .iter()
            .map(|c| format!("{}={}", str_field(c, "name"), str_field(c, "value")))
            .collect::<Vec<_>>()
            .join("; ")
    } else {
        format!("{}={}", str_field(v, "cookieName"), str_field(v, "token"))
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        COOKIE,
        HeaderValue::from_str(&cookie).expect("cookie header value"),
    );
    headers
}

fn now_for(v: &Value) -> i64 {
    match v.get("now") {
        Some(n) => n.as_i64().expect("now is an integer"),
        None => chrono::Utc::now().timestamp(),
    }
}

fn check_claims(name: &str, v: &Value, p: &Principal) {
    let claims = &v["expectClaims"];
    assert_eq!(
        p.user_id.as_deref(),
        claims["sub"].as_str(),
        "{name}: sub differs"
    );
    assert_eq!(
        Some(p.email.as_str()),
        claims["email"].as_str(),
        "{name}: email differs"
    );
}

#[test]
fn all_vectors() {
    let doc = load();
    assert_eq!(doc["clockToleranceSeconds"], 15);
    let vectors = doc["vectors"].as_array().expect("vectors array");

    let mut checked = 0usize;
    let mut by_outcome: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures = Vec::new();

    for v in vectors {
        let name = str_field(v, "name");
        let library = str_field(v, "library");
        let expect_valid = v["expectValid"].as_bool().expect("expectValid");
        let quirk = v.get("quirk").and_then(Value::as_str);
        let want = match quirk {
            None => expect_valid,
            Some(q) => {
                // Every quirk is something the library accepts.
                assert!(expect_valid, "{name}: quirk vectors are library-valid");
                quirk_decision(library, q)
            }
        };

        let verifier = verifier_for(v);
        let result = verifier.verify_headers(&headers_for(v), now_for(v));
        checked += 1;

        match (&result, want) {
            (Ok(p), true) => {
                check_claims(name, v, p);
                *by_outcome.entry("accepted").or_default() += 1;
            }
            (Err(_), false) => {
                *by_outcome
                    .entry(if quirk.is_some() {
                        "rejected (quirk decision)"
                    } else {
                        "rejected"
                    })
                    .or_default() += 1;
            }
            (Ok(_), false) => failures.push(format!("{name}: accepted, expected rejection")),
            (Err(e), true) => failures.push(format!("{name}: rejected ({e}), expected valid")),
        }
    }

    assert!(
        failures.is_empty(),
        "vector failures:\n{}",
        failures.join("\n")
    );
    assert_eq!(checked, EXPECTED_VECTORS, "every vector must be checked");
    println!("checked {checked} vectors: {by_outcome:?}");
}

/// The same vectors through `verify_cookie_value` (the benchmark entry point) for the
/// single-token ones: it must agree with `verify_headers`.
#[test]
fn verify_cookie_value_agrees_with_headers() {
    let doc = load();
    let mut n = 0;
    for v in doc["vectors"].as_array().expect("vectors array") {
        let Some(token) = v.get("token").and_then(Value::as_str) else {
            continue;
        };
        if token.is_empty() {
            continue;
        }
        let verifier = verifier_for(v);
        let now = now_for(v);
        let a = verifier.verify_headers(&headers_for(v), now);
        let b = verifier.verify_cookie_value(str_field(v, "cookieName"), token, now);
        assert_eq!(a, b, "{}", str_field(v, "name"));
        n += 1;
    }
    assert!(n > 60);
}
