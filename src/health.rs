//! Liveness and readiness. Neither follows the gateway: a gateway outage must reach the
//! dashboard as the documented `gateway-error` body, not as a proxy's 502.

use axum::Json;
use serde_json::{json, Value};

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Ready once the configuration is loaded and the listener is up, which is true whenever this
/// handler can run at all.
pub async fn readyz() -> Json<Value> {
    Json(json!({"status": "ready"}))
}
