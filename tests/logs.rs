//! The JSON logs of full request cycles, captured: no secret, token or cookie value ever
//! appears, and every line of a request carries its `request_id`.
//!
//! Its own test binary, because the global subscriber can be installed once per process.

#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use helpers::*;
use serde_json::Value;
use sessions_api::config::LogFormat;
use wiremock::ResponseTemplate;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A value that must never reach a log.
const CLIENT_BEARER: &str = "client-bearer-SECRET-0123456789abcdef";
const OTHER_COOKIE: &str = "unrelated-cookie-SECRET-0123456789abcdef";

fn cookie_value(cookie: &str) -> String {
    cookie.split_once('=').unwrap().1.to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_of_full_request_cycles_hold_no_secret_and_carry_request_ids() {
    std::env::set_var("RUST_LOG", "debug");
    let capture = Capture::default();
    let writer = capture.clone();
    assert!(sessions_api::telemetry::init(LogFormat::Json, move || {
        writer.clone()
    }));

    let cookies = [
        valid_cookie(),
        vector_cookie("v5/valid"),
        vector_cookie("v4/tamper-tag"),
        vector_cookie("v4/expired"),
        vector_cookie("v5/wrong-secret"),
        format!("next-auth.session-token={}", "x".repeat(64)),
    ];
    let gateways = [
        captured(200, "sessions_list.ok.5_sessions.json"),
        captured(401, "error.wrong_token.json"),
        captured(500, "error.during_startup.json"),
        captured(200, "sessions_list.ok.5_sessions.json").set_delay(Duration::from_secs(5)),
        ResponseTemplate::new(200).set_body_raw("{not json", "application/json"),
    ];
    let mut ids = Vec::new();
    for (g, response) in gateways.into_iter().enumerate() {
        let gw = gateway_answering(response).await;
        let mut settings = test_settings(&gw.uri());
        settings.gateway.timeout = Duration::from_millis(300);
        settings.ops.serve_stale = Duration::from_secs(60);
        settings.ops.trusted_proxies =
            vec![sessions_api::config::parse_proxy("127.0.0.1").unwrap()];
        let app = spawn_app(settings).await;
        for (c, cookie) in cookies.iter().enumerate() {
            let id = format!("rid-{g}-{c}");
            let response = app
                .client
                .get(app.url("/api/sessions"))
                .header(
                    "cookie",
                    format!("{cookie}; other={OTHER_COOKIE}; theme=dark"),
                )
                .header("authorization", format!("Bearer {CLIENT_BEARER}"))
                .header("x-forwarded-for", "198.51.100.23")
                .header("x-request-id", &id)
                .send()
                .await
                .unwrap();
            assert!(response.status().as_u16() < 500);
            let _ = response.bytes().await;
            ids.push(id);
        }
    }
    // The gateway task of the slow case logs after the answer; let it finish.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(!logs.is_empty());
    if let Ok(path) = std::env::var("DUMP_LOGS") {
        std::fs::write(path, &logs).unwrap();
    }

    // No secret, token or cookie value, nor any 16-character piece of one.
    let mut secrets = vec![
        TEST_SECRET.to_owned(),
        GATEWAY_TOKEN.to_owned(),
        CLIENT_BEARER.to_owned(),
        OTHER_COOKIE.to_owned(),
    ];
    secrets.extend(cookies.iter().map(|c| cookie_value(c)));
    for secret in &secrets {
        let chars: Vec<char> = secret.chars().collect();
        for window in chars.windows(16) {
            let piece: String = window.iter().collect();
            assert!(
                !logs.contains(&piece),
                "a 16-character piece of a secret value reached the logs"
            );
        }
    }

    // Every line is JSON; every line inside a request span carries its request id and the
    // client IP from the trusted proxy's X-Forwarded-For.
    let mut lines_per_id = std::collections::HashMap::<String, usize>::new();
    for line in logs.lines() {
        let value: Value = serde_json::from_str(line).expect("JSON log line");
        let Some(span) = value.get("span") else {
            continue;
        };
        if span["name"] != "request" {
            continue;
        }
        let id = span["request_id"].as_str().expect("request_id on the span");
        assert_eq!(span["client_ip"], "198.51.100.23", "{line}");
        *lines_per_id.entry(id.to_owned()).or_default() += 1;
    }
    for id in &ids {
        assert!(
            lines_per_id.get(id).copied().unwrap_or(0) >= 2,
            "request {id} has its log lines: {lines_per_id:?}"
        );
    }
    // The gateway failures were logged, under a request id.
    assert!(logs.contains("gateway call failed"));
}
