//! INTERFACE STUB — to be implemented.

use serde::Serialize;

/// The contract's limit on sessions per response.
pub const MAX_SESSIONS: usize = 50;

/// One session, exactly as the product's API reference defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub key: String,
    pub agent_id: Option<String>,
    pub status: String,
    pub message_count: u64,
    pub last_activity: Option<String>,
    pub created_at: Option<String>,
    pub model: Option<String>,
}

/// Why a gateway body could not be turned into a sessions list.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error("body is not JSON")]
    NotJson,
    /// The gateway answered `ok: false`; `error_type` is its `error.type`, when given.
    #[error("gateway reported failure ({error_type:?})")]
    Reported { error_type: Option<String> },
    #[error("unrecognised response shape")]
    UnknownShape,
}

/// Parse a gateway response body into at most [`MAX_SESSIONS`] sessions, in the gateway's order.
pub fn sessions_from_body(body: &[u8]) -> Result<Vec<Session>, EnvelopeError> {
    let _ = body;
    Err(EnvelopeError::UnknownShape)
}
