//! Connection caps, the open-file limit and the per-user read budget.

use crate::child::{ChildServer, serve_args};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Error as WsError;

/// The HTTP status of a refused WebSocket upgrade.
fn refused_status(result: Result<WsClient, WsError>) -> StatusCode {
    match result {
        Err(WsError::Http(res)) => StatusCode::from_u16(res.status().as_u16()).unwrap(),
        Err(e) => panic!("expected an HTTP refusal, got {e}"),
        Ok(_) => panic!("expected a refusal, the upgrade succeeded"),
    }
}

/// Retries `f` until it returns true.
async fn eventually(what: &str, mut f: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn websockets_per_account_are_capped() {
    let app = spawn_app_with(&["--max-websockets-per-user", "3"]).await;
    let u = app.register("tabs").await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(app.ws(&u).await);
    }
    let status = refused_status(WsClient::connect(app.addr, &u.token, None).await);
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let other = app.register("other").await;
    app.ws(&other).await.assert_usable().await;
    drop(open.pop());
    eventually("a closed tab frees its place", async || {
        WsClient::connect(app.addr, &u.token, None).await.is_ok()
    })
    .await;
}

#[tokio::test]
async fn connections_per_address_are_capped_before_any_work() {
    let app = spawn_app_with(&[
        "--loopback-exempt",
        "false",
        "--max-connections-per-ip",
        "4",
    ])
    .await;
    let users = [app.register("a1").await, app.register("a2").await];
    // Sockets until the address is full (the test's HTTP client holds a
    // pooled connection too).
    let mut sockets = Vec::new();
    let refusal = loop {
        match WsClient::connect(app.addr, &users[sockets.len() % 2].token, None).await {
            Ok(ws) => sockets.push(ws),
            Err(e) => break e,
        }
        assert!(sockets.len() <= 4, "the cap of 4 was not enforced");
    };
    assert_eq!(refused_status(Err(refusal)), StatusCode::TOO_MANY_REQUESTS);
    assert!(sockets.len() >= 3);
    // Any further connection from the same address is answered 429 and closed.
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let res = fresh.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_connections");
    sockets.pop();
    eventually("a closed socket frees the address's place", async || {
        fresh
            .get(app.url("/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK)
    })
    .await;
}

#[tokio::test]
async fn websockets_through_a_trusted_proxy_count_per_forwarded_address() {
    let app = spawn_app_with(&[
        "--trust-proxy",
        "127.0.0.1",
        "--loopback-exempt",
        "false",
        "--max-connections-per-ip",
        "2",
    ])
    .await;
    let u = app.register("proxied").await;
    let connect = async |real_ip: &str| {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = format!("ws://{}/api/chat/ws", app.addr)
            .into_client_request()
            .unwrap();
        req.headers_mut().insert(
            "authorization",
            format!("Bearer {}", u.token).parse().unwrap(),
        );
        req.headers_mut()
            .insert("x-real-ip", real_ip.parse().unwrap());
        tokio_tungstenite::connect_async(req)
            .await
            .map(|(ws, _)| ws)
    };
    let _a = connect("203.0.113.9").await.unwrap();
    let _b = connect("203.0.113.9").await.unwrap();
    match connect("203.0.113.9").await {
        Err(WsError::Http(res)) => assert_eq!(res.status().as_u16(), 429),
        other => panic!("expected 429, got {:?}", other.map(|_| ())),
    }
    let _c = connect("203.0.113.10")
        .await
        .expect("another client of the proxy");
}

#[tokio::test]
async fn a_full_server_refuses_clearly_and_keeps_answering_http() {
    // 12 connections in all; WebSockets leave 2 of them to plain HTTP.
    let app = spawn_app_with(&["--max-connections", "12"]).await;
    let mut sockets = Vec::new();
    for i in 0..10 {
        let u = app.register(&format!("full{i}")).await;
        sockets.push(app.ws(&u).await);
    }
    let late = app.register("late").await;
    let status = refused_status(WsClient::connect(app.addr, &late.token, None).await);
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    // Health and login still answer while the sockets fill the WebSocket share.
    eventually("health answers", async || {
        app.get("/healthz", None).await.status() == StatusCode::OK
    })
    .await;
    assert_eq!(app.login("late", "password123").await.0, StatusCode::OK);
    // Past the total, a new connection gets a 503 answer, not a hang.
    let mut idle = Vec::new();
    let mut refused = None;
    for _ in 0..4 {
        let fresh = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let res = fresh.get(app.url("/healthz")).send().await.unwrap();
        if res.status() == StatusCode::SERVICE_UNAVAILABLE {
            refused = Some(res.json::<Value>().await.unwrap());
            break;
        }
        // Hold a raw connection open to use up the HTTP share.
        let mut raw = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        raw.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        idle.push(raw);
    }
    let body = refused.expect("a 503 once every connection is taken");
    assert_eq!(body["error"]["code"], "server_full");
    drop(idle);
    drop(sockets);
    eventually("room again after clients leave", async || {
        WsClient::connect(app.addr, &late.token, None).await.is_ok()
    })
    .await;
}

#[tokio::test]
async fn the_open_file_limit_is_raised_to_the_hard_limit_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let args = serve_args(dir.path(), &[]);
    let server = ChildServer::spawn_in_shell(Some("ulimit -S -n 256"), args, &[]).await;
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.pid())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (soft, hard) = (fields[3], fields[4]);
    assert_eq!(soft, hard, "soft limit raised to the hard one: {line}");
    assert_ne!(soft, "256");
}

#[tokio::test]
async fn heavy_reads_have_a_per_user_budget() {
    let app = spawn_app_with(&["--read-rate", "1", "--read-burst", "5"]).await;
    let (u, other) = (app.register("reader").await, app.register("other").await);
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let res = app
            .get("/api/chat/messages/new?after_id=0", Some(&u.token))
            .await;
        let retry = res.headers().contains_key("retry-after");
        statuses.push((res.status(), retry));
    }
    assert!(
        statuses[..5].iter().all(|(s, _)| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert!(
        statuses[5..]
            .iter()
            .all(|s| *s == (StatusCode::TOO_MANY_REQUESTS, true)),
        "{statuses:?}"
    );
    let history = app.get("/api/chat/messages", Some(&u.token)).await;
    assert_eq!(
        history.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "history shares the budget"
    );
    assert_eq!(
        app.get("/api/chat/messages", Some(&other.token))
            .await
            .status(),
        StatusCode::OK,
        "other users are unaffected"
    );
    // A sync over the same account's socket is refused the same way.
    let mut ws = app.ws(&u).await;
    ws.send_json(&json!({"type": "sync", "after": 0})).await;
    let err = ws.next_of("error").await;
    assert_eq!(err["code"], "rate_limited");
    assert!(err["retry_after_ms"].as_u64().unwrap() > 0);
    ws.assert_usable().await;
    // Sending is a different budget.
    let (status, _) = app.send(&u, "still allowed to talk", "r-1").await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn the_seeds_polling_client_in_several_tabs_stays_within_the_default_budget() {
    let app = spawn_app().await;
    let u = app.register("poller").await;
    // Five tabs polling once a second for four seconds.
    let started = Instant::now();
    for round in 0..4u64 {
        for _ in 0..5 {
            let res = app
                .get("/api/chat/messages/new?after_id=0", Some(&u.token))
                .await;
            assert_eq!(res.status(), StatusCode::OK, "round {round}");
        }
        let next = started + Duration::from_secs(round + 1);
        tokio::time::sleep_until(next.into()).await;
    }
}
