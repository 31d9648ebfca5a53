//! A cursor from another timeline (a restored backup, a rolled-back
//! database): the server says `reset` instead of silently delivering nothing.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn a_websocket_resume_above_the_head_is_reset_and_stays_live() {
    let app = spawn_app().await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let (_, first) = app.send(&bob, "the only message", "c-0").await;
    let head = first["id"].as_i64().unwrap();

    let mut a = app.ws_after(&alice, 1_000_000).await;
    assert_eq!(a.hello["reset"], true, "{}", a.hello);
    assert_eq!(a.hello["last_id"], head);
    let mut sent = Vec::new();
    for i in 1..=3 {
        let (_, m) = app.send(&bob, &format!("new {i}"), &format!("c-{i}")).await;
        sent.push(m["id"].as_i64().unwrap());
    }
    assert_eq!(
        ids(&a.messages(3).await),
        sent,
        "live delivery continues after the head"
    );

    // A normal resume carries no reset flag.
    let b = app.ws_after(&bob, head).await;
    assert!(b.hello.get("reset").is_none(), "{}", b.hello);

    // The same cursor in a sync frame is answered with a reset frame.
    a.send_json(&json!({"type": "sync", "after": 9_000_000}))
        .await;
    let reset = a.next_of("reset").await;
    assert_eq!(reset["last_id"], sent[2]);
    a.assert_usable().await;
}

#[tokio::test]
async fn a_poll_above_the_head_is_reset_and_never_echoes_the_bad_cursor() {
    let app = spawn_app().await;
    let bob = app.register("bob").await;
    let (_, first) = app.send(&bob, "one", "p-0").await;
    let head = first["id"].as_i64().unwrap();

    let res = app
        .get("/api/chat/messages/new?after_id=1000000", Some(&bob.token))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["reset"], true);
    assert_eq!(body["last_id"], head, "the head, not the bad cursor");
    assert_eq!(body["messages"], json!([]));

    // Polling on from the cursor it handed out sees new messages.
    let (_, next) = app.send(&bob, "two", "p-1").await;
    let got = app.poll_all(&bob, head).await;
    assert_eq!(ids(&got), vec![next["id"].as_i64().unwrap()]);
    let normal: Value = app
        .get(
            &format!("/api/chat/messages/new?after_id={head}"),
            Some(&bob.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(normal.get("reset").is_none());
}

#[tokio::test]
async fn a_malformed_resume_cursor_is_400_not_405() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    for query in ["after=abc", "after=1.5", "after="] {
        let res = app
            .http
            .get(app.url(&format!("/api/chat/ws?{query}")))
            .bearer_auth(&alice.token)
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "bad_request");
    }
}

#[tokio::test]
async fn the_1009_reason_names_the_configured_limit() {
    let app = spawn_app_with(&["--max-frame", "2048"]).await;
    let u = app.register("big").await;
    let mut ws = app.ws(&u).await;
    ws.send_json(&json!({"type": "message", "content": "x".repeat(3000), "client_id": "huge"}))
        .await;
    let close = ws.closed().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1009);
    assert_eq!(close.reason.as_str(), "frame too large (max 2048 bytes)");
}
