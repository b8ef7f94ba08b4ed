use axum::extract::FromRequestParts;
use http::request::Parts;

use super::{opaque, CookieJar, Principal};
use crate::error::ApiError;
use crate::startup::AppState;
use crate::store::StoreError;

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
            let tokens = opaque::opaque_session_tokens(&jar);
            if !tokens.is_empty() {
                // Up to four cookies may each need a lookup; the whole phase gets the time of
                // one, so a slow database still ends in the documented 503, not the request
                // timeout. Boxed so the request's future stays small without a store.
                let limit = store.lookup_limit();
                let phase = Box::pin(async {
                    for token in tokens {
                        if let Some(session) = store.lookup_session(token).await? {
                            return Ok(Some(session));
                        }
                    }
                    Ok(None)
                });
                match tokio::time::timeout(limit, phase).await {
                    Ok(Ok(Some(session))) => {
                        return Ok(Principal {
                            user_id: Some(session.user_id),
                            email: session.email,
                        })
                    }
                    Ok(Ok(None)) => {}
                    Ok(Err(err)) => store_error = Some(err),
                    Err(_) => store_error = Some(StoreError::Timeout(limit)),
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
