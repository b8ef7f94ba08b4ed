//! The one mapping from everything that can go wrong on a request to the response the client
//! gets. Internal detail is logged here and never sent.

use axum::response::{IntoResponse, Response};
use axum::Json;
use http::StatusCode;
use serde::Serialize;

use crate::auth::AuthError;
use crate::gateway::GatewayError;
use crate::sessions::{GatewayErrorBody, StaleSessionsBody};
use crate::store::StoreError;
use crate::upstream::Listing;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No valid session: always the same body, whatever the reason.
    #[error("unauthorized: {0}")]
    Unauthorized(#[from] AuthError),
    /// The contract answers gateway failures with `200` and a `gateway-error` body.
    #[error("gateway: {0}")]
    Gateway(#[from] GatewayError),
    #[error("not found")]
    NotFound,
    /// An opaque session cookie could not be checked: `503` + `Retry-After`, never a 401 (a 401
    /// would sign the user out).
    #[error("{0}")]
    SessionStoreUnavailable(#[from] StoreError),
    /// A gateway failure answered with the last good list (`SERVE_STALE_MS`).
    #[error("gateway (answered with a stale list): {error}")]
    Stale {
        error: GatewayError,
        listing: std::sync::Arc<Listing>,
    },
}

/// The body of every non-2xx answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody<'a> {
    #[schema(example = "Unauthorized")]
    pub error: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Unauthorized(reason) => {
                tracing::info!(reason = %reason, "request not authenticated");
                (
                    StatusCode::UNAUTHORIZED,
                    Json(ErrorBody {
                        error: "Unauthorized",
                    }),
                )
                    .into_response()
            }
            ApiError::Gateway(err) => {
                tracing::warn!(kind = err.kind(), error = %err, "gateway call failed");
                Json(GatewayErrorBody::new(err.public_message())).into_response()
            }
            ApiError::SessionStoreUnavailable(err) => {
                tracing::warn!(error = %err, "session store unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(http::header::RETRY_AFTER, "5")],
                    Json(ErrorBody {
                        error: "Session store unavailable",
                    }),
                )
                    .into_response()
            }
            ApiError::Stale { error, listing } => {
                tracing::warn!(
                    kind = error.kind(),
                    error = %error,
                    fetched_at = %listing.fetched_at_rfc3339(),
                    "gateway call failed; answering the last good list"
                );
                Json(StaleSessionsBody::new(listing, error.public_message())).into_response()
            }
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                Json(ErrorBody { error: "Not Found" }),
            )
                .into_response(),
        }
    }
}

/// A JSON `{"error": ...}` response for statuses produced outside a handler (method not
/// allowed, timeouts, panics, load shedding), so every body the service sends is JSON.
pub fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(ErrorBody { error: message })).into_response()
}
