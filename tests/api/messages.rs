//! The message store through the REST API: send, history, polling, idempotency,
//! concurrency and persistence across restarts.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashSet;

#[tokio::test]
async fn send_three_then_read_back_through_history_and_polling() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let mut sent = Vec::new();
    for (i, text) in ["one", "  two  ", "三 <b>three</b>"].iter().enumerate() {
        let (status, msg) = app.send(&alice, text, &format!("cid-{i}")).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(
            msg["content"],
            text.trim(),
            "stored trimmed and raw (no HTML escaping)"
        );
        assert_eq!(msg["username"], "alice");
        assert_eq!(msg["room"], "lobby");
        sent.push(msg["id"].as_i64().unwrap());
    }
    assert!(
        sent.windows(2).all(|w| w[1] == w[0] + 1),
        "ids strictly increasing without gaps: {sent:?}"
    );

    let history: Value = app
        .get("/api/chat/messages", Some(&alice.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        ids(history["messages"].as_array().unwrap()),
        sent,
        "history is in ascending id order"
    );
    assert_eq!(history["has_more"], false);

    let polled = app.poll_all(&alice, 0).await;
    assert_eq!(ids(&polled), sent);
    let after_first = app.poll_all(&alice, sent[0]).await;
    assert_eq!(ids(&after_first), sent[1..]);
    let res: Value = app
        .get(
            &format!("/api/chat/messages/new?after_id={}", sent[2]),
            Some(&alice.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(res["messages"], json!([]));
    assert_eq!(res["last_id"], sent[2], "an empty poll keeps the cursor");

    // A repeated client_id answers 200 with the same message and stores nothing.
    let (status, again) = app.send(&alice, "different text", "cid-1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], sent[1]);
    assert_eq!(again["content"], "two");
    assert_eq!(app.poll_all(&alice, 0).await.len(), 3, "no second row");
}

#[tokio::test]
async fn history_pages_go_backwards() {
    let app = spawn_app_with(&["--send-rate", "1000", "--send-burst", "1000"]).await;
    let u = app.register("pager").await;
    let mut sent = Vec::new();
    for i in 0..25 {
        let (_, m) = app.send(&u, &format!("m{i}"), &format!("c{i}")).await;
        sent.push(m["id"].as_i64().unwrap());
    }
    let page: Value = app
        .get("/api/chat/messages?limit=10", Some(&u.token))
        .await
        .json()
        .await
        .unwrap();
    let newest = ids(page["messages"].as_array().unwrap());
    assert_eq!(newest, sent[15..]);
    assert_eq!(page["has_more"], true);
    let older: Value = app
        .get(
            &format!("/api/chat/messages?limit=10&before={}", sent[15]),
            Some(&u.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(older["messages"].as_array().unwrap()), sent[5..15]);
    let oldest: Value = app
        .get(
            &format!("/api/chat/messages?limit=10&before={}", sent[5]),
            Some(&u.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(oldest["messages"].as_array().unwrap()), sent[..5]);
    assert_eq!(oldest["has_more"], false);
}

#[tokio::test]
async fn a_send_without_client_id_still_works_for_old_clients() {
    let app = spawn_app().await;
    let u = app.register("legacy").await;
    let res = app
        .post_json(
            "/api/chat/messages",
            Some(&u.token),
            &json!({"content": "hello"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let msg: Value = res.json().await.unwrap();
    assert!(!msg["client_id"].as_str().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_writers_store_every_message_exactly_once() {
    const WRITERS: usize = 20;
    const EACH: usize = 200;
    let app = spawn_app_with(&["--send-rate", "100000", "--send-burst", "100000"]).await;
    let mut users = Vec::new();
    for i in 0..WRITERS {
        users.push(app.register(&format!("writer{i}")).await);
    }
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for user in users.clone() {
        let http = app.http.clone();
        let url = app.url("/api/chat/messages");
        tasks.push(tokio::spawn(async move {
            for n in 0..EACH {
                let res = http
                    .post(&url)
                    .bearer_auth(&user.token)
                    .json(&json!({"content": format!("{} #{n}", user.name), "client_id": format!("{}-{n}", user.name)}))
                    .send()
                    .await
                    .expect("request");
                let status = res.status();
                let body = res.text().await.expect("body");
                assert_eq!(status, StatusCode::CREATED, "{body}");
                assert!(!body.to_lowercase().contains("busy"), "{body}");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer task");
    }
    let elapsed = started.elapsed();
    eprintln!(
        "{} messages over HTTP in {elapsed:?} ({:.0} msg/s, debug build)",
        WRITERS * EACH,
        (WRITERS * EACH) as f64 / elapsed.as_secs_f64()
    );

    let all = app.poll_all(&users[0], 0).await;
    assert_eq!(all.len(), WRITERS * EACH);
    let ids = ids(&all);
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "polling returns id order"
    );
    let keys: HashSet<(i64, String)> = all
        .iter()
        .map(|m| {
            (
                m["user_id"].as_i64().unwrap(),
                m["client_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        keys.len(),
        WRITERS * EACH,
        "each (user, client_id) exactly once"
    );
}

#[tokio::test]
async fn users_messages_epoch_and_tokens_survive_a_restart() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    for i in 0..5 {
        app.send(&alice, &format!("before restart {i}"), &format!("r{i}"))
            .await;
    }
    let config: Value = app.get("/api/config", None).await.json().await.unwrap();
    let epoch = config["epoch"].as_str().unwrap().to_owned();
    assert_eq!(epoch.len(), 32);

    let dir = app.stop().await;
    let app = spawn_in(dir, &[]).await;
    let config: Value = app.get("/api/config", None).await.json().await.unwrap();
    assert_eq!(config["epoch"], epoch.as_str(), "same database, same epoch");
    assert_eq!(
        app.get("/api/auth/me", Some(&alice.token)).await.status(),
        StatusCode::OK,
        "old token still valid"
    );
    let all = app.poll_all(&alice, 0).await;
    assert_eq!(all.len(), 5);
    let res = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"username": "alice", "password": "password123"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (status, msg) = app.send(&alice, "after restart", "r5").await;
    assert_eq!(status, StatusCode::CREATED);
    let newest = all.last().unwrap()["id"].as_i64().unwrap();
    assert!(
        msg["id"].as_i64().unwrap() > newest,
        "ids keep growing across a restart"
    );
    let (status, _) = app.send(&alice, "dup after restart", "r0").await;
    assert_eq!(status, StatusCode::OK, "idempotency survives the restart");
}
