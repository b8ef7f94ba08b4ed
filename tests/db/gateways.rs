//! Per-user gateways: `"User"."openclawUrl"`, checked against the allow-list.

use chrono::Duration as Span;
use serde_json::json;
use sessions_api::gateway::GatewayAllowlist;
use wiremock::MockServer;

use crate::helpers::*;
use crate::support::*;

/// `user_123` is the `sub` of the test JWT ([`valid_cookie`]).
const JWT_USER: &str = "user_123";

async fn app_for(db: &TestDb, shared: &MockServer, allowlist: Option<&str>) -> TestApp {
    let mut settings = settings_with_store(shared, db.settings());
    if let Some(list) = allowlist {
        settings.gateway_allowlist = GatewayAllowlist::parse(list).unwrap();
    }
    spawn_app(settings).await
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run with --run-ignored all (see README)"]
async fn a_jwt_user_with_an_openclaw_url_is_routed_to_it() {
    let db = TestDb::new().await;
    let shared = shared_gateway().await;
    let own = user_gateway().await;
    db.user(
        JWT_USER,
        Some("dj@example.com"),
        Some(&format!("{}/", own.uri())),
    )
    .await;
    let app = app_for(&db, &shared, None).await;
    let (status, body) = get_json(&app, &valid_cookie()).await;
    assert_eq!((status, body["total"].clone()), (200, json!(5)), "{body}");
    assert_eq!(calls(&own).await, 1);
    assert_eq!(calls(&shared).await, 0);
    db.drop_schema().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run with --run-ignored all (see README)"]
async fn users_without_a_row_or_with_an_empty_url_use_the_shared_gateway() {
    let db = TestDb::new().await;
    let shared = shared_gateway().await;
    let app = app_for(&db, &shared, None).await;
    // No "User" row for the JWT's sub.
    let (status, body) = get_json(&app, &valid_cookie()).await;
    assert_eq!((status, body["total"].clone()), (200, json!(0)), "{body}");
    // Empty and blank URLs count as unset.
    db.user("empty", Some("e@example.com"), Some("")).await;
    db.user("blank", Some("b@example.com"), Some("  ")).await;
    db.session("tok-empty", "empty", Span::days(1)).await;
    db.session("tok-blank", "blank", Span::days(1)).await;
    for cookie in ["agentbot-session=tok-empty", "agentbot-session=tok-blank"] {
        let (status, body) = get_json(&app, cookie).await;
        assert_eq!((status, body["total"].clone()), (200, json!(0)), "{body}");
    }
    assert_eq!(calls(&shared).await, 3);
    db.drop_schema().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run with --run-ignored all (see README)"]
async fn a_url_off_the_allow_list_is_never_called() {
    let db = TestDb::new().await;
    let shared = shared_gateway().await;
    let allowed = user_gateway().await;
    // A real, reachable gateway, named in ways the allow-list does not cover.
    let forbidden = user_gateway().await;
    let port = forbidden.address().port();
    let allowed_port = allowed.address().port();
    let forbidden_urls = [
        format!("http://localhost:{port}"),
        format!("https://127.0.0.1:{port}"),
        format!("http://127.0.0.1:{port}"),
        format!("http://user:pw@127.0.0.1:{allowed_port}"),
        format!("http://127.0.0.1:{allowed_port}/?redirect=http://127.0.0.1:{port}"),
        "javascript:alert(1)".to_owned(),
        "not a url".to_owned(),
    ];
    for (i, url) in forbidden_urls.iter().enumerate() {
        db.user(
            &format!("u{i}"),
            Some(&format!("u{i}@example.com")),
            Some(url),
        )
        .await;
        db.session(&format!("tok-{i}"), &format!("u{i}"), Span::days(1))
            .await;
    }
    db.user(JWT_USER, Some("dj@example.com"), Some(&forbidden.uri()))
        .await;
    let app = app_for(
        &db,
        &shared,
        Some(&format!("http://127.0.0.1:{allowed_port}")),
    )
    .await;
    for i in 0..forbidden_urls.len() {
        let (status, body) = get_json(&app, &format!("agentbot-session=tok-{i}")).await;
        assert_gateway_error(status, &body, "Gateway not allowed");
    }
    let (status, body) = get_json(&app, &valid_cookie()).await;
    assert_gateway_error(status, &body, "Gateway not allowed");
    // The token went nowhere: neither the forbidden server nor, silently, the shared one.
    assert_eq!(calls(&forbidden).await, 0);
    assert_eq!(calls(&shared).await, 0);
    assert_eq!(calls(&allowed).await, 0);
    db.drop_schema().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run with --run-ignored all (see README)"]
async fn an_empty_allow_list_refuses_every_per_user_gateway() {
    let db = TestDb::new().await;
    let shared = shared_gateway().await;
    let own = user_gateway().await;
    db.user(JWT_USER, Some("dj@example.com"), Some(&own.uri()))
        .await;
    let app = app_for(&db, &shared, Some("")).await;
    let (status, body) = get_json(&app, &valid_cookie()).await;
    assert_gateway_error(status, &body, "Gateway not allowed");
    assert_eq!(calls(&own).await + calls(&shared).await, 0);
    db.drop_schema().await;
}
