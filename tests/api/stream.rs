//! One cursor across rooms: a v2 client that comes back with its cursor gets
//! every event it was entitled to while away (messages in all its rooms,
//! membership changes, read positions), in order, exactly once, also across
//! a restart and a SIGKILL.

use crate::child::{ChildServer, libc_signal};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Reads stream frames (skipping acks, presence, pongs) until `n` were seen.
async fn stream_frames(ws: &mut WsClient, n: usize) -> Vec<Value> {
    let mut out = Vec::new();
    while out.len() < n {
        let f = ws.next_json().await;
        if f.get("seq").is_some() {
            out.push(f);
        }
    }
    out
}

fn seqs(frames: &[Value]) -> Vec<i64> {
    frames.iter().map(|f| f["seq"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn a_returning_client_gets_everything_it_missed_in_order_once_across_a_restart() {
    let app = spawn_app_with(&["--send-rate", "1000", "--send-burst", "1000"]).await;
    let (a, b) = (app.register("alice").await, app.register("bob").await);
    let (_, r1) = app
        .call(
            "POST",
            "/api/rooms",
            Some(&a.token),
            Some(&json!({"name": "r1", "kind": "closed", "member_ids": [b.id]})),
        )
        .await;
    let r1 = r1["id"].as_i64().unwrap();
    let dm = app.direct(&a, &[b.id]).await;
    let bob = app.ws_v2(&b, None).await;
    let cursor = bob.hello["last_id"].as_i64().unwrap();
    drop(bob);

    // While Bob is away: messages in three rooms, a new room, a read position.
    let mut expected = Vec::new();
    for i in 0..10 {
        let room = [1, r1, dm][i % 3];
        let (status, m) = app
            .call(
                "POST",
                &format!("/api/rooms/{room}/messages"),
                Some(&a.token),
                Some(&json!({"content": format!("away {i}"), "client_id": format!("w{i}")})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        expected.push(m["id"].as_i64().unwrap());
    }
    let (_, r2) = app
        .call(
            "POST",
            "/api/rooms",
            Some(&a.token),
            Some(&json!({"name": "r2", "kind": "closed", "member_ids": [b.id]})),
        )
        .await;
    let r2 = r2["id"].as_i64().unwrap();
    let (status, _) = app
        .call(
            "POST",
            &format!("/api/rooms/{r1}/read"),
            Some(&b.token),
            Some(&json!({"last_read_id": expected[7]})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // Across a restart.
    let dir = app.stop().await;
    let app = spawn_in(dir, &["--send-rate", "1000", "--send-burst", "1000"]).await;
    let mut bob = app.ws_v2(&b, Some(cursor)).await;
    let frames = stream_frames(&mut bob, 12).await;
    let got = seqs(&frames);
    assert!(
        got.windows(2).all(|w| w[0] < w[1]),
        "in order, once: {got:?}"
    );
    let messages: Vec<i64> = frames
        .iter()
        .filter(|f| f["type"] == "message")
        .map(|f| f["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(messages, expected, "every message of every room, once");
    let member = frames
        .iter()
        .find(|f| f["type"] == "member")
        .expect("added to r2");
    assert_eq!(
        (member["room_id"].as_i64(), member["event"].as_str()),
        (Some(r2), Some("added"))
    );
    let read = frames
        .iter()
        .find(|f| f["type"] == "read")
        .expect("the read position");
    assert_eq!(read["last_read_id"], expected[7]);
    // Then live, with nothing repeated.
    let (_, live) = app
        .call(
            "POST",
            &format!("/api/rooms/{r2}/messages"),
            Some(&a.token),
            Some(&json!({"content": "live", "client_id": "live"})),
        )
        .await;
    let next = stream_frames(&mut bob, 1).await;
    assert_eq!(next[0]["seq"], live["id"]);
}

#[tokio::test]
async fn a_sigkill_loses_no_acked_message_in_any_room() {
    let dir = tempfile::tempdir().unwrap();
    let extra = ["--send-rate", "100000", "--send-burst", "100000"];
    let server = ChildServer::start(dir.path(), &extra).await;
    let app = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    let mut users = Vec::new();
    for i in 0..3 {
        users.push(server.register(&format!("k{i}")).await);
    }
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    let room: Value = app
        .post(format!("{base}/api/rooms"))
        .bearer_auth(&users[0].token)
        .json(&json!({"name": "kill", "kind": "closed", "member_ids": ids}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let room = room["id"].as_i64().unwrap();
    let reader = WsClient::connect_query(server.addr, &users[2].token, None, "v=2")
        .await
        .unwrap();
    let cursor = reader.hello["last_id"].as_i64().unwrap();
    drop(reader);

    let acked = std::sync::Arc::new(std::sync::Mutex::new(HashMap::<String, i64>::new()));
    let mut tasks = Vec::new();
    for (i, user) in users.iter().take(2).cloned().enumerate() {
        let (acked, app, base) = (acked.clone(), app.clone(), base.clone());
        let target = if i == 0 { room } else { 1 };
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let cid = format!("{}-{n}", user.name);
                let res = app
                    .post(format!("{base}/api/rooms/{target}/messages"))
                    .bearer_auth(&user.token)
                    .json(&json!({"content": format!("n{n}"), "client_id": cid}))
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status().is_success() => {
                        let v: Value = r.json().await.unwrap();
                        acked.lock().unwrap().insert(cid, v["id"].as_i64().unwrap());
                    }
                    _ => return,
                }
            }
        }));
    }
    tokio::time::timeout(WAIT, async {
        while acked.lock().unwrap().len() < 200 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("sends are acked");
    let mut server = server;
    server.signal(libc_signal::Signal::Kill);
    let _ = server.child.wait().await;
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();

    let server = ChildServer::start(dir.path(), &extra).await;
    let mut reader = WsClient::connect_query(server.addr, &users[2].token, Some(cursor), "v=2")
        .await
        .unwrap();
    let head = reader.hello["last_id"].as_i64().unwrap();
    let mut seen = Vec::new();
    while seen.last().is_none_or(|&s| s < head) {
        let f = reader.next_json().await;
        if let Some(seq) = f["seq"].as_i64() {
            seen.push(seq);
        }
    }
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "in order, no duplicate"
    );
    for (cid, id) in &acked {
        assert!(
            seen.contains(id),
            "acked {cid} (id {id}) is in the stream after the kill"
        );
    }
}
