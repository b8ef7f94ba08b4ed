use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn healthz_needs_no_auth_and_no_gateway() {
    let app = spawn_app(settings_without_gateway().await).await;
    for path in ["/healthz", "/readyz"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], "application/json");
    }
}

#[tokio::test]
async fn other_methods_get_405_with_allow_and_a_json_body() {
    let (app, gw) = app_with_gateway(captured(200, "sessions_list.ok.5_sessions.json")).await;
    for method in [
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let response = app
            .client
            .request(method.clone(), app.url("/api/sessions"))
            .header("cookie", valid_cookie())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{method}");
        let allow = response.headers()["allow"].to_str().unwrap().to_owned();
        assert!(allow.contains("GET") && allow.contains("HEAD"), "{allow}");
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"error": "Method Not Allowed"}));
    }
    assert!(gw.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn unknown_paths_get_a_json_404() {
    let app = spawn_app(settings_without_gateway().await).await;
    let response = app.client.get(app.url("/api/nope")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"error": "Not Found"}));
}

#[tokio::test]
async fn the_openapi_document_is_served() {
    let app = spawn_app(settings_without_gateway().await).await;
    let response = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let served = response.text().await.unwrap();
    assert_eq!(served, sessions_api::openapi::document_json());
}

#[tokio::test]
async fn a_request_over_the_request_timeout_gets_a_json_503_with_retry_after() {
    let gw = gateway_answering(
        captured(200, "sessions_list.ok.5_sessions.json")
            .set_delay(std::time::Duration::from_secs(2)),
    )
    .await;
    let mut settings = test_settings(&gw.uri());
    settings.request_timeout = std::time::Duration::from_millis(200);
    let app = spawn_app(settings).await;
    let started = std::time::Instant::now();
    let response = app.get_sessions(Some(&valid_cookie())).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"error": "Service Unavailable"}));
}
