//! Mentions, replies, edits, deletions and reactions (docs/PROTOCOL.md §4)
//! over REST and the v2 WebSocket, with the authorization matrix
//! (non-member, other user, admin) and the limits.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Sends to a room with a reply; returns (status, message or error).
pub async fn reply(
    app: &TestApp,
    who: &TestUser,
    room: i64,
    text: &str,
    cid: &str,
    to: i64,
) -> (StatusCode, Value) {
    let body = json!({"content": text, "client_id": cid, "reply_to": to});
    app.call(
        "POST",
        &format!("/api/rooms/{room}/messages"),
        Some(&who.token),
        Some(&body),
    )
    .await
}

pub async fn sent(app: &TestApp, who: &TestUser, room: i64, text: &str, cid: &str) -> i64 {
    let (status, m) = app.send_to(who, room, text, cid).await;
    assert!(status.is_success(), "{m}");
    m["id"].as_i64().expect("id")
}

pub async fn edit(app: &TestApp, who: &TestUser, id: i64, text: &str) -> (StatusCode, Value) {
    let body = json!({"content": text});
    app.call(
        "PATCH",
        &format!("/api/messages/{id}"),
        Some(&who.token),
        Some(&body),
    )
    .await
}

pub async fn delete(app: &TestApp, who: &TestUser, id: i64) -> StatusCode {
    let path = format!("/api/messages/{id}");
    app.call("DELETE", &path, Some(&who.token), None).await.0
}

pub async fn react(
    app: &TestApp,
    who: &TestUser,
    id: i64,
    emoji: &str,
    on: bool,
) -> (StatusCode, Value) {
    let method = if on { "PUT" } else { "DELETE" };
    let emoji = percent_encode(emoji);
    let path = format!("/api/messages/{id}/reactions/{emoji}");
    app.call(method, &path, Some(&who.token), None).await
}

pub fn percent_encode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

pub async fn room(app: &TestApp, who: &TestUser, id: i64) -> Value {
    let (status, room) = app
        .call("GET", &format!("/api/rooms/{id}"), Some(&who.token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{room}");
    room
}

pub async fn history(app: &TestApp, who: &TestUser, room: i64, query: &str) -> Value {
    let path = format!("/api/rooms/{room}/messages{query}");
    let (status, page) = app.call("GET", &path, Some(&who.token), None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

pub fn by_id(page: &Value, id: i64) -> Value {
    page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .find(|m| m["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn mentions_replies_and_the_mention_badge() {
    let app = spawn_app_with(&[
        "--everyone-max-members",
        "2",
        "--send-rate",
        "100",
        "--send-burst",
        "100",
    ])
    .await;
    let (a, b, z) = (
        app.register("alice").await,
        app.register("bob").await,
        app.register("张三").await,
    );
    let outsider = app.register("carol").await;
    let room_id = app.create_room(&a, "设计", "closed", &[b.id, z.id]).await["id"]
        .as_i64()
        .unwrap();
    let (_, m) = app
        .send_to(&a, room_id, "@bob 看一下 @张三你好 @carol", "m1")
        .await;
    let mut mentioned = m["mentions"].as_array().unwrap().clone();
    mentioned.sort_by_key(|v| v.as_i64());
    assert_eq!(
        mentioned,
        vec![json!(b.id), json!(z.id)],
        "carol is not a member: {m}"
    );
    let first = m["id"].as_i64().unwrap();
    let view = room(&app, &b, room_id).await;
    assert_eq!(
        (view["unread"].as_i64(), view["mentions"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(view["notify"], "mentions");
    assert_eq!(
        room(&app, &a, room_id).await["mentions"],
        0,
        "one's own mentions do not count"
    );

    // @everyone: the admin (the first account) may; a member of a room
    // above --everyone-max-members may not (the words stay plain text).
    let (_, plain) = app.send_to(&b, room_id, "@everyone 开会", "m2").await;
    assert!(plain.get("mention_everyone").is_none(), "{plain}");
    let (_, all) = app.send_to(&a, room_id, "@所有人 开会", "m3").await;
    assert_eq!(all["mention_everyone"], true);
    assert_eq!(room(&app, &z, room_id).await["mentions"], 2);

    // A reply carries a preview of the original; the original must be a
    // live message of the same room.
    let (status, r) = reply(&app, &b, room_id, "好的", "r1", first).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r["reply_to"]["id"], first);
    assert_eq!(r["reply_to"]["username"], "alice");
    assert_eq!(r["reply_to"]["content"], "@bob 看一下 @张三你好 @carol");
    let lobby_msg = app.send(&a, "lobby", "l1").await.1["id"].as_i64().unwrap();
    let (status, _) = reply(&app, &b, room_id, "x", "r2", lobby_msg).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a reply stays in its room");
    let (status, _) = reply(&app, &outsider, room_id, "x", "r3", first).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Reading past the mentions clears the badge.
    let last = r["id"].as_i64().unwrap();
    let (status, _) = app
        .call(
            "POST",
            &format!("/api/rooms/{room_id}/read"),
            Some(&z.token),
            Some(&json!({"last_read_id": last})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(room(&app, &z, room_id).await["mentions"], 0);

    // Loading around the original (for a reply's jump).
    for i in 0..30 {
        sent(&app, &a, room_id, &format!("later {i}"), &format!("l-{i}")).await;
    }
    let page = history(&app, &b, room_id, &format!("?around={first}&limit=10")).await;
    assert_eq!(by_id(&page, first)["id"], first);
    assert_eq!(page["has_more_after"], true);
    assert_eq!(page["has_more"], false, "nothing older than the first");
    let path = format!("/api/rooms/{room_id}/messages?around={first}");
    let (status, _) = app.call("GET", &path, Some(&outsider.token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn edits_deletions_and_reactions_over_rest_follow_the_room_rule() {
    let app = spawn_app().await;
    let (admin, a, b) = (
        app.register("admin").await,
        app.register("alice").await,
        app.register("bob").await,
    );
    let carol = app.register("carol").await;
    let room_id = app
        .create_room(&a, "设计", "closed", &[b.id, admin.id])
        .await["id"]
        .as_i64()
        .unwrap();
    let m = sent(&app, &a, room_id, "first draft", "m1").await;

    // A non-member gets 404 for everything, another member 403 for edits.
    assert_eq!(edit(&app, &carol, m, "x").await.0, StatusCode::NOT_FOUND);
    assert_eq!(delete(&app, &carol, m).await, StatusCode::NOT_FOUND);
    assert_eq!(
        react(&app, &carol, m, "👍", true).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, err) = edit(&app, &b, m, "x").await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    assert_eq!(delete(&app, &b, m).await, StatusCode::FORBIDDEN);
    let (status, _) = edit(&app, &admin, m, "x").await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "admins delete, they do not edit others"
    );
    assert_eq!(edit(&app, &a, 999_999, "x").await.0, StatusCode::NOT_FOUND);

    // The author edits: the "edited" mark and new mentions.
    let (status, edited) = edit(&app, &a, m, "final @bob").await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["content"], "final @bob");
    assert!(edited["edited_at"].as_i64().is_some());
    assert_eq!(edited["mentions"], json!([b.id]));
    assert_eq!(edit(&app, &a, m, "   ").await.0, StatusCode::BAD_REQUEST);

    // Reactions toggle; a repeat changes nothing; names come with counts.
    let (status, r) = react(&app, &b, m, "👍", true).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(
        r["reactions"],
        json!([{"emoji": "👍", "count": 1, "users": [{"id": b.id, "username": "bob"}]}])
    );
    assert_eq!(react(&app, &b, m, "👍", true).await.1, r);
    react(&app, &a, m, "👍", true).await;
    let (_, r) = react(&app, &a, m, "🎉", true).await;
    assert_eq!(r["reactions"][0]["count"], 2);
    assert_eq!(r["reactions"][1]["emoji"], "🎉");
    let (_, r) = react(&app, &b, m, "👍", false).await;
    assert_eq!(
        r["reactions"][0]["users"],
        json!([{"id": a.id, "username": "alice"}])
    );
    assert_eq!(
        react(&app, &b, m, "lol", true).await.0,
        StatusCode::BAD_REQUEST
    );
    let page = history(&app, &b, room_id, "").await;
    assert_eq!(by_id(&page, m)["reactions"], r["reactions"]);

    // An admin deletes another's message; nothing of it is left to see.
    let secret = "绝密-9f3a-never-to-be-seen";
    let doomed = sent(&app, &b, room_id, secret, "m2").await;
    let answer = sent(&app, &a, room_id, "re", "m3").await;
    reply(&app, &a, room_id, "quote", "m4", doomed).await;
    react(&app, &a, doomed, "😮", true).await;
    assert_eq!(delete(&app, &admin, doomed).await, StatusCode::NO_CONTENT);
    let page = history(&app, &b, room_id, "").await;
    let gone = by_id(&page, doomed);
    assert_eq!(
        (gone["deleted"].as_bool(), gone["content"].as_str()),
        (Some(true), Some("")),
        "{gone}"
    );
    assert!(gone.get("reactions").is_none());
    let quoting = page["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(quoting["reply_to"]["deleted"], true);
    assert_eq!(quoting["reply_to"]["content"], "");
    assert_eq!(
        delete(&app, &b, doomed).await,
        StatusCode::NOT_FOUND,
        "already gone"
    );
    assert_eq!(
        react(&app, &a, doomed, "👍", true).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        edit(&app, &b, doomed, "back").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        delete(&app, &a, answer).await,
        StatusCode::NO_CONTENT,
        "authors delete their own"
    );
    if app.state.store.cluster().is_none() {
        // Gone from the database's files, not just hidden (the WAL too,
        // while the server runs: it is emptied right after a deletion).
        let dir = app.dir.path().to_owned();
        let on_disk = || {
            ["hearth.db", "hearth.db-wal"].iter().any(|file| {
                let bytes = std::fs::read(dir.join(file)).unwrap_or_default();
                bytes.windows(secret.len()).any(|w| w == secret.as_bytes())
            })
        };
        let deadline = std::time::Instant::now() + WAIT;
        while on_disk() {
            assert!(
                std::time::Instant::now() < deadline,
                "the deleted text stays on disk"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn limits_have_typed_errors() {
    let app = spawn_app_with(&["--edit-window", "1ms", "--max-reactions", "2"]).await;
    let (a, b) = (app.register("alice").await, app.register("bob").await);
    let (_, m) = app.send(&a, "hi", "m1").await;
    let m = m["id"].as_i64().unwrap();
    let (_, config) = app.call("GET", "/api/config", None, None).await;
    assert_eq!(
        (
            config["edit_window_secs"].as_i64(),
            config["max_reactions"].as_i64()
        ),
        (Some(0), Some(2))
    );
    assert!(config["typing_interval_ms"].as_i64().unwrap() > 0);
    // The window is 1 ms: wait until the message is older than that.
    let sent_at = std::time::Instant::now();
    while sent_at.elapsed() < std::time::Duration::from_millis(5) {
        tokio::task::yield_now().await;
    }
    let (status, err) = edit(&app, &a, m, "late").await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("edit_window_closed"))
    );
    react(&app, &a, m, "👍", true).await;
    react(&app, &b, m, "🎉", true).await;
    assert_eq!(
        react(&app, &b, m, "👍", true).await.0,
        StatusCode::OK,
        "an emoji already there"
    );
    let (status, err) = react(&app, &b, m, "😂", true).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("too_many_reactions"))
    );
}

#[tokio::test]
async fn edits_deletions_and_reactions_over_the_websocket() {
    let app = spawn_app().await;
    let (a, b) = (app.register("alice").await, app.register("bob").await);
    let room_id = app.create_room(&a, "设计", "closed", &[b.id]).await["id"]
        .as_i64()
        .unwrap();
    let mine = sent(&app, &b, room_id, "mine", "m1").await;
    let theirs = sent(&app, &a, room_id, "theirs", "m2").await;
    let mut ws = app.ws_v2(&b, None).await;
    let mut watcher = app.ws_v2(&a, None).await;

    ws.send_json(
        &json!({"type": "edit", "message_id": mine, "content": "mine, fixed", "client_id": "e1"}),
    )
    .await;
    let done = ws.next_of("done").await;
    assert_eq!(done["client_id"], "e1");
    let seq = done["seq"].as_i64().unwrap();
    let event = watcher.next_of("message_edited").await;
    assert_eq!(
        (event["seq"].as_i64(), event["message"]["content"].as_str()),
        (Some(seq), Some("mine, fixed"))
    );

    ws.send_json(&json!({"type": "react", "message_id": theirs, "emoji": "❤️", "on": true, "client_id": "r1"}))
        .await;
    assert_eq!(ws.next_of("done").await["client_id"], "r1");
    let event = watcher.next_of("reaction").await;
    assert_eq!(
        (event["message_id"].as_i64(), event["room_id"].as_i64()),
        (Some(theirs), Some(room_id))
    );
    assert_eq!(event["reactions"][0]["emoji"], "❤️");

    ws.send_json(
        &json!({"type": "edit", "message_id": theirs, "content": "no", "client_id": "e2"}),
    )
    .await;
    let err = ws.next_of("error").await;
    assert_eq!(
        (err["code"].as_str(), err["client_id"].as_str()),
        (Some("forbidden"), Some("e2"))
    );
    ws.send_json(&json!({"type": "react", "message_id": theirs, "emoji": "not one", "on": true, "client_id": "r2"}))
        .await;
    assert_eq!(ws.next_of("error").await["code"], "bad_request");

    ws.send_json(&json!({"type": "delete", "message_id": mine, "client_id": "d1"}))
        .await;
    assert_eq!(ws.next_of("done").await["client_id"], "d1");
    let event = watcher.next_of("message_deleted").await;
    assert_eq!(
        (event["message_id"].as_i64(), event["room_id"].as_i64()),
        (Some(mine), Some(room_id))
    );

    // A reply over the WebSocket.
    ws.send_json(&json!({"type": "message", "room_id": room_id, "content": "同意", "client_id": "c9", "reply_to": theirs}))
        .await;
    ws.next_of("ack").await;
    let message = watcher.next_of("message").await;
    assert_eq!(message["message"]["reply_to"]["id"], theirs);
}
