//! Settings of the proxy-side protections and the operational surface: coalescing, cache,
//! breaker, stale serving, metrics, load shedding, CORS and trusted proxies.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use clap::Args;
use http::HeaderValue;
use ipnet::IpNet;
use url::Url;

use super::ConfigError;

/// Flags of the protections in front of the gateway and of the operational surface.
#[derive(Debug, Clone, Args)]
pub struct OpsArgs {
    /// How long a successful gateway list is reused for the same gateway, in milliseconds.
    /// 0 keeps coalescing of concurrent requests but reuses nothing afterwards.
    #[arg(long, env = "SESSIONS_CACHE_TTL_MS", default_value_t = 1_000)]
    pub sessions_cache_ttl_ms: u64,

    /// Most gateways whose lists, breakers and in-flight calls are remembered at once.
    #[arg(long, env = "SESSIONS_CACHE_MAX_GATEWAYS", default_value_t = 10_000)]
    pub sessions_cache_max_gateways: usize,

    /// On a gateway failure, answer the last list fetched within this many milliseconds,
    /// marked `stale: true`, instead of an empty list. 0 (the default) turns it off.
    #[arg(long, env = "SERVE_STALE_MS", default_value_t = 0)]
    pub serve_stale_ms: u64,

    /// Consecutive gateway failures that open the breaker. 0 turns the breaker off.
    #[arg(long, env = "BREAKER_FAILURE_THRESHOLD", default_value_t = 5)]
    pub breaker_failure_threshold: u32,

    /// How long an open breaker answers without calling the gateway, in milliseconds.
    #[arg(long, env = "BREAKER_OPEN_MS", default_value_t = 10_000)]
    pub breaker_open_ms: u64,

    /// Address of the Prometheus `/metrics` listener (`127.0.0.1:9090`); no metrics
    /// listener when unset or empty.
    #[arg(long, env = "METRICS_ADDR")]
    pub metrics_addr: Option<String>,

    /// Requests to /api/sessions served at once; more are answered 503 immediately.
    #[arg(long, env = "MAX_CONCURRENT_REQUESTS", default_value_t = 1024)]
    pub max_concurrent_requests: usize,

    /// Largest total size of a request's headers, in bytes; larger requests get 431.
    #[arg(long, env = "MAX_HEADER_BYTES", default_value_t = 32 * 1024)]
    pub max_header_bytes: usize,

    /// Time a client has to send a request's headers, in milliseconds; slower connections are
    /// closed (a slow-header client cannot hold connections open).
    #[arg(long, env = "HEADER_READ_TIMEOUT_MS", default_value_t = 10_000)]
    pub header_read_timeout_ms: u64,

    /// Open client connections at most; further connections wait to be accepted.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,

    /// Comma-separated exact origins (`https://dash.example.com`) allowed to call the API
    /// from a browser with credentials. None by default.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub cors_allowed_origins: Vec<String>,

    /// Comma-separated IPs or CIDRs of reverse proxies whose `X-Forwarded-For` is believed.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
}

/// Validated [`OpsArgs`].
#[derive(Debug, Clone)]
pub struct OpsSettings {
    pub cache_ttl: Duration,
    pub max_gateways: usize,
    pub serve_stale: Duration,
    pub breaker_failure_threshold: u32,
    pub breaker_open: Duration,
    pub metrics_addr: Option<SocketAddr>,
    pub max_concurrent_requests: usize,
    pub max_header_bytes: usize,
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    pub cors_allowed_origins: Vec<HeaderValue>,
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for OpsSettings {
    fn default() -> Self {
        Self {
            cache_ttl: Duration::from_millis(1_000),
            max_gateways: 10_000,
            serve_stale: Duration::ZERO,
            breaker_failure_threshold: 5,
            breaker_open: Duration::from_millis(10_000),
            metrics_addr: None,
            max_concurrent_requests: 1024,
            max_header_bytes: 32 * 1024,
            header_read_timeout: Duration::from_millis(10_000),
            max_connections: 10_000,
            cors_allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
        }
    }
}

/// Chunked session cookies reach about 16 KiB; a smaller header limit would lock users out.
const MIN_HEADER_BYTES: usize = 16 * 1024;

impl OpsArgs {
    pub fn into_settings(self) -> Result<OpsSettings, ConfigError> {
        if self.header_read_timeout_ms == 0 {
            return Err(ConfigError::Invalid {
                name: "HEADER_READ_TIMEOUT_MS",
                reason: "must be greater than 0",
            });
        }
        if self.max_connections == 0 {
            return Err(ConfigError::Invalid {
                name: "MAX_CONNECTIONS",
                reason: "must be greater than 0",
            });
        }
        if self.sessions_cache_max_gateways == 0 {
            return Err(ConfigError::Invalid {
                name: "SESSIONS_CACHE_MAX_GATEWAYS",
                reason: "must be greater than 0",
            });
        }
        if self.breaker_failure_threshold > 0 && self.breaker_open_ms == 0 {
            return Err(ConfigError::Invalid {
                name: "BREAKER_OPEN_MS",
                reason: "must be greater than 0 when the breaker is on",
            });
        }
        if self.max_concurrent_requests == 0 {
            return Err(ConfigError::Invalid {
                name: "MAX_CONCURRENT_REQUESTS",
                reason: "must be greater than 0",
            });
        }
        if self.max_header_bytes < MIN_HEADER_BYTES {
            return Err(ConfigError::Invalid {
                name: "MAX_HEADER_BYTES",
                reason: "must be at least 16384 (chunked session cookies reach ~16 KiB)",
            });
        }
        let cors_allowed_origins = self
            .cors_allowed_origins
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(parse_origin)
            .collect::<Result<Vec<_>, _>>()?;
        let trusted_proxies = self
            .trusted_proxies
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(parse_proxy)
            .collect::<Result<Vec<_>, _>>()?;
        let metrics_addr = match self.metrics_addr.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => Some(
                raw.parse::<SocketAddr>()
                    .map_err(|_| ConfigError::Invalid {
                        name: "METRICS_ADDR",
                        reason: "must be an IP address and port, e.g. 127.0.0.1:9090",
                    })?,
            ),
        };
        Ok(OpsSettings {
            cache_ttl: Duration::from_millis(self.sessions_cache_ttl_ms),
            max_gateways: self.sessions_cache_max_gateways,
            serve_stale: Duration::from_millis(self.serve_stale_ms),
            breaker_failure_threshold: self.breaker_failure_threshold,
            breaker_open: Duration::from_millis(self.breaker_open_ms),
            metrics_addr,
            max_concurrent_requests: self.max_concurrent_requests,
            max_header_bytes: self.max_header_bytes,
            header_read_timeout: Duration::from_millis(self.header_read_timeout_ms),
            max_connections: self.max_connections,
            cors_allowed_origins,
            trusted_proxies,
        })
    }
}

/// An exact origin, `scheme://host[:port]`, as a browser sends it in `Origin`.
pub fn parse_origin(raw: &str) -> Result<HeaderValue, ConfigError> {
    let invalid = |reason| ConfigError::Invalid {
        name: "CORS_ALLOWED_ORIGINS",
        reason,
    };
    if raw == "*" {
        return Err(invalid(
            "a wildcard cannot be used with credentials; list exact origins",
        ));
    }
    let url = Url::parse(raw).map_err(|_| invalid("each origin must be an absolute URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid("each origin must be http(s)://host[:port]"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("an origin has no path, query or fragment"));
    }
    let origin = url.origin().ascii_serialization();
    HeaderValue::from_str(&origin).map_err(|_| invalid("origin is not a valid header value"))
}

/// An IP (a /32 or /128 network) or a CIDR.
pub fn parse_proxy(raw: &str) -> Result<IpNet, ConfigError> {
    raw.parse::<IpNet>()
        .or_else(|_| raw.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| ConfigError::Invalid {
            name: "TRUSTED_PROXIES",
            reason: "each entry must be an IP address or a CIDR (10.0.0.0/8)",
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(flags: &[&str]) -> Result<OpsSettings, ConfigError> {
        crate::config::parse_flags::<OpsArgs>(flags).into_settings()
    }

    #[test]
    fn defaults_match_settings_for_tests() {
        let parsed = parse(&[]).unwrap();
        let default = OpsSettings::default();
        assert_eq!(parsed.cache_ttl, default.cache_ttl);
        assert_eq!(parsed.serve_stale, Duration::ZERO);
        assert_eq!(parsed.breaker_failure_threshold, 5);
        assert_eq!(parsed.breaker_open, default.breaker_open);
        assert_eq!(
            parsed.max_concurrent_requests,
            default.max_concurrent_requests
        );
        assert_eq!(parsed.max_header_bytes, default.max_header_bytes);
        assert!(parsed.metrics_addr.is_none());
        assert!(parsed.cors_allowed_origins.is_empty());
        assert!(parsed.trusted_proxies.is_empty());
    }

    #[test]
    fn lists_and_limits_are_validated() {
        let s = parse(&[
            "--cors-allowed-origins",
            "https://a.example.com, http://localhost:3001",
            "--trusted-proxies",
            "10.0.0.0/8,::1",
        ])
        .unwrap();
        assert_eq!(s.cors_allowed_origins.len(), 2);
        assert_eq!(s.trusted_proxies.len(), 2);
        assert!(parse(&["--cors-allowed-origins", "*"]).is_err());
        assert!(parse(&["--trusted-proxies", "nope"]).is_err());
        assert!(parse(&["--metrics-addr", ""])
            .unwrap()
            .metrics_addr
            .is_none());
        assert!(parse(&["--metrics-addr", "0.0.0.0:9090"])
            .unwrap()
            .metrics_addr
            .is_some());
        assert!(parse(&["--metrics-addr", "localhost"]).is_err());
        assert!(parse(&["--max-header-bytes", "8192"]).is_err());
        assert!(parse(&["--max-concurrent-requests", "0"]).is_err());
        assert!(parse(&["--breaker-open-ms", "0"]).is_err());
        assert!(parse(&["--breaker-failure-threshold", "0", "--breaker-open-ms", "0"]).is_ok());
    }

    #[test]
    fn origins_are_exact() {
        assert_eq!(
            parse_origin("https://Dash.Example.com").unwrap(),
            "https://dash.example.com"
        );
        assert_eq!(
            parse_origin("http://localhost:3001/").unwrap(),
            "http://localhost:3001"
        );
        for bad in ["*", "dash.example.com", "https://x/path", "ftp://x"] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn proxies_are_ips_or_cidrs() {
        assert_eq!(
            parse_proxy("10.0.0.1").unwrap(),
            "10.0.0.1/32".parse::<IpNet>().unwrap()
        );
        assert!(parse_proxy("10.0.0.0/8").is_ok());
        assert!(parse_proxy("::1").is_ok());
        assert!(parse_proxy("proxy.local").is_err());
    }
}
