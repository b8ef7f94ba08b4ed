use serde_json::{json, Value};

use crate::helpers::*;

fn keys(session: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = session
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

#[tokio::test]
async fn five_real_sessions_are_normalised() {
    let (app, _gw) = app_with_gateway(captured(200, "sessions_list.ok.5_sessions.json")).await;
    let response = app.get_sessions(Some(&valid_cookie())).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();

    assert_eq!(body["source"], "gateway");
    assert_eq!(body["total"], 5);
    let sessions = body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 5);
    assert_eq!(
        sessions[0],
        json!({
            "key": "agent:main:main",
            "agentId": "main",
            "status": "active",
            "messageCount": 0,
            "lastActivity": "2026-12-03T14:59:00Z",
            "createdAt": null,
            "model": "gpt-6-astra"
        })
    );
    // The gateway's own status is kept; the order is the gateway's.
    assert_eq!(
        sessions[1]["key"],
        "agent:main:subagent:00000001-4b5a-4c6d-8e7f-a0b1c2d3e4f5"
    );
    assert_eq!(sessions[1]["status"], "done");
    for session in sessions {
        assert_eq!(
            keys(session),
            [
                "agentId",
                "createdAt",
                "key",
                "lastActivity",
                "messageCount",
                "model",
                "status"
            ]
        );
    }
    assert_eq!(keys(&body), ["sessions", "source", "total"]);
}

#[tokio::test]
async fn zero_sessions_is_an_empty_success() {
    let (app, _gw) = app_with_gateway(captured(200, "sessions_list.ok.0_sessions.json")).await;
    let (status, body) = app.sessions_json().await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"sessions": [], "total": 0, "source": "gateway"})
    );
}

#[tokio::test]
async fn sixty_sessions_are_cut_to_fifty_in_gateway_order() {
    let (app, _gw) =
        app_with_gateway(captured(200, "sessions_list.ok.60_sessions.noargs.json")).await;
    let (status, body) = app.sessions_json().await;
    assert_eq!(status, 200);
    assert_eq!(body["total"], 50);
    let sessions = body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 50);

    let raw: Value =
        serde_json::from_slice(&openclaw("sessions_list.ok.60_sessions.noargs.json")).unwrap();
    let expected: Vec<&Value> = raw["result"]["details"]["sessions"].as_array().unwrap()[..50]
        .iter()
        .map(|row| &row["key"])
        .collect();
    let got: Vec<&Value> = sessions.iter().map(|s| &s["key"]).collect();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn text_plain_content_type_from_the_gateway_is_still_read() {
    let gw = gateway_answering(
        wiremock::ResponseTemplate::new(200)
            .set_body_raw(openclaw("sessions_list.ok.5_sessions.json"), "text/plain"),
    )
    .await;
    let app = spawn_app(test_settings(&gw.uri())).await;
    let (status, body) = app.sessions_json().await;
    assert_eq!(status, 200);
    assert_eq!(body["total"], 5);
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let (app, _gw) = app_with_gateway(captured(200, "sessions_list.ok.5_sessions.json")).await;
    let response = app
        .client
        .head(app.url("/api/sessions"))
        .header("cookie", valid_cookie())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(response.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_request_id_reaches_the_gateway_and_comes_back() {
    let (app, gw) = app_with_gateway(captured(200, "sessions_list.ok.0_sessions.json")).await;
    let response = app
        .client
        .get(app.url("/api/sessions"))
        .header("cookie", valid_cookie())
        .header("x-request-id", "rid-from-client-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "rid-from-client-42");
    let received = gw.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].headers["x-request-id"], "rid-from-client-42");

    // Without one, an id is generated and returned.
    let response = app.get_sessions(Some(&valid_cookie())).await;
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!id.is_empty());
    let received = gw.received_requests().await.unwrap();
    assert_eq!(received[1].headers["x-request-id"], id.as_str());
}
