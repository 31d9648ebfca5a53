//! What a client sends over its WebSocket: messages, read positions, sync
//! requests and pings, each answered with an ack, an error or a pong.

use super::{ABUSE_WINDOW, End, MAX_STRIKES, Session, beyond_head};
use crate::chat::{ChatError, RoomTarget};
use crate::protocol::{ClientFrame, ServerFrame, close};
use crate::store::StoreError;
use crate::telemetry::names;
use std::borrow::Cow;
use tokio_tungstenite::tungstenite::Message as WsMessage;

impl Session {
    pub(super) async fn on_frame(&mut self, frame: WsMessage) -> Result<(), End> {
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
                room_id,
                reply_to,
                files,
            } => {
                let Some(client_id) = client_id else {
                    return self
                        .send_error("bad_request", "client_id is required", None)
                        .await;
                };
                let target = match room_id {
                    Some(id) => RoomTarget::Id(id),
                    None => RoomTarget::Name(room.as_deref()),
                };
                self.on_send(&content, &client_id, target, reply_to, &files)
                    .await
            }
            ClientFrame::Edit {
                message_id,
                content,
                client_id,
            } => {
                let done = self
                    .state
                    .conversation
                    .edit(&self.user, message_id, &content)
                    .await;
                self.on_done(done, client_id.as_deref()).await
            }
            ClientFrame::Delete {
                message_id,
                client_id,
            } => {
                let done = self.state.conversation.delete(&self.user, message_id).await;
                self.on_done(done, client_id.as_deref()).await
            }
            ClientFrame::React {
                message_id,
                emoji,
                on,
                client_id,
            } => {
                let done = self
                    .state
                    .conversation
                    .react(&self.user, message_id, &emoji, on)
                    .await;
                self.on_done(done, client_id.as_deref()).await
            }
            ClientFrame::Typing { room_id } => {
                match self.state.conversation.typing(&self.user, room_id).await {
                    Ok(()) => Ok(()),
                    Err(ChatError::RateLimited(_)) => {
                        self.send_error(
                            "typing_too_fast",
                            "typing is sent at most once a second per room",
                            None,
                        )
                        .await
                    }
                    Err(e) => self.send_error(e.code(), &e.to_string(), None).await,
                }
            }
            ClientFrame::Read {
                room_id,
                last_read_id,
            } => Box::pin(self.on_read(room_id, last_read_id)).await,
        }
    }

    /// Answers an edit, deletion or reaction: `done` (when the client gave
    /// a key) or a typed `error`.
    async fn on_done(
        &mut self,
        done: Result<crate::store::MessageDone, ChatError>,
        client_id: Option<&str>,
    ) -> Result<(), End> {
        match done {
            Ok(done) => match client_id {
                Some(client_id) => {
                    let frame = ServerFrame::Done {
                        client_id,
                        seq: done.seq(),
                    };
                    self.send_now(WsMessage::Text(frame.to_json().into())).await
                }
                None => Ok(()),
            },
            Err(ChatError::Store(e)) => {
                if !matches!(e, StoreError::Unavailable(_)) {
                    tracing::error!(error = %e, "message change failed");
                }
                self.send_error(
                    "internal",
                    "could not store the change now: retry",
                    client_id,
                )
                .await
            }
            Err(e) => {
                let message = e.to_string();
                self.send_error(e.code(), &message, client_id).await
            }
        }
    }

    async fn on_send(
        &mut self,
        content: &str,
        client_id: &str,
        room: RoomTarget<'_>,
        reply_to: Option<i64>,
        files: &[i64],
    ) -> Result<(), End> {
        let result = self
            .state
            .chat
            .send(&self.user, room, content, Some(client_id), reply_to, files)
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
            Err(
                e @ (ChatError::NotFound
                | ChatError::Archived
                | ChatError::Forbidden(_)
                | ChatError::Limit { .. }),
            ) => {
                self.send_error(e.code(), &e.to_string(), Some(client_id))
                    .await
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

    /// `{"type":"read","room_id":R,"last_read_id":M}`: moves the read
    /// position (every connection of the user then gets a `read` event).
    async fn on_read(&mut self, room_id: i64, last_read_id: i64) -> Result<(), End> {
        match self
            .state
            .rooms
            .mark_read(&self.user, room_id, last_read_id)
            .await
        {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => {
                self.send_error("not_found", "房间不存在 (no such room)", None)
                    .await
            }
            Err(StoreError::Forbidden(why)) => self.send_error("forbidden", why, None).await,
            Err(e) => {
                if !matches!(e, StoreError::Unavailable(_)) {
                    tracing::error!(error = %e, "read position not stored");
                }
                self.send_error("internal", "could not store the read position now", None)
                    .await
            }
        }
    }

    pub(super) async fn send_error(
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
}
