//! The OpenAPI 3.1 document, generated from the handlers and types so it cannot drift from the
//! code; `openapi.json` in the repository is checked against it by a test.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::ErrorBody;
use crate::sessions::normalize::Session;
use crate::sessions::{GatewayErrorBody, SessionsAnswer, SessionsResponse};
use crate::{health, sessions};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sessions-api",
        description = "The signed-in user's OpenClaw agent sessions for the dashboard.",
    ),
    paths(sessions::list_sessions, health::healthz, health::readyz),
    components(schemas(Session, SessionsResponse, GatewayErrorBody, SessionsAnswer, ErrorBody)),
    modifiers(&SessionCookie),
    tags((name = "sessions"), (name = "health")),
)]
pub struct ApiDoc;

/// The dashboard's session cookie (NextAuth v4 name shown; the `__Secure-`, Auth.js v5 and chunked
/// forms are accepted too).
struct SessionCookie;

impl Modify for SessionCookie {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "next-auth.session-token",
                "NextAuth v4 / Auth.js v5 session cookie (also __Secure- and chunked .0, .1 … forms)",
            ))),
        );
    }
}

/// The document as served at `/api/openapi.json` and committed as `openapi.json`.
pub fn document_json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| String::from("{}"))
        + "\n"
}
