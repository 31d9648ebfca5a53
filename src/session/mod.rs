//! One task per WebSocket connection. It `select!`s over socket reads, the
//! broadcast (lobby and everyone's events), its own queue (v2: the user's
//! other rooms), the ping timer, the token expiry and its stop token (shutdown
//! or sign-out). Frames are written together and flushed once. A connection
//! that lags behind is resynced from the store, so it never silently loses an
//! event. v1 connections (the seed's protocol) see the lobby only.

mod client;
mod stream;
mod write;

use crate::auth::AuthUser;
use crate::hub::Registration;
use crate::hub::{Event, Presence, QueueGuard, SessionQueue};
use crate::limits::ConnectionSlot;
use crate::protocol::{OnlineUser, ServerFrame, close};
use crate::server::ConnectionTicket;
use crate::state::AppState;
use crate::telemetry::names;
use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpStream;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use warp::hyper::upgrade::OnUpgrade;
use write::Batch;

/// The socket type of an upgraded connection.
pub type Socket = WebSocketStream<TcpStream>;

/// Rate-limited sends tolerated in [`ABUSE_WINDOW`] before closing with 4029.
const MAX_STRIKES: u32 = 30;
const ABUSE_WINDOW: Duration = Duration::from_secs(10);
/// How long a closing handshake may take before the socket is just dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// What a session holds for as long as it lives: its place among the
/// account's sessions and its connection slots under the caps.
pub struct Held {
    /// Place in the session registry (its token stops the session).
    pub registration: Registration,
    /// The WebSocket's slot under the connection cap.
    pub websocket: ConnectionSlot,
    /// The TCP connection's slot, taken over from the HTTP connection.
    pub tcp: Option<ConnectionTicket>,
}

/// How a session ends.
enum End {
    /// The peer closed or the socket failed.
    Gone,
    /// Close with this code and reason.
    Close(u16, Cow<'static, str>),
    /// The socket is stuck: drop it without a closing handshake.
    Stuck,
}

/// Counts events in a fixed window.
struct WindowCounter {
    start: Instant,
    count: u32,
}

impl WindowCounter {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            count: 0,
        }
    }

    /// Counts one event; true when more than `max` fell in the current window.
    fn hit(&mut self, window: Duration, max: u32) -> bool {
        if self.start.elapsed() > window {
            *self = Self::new();
        }
        self.count += 1;
        self.count > max
    }
}

struct Session {
    ws: Socket,
    state: Arc<AppState>,
    user: AuthUser,
    held: Held,
    /// v2: the queue of the user's other rooms (`None` for v1).
    own: Option<QueueGuard>,
    /// v2: events received but not yet deliverable in order.
    pending: Vec<Event>,
    /// Seq of the newest event written to this client.
    last_sent: i64,
    strikes: WindowCounter,
    /// tungstenite may hold an unsent automatic pong: flush it before
    /// writing frames straight to the socket.
    pong_queued: bool,
}

/// The two stream versions a connection can speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// The seed's protocol: lobby messages and presence only.
    V1,
    /// Rooms: every event of the user's rooms, with `seq`.
    V2,
}

/// Starts the session of an accepted upgrade (the 101 is being answered):
/// waits for the upgraded connection, then serves it in a task of its own.
pub fn start(
    state: &Arc<AppState>,
    on_upgrade: OnUpgrade,
    user: AuthUser,
    after: Option<i64>,
    version: Version,
    held: Held,
) {
    let config = socket_config(state.config.ws.max_frame);
    let session_state = state.clone();
    state.sessions.spawn(async move {
        match on_upgrade.await {
            // Our accept loop serves plain TCP streams, so this downcast holds;
            // it frees the boxed IO wrapper and its buffer for the socket's life.
            Ok(upgraded) => match upgraded.downcast::<TokioIo<TcpStream>>() {
                Ok(parts) => {
                    // Copy out the (usually empty) leftover bytes: the Bytes
                    // slice would keep hyper's whole read buffer alive.
                    let leftover = parts.read_buf.to_vec();
                    drop(parts.read_buf);
                    let stream = parts.io.into_inner();
                    let ws = WebSocketStream::from_partially_read(
                        stream,
                        leftover,
                        Role::Server,
                        Some(config),
                    )
                    .await;
                    // A task of its own: this upgrade future is large and
                    // would otherwise stay allocated for the socket's life.
                    let sessions = session_state.sessions.clone();
                    sessions.spawn(run(ws, session_state, user, after, version, held));
                }
                Err(_) => tracing::error!("upgraded connection is not a TCP stream"),
            },
            Err(e) => tracing::debug!(error = %e, "WebSocket upgrade failed"),
        }
    });
}

/// Buffer sizes and limits of one connection.
pub fn socket_config(max_frame: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        // Allocated up front for every connection: 1 KiB instead of 4 KiB
        // saves ~3 KiB of RSS per idle socket (measured with hearth-bench).
        // Larger frames (up to max_frame) still fit: the codec grows the
        // buffer to the frame's length while reading it.
        .read_buffer_size(1024)
        // Frames are written to the socket once this much is buffered, so the
        // write buffer stays small even during a large catch-up.
        .write_buffer_size(4 * 1024)
        .max_write_buffer_size(64 * 1024)
        .max_message_size(Some(max_frame))
        .max_frame_size(Some(max_frame))
}

/// Serves one upgraded connection until it ends.
async fn run(
    ws: Socket,
    state: Arc<AppState>,
    user: AuthUser,
    after: Option<i64>,
    version: Version,
    held: Held,
) {
    state.stats.opened();
    let _online = Presence::join(&state.hub, user.id, &user.username);
    // Subscribe before anything is read, so nothing published from now on is missed.
    let (rx, own, head) = match version {
        Version::V1 => {
            let (rx, head) = state.hub.subscribe();
            (rx, None, head)
        }
        Version::V2 => {
            let sub = state.hub.subscribe_stream(user.id);
            (sub.everyone, Some(sub.own), sub.head)
        }
    };
    let (after, reset) = match after {
        Some(after) if beyond_head(&state, after, head).await => (None, true),
        other => (other, false),
    };
    let mut session = Session {
        ws,
        state,
        user,
        held,
        own,
        pending: Vec::new(),
        last_sent: after.unwrap_or(head),
        strikes: WindowCounter::new(),
        pong_queued: false,
    };
    let end = session.serve(rx, head, after.is_some(), reset).await;
    session.finish(end).await;
    session.state.stats.closed();
}

/// Waits for the session's own queue (never, for v1 sessions).
async fn queue_ready(queue: Option<&SessionQueue>) {
    match queue {
        Some(queue) => queue.ready().await,
        None => std::future::pending().await,
    }
}

impl Session {
    async fn serve(
        &mut self,
        mut rx: broadcast::Receiver<Event>,
        head: i64,
        resume: bool,
        reset: bool,
    ) -> End {
        let hello = ServerFrame::Hello {
            user: OnlineUser {
                id: self.user.id,
                username: self.user.username.to_string(),
            },
            epoch: self.state.store.epoch(),
            online: &self.state.hub.presence().hello_json(),
            last_id: head,
            reset,
            v: self.own.as_ref().map(|_| 2),
        }
        .to_ws_frame();
        let mut batch = Batch::default();
        batch.push(hello);
        let written = self.write_batch(&batch).await;
        // Not kept for the connection's life: the hello lists up to 200
        // online users (about 6 KB per idle socket).
        drop(batch);
        if let Err(end) = written {
            return end;
        }
        if resume && let Err(end) = Box::pin(self.catch_up()).await {
            return end;
        }
        let settings = self.state.config.ws;
        // Cancelled on shutdown and when this session's token is revoked.
        let stop = self.held.registration.stop.clone();
        // One timer for the ping, the read deadline and the token expiry:
        // each wake-up polls one timer instead of three, and a frame from the
        // client only stamps `last_seen` instead of moving a timer.
        let start = Instant::now();
        let expires_at = start + until_unix(self.user.expires_at);
        let mut last_seen = start;
        let mut next_ping = start + settings.ping_interval;
        let next = |last_seen: Instant, next_ping: Instant| {
            next_ping
                .min(last_seen + settings.idle_timeout)
                .min(expires_at)
        };
        let timer = tokio::time::sleep_until(next(last_seen, next_ping).into());
        tokio::pin!(timer);
        // Registered once: a fresh `cancelled()` per wake-up would lock the
        // token's waiter list twice per frame in every session.
        let cancelled = stop.cancelled();
        tokio::pin!(cancelled);
        let queue = self.own.as_ref().map(|own| own.queue.clone());
        loop {
            let step = tokio::select! {
                biased;
                () = &mut cancelled => {
                    if !self.state.shutdown.is_cancelled() {
                        return End::Close(close::UNAUTHORIZED, Cow::Borrowed("signed out"));
                    }
                    return Box::pin(self.drain_for_shutdown(&mut rx)).await;
                }
                () = &mut timer => {
                    let now = Instant::now();
                    if now >= expires_at {
                        return End::Close(close::UNAUTHORIZED, Cow::Borrowed("token expired"));
                    }
                    // Checked at each ping: a reset password ends its sessions
                    // within one ping interval.
                    if self.state.auth.is_revoked(&self.user) {
                        return End::Close(close::UNAUTHORIZED, Cow::Borrowed("signed out: password changed"));
                    }
                    if now >= last_seen + settings.idle_timeout {
                        return End::Close(close::GOING_AWAY, Cow::Borrowed("no heartbeat"));
                    }
                    let pinged = if now >= next_ping {
                        next_ping = now + settings.ping_interval;
                        self.send_now(WsMessage::Ping(Default::default())).await
                    } else {
                        Ok(())
                    };
                    timer.as_mut().reset(next(last_seen, next_ping).into());
                    pinged
                }
                incoming = self.ws.next() => {
                    last_seen = Instant::now();
                    match incoming {
                        // Boxed: clients send rarely, and the send path's
                        // futures would otherwise enlarge every idle session.
                        Some(Ok(frame)) => Box::pin(self.on_frame(frame)).await,
                        Some(Err(WsError::Capacity(_))) => Err(End::Close(
                            close::TOO_LARGE,
                            Cow::Owned(format!("frame too large (max {} bytes)", settings.max_frame)),
                        )),
                        Some(Err(_)) | None => Err(End::Gone),
                    }
                }
                event = rx.recv() => match event {
                    Ok(event) => self.forward(Some(event), &mut rx).await,
                    Err(RecvError::Lagged(_)) => Box::pin(self.resync()).await,
                    Err(RecvError::Closed) => Err(End::Close(close::GOING_AWAY, Cow::Borrowed("server shutting down"))),
                },
                () = queue_ready(queue.as_deref()) => self.forward(None, &mut rx).await,
            };
            if let Err(end) = step {
                return end;
            }
        }
    }

    /// Writes pre-built frames within the write deadline. Whatever tungstenite
    /// may still buffer (an automatic pong) goes first, so frames never
    /// interleave.
    async fn write_batch(&mut self, batch: &Batch) -> Result<(), End> {
        // Frames sent through tungstenite (acks, errors, pings) are always
        // flushed whole; only an automatic pong can be left in its buffer.
        let flush_first = std::mem::take(&mut self.pong_queued);
        let written = tokio::time::timeout(self.state.config.ws.write_timeout, async {
            if flush_first {
                self.ws.flush().await.map_err(std::io::Error::other)?;
            }
            batch.write_to(self.ws.get_mut()).await
        })
        .await;
        match written {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::Gone),
            Err(_) => Err(self.stuck()),
        }
    }

    /// Writes and flushes one frame within the write deadline.
    async fn send_now(&mut self, frame: WsMessage) -> Result<(), End> {
        match tokio::time::timeout(self.state.config.ws.write_timeout, self.ws.send(frame)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::Gone),
            Err(_) => Err(self.stuck()),
        }
    }

    fn stuck(&self) -> End {
        metrics::counter!(names::SLOW_CLOSES).increment(1);
        tracing::info!(user = %self.user.username, "dropping a connection whose writes are blocked");
        End::Stuck
    }

    async fn finish(&mut self, end: End) {
        let frame = match end {
            End::Stuck => return,
            End::Gone => None,
            End::Close(code, reason) => Some(CloseFrame {
                code: code.into(),
                reason: match reason {
                    Cow::Borrowed(s) => s.into(),
                    Cow::Owned(s) => s.into(),
                },
            }),
        };
        let ours = frame.is_some();
        // Send our close frame (or answer the client's), then, when we started
        // the close, read until the client answers: closing a socket with
        // unread input makes the kernel send a reset, which can destroy the
        // close frame before the client reads it.
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
            if self.ws.close(frame).await.is_ok() && ours {
                while let Some(Ok(_)) = self.ws.next().await {}
            }
        })
        .await;
    }
}

/// Whether a client's cursor lies above every stored event: it comes from
/// another timeline (a restored backup, a rolled-back database). The hub's
/// head can trail a commit by a moment, so the store has the last word.
async fn beyond_head(state: &AppState, after: i64, hub_head: i64) -> bool {
    if after <= hub_head {
        return false;
    }
    match state.store.head_seq().await {
        Ok(head) => after > head,
        // Unknown: keep the cursor (a reset needs proof); its catch-up will
        // fail the same way and close the socket for a retry.
        Err(_) => false,
    }
}

/// Time from now until a Unix timestamp in seconds (zero if past).
fn until_unix(secs: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Duration::from_secs(secs).saturating_sub(now)
}
