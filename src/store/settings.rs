//! Configuration of the session store and per-user gateways: flags, env and validation.
//! Flattened into [`crate::config::ServeArgs`]; the results land in [`crate::config::Settings`].

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::Args;
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::PgConnectOptions;
use url::Url;

use crate::config::{value_or_file, ConfigError};
use crate::gateway::GatewayAllowlist;

/// Flags for the PostgreSQL session store and per-user gateways.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// PostgreSQL URL of the dashboard's database (read only). Enables opaque session cookies
    /// and per-user gateways; without it the service only accepts JWT cookies and uses the
    /// shared gateway.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// File holding DATABASE_URL.
    #[arg(long, env = "DATABASE_URL_FILE")]
    pub database_url_file: Option<PathBuf>,

    /// Most connections the pool opens to PostgreSQL.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 5)]
    pub database_max_connections: u32,

    /// Time allowed to get a connection and run one query, in milliseconds.
    #[arg(long, env = "DATABASE_TIMEOUT_MS", default_value_t = 2_000)]
    pub database_timeout_ms: u64,

    /// How long a found session or user gateway is cached, in milliseconds (0: no cache).
    #[arg(long, env = "SESSION_CACHE_TTL_MS", default_value_t = 30_000)]
    pub session_cache_ttl_ms: u64,

    /// How long "no such session" is cached, in milliseconds; at most SESSION_CACHE_TTL_MS.
    #[arg(long, env = "SESSION_NEGATIVE_CACHE_TTL_MS", default_value_t = 5_000)]
    pub session_negative_cache_ttl_ms: u64,

    /// Comma-separated patterns of per-user gateway URLs that may be called, e.g.
    /// `https://*.agents.example.com,http://127.0.0.1:*`. Empty: no per-user gateway is called.
    #[arg(long, env = "GATEWAY_URL_ALLOWLIST", default_value = "")]
    pub gateway_url_allowlist: String,
}

/// How to reach the dashboard's PostgreSQL database.
#[derive(Clone)]
pub struct DatabaseSettings {
    /// The connection URL; it may hold a password, so it is never logged.
    pub url: SecretString,
    /// `search_path` for the connections (Prisma's `?schema=` parameter, or a test schema).
    pub schema: Option<String>,
    pub max_connections: u32,
    /// Bounds acquiring a connection and each query (also sent as `statement_timeout`).
    pub timeout: Duration,
    /// Lifetime of cached positive lookups (a session, a user's gateway URL).
    pub cache_ttl: Duration,
    /// Lifetime of cached negative lookups (no such session); at most `cache_ttl`.
    pub negative_cache_ttl: Duration,
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &redacted(self.url.expose_secret()))
            .field("schema", &self.schema)
            .field("max_connections", &self.max_connections)
            .field("timeout", &self.timeout)
            .field("cache_ttl", &self.cache_ttl)
            .field("negative_cache_ttl", &self.negative_cache_ttl)
            .finish()
    }
}

impl DatabaseSettings {
    /// Settings with the defaults of the flags, for `url`.
    pub fn new(url: &str) -> Self {
        Self {
            url: SecretString::from(url.to_owned()),
            schema: None,
            max_connections: 5,
            timeout: Duration::from_millis(2_000),
            cache_ttl: Duration::from_millis(30_000),
            negative_cache_ttl: Duration::from_millis(5_000),
        }
    }

    /// Connection options: the URL (without Prisma's `schema` parameter, which becomes
    /// `search_path`), plus `statement_timeout` and `application_name`.
    pub fn connect_options(&self) -> Result<PgConnectOptions, ConfigError> {
        let invalid = ConfigError::Invalid {
            name: "DATABASE_URL",
            reason: "not a valid postgres:// URL",
        };
        let mut url = Url::parse(self.url.expose_secret()).map_err(|_| invalid)?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(ConfigError::Invalid {
                name: "DATABASE_URL",
                reason: "scheme must be postgres or postgresql",
            });
        }
        let mut schema = self.schema.clone();
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, v)| {
                if k == "schema" {
                    schema.get_or_insert_with(|| v.to_string());
                    false
                } else {
                    true
                }
            })
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if pairs.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        let options =
            PgConnectOptions::from_str(url.as_str()).map_err(|_| ConfigError::Invalid {
                name: "DATABASE_URL",
                reason: "not a valid postgres:// URL",
            })?;
        let mut extra = vec![(
            "statement_timeout",
            format!("{}", self.timeout.as_millis().max(1)),
        )];
        if let Some(schema) = schema.filter(|s| !s.is_empty()) {
            if !schema
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(ConfigError::Invalid {
                    name: "DATABASE_URL",
                    reason: "schema may only contain letters, digits, '_' and '-'",
                });
            }
            extra.push(("search_path", format!("\"{schema}\"")));
        }
        Ok(options.application_name("sessions-api").options(extra))
    }
}

/// The URL for logs: password replaced, query and fragment dropped (sqlx also takes
/// `?password=…`, and other parameters may hold secrets too).
pub fn redacted(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        }
        Err(_) => "<unparsable>".to_owned(),
    }
}

impl StoreArgs {
    /// Validate into the store settings (`None`: no database configured) and the allow-list.
    ///
    /// `lookup_budget` is the part of a request's time left after the gateway call: a request
    /// may make two lookups (session, then gateway URL), and both must fit, so that a slow
    /// database still gets the 503 / gateway-error answer rather than the generic timeout.
    pub fn into_settings(
        self,
        lookup_budget: Duration,
    ) -> Result<(Option<DatabaseSettings>, GatewayAllowlist), ConfigError> {
        let allowlist = GatewayAllowlist::parse(&self.gateway_url_allowlist)
            .map_err(|e| ConfigError::GatewayAllowlist(e.to_string()))?;
        let url = value_or_file(
            "DATABASE_URL",
            self.database_url,
            self.database_url_file.as_deref(),
        )?;
        let Some(url) = url else {
            return Ok((None, allowlist));
        };
        if self.database_max_connections == 0 {
            return Err(ConfigError::Invalid {
                name: "DATABASE_MAX_CONNECTIONS",
                reason: "must be greater than 0",
            });
        }
        // PostgreSQL's statement_timeout is an int4 of milliseconds.
        if self.database_timeout_ms == 0 || self.database_timeout_ms > i32::MAX as u64 {
            return Err(ConfigError::Invalid {
                name: "DATABASE_TIMEOUT_MS",
                reason: "must be between 1 and 2147483647",
            });
        }
        let worst_case =
            2 * (u128::from(self.database_timeout_ms) + u128::from(super::TIMEOUT_SLACK_MS));
        if worst_case >= lookup_budget.as_millis() {
            return Err(ConfigError::Invalid {
                name: "DATABASE_TIMEOUT_MS",
                reason: "too long: 2 x (DATABASE_TIMEOUT_MS + 250) + GATEWAY_TIMEOUT_MS must be less than REQUEST_TIMEOUT_MS",
            });
        }
        let settings = DatabaseSettings {
            url,
            schema: None,
            max_connections: self.database_max_connections,
            timeout: Duration::from_millis(self.database_timeout_ms),
            cache_ttl: Duration::from_millis(self.session_cache_ttl_ms),
            negative_cache_ttl: Duration::from_millis(
                self.session_negative_cache_ttl_ms
                    .min(self.session_cache_ttl_ms),
            ),
        };
        settings.connect_options()?;
        Ok((Some(settings), allowlist))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(flags: &[&str]) -> Result<(Option<DatabaseSettings>, GatewayAllowlist), ConfigError> {
        // Flags only: the process environment (e.g. DATABASE_URL in CI) must not leak in.
        crate::config::parse_flags::<StoreArgs>(flags).into_settings(Duration::from_secs(5))
    }

    #[test]
    fn no_database_url_means_no_store() {
        let (db, list) = parse(&[]).unwrap();
        assert!(db.is_none());
        assert!(list.is_empty());
    }

    #[test]
    fn flags_are_validated() {
        let url = "postgres://postgres@127.0.0.1:5432/test";
        let (db, list) = parse(&[
            "--database-url",
            url,
            "--session-cache-ttl-ms",
            "1000",
            "--gateway-url-allowlist",
            "https://*.agents.example.com, http://127.0.0.1:*",
        ])
        .unwrap();
        let db = db.unwrap();
        assert_eq!(db.cache_ttl, Duration::from_secs(1));
        assert_eq!(db.negative_cache_ttl, Duration::from_secs(1));
        assert_eq!(list.len(), 2);
        for bad in [
            &["--database-url", url, "--database-max-connections", "0"][..],
            &["--database-url", url, "--database-timeout-ms", "0"],
            &["--database-url", url, "--database-timeout-ms", "2300"],
            &["--database-url", "mysql://x/y"],
            &["--gateway-url-allowlist", "https://a.*.example.com"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn prisma_schema_parameter_becomes_search_path() {
        let s = DatabaseSettings::new("postgresql://u:pw@db:5432/app?schema=dash&sslmode=prefer");
        let opts = s.connect_options().unwrap();
        let text = opts.get_options().unwrap_or_default().to_owned();
        assert!(text.contains("search_path=\"dash\""), "{text}");
        assert!(text.contains("statement_timeout=2000"), "{text}");
        assert_eq!(opts.get_database(), Some("app"));
    }

    #[test]
    fn bad_urls_and_schemas_are_rejected_without_echoing_them() {
        for bad in [
            "mysql://u:hunter2@db/app",
            "not a url hunter2",
            "postgres://u:hunter2@db/app?schema=a;drop",
        ] {
            let err = DatabaseSettings::new(bad).connect_options().unwrap_err();
            assert!(!err.to_string().contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn debug_and_redacted_hide_the_password() {
        let s = DatabaseSettings::new("postgres://u:hunter2@db:5432/app");
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(dbg.contains("postgres://u:***@db:5432/app"), "{dbg}");
        let q = DatabaseSettings::new("postgres://app@db:5432/app?password=hunter2&sslmode=prefer");
        let dbg = format!("{q:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert_eq!(
            redacted("postgres://app@db/app?sslpassword=hunter2#x"),
            "postgres://app@db/app"
        );
    }

    #[test]
    fn database_timeouts_postgres_cannot_take_are_refused() {
        for ms in ["2147483648", "18446744073709551615", "9223372036854775558"] {
            let err = parse(&[
                "--database-url",
                "postgres://u@db/app",
                "--database-timeout-ms",
                ms,
            ]);
            assert!(err.is_err(), "{ms}");
        }
    }
}
