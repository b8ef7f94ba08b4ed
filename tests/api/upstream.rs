//! The protections in front of the gateway: coalescing, the freshness window, the breaker,
//! `Retry-After` and stale answers.

use std::time::{Duration, Instant};

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

const OK_5: &str = "sessions_list.ok.5_sessions.json";

fn failing_500() -> ResponseTemplate {
    ResponseTemplate::new(500).set_body_raw(
        r#"{"ok":false,"error":{"type":"internal","message":"boom"}}"#,
        "application/json",
    )
}

/// A gateway whose first call gets `first` and every later call `then`.
async fn gateway_answering_first_then(
    first: ResponseTemplate,
    then: ResponseTemplate,
) -> MockServer {
    let gw = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tools/invoke"))
        .respond_with(first)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&gw)
        .await;
    Mock::given(method("POST"))
        .and(path("/tools/invoke"))
        .respond_with(then)
        .mount(&gw)
        .await;
    gw
}

async fn calls(gw: &MockServer) -> usize {
    gw.received_requests().await.unwrap().len()
}

#[tokio::test]
async fn concurrent_requests_share_one_gateway_call() {
    let gw = gateway_answering(captured(200, OK_5).set_delay(Duration::from_millis(500))).await;
    let app = spawn_app(test_settings(&gw.uri())).await; // TTL 0: coalescing only
    let started = Instant::now();
    let requests = (0..20).map(|_| app.sessions_json());
    let answers = futures_util::future::join_all(requests).await;
    assert!(
        started.elapsed() < Duration::from_millis(1_500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(calls(&gw).await, 1, "exactly one upstream call");
    for (status, body) in &answers {
        assert_eq!(*status, 200);
        assert_eq!(body["total"], 5);
        assert_eq!(body, &answers[0].1);
    }
    // TTL 0: the next request calls again.
    app.sessions_json().await;
    assert_eq!(calls(&gw).await, 2);
}

#[tokio::test]
async fn a_client_that_disconnects_does_not_cancel_the_call_for_the_others() {
    let gw = gateway_answering(captured(200, OK_5).set_delay(Duration::from_millis(600))).await;
    let app = spawn_app(test_settings(&gw.uri())).await;
    let impatient = app
        .client
        .get(app.url("/api/sessions"))
        .header("cookie", valid_cookie())
        .timeout(Duration::from_millis(100))
        .send()
        .await;
    assert!(impatient.is_err(), "the first client gave up");
    let (status, body) = app.sessions_json().await;
    assert_eq!(status, 200);
    assert_eq!(body["total"], 5);
    assert_eq!(
        calls(&gw).await,
        1,
        "the second request joined the first call"
    );
}

#[tokio::test]
async fn the_freshness_window_bounds_gateway_calls() {
    let gw = gateway_answering(captured(200, OK_5)).await;
    let mut settings = test_settings(&gw.uri());
    settings.ops.cache_ttl = Duration::from_millis(400);
    let app = spawn_app(settings).await;
    for _ in 0..10 {
        let (status, body) = app.sessions_json().await;
        assert_eq!((status, body["total"].clone()), (200, 5.into()));
    }
    assert_eq!(calls(&gw).await, 1);
    tokio::time::sleep(Duration::from_millis(450)).await;
    app.sessions_json().await;
    assert_eq!(calls(&gw).await, 2, "refetched after the window");
}

#[tokio::test]
async fn past_half_the_window_the_list_is_refreshed_in_the_background() {
    // Every later call is slow and answers a different list.
    let gw = gateway_answering_first_then(
        captured(200, OK_5),
        captured(200, "sessions_list.ok.0_sessions.json").set_delay(Duration::from_millis(300)),
    )
    .await;
    let mut settings = test_settings(&gw.uri());
    settings.ops.cache_ttl = Duration::from_millis(1_000);
    let app = spawn_app(settings).await;

    assert_eq!(app.sessions_json().await.1["total"], 5);
    tokio::time::sleep(Duration::from_millis(600)).await;
    // Past half the window: answered at once from the cache, and one refresh starts.
    let started = Instant::now();
    for _ in 0..5 {
        assert_eq!(app.sessions_json().await.1["total"], 5);
    }
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(calls(&gw).await, 2, "exactly one background refresh");
    // The refreshed list is served without waiting.
    let started = Instant::now();
    assert_eq!(app.sessions_json().await.1["total"], 0);
    assert!(started.elapsed() < Duration::from_millis(250));
}

#[tokio::test]
async fn errors_are_never_cached() {
    let gw = gateway_answering_first_then(failing_500(), captured(200, OK_5)).await;
    let mut settings = test_settings(&gw.uri());
    settings.ops.cache_ttl = Duration::from_secs(60);
    let app = spawn_app(settings).await;
    let (status, body) = app.sessions_json().await;
    assert_gateway_error(status, &body, "Gateway error");
    let (status, body) = app.sessions_json().await;
    assert_eq!((status, body["total"].clone()), (200, 5.into()));
    assert_eq!(calls(&gw).await, 2);
}

#[tokio::test]
async fn the_breaker_stops_calling_a_failing_gateway_and_probes_later() {
    let gw = gateway_answering(failing_500()).await;
    let mut settings = test_settings(&gw.uri());
    settings.ops.breaker_failure_threshold = 3;
    settings.ops.breaker_open = Duration::from_millis(400);
    let app = spawn_app(settings).await;
    for _ in 0..10 {
        let started = Instant::now();
        let (status, body) = app.sessions_json().await;
        assert_gateway_error(status, &body, "Gateway error");
        assert!(started.elapsed() < Duration::from_millis(500));
    }
    assert_eq!(calls(&gw).await, 3, "no calls while open");

    // After the open period one probe goes through; it fails, so the breaker opens again.
    tokio::time::sleep(Duration::from_millis(450)).await;
    for _ in 0..5 {
        let (status, body) = app.sessions_json().await;
        assert_gateway_error(status, &body, "Gateway error");
    }
    assert_eq!(calls(&gw).await, 4, "one probe");

    // The gateway recovers: the next probe closes the breaker.
    gw.reset().await;
    Mock::given(method("POST"))
        .and(path("/tools/invoke"))
        .respond_with(captured(200, OK_5))
        .mount(&gw)
        .await;
    tokio::time::sleep(Duration::from_millis(450)).await;
    for _ in 0..3 {
        let (status, body) = app.sessions_json().await;
        assert_eq!((status, body["total"].clone()), (200, 5.into()));
    }
    assert_eq!(
        calls(&gw).await,
        3,
        "closed again: every request calls (TTL 0)"
    );
}

#[tokio::test]
async fn an_open_breaker_answers_at_once_even_for_a_hanging_gateway() {
    let gw = gateway_answering(captured(200, OK_5).set_delay(Duration::from_secs(30))).await;
    let mut settings = test_settings(&gw.uri());
    settings.gateway.timeout = Duration::from_millis(200);
    settings.ops.breaker_failure_threshold = 2;
    let app = spawn_app(settings).await;
    for _ in 0..2 {
        let (status, body) = app.sessions_json().await;
        assert_gateway_error(status, &body, "Gateway timeout");
    }
    let started = Instant::now();
    let (status, body) = app.sessions_json().await;
    assert_gateway_error(status, &body, "Gateway timeout");
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_429_with_retry_after_is_honoured() {
    let gw = gateway_answering(
        ResponseTemplate::new(429)
            .insert_header("retry-after", "1")
            .set_body_raw(
                r#"{"ok":false,"error":{"type":"rate_limited"}}"#,
                "application/json",
            ),
    )
    .await;
    let app = spawn_app(test_settings(&gw.uri())).await;
    for _ in 0..5 {
        let (status, body) = app.sessions_json().await;
        assert_gateway_error(status, &body, "Gateway rate limited");
    }
    assert_eq!(calls(&gw).await, 1, "no call before Retry-After");
    tokio::time::sleep(Duration::from_millis(1_050)).await;
    app.sessions_json().await;
    assert_eq!(calls(&gw).await, 2, "called again after Retry-After");
}

#[tokio::test]
async fn stale_serving_is_off_by_default() {
    let gw = gateway_answering_first_then(captured(200, OK_5), failing_500()).await;
    let app = spawn_app(test_settings(&gw.uri())).await;
    assert_eq!(app.sessions_json().await.1["total"], 5);
    let (status, body) = app.sessions_json().await;
    assert_gateway_error(status, &body, "Gateway error");
}

#[tokio::test]
async fn stale_serving_answers_the_last_good_list_with_a_warning() {
    let gw = gateway_answering_first_then(captured(200, OK_5), failing_500()).await;
    let mut settings = test_settings(&gw.uri());
    settings.ops.serve_stale = Duration::from_secs(60);
    let app = spawn_app(settings).await;
    let (_, fresh) = app.sessions_json().await;
    let (status, body) = app.sessions_json().await;
    assert_eq!(status, 200);
    assert_eq!(body["sessions"], fresh["sessions"]);
    assert_eq!(body["error"], "Gateway error");
    assert_eq!(body["source"], "gateway-error");
    assert_eq!(body["stale"], true);
    assert!(body.get("total").is_none());
    let fetched_at = body["fetchedAt"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(fetched_at).is_ok(),
        "{fetched_at}"
    );
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 5, "{body}");
}

#[tokio::test]
async fn stale_lists_expire() {
    let gw = gateway_answering_first_then(captured(200, OK_5), failing_500()).await;
    let mut settings = test_settings(&gw.uri());
    settings.ops.serve_stale = Duration::from_millis(200);
    let app = spawn_app(settings).await;
    app.sessions_json().await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    let (status, body): (u16, Value) = app.sessions_json().await;
    assert_gateway_error(status, &body, "Gateway error");
}
