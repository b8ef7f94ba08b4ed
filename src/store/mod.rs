//! The dashboard's PostgreSQL database, read only: opaque session cookies (`"Session"` rows) and
//! per-user gateway URLs (`"User"."openclawUrl"`).
//!
//! - Lazy pool: start-up never needs the database; a database that is down at start or goes
//!   away later is reconnected to on the next lookup, with no restart.
//! - Every lookup is bounded: the pool's acquire timeout, the server-side `statement_timeout`
//!   and a client-side timeout around the whole query.
//! - Queries use bound parameters only.
//! - Results are cached ([`cache`]) so a polling dashboard costs the database almost nothing.
//!   Nothing here logs a token.

mod cache;
pub mod settings;

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::config::ConfigError;
use cache::LookupCache;
pub use settings::{DatabaseSettings, StoreArgs};

/// Longest opaque token looked up; a longer cookie value cannot be a session and costs no query.
pub const MAX_TOKEN_LEN: usize = crate::auth::opaque::MAX_OPAQUE_TOKEN_LEN;

/// Slack added to `DATABASE_TIMEOUT_MS` for the client-side bound around a whole lookup.
pub(crate) const TIMEOUT_SLACK_MS: u64 = 250;

/// A valid session row joined with its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbSession {
    pub user_id: String,
    pub email: String,
    /// When the row says the session ends (UTC).
    pub expires: DateTime<Utc>,
}

/// Why the store could not answer. Never carries a token or the database URL's password.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("session store query timed out after {0:?}")]
    Timeout(Duration),
    #[error("session store error: {0}")]
    Database(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::PoolTimedOut => {
                Self::Database("no connection available (pool timed out)".into())
            }
            other => Self::Database(other.to_string()),
        }
    }
}

const SESSION_QUERY: &str = r#"
SELECT s."userId", u."email", s."expires", u."openclawUrl"
FROM "Session" AS s
JOIN "User" AS u ON u."id" = s."userId"
WHERE s."sessionToken" = $1
  AND s."expires" > (now() AT TIME ZONE 'UTC')
LIMIT 1
"#;

const GATEWAY_QUERY: &str = r#"SELECT "openclawUrl" FROM "User" WHERE "id" = $1 LIMIT 1"#;

/// Reads sessions and users; cheap to clone (the pool and caches are shared).
#[derive(Clone)]
pub struct SessionStore {
    pool: PgPool,
    timeout: Duration,
    cache: LookupCache,
}

impl std::fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionStore")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl SessionStore {
    /// Build the (lazy) pool; no connection is made until the first lookup. Must be called
    /// inside a Tokio runtime.
    pub fn new(settings: &DatabaseSettings) -> Result<Self, ConfigError> {
        let options = settings.connect_options()?;
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .min_connections(0)
            .acquire_timeout(settings.timeout)
            .idle_timeout(Duration::from_secs(300))
            .test_before_acquire(true)
            .connect_lazy_with(options);
        Ok(Self {
            pool,
            timeout: settings.timeout,
            cache: LookupCache::new(settings.cache_ttl, settings.negative_cache_ttl),
        })
    }

    /// The valid session for an opaque cookie value: the row exists, has not expired, and its
    /// user has an email. Cached (also "no such session", for a shorter time).
    pub async fn lookup_session(&self, token: &str) -> Result<Option<DbSession>, StoreError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Ok(None);
        }
        let key = cache::token_key(token);
        let result = self
            .cache
            .session(key, async {
                let row = self.query_session(token).await?;
                Ok(row)
            })
            .await?;
        // A cached entry never outlives the row's `expires` (the cache bounds it too; this
        // makes it exact).
        Ok(result.filter(|s| s.expires > Utc::now()))
    }

    async fn query_session(
        &self,
        token: &str,
    ) -> Result<Option<(DbSession, Option<String>)>, StoreError> {
        let row: Option<(String, Option<String>, NaiveDateTime, Option<String>)> = self
            .bounded(
                sqlx::query_as(SESSION_QUERY)
                    .bind(token)
                    .fetch_optional(&self.pool),
            )
            .await?;
        Ok(row.and_then(|(user_id, email, expires, gateway)| {
            let email = email.filter(|e| !e.trim().is_empty())?;
            Some((
                DbSession {
                    user_id,
                    email,
                    expires: expires.and_utc(),
                },
                gateway,
            ))
        }))
    }

    /// The user's `openclawUrl`, when set (empty counts as unset). Cached.
    pub async fn gateway_url_for(&self, user_id: &str) -> Result<Option<String>, StoreError> {
        let url = self
            .cache
            .gateway(user_id.to_owned(), async {
                let row: Option<(Option<String>,)> = self
                    .bounded(
                        sqlx::query_as(GATEWAY_QUERY)
                            .bind(user_id)
                            .fetch_optional(&self.pool),
                    )
                    .await?;
                Ok(row.and_then(|(url,)| url))
            })
            .await?;
        Ok(url.filter(|u| !u.trim().is_empty()))
    }

    /// The most one lookup may take (connection set-up included); the start-up check budgets
    /// two of these per request, so a caller making several lookups in one phase bounds the
    /// whole phase by this too.
    pub fn lookup_limit(&self) -> Duration {
        self.timeout + Duration::from_millis(TIMEOUT_SLACK_MS)
    }

    async fn bounded<T>(
        &self,
        query: impl std::future::Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, StoreError> {
        // The pool's acquire timeout and `statement_timeout` bound the parts; this bounds the
        // whole, connection set-up included, with a little slack so their errors win.
        let limit = self.lookup_limit();
        match tokio::time::timeout(limit, query).await {
            Ok(result) => result.map_err(StoreError::from),
            Err(_) => Err(StoreError::Timeout(limit)),
        }
    }
}

/// The store for the service's settings (`None` without a database), with start-up log lines.
/// The database is not contacted here: the service starts even when it is down.
pub fn from_settings(
    settings: &crate::config::Settings,
) -> Result<Option<SessionStore>, ConfigError> {
    let Some(database) = &settings.database else {
        tracing::info!("no DATABASE_URL: JWT session cookies only, shared gateway for everyone");
        return Ok(None);
    };
    let store = SessionStore::new(database)?;
    tracing::info!(
        database = %settings::redacted(secrecy::ExposeSecret::expose_secret(&database.url)),
        max_connections = database.max_connections,
        timeout_ms = database.timeout.as_millis() as u64,
        cache_ttl_ms = database.cache_ttl.as_millis() as u64,
        gateway_allowlist = %settings.gateway_allowlist,
        "session store configured (connects on first use)"
    );
    if settings.gateway_allowlist.is_empty() {
        tracing::warn!(
            "GATEWAY_URL_ALLOWLIST is empty: users with an openclawUrl get a gateway-error"
        );
    }
    Ok(Some(store))
}
