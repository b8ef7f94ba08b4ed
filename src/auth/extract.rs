use axum::extract::FromRequestParts;
use http::request::Parts;

use super::{opaque, CookieJar, Principal};
use crate::error::ApiError;
use crate::startup::AppState;

/// Handlers that take a [`Principal`] only run for authenticated requests; everything else
/// is answered 401 here.
///
/// As the dashboard does: opaque session cookies first (looked up in the session store, when one
/// is configured), then the JWT cookie. When the store cannot answer and no JWT cookie verifies,
/// the answer is 503 (a 401 would sign the user out of the dashboard).
impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let mut store_error = None;
        if let Some(store) = &state.store {
            let jar = CookieJar::from_headers(&parts.headers);
            for token in opaque::opaque_session_tokens(&jar) {
                // Boxed so the request's future stays small when the lookup is not needed.
                match Box::pin(store.lookup_session(token)).await {
                    Ok(Some(session)) => {
                        return Ok(Principal {
                            user_id: Some(session.user_id),
                            email: session.email,
                        })
                    }
                    Ok(None) => {}
                    Err(err) => {
                        store_error = Some(err);
                        break;
                    }
                }
            }
        }
        let now = chrono::Utc::now().timestamp();
        match state.verifier.verify_headers(&parts.headers, now) {
            Ok(principal) => Ok(principal),
            Err(auth) => match store_error {
                Some(err) => {
                    tracing::debug!(jwt = %auth, "no JWT session either");
                    Err(ApiError::SessionStoreUnavailable(err))
                }
                None => Err(auth.into()),
            },
        }
    }
}
