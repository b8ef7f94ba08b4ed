//! The committed `openapi.json` must be what the code generates. After an intended API change,
//! regenerate it with `UPDATE_OPENAPI=1 cargo test --test openapi`.

use sessions_api::openapi::document_json;

#[test]
fn committed_openapi_json_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
    let generated = document_json();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi.json is out of date; run `UPDATE_OPENAPI=1 cargo test --test openapi` and commit it"
    );
}

#[test]
fn the_document_describes_the_contract() {
    let doc: serde_json::Value = serde_json::from_str(&document_json()).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let op = &doc["paths"]["/api/sessions"]["get"];
    for status in ["200", "401"] {
        assert!(op["responses"][status].is_object(), "missing {status}");
    }
    let session = &doc["components"]["schemas"]["Session"];
    let mut props: Vec<&str> = session["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    props.sort_unstable();
    assert_eq!(
        props,
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
    assert!(doc["components"]["securitySchemes"]["session_cookie"].is_object());
}
