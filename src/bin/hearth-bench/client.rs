//! Talking to the server: accounts over HTTP, WebSockets with small buffers.

use crate::stats::histogram;
use anyhow::{Context, bail};
use futures_util::{StreamExt, TryStreamExt};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Instant;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// A bench WebSocket.
pub type Ws = WebSocketStream<TcpStream>;

/// A bench account.
#[derive(Clone, Debug)]
pub struct Account {
    pub token: String,
    /// The user's id (for room members and direct messages).
    pub id: i64,
}

/// Registrations (or logins) in flight at once: each is an argon2 hash on
/// the server, so a few keep its cores busy without queueing many.
const ACCOUNT_CONCURRENCY: usize = 4;

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

/// Registers (or logs in) `count` users named `<prefix><i>`, a few at a
/// time; the result is in index order.
pub async fn accounts(
    addr: SocketAddr,
    prefix: &str,
    count: usize,
) -> anyhow::Result<Vec<Account>> {
    let http = reqwest::Client::new();
    futures_util::stream::iter(0..count)
        .map(|i| account(&http, addr, format!("{prefix}{i}")))
        .buffered(ACCOUNT_CONCURRENCY)
        .try_collect()
        .await
}

/// Registers `username`, or logs in when the name is taken.
async fn account(
    http: &reqwest::Client,
    addr: SocketAddr,
    username: String,
) -> anyhow::Result<Account> {
    let body = json!({"username": username, "password": "bench-password"});
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
        .with_context(|| format!("no token for user {username} ({status}): {v}"))?;
    let id = v["user"]["id"]
        .as_i64()
        .with_context(|| format!("no user id for {username} ({status}): {v}"))?;
    Ok(Account {
        token: token.to_owned(),
        id,
    })
}

/// Client-side WebSocket buffers: small, like the server's.
fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
}

/// Opens an authenticated WebSocket at `path` (e.g. `/api/chat/ws?v=2`).
async fn connect(addr: SocketAddr, token: &str, path: &str) -> anyhow::Result<Ws> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut req = format!("ws://{addr}{path}").into_client_request()?;
    req.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}"))?,
    );
    let (ws, _) = tokio_tungstenite::client_async_with_config(req, stream, Some(config())).await?;
    Ok(ws)
}

/// Opens `conns` WebSockets at `path`, connection `i` as user `i %
/// accounts.len()` to server `i % addrs.len()` (the nodes of a cluster take
/// turns), `concurrency` at a time, and hands each open one to `open(i, ws)`
/// as it finishes; returns the connect-time histogram and the number of
/// failures (the first few are printed).
pub async fn connect_all(
    addrs: &[SocketAddr],
    accounts: &[Account],
    path: &str,
    conns: usize,
    concurrency: usize,
    mut open: impl FnMut(usize, Ws),
) -> (Histogram<u64>, u64) {
    let mut hist = histogram();
    let mut failures = 0;
    let results = futures_util::stream::iter(0..conns)
        .map(|i| {
            let token = accounts[i % accounts.len()].token.clone();
            let addr = addrs[i % addrs.len()];
            async move {
                let started = Instant::now();
                let ws = connect(addr, &token, path).await;
                (i, ws, started.elapsed())
            }
        })
        .buffer_unordered(concurrency.max(1));
    futures_util::pin_mut!(results);
    while let Some((i, ws, took)) = results.next().await {
        match ws {
            Ok(ws) => {
                let _ = hist.record(took.as_micros().max(1) as u64);
                open(i, ws);
            }
            Err(e) => {
                if failures < 5 {
                    eprintln!("connect failed: {e:#}");
                }
                failures += 1;
            }
        }
    }
    (hist, failures)
}
