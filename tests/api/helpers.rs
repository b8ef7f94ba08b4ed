//! Start the real app on a random port in front of a fake gateway.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use secrecy::SecretString;
use serde_json::Value;
use sessions_api::auth::SessionSecrets;
use sessions_api::config::{LogFormat, Settings};
use sessions_api::startup::Application;
use url::Url;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const GATEWAY_TOKEN: &str = "test-token-0123456789";
pub const TEST_SECRET: &str = "dev-secret-for-tests-only-0123456789abcdef";

/// Logs are silent unless `TEST_LOG` is set.
fn init_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            sessions_api::telemetry::init(LogFormat::Pretty, std::io::stdout);
        }
    });
}

pub fn fixture(rel: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn openclaw(name: &str) -> Vec<u8> {
    fixture(&format!("openclaw/{name}"))
}

fn vectors() -> &'static Value {
    static VECTORS: OnceLock<Value> = OnceLock::new();
    VECTORS.get_or_init(|| serde_json::from_slice(&fixture("nextauth/vectors.json")).unwrap())
}

/// A vector's `(cookieName, token)` by name, e.g. `v4/valid`.
pub fn vector_cookie(name: &str) -> String {
    let v = vectors()["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no vector {name}"));
    format!(
        "{}={}",
        v["cookieName"].as_str().unwrap(),
        v["token"].as_str().unwrap()
    )
}

/// A valid NextAuth v4 session for `TEST_SECRET` (minted by the real library, 100-year expiry).
pub fn valid_cookie() -> String {
    vector_cookie("v4/valid")
}

pub fn test_settings(gateway: &str) -> Settings {
    let mut settings = Settings::for_gateway(Url::parse(gateway).unwrap());
    settings.gateway.token = Some(SecretString::from(GATEWAY_TOKEN));
    settings.gateway.timeout = Duration::from_millis(1_500);
    settings.gateway.connect_timeout = Duration::from_millis(500);
    // Most tests count gateway calls per request; the freshness window is tested on its own.
    settings.ops.cache_ttl = Duration::ZERO;
    settings.secrets = SessionSecrets::resolve(
        Some(SecretString::from(TEST_SECRET)),
        None,
        [None, None, None],
    );
    settings
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get_sessions(&self, cookie: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(self.url("/api/sessions"));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.expect("request to the app")
    }

    /// GET /api/sessions with a valid cookie; returns status and JSON body.
    pub async fn sessions_json(&self) -> (u16, Value) {
        let response = self.get_sessions(Some(&valid_cookie())).await;
        let status = response.status().as_u16();
        let body = response.json().await.expect("JSON body");
        (status, body)
    }
}

pub async fn spawn_app(settings: Settings) -> TestApp {
    init_logs();
    let app = Application::build(&settings).await.expect("app builds");
    let addr = app.local_addr().unwrap();
    tokio::spawn(app.run_until(std::future::pending()));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp { addr, client }
}

/// A wiremock gateway that answers the exact `sessions_list` call with `response`.
pub async fn gateway_answering(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tools/invoke"))
        .and(header(
            "authorization",
            format!("Bearer {GATEWAY_TOKEN}").as_str(),
        ))
        .and(body_json(
            serde_json::json!({"tool":"sessions_list","args":{"limit":50}}),
        ))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

/// A captured real response, served with its real content type.
pub fn captured(status: u16, body_file: &str) -> ResponseTemplate {
    let content_type = if body_file.ends_with(".json") {
        "application/json; charset=utf-8"
    } else if body_file.ends_with(".html") {
        "text/html; charset=utf-8"
    } else {
        "text/plain; charset=utf-8"
    };
    ResponseTemplate::new(status).set_body_raw(openclaw(body_file), content_type)
}

/// The app in front of a wiremock gateway that answers `response`.
pub async fn app_with_gateway(response: ResponseTemplate) -> (TestApp, MockServer) {
    let gateway = gateway_answering(response).await;
    let app = spawn_app(test_settings(&gateway.uri())).await;
    (app, gateway)
}

/// Asserts the documented gateway-error body, exactly.
pub fn assert_gateway_error(status: u16, body: &Value, message: &str) {
    assert_eq!(status, 200, "gateway errors are still 200: {body}");
    assert_eq!(
        body,
        &serde_json::json!({"sessions": [], "error": message, "source": "gateway-error"})
    );
}

/// Settings whose gateway is a loopback port with nothing listening: for tests that must not
/// reach a gateway.
pub async fn settings_without_gateway() -> Settings {
    let port = closed_port().await;
    test_settings(&format!("http://127.0.0.1:{port}"))
}

/// A loopback port with nothing listening on it.
pub async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}
