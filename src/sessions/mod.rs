//! `GET /api/sessions`: the authenticated user's sessions, from their gateway.

pub mod normalize;

use axum::extract::State;
use axum::Json;
use http::HeaderMap;
use serde::Serialize;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::startup::AppState;
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
) -> Result<Json<SessionsResponse>, ApiError> {
    let gateway = crate::gateway::resolve_gateway(
        state.gateway.default_url(),
        state.store.as_ref(),
        &state.gateway_allowlist,
        &principal,
    )
    .await?;
    let sessions = state
        .gateway
        .list_sessions(&gateway, headers.get("x-request-id"))
        .await?;
    tracing::debug!(count = sessions.len(), "sessions listed");
    Ok(Json(SessionsResponse::new(sessions)))
}
