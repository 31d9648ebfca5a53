//! The HTTP/1 accept loop. warp's own `serve` cannot set `TCP_NODELAY` (small
//! WebSocket frames would wait on Nagle's algorithm) nor a deep listen backlog,
//! and it wraps sockets so upgraded connections cannot get their `TcpStream`
//! back. This loop runs the warp filter as a service on plain hyper, counts
//! every connection against the caps, and refuses the excess with a JSON
//! answer instead of running out of descriptors.

use crate::limits::{AddrKey, ConnectionLimits, ConnectionSlot, Refusal, TrustedProxies};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use warp::Filter;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Reply;

/// The peer address of a request, put in its extensions by the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

/// The connection's place under the caps, put in each request's extensions:
/// an upgraded WebSocket keeps it for as long as the socket lives.
#[derive(Debug, Clone)]
pub struct ConnectionTicket(pub Arc<ConnectionSlot>);

/// Pending connections the kernel queues for us (connect storms of thousands).
const BACKLOG: u32 = 4096;
/// In-flight HTTP requests get this long to finish at shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest pause after a failed accept (out of descriptors, usually).
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// How the accept loop treats connections.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The connection caps.
    pub limits: Arc<ConnectionLimits>,
    /// Proxies whose connections are not counted per address here (their
    /// clients are, at the WebSocket upgrade, by forwarded address).
    pub trusted_proxies: TrustedProxies,
    /// Loopback peers skip the per-address cap.
    pub loopback_exempt: bool,
    /// Deadline for a request's headers.
    pub header_timeout: Duration,
}

/// Binds a listening socket with a deep backlog.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // Restarting on the same port must not wait for TIME_WAIT sockets.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Serves `filter` on `listener` until `shutdown`, then lets in-flight
/// requests finish (upgraded WebSockets are not HTTP connections any more and
/// are closed by their sessions).
pub async fn serve<F>(
    listener: TcpListener,
    filter: F,
    options: ServeOptions,
    shutdown: CancellationToken,
) where
    F: Filter + Clone + Send + Sync + 'static,
    F::Extract: Reply,
{
    let connections = TaskTracker::new();
    let mut backoff = Duration::ZERO;
    let mut last_warning: Option<Instant> = None;
    loop {
        let (stream, addr) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // EMFILE and friends: back off (doubling up to a second)
                    // instead of spinning, and say so once a minute at most.
                    backoff = (backoff * 2).clamp(Duration::from_millis(10), MAX_ACCEPT_BACKOFF);
                    if last_warning.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
                        tracing::warn!(error = %e, "accept failed; backing off");
                        last_warning = Some(Instant::now());
                    }
                    tokio::time::sleep(backoff).await;
                    continue;
                }
            },
        };
        backoff = Duration::ZERO;
        let _ = stream.set_nodelay(true);
        let peer = addr.ip().to_canonical();
        let exempt = (options.loopback_exempt && peer.is_loopback())
            || options.trusted_proxies.contains(peer);
        let admitted = options.limits.accept((!exempt).then(|| AddrKey::of(peer)));
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(options.header_timeout)
            .max_buf_size(64 * 1024);
        let shutdown = shutdown.clone();
        match admitted {
            Ok(slot) => {
                let ticket = ConnectionTicket(Arc::new(slot));
                let service = TowerToHyperService::new(warp::service(filter.clone()));
                let service = hyper::service::service_fn(move |mut req| {
                    req.extensions_mut().insert(ClientAddr(addr));
                    req.extensions_mut().insert(ticket.clone());
                    hyper::service::Service::call(&service, req)
                });
                let conn = builder
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades();
                connections.spawn(async move {
                    tokio::pin!(conn);
                    let result = tokio::select! {
                        r = conn.as_mut() => r,
                        () = shutdown.cancelled() => {
                            conn.as_mut().graceful_shutdown();
                            conn.await
                        }
                    };
                    if let Err(e) = result {
                        tracing::debug!(error = %e, peer = %addr, "HTTP connection ended with an error");
                    }
                });
            }
            Err(refusal) => {
                // Answer the one request with the reason, then close: the
                // client learns why instead of timing out.
                metrics::counter!(crate::telemetry::names::CONNECTIONS_REFUSED).increment(1);
                let service = TowerToHyperService::new(warp::service(refusal_filter(refusal)));
                builder.keep_alive(false);
                let conn = builder.serve_connection(TokioIo::new(stream), service);
                connections.spawn(async move {
                    let _ = conn.await;
                });
            }
        }
    }
    drop(listener);
    connections.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!("some HTTP requests did not finish in time");
    }
}

/// Answers any request with the refusal (503 when full, 429 per address).
fn refusal_filter(
    refusal: Refusal,
) -> impl Filter<Extract = (warp::reply::Response,), Error = std::convert::Infallible> + Clone {
    warp::any().map(move || refusal_response(refusal))
}

/// The JSON answer for a refused connection or upgrade, with `Retry-After`.
pub fn refusal_response(refusal: Refusal) -> warp::reply::Response {
    let status = match refusal {
        Refusal::ServerFull => StatusCode::SERVICE_UNAVAILABLE,
        Refusal::TooManyFromAddress | Refusal::TooManyForUser => StatusCode::TOO_MANY_REQUESTS,
    };
    let body = json!({ "error": { "code": refusal.code(), "message": refusal.message() } });
    let mut res = warp::reply::with_status(warp::reply::json(&body), status).into_response();
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    res
}
