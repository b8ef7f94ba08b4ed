//! Integration tests: the real app on a random port, the gateway faked with wiremock.

mod auth;
mod connections;
mod faults;
mod gateway_errors;
mod helpers;
mod http_surface;
mod operations;
mod sessions;
mod upstream;
