//! The service's edge towards clients: header-size limit, load shedding's answer, CORS for a
//! dashboard on another origin, and the client IP behind trusted reverse proxies.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use ipnet::IpNet;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::error::json_error;

/// `431` when the request's headers (names, values and their separators) exceed `max` bytes.
pub async fn limit_header_bytes(
    State(max): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let total: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if total > max {
        tracing::info!(bytes = total, limit = max, "request headers too large");
        return json_error(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Request Header Fields Too Large",
        );
    }
    next.run(request).await
}

/// The answer when the concurrency limit is reached: shed at once, tell the client when to
/// come back.
pub async fn overloaded(_: tower::BoxError) -> Response {
    metrics::counter!("http_requests_shed_total").increment(1);
    let mut response = json_error(StatusCode::SERVICE_UNAVAILABLE, "Overloaded");
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// CORS for the exact `origins`, with credentials (the session cookie); `None` when no
/// origin is allowed, so no CORS header is ever sent.
pub fn cors(origins: &[HeaderValue]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins.iter().cloned()))
            .allow_credentials(true)
            .allow_methods([Method::GET, Method::HEAD, Method::OPTIONS])
            .allow_headers([
                header::CONTENT_TYPE,
                HeaderName::from_static("x-request-id"),
            ])
            .expose_headers([HeaderName::from_static("x-request-id")])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// The reverse proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl TrustedProxies {
    pub fn new(nets: &[IpNet]) -> Self {
        Self(nets.into())
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer, unless the peer is a trusted proxy; then the
    /// right-most `X-Forwarded-For` hop that is not itself trusted (hops further left were
    /// written by the client and prove nothing).
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return canonical(peer);
        }
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        let mut client = peer;
        for hop in hops.iter().rev() {
            match parse_hop(hop) {
                Some(ip) if self.trusts(ip) => client = ip,
                Some(ip) => return canonical(ip),
                // Garbage from here leftwards: the last trusted hop is the best we know.
                None => break,
            }
        }
        canonical(client)
    }

    /// The client address of `request` for logs, `None` without connection info (tests that
    /// call the router directly).
    pub fn of_request(&self, request: &Request) -> Option<IpAddr> {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()?
            .0
            .ip();
        Some(self.client_ip(peer, request.headers()))
    }
}

/// An `X-Forwarded-For` hop: an IP, maybe with a port (`1.2.3.4:5678`, `[::1]:80`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// IPv4-mapped IPv6 (`::ffff:10.0.0.1`, from a dual-stack listener) as plain IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(list: &[&str]) -> TrustedProxies {
        let nets: Vec<IpNet> = list.iter().map(|s| s.parse().unwrap()).collect();
        TrustedProxies::new(&nets)
    }

    fn xff(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        headers
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let p = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            p.client_ip(ip("203.0.113.9"), &xff("1.1.1.1")),
            ip("203.0.113.9")
        );
        assert_eq!(
            TrustedProxies::default().client_ip(ip("10.0.0.1"), &xff("1.1.1.1")),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        let p = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            p.client_ip(ip("10.0.0.2"), &xff("6.6.6.6, 198.51.100.7, 10.0.0.3")),
            ip("198.51.100.7")
        );
        assert_eq!(
            p.client_ip(ip("10.0.0.2"), &xff("198.51.100.7:4321")),
            ip("198.51.100.7")
        );
        assert_eq!(
            p.client_ip(ip("10.0.0.2"), &HeaderMap::new()),
            ip("10.0.0.2")
        );
        assert_eq!(
            p.client_ip(ip("10.0.0.2"), &xff("garbage, 10.0.0.9")),
            ip("10.0.0.9")
        );
        assert_eq!(
            p.client_ip(ip("::ffff:10.0.0.2"), &xff("198.51.100.7")),
            ip("198.51.100.7")
        );
    }
}
