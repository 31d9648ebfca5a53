//! Nodes dying or restarting under clients that send through nginx: the
//! clients reconnect, resume from their cursor and resend their outbox;
//! every message ends up stored once and seen once.

use crate::harness::*;
use crate::helpers::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// A chat client like the web one: an outbox of unacknowledged messages,
/// resent with the same client ids after every reconnect, and a cursor.
struct Client {
    user: TestUser,
    via: SocketAddr,
    /// client id → content, until acked.
    outbox: BTreeMap<String, String>,
    acked: HashMap<String, i64>,
    received: Vec<i64>,
    cursor: i64,
    reconnects: usize,
}

impl Client {
    /// Sends `total` messages, one every `every`, through `via`, riding out
    /// any number of dropped connections; returns once all are acked and
    /// `expected` messages (everyone's) were received.
    async fn run(
        mut self,
        total: usize,
        every: Duration,
        expected: Arc<AtomicUsize>,
        acks: Arc<AtomicUsize>,
    ) -> Self {
        let mut next = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        'connect: loop {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} did not finish",
                self.user.name
            );
            let mut ws =
                match WsClient::connect(self.via, &self.user.token, Some(self.cursor)).await {
                    Ok(ws) => ws,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                };
            // The outbox goes again, with the same client ids.
            for (cid, content) in &self.outbox {
                let frame = json!({"type": "message", "content": content, "client_id": cid});
                if ws
                    .ws
                    .send(Message::Text(frame.to_string().into()))
                    .await
                    .is_err()
                {
                    self.reconnects += 1;
                    continue 'connect;
                }
            }
            let mut tick = tokio::time::interval(every);
            loop {
                let all_in = self.received.len() >= expected.load(Ordering::SeqCst)
                    && self.acked.len() == total;
                if all_in && acks.load(Ordering::SeqCst) == expected.load(Ordering::SeqCst) {
                    return self;
                }
                tokio::select! {
                    _ = tick.tick(), if next < total => {
                        let cid = format!("{}-{next}", self.user.name);
                        let content = format!("{} says {next}", self.user.name);
                        self.outbox.insert(cid.clone(), content.clone());
                        next += 1;
                        let frame = json!({"type": "message", "content": content, "client_id": cid});
                        if ws.ws.send(Message::Text(frame.to_string().into())).await.is_err() {
                            self.reconnects += 1;
                            continue 'connect;
                        }
                    }
                    frame = tokio::time::timeout(Duration::from_secs(1), ws.ws.next()) => {
                        let frame = match frame {
                            Err(_) => continue,
                            Ok(Some(Ok(Message::Text(t)))) => t,
                            Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) | Ok(None) => {
                                self.reconnects += 1;
                                continue 'connect;
                            }
                            Ok(Some(Ok(_))) => continue,
                        };
                        let v: Value = serde_json::from_str(frame.as_str()).expect("json");
                        match v["type"].as_str() {
                            Some("ack") => {
                                let cid = v["client_id"].as_str().expect("cid").to_owned();
                                if self.outbox.remove(&cid).is_some() {
                                    acks.fetch_add(1, Ordering::SeqCst);
                                }
                                self.acked.insert(cid, v["id"].as_i64().expect("id"));
                            }
                            Some("message") => {
                                let id = v["message"]["id"].as_i64().expect("id");
                                self.received.push(id);
                                self.cursor = self.cursor.max(id);
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    }
}

/// Three users chat through nginx while `disrupt` runs; then every message
/// is stored once and every client saw every message once.
async fn chat_through(
    cluster: &mut Cluster,
    nginx: &Nginx,
    disrupt: impl AsyncFnOnce(&mut Cluster, &Arc<AtomicUsize>),
) {
    const EACH: usize = 40;
    let http = Http::new();
    let mut users = Vec::new();
    for name in ["amy", "ben", "cat"] {
        users.push(http.register(nginx.addr, name).await);
    }
    let expected = Arc::new(AtomicUsize::new(EACH * users.len()));
    let acks = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = users
        .iter()
        .map(|user| {
            let client = Client {
                user: user.clone(),
                via: nginx.addr,
                outbox: BTreeMap::new(),
                acked: HashMap::new(),
                received: Vec::new(),
                cursor: 0,
                reconnects: 0,
            };
            tokio::spawn(client.run(
                EACH,
                Duration::from_millis(25),
                expected.clone(),
                acks.clone(),
            ))
        })
        .collect();
    disrupt(cluster, &acks).await;
    let mut finished = Vec::new();
    for client in clients {
        finished.push(client.await.expect("client task"));
    }
    // Stored once each.
    let stored = cluster
        .sql("SELECT client_id FROM messages ORDER BY id")
        .await;
    assert_eq!(
        stored.len(),
        EACH * users.len(),
        "nothing lost, nothing doubled"
    );
    let unique: HashSet<&String> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "no duplicate client ids");
    let all: Vec<i64> = cluster
        .sql("SELECT id FROM messages ORDER BY id")
        .await
        .iter()
        .map(|s| s.parse().expect("id"))
        .collect();
    for client in &finished {
        let mut got = client.received.clone();
        let seen: HashSet<i64> = got.iter().copied().collect();
        assert_eq!(
            seen.len(),
            got.len(),
            "{} saw a message twice",
            client.user.name
        );
        got.sort_unstable();
        assert_eq!(got, all, "{} saw every message", client.user.name);
        for (cid, id) in &client.acked {
            assert!(all.contains(id), "acked {cid} is stored");
        }
        assert!(client.reconnects >= 1, "{} was disrupted", client.user.name);
    }
}

/// The node nginx sends this machine's clients to (ip_hash keys on the
/// client address): the one holding the test's WebSockets.
async fn busy_node(cluster: &Cluster) -> usize {
    let http = reqwest::Client::new();
    let mut best = (0, 0.0);
    for (i, node) in cluster.nodes.iter().enumerate() {
        let Some(node) = node else { continue };
        let text = http
            .get(format!("http://{}/metrics", node.addr()))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        let open: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("hearth_ws_connections "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0);
        if open > best.1 {
            best = (i, open);
        }
    }
    best.0
}

#[tokio::test]
async fn a_node_killed_mid_chat_loses_nothing() {
    let Some(admin) = admin_url() else { return };
    let mut cluster = Cluster::start(&admin, 3).await;
    let nginx = cluster_nginx(&cluster.addrs()).await;
    chat_through(&mut cluster, &nginx, async |cluster, acks| {
        eventually(WAIT, "some messages acked", || async {
            acks.load(Ordering::SeqCst) >= 30
        })
        .await;
        let victim = busy_node(cluster).await;
        cluster.kill(victim).await;
    })
    .await;
}

#[tokio::test]
async fn a_rolling_restart_of_every_node_loses_nothing() {
    let Some(admin) = admin_url() else { return };
    let mut cluster = Cluster::start(&admin, 3).await;
    let nginx = cluster_nginx(&cluster.addrs()).await;
    chat_through(&mut cluster, &nginx, async |cluster, acks| {
        for i in 0..3 {
            let before = acks.load(Ordering::SeqCst);
            eventually(WAIT, "traffic before the restart", || async {
                acks.load(Ordering::SeqCst) >= before + 10
            })
            .await;
            cluster.restart(i).await;
        }
    })
    .await;
}
