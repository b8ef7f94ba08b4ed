//! Prometheus metrics: the recorder (installed once per process), the HTTP middleware that
//! records every request by matched route, and the router of the separate `/metrics`
//! listener (`METRICS_ADDR`).
//!
//! Series: `http_requests_total{route,method,status}`, `http_request_duration_seconds`,
//! `http_requests_in_flight`, `gateway_calls_total{outcome}`, `gateway_call_duration_seconds`,
//! `sessions_cache_total{result=hit|coalesced|miss|rejected|stale}`,
//! `gateway_breaker_state{state=closed|open|half_open}` (number of gateways in each state).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::{header, HeaderValue};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Latency buckets, in seconds: from a cache hit to a gateway timeout.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process-wide Prometheus recorder, installed on first use. `None` when another
/// recorder was installed first (then metrics go there).
pub fn prometheus() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .ok()?;
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            metrics::describe_counter!("http_requests_total", "HTTP requests answered");
            metrics::describe_histogram!(
                "http_request_duration_seconds",
                metrics::Unit::Seconds,
                "Time to answer an HTTP request"
            );
            metrics::describe_gauge!("http_requests_in_flight", "HTTP requests being served");
            metrics::describe_counter!("gateway_calls_total", "Gateway calls by outcome");
            metrics::describe_histogram!(
                "gateway_call_duration_seconds",
                metrics::Unit::Seconds,
                "Duration of one gateway sessions_list call"
            );
            metrics::describe_counter!(
                "sessions_cache_total",
                "Session-list lookups: hit, coalesced, miss, rejected (breaker open), stale"
            );
            metrics::describe_gauge!(
                "gateway_breaker_state",
                "Number of gateways whose breaker is in each state"
            );
            // Histograms are drained into their buckets here, not on the request path.
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                })
                .ok()?;
            Some(handle)
        })
        .clone()
}

/// The `/metrics` listener's router.
pub fn metrics_router(handle: PrometheusHandle) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move {
                handle.run_upkeep();
                (
                    [(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/plain; version=0.0.4"),
                    )],
                    handle.render(),
                )
                    .into_response()
            }
        }),
    )
}

/// Count and time every request by its matched route (never the raw path: bounded labels).
pub async fn record_http(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = method_label(request.method());
    let _in_flight = InFlight::enter();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!("http_request_duration_seconds", "route" => route.clone(), "method" => method)
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("http_requests_total", "route" => route, "method" => method, "status" => status)
        .increment(1);
    response
}

/// Methods outside the standard set share one label, so clients cannot grow the series.
fn method_label(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::HEAD => "HEAD",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::DELETE => "DELETE",
        http::Method::PATCH => "PATCH",
        http::Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts a request in flight until dropped, also when the client goes away mid-request.
struct InFlight;

impl InFlight {
    fn enter() -> Self {
        metrics::gauge!("http_requests_in_flight").increment(1.0);
        Self
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!("http_requests_in_flight").decrement(1.0);
    }
}
