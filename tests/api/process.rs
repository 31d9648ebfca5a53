//! The real binary as a child process: start-up output, SIGTERM, SIGKILL.

use crate::helpers::*;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A `hearth` child process.
pub struct ChildServer {
    pub child: Child,
    pub addr: std::net::SocketAddr,
    pub app: reqwest::Client,
}

impl ChildServer {
    /// Starts the binary on `dir` and waits for its `listening on` line.
    pub async fn start(dir: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(hearth_bin())
            .args([
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--no-open",
                "--log",
                "warn",
                "--data-dir",
            ])
            .arg(dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn hearth");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let addr = tokio::time::timeout(WAIT, async {
            while let Some(line) = lines.next_line().await.expect("read stdout") {
                if let Some(url) = line.split("listening on http://").nth(1) {
                    return url.trim().parse().expect("address");
                }
            }
            panic!("hearth exited before listening");
        })
        .await
        .expect("listening line in time");
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            child,
            addr,
            app: reqwest::Client::new(),
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id().expect("running") as i32
    }

    pub async fn register(&self, name: &str) -> TestUser {
        let res = self
            .app
            .post(format!("http://{}/api/auth/register", self.addr))
            .json(&serde_json::json!({"username": name, "password": "password123"}))
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        TestUser {
            id: body["user"]["id"].as_i64().unwrap(),
            name: name.into(),
            token: body["token"].as_str().unwrap().into(),
        }
    }

    pub async fn poll_all(&self, user: &TestUser) -> Vec<Value> {
        let mut after = 0;
        let mut all = Vec::new();
        loop {
            let body: Value = self
                .app
                .get(format!(
                    "http://{}/api/chat/messages/new?after_id={after}",
                    self.addr
                ))
                .bearer_auth(&user.token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            all.extend(body["messages"].as_array().unwrap().iter().cloned());
            after = body["last_id"].as_i64().unwrap();
            if body["has_more"] == false {
                return all;
            }
        }
    }

    pub fn signal(&self, sig: libc_signal::Signal) {
        libc_signal::send(self.pid(), sig);
    }

    /// Resident memory of the child, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

/// Signals via the `kill` command (no libc dependency in tests).
pub mod libc_signal {
    /// A signal name for `kill -s`.
    #[derive(Clone, Copy)]
    pub enum Signal {
        Term,
        Kill,
    }

    pub fn send(pid: i32, sig: Signal) {
        let name = match sig {
            Signal::Term => "TERM",
            Signal::Kill => "KILL",
        };
        let status = std::process::Command::new("kill")
            .args(["-s", name, &pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }
}

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
}

#[tokio::test]
async fn sigterm_closes_sockets_with_1001_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ChildServer::start(dir.path(), &[]).await;
    let u = server.register("graceful").await;
    let mut ws = WsClient::connect(server.addr, &u.token, None)
        .await
        .unwrap();
    ws.send_message("hello", "g-1").await;
    ws.next_of("ack").await;
    server.signal(libc_signal::Signal::Term);
    let close = ws.closed().await.expect("close frame");
    assert_eq!(u16::from(close.code), 1001);
    let status = tokio::time::timeout(WAIT, server.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit code 0, got {status:?}");
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
    let stored = server.poll_all(&users[0]).await;
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
