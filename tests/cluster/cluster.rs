//! Several nodes, one team: delivery, order, the cursor, presence, the
//! listener's reconnect.

use crate::harness::*;
use crate::helpers::*;
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;

/// Names of the users in an online-users answer.
fn online_names(body: &Value) -> HashSet<String> {
    body["users"]
        .as_array()
        .map(|users| {
            users
                .iter()
                .filter_map(|u| u["username"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn three_nodes_serve_one_team_in_one_order() {
    let Some(admin) = admin_url() else { return };
    let mut cluster = Cluster::start(&admin, 3).await;
    let http = Http::new();
    let users = [
        http.register(cluster.addr(0), "ann").await,
        http.register(cluster.addr(1), "bo").await,
        http.register(cluster.addr(2), "cy").await,
    ];
    // One secret and one epoch: a token from node 0 opens a socket on node 2.
    let mut sockets = Vec::new();
    for (i, user) in users.iter().enumerate() {
        let ws = WsClient::connect(cluster.addr(i), &user.token, None)
            .await
            .expect("ws on its node");
        sockets.push(ws);
    }
    let mut epochs = HashSet::new();
    for i in 0..3 {
        let config: Value = http
            .0
            .get(format!("http://{}/api/config", cluster.addr(i)))
            .send()
            .await
            .expect("config")
            .json()
            .await
            .expect("json");
        epochs.insert(config["epoch"].as_str().expect("epoch").to_owned());
        let health: Value = http
            .0
            .get(format!("http://{}/healthz", cluster.addr(i)))
            .send()
            .await
            .expect("healthz")
            .json()
            .await
            .expect("json");
        assert_eq!(health["database"], "postgres", "{health}");
    }
    assert_eq!(epochs.len(), 1, "one epoch for the team");

    // Every user sends 30 messages to their own node, all at once.
    const EACH: usize = 30;
    let sends = users.iter().enumerate().map(|(i, user)| {
        let http = &http;
        let at = cluster.addr(i);
        async move {
            for n in 0..EACH {
                let (status, _) = http
                    .send(
                        at,
                        user,
                        &format!("{} {n}", user.name),
                        &format!("{}-{n}", user.name),
                    )
                    .await
                    .expect("node answers");
                assert_eq!(status, 201);
            }
        }
    });
    futures_util::future::join_all(sends).await;

    // Each socket, on each node, got all 90 once, in the same order.
    let mut orders = Vec::new();
    for ws in &mut sockets {
        let got = ws.messages(3 * EACH).await;
        let got_ids = ids(&got);
        let unique: HashSet<i64> = got_ids.iter().copied().collect();
        assert_eq!(unique.len(), got_ids.len(), "no duplicates");
        assert!(
            got_ids.windows(2).all(|w| w[0] < w[1]),
            "ascending: {got_ids:?}"
        );
        let extra = ws.drain().await;
        assert!(
            extra.iter().all(|f| f["type"] != "message"),
            "nothing more: {extra:?}"
        );
        orders.push(got_ids);
    }
    assert!(
        orders.windows(2).all(|w| w[0] == w[1]),
        "one order everywhere"
    );

    // The seed's polling endpoints through nginx: the same cursor, any node.
    let nginx = cluster_nginx(&cluster.addrs()).await;
    let polled = http.poll_all(nginx.addr, &users[1], 0).await;
    assert_eq!(ids(&polled), orders[0], "polling through nginx");
    let half = orders[0][EACH];
    for i in 0..3 {
        let rest = http.poll_all(cluster.addr(i), &users[0], half).await;
        assert_eq!(
            ids(&rest),
            orders[0][EACH + 1..].to_vec(),
            "cursor on node {i}"
        );
    }

    // Presence: each node knows who is online on the others.
    eventually(WAIT, "everyone online on node 0", || async {
        let body = http
            .get(cluster.addr(0), "/api/chat/online-users", &users[0])
            .await;
        online_names(&body) == HashSet::from(["ann".into(), "bo".into(), "cy".into()])
    })
    .await;
    // A node killed outright: its user goes offline when its rows expire.
    drop(sockets.pop());
    cluster.kill(2).await;
    eventually(
        Duration::from_secs(20),
        "cy offline after node 2 died",
        || async {
            let body = http
                .get(cluster.addr(0), "/api/chat/online-users", &users[0])
                .await;
            !online_names(&body).contains("cy")
        },
    )
    .await;
    // Restarted, it clears what it left behind and serves again.
    let node_id =
        std::fs::read_to_string(cluster.root_dir().join("node2/node-id")).expect("node id");
    cluster.restart(2).await;
    let rows = cluster
        .sql(&format!(
            "SELECT COUNT(*) FROM presence WHERE node_id = '{node_id}'"
        ))
        .await;
    assert_eq!(rows, ["0"], "a restarted node has no stale presence rows");
    let back = http.poll_all(cluster.addr(2), &users[2], 0).await;
    assert_eq!(ids(&back), orders[0]);
}

#[tokio::test]
async fn concurrent_writers_on_every_node_never_skip_a_cursor() {
    let Some(admin) = admin_url() else { return };
    let cluster = Cluster::start(&admin, 3).await;
    let http = Http::new();
    let mut writers = Vec::new();
    for i in 0..6 {
        writers.push((
            i % 3,
            http.register(cluster.addr(i % 3), &format!("w{i}")).await,
        ));
    }
    let reader = http.register(cluster.addr(0), "reader").await;
    const EACH: usize = 40;
    let total = writers.len() * EACH;
    let done = std::sync::atomic::AtomicBool::new(false);
    // A poller per node follows the cursor while the writers write.
    let pollers = (0..3).map(|node| {
        let (http, reader, done, cluster) = (&http, &reader, &done, &cluster);
        async move {
            let mut after = 0;
            let mut seen: Vec<i64> = Vec::new();
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let body = http
                    .get(
                        cluster.addr(node),
                        &format!("/api/chat/messages/new?after_id={after}"),
                        reader,
                    )
                    .await;
                if let Some(batch) = body["messages"].as_array() {
                    seen.extend(ids(batch));
                    after = body["last_id"].as_i64().expect("last_id");
                }
                if finished && seen.len() >= total {
                    return seen;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    });
    let writes = async {
        let sends = writers.iter().map(|(node, user)| {
            let (http, at) = (&http, cluster.addr(*node));
            async move {
                for n in 0..EACH {
                    let (status, _) = http
                        .send(at, user, "x", &format!("{}-{n}", user.name))
                        .await
                        .expect("node answers");
                    assert_eq!(status, 201);
                }
            }
        });
        futures_util::future::join_all(sends).await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let (seen, ()) = tokio::time::timeout(Duration::from_secs(120), async {
        tokio::join!(futures_util::future::join_all(pollers), writes)
    })
    .await
    .expect("in time");
    let stored: Vec<i64> = cluster
        .sql("SELECT id FROM messages ORDER BY id")
        .await
        .iter()
        .map(|s| s.parse().expect("id"))
        .collect();
    assert_eq!(stored.len(), total);
    for (node, ids) in seen.iter().enumerate() {
        assert_eq!(
            ids, &stored,
            "the poller on node {node} saw every message once, in order"
        );
    }
}

#[tokio::test]
async fn a_killed_listener_connection_is_replaced_and_nothing_is_missed() {
    let Some(admin) = admin_url() else { return };
    let cluster = Cluster::start(&admin, 2).await;
    let http = Http::new();
    let sender = http.register(cluster.addr(0), "sender").await;
    let watcher = http.register(cluster.addr(1), "watcher").await;
    let mut ws = WsClient::connect(cluster.addr(1), &watcher.token, None)
        .await
        .expect("ws");
    let listeners = "SELECT COUNT(*) FROM pg_stat_activity
                     WHERE application_name = 'hearth-listener' AND datname = current_database()";
    assert_eq!(cluster.sql(listeners).await, ["2"]);
    let killed = cluster
        .sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE application_name = 'hearth-listener' AND datname = current_database()",
        )
        .await;
    assert_eq!(killed, ["t", "t"]);
    // Sent while the listeners reconnect: read from the last seq seen.
    for n in 0..5 {
        let (status, _) = http
            .send(cluster.addr(0), &sender, &format!("m{n}"), &format!("m{n}"))
            .await
            .expect("node 0 answers");
        assert_eq!(status, 201);
    }
    let got = ws.messages(5).await;
    assert_eq!(
        got.iter()
            .map(|m| m["content"].as_str().unwrap_or(""))
            .collect::<Vec<_>>(),
        ["m0", "m1", "m2", "m3", "m4"]
    );
    assert!(
        ws.drain().await.iter().all(|f| f["type"] != "message"),
        "once"
    );
    eventually(WAIT, "both listeners back", || async {
        cluster.sql(listeners).await == ["2"]
    })
    .await;
    // And the wake-ups flow again.
    http.send(cluster.addr(0), &sender, "after", "after")
        .await
        .expect("send");
    assert_eq!(ws.messages(1).await[0]["content"], "after");
}

/// The attempt (1-based) at which `attempt` first answers 429, alternating
/// between two nodes; `None` if it never does within `tries`.
async fn first_refusal<F, Fut>(tries: usize, mut attempt: F) -> Option<usize>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    for n in 1..=tries {
        if attempt(n).await == 429 {
            return Some(n);
        }
    }
    None
}

#[tokio::test]
async fn the_send_limit_and_the_login_throttle_hold_across_nodes() {
    let Some(admin) = admin_url() else { return };
    // Five sends in a burst, then one a minute: each node alone would allow
    // five, so alternating nodes would reach the 11th before a refusal.
    let flags = [
        "--presence-ttl",
        "3s",
        "--send-rate",
        "1",
        "--send-burst",
        "5",
    ];
    let cluster = Cluster::start_with(&admin, 2, &flags).await;
    let http = Http::new();
    let user = http.register(cluster.addr(0), "eve").await;
    let refused = first_refusal(12, |n| {
        let (http, user, at) = (&http, &user, cluster.addr(n % 2));
        async move {
            let (status, _) = http
                .send(at, user, "hi", &format!("s{n}"))
                .await
                .expect("send");
            status
        }
    })
    .await;
    assert!(
        matches!(refused, Some(6..=7)),
        "the sixth send in a burst is refused whichever node gets it: {refused:?}"
    );

    // The account's free attempts are counted once for the team.
    let refused = first_refusal(12, |n| {
        let (http, at) = (&http, cluster.addr(n % 2));
        async move {
            http.0
                .post(format!("http://{at}/api/auth/login"))
                .json(&serde_json::json!({"username": "eve", "password": "wrong password"}))
                .send()
                .await
                .expect("login")
                .status()
                .as_u16()
        }
    })
    .await;
    assert!(
        matches!(refused, Some(6..=8)),
        "guesses on both nodes add up: {refused:?}"
    );
}

#[tokio::test]
async fn edits_reactions_and_typing_reach_sockets_on_other_nodes() {
    let Some(admin) = admin_url() else { return };
    let cluster = Cluster::start(&admin, 2).await;
    let http = Http::new();
    let ann = http.register(cluster.addr(0), "ann").await;
    let bo = http.register(cluster.addr(1), "bo").await;
    let mut on_0 = WsClient::connect_query(cluster.addr(0), &ann.token, None, "v=2")
        .await
        .expect("ws on node 0");
    let mut on_1 = WsClient::connect_query(cluster.addr(1), &bo.token, None, "v=2")
        .await
        .expect("ws on node 1");
    let (_, m) = http
        .send(cluster.addr(0), &ann, "@bo 你好", "c1")
        .await
        .expect("send");
    assert_eq!(m["mentions"], serde_json::json!([bo.id]));
    let id = m["id"].as_i64().expect("id");

    // Typing on node 1 reaches ann's socket on node 0: a NOTIFY, no row.
    on_1.send_json(&serde_json::json!({"type": "typing", "room_id": 1}))
        .await;
    loop {
        let typing = on_0.next_of("typing").await;
        if typing["user"]["id"] == bo.id {
            break;
        }
    }
    // A reaction on node 1 and an edit on node 0 reach the other node's socket.
    on_1.send_json(
        &serde_json::json!({"type": "react", "message_id": id, "emoji": "👍", "on": true}),
    )
    .await;
    let reaction = on_0.next_of("reaction").await;
    assert_eq!(reaction["reactions"][0]["users"][0]["id"], bo.id);
    on_0.send_json(&serde_json::json!({"type": "edit", "message_id": id, "content": "edited"}))
        .await;
    let edited = on_1.next_of("message_edited").await;
    assert_eq!(edited["message"]["content"], "edited");
    on_0.send_json(&serde_json::json!({"type": "delete", "message_id": id}))
        .await;
    assert_eq!(on_1.next_of("message_deleted").await["message_id"], id);
}

#[tokio::test]
async fn a_file_uploaded_on_one_node_is_served_and_searchable_on_another() {
    let Some(admin) = admin_url() else { return };
    let cluster = Cluster::start(&admin, 2).await;
    let http = Http::new();
    let ann = http.register(cluster.addr(0), "ann").await;
    let bo = http.register(cluster.addr(1), "bo").await;
    // Over 1 MiB: stored in several chunks.
    let content: Vec<u8> = (0..2_500_000u32).map(|i| (i % 251) as u8).collect();
    let id = http
        .upload(cluster.addr(0), &ann, "data.bin", content.clone())
        .await;
    let sent = http
        .0
        .post(format!("http://{}/api/rooms/1/messages", cluster.addr(0)))
        .bearer_auth(&ann.token)
        .json(
            &serde_json::json!({"content": "部署脚本 attached", "client_id": "c1", "files": [id]}),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(sent.status().as_u16(), 201);
    let res = http
        .0
        .get(format!("http://{}/api/files/{id}", cluster.addr(1)))
        .bearer_auth(&bo.token)
        .send()
        .await
        .expect("download");
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.bytes().await.expect("bytes").to_vec() == content);
    let found: Value = http
        .get(cluster.addr(1), "/api/search?q=%E9%83%A8%E7%BD%B2", &bo)
        .await;
    assert_eq!(
        found["results"][0]["message"]["files"][0]["id"].as_i64(),
        Some(id),
        "{found}"
    );
    assert_eq!(cluster.sql("SELECT COUNT(*) FROM blob_chunks").await, ["3"]);
}
