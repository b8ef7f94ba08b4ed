//! sessions-api: answers `GET /api/sessions` for the agent-hosting dashboard.
//!
//! The request flows one way: auth (session cookie → [`auth::Principal`]) → gateway client
//! (OpenClaw `sessions_list`) → normalisation ([`sessions::normalize`]) → response.

pub mod auth;
pub mod sessions;
