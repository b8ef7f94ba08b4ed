//! sessions-api: answers `GET /api/sessions` for the agent-hosting dashboard.
//!
//! The request flows one way: auth (session cookie → [`auth::Principal`]) → gateway client
//! (OpenClaw `sessions_list`, [`gateway`]) → normalisation ([`sessions::normalize`]) →
//! response ([`sessions::SessionsResponse`], or [`error::ApiError`]'s one mapping).

pub mod auth;
pub mod cli;
pub mod config;
pub mod edge;
pub mod error;
pub mod gateway;
pub mod health;
pub mod observability;
pub mod openapi;
pub mod server;
pub mod sessions;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod upstream;
