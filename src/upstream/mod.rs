//! What stands between the handlers and the gateway: one [`SessionsSource`] that coalesces
//! concurrent requests for the same gateway into one call, reuses a success for a short
//! freshness window, stops calling a failing gateway for a while (the [`breaker`]) and keeps the
//! last good list for opt-in stale answers.
//!
//! Every gateway is keyed by its base URL, so per-user gateways each get their own flight,
//! cache entry and breaker. The number of gateways remembered is bounded.

pub mod breaker;

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::future::{BoxFuture, FutureExt, Shared};
use http::{header, HeaderValue};
use tracing::Instrument;
use url::Url;

use crate::config::OpsSettings;
use crate::error::ApiError;
use crate::gateway::{GatewayClient, GatewayError};
use crate::sessions::SessionsResponse;
use breaker::Breaker;

/// One successful gateway list, shared by every request it answers.
#[derive(Debug)]
pub struct Listing {
    pub response: SessionsResponse,
    /// When the gateway answered it, for `fetchedAt`.
    pub fetched_at: DateTime<Utc>,
    fetched: Instant,
    /// `response` serialised once: a cache hit costs one reference-count increment.
    body: Bytes,
}

impl Listing {
    pub fn new(response: SessionsResponse) -> Result<Self, GatewayError> {
        let body = serde_json::to_vec(&response)
            .map_err(|e| GatewayError::InvalidResponse(format!("cannot serialise: {e}")))?;
        Ok(Self {
            response,
            fetched_at: Utc::now(),
            fetched: Instant::now(),
            body: Bytes::from(body),
        })
    }

    /// `fetchedAt`, RFC 3339 in UTC with milliseconds.
    pub fn fetched_at_rfc3339(&self) -> String {
        self.fetched_at.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// The success answer (`200`, the contract's body).
    pub fn to_response(&self) -> Response {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            self.body.clone(),
        )
            .into_response()
    }
}

type Outcome = Result<Arc<Listing>, GatewayError>;
type Flight = Shared<BoxFuture<'static, Outcome>>;

struct Entry {
    breaker: Breaker,
    last_good: Option<Arc<Listing>>,
    /// The call in flight and its number (so a finished call clears only its own flight).
    flight: Option<(u64, Flight)>,
    last_used: Instant,
}

struct Inner {
    client: GatewayClient,
    cache_ttl: Duration,
    serve_stale: Duration,
    breaker_threshold: u32,
    breaker_open: Duration,
    max_gateways: usize,
    entries: Mutex<HashMap<String, Entry>>,
    next_flight: std::sync::atomic::AtomicU64,
    /// When idle entries were last swept (see [`Inner::sweep`]), in ms since `epoch`.
    last_sweep_ms: std::sync::atomic::AtomicU64,
    epoch: Instant,
}

/// The session lists of the gateways, protected (see the module docs). Cheap to clone.
#[derive(Clone)]
pub struct SessionsSource {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SessionsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionsSource")
            .field("cache_ttl", &self.inner.cache_ttl)
            .field("serve_stale", &self.inner.serve_stale)
            .field("breaker_threshold", &self.inner.breaker_threshold)
            .finish_non_exhaustive()
    }
}

fn breaker_gauge(state: &'static str, delta: f64) {
    metrics::gauge!("gateway_breaker_state", "state" => state).increment(delta);
}

fn cache_result(result: &'static str) {
    metrics::counter!("sessions_cache_total", "result" => result).increment(1);
}

impl SessionsSource {
    pub fn new(client: GatewayClient, ops: &OpsSettings) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                cache_ttl: ops.cache_ttl,
                serve_stale: ops.serve_stale,
                breaker_threshold: ops.breaker_failure_threshold,
                breaker_open: ops.breaker_open,
                max_gateways: ops.max_gateways.max(1),
                entries: Mutex::new(HashMap::new()),
                next_flight: std::sync::atomic::AtomicU64::new(0),
                last_sweep_ms: std::sync::atomic::AtomicU64::new(0),
                epoch: Instant::now(),
            }),
        }
    }

    /// The session list of the gateway at `gateway`: from the freshness window, from the call
    /// already in flight, or from a new call (`request_id` is forwarded on that call). The
    /// call runs in its own task, so a client that disconnects never cancels it for the
    /// others.
    pub async fn list(
        &self,
        gateway: &Url,
        request_id: Option<&HeaderValue>,
    ) -> Result<Arc<Listing>, GatewayError> {
        let flight = {
            let mut entries = self.inner.lock();
            let now = Instant::now();
            self.inner.sweep(&mut entries, now);
            let entry = self.inner.entry(&mut entries, gateway.as_str(), now);
            entry.last_used = now;
            if let Some(listing) = entry.last_good.clone() {
                let age = now.duration_since(listing.fetched);
                if age < self.inner.cache_ttl {
                    cache_result("hit");
                    // Refresh ahead: past half the window, one request starts the next call in
                    // the background and every request keeps getting the fresh-enough list, so
                    // a busy gateway's dashboards never all stall on an expired entry.
                    if age >= self.inner.cache_ttl / 2
                        && entry.flight.is_none()
                        && matches!(entry.breaker.state(), breaker::BreakerState::Closed { .. })
                    {
                        let _ = self.inner.start_flight(entry, gateway, request_id, now);
                    }
                    return Ok(listing);
                }
            }
            match (&entry.flight, entry.breaker.state()) {
                (Some((_, flight)), breaker::BreakerState::Closed { .. }) => {
                    cache_result("coalesced");
                    flight.clone()
                }
                _ => {
                    let flight = self.inner.start_flight(entry, gateway, request_id, now);
                    if flight.is_ok() {
                        cache_result("miss");
                    } else {
                        cache_result("rejected");
                    }
                    flight?
                }
            }
        };
        flight.await
    }

    /// The last good list of `gateway` when stale serving is on and it is recent enough.
    pub fn stale(&self, gateway: &Url) -> Option<Arc<Listing>> {
        if self.inner.serve_stale.is_zero() {
            return None;
        }
        let entries = self.inner.lock();
        let listing = entries.get(gateway.as_str())?.last_good.clone()?;
        (listing.fetched.elapsed() <= self.inner.serve_stale).then_some(listing)
    }

    /// The answer to a failed [`list`](Self::list): the stale list when allowed, else the
    /// documented `gateway-error` body.
    pub fn failure_answer(&self, gateway: &Url, error: GatewayError) -> ApiError {
        match self.stale(gateway) {
            Some(listing) => {
                cache_result("stale");
                ApiError::Stale { error, listing }
            }
            None => ApiError::Gateway(error),
        }
    }
}

impl Inner {
    /// Start a gateway call for `entry` when its breaker admits one; the call runs in its own
    /// task and is recorded as the entry's flight.
    fn start_flight(
        self: &Arc<Self>,
        entry: &mut Entry,
        gateway: &Url,
        request_id: Option<&HeaderValue>,
        now: Instant,
    ) -> Result<Flight, GatewayError> {
        let before = entry.breaker.state().label();
        entry.breaker.admit(now)?;
        let after = entry.breaker.state().label();
        if before != after {
            breaker_gauge(before, -1.0);
            breaker_gauge(after, 1.0);
            tracing::info!(gateway = %origin(gateway), "breaker half-open: probing the gateway");
        }
        let id = self
            .next_flight
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let call = tokio::spawn(
            self.clone()
                .fetch(id, gateway.clone(), request_id.cloned())
                .instrument(tracing::Span::current()),
        );
        let flight: Flight = async move {
            call.await.unwrap_or_else(|_| {
                Err(GatewayError::InvalidResponse(
                    "gateway call task failed".into(),
                ))
            })
        }
        .boxed()
        .shared();
        entry.flight = Some((id, flight.clone()));
        Ok(flight)
    }

    /// At most once a second: drop lists that can no longer be served (older than both the
    /// freshness window and the stale window) and forget gateways nobody asked for since, so
    /// memory follows the gateways in use, not every gateway ever seen.
    fn sweep(&self, entries: &mut HashMap<String, Entry>, now: Instant) {
        use std::sync::atomic::Ordering;
        let now_ms = u64::try_from(now.duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX);
        let last = self.last_sweep_ms.load(Ordering::Relaxed);
        if now_ms.saturating_sub(last) < 1_000 {
            return;
        }
        self.last_sweep_ms.store(now_ms, Ordering::Relaxed);
        let keep_list = self.cache_ttl.max(self.serve_stale);
        let keep_entry = keep_list.max(self.breaker_open);
        entries.retain(|_, entry| {
            if entry
                .last_good
                .as_ref()
                .is_some_and(|listing| now.duration_since(listing.fetched) > keep_list)
            {
                entry.last_good = None;
            }
            let open = matches!(entry.breaker.state(), breaker::BreakerState::Open { until, .. } if *until > now);
            let keep = entry.flight.is_some()
                || open
                || entry.last_good.is_some()
                || now.duration_since(entry.last_used) <= keep_entry;
            if !keep {
                breaker_gauge(entry.breaker.state().label(), -1.0);
            }
            keep
        });
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn entry<'m>(
        &self,
        entries: &'m mut HashMap<String, Entry>,
        key: &str,
        now: Instant,
    ) -> &'m mut Entry {
        if !entries.contains_key(key) {
            if entries.len() >= self.max_gateways {
                evict_idle(entries);
            }
            breaker_gauge("closed", 1.0);
            entries.insert(
                key.to_owned(),
                Entry {
                    breaker: Breaker::new(self.breaker_threshold, self.breaker_open),
                    last_good: None,
                    flight: None,
                    last_used: now,
                },
            );
        }
        // Inserted just above when missing.
        entries
            .get_mut(key)
            .unwrap_or_else(|| unreachable!("entry inserted above"))
    }

    async fn fetch(
        self: Arc<Self>,
        id: u64,
        gateway: Url,
        request_id: Option<HeaderValue>,
    ) -> Outcome {
        let started = Instant::now();
        let call = self.client.list_sessions(&gateway, request_id.as_ref());
        // A panic in the call must still clear the flight and count as a failure below;
        // otherwise every later request would join the dead flight forever.
        let result = match AssertUnwindSafe(call).catch_unwind().await {
            Ok(result) => result,
            Err(_) => Err(GatewayError::InvalidResponse(
                "the gateway call panicked".into(),
            )),
        }
        .and_then(|sessions| Listing::new(SessionsResponse::new(sessions)).map(Arc::new));
        let outcome = match &result {
            Ok(_) => "ok",
            Err(err) => err.kind(),
        };
        metrics::counter!("gateway_calls_total", "outcome" => outcome).increment(1);
        metrics::histogram!("gateway_call_duration_seconds")
            .record(started.elapsed().as_secs_f64());

        let mut entries = self.lock();
        if let Some(entry) = entries.get_mut(gateway.as_str()) {
            if entry.flight.as_ref().is_some_and(|(f, _)| *f == id) {
                entry.flight = None;
            }
            let before = entry.breaker.state().label();
            match &result {
                Ok(listing) => {
                    entry.last_good = Some(listing.clone());
                    entry.breaker.on_success();
                }
                Err(err) => entry.breaker.on_failure(err, Instant::now()),
            }
            let after = entry.breaker.state().label();
            if before != after {
                breaker_gauge(before, -1.0);
                breaker_gauge(after, 1.0);
                match after {
                    "open" => tracing::warn!(
                        gateway = %origin(&gateway),
                        kind = outcome,
                        "breaker open: the gateway is not called for a while"
                    ),
                    _ => {
                        tracing::info!(gateway = %origin(&gateway), "breaker closed: the gateway answers again")
                    }
                }
            }
        }
        result
    }
}

/// Scheme, host and port only: a per-user URL's path may carry something that is not ours to log.
fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Make room: forget the least recently used tenth of the gateways with no call in flight.
fn evict_idle(entries: &mut HashMap<String, Entry>) {
    let mut idle: Vec<(Instant, String)> = entries
        .iter()
        .filter(|(_, e)| e.flight.is_none())
        .map(|(k, e)| (e.last_used, k.clone()))
        .collect();
    idle.sort_unstable_by_key(|(used, _)| *used);
    let count = (entries.len() / 10).max(1);
    for (_, key) in idle.into_iter().take(count) {
        if let Some(entry) = entries.remove(&key) {
            breaker_gauge(entry.breaker.state().label(), -1.0);
        }
    }
}
