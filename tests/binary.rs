//! The real binary: start-up, configuration errors, dev-token, healthcheck and graceful shutdown.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use secrecy::SecretString;
use sessions_api::auth::{SessionSecrets, SessionVerifier};

const BIN: &str = env!("CARGO_BIN_EXE_sessions-api");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn command() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    cmd
}

#[test]
fn bad_configuration_exits_2_with_a_clear_message() {
    let out = command()
        .env("OPENCLAW_GATEWAY_URL", "ftp://gateway")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("OPENCLAW_GATEWAY_URL"), "{stderr}");

    let out = command()
        .env("NEXTAUTH_SECRET_FILE", "/nonexistent/secret")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NEXTAUTH_SECRET_FILE"));
}

#[test]
fn dev_token_mints_a_cookie_the_service_accepts() {
    let secret = "binary-test-secret";
    let out = command()
        .env("NEXTAUTH_SECRET", secret)
        .args(["dev-token", "--email", "dev@example.com", "--sub", "user-7"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap();
    let verifier = SessionVerifier::new(&SessionSecrets::resolve(
        Some(SecretString::from(secret)),
        None,
        [None, None, None],
    ));
    let principal = verifier
        .verify_cookie_value(
            "next-auth.session-token",
            token.trim(),
            chrono::Utc::now().timestamp(),
        )
        .unwrap();
    assert_eq!(principal.email, "dev@example.com");
    assert_eq!(principal.user_id.as_deref(), Some("user-7"));

    let out = command()
        .args(["dev-token", "--email", "dev@example.com"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "no secret configured");
}

#[cfg(unix)]
#[test]
fn serves_passes_healthcheck_and_stops_on_sigterm() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = command()
        .env("LISTEN_ADDR", &addr)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let healthcheck = || {
        command()
            .env("LISTEN_ADDR", &addr)
            .arg("healthcheck")
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    };
    let started = Instant::now();
    while !healthcheck() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "service did not become healthy"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("service did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status}");
    assert!(!healthcheck(), "still answering after shutdown");
}
