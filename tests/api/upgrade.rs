//! A database written by the release before schema v3 (tests/fixtures/v2.db,
//! made by main 3da1c27 through its HTTP API) starts under this binary with
//! every account, message, token and the epoch intact.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/v2.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

async fn upgraded_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/v2.db"),
        dir.path().join("hearth.db"),
    )
    .unwrap();
    spawn_in(Arc::new(dir), &[]).await
}

#[tokio::test]
async fn a_version_2_database_upgrades_in_place() {
    let v2 = fixture();
    let app = upgraded_app().await;
    let config: Value = app.get("/api/config", None).await.json().await.unwrap();
    assert_eq!(
        config["epoch"], v2["epoch"],
        "the epoch is kept: clients keep their caches"
    );

    for user in v2["users"].as_array().unwrap() {
        let token = user["token"].as_str().unwrap();
        let me = app.get("/api/auth/me", Some(token)).await;
        assert_eq!(
            me.status(),
            StatusCode::OK,
            "a token issued by v2 still works"
        );
        let me: Value = me.json().await.unwrap();
        assert_eq!(me["username"], user["username"]);
        assert_eq!(me["is_admin"], user["is_admin"]);
        let name = user["username"].as_str().unwrap();
        assert_eq!(app.login(name, "password123").await.0, StatusCode::OK);
    }
    let token = v2["users"][0]["token"].as_str().unwrap();
    let history: Value = app
        .get("/api/chat/messages?limit=200", Some(token))
        .await
        .json()
        .await
        .unwrap();
    let got: Vec<Value> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| json!({"id": m["id"], "username": m["username"], "content": m["content"], "created_at": m["created_at"], "client_id": m["client_id"]}))
        .collect();
    assert_eq!(Value::from(got), v2["messages"], "lobby history unchanged");

    // Look-alike protection covers the accounts made before it existed.
    let res = app
        .post_json(
            "/api/auth/register",
            None,
            &json!({"username": "\u{430}lice", "password": "password123"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_token_from_before_sessions_existed_can_still_sign_out() {
    let v2 = fixture();
    let app = upgraded_app().await;
    let old = v2["users"][1]["token"].as_str().unwrap();
    let mut ws = WsClient::connect(app.addr, old, None).await.unwrap();
    let res = app
        .post_json("/api/auth/logout", Some(old), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(u16::from(ws.closed().await.expect("closed").code), 4001);
    assert_eq!(
        app.get("/api/auth/me", Some(old)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let other = v2["users"][0]["token"].as_str().unwrap();
    assert_eq!(
        app.get("/api/auth/me", Some(other)).await.status(),
        StatusCode::OK
    );
}
