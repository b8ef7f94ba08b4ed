//! Property tests over what outside parties control: cookie headers, tokens and gateway JSON.
//! Never a panic, never a 5xx, and the contract's invariants always hold (at most 50
//! sessions, `total` = length, timestamps RFC 3339 in UTC or null).

#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Body;
use http::header::COOKIE;
use http::{HeaderMap, HeaderValue, Request};
use proptest::prelude::*;
use serde_json::{json, Value};
use sessions_api::auth::{SessionSecrets, SessionVerifier};
use sessions_api::sessions::normalize::{sessions_from_body, Session, MAX_SESSIONS};
use sessions_api::startup::{app, AppState};
use tower::ServiceExt;
use wiremock::{Mock, MockServer, Request as MockRequest, Respond, ResponseTemplate};

const COOKIE_NAMES: &[&str] = &[
    "next-auth.session-token",
    "__Secure-next-auth.session-token",
    "authjs.session-token",
    "__Secure-authjs.session-token",
];

fn verifier() -> &'static SessionVerifier {
    static V: OnceLock<SessionVerifier> = OnceLock::new();
    V.get_or_init(|| {
        SessionVerifier::new(&SessionSecrets::resolve(
            Some(secrecy::SecretString::from(helpers::TEST_SECRET)),
            None,
            [None, None, None],
        ))
    })
}

fn is_utc_rfc3339(s: &str) -> bool {
    s.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

fn assert_session_invariants(sessions: &[Session]) {
    assert!(sessions.len() <= MAX_SESSIONS);
    for s in sessions {
        assert!(!s.key.is_empty());
        assert!(!s.status.is_empty());
        for t in [&s.last_activity, &s.created_at].into_iter().flatten() {
            assert!(is_utc_rfc3339(t), "not RFC 3339 UTC: {t}");
        }
    }
}

// ---- generators ----

fn cookie_name() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(COOKIE_NAMES).prop_map(str::to_owned),
        (proptest::sample::select(COOKIE_NAMES), 0u32..12).prop_map(|(n, i)| format!("{n}.{i}")),
        "[a-zA-Z_.-]{1,20}",
        any::<String>(),
    ]
}

fn cookie_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9_.-]{0,300}",
        any::<String>(),
        (1usize..20_000).prop_map(|n| "A".repeat(n)),
    ]
}

fn cookie_header() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..2_000),
        proptest::collection::vec((cookie_name(), cookie_value()), 0..40).prop_map(|pairs| {
            pairs
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
                .into_bytes()
        }),
    ]
}

fn token() -> impl Strategy<Value = String> {
    let segment = "[A-Za-z0-9_-]{0,200}";
    prop_oneof![
        proptest::collection::vec(segment, 5).prop_map(|s| s.join(".")),
        // A real v4/v5 header, so decoding goes past the header into the crypto.
        proptest::collection::vec(segment, 4)
            .prop_map(|s| format!("eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0.{}", s.join("."))),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        (0i64..4_102_444_800_000).prop_map(Value::from),
        (0i64..4_102_444_800_000).prop_map(|n| Value::from(n.to_string())),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})"
            .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(2, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("[a-zA-Z]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const ROW_FIELDS: &[&str] = &[
    "sessionKey",
    "key",
    "agentId",
    "status",
    "messageCount",
    "turns",
    "lastActivity",
    "lastActivityAt",
    "updatedAt",
    "createdAt",
    "model",
];

fn row() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => proptest::collection::vec((proptest::sample::select(ROW_FIELDS), json_value()), 0..10)
            .prop_map(|fields| {
                Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        1 => json_value(),
    ]
    .boxed()
}

fn gateway_body() -> impl Strategy<Value = Vec<u8>> {
    let rows = proptest::collection::vec(row(), 0..80);
    prop_oneof![
        rows.clone()
            .prop_map(|r| json!({"ok": true, "result": {"details": {"sessions": r}}})),
        rows.clone().prop_map(|r| {
            let text = json!({"sessions": r}).to_string();
            json!({"ok": true, "result": {"content": [{"type": "text", "text": text}]}})
        }),
        rows.clone().prop_map(Value::Array),
        rows.clone().prop_map(|r| json!({"sessions": r})),
        rows.prop_map(|r| json!({"result": r})),
        json_value(),
    ]
    .prop_map(|v| v.to_string().into_bytes())
    .boxed()
    .prop_union(proptest::collection::vec(any::<u8>(), 0..512).boxed())
}

// ---- pure functions ----

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_cookie_header_is_refused_or_accepted_without_panic(raw in cookie_header()) {
        if let Ok(value) = HeaderValue::from_bytes(&raw) {
            let mut headers = HeaderMap::new();
            headers.insert(COOKIE, value);
            let _ = verifier().verify_headers(&headers, chrono::Utc::now().timestamp());
        }
    }

    #[test]
    fn random_tokens_never_authenticate(
        name in proptest::sample::select(COOKIE_NAMES),
        token in token(),
    ) {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(&format!("{name}={token}")).unwrap());
        prop_assert!(verifier().verify_headers(&headers, chrono::Utc::now().timestamp()).is_err());
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_gateway_body_normalises_within_the_contract(body in gateway_body()) {
        if let Ok(sessions) = sessions_from_body(&body) {
            assert_session_invariants(&sessions);
        }
    }
}

// ---- through the real app ----

/// A gateway whose next answer a test case sets.
#[derive(Clone, Default)]
struct SettableBody(Arc<Mutex<Vec<u8>>>);

impl Respond for SettableBody {
    fn respond(&self, _: &MockRequest) -> ResponseTemplate {
        let body = self.0.lock().unwrap().clone();
        ResponseTemplate::new(200).set_body_raw(body, "application/json")
    }
}

struct Harness {
    runtime: tokio::runtime::Runtime,
    _gateway: MockServer,
    body: SettableBody,
    router: axum::Router,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let body = SettableBody::default();
        let (gateway, router) = runtime.block_on(async {
            let gateway = MockServer::start().await;
            Mock::given(wiremock::matchers::any())
                .respond_with(body.clone())
                .mount(&gateway)
                .await;
            let mut settings = helpers::test_settings(&gateway.uri());
            settings.ops.breaker_failure_threshold = 0;
            let state = AppState::from_settings(&settings).unwrap();
            (gateway, app(state, &settings))
        });
        Harness {
            runtime,
            _gateway: gateway,
            body,
            router,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn through_the_app_never_a_5xx_and_always_the_contract(
        body in gateway_body(),
        cookie in prop_oneof![
            3 => Just(helpers::valid_cookie().into_bytes()),
            1 => cookie_header(),
        ],
    ) {
        let h = harness();
        *h.body.0.lock().unwrap() = body;
        let mut request = Request::get("/api/sessions");
        let too_large = cookie.len() > sessions_api::config::OpsSettings::default().max_header_bytes;
        if let Ok(value) = HeaderValue::from_bytes(&cookie) {
            request = request.header(COOKIE, value);
        }
        let request = request.body(Body::empty()).unwrap();
        let (status, json) = h.runtime.block_on(async {
            let response = h.router.clone().oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), 4 * 1024 * 1024).await.unwrap();
            (status, serde_json::from_slice::<Value>(&bytes).expect("JSON body"))
        });
        if too_large && status == 431 {
            return Ok(());
        }
        prop_assert!(status == 200 || status == 401, "{status}: {json}");
        if status == 401 {
            prop_assert_eq!(json, json!({"error": "Unauthorized"}));
            return Ok(());
        }
        let sessions = json["sessions"].as_array().expect("sessions array");
        prop_assert!(sessions.len() <= MAX_SESSIONS);
        for s in sessions {
            for field in ["lastActivity", "createdAt"] {
                let t = &s[field];
                prop_assert!(t.is_null() || t.as_str().is_some_and(is_utc_rfc3339), "{field}: {t}");
            }
        }
        match json["source"].as_str() {
            Some("gateway") => prop_assert_eq!(json["total"].as_u64(), Some(sessions.len() as u64)),
            Some("gateway-error") => {
                prop_assert!(sessions.is_empty());
                prop_assert!(json["error"].is_string());
            }
            other => prop_assert!(false, "unexpected source {other:?}"),
        }
    }
}
