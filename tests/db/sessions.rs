//! Opaque session cookies looked up in `"Session"`.

use std::time::Duration;

use chrono::Duration as Span;
use serde_json::json;
use sessions_api::config::Settings;

use crate::helpers::*;
use crate::support::*;

const DAY: Span = Span::days(1);

/// The app in front of a shared gateway, with a store on a fresh schema holding:
/// `alice` (own gateway), `bob` (no gateway), `nomail` (no email).
struct Fixture {
    db: TestDb,
    app: TestApp,
    shared: wiremock::MockServer,
    alice_gw: wiremock::MockServer,
}

async fn fixture_with(tune: impl FnOnce(&mut Settings)) -> Fixture {
    let db = TestDb::new().await;
    let shared = shared_gateway().await;
    let alice_gw = user_gateway().await;
    db.user("alice", Some("alice@example.com"), Some(&alice_gw.uri()))
        .await;
    db.user("bob", Some("bob@example.com"), None).await;
    db.user("nomail", None, None).await;
    db.session("tok-alice", "alice", DAY).await;
    db.session("tok-bob", "bob", DAY).await;
    db.session("tok-expired", "alice", -Span::seconds(1)).await;
    db.session("tok-nomail", "nomail", DAY).await;
    let mut settings = settings_with_store(&shared, db.settings());
    tune(&mut settings);
    let app = spawn_app(settings).await;
    Fixture {
        db,
        app,
        shared,
        alice_gw,
    }
}

async fn fixture() -> Fixture {
    fixture_with(|_| {}).await
}

fn assert_unauthorized(status: u16, body: &serde_json::Value) {
    assert_eq!(status, 401, "{body}");
    assert_eq!(body, &json!({"error": "Unauthorized"}));
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run with --run-ignored all (see README)"]
async fn a_dashboard_session_is_served_from_the_users_own_gateway() {
    let f = fixture().await;
    let (status, body) = get_json(&f.app, "agentbot-session=tok-alice").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["source"], "gateway");
    assert_eq!(body["total"], 5);
    assert_eq!(calls(&f.alice_gw).await, 1);
    assert_eq!(calls(&f.shared).await, 0);
    f.db.drop_schema().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run with --run-ignored all (see README)"]
async fn every_opaque_cookie_name_is_accepted() {
    let f = fixture().await;
    for cookie in [
        "agentbot-session=tok-bob",
        "__Secure-agentbot.session-token=tok-bob",
        "next-auth.session-token=tok-bob",
        "__Secure-next-auth.session-token=tok-bob",
        "other=1; next-auth.session-token=tok-bob; x=2",
    ] {
        let (status, body) = get_json(&f.app, cookie).await;
        assert_eq!(status, 200, "{cookie}: {body}");
        // bob has no gateway of his own: the shared one answers.
        assert_eq!(body["total"], 0, "{cookie}");
    }
    assert_eq!(calls(&f.shared).await, 5);
    assert_eq!(calls(&f.alice_gw).await, 0);
    f.db.drop_schema().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run with --run-ignored all (see README)"]
async fn expired_unknown_and_email_less_sessions_are_401() {
    let f = fixture().await;
    for cookie in [
        "agentbot-session=tok-expired",
        "agentbot-session=tok-unknown",
        "agentbot-session=tok-nomail",
        "next-auth.session-token=tok-expired",
        "agentbot-session=x' OR '1'='1",
        "agentbot-session=x'OR'1'='1",
        "agentbot-session=x'/**/OR/**/\"sessionToken\"/**/IS/**/NOT/**/NULL--",
        "agentbot-session=tok-alice'--",
        "agentbot-session=%",
        "agentbot-session=TOK-ALICE",
    ] {
        let (status, body) = get_json(&f.app, cookie).await;
        assert_unauthorized(status, &body);
    }
    assert_eq!(calls(&f.shared).await + calls(&f.alice_gw).await, 0);
    f.db.drop_schema().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run with --run-ignored all (see README)"]
async fn the_opaque_cookie_is_checked_before_the_jwt_cookie() {
    let f = fixture().await;
    // Both valid: the opaque session (alice, own gateway) wins over the JWT (user_123, shared).
    let both = format!("{}; agentbot-session=tok-alice", valid_cookie());
    let (status, body) = get_json(&f.app, &both).await;
    assert_eq!((status, body["total"].clone()), (200, json!(5)));
    assert_eq!(calls(&f.alice_gw).await, 1);
    // An invalid opaque cookie falls through to a valid JWT.
    let fallback = format!("agentbot-session=tok-expired; {}", valid_cookie());
    let (status, body) = get_json(&f.app, &fallback).await;
    assert_eq!((status, body["total"].clone()), (200, json!(0)));
    assert_eq!(calls(&f.shared).await, 1);
    f.db.drop_schema().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run with --run-ignored all (see README)"]
async fn cached_sessions_survive_a_deleted_row_until_the_ttl() {
    let f = fixture_with(|s| {
        let db = s.database.as_mut().unwrap();
        db.cache_ttl = Duration::from_millis(1_500);
    })
    .await;
    let (status, _) = get_json(&f.app, "agentbot-session=tok-bob").await;
    assert_eq!(status, 200);
    // Revoked in the database; the cache still answers (no query) within the TTL ...
    f.db.delete_session("tok-bob").await;
    let (status, _) = get_json(&f.app, "agentbot-session=tok-bob").await;
    assert_eq!(
        status, 200,
        "second request within the TTL is served from the cache"
    );
    // ... and the revocation takes effect once it has passed.
    tokio::time::sleep(Duration::from_millis(1_700)).await;
    let (status, body) = get_json(&f.app, "agentbot-session=tok-bob").await;
    assert_unauthorized(status, &body);
    f.db.drop_schema().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run with --run-ignored all (see README)"]
async fn with_a_zero_ttl_every_request_reads_the_database() {
    let f = fixture_with(|s| {
        let db = s.database.as_mut().unwrap();
        db.cache_ttl = Duration::ZERO;
        db.negative_cache_ttl = Duration::ZERO;
    })
    .await;
    let (status, _) = get_json(&f.app, "agentbot-session=tok-bob").await;
    assert_eq!(status, 200);
    f.db.delete_session("tok-bob").await;
    let (status, body) = get_json(&f.app, "agentbot-session=tok-bob").await;
    assert_unauthorized(status, &body);
    f.db.drop_schema().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run with --run-ignored all (see README)"]
async fn a_cached_session_stops_working_when_it_expires() {
    let f = fixture().await; // 30 s cache
    f.db.session("tok-short", "bob", Span::milliseconds(1_500))
        .await;
    let (status, _) = get_json(&f.app, "agentbot-session=tok-short").await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(1_700)).await;
    let (status, body) = get_json(&f.app, "agentbot-session=tok-short").await;
    assert_unauthorized(status, &body);
    f.db.drop_schema().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run with --run-ignored all (see README)"]
async fn unknown_tokens_are_cached_for_the_shorter_negative_ttl() {
    let f = fixture_with(|s| {
        let db = s.database.as_mut().unwrap();
        db.negative_cache_ttl = Duration::from_millis(1_000);
    })
    .await;
    let (status, _) = get_json(&f.app, "agentbot-session=tok-new").await;
    assert_eq!(status, 401);
    f.db.session("tok-new", "bob", DAY).await;
    let (status, _) = get_json(&f.app, "agentbot-session=tok-new").await;
    assert_eq!(status, 401, "the negative answer is cached");
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let (status, _) = get_json(&f.app, "agentbot-session=tok-new").await;
    assert_eq!(status, 200, "and expires after the negative TTL");
    f.db.drop_schema().await;
}

/// No database configured: opaque cookies are simply not sessions. Needs no PostgreSQL.
#[tokio::test]
async fn without_a_store_opaque_cookies_are_401() {
    let shared = shared_gateway().await;
    let app = spawn_app(test_settings(&shared.uri())).await;
    for cookie in [
        "agentbot-session=tok-alice",
        "__Secure-agentbot.session-token=tok-alice",
        "next-auth.session-token=tok-alice",
    ] {
        let (status, body) = get_json(&app, cookie).await;
        assert_unauthorized(status, &body);
    }
    // JWT users are served as before.
    let (status, _) = get_json(&app, &valid_cookie()).await;
    assert_eq!(status, 200);
}
