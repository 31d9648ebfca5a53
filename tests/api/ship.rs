//! Shipping the binary: the double-click start, the data-dir lock, the port
//! fallback, the admin commands, backup and restore, and /metrics.

use crate::child::ChildServer;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

fn line_after<'a>(banner: &'a [String], prefix: &str) -> Vec<&'a str> {
    banner
        .iter()
        .filter_map(|l| l.strip_prefix(prefix))
        .map(str::trim)
        .collect()
}

/// Runs `hearth ARGS` to completion with `stdin` as input.
fn hearth(args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(hearth_bin())
        .args(args)
        .env_remove("HEARTH_DATA_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hearth");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("hearth runs")
}

#[tokio::test]
async fn a_plain_start_prints_its_urls_and_serves_the_chat_on_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = ChildServer::spawn(
        os(&[
            "--data-dir",
            data.to_str().unwrap(),
            "--no-open",
            "--bind",
            "0.0.0.0:0",
        ]),
        &[],
    )
    .await;
    let port = server.addr.port();
    let local = line_after(&server.banner, "打开 ");
    assert_eq!(
        local,
        vec![format!("http://localhost:{port}")],
        "{:?}",
        server.banner
    );
    let data_line = line_after(&server.banner, "数据目录 (data dir): ");
    assert_eq!(
        data_line,
        vec![data.to_str().unwrap()],
        "the data dir is shown"
    );
    let lan = line_after(&server.banner, "局域网 (LAN): ");
    assert!(
        lan.iter()
            .all(|u| u.starts_with("http://") && u.ends_with(&format!(":{port}"))),
        "{lan:?}"
    );

    // Every printed URL serves the UI and the API.
    let urls: Vec<String> = local
        .iter()
        .chain(lan.iter())
        .map(|u| u.to_string())
        .collect();
    for url in &urls {
        let page = server.app.get(format!("{url}/")).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{url}");
        assert!(
            page.text().await.unwrap().to_lowercase().contains("<html"),
            "{url} serves the web UI"
        );
        assert_eq!(
            server
                .app
                .get(format!("{url}/healthz"))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
    }
    // Two people chat, one through each of the first and the last URL.
    let (first, last) = (&urls[0], urls.last().unwrap());
    let register = |base: String, name: &'static str, invite: Option<String>| {
        let http = server.app.clone();
        async move {
            let res = http
                .post(format!("{base}/api/auth/register"))
                .json(&json!({"username": name, "password": "password123", "invite": invite}))
                .send()
                .await
                .unwrap();
            let status = res.status();
            let v: Value = res.json().await.unwrap();
            (status, v["token"].as_str().unwrap_or_default().to_owned())
        }
    };
    let (status, alice) = register(first.clone(), "alice", None).await;
    assert_eq!(status, StatusCode::CREATED, "the first account (the admin)");
    // Listening beyond loopback: others join by invitation.
    let (status, _) = register(last.clone(), "bob", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let invite: Value = server
        .app
        .post(format!("{first}/api/invites"))
        .bearer_auth(&alice)
        .json(&json!({"uses": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = invite["invite"]["token"].as_str().unwrap().to_owned();
    let (status, bob) = register(last.clone(), "bob", Some(token)).await;
    assert_eq!(status, StatusCode::CREATED);
    let bob_addr = last
        .strip_prefix("http://")
        .unwrap()
        .replace("localhost", "127.0.0.1")
        .parse()
        .unwrap();
    let mut ws = WsClient::connect(bob_addr, &bob, None).await.unwrap();
    let res = server
        .app
        .post(format!("{first}/api/chat/messages"))
        .bearer_auth(&alice)
        .json(&json!({"content": "你好 from the LAN", "client_id": "lan-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(ws.messages(1).await[0]["content"], "你好 from the LAN");
}

#[tokio::test]
async fn a_second_instance_on_the_same_data_dir_stops_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let _first = ChildServer::start(dir.path(), &[]).await;
    let out = hearth(
        &[
            "serve",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--no-open",
            "--bind",
            "127.0.0.1:0",
        ],
        "",
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already running with this data dir"), "{err}");
    assert!(err.contains("另一个 Hearth"), "{err}");
}

#[tokio::test]
async fn a_taken_default_port_moves_to_the_next_free_one_and_an_explicit_one_fails_clearly() {
    // Hold the default port (it may be held by something else already: same outcome).
    let _hold = std::net::TcpListener::bind("0.0.0.0:3001");
    assert!(
        std::net::TcpListener::bind("0.0.0.0:3001").is_err(),
        "3001 is taken for this test"
    );
    let dir = tempfile::tempdir().unwrap();
    let server = ChildServer::spawn(
        os(&["--data-dir", dir.path().to_str().unwrap(), "--no-open"]),
        &[],
    )
    .await;
    let port = server.addr.port();
    assert!((3002..=3021).contains(&port), "moved to {port}");
    assert!(
        server
            .banner
            .iter()
            .any(|l| l.contains("端口 3001 已被占用") && l.contains(&port.to_string())),
        "{:?}",
        server.banner
    );
    assert_eq!(
        server
            .app
            .get(format!("http://{}/healthz", server.addr))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = held.local_addr().unwrap().to_string();
    let other = tempfile::tempdir().unwrap();
    let out = hearth(
        &[
            "--data-dir",
            other.path().to_str().unwrap(),
            "--no-open",
            "--bind",
            &taken,
        ],
        "",
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already in use"), "{err}");
}

#[tokio::test]
async fn admin_commands_manage_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = hearth(
        &["user", "add", "dave", "--password-stdin", "--data-dir", d],
        "dave-password-1\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = hearth(&["user", "add", "erin", "--data-dir", d], "");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let generated = text
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("a generated password is printed")
        .to_owned();
    let dup = hearth(&["user", "add", "DAVE", "--data-dir", d], "");
    assert!(!dup.status.success(), "names are unique ignoring case");
    hearth(&["user", "set-admin", "erin", "--data-dir", d], "");
    let list =
        String::from_utf8_lossy(&hearth(&["user", "list", "--data-dir", d], "").stdout).to_string();
    let admin_of = |name: &str| {
        list.lines()
            .find(|l| l.contains(name))
            .is_some_and(|l| l.contains("yes"))
    };
    assert!(admin_of("dave") && admin_of("erin"), "{list}");

    // Pings every second: sessions notice a reset at their next ping.
    let server = ChildServer::start(
        dir.path(),
        &["--ping-interval", "1s", "--idle-timeout", "60s"],
    )
    .await;
    let login_token = |name: &'static str, pw: String| {
        let http = server.app.clone();
        let url = format!("http://{}/api/auth/login", server.addr);
        async move {
            let res = http
                .post(url)
                .json(&json!({"username": name, "password": pw}))
                .send()
                .await
                .unwrap();
            let status = res.status();
            let token = res.json::<Value>().await.unwrap()["token"]
                .as_str()
                .map(str::to_owned);
            (status, token)
        }
    };
    let login = |name: &'static str, pw: String| {
        let attempt = login_token(name, pw);
        async move { attempt.await.0 }
    };
    let me = |token: String| {
        let http = server.app.clone();
        let url = format!("http://{}/api/auth/me", server.addr);
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        login("dave", "dave-password-1".into()).await,
        StatusCode::OK
    );
    let (status, old_token) = login_token("erin", generated.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let old_token = old_token.expect("a token");
    let mut old_ws = WsClient::connect(server.addr, &old_token, None)
        .await
        .expect("WebSocket with the token from before the reset");
    // Works while the server runs.
    let out = hearth(
        &[
            "user",
            "reset-password",
            "erin",
            "--password-stdin",
            "--data-dir",
            d,
        ],
        "erin-new-password\n",
    );
    assert!(out.status.success());
    assert_eq!(login("erin", generated).await, StatusCode::UNAUTHORIZED);
    let (status, new_token) = login_token("erin", "erin-new-password".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me(new_token.expect("a token")).await, StatusCode::OK);

    // The reset signs erin out everywhere: the open WebSocket is closed with
    // 4001 and the old token is refused, within the server's re-read interval.
    let close = old_ws.closed().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 4001, "{close:?}");
    let deadline = Instant::now() + WAIT;
    while me(old_token.clone()).await != StatusCode::UNAUTHORIZED {
        assert!(Instant::now() < deadline, "the old token still works");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        WsClient::connect(server.addr, &old_token, None)
            .await
            .is_err(),
        "no new WebSocket with the old token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_write_load_restores_every_message_acked_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = ChildServer::start(
        dir.path(),
        &["--send-rate", "100000", "--send-burst", "100000"],
    )
    .await;
    let epoch = server
        .app
        .get(format!("http://{}/api/config", server.addr))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["epoch"]
        .clone();
    let mut users = Vec::new();
    for i in 0..4 {
        users.push(server.register(&format!("w{i}")).await);
    }
    let acked = Arc::new(Mutex::new(Vec::<(String, i64, Instant)>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for u in users.clone() {
        let (acked, stop, http, addr) =
            (acked.clone(), stop.clone(), server.app.clone(), server.addr);
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let cid = format!("{}-{n}", u.name);
                let res = http
                    .post(format!("http://{addr}/api/chat/messages"))
                    .bearer_auth(&u.token)
                    .json(&json!({"content": format!("m{n}"), "client_id": cid}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), StatusCode::CREATED);
                let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
                acked.lock().unwrap().push((cid, id, Instant::now()));
                n += 1;
            }
        }));
    }
    let wait_for = |count: usize| {
        let acked = acked.clone();
        async move {
            tokio::time::timeout(WAIT, async {
                while acked.lock().unwrap().len() < count {
                    tokio::task::yield_now().await;
                }
            })
            .await
            .expect("writes are acked");
        }
    };
    wait_for(200).await;
    let backup = dir.path().join("backup.db");
    let backup_started = Instant::now();
    let out = tokio::process::Command::new(hearth_bin())
        .args([
            "backup",
            backup.to_str().unwrap(),
            "--data-dir",
            dir.path().to_str().unwrap(),
        ])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let during = acked.lock().unwrap().len();
    wait_for(during + 100).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }

    // Restoring into the running server's data dir is refused.
    let refused = hearth(
        &[
            "restore",
            backup.to_str().unwrap(),
            "--data-dir",
            dir.path().to_str().unwrap(),
        ],
        "",
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("server stopped"));

    let restored = tempfile::tempdir().unwrap();
    let out = hearth(
        &[
            "restore",
            backup.to_str().unwrap(),
            "--data-dir",
            restored.path().to_str().unwrap(),
        ],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = rusqlite::Connection::open(restored.path().join("hearth.db")).unwrap();
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let stored: HashMap<String, i64> = db
        .prepare("SELECT client_id, id FROM messages")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let acked = acked.lock().unwrap().clone();
    let before: Vec<_> = acked
        .iter()
        .filter(|(_, _, at)| *at < backup_started)
        .collect();
    assert!(before.len() >= 200);
    for (cid, id, _) in &before {
        assert_eq!(
            stored.get(cid),
            Some(id),
            "{cid} was acked before the backup"
        );
    }
    let all: HashMap<&String, &i64> = acked.iter().map(|(c, i, _)| (c, i)).collect();
    assert!(
        stored.iter().all(|(c, i)| all.get(c) == Some(&i)),
        "nothing in the backup that was not acked"
    );
    drop(db);

    let again = ChildServer::start(restored.path(), &[]).await;
    let config: Value = again
        .app
        .get(format!("http://{}/api/config", again.addr))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(
        config["epoch"], epoch,
        "a restored database gets a new epoch"
    );
    let res = again
        .app
        .post(format!("http://{}/api/auth/login", again.addr))
        .json(&json!({"username": "w0", "password": "password123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    eprintln!(
        "{} acked before the backup, {} in it, {} acked in all",
        before.len(),
        stored.len(),
        acked.len()
    );
}

/// Every line is a comment, blank, or `name{labels} value`.
fn assert_prometheus_text(text: &str) {
    for line in text.lines() {
        if line.is_empty() || line.starts_with("# HELP ") || line.starts_with("# TYPE ") {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value: {line}"));
        let name = series.split('{').next().unwrap();
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name in {line}"
        );
        if let Some(labels) = series.strip_prefix(name) {
            assert!(
                labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')),
                "bad labels in {line}"
            );
        }
        assert!(
            value.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&value),
            "bad value in {line}"
        );
    }
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_are_prometheus_text_and_move_with_traffic() {
    let app = spawn_app().await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let before = app.get("/metrics", None).await.text().await.unwrap();
    assert_prometheus_text(&before);
    let mut ws = app.ws(&bob).await;
    for i in 0..5 {
        app.send(&alice, "counted", &format!("m{i}")).await;
    }
    ws.messages(5).await;
    let after = app.get("/metrics", None).await;
    assert!(
        after.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let after = after.text().await.unwrap();
    assert_prometheus_text(&after);
    for (name, at_least) in [
        ("hearth_messages_stored_total", 5.0),
        ("hearth_deliveries_total", 5.0),
        ("hearth_ws_connections_opened_total", 1.0),
    ] {
        assert!(
            metric(&after, name) - metric(&before, name) >= at_least,
            "{name} did not move"
        );
    }
    assert!(
        after.contains("hearth_db_commit_seconds_bucket"),
        "commit latency histogram"
    );
    assert!(
        after.contains("hearth_db_batch_size_bucket"),
        "batch size histogram"
    );

    // Through a reverse proxy every client looks local: forwarded requests are refused.
    let res = app
        .http
        .get(app.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn metrics_token_is_required_when_configured() {
    let app = spawn_app_with(&["--metrics-token", "s3cret-metrics"]).await;
    assert_eq!(
        app.get("/metrics", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Wrong, same length but wrong, a prefix, and one byte more (compared in
    // constant time, so none of these answers sooner than another).
    for wrong in ["wrong", "s3cret-metricz", "s3cret", "s3cret-metrics!"] {
        assert_eq!(
            app.get("/metrics", Some(wrong)).await.status(),
            StatusCode::UNAUTHORIZED,
            "{wrong}"
        );
    }
    let ok = app.get("/metrics", Some("s3cret-metrics")).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_prometheus_text(&ok.text().await.unwrap());
}

#[tokio::test]
async fn team_commands_work_beside_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let ok = |out: std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let no_admin = hearth(&["invite", "create", "--data-dir", d], "");
    assert!(!no_admin.status.success(), "no admin yet, no invitation");
    ok(hearth(
        &[
            "user",
            "add",
            "root",
            "--admin",
            "--password-stdin",
            "--data-dir",
            d,
        ],
        "root-password-1\n",
    ));
    ok(hearth(
        &["user", "add", "erin", "--password-stdin", "--data-dir", d],
        "erin-password-1\n",
    ));
    // Never the last admin.
    let out = hearth(
        &["user", "set-admin", "root", "--revoke", "--data-dir", d],
        "",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("last active admin"));

    let server = ChildServer::start(dir.path(), &[]).await;
    let base = format!("http://{}", server.addr);
    let register = |name: String, invite: Option<String>| {
        let (http, url) = (server.app.clone(), format!("{base}/api/auth/register"));
        async move {
            http.post(url)
                .json(&json!({"username": name, "password": "password123", "invite": invite}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert!(
        ok(hearth(
            &["registration", "set", "closed", "--data-dir", d],
            ""
        ))
        .contains("closed")
    );
    // The server re-reads its settings every couple of seconds.
    let deadline = Instant::now() + WAIT;
    let mut probe = 0;
    while register(format!("probe{probe}"), None).await != StatusCode::FORBIDDEN {
        probe += 1;
        assert!(Instant::now() < deadline, "registration is still open");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    ok(hearth(
        &["registration", "set", "invite", "--data-dir", d],
        "",
    ));
    let out = ok(hearth(
        &[
            "invite",
            "create",
            "--uses",
            "1",
            "--url",
            "http://chat.lan:3001/",
            "--data-dir",
            d,
        ],
        "",
    ));
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("http://chat.lan:3001/#/invite/"))
        .expect("the link is printed")
        .to_owned();
    let deadline = Instant::now() + WAIT;
    loop {
        let status = register("fay".into(), Some(secret.clone())).await;
        if status == StatusCode::CREATED {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the invitation does not work: {status}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // A reset prints a one-time link; it sets the password through the API.
    let out = ok(hearth(
        &["user", "reset-password", "erin", "--data-dir", d],
        "",
    ));
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("http://localhost:3001/#/password/"))
        .expect("the link is printed")
        .to_owned();
    let res = server
        .app
        .post(format!("{base}/api/auth/password-link/{secret}"))
        .json(&json!({"password": "erin-new-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let login = server
        .app
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"username": "erin", "password": "erin-new-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
}
