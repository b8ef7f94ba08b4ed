//! Liveness and readiness. Neither follows the gateway: a gateway outage must reach the
//! dashboard as the documented `gateway-error` body, not as a proxy's 502.

use axum::Json;
use serde_json::{json, Value};

/// Liveness: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "Alive")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Ready once the configuration is loaded and the listener is up, which is true whenever this
/// handler can run at all.
#[utoipa::path(get, path = "/readyz", tag = "health", responses((status = 200, description = "Ready to serve")))]
pub async fn readyz() -> Json<Value> {
    Json(json!({"status": "ready"}))
}
