//! Sending messages: validation, the per-user rate limit and the store, shared
//! by the REST API and the WebSocket sessions.

use crate::auth::AuthUser;
use crate::domain::{ClientId, MessageBody, ValidationError};
use crate::limits::SendLimiter;
use crate::store::{RoomRef, Store, StoreError, Stored};
use crate::telemetry::names;
use std::time::Duration;

/// Why a send was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// The content is empty, too long or has control characters.
    #[error(transparent)]
    InvalidContent(ValidationError),
    /// Another field (client id, room) is invalid.
    #[error(transparent)]
    BadRequest(ValidationError),
    /// Over the send rate; retry after the duration.
    #[error("发送太快，请稍后再试 (sending too fast)")]
    RateLimited(Duration),
    /// The store failed; the same client id may be retried.
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
}

/// The one way messages get stored.
pub struct ChatService {
    store: Store,
    limiter: SendLimiter,
}

impl ChatService {
    /// A service over `store` with `limiter` shared by all transports.
    pub fn new(store: Store, limiter: SendLimiter) -> Self {
        Self { store, limiter }
    }

    /// Validates, rate-limits and stores a message; returns once committed.
    /// `room` defaults to the lobby; `client_id` is generated when absent.
    pub async fn send(
        &self,
        user: &AuthUser,
        room: Option<&str>,
        content: &str,
        client_id: Option<&str>,
    ) -> Result<Stored, ChatError> {
        let body = MessageBody::parse(content).map_err(ChatError::InvalidContent)?;
        let client_id = match client_id {
            Some(raw) => ClientId::parse(raw).map_err(ChatError::BadRequest)?,
            None => ClientId::generate(),
        };
        let room = match room {
            None => crate::store::LOBBY,
            Some(name) => RoomRef::by_name(name).ok_or_else(|| {
                ChatError::BadRequest(ValidationError(format!("unknown room {name:?}")))
            })?,
        };
        if let Err(wait) = self.limiter.check(&user.id) {
            metrics::counter!(names::RATE_LIMITED).increment(1);
            return Err(ChatError::RateLimited(wait));
        }
        Ok(self
            .store
            .insert_message(room, user.id, &user.username, body, client_id)
            .await?)
    }

    /// Frees rate-limit state of idle users.
    pub fn sweep(&self) {
        self.limiter.sweep();
    }
}
