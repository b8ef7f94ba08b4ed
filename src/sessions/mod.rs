//! `GET /api/sessions`: the authenticated user's sessions, from their gateway.

pub mod normalize;

use axum::extract::State;
use axum::response::Response;
use http::HeaderMap;
use serde::Serialize;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::startup::AppState;
use crate::upstream::Listing;
use normalize::Session;

/// The success body: `total` is the number of sessions returned.
#[derive(Debug, Serialize)]
pub struct SessionsResponse {
    pub sessions: Vec<Session>,
    pub total: usize,
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
#[derive(Debug, Serialize)]
pub struct GatewayErrorBody {
    pub sessions: [Session; 0],
    pub error: &'static str,
    pub source: &'static str,
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

pub async fn list_sessions(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let _ = &principal;
    let gateway = state.gateway.default_url();
    let listing = state
        .sessions
        .list(gateway, headers.get("x-request-id"))
        .await
        .map_err(|error| state.sessions.failure_answer(gateway, error))?;
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
