//! One task per WebSocket connection. It `select!`s over socket reads, the
//! room broadcast, the ping timer, the token expiry and the shutdown token.
//! Frames queued on the broadcast are written together and flushed once. A
//! connection that lags behind the broadcast is resynced from the store, so
//! it never silently loses a message.

mod origin;
pub mod registry;
pub mod upgrade;
mod write;

use crate::app::AppState;
use crate::auth::AuthUser;
use crate::chat::ChatError;
use crate::hub::{Event, PRESENCE_LIST_CAP, Presence};
use crate::limits::ConnectionSlot;
use crate::protocol::{ClientFrame, OnlineUser, ServerFrame, close};
use crate::server::ConnectionTicket;
use crate::store::{LOBBY, StoreError};
use crate::telemetry::names;
use futures_util::{SinkExt, StreamExt};
use registry::Registration;
use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpStream;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use write::Batch;

/// The socket type of an upgraded connection.
pub type Socket = WebSocketStream<TcpStream>;

/// Broadcast frames written before one flush.
const MAX_BATCH: usize = 256;
/// Messages read from the store per catch-up page.
const CATCH_UP_PAGE: usize = 256;
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
    /// Id of the newest message written to this client.
    last_sent: i64,
    strikes: WindowCounter,
    /// tungstenite may hold an unsent automatic pong: flush it before
    /// writing frames straight to the socket.
    pong_queued: bool,
}

/// Serves one upgraded connection until it ends.
pub async fn run(ws: Socket, state: Arc<AppState>, user: AuthUser, after: Option<i64>, held: Held) {
    state.stats.opened();
    let _online = Presence::join(&state.hub, user.id, &user.username);
    // Subscribe before anything is read, so nothing published from now on is missed.
    let (rx, head) = state.hub.subscribe();
    let (after, reset) = match after {
        Some(after) if beyond_head(&state, after, head).await => (None, true),
        other => (other, false),
    };
    let mut session = Session {
        ws,
        state,
        user,
        held,
        last_sent: after.unwrap_or(head),
        strikes: WindowCounter::new(),
        pong_queued: false,
    };
    let end = session.serve(rx, head, after.is_some(), reset).await;
    session.finish(end).await;
    session.state.stats.closed();
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
            online: self.state.hub.presence().snapshot(PRESENCE_LIST_CAP),
            last_id: head,
            reset,
        }
        .to_ws_frame();
        let mut batch = Batch::default();
        batch.push(hello);
        if let Err(end) = self.write_batch(&batch).await {
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
                    Ok(event) => self.forward(event, &mut rx).await,
                    Err(RecvError::Lagged(_)) => Box::pin(self.resync()).await,
                    Err(RecvError::Closed) => Err(End::Close(close::GOING_AWAY, Cow::Borrowed("server shutting down"))),
                },
            };
            if let Err(end) = step {
                return end;
            }
        }
    }

    /// Writes `first` and whatever else is queued with one system call.
    async fn forward(
        &mut self,
        first: Event,
        rx: &mut broadcast::Receiver<Event>,
    ) -> Result<(), End> {
        let mut batch = Batch::default();
        let mut lagged = false;
        let mut delivered = 0u64;
        let mut next = Some(first);
        while let Some(event) = next.take() {
            if event.id == 0 || event.id > self.last_sent {
                if event.id != 0 {
                    self.last_sent = event.id;
                    delivered += 1;
                }
                batch.push(event.frame);
            }
            // Only look for more when a newer message was published: an
            // empty try_recv costs a lock on the channel.
            if batch.len() < MAX_BATCH && self.state.hub.head() > self.last_sent {
                match rx.try_recv() {
                    Ok(e) => next = Some(e),
                    Err(TryRecvError::Lagged(_)) => lagged = true,
                    Err(_) => {}
                }
            }
        }
        self.write_batch(&batch).await?;
        self.state.stats.delivered(delivered);
        if lagged {
            Box::pin(self.resync()).await
        } else {
            Ok(())
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

    /// The broadcast moved past this client: send what it missed from the store.
    async fn resync(&mut self) -> Result<(), End> {
        metrics::counter!(names::RESYNCS).increment(1);
        tracing::debug!(user = %self.user.username, last = self.last_sent, "resyncing a lagging connection");
        self.catch_up().await?;
        // Presence frames may have been skipped too: send the current state.
        let online = self.state.hub.presence().snapshot(PRESENCE_LIST_CAP);
        let frame = ServerFrame::Presence {
            count: online.count,
            users: Some(&online.users),
            joined: &[],
            left: &[],
        };
        let mut batch = Batch::default();
        batch.push(frame.to_ws_frame());
        self.write_batch(&batch).await
    }

    /// Sends every message after `last_sent`, page by page: from the hub's
    /// cache of recent frames when it reaches back far enough (no encoding,
    /// no database), else from the store.
    async fn catch_up(&mut self) -> Result<(), End> {
        loop {
            let mut batch = Batch::default();
            let (count, more) =
                if let Some(events) = self.state.hub.recent_after(self.last_sent, CATCH_UP_PAGE) {
                    let count = events.len();
                    if let Some(last) = events.last() {
                        self.last_sent = last.id;
                    }
                    for event in events {
                        batch.push(event.frame);
                    }
                    (count, count == CATCH_UP_PAGE)
                } else {
                    // Pages from the store come out of the user's read budget:
                    // paced, not refused, since the server owes them.
                    self.state.reads.wait(&self.user.id).await;
                    let page = match self
                        .state
                        .store
                        .reader()
                        .after(LOBBY, self.last_sent, CATCH_UP_PAGE)
                        .await
                    {
                        Ok(page) => page,
                        Err(e) => {
                            // Without the store this client cannot be caught up
                            // here; it can on a fresh connection, by resuming.
                            tracing::error!(error = %e, "catch-up read failed");
                            metrics::counter!(names::SLOW_CLOSES).increment(1);
                            return Err(End::Close(
                                close::TOO_SLOW,
                                Cow::Borrowed("cannot catch up: reconnect and resume"),
                            ));
                        }
                    };
                    for message in &page.messages {
                        batch.push(ServerFrame::Message { message }.to_ws_frame());
                    }
                    if let Some(last) = page.messages.last() {
                        self.last_sent = last.id;
                    }
                    (page.messages.len(), page.has_more)
                };
            self.write_batch(&batch).await?;
            self.state.stats.delivered(count as u64);
            if !more {
                return Ok(());
            }
        }
    }

    async fn on_frame(&mut self, frame: WsMessage) -> Result<(), End> {
        match frame {
            WsMessage::Text(text) => self.on_text(text.as_str()).await,
            WsMessage::Binary(_) => {
                self.send_error(
                    "bad_request",
                    "binary frames are not supported: send JSON text",
                    None,
                )
                .await
            }
            WsMessage::Close(_) => Err(End::Gone),
            // tungstenite answers pings itself; any frame already reset the idle timer.
            WsMessage::Ping(_) => {
                self.pong_queued = true;
                Ok(())
            }
            WsMessage::Pong(_) | WsMessage::Frame(_) => Ok(()),
        }
    }

    async fn on_text(&mut self, text: &str) -> Result<(), End> {
        let frame = match serde_json::from_str::<ClientFrame>(text) {
            Ok(frame) => frame,
            Err(e) => {
                let client_id = serde_json::from_str::<serde_json::Value>(text)
                    .ok()
                    .and_then(|v| v.get("client_id")?.as_str().map(str::to_owned));
                let message = format!("invalid frame: {e}");
                return self
                    .send_error("bad_request", &message, client_id.as_deref())
                    .await;
            }
        };
        match frame {
            ClientFrame::Ping => {
                self.send_now(WsMessage::Text(ServerFrame::Pong.to_json().into()))
                    .await
            }
            ClientFrame::Sync { after } => Box::pin(self.on_sync(after)).await,
            ClientFrame::Message {
                content,
                client_id,
                room,
            } => {
                let Some(client_id) = client_id else {
                    return self
                        .send_error("bad_request", "client_id is required", None)
                        .await;
                };
                self.on_send(&content, &client_id, room.as_deref()).await
            }
        }
    }

    async fn on_send(
        &mut self,
        content: &str,
        client_id: &str,
        room: Option<&str>,
    ) -> Result<(), End> {
        let result = self
            .state
            .chat
            .send(&self.user, room, content, Some(client_id))
            .await;
        match result {
            Ok(stored) => {
                self.send_now(WsMessage::Text(ServerFrame::ack(&stored).to_json().into()))
                    .await
            }
            Err(ChatError::InvalidContent(e)) => {
                self.send_error("invalid_content", &e.0, Some(client_id))
                    .await
            }
            Err(ChatError::BadRequest(e)) => {
                self.send_error("bad_request", &e.0, Some(client_id)).await
            }
            Err(ChatError::RateLimited(wait)) => {
                if self.strikes.hit(ABUSE_WINDOW, MAX_STRIKES) {
                    return Err(End::Close(close::ABUSE, Cow::Borrowed("rate limit abused")));
                }
                let frame = ServerFrame::Error {
                    code: "rate_limited",
                    message: &ChatError::RateLimited(wait).to_string(),
                    client_id: Some(client_id),
                    retry_after_ms: Some(
                        u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1),
                    ),
                };
                self.send_now(WsMessage::Text(frame.to_json().into())).await
            }
            Err(ChatError::Store(e)) => {
                // The writer logs database faults (rate-limited); log the rest.
                if !matches!(e, StoreError::Unavailable(_)) {
                    tracing::error!(error = %e, "message insert failed");
                }
                let frame = ServerFrame::Error {
                    code: "internal",
                    message: "could not store the message now: retry with the same client_id",
                    client_id: Some(client_id),
                    retry_after_ms: Some(1000),
                };
                self.send_now(WsMessage::Text(frame.to_json().into())).await
            }
        }
    }

    /// `{"type":"sync","after":N}`: a heavy read, charged to the user's
    /// budget. A cursor above the newest message is answered with `reset`.
    async fn on_sync(&mut self, after: i64) -> Result<(), End> {
        if let Err(wait) = self.state.reads.check(&self.user.id) {
            metrics::counter!(names::READS_LIMITED).increment(1);
            let frame = ServerFrame::Error {
                code: "rate_limited",
                message: "读取过于频繁，请稍后再试 (too many reads, retry later)",
                client_id: None,
                retry_after_ms: Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1)),
            };
            return self.send_now(WsMessage::Text(frame.to_json().into())).await;
        }
        let after = after.max(0);
        let head = self.state.hub.head();
        if beyond_head(&self.state, after, head).await {
            let frame = ServerFrame::Reset { last_id: head };
            return self.send_now(WsMessage::Text(frame.to_json().into())).await;
        }
        self.last_sent = after;
        self.catch_up().await
    }

    async fn send_error(
        &mut self,
        code: &str,
        message: &str,
        client_id: Option<&str>,
    ) -> Result<(), End> {
        let frame = ServerFrame::Error {
            code,
            message,
            client_id,
            retry_after_ms: None,
        };
        self.send_now(WsMessage::Text(frame.to_json().into())).await
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

    /// On shutdown: write what was already published, then close with 1001.
    async fn drain_for_shutdown(&mut self, rx: &mut broadcast::Receiver<Event>) -> End {
        loop {
            match rx.try_recv() {
                Ok(event) => {
                    if let Err(end) = self.forward(event, rx).await {
                        return end;
                    }
                }
                Err(TryRecvError::Lagged(_)) => {
                    if let Err(end) = self.catch_up().await {
                        return end;
                    }
                }
                Err(_) => {
                    return End::Close(close::GOING_AWAY, Cow::Borrowed("server shutting down"));
                }
            }
        }
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

/// Whether a client's cursor lies above every stored message: it comes from
/// another timeline (a restored backup, a rolled-back database). The hub's
/// head can trail a commit by a moment, so the store has the last word.
async fn beyond_head(state: &AppState, after: i64, hub_head: i64) -> bool {
    if after <= hub_head {
        return false;
    }
    match state.store.reader().head(LOBBY).await {
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
