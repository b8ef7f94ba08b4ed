use axum::extract::FromRequestParts;
use http::request::Parts;

use super::Principal;
use crate::error::ApiError;
use crate::startup::AppState;

/// Handlers that take a [`Principal`] only run for authenticated requests; everything else
/// is answered 401 here.
impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let now = chrono::Utc::now().timestamp();
        Ok(state.verifier.verify_headers(&parts.headers, now)?)
    }
}
