//! `GET /api/sessions`: the authenticated user's sessions, from their gateway.

pub mod normalize;

use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use serde::Serialize;
use tower_http::request_id::RequestId;

use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody};
use crate::startup::AppState;
use crate::upstream::Listing;
use normalize::Session;

/// The success body: `total` is the number of sessions returned.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionsResponse {
    #[schema(max_items = 50)]
    pub sessions: Vec<Session>,
    pub total: usize,
    #[schema(example = "gateway")]
    pub source: &'static str,
}

impl SessionsResponse {
    pub fn new(sessions: Vec<Session>) -> Self {
        Self {
            total: sessions.len(),
            sessions,
            source: "gateway",
        }
    }
}

/// The body of every gateway failure (sent with `200`, as the contract says).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GatewayErrorBody {
    /// Always empty.
    #[schema(value_type = Vec<Session>, max_items = 0)]
    pub sessions: [Session; 0],
    /// One of the fixed messages in the README's table.
    #[schema(example = "Gateway unreachable")]
    pub error: &'static str,
    #[schema(example = "gateway-error")]
    pub source: &'static str,
}

/// What `GET /api/sessions` answers with `200`: the list, or a gateway failure.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // describes the API document only
pub enum SessionsAnswer {
    Sessions(SessionsResponse),
    GatewayError(GatewayErrorBody),
}

impl GatewayErrorBody {
    pub fn new(error: &'static str) -> Self {
        Self {
            sessions: [],
            error,
            source: "gateway-error",
        }
    }
}

/// The signed-in user's agent sessions, from their OpenClaw gateway.
#[utoipa::path(
    get,
    path = "/api/sessions",
    tag = "sessions",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The sessions (`source: gateway`) or, when the gateway failed in any way, an empty list with a fixed `error` message (`source: gateway-error`).", body = SessionsAnswer),
        (status = 401, description = "No valid session cookie.", body = ErrorBody, example = json!({"error": "Unauthorized"})),
        (status = 503, description = "Session store unavailable (database sessions), overloaded or timed out; retry after `Retry-After`.", body = ErrorBody),
    )
)]
pub async fn list_sessions(
    State(state): State<AppState>,
    principal: Principal,
    request_id: Option<Extension<RequestId>>,
) -> Result<Response, ApiError> {
    let gateway = crate::gateway::resolve_gateway(
        state.gateway.default_url(),
        state.store.as_ref(),
        &state.gateway_allowlist,
        &principal,
    )
    .await?;
    let listing = state
        .sessions
        .list(&gateway, request_id.as_ref().map(|id| id.header_value()))
        .await
        .map_err(|error| state.sessions.failure_answer(&gateway, error))?;
    tracing::debug!(count = listing.response.total, "sessions listed");
    Ok(listing.to_response())
}

/// A gateway failure answered with the last good list (opt-in, `SERVE_STALE_MS`): the
/// `gateway-error` body plus the sessions, `stale: true` and when they were fetched.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StaleSessionsBody<'a> {
    pub sessions: &'a [Session],
    pub error: &'static str,
    pub source: &'static str,
    pub stale: bool,
    pub fetched_at: String,
}

impl<'a> StaleSessionsBody<'a> {
    pub fn new(listing: &'a Listing, error: &'static str) -> Self {
        Self {
            sessions: &listing.response.sessions,
            error,
            source: "gateway-error",
            stale: true,
            fetched_at: listing.fetched_at_rfc3339(),
        }
    }
}
