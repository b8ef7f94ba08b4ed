//! Connection-level limits: slow headers are cut off, open connections are capped.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

#[tokio::test]
async fn a_client_trickling_its_headers_is_disconnected() {
    let mut settings = settings_without_gateway().await;
    settings.ops.header_read_timeout = Duration::from_millis(300);
    let app = spawn_app(settings).await;

    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the connection was not closed");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // Whatever was sent back, it was never the health answer.
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
}

#[tokio::test]
async fn open_connections_are_capped() {
    let mut settings = settings_without_gateway().await;
    settings.ops.max_connections = 1;
    let app = spawn_app(settings).await;

    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let first = TcpStream::connect(app.addr).await.unwrap();
    // Let the server accept the first connection and take the only slot.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut second = TcpStream::connect(app.addr).await.unwrap();
    second.write_all(request).await.unwrap();
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(400), second.read(&mut buf)).await;
    assert!(early.is_err(), "served while the only slot was taken");

    drop(first);
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), second.read_to_end(&mut answer))
        .await
        .expect("served once the first connection closed")
        .unwrap();
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_read_timeout() {
    let mut settings = settings_without_gateway().await;
    settings.ops.header_read_timeout = Duration::from_millis(300);
    let app = spawn_app(settings).await;

    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Kept alive, then idle: closed once the timeout passes.
    let started = Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await;
    assert!(matches!(closed, Ok(Ok(0))), "{closed:?}");
    assert!(started.elapsed() >= Duration::from_millis(250));
}
