//! Which per-user gateway URLs this service may call (`GATEWAY_URL_ALLOWLIST`).
//!
//! A user's `openclawUrl` comes from the dashboard's database, so anyone who can write that
//! column could otherwise make this service send the shared gateway token to a host of their
//! choosing. Only URLs that match one of the configured patterns are ever called.
//!
//! Pattern syntax, comma-separated: `scheme://host[:port][/]`
//! - `scheme`: `http` or `https`, matched exactly.
//! - `host`: an exact host (domain, IPv4 or `[IPv6]`), or `*.suffix`: one or more labels in
//!   front of `suffix`, never the bare `suffix` itself. Compared after the `url` crate's
//!   normalisation (lower case, IDNA to punycode, IP canonical form).
//! - `port`: a number, `*` for any, or absent for the scheme's default port only.
//!
//! A URL with credentials (`user:pw@`) never matches. An empty list allows nothing.

use std::fmt;

use url::{Host, Url};

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    /// Normalised host, e.g. `gw.example.com`, `127.0.0.1`, `[::1]`.
    Exact(String),
    /// `.agents.example.com`: the host must end with it and have at least one more label.
    Suffix(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PortPattern {
    Any,
    /// Explicit, or the scheme's default when the pattern has no port.
    Exact(u16),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    scheme: String,
    host: HostPattern,
    port: PortPattern,
}

/// The parsed `GATEWAY_URL_ALLOWLIST`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayAllowlist {
    patterns: Vec<Pattern>,
}

/// Why a pattern cannot be used; names the pattern (patterns are not secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid pattern {pattern:?}: {reason}")]
pub struct AllowlistError {
    pub pattern: String,
    pub reason: &'static str,
}

impl GatewayAllowlist {
    /// Parse a comma-separated list; blank entries are ignored.
    pub fn parse(list: &str) -> Result<Self, AllowlistError> {
        let patterns = list
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(parse_pattern)
            .collect::<Result<_, _>>()?;
        Ok(Self { patterns })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// Whether `url` may be called with the gateway token.
    pub fn allows(&self, url: &Url) -> bool {
        if !url.username().is_empty() || url.password().is_some() {
            return false;
        }
        let Some(host) = url.host() else {
            return false;
        };
        let host_text = host_key(&host);
        let Some(port) = url.port_or_known_default() else {
            return false;
        };
        self.patterns.iter().any(|p| {
            p.scheme == url.scheme()
                && match &p.port {
                    PortPattern::Any => true,
                    PortPattern::Exact(want) => *want == port,
                }
                && match &p.host {
                    HostPattern::Exact(want) => *want == host_text,
                    HostPattern::Suffix(suffix) => {
                        matches!(host, Host::Domain(_))
                            && host_text.len() > suffix.len()
                            && host_text.ends_with(suffix.as_str())
                    }
                }
        })
    }
}

impl fmt::Display for GatewayAllowlist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.patterns.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}://", p.scheme)?;
            match &p.host {
                HostPattern::Exact(h) => f.write_str(h)?,
                HostPattern::Suffix(s) => write!(f, "*{s}")?,
            }
            match p.port {
                PortPattern::Any => f.write_str(":*")?,
                PortPattern::Exact(port) => write!(f, ":{port}")?,
            }
        }
        Ok(())
    }
}

/// The host as compared: domains lower-cased and punycoded by `url`, IPv6 in brackets.
fn host_key(host: &Host<&str>) -> String {
    match host {
        Host::Domain(d) => d.to_ascii_lowercase(),
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => format!("[{ip}]"),
    }
}

fn parse_pattern(raw: &str) -> Result<Pattern, AllowlistError> {
    let err = |reason| AllowlistError {
        pattern: raw.to_owned(),
        reason,
    };
    let (scheme, rest) = raw
        .split_once("://")
        .ok_or_else(|| err("expected scheme://host"))?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(err("scheme must be http or https"));
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Err(err("a host is required"));
    }
    if rest.contains(['/', '@', '?', '#', '\\']) {
        return Err(err(
            "only scheme, host and port are allowed (no path, credentials, query)",
        ));
    }
    let (wildcard, rest) = match rest.strip_prefix("*.") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let (host_port, any_port) = match rest.strip_suffix(":*") {
        Some(r) => (r, true),
        None => (rest, false),
    };
    if host_port.contains('*') {
        return Err(err(
            "`*` is only allowed as the first label (`*.`) or as the port",
        ));
    }
    // Let `url` normalise the host exactly as it will normalise the URLs we check. For a
    // wildcard, a probe label is put in front and removed again.
    let probe = if wildcard {
        format!("{scheme}://x.{host_port}/")
    } else {
        format!("{scheme}://{host_port}/")
    };
    let url = Url::parse(&probe).map_err(|_| err("not a valid host[:port]"))?;
    let host = url.host().ok_or_else(|| err("a host is required"))?;
    let host_pattern = if wildcard {
        let Host::Domain(domain) = &host else {
            return Err(err("a wildcard needs a domain name, not an IP address"));
        };
        let suffix = domain
            .strip_prefix('x')
            .filter(|s| s.starts_with('.') && s.len() > 1)
            .ok_or_else(|| err("not a valid wildcard domain"))?;
        HostPattern::Suffix(suffix.to_ascii_lowercase())
    } else {
        HostPattern::Exact(host_key(&host))
    };
    let port = if any_port {
        PortPattern::Any
    } else {
        PortPattern::Exact(
            url.port_or_known_default()
                .ok_or_else(|| err("no port and no default port for the scheme"))?,
        )
    };
    Ok(Pattern {
        scheme,
        host: host_pattern,
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(s: &str) -> GatewayAllowlist {
        GatewayAllowlist::parse(s).unwrap()
    }

    fn allows(list_text: &str, url: &str) -> bool {
        list(list_text).allows(&Url::parse(url).unwrap())
    }

    const AGENTS: &str = "https://*.agents.example.com";

    #[test]
    fn wildcard_matches_one_or_more_labels_but_not_the_apex() {
        assert!(allows(AGENTS, "https://u1.agents.example.com"));
        assert!(allows(AGENTS, "https://u1.eu.agents.example.com/base/"));
        assert!(allows(AGENTS, "https://U1.Agents.EXAMPLE.com"));
        assert!(allows(AGENTS, "https://u1.agents.example.com:443"));
        assert!(!allows(AGENTS, "https://agents.example.com"));
        assert!(!allows(AGENTS, "https://xagents.example.com"));
        assert!(!allows(AGENTS, "https://u1.agents.example.com:8443"));
    }

    #[test]
    fn lookalike_hosts_are_refused() {
        for url in [
            "https://evil.com/.agents.example.com",
            "https://agents.example.com.evil.com",
            "https://u1.agents.example.com.evil.com",
            "https://evil.com?u1.agents.example.com",
            "https://evil.com#.agents.example.com",
            "https://u1.agents.example.com@evil.com",
            "https://evil.com\\.agents.example.com",
        ] {
            assert!(!allows(AGENTS, url), "{url} allowed");
        }
    }

    #[test]
    fn userinfo_is_never_allowed() {
        assert!(!allows(AGENTS, "https://user@u1.agents.example.com"));
        assert!(!allows(AGENTS, "https://user:pw@u1.agents.example.com"));
        assert!(!allows(AGENTS, "https://:pw@u1.agents.example.com"));
    }

    #[test]
    fn scheme_is_exact() {
        assert!(!allows(AGENTS, "http://u1.agents.example.com"));
        assert!(!allows(AGENTS, "http://u1.agents.example.com:443"));
        assert!(allows(
            "http://gw.example.com",
            "http://gw.example.com:80/x"
        ));
        assert!(!allows("http://gw.example.com", "https://gw.example.com"));
    }

    #[test]
    fn ports_exact_default_or_any() {
        let l = "http://127.0.0.1:*,https://gw.example.com:8443";
        assert!(allows(l, "http://127.0.0.1:1234"));
        assert!(allows(l, "http://127.0.0.1"));
        assert!(!allows(l, "https://127.0.0.1:1234"));
        assert!(allows(l, "https://gw.example.com:8443"));
        assert!(!allows(l, "https://gw.example.com"));
        assert!(!allows(l, "http://127.0.0.2:1234"));
        assert!(!allows(l, "http://localhost:1234"));
    }

    #[test]
    fn ip_addresses_are_compared_in_canonical_form() {
        assert!(allows("http://127.0.0.1:*", "http://2130706433:80"));
        assert!(allows("http://[::1]:*", "http://[0:0::1]:9"));
        assert!(!allows("http://[::1]:*", "http://127.0.0.1:9"));
    }

    #[test]
    fn idna_hosts_are_normalised() {
        assert!(allows(
            "https://*.bücher.example",
            "https://a.xn--bcher-kva.example"
        ));
        assert!(allows(
            "https://*.xn--bcher-kva.example",
            "https://a.BÜCHER.example"
        ));
    }

    #[test]
    fn empty_list_allows_nothing() {
        let l = list(" , ");
        assert!(l.is_empty());
        assert!(!l.allows(&Url::parse("http://127.0.0.1").unwrap()));
        assert!(GatewayAllowlist::default().is_empty());
    }

    #[test]
    fn bad_patterns_are_rejected() {
        for bad in [
            "gw.example.com",
            "ftp://gw.example.com",
            "https://",
            "https://*",
            "https://*.",
            "https://a.*.example.com",
            "https://*example.com",
            "https://gw.example.com/path",
            "https://u@gw.example.com",
            "https://*.127.0.0.1",
            "https://gw.example.com:notaport",
        ] {
            assert!(GatewayAllowlist::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn display_round_trips() {
        let l = list("https://*.Agents.example.com, http://127.0.0.1:*,https://gw.example.com/");
        assert_eq!(
            l.to_string(),
            "https://*.agents.example.com:443,http://127.0.0.1:*,https://gw.example.com:443"
        );
        assert_eq!(list(&l.to_string()), l);
    }
}
