use std::time::{Duration, Instant};

use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

async fn assert_error_for(response: ResponseTemplate, message: &str) {
    let (app, _gw) = app_with_gateway(response).await;
    let (status, body) = app.sessions_json().await;
    assert_gateway_error(status, &body, message);
}

#[tokio::test]
async fn captured_error_statuses_give_safe_messages() {
    let cases = [
        (
            401,
            "error.wrong_token.json",
            "Gateway rejected credentials",
        ),
        (
            401,
            "error.missing_auth.json",
            "Gateway rejected credentials",
        ),
        (404, "error.unknown_tool.json", "Tool not available"),
        (404, "error.denied_tool_exec.json", "Tool not available"),
        (400, "error.malformed_json.json", "Gateway error"),
        (400, "error.missing_tool.json", "Gateway error"),
        (400, "error.bad_limit_type.json", "Gateway error"),
        (400, "error.limit0.json", "Gateway error"),
        (500, "error.during_startup.json", "Gateway error"),
        (405, "error.get_method.txt", "Gateway error"),
    ];
    for (status, file, message) in cases {
        assert_error_for(captured(status, file), message).await;
    }
}

#[tokio::test]
async fn the_gateway_body_is_never_echoed() {
    let (app, gw) = app_with_gateway(ResponseTemplate::new(500).set_body_raw(
        r#"{"ok":false,"error":{"type":"x","message":"SECRET-INTERNAL-DETAIL"}}"#,
        "application/json",
    ))
    .await;
    let response = app.get_sessions(Some(&valid_cookie())).await;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert!(!text.contains("SECRET-INTERNAL-DETAIL"), "{text}");
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_gateway_error(status, &body, "Gateway error");
    assert_eq!(
        gw.received_requests().await.unwrap().len(),
        1,
        "the gateway was called"
    );
}

#[tokio::test]
async fn connection_refused_is_unreachable() {
    let app = spawn_app(settings_without_gateway().await).await;
    let (status, body) = app.sessions_json().await;
    assert_gateway_error(status, &body, "Gateway unreachable");
}

#[tokio::test]
async fn a_gateway_that_never_answers_times_out() {
    let gw = gateway_answering(
        captured(200, "sessions_list.ok.5_sessions.json").set_delay(Duration::from_secs(30)),
    )
    .await;
    let mut settings = test_settings(&gw.uri());
    settings.gateway.timeout = Duration::from_millis(300);
    let app = spawn_app(settings).await;
    let started = Instant::now();
    let (status, body) = app.sessions_json().await;
    assert_gateway_error(status, &body, "Gateway timeout");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn malformed_json_is_an_invalid_response() {
    assert_error_for(
        ResponseTemplate::new(200).set_body_raw(r#"{"ok":true,"result":{"#, "application/json"),
        "Invalid gateway response",
    )
    .await;
}

#[tokio::test]
async fn an_html_page_with_200_is_an_invalid_response() {
    // What a real gateway answers on a wrong path: its Control UI.
    assert_error_for(
        captured(200, "other.unknown_path_is_control_ui.html"),
        "Invalid gateway response",
    )
    .await;
}

#[tokio::test]
async fn valid_json_of_the_wrong_shape_is_an_invalid_response() {
    assert_error_for(
        ResponseTemplate::new(200)
            .set_body_raw(r#"{"ok":true,"status":"live"}"#, "application/json"),
        "Invalid gateway response",
    )
    .await;
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let rows: Vec<String> = (0..40_000)
        .map(|i| format!(r#"{{"key":"agent:main:{i}","updatedAt":1796309940000}}"#))
        .collect();
    let body = format!("[{}]", rows.join(","));
    assert!(body.len() > 1024 * 1024);
    assert_error_for(
        ResponseTemplate::new(200).set_body_raw(body, "application/json"),
        "Invalid gateway response",
    )
    .await;
}

#[tokio::test]
async fn redirects_are_not_followed_and_the_token_stays_home() {
    let elsewhere = MockServer::start().await;
    Mock::given(any())
        .respond_with(captured(200, "sessions_list.ok.5_sessions.json"))
        .mount(&elsewhere)
        .await;
    let (app, _gw) = app_with_gateway(ResponseTemplate::new(302).insert_header(
        "location",
        format!("{}/tools/invoke", elsewhere.uri()).as_str(),
    ))
    .await;
    let (status, body) = app.sessions_json().await;
    assert_gateway_error(status, &body, "Gateway error");
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn no_gateway_token_means_not_configured_and_no_call() {
    let gw = gateway_answering(captured(200, "sessions_list.ok.5_sessions.json")).await;
    let mut settings = test_settings(&gw.uri());
    settings.gateway.token = None;
    let app = spawn_app(settings).await;
    let (status, body) = app.sessions_json().await;
    assert_gateway_error(status, &body, "Gateway not configured");
    assert!(gw.received_requests().await.unwrap().is_empty());
}
