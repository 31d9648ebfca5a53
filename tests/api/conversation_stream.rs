//! Conversation changes on the way to clients: resume across edits,
//! deletions and reactions made while away (also across a restart), typing,
//! notification levels, and the seed's lobby API, which must not see them.

use crate::conversation::{delete, edit, react, room, sent};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The events of the given types among `frames`, as (type, seq, message id).
fn conversation_events(frames: &[Value]) -> Vec<(String, i64, i64)> {
    frames
        .iter()
        .filter(|f| {
            matches!(
                f["type"].as_str(),
                Some("message_edited" | "message_deleted" | "reaction")
            )
        })
        .map(|f| {
            let id = f["message_id"]
                .as_i64()
                .or_else(|| f["message"]["id"].as_i64())
                .unwrap_or_default();
            (
                f["type"].as_str().unwrap_or_default().to_owned(),
                f["seq"].as_i64().unwrap_or_default(),
                id,
            )
        })
        .collect()
}

#[tokio::test]
async fn resume_sees_what_changed_while_away_once_and_in_order_across_a_restart() {
    let app = spawn_app().await;
    let (a, b) = (app.register("alice").await, app.register("bob").await);
    let room_id = app.create_room(&a, "设计", "closed", &[b.id]).await["id"]
        .as_i64()
        .unwrap();
    let m1 = sent(&app, &a, room_id, "one", "m1").await;
    let m2 = sent(&app, &a, room_id, "two", "m2").await;
    let m3 = sent(&app, &a, room_id, "three", "m3").await;
    let ws = app.ws_v2(&b, None).await;
    let cursor = ws.hello["last_id"].as_i64().unwrap();
    drop(ws);

    // Bob is away: an edit, a reaction and a deletion.
    edit(&app, &a, m1, "one, edited").await;
    react(&app, &a, m2, "🎉", true).await;
    assert_eq!(delete(&app, &a, m3).await, StatusCode::NO_CONTENT);
    let dir = app.stop().await;
    let app = spawn_in(dir, &[]).await;

    let mut ws = app.ws_v2(&b, Some(cursor)).await;
    let frames = ws.drain().await;
    let events = conversation_events(&frames);
    let kinds: Vec<_> = events.iter().map(|(k, _, id)| (k.as_str(), *id)).collect();
    assert_eq!(
        kinds,
        vec![
            ("message_edited", m1),
            ("reaction", m2),
            ("message_deleted", m3)
        ],
        "{frames:?}"
    );
    assert!(events.windows(2).all(|w| w[0].1 < w[1].1), "in seq order");
    let edited = frames
        .iter()
        .find(|f| f["type"] == "message_edited")
        .unwrap();
    assert_eq!(edited["message"]["content"], "one, edited");
    let reaction = frames.iter().find(|f| f["type"] == "reaction").unwrap();
    assert_eq!(reaction["reactions"][0]["emoji"], "🎉");

    // The polling stream says the same.
    let (_, page) = app
        .call(
            "GET",
            &format!("/api/stream?after={cursor}"),
            Some(&b.token),
            None,
        )
        .await;
    let polled = conversation_events(page["events"].as_array().unwrap());
    assert_eq!(polled, events);

    // From before the messages: the deleted one comes as deleted, then its deletion.
    let mut ws = app.ws_v2(&b, Some(m1 - 1)).await;
    let frames = ws.drain().await;
    let created = frames
        .iter()
        .find(|f| f["type"] == "message" && f["message"]["id"] == m3)
        .unwrap();
    assert_eq!(
        (
            created["message"]["deleted"].as_bool(),
            created["message"]["content"].as_str()
        ),
        (Some(true), Some(""))
    );
}

#[tokio::test]
async fn typing_reaches_the_room_members_only_and_is_paced() {
    let app = spawn_app().await;
    let (a, b, c) = (
        app.register("alice").await,
        app.register("bob").await,
        app.register("carol").await,
    );
    let room_id = app.create_room(&a, "设计", "closed", &[b.id]).await["id"]
        .as_i64()
        .unwrap();
    let mut alice = app.ws_v2(&a, None).await;
    let mut bob = app.ws_v2(&b, None).await;
    let mut carol = app.ws_v2(&c, None).await;

    alice
        .send_json(&json!({"type": "typing", "room_id": room_id}))
        .await;
    let typing = bob.next_of("typing").await;
    assert_eq!(
        typing,
        json!({"type": "typing", "room_id": room_id, "user": {"id": a.id, "username": "alice"}})
    );
    assert!(
        !carol.drain().await.iter().any(|f| f["type"] == "typing"),
        "not a member"
    );

    // A burst of 3, then at most one a second per room.
    for _ in 0..3 {
        alice
            .send_json(&json!({"type": "typing", "room_id": room_id}))
            .await;
    }
    assert_eq!(alice.next_of("error").await["code"], "typing_too_fast");
    carol
        .send_json(&json!({"type": "typing", "room_id": room_id}))
        .await;
    assert_eq!(carol.next_of("error").await["code"], "not_found");

    // Over REST, for clients without a WebSocket; never in the stream.
    let path = format!("/api/rooms/{room_id}/typing");
    assert_eq!(
        app.call("POST", &path, Some(&b.token), None).await.0,
        StatusCode::NO_CONTENT
    );
    // (Alice's own connection also hears her typing; clients skip their own.)
    while alice.next_of("typing").await["user"]["id"] != b.id {}
    assert_eq!(
        app.call("POST", &path, Some(&c.token), None).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, page) = app
        .call("GET", "/api/stream?after=0", Some(&b.token), None)
        .await;
    assert!(
        !page["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "typing")
    );
    // Typing in the lobby reaches everyone's v2 connection.
    bob.send_json(&json!({"type": "typing", "room_id": 1}))
        .await;
    assert_eq!(carol.next_of("typing").await["room_id"], 1);
}

#[tokio::test]
async fn notification_levels_reach_the_users_other_tabs() {
    let app = spawn_app().await;
    let (a, b) = (app.register("alice").await, app.register("bob").await);
    let room_id = app.create_room(&a, "设计", "closed", &[]).await["id"]
        .as_i64()
        .unwrap();
    let mut tab = app.ws_v2(&a, None).await;
    let path = format!("/api/rooms/{room_id}/notify");
    let put = |who: &TestUser, level: &str| {
        let body = json!({ "level": level });
        let token = who.token.clone();
        let path = path.clone();
        let app = &app;
        async move { app.call("PUT", &path, Some(&token), Some(&body)).await.0 }
    };
    assert_eq!(put(&a, "none").await, StatusCode::NO_CONTENT);
    let event = tab.next_of("notify").await;
    assert_eq!(
        (event["room_id"].as_i64(), event["level"].as_str()),
        (Some(room_id), Some("none"))
    );
    assert_eq!(room(&app, &a, room_id).await["notify"], "none");
    assert_eq!(put(&a, "loud").await, StatusCode::BAD_REQUEST);
    assert_eq!(put(&b, "all").await, StatusCode::NOT_FOUND, "not a member");
}

#[tokio::test]
async fn the_seed_lobby_api_never_sees_deleted_messages_or_new_frames() {
    let app = spawn_app().await;
    let (a, b) = (app.register("alice").await, app.register("bob").await);
    let mut seed = app.ws(&b).await;
    let (_, m) = app.send(&a, "oops", "m1").await;
    let (_, kept) = app.send(&a, "kept", "m2").await;
    let m = m["id"].as_i64().unwrap();
    assert_eq!(seed.messages(2).await.len(), 2);
    edit(&app, &a, kept["id"].as_i64().unwrap(), "kept, edited").await;
    react(&app, &b, m, "👍", true).await;
    assert_eq!(delete(&app, &a, m).await, StatusCode::NO_CONTENT);
    let frames = seed.drain().await;
    assert!(
        frames.iter().all(|f| f["type"] == "presence"),
        "v1 gets none of the new frames: {frames:?}"
    );

    let polled = app.poll_all(&b, 0).await;
    assert_eq!(ids(&polled), vec![kept["id"].as_i64().unwrap()]);
    let res = app.get("/api/chat/messages", Some(&b.token)).await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(
        ids(page["messages"].as_array().unwrap()),
        vec![kept["id"].as_i64().unwrap()]
    );
    let mut resumed = app.ws_after(&b, 0).await;
    let frames = resumed.drain().await;
    let seen: Vec<&Value> = frames.iter().filter(|f| f["type"] == "message").collect();
    assert_eq!(seen.len(), 1, "{frames:?}");
    assert_eq!(seen[0]["message"]["content"], "kept, edited");
}
