//! Criterion benchmarks of the per-request hot paths (issue 6).
//!
//! - `auth/*`: session-cookie decoding (NextAuth v4 `A256GCM`, Auth.js v5 `A256CBC-HS512`) on the
//!   real library-minted vectors of `tests/fixtures/nextauth/vectors.json`.
//! - `normalize/*`: `sessions_from_body` on the real 60-session gateway capture (50 rows kept),
//!   through the `details` path and through the `content[0].text` path.
//! - `handler/oneshot_*`: the whole router (`startup::app`) through `tower::ServiceExt::oneshot`,
//!   with the gateway answered by an in-process HTTP server on 127.0.0.1: a cache hit, and a
//!   request that makes the gateway call.
//!
//! `cargo bench --bench hot_paths` (about two minutes); `cargo bench -- auth/` for a subset.

use std::hint::black_box;
use std::time::Duration;

use axum::body::Body;
use axum::routing::post;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use http::{header, Request, StatusCode};
use secrecy::SecretString;
use serde_json::Value;
use sessions_api::auth::{SessionSecrets, SessionVerifier};
use sessions_api::config::Settings;
use sessions_api::sessions::normalize::sessions_from_body;
use sessions_api::startup::{app, AppState};
use tower::ServiceExt;
use url::Url;

const FIXTURE_60: &str = "openclaw/sessions_list.ok.60_sessions.noargs.json";
const GATEWAY_TOKEN: &str = "bench-gateway-token";

/// The service binary's allocator (`src/main.rs`), so the figures are the service's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn fixture(rel: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

struct Vector {
    cookie_name: String,
    token: String,
    secret: String,
}

fn vector(name: &str) -> Vector {
    let all: Value = serde_json::from_slice(&fixture("nextauth/vectors.json")).unwrap();
    let v = all["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no vector {name}"));
    Vector {
        cookie_name: v["cookieName"].as_str().unwrap().to_owned(),
        token: v["token"].as_str().unwrap().to_owned(),
        secret: v["secret"].as_str().unwrap().to_owned(),
    }
}

fn secrets(secret: &str) -> SessionSecrets {
    SessionSecrets::resolve(
        Some(SecretString::from(secret.to_owned())),
        None,
        [None, None, None],
    )
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn auth(c: &mut Criterion) {
    let v4 = vector("v4/valid");
    let v5 = vector("v5/valid");
    assert_eq!(v4.secret, v5.secret, "the vectors share the test secret");
    let verifier = SessionVerifier::new(&secrets(&v4.secret));
    let now = now();
    verifier
        .verify_cookie_value(&v4.cookie_name, &v4.token, now)
        .expect("v4/valid verifies");
    verifier
        .verify_cookie_value(&v5.cookie_name, &v5.token, now)
        .expect("v5/valid verifies");

    // What a browser sends to the dashboard's origin: analytics and CSRF cookies around the session.
    let header_value = format!(
        "_ga=GA1.1.1234567890.1700000000; next-auth.csrf-token=3f9c0a%7C9b1e5d; \
         next-auth.callback-url=http%3A%2F%2Flocalhost%3A3000; {}={}; theme=dark",
        v4.cookie_name, v4.token
    );
    let mut headers = http::HeaderMap::new();
    headers.insert(header::COOKIE, header_value.parse().unwrap());
    verifier
        .verify_headers(&headers, now)
        .expect("header verifies");

    let mut group = c.benchmark_group("auth");
    group.measurement_time(Duration::from_secs(3));
    group.warm_up_time(Duration::from_secs(1));
    group.sample_size(50);
    group.bench_function("v4_decode", |b| {
        b.iter(|| {
            verifier.verify_cookie_value(
                black_box(&v4.cookie_name),
                black_box(&v4.token),
                black_box(now),
            )
        })
    });
    group.bench_function("v5_decode", |b| {
        b.iter(|| {
            verifier.verify_cookie_value(
                black_box(&v5.cookie_name),
                black_box(&v5.token),
                black_box(now),
            )
        })
    });
    group.bench_function("cookie_header_v4", |b| {
        b.iter(|| verifier.verify_headers(black_box(&headers), black_box(now)))
    });
    group.finish();
}

/// The 60-session capture with `result.details` removed: only `result.content[0].text` is left,
/// as older gateways answer.
fn text_form(body: &[u8]) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(body).unwrap();
    let result = v["result"].as_object_mut().unwrap();
    assert!(result.remove("details").is_some(), "capture has details");
    serde_json::to_vec(&v).unwrap()
}

fn normalize(c: &mut Criterion) {
    let body = fixture(FIXTURE_60);
    let text = text_form(&body);
    assert_eq!(sessions_from_body(&body).unwrap().len(), 50);
    assert_eq!(sessions_from_body(&text).unwrap().len(), 50);

    let mut group = c.benchmark_group("normalize");
    group.measurement_time(Duration::from_secs(3));
    group.warm_up_time(Duration::from_secs(1));
    group.sample_size(50);
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("60_rows_to_50", |b| {
        b.iter(|| sessions_from_body(black_box(&body)))
    });
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("envelope_text_form", |b| {
        b.iter(|| sessions_from_body(black_box(&text)))
    });
    group.finish();
}

/// A minimal gateway on 127.0.0.1:0 in the given runtime that answers every
/// `POST /tools/invoke` with `body`.
fn spawn_gateway(rt: &tokio::runtime::Runtime, body: Vec<u8>) -> Url {
    let body = bytes::Bytes::from(body);
    let router = axum::Router::new().route(
        "/tools/invoke",
        post(move || {
            let body = body.clone();
            async move {
                (
                    [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
                    body,
                )
            }
        }),
    );
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind the in-process gateway");
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move { axum::serve(listener, router).await });
    Url::parse(&format!("http://{addr}")).unwrap()
}

fn handler(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let gateway = spawn_gateway(&rt, fixture(FIXTURE_60));
    let v4 = vector("v4/valid");
    let router_with_ttl = |ttl: Duration| {
        let mut settings = Settings::for_gateway(gateway.clone());
        settings.gateway.token = Some(SecretString::from(GATEWAY_TOKEN));
        settings.secrets = secrets(&v4.secret);
        settings.ops.cache_ttl = ttl;
        let _guard = rt.enter();
        app(AppState::from_settings(&settings).unwrap(), &settings)
    };
    let cookie = format!("{}={}", v4.cookie_name, v4.token);

    let call = |router: axum::Router, cookie: String| async move {
        let request = Request::get("/api/sessions")
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap();
        let response = router.oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, body)
    };

    let mut group = c.benchmark_group("handler");
    group.measurement_time(Duration::from_secs(5));
    group.warm_up_time(Duration::from_secs(1));
    group.sample_size(50);
    // A freshness window longer than the run: every request after the first is a cache hit
    // (auth, routing, layers, and the shared serialised list).
    // No window: every request makes the gateway call (HTTP round trip over loopback, parse,
    // normalise, serialise), one at a time.
    for (name, ttl) in [
        ("oneshot_cache_hit", Duration::from_secs(3600)),
        ("oneshot_gateway_call", Duration::ZERO),
    ] {
        let router = router_with_ttl(ttl);
        let (status, body) = rt.block_on(call(router.clone(), cookie.clone()));
        assert_eq!(status, StatusCode::OK);
        let json: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["source"], "gateway", "{json}");
        assert_eq!(json["total"], 50);
        group.bench_function(name, |b| {
            b.to_async(&rt)
                .iter(|| call(router.clone(), black_box(cookie.clone())))
        });
    }
    group.finish();
}

criterion_group!(benches, auth, normalize, handler);
criterion_main!(benches);
