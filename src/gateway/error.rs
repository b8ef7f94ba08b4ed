use std::time::Duration;

use http::StatusCode;

/// Why the gateway gave no session list. [`GatewayError::public_message`] is what the client
/// sees; everything else (status, error kind, a body excerpt) is only logged.
/// `Clone` so one upstream failure can be shared by every coalesced waiter.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GatewayError {
    #[error("no gateway token configured")]
    NotConfigured,
    #[error("connection failed: {0}")]
    Unreachable(String),
    #[error("timed out: {0}")]
    Timeout(String),
    #[error("gateway answered {status}: credentials rejected")]
    Unauthorized { status: StatusCode },
    #[error("gateway answered {status}: tool not available")]
    ToolNotAvailable { status: StatusCode },
    #[error("gateway answered {status}: rate limited (retry after {retry_after:?})")]
    RateLimited {
        status: StatusCode,
        retry_after: Option<Duration>,
    },
    #[error("gateway answered {status} (error type {error_type:?})")]
    Reported {
        status: StatusCode,
        error_type: Option<String>,
    },
    #[error("gateway redirected ({status}); redirects are never followed")]
    Redirect { status: StatusCode },
    #[error("response body larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("invalid response: {0}")]
    InvalidResponse(String),
    /// The user's `openclawUrl` is not on `GATEWAY_URL_ALLOWLIST` (or not a usable URL); it was
    /// not called. `host` is logged, never the whole value (it could hold credentials).
    #[error("per-user gateway refused for user {user_id:?} (host {host:?}): {reason}")]
    NotAllowed {
        user_id: String,
        host: Option<String>,
        reason: &'static str,
    },
    /// The user's gateway could not be looked up (session store down or slow).
    #[error("per-user gateway lookup failed: {0}")]
    LookupFailed(String),
    /// The breaker is open after `cause`: no call was made. The client sees the public
    /// message of the failure that opened it, so the dashboard keeps telling the same story.
    #[error("breaker open after: {cause}")]
    BreakerOpen { cause: Box<GatewayError> },
}

impl GatewayError {
    /// The fixed, safe message sent to the client in the `gateway-error` body.
    pub fn public_message(&self) -> &'static str {
        match self {
            Self::NotConfigured => "Gateway not configured",
            Self::Unreachable(_) => "Gateway unreachable",
            Self::Timeout(_) => "Gateway timeout",
            Self::Unauthorized { .. } => "Gateway rejected credentials",
            Self::ToolNotAvailable { .. } => "Tool not available",
            Self::RateLimited { .. } => "Gateway rate limited",
            Self::Reported { .. } | Self::Redirect { .. } => "Gateway error",
            Self::TooLarge { .. } | Self::InvalidResponse(_) => "Invalid gateway response",
            Self::NotAllowed { .. } => "Gateway not allowed",
            Self::LookupFailed(_) => "Gateway lookup failed",
            Self::BreakerOpen { cause } => cause.public_message(),
        }
    }

    /// A short stable label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotConfigured => "not_configured",
            Self::Unreachable(_) => "unreachable",
            Self::Timeout(_) => "timeout",
            Self::Unauthorized { .. } => "unauthorized",
            Self::ToolNotAvailable { .. } => "tool_not_available",
            Self::RateLimited { .. } => "rate_limited",
            Self::Reported { .. } => "error_status",
            Self::Redirect { .. } => "redirect",
            Self::TooLarge { .. } => "too_large",
            Self::InvalidResponse(_) => "invalid_response",
            Self::NotAllowed { .. } => "not_allowed",
            Self::LookupFailed(_) => "lookup_failed",
            Self::BreakerOpen { .. } => "breaker_open",
        }
    }

    pub(crate) fn from_send(err: reqwest::Error) -> Self {
        if err.is_timeout() {
            Self::Timeout(describe(err))
        } else {
            // Connect errors, resets before the status line, DNS failures, TLS failures.
            Self::Unreachable(describe(err))
        }
    }

    pub(crate) fn from_body(err: reqwest::Error) -> Self {
        if err.is_timeout() {
            Self::Timeout(describe(err))
        } else {
            Self::InvalidResponse(format!("body read failed: {}", describe(err)))
        }
    }

    pub(crate) fn from_status(
        status: StatusCode,
        body: Option<&[u8]>,
        retry_after: Option<Duration>,
    ) -> Self {
        let error_type = body.and_then(error_type_of);
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Self::Unauthorized { status },
            StatusCode::NOT_FOUND if error_type.as_deref() == Some("not_found") => {
                Self::ToolNotAvailable { status }
            }
            StatusCode::TOO_MANY_REQUESTS => Self::RateLimited {
                status,
                retry_after,
            },
            s if s.is_redirection() => Self::Redirect { status },
            _ => Self::Reported { status, error_type },
        }
    }
}

/// The gateway's `error.type`, when its error body has one.
fn error_type_of(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value
        .get("error")?
        .get("type")?
        .as_str()
        .map(|s| s.chars().take(64).collect())
}

/// The error and its causes, without the URL: keep log lines short and uniform.
fn describe(err: reqwest::Error) -> String {
    use std::error::Error as _;
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/openclaw/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(path).unwrap()
    }

    #[test]
    fn captured_error_statuses_map_to_safe_messages() {
        let cases = [
            (
                "error.wrong_token.json",
                401,
                "Gateway rejected credentials",
            ),
            (
                "error.missing_auth.json",
                401,
                "Gateway rejected credentials",
            ),
            ("error.unknown_tool.json", 404, "Tool not available"),
            ("error.denied_tool_exec.json", 404, "Tool not available"),
            ("error.malformed_json.json", 400, "Gateway error"),
            ("error.missing_tool.json", 400, "Gateway error"),
            ("error.limit0.json", 400, "Gateway error"),
            ("error.during_startup.json", 500, "Gateway error"),
        ];
        for (file, status, message) in cases {
            let status = StatusCode::from_u16(status).unwrap();
            let err = GatewayError::from_status(status, Some(&fixture(file)), None);
            assert_eq!(err.public_message(), message, "{file}");
        }
    }

    #[test]
    fn a_plain_404_is_an_error_status_not_a_missing_tool() {
        let err = GatewayError::from_status(StatusCode::NOT_FOUND, Some(b"<html>"), None);
        assert_eq!(err.public_message(), "Gateway error");
    }
}
