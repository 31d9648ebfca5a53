//! Hearth behind Debian's nginx, configured by `packaging/nginx/hearth.conf`:
//! WebSocket chat and the polling API pass through it, and an idle WebSocket
//! outlives nginx's read timeout because Hearth's pings keep it busy.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

/// nginx's read timeout in these tests (the site file says 3600s).
const NGINX_TIMEOUT_SECS: u64 = 3;

/// nginx with the site file, pointed at `upstream`.
async fn start_nginx(upstream: SocketAddr) -> Nginx {
    let site = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/nginx/hearth.conf"),
    )
    .unwrap();
    for needle in [
        "server 127.0.0.1:3001;",
        "listen 80;",
        "proxy_read_timeout 3600s;",
    ] {
        assert!(
            site.contains(needle),
            "the site file changed: {needle} is gone"
        );
    }
    Nginx::start(|port| {
        site.replace("server 127.0.0.1:3001;", &format!("server {upstream};"))
            .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
            .replace(
                "proxy_read_timeout 3600s;",
                &format!("proxy_read_timeout {NGINX_TIMEOUT_SECS}s;"),
            )
    })
    .await
}

async fn via(
    http: &reqwest::Client,
    proxy: SocketAddr,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    let url = format!("http://{proxy}{path}");
    let mut req = match &body {
        Some(b) => http.post(url).json(b),
        None => http.get(url),
    };
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn chat_and_polling_pass_through_nginx() {
    let app = spawn_app_with(&["--trust-proxy"]).await;
    let proxy = start_nginx(app.addr).await;
    let http = reqwest::Client::new();
    let mut tokens = Vec::new();
    for name in ["alice", "bob"] {
        let res = via(
            &http,
            proxy.addr,
            "/api/auth/register",
            None,
            Some(serde_json::json!({"username": name, "password": "password123"})),
        )
        .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        tokens.push(
            res.json::<Value>().await.unwrap()["token"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let page = via(&http, proxy.addr, "/", None, None).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(
        via(&http, proxy.addr, "/metrics", None, None)
            .await
            .status(),
        StatusCode::FORBIDDEN,
        "metrics stay internal"
    );

    let mut a = WsClient::connect(proxy.addr, &tokens[0], None)
        .await
        .expect("WebSocket through nginx");
    let mut b = WsClient::connect(proxy.addr, &tokens[1], None)
        .await
        .expect("WebSocket through nginx");
    a.send_message("through the proxy", "px-1").await;
    let id = a.next_of("ack").await["id"].as_i64().unwrap();
    assert_eq!(b.messages(1).await[0]["id"], id);
    b.send_message("and back", "px-2").await;
    assert_eq!(a.messages(2).await[1]["content"], "and back");

    let polled: Value = via(
        &http,
        proxy.addr,
        "/api/chat/messages/new?after_id=0",
        Some(&tokens[1]),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let contents: Vec<&str> = polled["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["through the proxy", "and back"]);
    let sent = via(
        &http,
        proxy.addr,
        "/api/chat/messages",
        Some(&tokens[1]),
        Some(serde_json::json!({"content": "by polling", "client_id": "px-3"})),
    )
    .await;
    assert_eq!(sent.status(), StatusCode::CREATED);
    assert_eq!(a.messages(1).await[0]["content"], "by polling");
}

/// Holds `ws` idle (no app frames sent; protocol pings answered) for `secs`;
/// returns whether it stayed open.
async fn stays_open_while_idle(ws: &mut WsClient, secs: u64) -> bool {
    use futures_util::StreamExt;
    let until = Instant::now() + Duration::from_secs(secs);
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        match tokio::time::timeout(left, ws.ws.next()).await {
            Err(_) => return true,
            Ok(Some(Ok(_))) => {}
            Ok(_) => return false,
        }
    }
}

#[tokio::test]
async fn heartbeats_keep_an_idle_websocket_open_past_nginx_read_timeout() {
    // Pings every second keep the proxied socket busy...
    let app = spawn_app_with(&["--ping-interval", "1s", "--idle-timeout", "10s"]).await;
    let proxy = start_nginx(app.addr).await;
    let u = app.register("idle").await;
    let mut ws = WsClient::connect(proxy.addr, &u.token, None).await.unwrap();
    assert!(
        stays_open_while_idle(&mut ws, NGINX_TIMEOUT_SECS * 3).await,
        "an idle socket with heartbeats was cut"
    );
    ws.send_message("still alive", "hb-1").await;
    assert_eq!(ws.next_of("ack").await["client_id"], "hb-1");

    // ...and without them nginx's timeout cuts the same idle socket: the pings are what keep it alive.
    let quiet = spawn_app_with(&["--ping-interval", "60s", "--idle-timeout", "120s"]).await;
    let proxy = start_nginx(quiet.addr).await;
    let u = quiet.register("quiet").await;
    let mut ws = WsClient::connect(proxy.addr, &u.token, None).await.unwrap();
    let started = Instant::now();
    assert!(
        !stays_open_while_idle(&mut ws, 30).await,
        "nginx should cut a socket without traffic"
    );
    assert!(started.elapsed() >= Duration::from_secs(NGINX_TIMEOUT_SECS - 1));
}

#[tokio::test]
async fn a_20_mb_upload_and_its_download_pass_through_nginx() {
    let app = spawn_app_with(&["--trust-proxy"]).await;
    let proxy = start_nginx(app.addr).await;
    let http = reqwest::Client::new();
    let amy = app.register("amy").await;
    let content: Vec<u8> = (0..20_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let res = http
        .post(format!(
            "http://{}/api/rooms/1/files?name=big.bin",
            proxy.addr
        ))
        .bearer_auth(&amy.token)
        .body(content.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "nginx lets a 20 MB upload through"
    );
    let id = res.json::<Value>().await.unwrap()["file"]["id"]
        .as_i64()
        .unwrap();
    let sent = via(
        &http,
        proxy.addr,
        "/api/rooms/1/messages",
        Some(&amy.token),
        Some(serde_json::json!({"content": "", "client_id": "big", "files": [id]})),
    )
    .await;
    assert_eq!(sent.status(), StatusCode::CREATED);
    let res = http
        .get(format!("http://{}/api/files/{id}", proxy.addr))
        .bearer_auth(&amy.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert!(
        res.bytes().await.unwrap() == content,
        "the same bytes come back"
    );

    // Over Hearth's limit: Hearth's own answer comes through, not nginx's page.
    let res = http
        .post(format!(
            "http://{}/api/rooms/1/files?name=huge.bin",
            proxy.addr
        ))
        .bearer_auth(&amy.token)
        .body(vec![0u8; 26_000_000])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "file_too_large"
    );
}
