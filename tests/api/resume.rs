//! Resume and idempotency: no gap, no duplicate, in order, across reconnects
//! and restarts.

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn reconnect_with_last_id_gets_exactly_the_missed_messages() {
    let app = spawn_app_with(&["--send-rate", "1000", "--send-burst", "1000"]).await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let mut a = app.ws(&alice).await;
    let mut b = app.ws(&bob).await;
    b.send_message("before", "b-0").await;
    b.next_of("ack").await;
    let last = a.messages(1).await[0]["id"].as_i64().unwrap();
    drop(a);

    let mut sent = Vec::new();
    for i in 1..=50 {
        b.send_message(&format!("while away {i}"), &format!("b-{i}"))
            .await;
        sent.push(b.next_of("ack").await["id"].as_i64().unwrap());
    }
    let mut a = app.ws_after(&alice, last).await;
    let got = a.messages(50).await;
    assert_eq!(ids(&got), sent, "exactly the 50, in order");
    assert_eq!(got[0]["content"], "while away 1");
    // Then live, with no duplicate of the backfill.
    b.send_message("live again", "b-live").await;
    let live = a.messages(1).await;
    assert_eq!(live[0]["content"], "live again");

    // The same with a sync frame on an open connection.
    a.send_json(&json!({"type": "sync", "after": sent[47]}))
        .await;
    assert_eq!(
        ids(&a.messages(3).await),
        vec![sent[48], sent[49], live[0]["id"].as_i64().unwrap()]
    );
}

#[tokio::test]
async fn resume_works_across_a_server_restart() {
    let app = spawn_app_with(&["--send-rate", "1000", "--send-burst", "1000"]).await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let mut a = app.ws(&alice).await;
    let epoch = a.hello["epoch"].clone();
    let (_, first) = app.send(&bob, "first", "r-0").await;
    let last = a.messages(1).await[0]["id"].as_i64().unwrap();
    assert_eq!(first["id"], last);
    drop(a);

    let mut sent = Vec::new();
    for i in 1..=50 {
        let (_, m) = app.send(&bob, &format!("m{i}"), &format!("r-{i}")).await;
        sent.push(m["id"].as_i64().unwrap());
    }
    let dir = app.stop().await;
    let app = spawn_in(dir, &["--send-rate", "100", "--send-burst", "100"]).await;
    let mut a = app.ws_after(&alice, last).await;
    assert_eq!(a.hello["epoch"], epoch, "same database, same epoch");
    assert_eq!(a.hello["last_id"], sent[49]);
    assert_eq!(ids(&a.messages(50).await), sent);
    let (_, next) = app.send(&bob, "after restart", "r-51").await;
    assert_eq!(a.messages(1).await[0]["id"], next["id"]);
}

#[tokio::test]
async fn the_same_client_id_twice_across_a_reconnect_is_one_message_one_broadcast() {
    let app = spawn_app().await;
    let (alice, carol) = (app.register("alice").await, app.register("carol").await);
    let mut watcher = app.ws(&carol).await;
    let mut a = app.ws(&alice).await;
    a.send_message("only once", "dup-1").await;
    let ack1 = a.next_of("ack").await;
    drop(a);
    let mut a = app.ws(&alice).await;
    a.send_message("only once", "dup-1").await;
    let ack2 = a.next_of("ack").await;
    assert_eq!(ack1, ack2, "the same ack twice");

    a.send_message("marker", "dup-2").await;
    a.next_of("ack").await;
    let seen = watcher.messages(2).await;
    assert_eq!(seen[0]["client_id"], "dup-1");
    assert_eq!(
        seen[1]["client_id"], "dup-2",
        "no second broadcast of dup-1"
    );
    let stored = app.poll_all(&alice, 0).await;
    assert_eq!(
        stored.iter().filter(|m| m["client_id"] == "dup-1").count(),
        1,
        "one stored row"
    );
}
