//! The fault matrix: every way a gateway can fail, each with the exact answer and a bound on
//! how long it took. wiremock where HTTP suffices, a raw TCP listener below it.

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

const GATEWAY_TIMEOUT: Duration = Duration::from_millis(400);

/// Settings with short gateway timeouts, so timeouts are proven quickly.
fn fault_settings(gateway: &str) -> sessions_api::config::Settings {
    let mut settings = test_settings(gateway);
    settings.gateway.timeout = GATEWAY_TIMEOUT;
    settings.gateway.connect_timeout = Duration::from_millis(200);
    settings
}

/// One request through an app in front of `gateway`: the exact `gateway-error` body, within
/// `bound`.
async fn expect_error(gateway: &str, message: &str, bound: Duration) {
    let app = spawn_app(fault_settings(gateway)).await;
    let started = Instant::now();
    let (status, body) = app.sessions_json().await;
    let elapsed = started.elapsed();
    assert_gateway_error(status, &body, message);
    assert!(
        elapsed < bound,
        "{message}: took {elapsed:?}, bound {bound:?}"
    );
}

async fn expect_error_from(response: ResponseTemplate, message: &str, bound: Duration) {
    let gw = gateway_answering(response).await;
    expect_error(&gw.uri(), message, bound).await;
}

/// A gateway below HTTP: every connection is handed to `behave`.
async fn raw_gateway<F, Fut>(behave: F) -> String
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(behave(stream));
        }
    });
    format!("http://{addr}")
}

/// Read one whole request (headers and the `Content-Length` body).
async fn read_request(stream: &mut TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = stream.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())
                        .flatten()
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return;
            }
        }
    }
}

const OK_HEAD: &str = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n";

#[tokio::test]
async fn connection_refused() {
    let port = closed_port().await;
    expect_error(
        &format!("http://127.0.0.1:{port}"),
        "Gateway unreachable",
        Duration::from_millis(500),
    )
    .await;
}

#[tokio::test]
async fn dns_failure() {
    // RFC 2606: `.invalid` never resolves.
    expect_error(
        "http://openclaw-gateway.invalid:18789",
        "Gateway unreachable",
        Duration::from_secs(2),
    )
    .await;
}

#[tokio::test]
async fn accept_then_close() {
    let gw = raw_gateway(|stream| async move { drop(stream) }).await;
    expect_error(&gw, "Gateway unreachable", Duration::from_millis(500)).await;
}

#[tokio::test]
async fn close_after_reading_the_request() {
    let gw = raw_gateway(|mut stream| async move {
        read_request(&mut stream).await;
    })
    .await;
    expect_error(&gw, "Gateway unreachable", Duration::from_millis(500)).await;
}

#[tokio::test]
async fn reset_mid_body() {
    let gw = raw_gateway(|mut stream| async move {
        read_request(&mut stream).await;
        let head = format!("{OK_HEAD}content-length: 1000\r\n\r\n{{\"ok\":true,\"result\":{{");
        let _ = stream.write_all(head.as_bytes()).await;
        let _ = stream.flush().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        #[allow(deprecated)]
        let _ = stream.set_linger(Some(Duration::ZERO));
        drop(stream); // RST
    })
    .await;
    expect_error(&gw, "Invalid gateway response", Duration::from_millis(500)).await;
}

#[tokio::test]
async fn headers_never_sent() {
    let gw = raw_gateway(|mut stream| async move {
        read_request(&mut stream).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    expect_error(&gw, "Gateway timeout", GATEWAY_TIMEOUT * 2).await;
}

#[tokio::test]
async fn body_dripping_slower_than_the_timeout() {
    let gw = raw_gateway(|mut stream| async move {
        read_request(&mut stream).await;
        let head = format!("{OK_HEAD}content-length: 100000\r\n\r\n");
        let _ = stream.write_all(head.as_bytes()).await;
        for _ in 0..300 {
            if stream.write_all(b" ").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    expect_error(&gw, "Gateway timeout", GATEWAY_TIMEOUT * 2).await;
}

#[tokio::test]
async fn chunked_encoding_cut_short() {
    let gw = raw_gateway(|mut stream| async move {
        read_request(&mut stream).await;
        let response =
            format!("{OK_HEAD}transfer-encoding: chunked\r\n\r\n10\r\n{{\"ok\":true,\"res\r\n");
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await; // no terminating 0-chunk
    })
    .await;
    expect_error(&gw, "Invalid gateway response", Duration::from_millis(500)).await;
}

#[tokio::test]
async fn status_401_and_403() {
    for status in [401, 403] {
        expect_error_from(
            captured(status, "error.wrong_token.json"),
            "Gateway rejected credentials",
            Duration::from_millis(500),
        )
        .await;
    }
}

#[tokio::test]
async fn status_404_tool_policy() {
    expect_error_from(
        captured(404, "error.denied_tool_exec.json"),
        "Tool not available",
        Duration::from_millis(500),
    )
    .await;
}

#[tokio::test]
async fn status_429_with_retry_after() {
    expect_error_from(
        ResponseTemplate::new(429)
            .insert_header("retry-after", "30")
            .set_body_raw(r#"{"ok":false}"#, "application/json"),
        "Gateway rate limited",
        Duration::from_millis(500),
    )
    .await;
}

#[tokio::test]
async fn status_500_and_400_ok_false() {
    expect_error_from(
        captured(500, "error.during_startup.json"),
        "Gateway error",
        Duration::from_millis(500),
    )
    .await;
    expect_error_from(
        captured(400, "error.malformed_json.json"),
        "Gateway error",
        Duration::from_millis(500),
    )
    .await;
}

#[tokio::test]
async fn html_200() {
    expect_error_from(
        captured(200, "other.unknown_path_is_control_ui.html"),
        "Invalid gateway response",
        Duration::from_millis(500),
    )
    .await;
}

#[tokio::test]
async fn empty_200() {
    expect_error_from(
        ResponseTemplate::new(200),
        "Invalid gateway response",
        Duration::from_millis(500),
    )
    .await;
}

#[tokio::test]
async fn non_json_content_type() {
    expect_error_from(
        ResponseTemplate::new(200).set_body_raw("sessions: none", "application/octet-stream"),
        "Invalid gateway response",
        Duration::from_millis(500),
    )
    .await;
    // A real gateway once answered valid JSON as text/plain: the body decides.
    let gw = gateway_answering(
        captured(
            200,
            "sessions_list.ok.5_sessions.text_plain_content_type.json",
        )
        .insert_header("content-type", "text/plain"),
    )
    .await;
    let app = spawn_app(fault_settings(&gw.uri())).await;
    let (status, body) = app.sessions_json().await;
    assert_eq!((status, body["source"].clone()), (200, json!("gateway")));
}

#[tokio::test]
async fn malformed_json() {
    expect_error_from(
        ResponseTemplate::new(200).set_body_raw(r#"{"ok":true,"result":{"#, "application/json"),
        "Invalid gateway response",
        Duration::from_millis(500),
    )
    .await;
}

#[tokio::test]
async fn valid_json_of_the_wrong_shape() {
    for body in [
        r#"{"ok":true,"status":"live"}"#,
        r#""sessions""#,
        r#"{"ok":true,"result":{"sessions":"many"}}"#,
    ] {
        expect_error_from(
            ResponseTemplate::new(200).set_body_raw(body, "application/json"),
            "Invalid gateway response",
            Duration::from_millis(500),
        )
        .await;
    }
}

#[tokio::test]
async fn a_10_mib_body() {
    let body = vec![b' '; 10 * 1024 * 1024];
    expect_error_from(
        ResponseTemplate::new(200).set_body_raw(body, "application/json"),
        "Invalid gateway response",
        Duration::from_secs(2),
    )
    .await;
}

#[tokio::test]
async fn a_10_mib_chunked_body_without_a_length() {
    let gw = raw_gateway(|mut stream| async move {
        read_request(&mut stream).await;
        let head = format!("{OK_HEAD}transfer-encoding: chunked\r\n\r\n");
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = vec![b' '; 64 * 1024];
        for _ in 0..160 {
            let frame = format!("{:x}\r\n", chunk.len());
            if stream.write_all(frame.as_bytes()).await.is_err()
                || stream.write_all(&chunk).await.is_err()
                || stream.write_all(b"\r\n").await.is_err()
            {
                return;
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n").await;
    })
    .await;
    expect_error(&gw, "Invalid gateway response", Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed() {
    let elsewhere = MockServer::start().await;
    Mock::given(any())
        .respond_with(captured(200, "sessions_list.ok.5_sessions.json"))
        .mount(&elsewhere)
        .await;
    for status in [301, 302, 307, 308] {
        expect_error_from(
            ResponseTemplate::new(status).insert_header(
                "location",
                format!("{}/tools/invoke", elsewhere.uri()).as_str(),
            ),
            "Gateway error",
            Duration::from_millis(500),
        )
        .await;
    }
    assert!(
        elsewhere.received_requests().await.unwrap().is_empty(),
        "the token never left for another host"
    );
}
