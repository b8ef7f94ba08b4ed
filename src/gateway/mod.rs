//! OpenClaw gateway client: one `sessions_list` tool call, bounded in time and size.

pub mod allowlist;
mod error;
pub mod route;

pub use allowlist::GatewayAllowlist;
pub use error::GatewayError;
pub use route::resolve_gateway;

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{header, HeaderValue, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::config::GatewaySettings;
use crate::sessions::normalize::{sessions_from_body, EnvelopeError, Session};

/// The tool call this service makes; the contract fixes its shape.
const SESSIONS_LIST_REQUEST: &[u8] = br#"{"tool":"sessions_list","args":{"limit":50}}"#;

/// Calls the gateway's `POST /tools/invoke`. Cheap to clone (shares one connection pool).
#[derive(Clone)]
pub struct GatewayClient {
    http: reqwest::Client,
    /// `Bearer <token>`, built once; `None` when no token is configured.
    authorization: Option<HeaderValue>,
    default_url: Url,
    max_body_bytes: usize,
}

impl std::fmt::Debug for GatewayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayClient")
            .field("default_url", &self.default_url.as_str())
            .field("has_token", &self.authorization.is_some())
            .finish_non_exhaustive()
    }
}

impl GatewayClient {
    pub fn new(settings: &GatewaySettings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            // A redirect would carry the bearer token to wherever the gateway points.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .user_agent(concat!("sessions-api/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            authorization: settings.token.as_ref().and_then(bearer),
            default_url: settings.url.clone(),
            max_body_bytes: settings.max_body_bytes,
        })
    }

    /// The gateway configured for everyone.
    pub fn default_url(&self) -> &Url {
        &self.default_url
    }

    /// Fetch and normalise the session list of the gateway at `base`.
    pub async fn list_sessions(
        &self,
        base: &Url,
        request_id: Option<&HeaderValue>,
    ) -> Result<Vec<Session>, GatewayError> {
        let body = self.invoke(base, request_id).await?;
        sessions_from_body(&body).map_err(|e| match e {
            EnvelopeError::Reported { error_type }
                if error_type.as_deref() == Some("not_found") =>
            {
                GatewayError::ToolNotAvailable {
                    status: StatusCode::OK,
                }
            }
            EnvelopeError::Reported { error_type } => GatewayError::Reported {
                status: StatusCode::OK,
                error_type,
            },
            other => GatewayError::InvalidResponse(other.to_string()),
        })
    }

    /// One `sessions_list` call; returns the raw body of a 2xx answer.
    pub async fn invoke(
        &self,
        base: &Url,
        request_id: Option<&HeaderValue>,
    ) -> Result<Bytes, GatewayError> {
        let Some(authorization) = &self.authorization else {
            return Err(GatewayError::NotConfigured);
        };
        let url = tools_invoke_url(base);
        let mut request = self
            .http
            .post(url)
            .header(header::AUTHORIZATION, authorization.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .body(SESSIONS_LIST_REQUEST);
        if let Some(id) = request_id {
            request = request.header("x-request-id", id.clone());
        }
        let mut response = request.send().await.map_err(GatewayError::from_send)?;
        let status = response.status();

        if !status.is_success() {
            let retry_after = retry_after(response.headers());
            // Read a little of the body for the log and to tell "tool not available" apart.
            let body = read_limited(&mut response, 16 * 1024).await.ok();
            return Err(GatewayError::from_status(
                status,
                body.as_deref(),
                retry_after,
            ));
        }
        if is_html(response.headers()) {
            return Err(GatewayError::InvalidResponse(
                "HTML page instead of JSON (wrong gateway path?)".into(),
            ));
        }
        if let Some(len) = response.content_length() {
            if len > self.max_body_bytes as u64 {
                return Err(GatewayError::TooLarge {
                    limit: self.max_body_bytes,
                });
            }
        }
        read_limited(&mut response, self.max_body_bytes).await
    }
}

fn bearer(token: &SecretString) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret())).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// `{base}/tools/invoke`, keeping any path prefix of the base (a gateway behind a sub-path).
pub fn tools_invoke_url(base: &Url) -> Url {
    let mut url = base.clone();
    let path = format!("{}/tools/invoke", base.path().trim_end_matches('/'));
    url.set_path(&path);
    url
}

fn is_html(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"))
}

/// `Retry-After` as delay-seconds or as an HTTP-date (a date in the past means now).
fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// Read the body, failing as soon as it passes `limit` bytes (the declared length may lie).
async fn read_limited(
    response: &mut reqwest::Response,
    limit: usize,
) -> Result<Bytes, GatewayError> {
    // One allocation when the gateway declares the length (it does).
    let declared = response.content_length().unwrap_or(0);
    // Up front at most 256 KiB: a declared length is a claim, not a promise.
    let initial = usize::try_from(declared)
        .unwrap_or(limit)
        .min(limit)
        .min(256 * 1024);
    let mut buf = BytesMut::with_capacity(initial);
    while let Some(chunk) = response.chunk().await.map_err(GatewayError::from_body)? {
        if buf.len() + chunk.len() > limit {
            return Err(GatewayError::TooLarge { limit });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_invoke_url_keeps_prefix() {
        let u = |s: &str| tools_invoke_url(&Url::parse(s).unwrap()).to_string();
        assert_eq!(u("http://gw:18789"), "http://gw:18789/tools/invoke");
        assert_eq!(u("http://gw:18789/"), "http://gw:18789/tools/invoke");
        assert_eq!(u("https://h/openclaw/"), "https://h/openclaw/tools/invoke");
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let with = |v: &str| {
            let mut h = http::HeaderMap::new();
            h.insert(header::RETRY_AFTER, HeaderValue::from_str(v).unwrap());
            retry_after(&h)
        };
        assert_eq!(with("30"), Some(Duration::from_secs(30)));
        assert_eq!(with("Sun, 06 Nov 1994 08:49:37 GMT"), Some(Duration::ZERO));
        let future = (chrono::Utc::now() + chrono::Duration::seconds(120))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let wait = with(&future).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120));
        assert_eq!(with("soon"), None);
    }

    #[test]
    fn request_body_is_the_contract() {
        let v: serde_json::Value = serde_json::from_slice(SESSIONS_LIST_REQUEST).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"tool":"sessions_list","args":{"limit":50}})
        );
    }
}
