//! Talking to the server: accounts over HTTP, WebSockets with small buffers.

use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::net::SocketAddr;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// A bench account.
#[derive(Clone, Debug)]
pub struct Account {
    pub token: String,
}

/// Refuses anything but loopback: load is never sent elsewhere.
pub fn loopback_addr(url: &str) -> anyhow::Result<SocketAddr> {
    let authority = url
        .strip_prefix("http://")
        .context("--url must start with http://")?;
    let authority = authority.split('/').next().unwrap_or(authority);
    let addr: SocketAddr = authority
        .replace("localhost", "127.0.0.1")
        .parse()
        .with_context(|| format!("--url must be http://IP:PORT, got {url}"))?;
    if !addr.ip().is_loopback() {
        bail!(
            "hearth-bench only sends load to loopback addresses (127.0.0.0/8, ::1), not {}",
            addr.ip()
        );
    }
    Ok(addr)
}

/// Registers (or logs in) `count` users named `<prefix><i>`.
pub async fn accounts(
    addr: SocketAddr,
    prefix: &str,
    count: usize,
) -> anyhow::Result<Vec<Account>> {
    let http = reqwest::Client::new();
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let body = json!({"username": format!("{prefix}{i}"), "password": "bench-password"});
        let mut res = http
            .post(format!("http://{addr}/api/auth/register"))
            .json(&body)
            .send()
            .await?;
        if res.status() == reqwest::StatusCode::CONFLICT {
            res = http
                .post(format!("http://{addr}/api/auth/login"))
                .json(&body)
                .send()
                .await?;
        }
        let status = res.status();
        let v: Value = res.json().await?;
        let token = v["token"]
            .as_str()
            .with_context(|| format!("no token for user {i} ({status}): {v}"))?;
        out.push(Account {
            token: token.to_owned(),
        });
    }
    Ok(out)
}

/// Client-side WebSocket buffers: small, like the server's.
fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
}

/// Opens an authenticated WebSocket.
pub async fn connect(addr: SocketAddr, token: &str) -> anyhow::Result<WebSocketStream<TcpStream>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut req = format!("ws://{addr}/api/chat/ws").into_client_request()?;
    req.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}"))?,
    );
    let (ws, _) = tokio_tungstenite::client_async_with_config(req, stream, Some(config())).await?;
    Ok(ws)
}
