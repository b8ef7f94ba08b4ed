//! Stub OpenClaw gateway for benchmarks, the nginx test and API fuzzing.
//!
//! This is an example, not part of the service. It answers like the real
//! gateway captured in `tests/fixtures/openclaw/`:
//!
//! - `POST /tools/invoke` -> 200 with `--body` (default: the real 60-session
//!   capture) after `--latency-ms`; 401 with the real body when `--token` is
//!   set and the bearer is missing or wrong; 400/404 with the real bodies for
//!   a request without `tool` or with another tool than `sessions_list`.
//! - `GET /__stats` -> `{"calls":N}` (number of `POST /tools/invoke` calls).
//! - `GET /healthz` (and `/health`) -> `{"ok":true,"status":"live"}`.
//!
//! It is meant to be cheap per request (the response bodies are built once
//! and shared, the connection is HTTP/1.1 keep-alive, one worker thread by
//! default) so that a benchmark measures the service, not the stub.
//!
//! ```text
//! cargo build --example stub_gateway
//! target/debug/examples/stub_gateway --listen 127.0.0.1:0 --latency-ms 20 --token test-token
//! ```
//!
//! It prints `listening on 127.0.0.1:PORT` on stdout once the socket is bound,
//! and exits on SIGINT or SIGTERM.

use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, AUTHORIZATION, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const DEFAULT_BODY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/openclaw/sessions_list.ok.60_sessions.limit500.json"
);
/// Real 401 body of the gateway (wrong or missing bearer).
const UNAUTHORIZED_BODY: &[u8] =
    include_bytes!("../tests/fixtures/openclaw/error.wrong_token.json");
/// Real 400 body for a request without a `tool` field.
const MISSING_TOOL_BODY: &[u8] =
    include_bytes!("../tests/fixtures/openclaw/error.missing_tool.json");
const HEALTHZ_BODY: &[u8] = include_bytes!("../tests/fixtures/openclaw/health.healthz.json");
/// Request bodies above this size are refused (the real ones are ~50 bytes).
const MAX_REQUEST_BODY: usize = 64 * 1024;

#[derive(Debug, Parser)]
#[command(
    name = "stub_gateway",
    about = "Stub OpenClaw gateway (POST /tools/invoke)"
)]
struct Args {
    /// Address to listen on; use port 0 for a free port (printed on stdout).
    #[arg(long, env = "STUB_LISTEN", default_value = "127.0.0.1:18789")]
    listen: SocketAddr,

    /// Delay before answering POST /tools/invoke, in milliseconds.
    #[arg(long, env = "STUB_LATENCY_MS", default_value_t = 0)]
    latency_ms: u64,

    /// File whose bytes are the 200 body of POST /tools/invoke (read once at start).
    #[arg(long, env = "STUB_BODY", default_value = DEFAULT_BODY)]
    body: PathBuf,

    /// Expected bearer token; when set, a missing or wrong one gets the real 401.
    #[arg(long, env = "STUB_TOKEN")]
    token: Option<String>,

    /// Runtime worker threads (1 = a single-threaded runtime, cheapest).
    #[arg(long, env = "STUB_WORKERS", default_value_t = 1)]
    workers: usize,
}

struct State {
    ok_body: Bytes,
    /// `Bearer <token>`, precomputed.
    expected_auth: Option<Bytes>,
    latency: Duration,
    calls: AtomicU64,
}

type Body = Full<Bytes>;

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let ok_body = match std::fs::read(&args.body) {
        Ok(b) => Bytes::from(b),
        Err(e) => {
            eprintln!(
                "stub_gateway: cannot read --body {}: {e}",
                args.body.display()
            );
            return std::process::ExitCode::from(2);
        }
    };
    let state = Arc::new(State {
        ok_body,
        expected_auth: args
            .token
            .as_deref()
            .map(|t| Bytes::from(format!("Bearer {t}"))),
        latency: Duration::from_millis(args.latency_ms),
        calls: AtomicU64::new(0),
    });

    let runtime = if args.workers <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.workers)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("stub_gateway: cannot start the runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    match runtime.block_on(run(args.listen, state)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stub_gateway: {e}");
            std::process::ExitCode::from(1)
        }
    }
}

async fn run(listen: SocketAddr, state: Arc<State>) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    let local = listener.local_addr()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {local}")?;
        out.flush()?;
    }

    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let (stream, _peer) = match accepted {
                    Ok(s) => s,
                    Err(e) => {
                        // e.g. EMFILE under a load test: back off briefly, keep serving.
                        eprintln!("stub_gateway: accept: {e}");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    let svc = service_fn(move |req| handle(Arc::clone(&state), req));
                    // Errors here are client resets / closed keep-alive connections.
                    let _ = http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        }
    }
    eprintln!(
        "stub_gateway: shutting down after {} calls",
        state.calls.load(Ordering::Relaxed)
    );
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn json(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let resp = match (req.method(), req.uri().path()) {
        (&Method::POST, "/tools/invoke") => invoke(&state, req).await,
        (_, "/tools/invoke") => {
            let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
            r.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST"));
            r
        }
        (&Method::GET, "/__stats") => {
            let n = state.calls.load(Ordering::Relaxed);
            json(StatusCode::OK, Bytes::from(format!("{{\"calls\":{n}}}")))
        }
        (&Method::GET, "/healthz" | "/health") => {
            json(StatusCode::OK, Bytes::from_static(HEALTHZ_BODY))
        }
        _ => text(StatusCode::NOT_FOUND, "Not Found"),
    };
    Ok(resp)
}

async fn invoke(state: &State, req: Request<Incoming>) -> Response<Body> {
    state.calls.fetch_add(1, Ordering::Relaxed);

    let authorized = match &state.expected_auth {
        None => true,
        Some(expected) => req
            .headers()
            .get(AUTHORIZATION)
            .is_some_and(|v| v.as_bytes() == expected.as_ref()),
    };

    // Read the (small) request body so the keep-alive connection can be reused.
    let (_parts, body) = req.into_parts();
    let body =
        match http_body_util::Limited::new(body, MAX_REQUEST_BODY)
            .collect()
            .await
        {
            Ok(c) => c.to_bytes(),
            Err(_) => return json(
                StatusCode::PAYLOAD_TOO_LARGE,
                Bytes::from_static(
                    br#"{"error":{"message":"Payload Too Large","type":"invalid_request_error"}}"#,
                ),
            ),
        };

    if !authorized {
        return json(
            StatusCode::UNAUTHORIZED,
            Bytes::from_static(UNAUTHORIZED_BODY),
        );
    }

    // Same checks as the real gateway, in the same order (cheap: ~50-byte bodies).
    let parsed: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            let msg = serde_json::json!({
                "error": {"message": e.to_string(), "type": "invalid_request_error"}
            });
            return json(StatusCode::BAD_REQUEST, Bytes::from(msg.to_string()));
        }
    };
    match parsed.get("tool").and_then(|t| t.as_str()) {
        None | Some("") => {
            return json(
                StatusCode::BAD_REQUEST,
                Bytes::from_static(MISSING_TOOL_BODY),
            )
        }
        Some("sessions_list") => {}
        Some(other) => {
            // Same key order as the real body (serde_json's map would sort the keys).
            let msg = format!(
                r#"{{"ok":false,"error":{{"type":"not_found","message":"Tool not available: {}"}}}}"#,
                escape_json(other)
            );
            return json(StatusCode::NOT_FOUND, Bytes::from(msg));
        }
    }

    if !state.latency.is_zero() {
        tokio::time::sleep(state.latency).await;
    }
    json(StatusCode::OK, state.ok_body.clone())
}

/// Escapes a string for use inside a JSON string literal (without the quotes).
fn escape_json(s: &str) -> String {
    let quoted = serde_json::Value::from(s).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}
