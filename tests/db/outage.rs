//! The database down, unreachable or slow: 503 for opaque cookies, gateway-error for JWT users,
//! start-up regardless, and recovery without a restart.

use std::time::{Duration, Instant};

use serde_json::json;
use sessions_api::store::DatabaseSettings;
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::*;
use crate::support::*;

/// Store settings for a database at `127.0.0.1:port` (nothing listening, or a proxy).
fn settings_at_port(port: u16, url_template: Option<String>) -> DatabaseSettings {
    let url = url_template.unwrap_or_else(|| format!("postgres://postgres@127.0.0.1:{port}/test"));
    let mut settings = DatabaseSettings::new(&url);
    settings.timeout = Duration::from_millis(500);
    settings
}

async fn assert_store_unavailable(app: &TestApp, cookie: &str) {
    let started = Instant::now();
    let response = app.get_sessions(Some(cookie)).await;
    assert_eq!(response.status(), 503, "{cookie}");
    assert_eq!(response.headers()["retry-after"], "5");
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, json!({"error": "Session store unavailable"}));
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
}

/// Needs no PostgreSQL: the database is a closed port.
#[tokio::test]
async fn the_app_starts_with_the_database_down_and_answers_503_for_opaque_cookies() {
    let shared = shared_gateway().await;
    let port = closed_port().await;
    let app = spawn_app(settings_with_store(&shared, settings_at_port(port, None))).await;
    // Health does not depend on the database.
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    for cookie in [
        "agentbot-session=tok",
        "__Secure-agentbot.session-token=tok",
        "next-auth.session-token=opaque-token",
    ] {
        assert_store_unavailable(&app, cookie).await;
    }
    assert_eq!(calls(&shared).await, 0);
}

/// Needs no PostgreSQL: the database is a closed port.
#[tokio::test]
async fn jwt_users_get_a_gateway_error_not_the_shared_gateway_when_the_lookup_fails() {
    let shared = shared_gateway().await;
    let port = closed_port().await;
    let app = spawn_app(settings_with_store(&shared, settings_at_port(port, None))).await;
    let (status, body) = get_json(&app, &valid_cookie()).await;
    assert_gateway_error(status, &body, "Gateway lookup failed");
    // A valid JWT next to an opaque cookie that cannot be checked: served as the JWT user
    // (no 503), and still no silent fallback to the shared gateway.
    let both = format!("agentbot-session=tok; {}", valid_cookie());
    let (status, body) = get_json(&app, &both).await;
    assert_gateway_error(status, &body, "Gateway lookup failed");
    // No session at all is still 401, even with the store down.
    let (status, _) = get_json(&app, "other=1").await;
    assert_eq!(status, 401);
    assert_eq!(calls(&shared).await, 0);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run with --run-ignored all (see README)"]
async fn a_slow_database_gives_503_and_then_recovers() {
    let db = TestDb::new().await;
    let shared = shared_gateway().await;
    db.user("bob", Some("bob@example.com"), None).await;
    db.session("tok-bob", "bob", chrono::Duration::days(1))
        .await;
    let mut store = db.settings();
    store.timeout = Duration::from_millis(500);
    let app = spawn_app(settings_with_store(&shared, store)).await;

    // Hold a lock the lookup must wait for: the query is slower than the timeout.
    let mut tx = db.admin.begin().await.unwrap();
    sqlx::query(&format!(
        r#"LOCK TABLE "{}"."Session" IN ACCESS EXCLUSIVE MODE"#,
        db.schema
    ))
    .execute(&mut *tx)
    .await
    .unwrap();
    assert_store_unavailable(&app, "agentbot-session=tok-bob").await;
    tx.rollback().await.unwrap();

    // Errors are not cached: the next request is served.
    let (status, body) = get_json(&app, "agentbot-session=tok-bob").await;
    assert_eq!(status, 200, "{body}");
    db.drop_schema().await;
}

/// Forwards every connection on `listener` to `target` until the task is aborted.
async fn proxy(listener: TcpListener, target: String) {
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            return;
        };
        let target = target.clone();
        tokio::spawn(async move {
            if let Ok(mut outbound) = TcpStream::connect(&target).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set DATABASE_URL and run with --run-ignored all (see README)"]
async fn the_store_recovers_on_its_own_when_the_database_comes_back() {
    let db = TestDb::new().await;
    let shared = shared_gateway().await;
    db.user("bob", Some("bob@example.com"), None).await;
    db.session("tok-bob", "bob", chrono::Duration::days(1))
        .await;

    // The app's database is a port with nothing behind it yet.
    let port = closed_port().await;
    let mut store = settings_at_port(port, Some(database_url_on_port(port)));
    store.schema = Some(db.schema.clone());
    let app = spawn_app(settings_with_store(&shared, store)).await;
    assert_store_unavailable(&app, "agentbot-session=tok-bob").await;

    // The database "comes back" on that port.
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("the closed port is free again");
    let forward = tokio::spawn(proxy(listener, database_addr()));
    let mut status = 0;
    for _ in 0..10 {
        status = get_json(&app, "agentbot-session=tok-bob").await.0;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, 200, "served again without a restart");
    forward.abort();
    db.drop_schema().await;
}
