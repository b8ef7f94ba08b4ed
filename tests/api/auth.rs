use serde_json::{json, Value};

use crate::helpers::*;

async fn assert_unauthorized(app: &TestApp, cookie: Option<&str>) {
    let response = app.get_sessions(cookie).await;
    assert_eq!(response.status(), 401, "cookie {cookie:?}");
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"error": "Unauthorized"}));
}

#[tokio::test]
async fn requests_without_a_valid_session_get_401_and_no_gateway_call() {
    let (app, gw) = app_with_gateway(captured(200, "sessions_list.ok.5_sessions.json")).await;
    let expired = vector_cookie("v4/expired");
    let wrong_secret = vector_cookie("v4/wrong-secret");
    let tampered = vector_cookie("v4/tamper-tag");
    let cases: [Option<&str>; 8] = [
        None,
        Some(""),
        Some("next-auth.session-token="),
        Some("next-auth.session-token=garbage"),
        Some("other=1; unrelated=2"),
        Some(&expired),
        Some(&wrong_secret),
        Some(&tampered),
    ];
    for cookie in cases {
        assert_unauthorized(&app, cookie).await;
    }
    assert!(gw.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_bearer_header_alone_is_not_a_session() {
    let (app, _gw) = app_with_gateway(captured(200, "sessions_list.ok.5_sessions.json")).await;
    let token = valid_cookie().split_once('=').unwrap().1.to_owned();
    let response = app
        .client
        .get(app.url("/api/sessions"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn every_cookie_form_the_dashboard_sends_is_accepted() {
    let (app, _gw) = app_with_gateway(captured(200, "sessions_list.ok.0_sessions.json")).await;
    for name in [
        "v4/valid",
        "v4/valid-secure-cookie-name",
        "v5/valid",
        "v5/valid-secure-cookie-name",
    ] {
        let cookie = format!("theme=dark; {}; other=1", vector_cookie(name));
        let response = app.get_sessions(Some(&cookie)).await;
        assert_eq!(response.status(), 200, "{name}");
    }
}

#[tokio::test]
async fn no_secret_configured_means_401_for_everyone() {
    let gw = gateway_answering(captured(200, "sessions_list.ok.5_sessions.json")).await;
    let mut settings = test_settings(&gw.uri());
    settings.secrets = Default::default();
    let app = spawn_app(settings).await;
    assert_unauthorized(&app, Some(&valid_cookie())).await;
}
