//! A test-only WebSocket echo server for the Autobahn|Testsuite
//! (`scripts/autobahn.sh`, `docs/AUTOBAHN.md`). It is an example, so it is
//! never part of the `hearth` binary; it exists to run Hearth's own WebSocket
//! code paths against `wstest -m fuzzingclient`:
//!
//! - the accept loop [`hearth::server::serve`] on [`hearth::server::bind`]
//!   (loopback, so no connection cap applies);
//! - the hand-written upgrade: [`websocket_key`] checks the handshake,
//!   [`switching_protocols`] answers 101, and the upgraded `TcpStream` is
//!   wrapped with `WebSocketStream::from_partially_read` and
//!   [`tungstenite_config`] (`hearth::session::socket_config`), as `src/session/mod.rs` does;
//! - text messages are echoed with Hearth's frame writer
//!   [`hearth::protocol::text_frame`], written straight to the socket like
//!   the session's broadcast batches. Binary messages go back through
//!   tungstenite; pings and closes are answered by tungstenite.
//!
//! Limits are 16 MiB (Autobahn 9.* sends messages that large): the point is
//! the framing, not Hearth's 4 KiB product limit.
//!
//! ```text
//! cargo run --release --example autobahn_echo -- 127.0.0.1:9001
//! ```

use futures_util::{SinkExt, StreamExt};
use hearth::api::ws::{switching_protocols, websocket_key};
use hearth::limits::{ConnectionLimits, TrustedProxies};
use hearth::server::ServeOptions;
use hearth::session::socket_config as tungstenite_config;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_util::sync::CancellationToken;
use warp::Filter;
use warp::http::HeaderMap;
use warp::hyper::upgrade::OnUpgrade;
use warp::reply::{Reply, Response};

/// Largest message and frame accepted (Autobahn 9.* goes up to 16 MiB).
const MAX_MESSAGE: usize = 16 * 1024 * 1024;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .as_deref()
        .unwrap_or("127.0.0.1:9001")
        .parse()
        .map_err(|e| anyhow::anyhow!("usage: autobahn_echo [ADDR:PORT] ({e})"))?;
    anyhow::ensure!(
        addr.ip().is_loopback(),
        "autobahn_echo is a test server: it only listens on loopback, not {addr}"
    );
    let listener = hearth::server::bind(addr)?;
    println!("autobahn_echo listening on ws://{}", listener.local_addr()?);

    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));

    let echo = warp::header::headers_cloned()
        .and(warp::ext::optional::<OnUpgrade>())
        .map(|headers: HeaderMap, on_upgrade: Option<OnUpgrade>| upgrade(&headers, on_upgrade));
    // Loopback only, one connection per case: the caps never bite.
    let options = ServeOptions {
        limits: ConnectionLimits::new(1024, 1024),
        trusted_proxies: TrustedProxies::default(),
        loopback_exempt: true,
        header_timeout: Duration::from_secs(30),
    };
    hearth::server::serve(listener, echo, options, shutdown).await;
    println!("autobahn_echo stopped");
    Ok(())
}

/// Answers the handshake like `src/session/upgrade.rs` and spawns the echo.
fn upgrade(headers: &HeaderMap, on_upgrade: Option<OnUpgrade>) -> Response {
    let key = match websocket_key(headers) {
        Ok(key) => key,
        Err(e) => return e.into_response(),
    };
    let Some(on_upgrade) = on_upgrade else {
        return warp::reply::with_status(
            "this connection cannot be upgraded",
            warp::http::StatusCode::BAD_REQUEST,
        )
        .into_response();
    };
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(e) => return eprintln!("upgrade failed: {e}"),
        };
        let Ok(parts) = upgraded.downcast::<TokioIo<TcpStream>>() else {
            return eprintln!("upgraded connection is not a TCP stream");
        };
        let leftover = parts.read_buf.to_vec();
        drop(parts.read_buf);
        let stream = parts.io.into_inner();
        let ws =
            WebSocketStream::from_partially_read(stream, leftover, Role::Server, Some(config()))
                .await;
        echo(ws).await;
    });
    match switching_protocols(&key, false) {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

/// Hearth's connection config with 16 MiB limits. Its write-buffer cap
/// (64 KiB, sized for Hearth's small tungstenite frames: acks, errors, pings)
/// is raised too, or echoing a binary message over 64 KiB through
/// tungstenite fails with "Write buffer is full".
fn config() -> WebSocketConfig {
    tungstenite_config(MAX_MESSAGE).max_write_buffer_size(2 * MAX_MESSAGE)
}

/// Echoes every message until the connection ends. A protocol error ends it
/// (dropping the socket), as a Hearth session does.
async fn echo(mut ws: WebSocketStream<TcpStream>) {
    // tungstenite may hold an unsent automatic pong: flush it before writing
    // a frame straight to the socket, so the pong is not overtaken.
    let mut pong_queued = false;
    while let Some(message) = ws.next().await {
        let result = match message {
            Ok(Message::Text(text)) => {
                let frame = hearth::protocol::text_frame(&text);
                async {
                    if std::mem::take(&mut pong_queued) {
                        ws.flush().await.map_err(std::io::Error::other)?;
                    }
                    ws.get_mut().write_all(&frame).await
                }
                .await
                .map_err(|e| e.to_string())
            }
            Ok(Message::Binary(data)) => {
                pong_queued = false;
                ws.send(Message::Binary(data))
                    .await
                    .map_err(|e| e.to_string())
            }
            Ok(Message::Ping(_)) => {
                pong_queued = true;
                Ok(())
            }
            // tungstenite queues the close reply; the next read sends it and
            // then ends the stream.
            Ok(Message::Close(_) | Message::Pong(_) | Message::Frame(_)) => Ok(()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = result {
            eprintln!("connection ended: {e}");
            break;
        }
    }
}

/// Cancels `shutdown` on Ctrl-C or SIGTERM.
async fn stop_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    shutdown.cancel();
}
