//! Builds the whole service: state, routes and the tower-http layers, in one place.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::error_handling::HandleErrorLayer;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use http::{header, HeaderName, HeaderValue, StatusCode};
use tokio::net::TcpListener;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::{
    SetSensitiveRequestHeadersLayer, SetSensitiveResponseHeadersLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::auth::SessionVerifier;
use crate::config::Settings;
use crate::edge::{self, TrustedProxies};
use crate::error::{json_error, ApiError};
use crate::gateway::{GatewayAllowlist, GatewayClient};
use crate::store::SessionStore;
use crate::upstream::SessionsSource;
use crate::{health, observability, openapi, sessions};

/// What every handler can reach. Axum clones the state for every request, so it is one `Arc`.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Services>);

/// The long-lived parts of the service, built once at start-up.
#[derive(Debug)]
pub struct Services {
    pub verifier: SessionVerifier,
    pub gateway: GatewayClient,
    /// Opaque sessions and per-user gateways; `None` without `DATABASE_URL`.
    pub store: Option<SessionStore>,
    pub gateway_allowlist: GatewayAllowlist,
    /// The gateway behind coalescing, the freshness window and the breaker.
    pub sessions: SessionsSource,
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot build the gateway HTTP client: {0}")]
    GatewayClient(#[from] reqwest::Error),
    #[error("session store: {0}")]
    Store(#[from] crate::config::ConfigError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

impl AppState {
    /// Derive the session keys and build the gateway client: the work that must not happen per
    /// request.
    pub fn from_settings(settings: &Settings) -> Result<Self, StartupError> {
        let verifier = SessionVerifier::new(&settings.secrets);
        if !verifier.is_configured() {
            tracing::warn!(
                "no NEXTAUTH_SECRET / AUTH_SECRET configured: every /api/sessions request will be answered 401"
            );
        }
        let gateway = GatewayClient::new(&settings.gateway)?;
        if settings.gateway.token.is_none() {
            tracing::warn!(
                "no OPENCLAW_GATEWAY_TOKEN configured: every /api/sessions request will get a gateway-error body"
            );
        }
        let store = crate::store::from_settings(settings)?;
        let sessions = SessionsSource::new(gateway.clone(), &settings.ops);
        Ok(Self(Arc::new(Services {
            verifier,
            gateway,
            store,
            gateway_allowlist: settings.gateway_allowlist.clone(),
            sessions,
        })))
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole HTTP surface of the service.
pub fn app(state: AppState, settings: &Settings) -> Router {
    // Rendered once; the document only changes with the code.
    let openapi = Bytes::from(openapi::document_json());
    // Only the API sheds load; health probes are always answered.
    let shed = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(edge::overloaded))
        .layer(LoadShedLayer::new())
        .layer(GlobalConcurrencyLimitLayer::new(
            settings.ops.max_concurrent_requests,
        ));
    let api = Router::new()
        .route("/api/sessions", get(sessions::list_sessions).layer(shed))
        .route(
            "/api/openapi.json",
            get(move || async move {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    openapi.clone(),
                )
            }),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .fallback(|| async { ApiError::NotFound })
        .with_state(state);

    let proxies = TrustedProxies::new(&settings.ops.trusted_proxies);
    let layers = ServiceBuilder::new()
        .layer(middleware::from_fn(observability::record_http))
        // Secrets are marked before anything can log the request.
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::COOKIE,
            header::AUTHORIZATION,
        ]))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(move |request: &Request| {
                    let request_id = request
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    let client_ip = proxies.of_request(request);
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id = %request_id,
                        client_ip = client_ip.map(tracing::field::display),
                    )
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(middleware::from_fn_with_state(
            settings.ops.max_header_bytes,
            edge::limit_header_bytes,
        ))
        .layer(SetSensitiveResponseHeadersLayer::new([header::SET_COOKIE]))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ))
        .layer(middleware::from_fn(json_error_bodies))
        .option_layer(edge::cors(&settings.ops.cors_allowed_origins));

    // Inner layers: their error answers pass through `json_error_bodies` above.
    let inner = ServiceBuilder::new()
        .layer(CatchPanicLayer::custom(|_panic| {
            tracing::error!("handler panicked");
            json_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }))
        .layer(RequestBodyLimitLayer::new(16 * 1024))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            settings.request_timeout,
        ));

    api.layer(inner).layer(layers)
}

/// Layers and the router answer some errors with an empty body (405, 408, 413, timeouts); give
/// them the JSON body the rest of the API uses.
async fn json_error_bodies(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return response;
    }
    let message = status.canonical_reason().unwrap_or("Error");
    let mut replacement = json_error(status, message);
    let (parts, _) = response.into_parts();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_LENGTH {
            replacement
                .headers_mut()
                .insert(name.clone(), value.clone());
        }
    }
    // A request timeout is a 503 too: tell clients when to come back, as load shedding does.
    if status == StatusCode::SERVICE_UNAVAILABLE {
        replacement
            .headers_mut()
            .entry(header::RETRY_AFTER)
            .or_insert(HeaderValue::from_static("1"));
    }
    replacement
}

/// A bound listener and the app that will serve on it.
pub struct Application {
    listener: TcpListener,
    router: Router,
    limits: crate::server::ConnectionLimits,
    /// The `/metrics` listener, when `METRICS_ADDR` is set.
    metrics: Option<(TcpListener, Router)>,
}

impl Application {
    pub async fn build(settings: &Settings) -> Result<Self, StartupError> {
        let metrics = match settings.ops.metrics_addr {
            Some(addr) => match observability::prometheus() {
                Some(handle) => {
                    let listener = TcpListener::bind(addr)
                        .await
                        .map_err(|source| StartupError::Bind { addr, source })?;
                    Some((listener, observability::metrics_router(handle)))
                }
                None => {
                    tracing::warn!("another metrics recorder is installed; no /metrics listener");
                    None
                }
            },
            None => None,
        };
        let state = AppState::from_settings(settings)?;
        let router = app(state, settings);
        let listener = TcpListener::bind(settings.listen_addr)
            .await
            .map_err(|source| StartupError::Bind {
                addr: settings.listen_addr,
                source,
            })?;
        let limits = crate::server::ConnectionLimits {
            header_read_timeout: settings.ops.header_read_timeout,
            max_header_bytes: settings.ops.max_header_bytes,
            max_connections: settings.ops.max_connections,
        };
        Ok(Self {
            listener,
            router,
            limits,
            metrics,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where `/metrics` is served, when it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref()?.0.local_addr().ok()
    }

    /// Serve until `shutdown` resolves, then finish the requests in flight.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let metrics = self.metrics.map(|(listener, router)| {
            tokio::spawn(async move {
                if let Err(err) = axum::serve(listener, router).await {
                    tracing::error!(error = %err, "metrics listener failed");
                }
            })
        });
        let served = crate::server::serve(self.listener, self.router, self.limits, shutdown).await;
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        served
    }
}

/// Resolves on SIGTERM (container stop) or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; draining in-flight requests");
}
