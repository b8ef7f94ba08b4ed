//! Session-cookie authentication: NextAuth v4 and Auth.js v5 JWT cookies, validated locally.
//!
//! INTERFACE STUB — to be implemented.

pub mod dev_token;
mod extract;

use secrecy::SecretString;

/// The signed-in user a request acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's `sub` claim: the dashboard's user id, when present.
    pub user_id: Option<String>,
    /// The token's `email` claim; never empty.
    pub email: String,
}

/// Why a request is not authenticated. Every variant maps to the same 401 for the client; the
/// variant is only for logs and metrics, so it never carries cookie material.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum AuthError {
    #[error("no session cookie")]
    NoSessionCookie,
    #[error("no session secret configured")]
    NotConfigured,
    #[error("invalid session token: {0}")]
    InvalidToken(&'static str),
}

/// The configured session secrets, already resolved the way the libraries resolve them.
#[derive(Debug, Default, Clone)]
pub struct SessionSecrets {
    /// NextAuth v4 uses exactly one secret.
    pub v4: Option<SecretString>,
    /// Auth.js v5 secrets in decode order (rotation).
    pub v5: Vec<SecretString>,
}

impl SessionSecrets {
    /// Resolve secrets from the environment values as NextAuth/Auth.js do.
    pub fn resolve(
        nextauth_secret: Option<SecretString>,
        auth_secret: Option<SecretString>,
        rotated: [Option<SecretString>; 3],
    ) -> Self {
        let _ = (nextauth_secret, auth_secret, rotated);
        Self::default()
    }
}

/// Keys derived once at start-up; verifies session cookies.
#[derive(Clone, Default)]
pub struct SessionVerifier {}

impl SessionVerifier {
    pub fn new(secrets: &SessionSecrets) -> Self {
        let _ = secrets;
        Self {}
    }

    pub fn is_configured(&self) -> bool {
        false
    }

    /// Authenticate from the request headers (Cookie only), at `now` (unix seconds).
    pub fn verify_headers(
        &self,
        headers: &http::HeaderMap,
        now_unix: i64,
    ) -> Result<Principal, AuthError> {
        let _ = (headers, now_unix);
        Err(AuthError::NotConfigured)
    }
}
