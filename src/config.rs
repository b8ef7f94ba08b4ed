//! Configuration: clap flags with environment fallbacks, validated once at start-up into
//! [`Settings`]. Tests build `Settings` directly and never touch the process environment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::auth::SessionSecrets;
use crate::gateway::GatewayAllowlist;
use crate::store::{DatabaseSettings, StoreArgs};

mod ops;
pub use ops::{parse_origin, parse_proxy, OpsArgs, OpsSettings};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    #[default]
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Flags of the `serve` command (also the default when no subcommand is given).
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address the HTTP server listens on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:3000")]
    pub listen_addr: SocketAddr,

    /// Base URL of the OpenClaw gateway (`/tools/invoke` is appended).
    #[arg(
        long,
        env = "OPENCLAW_GATEWAY_URL",
        default_value = "http://127.0.0.1:18789"
    )]
    pub gateway_url: String,

    /// Bearer token for the gateway. Without it every request answers `gateway-error`.
    #[arg(long, env = "OPENCLAW_GATEWAY_TOKEN", hide_env_values = true)]
    pub gateway_token: Option<String>,

    /// File holding the gateway token (alternative to OPENCLAW_GATEWAY_TOKEN).
    #[arg(long, env = "OPENCLAW_GATEWAY_TOKEN_FILE")]
    pub gateway_token_file: Option<PathBuf>,

    /// Total time allowed for one gateway call, connect included, in milliseconds.
    #[arg(long, env = "GATEWAY_TIMEOUT_MS", default_value_t = 5_000)]
    pub gateway_timeout_ms: u64,

    /// Time allowed to establish the TCP/TLS connection to the gateway, in milliseconds.
    #[arg(long, env = "GATEWAY_CONNECT_TIMEOUT_MS", default_value_t = 1_000)]
    pub gateway_connect_timeout_ms: u64,

    /// Largest gateway response body accepted, in bytes.
    #[arg(long, env = "GATEWAY_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub gateway_max_body_bytes: usize,

    /// Time allowed for a whole request to this service, in milliseconds; must exceed the gateway timeout.
    #[arg(long, env = "REQUEST_TIMEOUT_MS", default_value_t = 10_000)]
    pub request_timeout_ms: u64,

    #[command(flatten)]
    pub secrets: SecretArgs,

    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub ops: OpsArgs,

    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
}

/// The NextAuth / Auth.js secrets, each also readable from a file (`*_FILE`).
#[derive(Debug, Clone, Default, Args)]
pub struct SecretArgs {
    /// NextAuth v4 secret (also serves Auth.js v5 when AUTH_SECRET is unset).
    #[arg(long, env = "NEXTAUTH_SECRET", hide_env_values = true)]
    pub nextauth_secret: Option<String>,
    /// File holding NEXTAUTH_SECRET.
    #[arg(long, env = "NEXTAUTH_SECRET_FILE")]
    pub nextauth_secret_file: Option<PathBuf>,
    /// Auth.js v5 secret (also serves NextAuth v4 when NEXTAUTH_SECRET is unset).
    #[arg(long, env = "AUTH_SECRET", hide_env_values = true)]
    pub auth_secret: Option<String>,
    /// File holding AUTH_SECRET.
    #[arg(long, env = "AUTH_SECRET_FILE")]
    pub auth_secret_file: Option<PathBuf>,
    /// Auth.js v5 rotated secret 1 (tried when the token's kid matches it).
    #[arg(long, env = "AUTH_SECRET_1", hide_env_values = true)]
    pub auth_secret_1: Option<String>,
    /// File holding AUTH_SECRET_1.
    #[arg(long, env = "AUTH_SECRET_1_FILE")]
    pub auth_secret_1_file: Option<PathBuf>,
    /// Auth.js v5 rotated secret 2.
    #[arg(long, env = "AUTH_SECRET_2", hide_env_values = true)]
    pub auth_secret_2: Option<String>,
    /// File holding AUTH_SECRET_2.
    #[arg(long, env = "AUTH_SECRET_2_FILE")]
    pub auth_secret_2_file: Option<PathBuf>,
    /// Auth.js v5 rotated secret 3.
    #[arg(long, env = "AUTH_SECRET_3", hide_env_values = true)]
    pub auth_secret_3: Option<String>,
    /// File holding AUTH_SECRET_3.
    #[arg(long, env = "AUTH_SECRET_3_FILE")]
    pub auth_secret_3_file: Option<PathBuf>,
}

/// Why the configuration cannot be used. The service refuses to start with it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name}: both the value and {name}_FILE are set; set only one")]
    BothValueAndFile { name: &'static str },
    #[error("{name}_FILE: cannot read {path}: {source}")]
    UnreadableFile {
        name: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("OPENCLAW_GATEWAY_URL: {0}")]
    GatewayUrl(String),
    #[error("GATEWAY_URL_ALLOWLIST: {0}")]
    GatewayAllowlist(String),
    #[error("{name}: {reason}")]
    Invalid {
        name: &'static str,
        reason: &'static str,
    },
}

/// Gateway client settings.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    pub url: Url,
    pub token: Option<SecretString>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_body_bytes: usize,
}

/// Validated configuration of a running service.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen_addr: SocketAddr,
    pub gateway: GatewaySettings,
    pub secrets: SessionSecrets,
    pub request_timeout: Duration,
    pub log_format: LogFormat,
    /// The dashboard's database (opaque sessions, per-user gateways); `None`: not used.
    pub database: Option<DatabaseSettings>,
    /// Per-user gateway URLs that may be called.
    pub gateway_allowlist: GatewayAllowlist,
    pub ops: OpsSettings,
}

impl Settings {
    /// Settings for a service on `127.0.0.1:0` in front of `gateway_url`: what tests start from.
    pub fn for_gateway(gateway_url: Url) -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            gateway: GatewaySettings {
                url: gateway_url,
                token: None,
                timeout: Duration::from_millis(5_000),
                connect_timeout: Duration::from_millis(1_000),
                max_body_bytes: 1024 * 1024,
            },
            secrets: SessionSecrets::default(),
            request_timeout: Duration::from_millis(10_000),
            log_format: LogFormat::Pretty,
            database: None,
            gateway_allowlist: GatewayAllowlist::default(),
            ops: OpsSettings::default(),
        }
    }
}

impl ServeArgs {
    /// Validate the flags and read the `*_FILE` secrets.
    pub fn into_settings(self) -> Result<Settings, ConfigError> {
        let url = parse_gateway_url(&self.gateway_url)?;
        let token = value_or_file(
            "OPENCLAW_GATEWAY_TOKEN",
            self.gateway_token,
            self.gateway_token_file.as_deref(),
        )?;
        if self.gateway_timeout_ms == 0 {
            return Err(ConfigError::Invalid {
                name: "GATEWAY_TIMEOUT_MS",
                reason: "must be greater than 0",
            });
        }
        if self.gateway_connect_timeout_ms == 0
            || self.gateway_connect_timeout_ms > self.gateway_timeout_ms
        {
            return Err(ConfigError::Invalid {
                name: "GATEWAY_CONNECT_TIMEOUT_MS",
                reason: "must be greater than 0 and at most GATEWAY_TIMEOUT_MS",
            });
        }
        if self.request_timeout_ms <= self.gateway_timeout_ms {
            return Err(ConfigError::Invalid {
                name: "REQUEST_TIMEOUT_MS",
                reason: "must be greater than GATEWAY_TIMEOUT_MS, so a slow gateway still gets the gateway-error body",
            });
        }
        if !(1024..=64 * 1024 * 1024).contains(&self.gateway_max_body_bytes) {
            return Err(ConfigError::Invalid {
                name: "GATEWAY_MAX_BODY_BYTES",
                reason: "must be between 1024 and 67108864 (64 MiB)",
            });
        }
        if let Some(token) = &token {
            if !is_bearer_token(token.expose_secret()) {
                return Err(ConfigError::Invalid {
                    name: "OPENCLAW_GATEWAY_TOKEN",
                    reason:
                        "must be visible ASCII without spaces (a trailing newline from `echo`?)",
                });
            }
        }
        // What a request has left for database lookups once the gateway call is accounted for.
        let lookup_budget = Duration::from_millis(
            self.request_timeout_ms
                .saturating_sub(self.gateway_timeout_ms),
        );
        let (database, gateway_allowlist) = self.store.into_settings(lookup_budget)?;
        Ok(Settings {
            listen_addr: self.listen_addr,
            gateway: GatewaySettings {
                url,
                token,
                timeout: Duration::from_millis(self.gateway_timeout_ms),
                connect_timeout: Duration::from_millis(self.gateway_connect_timeout_ms),
                max_body_bytes: self.gateway_max_body_bytes,
            },
            secrets: self.secrets.resolve()?,
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            log_format: self.log_format,
            database,
            gateway_allowlist,
            ops: self.ops.into_settings()?,
        })
    }
}

impl SecretArgs {
    /// Read the secrets (values or files) and order them as NextAuth / Auth.js do.
    pub fn resolve(self) -> Result<SessionSecrets, ConfigError> {
        let nextauth = value_or_file(
            "NEXTAUTH_SECRET",
            self.nextauth_secret,
            self.nextauth_secret_file.as_deref(),
        )?;
        let auth = value_or_file(
            "AUTH_SECRET",
            self.auth_secret,
            self.auth_secret_file.as_deref(),
        )?;
        let s1 = value_or_file(
            "AUTH_SECRET_1",
            self.auth_secret_1,
            self.auth_secret_1_file.as_deref(),
        )?;
        let s2 = value_or_file(
            "AUTH_SECRET_2",
            self.auth_secret_2,
            self.auth_secret_2_file.as_deref(),
        )?;
        let s3 = value_or_file(
            "AUTH_SECRET_3",
            self.auth_secret_3,
            self.auth_secret_3_file.as_deref(),
        )?;
        Ok(SessionSecrets::resolve(nextauth, auth, [s1, s2, s3]))
    }
}

/// What an HTTP `Authorization: Bearer` header can carry (RFC 6750 `b64token`, loosely: visible
/// ASCII, no spaces), so a token that cannot be sent fails at start-up, not on every request.
fn is_bearer_token(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic())
}

/// A value given directly or through a file; empty counts as unset. A file's trailing newline
/// is dropped because `echo secret > file` is how most people write one.
pub(crate) fn value_or_file(
    name: &'static str,
    value: Option<String>,
    file: Option<&Path>,
) -> Result<Option<SecretString>, ConfigError> {
    let value = value.filter(|v| !v.is_empty());
    match (value, file) {
        (Some(_), Some(_)) => Err(ConfigError::BothValueAndFile { name }),
        (Some(v), None) => Ok(Some(SecretString::from(v))),
        (None, Some(path)) => {
            let text =
                std::fs::read_to_string(path).map_err(|source| ConfigError::UnreadableFile {
                    name,
                    path: path.to_path_buf(),
                    source,
                })?;
            let text = text.trim_end_matches(['\n', '\r']);
            Ok((!text.is_empty()).then(|| SecretString::from(text.to_owned())))
        }
        (None, None) => Ok(None),
    }
}

/// Only absolute http(s) URLs without credentials, query or fragment make sense as a gateway
/// base; `/tools/invoke` is joined onto the path.
pub fn parse_gateway_url(raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw).map_err(|e| ConfigError::GatewayUrl(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::GatewayUrl(
            "scheme must be http or https".into(),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::GatewayUrl("a host is required".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::GatewayUrl(
            "credentials in the URL are not allowed; use OPENCLAW_GATEWAY_TOKEN".into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::GatewayUrl(
            "query and fragment are not allowed".into(),
        ));
    }
    Ok(url)
}

/// Parse `A`'s flags from `flags` alone, as the command line would, with every environment
/// fallback switched off: tests never depend on (or touch) the process environment.
#[cfg(test)]
pub(crate) fn parse_flags<A: clap::Args + clap::FromArgMatches>(flags: &[&str]) -> A {
    let command =
        A::augment_args(clap::Command::new("probe")).mut_args(|arg| arg.env(None::<&'static str>));
    let argv = std::iter::once("probe").chain(flags.iter().copied());
    let matches = command.try_get_matches_from(argv).expect("flags parse");
    A::from_arg_matches(&matches).expect("flags parse")
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn parse(flags: &[&str]) -> Result<Settings, ConfigError> {
        parse_flags::<ServeArgs>(flags).into_settings()
    }

    #[test]
    fn gateway_urls_are_checked() {
        assert!(parse_gateway_url("http://127.0.0.1:18789").is_ok());
        assert!(parse_gateway_url("https://gw.example.com/base/").is_ok());
        for bad in [
            "ftp://x",
            "not a url",
            "http://user:pw@host",
            "http://h/?q=1",
            "file:///etc/passwd",
        ] {
            assert!(parse_gateway_url(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn timeouts_are_validated() {
        let err = parse(&[
            "--gateway-timeout-ms",
            "20000",
            "--request-timeout-ms",
            "10000",
        ])
        .unwrap_err();
        assert!(err.to_string().contains("REQUEST_TIMEOUT_MS"));
        assert!(parse(&["--gateway-timeout-ms", "0"]).is_err());
        assert!(parse(&["--gateway-connect-timeout-ms", "9000"]).is_err());
    }

    #[test]
    fn secret_files_are_read_and_trimmed() {
        let dir = std::env::temp_dir().join(format!("sessions-api-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "tok-from-file\n").unwrap();
        let settings = parse(&["--gateway-token-file", file.to_str().unwrap()]).unwrap();
        assert_eq!(
            settings.gateway.token.unwrap().expose_secret(),
            "tok-from-file"
        );
        let both = parse(&[
            "--gateway-token",
            "x",
            "--gateway-token-file",
            file.to_str().unwrap(),
        ]);
        assert!(matches!(both, Err(ConfigError::BothValueAndFile { .. })));
        let missing = parse(&["--gateway-token-file", "/nonexistent/sessions-api"]);
        assert!(matches!(missing, Err(ConfigError::UnreadableFile { .. })));
    }

    #[test]
    fn a_gateway_token_that_cannot_be_sent_is_refused() {
        for bad in ["tok en", "token\n", "tökén"] {
            let err = parse(&["--gateway-token", bad]).unwrap_err();
            assert!(
                err.to_string().contains("OPENCLAW_GATEWAY_TOKEN"),
                "{bad:?}"
            );
            assert!(!err.to_string().contains(bad), "the value is not echoed");
        }
        assert!(parse(&["--gateway-token", "test-token-0123456789"]).is_ok());
        assert!(parse(&["--gateway-max-body-bytes", "1099511627776"]).is_err());
    }

    #[test]
    fn config_errors_never_print_secret_values() {
        let err = parse(&[
            "--nextauth-secret",
            "super-secret-value",
            "--nextauth-secret-file",
            "/x",
        ])
        .unwrap_err();
        assert!(!err.to_string().contains("super-secret-value"));
    }
}
