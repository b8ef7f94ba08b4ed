//! Integration tests against a real PostgreSQL: opaque session cookies, per-user gateways,
//! caching, and the database down or slow.
//!
//! Tests that need PostgreSQL are `#[ignore]`d, so a plain `cargo nextest run` reports them as
//! skipped. Run them with a database (each test creates and drops its own schema):
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo nextest run --run-ignored all
//! ```
//!
//! With `--run-ignored all` and no reachable `DATABASE_URL` they fail loudly, never pass.
//! Tests that only need a closed port (the database unreachable) always run.

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

mod gateways;
mod outage;
mod sessions;
mod support;
