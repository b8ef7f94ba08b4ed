//! Short-lived caches in front of the store, so a dashboard polling every few seconds costs the
//! database almost nothing.
//!
//! Consistency trade-off: a revoked session or a changed `openclawUrl` is seen at the latest
//! after the TTL (`SESSION_CACHE_TTL_MS`); a session created after a "no such session" answer
//! after the negative TTL. A cached session never outlives its row's `expires`.
//! Concurrent lookups of the same key share one query; failed lookups are not cached.
//! Sessions are keyed by the SHA-256 of the token, so raw tokens are not kept in memory.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::future::Cache;
use moka::Expiry;
use sha2::{Digest, Sha256};

use super::{DbSession, StoreError};

const MAX_ENTRIES: u64 = 100_000;

pub(super) type TokenKey = [u8; 32];

pub(super) fn token_key(token: &str) -> TokenKey {
    Sha256::digest(token.as_bytes()).into()
}

/// Positive entries live `ttl` but never past the session's `expires`; negative ones `negative`.
struct SessionExpiry {
    ttl: Duration,
    negative: Duration,
}

impl Expiry<TokenKey, Option<DbSession>> for SessionExpiry {
    fn expire_after_create(
        &self,
        _key: &TokenKey,
        value: &Option<DbSession>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(match value {
            Some(session) => {
                let left = (session.expires - chrono::Utc::now())
                    .to_std()
                    .unwrap_or(Duration::ZERO);
                left.min(self.ttl)
            }
            None => self.negative,
        })
    }
}

#[derive(Clone)]
pub(super) struct LookupCache {
    /// `None` when the TTL is zero: every lookup goes to the database.
    caches: Option<Caches>,
}

#[derive(Clone)]
struct Caches {
    sessions: Cache<TokenKey, Option<DbSession>>,
    /// user id → `openclawUrl`.
    gateways: Cache<String, Option<String>>,
}

impl LookupCache {
    pub(super) fn new(ttl: Duration, negative: Duration) -> Self {
        if ttl.is_zero() {
            return Self { caches: None };
        }
        let sessions = Cache::builder()
            .max_capacity(MAX_ENTRIES)
            .expire_after(SessionExpiry {
                ttl,
                negative: negative.min(ttl),
            })
            .build();
        let gateways = Cache::builder()
            .max_capacity(MAX_ENTRIES)
            .time_to_live(ttl)
            .build();
        Self {
            caches: Some(Caches { sessions, gateways }),
        }
    }

    /// The cached session for `key`, or the result of `init` (a session and its user's gateway
    /// URL, which also primes the gateway cache).
    pub(super) async fn session<F>(
        &self,
        key: TokenKey,
        init: F,
    ) -> Result<Option<DbSession>, StoreError>
    where
        F: Future<Output = Result<Option<(DbSession, Option<String>)>, StoreError>>,
    {
        let Some(caches) = &self.caches else {
            return Ok(init.await?.map(|(session, _)| session));
        };
        let gateways = &caches.gateways;
        caches
            .sessions
            .try_get_with(key, async move {
                let found = init.await?;
                if let Some((session, gateway)) = &found {
                    gateways
                        .insert(session.user_id.clone(), gateway.clone())
                        .await;
                }
                Ok(found.map(|(session, _)| session))
            })
            .await
            .map_err(|e: Arc<StoreError>| (*e).clone())
    }

    /// The cached gateway URL of `user_id`, or the result of `init`.
    pub(super) async fn gateway<F>(
        &self,
        user_id: String,
        init: F,
    ) -> Result<Option<String>, StoreError>
    where
        F: Future<Output = Result<Option<String>, StoreError>>,
    {
        let Some(caches) = &self.caches else {
            return init.await;
        };
        caches
            .gateways
            .try_get_with(user_id, init)
            .await
            .map_err(|e: Arc<StoreError>| (*e).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn session(expires_in: chrono::Duration) -> DbSession {
        DbSession {
            user_id: "u1".into(),
            email: "u1@example.com".into(),
            expires: chrono::Utc::now() + expires_in,
        }
    }

    #[tokio::test]
    async fn hits_skip_the_database_and_errors_are_not_cached() {
        let cache = LookupCache::new(Duration::from_secs(30), Duration::from_secs(5));
        let calls = AtomicUsize::new(0);
        let key = token_key("t");
        let fail = cache
            .session(key, async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(StoreError::Timeout(Duration::ZERO))
            })
            .await;
        assert!(fail.is_err());
        for _ in 0..3 {
            let got = cache
                .session(key, async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Ok(Some((
                        session(chrono::Duration::hours(1)),
                        Some("http://gw".into()),
                    )))
                })
                .await
                .unwrap();
            assert_eq!(got.unwrap().user_id, "u1");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // The session lookup primed the user's gateway.
        let gw = cache
            .gateway("u1".into(), async { panic!("not cached") })
            .await
            .unwrap();
        assert_eq!(gw.as_deref(), Some("http://gw"));
    }

    #[tokio::test]
    async fn zero_ttl_disables_caching() {
        let cache = LookupCache::new(Duration::ZERO, Duration::ZERO);
        let calls = AtomicUsize::new(0);
        for _ in 0..2 {
            cache
                .gateway("u".into(), async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Ok(None)
                })
                .await
                .unwrap();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn positive_entries_never_outlive_the_session() {
        let expiry = SessionExpiry {
            ttl: Duration::from_secs(30),
            negative: Duration::from_secs(5),
        };
        let key = token_key("t");
        let now = Instant::now();
        let soon = expiry
            .expire_after_create(&key, &Some(session(chrono::Duration::seconds(2))), now)
            .unwrap();
        assert!(soon <= Duration::from_secs(2));
        let later = expiry
            .expire_after_create(&key, &Some(session(chrono::Duration::hours(2))), now)
            .unwrap();
        assert_eq!(later, Duration::from_secs(30));
        let past = expiry
            .expire_after_create(&key, &Some(session(chrono::Duration::seconds(-2))), now)
            .unwrap();
        assert_eq!(past, Duration::ZERO);
        assert_eq!(
            expiry.expire_after_create(&key, &None, now),
            Some(Duration::from_secs(5))
        );
    }

    #[test]
    fn keys_are_hashes_not_tokens() {
        assert_ne!(token_key("a"), token_key("b"));
        assert_eq!(token_key("a"), token_key("a"));
    }
}
