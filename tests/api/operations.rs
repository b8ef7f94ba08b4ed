//! The operational surface: metrics, load shedding, header limits, CORS.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sessions_api::config::Settings;
use sessions_api::startup::Application;

use crate::helpers::*;

const OK_5: &str = "sessions_list.ok.5_sessions.json";

/// The app with its `/metrics` listener on a random port.
async fn spawn_with_metrics(mut settings: Settings) -> (TestApp, SocketAddr) {
    settings.ops.metrics_addr = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    let app = Application::build(&settings).await.expect("app builds");
    let addr = app.local_addr().unwrap();
    let metrics = app.metrics_addr().expect("metrics listener");
    tokio::spawn(app.run_until(std::future::pending()));
    let client = reqwest::Client::new();
    (TestApp { addr, client }, metrics)
}

#[tokio::test]
async fn metrics_are_served_on_their_own_listener() {
    let gw = gateway_answering(captured(200, OK_5)).await;
    let (app, metrics) = spawn_with_metrics(test_settings(&gw.uri())).await;
    assert_eq!(app.sessions_json().await.0, 200);
    app.client
        .get(app.url("/no/such/path"))
        .send()
        .await
        .unwrap();
    let response = app
        .client
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    for series in [
        r#"http_requests_total{route="/api/sessions",method="GET",status="200"}"#,
        r#"http_requests_total{route="unmatched",method="GET",status="404"}"#,
        r#"http_request_duration_seconds_bucket{route="/api/sessions",method="GET",le="#,
        "http_requests_in_flight",
        r#"gateway_calls_total{outcome="ok"}"#,
        "gateway_call_duration_seconds_bucket",
        r#"sessions_cache_total{result="miss"}"#,
        r#"gateway_breaker_state{state="closed"}"#,
    ] {
        assert!(text.contains(series), "missing {series} in\n{text}");
    }
    // The API listener does not serve metrics.
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn beyond_the_concurrency_limit_requests_are_shed_with_503() {
    let gw = gateway_answering(captured(200, OK_5).set_delay(Duration::from_millis(500))).await;
    let mut settings = test_settings(&gw.uri());
    settings.ops.max_concurrent_requests = 1;
    let app = spawn_app(settings).await;
    let first = tokio::spawn({
        let client = app.client.clone();
        let url = app.url("/api/sessions");
        async move {
            client
                .get(url)
                .header("cookie", valid_cookie())
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let started = Instant::now();
    let response = app.get_sessions(Some(&valid_cookie())).await;
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "shed at once"
    );
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"error": "Overloaded"}));
    // Health probes are never shed.
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(first.await.unwrap(), 200);
}

#[tokio::test]
async fn oversized_headers_get_431_but_a_16_kib_cookie_passes() {
    let gw = gateway_answering(captured(200, OK_5)).await;
    let app = spawn_app(test_settings(&gw.uri())).await;
    let big = format!("{}; filler={}", valid_cookie(), "a".repeat(15 * 1024));
    let response = app.get_sessions(Some(&big)).await;
    assert_eq!(response.status(), 200);
    let huge = format!("{}; filler={}", valid_cookie(), "a".repeat(40 * 1024));
    let response = app.get_sessions(Some(&huge)).await;
    assert_eq!(response.status(), 431);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"error": "Request Header Fields Too Large"}));
}

#[tokio::test]
async fn no_cors_headers_by_default() {
    let gw = gateway_answering(captured(200, OK_5)).await;
    let app = spawn_app(test_settings(&gw.uri())).await;
    let response = app
        .client
        .get(app.url("/api/sessions"))
        .header("origin", "https://dash.example.com")
        .header("cookie", valid_cookie())
        .send()
        .await
        .unwrap();
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}

#[tokio::test]
async fn cors_allows_exact_origins_with_credentials() {
    let gw = gateway_answering(captured(200, OK_5)).await;
    let mut settings = test_settings(&gw.uri());
    settings.ops.cors_allowed_origins =
        vec![sessions_api::config::parse_origin("https://dash.example.com").unwrap()];
    let app = spawn_app(settings).await;

    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/sessions"))
        .header("origin", "https://dash.example.com")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let h = preflight.headers();
    assert_eq!(h["access-control-allow-origin"], "https://dash.example.com");
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("GET"));

    let response = app
        .client
        .get(app.url("/api/sessions"))
        .header("origin", "https://dash.example.com")
        .header("cookie", valid_cookie())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let h = response.headers();
    assert_eq!(h["access-control-allow-origin"], "https://dash.example.com");
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert!(h.get_all("vary").iter().any(|v| v
        .to_str()
        .unwrap()
        .to_ascii_lowercase()
        .contains("origin")));

    let other = app
        .client
        .get(app.url("/api/sessions"))
        .header("origin", "https://evil.example.com")
        .header("cookie", valid_cookie())
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}
