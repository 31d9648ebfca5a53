//! The store under faults: an external lock, a full database, a read-only or
//! full data directory at start, a clean stop that leaves one complete file,
//! and Ctrl-C twice.

use crate::child::{ChildServer, libc_signal::Signal, serve_args};
use crate::helpers::*;
use reqwest::StatusCode;
use rusqlite::Connection;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

async fn health(app: &TestApp) -> StatusCode {
    app.get("/healthz", None).await.status()
}

async fn eventually_healthy(app: &TestApp, want: StatusCode) {
    let deadline = Instant::now() + WAIT;
    while health(app).await != want {
        assert!(Instant::now() < deadline, "/healthz never became {want}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_external_lock_fails_sends_at_once_and_health_says_so() {
    let app = spawn_app().await;
    let u = app.register("locked").await;
    let other = Connection::open(app.dir.path().join("hearth.db")).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();

    let started = Instant::now();
    let sends: Vec<_> = (0..20)
        .map(|i| {
            let http = app.http.clone();
            let url = app.url("/api/chat/messages");
            let token = u.token.clone();
            tokio::spawn(async move {
                let res = http
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({"content": format!("m{i}"), "client_id": format!("lock-{i}")}))
                    .send()
                    .await
                    .unwrap();
                let retry = res.headers().contains_key("retry-after");
                (res.status(), retry, res.json::<Value>().await.unwrap())
            })
        })
        .collect();
    for s in sends {
        let (status, retry, body) = s.await.unwrap();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(retry);
        assert_eq!(body["error"]["code"], "unavailable");
    }
    let waited = started.elapsed();
    // One busy wait (5 s) for the batch, not one per request.
    assert!(
        waited < Duration::from_secs(12),
        "all failed after {waited:?}"
    );
    assert_eq!(
        health(&app).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "locked"
    );

    other.execute_batch("ROLLBACK").unwrap();
    eventually_healthy(&app, StatusCode::OK).await;
    for i in 0..20 {
        let (status, _) = app.send(&u, &format!("m{i}"), &format!("lock-{i}")).await;
        assert_eq!(status, StatusCode::CREATED, "the retry stores it, once");
    }
    assert_eq!(app.poll_all(&u, 0).await.len(), 20);
}

#[tokio::test]
async fn a_full_database_acks_nothing_it_did_not_store_and_recovers() {
    let app = spawn_app_with(&[
        "--send-rate",
        "1000",
        "--send-burst",
        "1000",
        "--max-frame",
        "16384",
    ])
    .await;
    let u = app.register("filler").await;
    let mut ws = app.ws(&u).await;
    // Cap the file at its current size: the next pages cannot be had.
    app.state.store.set_page_limit(1).await.unwrap();
    let text = "满".repeat(1500);
    let (mut acked, mut failed) = (Vec::new(), Vec::new());
    for i in 0..60 {
        let cid = format!("full-{i}");
        let (status, body) = app.send(&u, &text, &cid).await;
        match status {
            StatusCode::CREATED => acked.push(body["id"].as_i64().unwrap()),
            StatusCode::SERVICE_UNAVAILABLE => failed.push(cid),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(!failed.is_empty(), "the cap was reached");
    assert_eq!(health(&app).await, StatusCode::SERVICE_UNAVAILABLE, "full");
    // Over WebSocket: an error naming the send, with retry advice, no crash.
    ws.send_message(&text, "full-ws").await;
    let err = ws.next_of("error").await;
    assert_eq!(
        (err["code"].as_str(), err["client_id"].as_str()),
        (Some("internal"), Some("full-ws"))
    );
    assert!(err["retry_after_ms"].as_u64().is_some());
    // Every ack has its row, and nothing else was stored.
    let stored = app.poll_all(&u, 0).await;
    assert_eq!(ids(&stored), acked);

    app.state.store.set_page_limit(1 << 30).await.unwrap();
    eventually_healthy(&app, StatusCode::OK).await;
    for cid in &failed {
        assert_eq!(app.send(&u, &text, cid).await.0, StatusCode::CREATED);
    }
    ws.send_message(&text, "full-ws").await;
    assert_eq!(ws.next_of("ack").await["client_id"], "full-ws");
    assert_eq!(
        app.poll_all(&u, 0).await.len(),
        acked.len() + failed.len() + 1
    );
}

#[tokio::test]
async fn a_clean_stop_leaves_everything_in_the_database_file_alone() {
    let app = spawn_app().await;
    let (a, b) = (app.register("alice").await, app.register("bob").await);
    for i in 0..30 {
        let who = if i % 2 == 0 { &a } else { &b };
        assert_eq!(
            app.send(who, &format!("kept {i}"), &format!("k{i}"))
                .await
                .0,
            StatusCode::CREATED
        );
    }
    let dir = app.stop().await;
    let wal = dir.path().join("hearth.db-wal");
    assert!(
        std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
        "the WAL was folded into the database"
    );
    // Copy only hearth.db, as a person backing up "the SQLite file" would.
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(dir.path().join("hearth.db"), copy.path().join("hearth.db")).unwrap();
    let conn = Connection::open(copy.path().join("hearth.db")).unwrap();
    let (messages, users): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT COUNT(*) FROM messages), (SELECT COUNT(*) FROM users)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((messages, users), (30, 2));
    let last: String = conn
        .query_row(
            "SELECT content FROM messages ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(last, "kept 29");
}

/// Runs `hearth serve` on `dir`, which must fail at start: (exit code, stderr).
fn failed_start(dir: &Path) -> (i32, String) {
    let out = std::process::Command::new(hearth_bin())
        .args(serve_args(dir, &[]))
        .env_remove("HEARTH_DATA_DIR")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A tmpfs of `size` at a fresh directory (root only); unmounted on drop.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(options: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir.path())
            .status()
            .unwrap()
            .success();
        assert!(ok, "mount -t tmpfs -o {options} failed");
        Self(dir)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.0.path())
            .status();
    }
}

#[tokio::test]
async fn a_read_only_data_directory_is_one_clear_line_and_a_failing_exit() {
    let (code, stderr) = if is_root() {
        // Root ignores permission bits: use a read-only file system.
        let fs = Tmpfs::mount("ro,size=1m");
        failed_start(fs.0.path())
    } else {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o555),
        )
        .unwrap();
        failed_start(dir.path())
    };
    assert_ne!(code, 0);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].contains("not writable"), "{stderr}");
}

#[tokio::test]
async fn a_full_disk_at_start_fails_clearly_and_leaves_nothing_behind() {
    if !is_root() {
        eprintln!("a_full_disk_at_start: needs root to mount a small tmpfs; CI runs it as root");
        return;
    }
    let fs = Tmpfs::mount("size=2m");
    let dir = fs.0.path();
    let server = ChildServer::start(dir, &[]).await;
    server.register("before").await;
    server.signal(Signal::Term);
    let mut server = server;
    tokio::time::timeout(WAIT, server.child.wait())
        .await
        .unwrap()
        .unwrap();
    // Fill the disk to the last byte.
    let mut filler = tokio::fs::File::create(dir.join("filler")).await.unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while filler.write_all(&chunk).await.is_ok() {}
    while filler.write_all(&[0]).await.is_ok() {}
    drop(filler);
    let (code, stderr) = failed_start(dir);
    assert_ne!(code, 0, "{stderr}");
    assert!(
        stderr.contains("not writable") || stderr.contains("database"),
        "{stderr}"
    );
    assert!(
        !dir.join(".hearth-write-test").exists(),
        "no probe file left behind"
    );
    // Space again: it starts and the account is there.
    std::fs::remove_file(dir.join("filler")).unwrap();
    let server = ChildServer::start(dir, &[]).await;
    let res = server
        .app
        .post(format!("http://{}/api/auth/login", server.addr))
        .json(&json!({"username": "before", "password": "password123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_second_interrupt_exits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ChildServer::spawn(serve_args(dir.path(), &[]), &[]).await;
    // A request whose body never finishes keeps the graceful stop waiting
    // (for the body deadline and then the drain).
    let mut stalled = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stalled
        .write_all(b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.signal(Signal::Int);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "still stopping gracefully"
    );
    let second = Instant::now();
    server.signal(Signal::Int);
    let status = tokio::time::timeout(Duration::from_secs(3), server.child.wait())
        .await
        .expect("exits promptly after the second interrupt")
        .unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(second.elapsed() < Duration::from_secs(3));
}
