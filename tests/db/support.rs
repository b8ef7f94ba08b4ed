//! A fresh schema per test, with the dashboard's two tables as Prisma creates them.

use std::time::Duration;

use chrono::Utc;
use sessions_api::config::Settings;
use sessions_api::gateway::GatewayAllowlist;
use sessions_api::store::DatabaseSettings;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Executor;
use url::Url;
use wiremock::MockServer;

use crate::helpers::{captured, gateway_answering, test_settings};

/// Prisma's migration for `model User` / `model Session` (default mapping).
const PRISMA_SCHEMA: &str = r#"
CREATE TABLE "User" (
    "id" TEXT NOT NULL,
    "email" TEXT,
    "name" TEXT,
    "openclawUrl" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);
CREATE TABLE "Session" (
    "id" TEXT NOT NULL,
    "sessionToken" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "expires" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "Session_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");
CREATE UNIQUE INDEX "Session_sessionToken_key" ON "Session"("sessionToken");
ALTER TABLE "Session" ADD CONSTRAINT "Session_userId_fkey" FOREIGN KEY ("userId")
    REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;
"#;

/// `DATABASE_URL`, or a panic that says how to run these tests.
pub fn database_url() -> String {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "DATABASE_URL is not set. These tests need PostgreSQL; run them as \
             `DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo nextest run --run-ignored all` \
             (see README)."
        ),
    }
}

/// The `host:port` of `DATABASE_URL`, for the proxy in the recovery test.
pub fn database_addr() -> String {
    let url = Url::parse(&database_url()).expect("DATABASE_URL is a URL");
    format!(
        "{}:{}",
        url.host_str().unwrap_or("127.0.0.1"),
        url.port().unwrap_or(5432)
    )
}

/// `DATABASE_URL` with another port (nothing or a proxy listening there).
pub fn database_url_on_port(port: u16) -> String {
    let mut url = Url::parse(&database_url()).expect("DATABASE_URL is a URL");
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(port)).unwrap();
    url.to_string()
}

/// One test's own schema; [`TestDb::drop_schema`] removes it.
pub struct TestDb {
    pub admin: PgPool,
    pub schema: String,
    url: String,
}

impl TestDb {
    pub async fn new() -> Self {
        let url = database_url();
        let admin = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(10))
            .connect(&url)
            .await
            .unwrap_or_else(|e| {
                panic!("cannot connect to DATABASE_URL (is PostgreSQL running?): {e}")
            });
        let schema = format!("sessions_api_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = admin.acquire().await.unwrap();
        conn.execute(format!(r#"CREATE SCHEMA "{schema}""#).as_str())
            .await
            .unwrap();
        conn.execute(format!(r#"SET search_path TO "{schema}""#).as_str())
            .await
            .unwrap();
        conn.execute(sqlx::raw_sql(PRISMA_SCHEMA)).await.unwrap();
        conn.execute("RESET search_path").await.unwrap();
        drop(conn);
        Self { admin, schema, url }
    }

    /// Store settings for this schema: short timeouts so failures are quick.
    pub fn settings(&self) -> DatabaseSettings {
        let mut settings = DatabaseSettings::new(&self.url);
        settings.schema = Some(self.schema.clone());
        settings.timeout = Duration::from_millis(1_000);
        settings
    }

    fn table(&self, name: &str) -> String {
        format!(r#""{}"."{name}""#, self.schema)
    }

    pub async fn user(&self, id: &str, email: Option<&str>, openclaw_url: Option<&str>) {
        sqlx::query(&format!(
            r#"INSERT INTO {} ("id", "email", "openclawUrl") VALUES ($1, $2, $3)"#,
            self.table("User")
        ))
        .bind(id)
        .bind(email)
        .bind(openclaw_url)
        .execute(&self.admin)
        .await
        .unwrap();
    }

    /// A session row for `token` expiring `expires_in` from now (negative: already expired).
    pub async fn session(&self, token: &str, user_id: &str, expires_in: chrono::Duration) {
        let expires = (Utc::now() + expires_in).naive_utc();
        sqlx::query(&format!(
            r#"INSERT INTO {} ("id", "sessionToken", "userId", "expires") VALUES ($1, $2, $3, $4)"#,
            self.table("Session")
        ))
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(token)
        .bind(user_id)
        .bind(expires)
        .execute(&self.admin)
        .await
        .unwrap();
    }

    pub async fn delete_session(&self, token: &str) {
        sqlx::query(&format!(
            r#"DELETE FROM {} WHERE "sessionToken" = $1"#,
            self.table("Session")
        ))
        .bind(token)
        .execute(&self.admin)
        .await
        .unwrap();
    }

    pub async fn drop_schema(self) {
        self.admin
            .execute(format!(r#"DROP SCHEMA "{}" CASCADE"#, self.schema).as_str())
            .await
            .unwrap();
        self.admin.close().await;
    }
}

/// Loopback wiremock gateways are allowed on any port.
pub const LOOPBACK_ALLOWLIST: &str = "http://127.0.0.1:*";

/// App settings in front of `shared` (the default gateway) with `database` as the store.
pub fn settings_with_store(shared: &MockServer, database: DatabaseSettings) -> Settings {
    let mut settings = test_settings(&shared.uri());
    settings.database = Some(database);
    settings.gateway_allowlist = GatewayAllowlist::parse(LOOPBACK_ALLOWLIST).unwrap();
    settings
}

/// The shared gateway: answers an empty list, so a response tells which gateway served it.
pub async fn shared_gateway() -> MockServer {
    gateway_answering(captured(200, "sessions_list.ok.0_sessions.json")).await
}

/// A user's own gateway: answers five sessions.
pub async fn user_gateway() -> MockServer {
    gateway_answering(captured(200, "sessions_list.ok.5_sessions.json")).await
}

pub async fn calls(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

/// The `(status, body)` of `GET /api/sessions` with `cookie`.
pub async fn get_json(app: &crate::helpers::TestApp, cookie: &str) -> (u16, serde_json::Value) {
    let response = app.get_sessions(Some(cookie)).await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}
