//! The real binary as a child process: start-up output, SIGTERM, SIGKILL.

use crate::child::{ChildServer, libc_signal};
use crate::helpers::*;
use serde_json::Value;
use std::collections::HashMap;

#[tokio::test]
async fn help_documents_every_setting_with_its_env_twin() {
    let out = std::process::Command::new(hearth_bin())
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--bind",
        "--data-dir",
        "--no-open",
        "--log",
        "--token-lifetime",
        "--send-rate",
        "--send-burst",
        "--allowed-origins",
        "--websocket",
        "--max-frame",
    ] {
        assert!(text.contains(flag), "--help lacks {flag}");
    }
    for env in [
        "HEARTH_BIND",
        "HEARTH_DATA_DIR",
        "HEARTH_NO_OPEN",
        "HEARTH_LOG",
        "HEARTH_TOKEN_LIFETIME",
        "HEARTH_SEND_RATE",
        "HEARTH_JWT_SECRET",
    ] {
        assert!(text.contains(env), "--help lacks {env}");
    }
    let bad = std::process::Command::new(hearth_bin())
        .env("HEARTH_JWT_SECRET", "short")
        .args(["--data-dir", "/tmp/hearth-never", "--no-open"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("at least 32"),
        "clear error for a short secret"
    );
    let bad_log = std::process::Command::new(hearth_bin())
        .args(["--log", "info,hearth=loud", "--no-open"])
        .output()
        .unwrap();
    assert_eq!(
        bad_log.status.code(),
        Some(2),
        "usage error for a bad filter"
    );
    assert!(
        String::from_utf8_lossy(&bad_log.stderr).contains("not a log filter"),
        "clear error for a bad log filter"
    );
}

#[tokio::test]
async fn sigterm_closes_sockets_with_1001_and_clients_resume_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut server =
        ChildServer::start(dir.path(), &["--send-rate", "1000", "--send-burst", "1000"]).await;
    let (reader, writer) = (
        server.register("graceful").await,
        server.register("writer").await,
    );
    let mut ws = WsClient::connect(server.addr, &reader.token, None)
        .await
        .unwrap();
    let mut sender = WsClient::connect(server.addr, &writer.token, None)
        .await
        .unwrap();
    let mut acked = Vec::new();
    for i in 0..20 {
        sender
            .send_message(&format!("before {i}"), &format!("g-{i}"))
            .await;
        acked.push(sender.next_of("ack").await["id"].as_i64().unwrap());
    }
    // Read only part of the stream before the shutdown.
    let mut seen = ids(&ws.messages(5).await);
    server.signal(libc_signal::Signal::Term);
    // The rest of what was acked is flushed before the 1001 close.
    let close = loop {
        match tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut ws.ws))
            .await
            .unwrap()
        {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                if v["type"] == "message" {
                    seen.push(v["message"]["id"].as_i64().unwrap());
                }
            }
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame))) => break frame,
            Some(Ok(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(u16::from(close.expect("close frame").code), 1001);
    let status = tokio::time::timeout(WAIT, server.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit code 0, got {status:?}");

    // Restart; more is sent; the client resumes from its last id and has
    // every message exactly once, in order.
    let server =
        ChildServer::start(dir.path(), &["--send-rate", "1000", "--send-burst", "1000"]).await;
    let mut sender = WsClient::connect(server.addr, &writer.token, None)
        .await
        .unwrap();
    for i in 20..30 {
        sender
            .send_message(&format!("after {i}"), &format!("g-{i}"))
            .await;
        acked.push(sender.next_of("ack").await["id"].as_i64().unwrap());
    }
    let last = *seen.last().unwrap();
    let mut ws = WsClient::connect(server.addr, &reader.token, Some(last))
        .await
        .unwrap();
    let missing = acked.iter().filter(|id| **id > last).count();
    seen.extend(ids(&ws.messages(missing).await));
    assert_eq!(seen, acked, "every acked message exactly once, in order");
}

/// SIGKILL while clients send: after a restart every acked message is stored
/// exactly once and is delivered on resume.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_loses_no_acked_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ChildServer::start(
        dir.path(),
        &["--send-rate", "100000", "--send-burst", "100000"],
    )
    .await;
    let mut users = Vec::new();
    for i in 0..4 {
        users.push(server.register(&format!("killer{i}")).await);
    }
    let acked = std::sync::Arc::new(std::sync::Mutex::new(HashMap::<String, i64>::new()));
    let mut tasks = Vec::new();
    for user in users.clone() {
        let acked = acked.clone();
        let addr = server.addr;
        tasks.push(tokio::spawn(async move {
            let Ok(mut ws) = WsClient::connect(addr, &user.token, None).await else { return };
            for n in 0.. {
                let cid = format!("{}-{n}", user.name);
                if futures_util::SinkExt::send(
                    &mut ws.ws,
                    tokio_tungstenite::tungstenite::Message::Text(
                        serde_json::json!({"type": "message", "content": format!("n{n}"), "client_id": cid}).to_string().into(),
                    ),
                )
                .await
                .is_err()
                {
                    return;
                }
                // Read until this send's ack (or the connection dies).
                loop {
                    match tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut ws.ws)).await {
                        Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t)))) => {
                            let v: Value = serde_json::from_str(t.as_str()).unwrap();
                            if v["type"] == "ack" && v["client_id"] == cid.as_str() {
                                acked.lock().unwrap().insert(cid.clone(), v["id"].as_i64().unwrap());
                                break;
                            }
                        }
                        Ok(Some(Ok(_))) => {}
                        _ => return,
                    }
                }
            }
        }));
    }
    // Kill once a good number of sends were acknowledged.
    tokio::time::timeout(WAIT, async {
        while acked.lock().unwrap().len() < 300 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("sends are acked");
    server.signal(libc_signal::Signal::Kill);
    let _ = server.child.wait().await;
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();

    let server = ChildServer::start(dir.path(), &[]).await;
    let stored = server.poll_all(&users[0], 0).await;
    let mut by_cid: HashMap<(i64, String), Vec<i64>> = HashMap::new();
    for m in &stored {
        by_cid
            .entry((
                m["user_id"].as_i64().unwrap(),
                m["client_id"].as_str().unwrap().to_owned(),
            ))
            .or_default()
            .push(m["id"].as_i64().unwrap());
    }
    assert!(by_cid.values().all(|ids| ids.len() == 1), "no duplicates");
    let stored_ids: std::collections::HashSet<i64> =
        stored.iter().map(|m| m["id"].as_i64().unwrap()).collect();
    for (cid, id) in &acked {
        assert!(stored_ids.contains(id), "acked {cid} (id {id}) is stored");
    }
    let mut ws = WsClient::connect(server.addr, &users[1].token, Some(0))
        .await
        .unwrap();
    let delivered = ws.messages(stored.len()).await;
    assert_eq!(
        ids(&delivered),
        ids(&stored),
        "resume delivers everything, in order"
    );
    eprintln!(
        "{} acked before SIGKILL, {} stored",
        acked.len(),
        stored.len()
    );
}
