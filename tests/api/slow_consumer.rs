//! A client that stops reading while thousands of messages flow is resynced
//! or dropped (so it resumes), the others get everything, memory stays
//! bounded, and after resuming the slow client has every message.

use crate::child::ChildServer;
use crate::helpers::*;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::net::SocketAddr;
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const TOTAL: usize = 5000;
const SENDERS: usize = 10;
const SLOW: usize = 5;
const FAST: usize = 3;

/// A WebSocket over a socket with a tiny receive buffer, so the server's
/// writes block as soon as the client stops reading.
async fn slow_client(
    addr: SocketAddr,
    token: &str,
) -> tokio_tungstenite::WebSocketStream<tokio::net::TcpStream> {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let mut req = format!("ws://{addr}/api/chat/ws")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    tokio_tungstenite::client_async(req, stream)
        .await
        .unwrap()
        .0
}

/// Reads message ids from `ws` until `total` are seen or the connection ends.
async fn read_ids<S>(
    ws: &mut tokio_tungstenite::WebSocketStream<S>,
    seen: &mut Vec<i64>,
    total: usize,
) -> bool
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    while seen.len() < total {
        match tokio::time::timeout(WAIT, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                if v["type"] == "message" {
                    seen.push(v["message"]["id"].as_i64().unwrap());
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_))) | Ok(None) => return false,
            Err(_) => panic!("no frame for {WAIT:?} with {} of {total} seen", seen.len()),
        }
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_consumers_are_resynced_or_dropped_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = ChildServer::start(
        dir.path(),
        &[
            "--send-rate",
            "100000",
            "--send-burst",
            "100000",
            "--broadcast-buffer",
            "64",
            "--write-timeout",
            "2s",
        ],
    )
    .await;
    let addr = server.addr;
    let reader = server.register("reader").await;
    let mut senders = Vec::new();
    for i in 0..SENDERS {
        senders.push(server.register(&format!("sender{i}")).await);
    }

    let mut slow = Vec::new();
    for _ in 0..SLOW {
        let mut ws = slow_client(addr, &reader.token).await;
        let hello = ws.next().await.unwrap().unwrap();
        assert!(hello.to_text().unwrap().contains("\"hello\""));
        slow.push(ws);
    }
    let mut fast = Vec::new();
    for _ in 0..FAST {
        let mut c = WsClient::connect(addr, &reader.token, None).await.unwrap();
        fast.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            assert!(
                read_ids(&mut c.ws, &mut seen, TOTAL).await,
                "a fast client lost its connection"
            );
            seen
        }));
    }
    let rss_before = server.rss_kib();
    let mut peak = rss_before;

    // 10 senders pipeline 500 messages of 2000 characters each.
    let body = "x".repeat(1990);
    let mut send_tasks = Vec::new();
    for s in senders.clone() {
        let body = body.clone();
        send_tasks.push(tokio::spawn(async move {
            let mut c = WsClient::connect(addr, &s.token, None).await.unwrap();
            let each = TOTAL / SENDERS;
            for n in 0..each {
                c.send_json(&json!({"type": "message", "content": format!("{n:05} {body}"), "client_id": format!("{}-{n}", s.name)})).await;
            }
            let mut acks = 0;
            while acks < each {
                if c.next_json().await["type"] == "ack" {
                    acks += 1;
                }
            }
        }));
    }
    for t in send_tasks {
        while !t.is_finished() {
            peak = peak.max(server.rss_kib());
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        t.await.unwrap();
    }
    for f in fast {
        let seen = f.await.unwrap();
        assert_eq!(seen.len(), TOTAL);
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "in order, no duplicates"
        );
    }
    peak = peak.max(server.rss_kib());
    let growth_mib = peak.saturating_sub(rss_before) / 1024;
    eprintln!(
        "server RSS {} MiB before, peak {} MiB",
        rss_before / 1024,
        peak / 1024
    );
    assert!(
        growth_mib < 32,
        "memory grew by {growth_mib} MiB while {SLOW} clients stalled on ~10 MiB each"
    );

    // Now the slow clients read again; a dropped one resumes from its last id.
    let mut reconnects = 0;
    for mut ws in slow {
        let mut seen = Vec::new();
        if !read_ids(&mut ws, &mut seen, TOTAL).await {
            reconnects += 1;
            let last = seen.last().copied().unwrap_or(0);
            let mut again = WsClient::connect(addr, &reader.token, Some(last))
                .await
                .unwrap();
            assert!(read_ids(&mut again.ws, &mut seen, TOTAL).await);
        }
        assert_eq!(seen.len(), TOTAL, "the slow client got every message");
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "in order, no duplicates"
        );
    }
    let metrics = server
        .app
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or(0.0)
    };
    let (resyncs, drops) = (
        value("hearth_ws_resyncs_total"),
        value("hearth_ws_slow_closes_total"),
    );
    eprintln!("resyncs {resyncs}, slow closes {drops}, reconnects {reconnects}");
    assert!(resyncs + drops > 0.0, "the slow path was exercised");
}
