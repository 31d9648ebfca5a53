//! Sending messages: validation, the per-user rate limit and the store, shared
//! by the REST API and the WebSocket sessions.

use crate::auth::AuthUser;
use crate::config::ConversationSettings;
use crate::conversation::resolve_mentions;
use crate::domain::{ClientId, MessageBody, ValidationError};
use crate::limits::SendLimiter;
use crate::store::files::MAX_FILES_PER_MESSAGE;
use crate::store::{LOBBY_ID, LOBBY_NAME, NewMessage, Store, StoreError, Stored, UserRef};
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
    /// No such room, or the sender may not know it exists.
    #[error("房间不存在 (no such room)")]
    NotFound,
    /// The room is archived: read-only.
    #[error("房间已归档，只读 (the room is archived)")]
    Archived,
    /// Not allowed (e.g. not a member of an open room).
    #[error("{0}")]
    Forbidden(&'static str),
    /// Over the send rate; retry after the duration.
    #[error("发送太快，请稍后再试 (sending too fast)")]
    RateLimited(Duration),
    /// A limit of the server (the edit window, reactions per message).
    #[error("{message}")]
    Limit {
        /// The machine code.
        code: &'static str,
        /// For people.
        message: &'static str,
    },
    /// The store failed; the same client id may be retried.
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
}

impl ChatError {
    /// A store refusal as the refusal of a request; faults stay faults.
    pub fn from_store(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            StoreError::Archived => Self::Archived,
            StoreError::Forbidden(why) => Self::Forbidden(why),
            StoreError::Limit { code, message } => Self::Limit { code, message },
            other => Self::Store(other),
        }
    }

    /// The code clients see for a refusal (faults: `internal`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidContent(_) => "invalid_content",
            Self::BadRequest(_) => "bad_request",
            Self::NotFound => "not_found",
            Self::Archived => "archived",
            Self::Forbidden(_) => "forbidden",
            Self::RateLimited(_) => "rate_limited",
            Self::Limit { code, .. } => code,
            Self::Store(_) => "internal",
        }
    }
}

/// Where a message goes: a room id (v2), or a room name (v1: only the lobby).
#[derive(Debug, Clone, Copy)]
pub enum RoomTarget<'a> {
    /// A room by id.
    Id(i64),
    /// A room by name; the lobby when absent.
    Name(Option<&'a str>),
}

/// The one way messages get stored.
pub struct ChatService {
    store: Store,
    limiter: SendLimiter,
    settings: ConversationSettings,
}

impl ChatService {
    /// A service over `store` with `limiter` shared by all transports.
    pub fn new(store: Store, limiter: SendLimiter, settings: ConversationSettings) -> Self {
        Self {
            store,
            limiter,
            settings,
        }
    }

    /// Validates, rate-limits and stores a message; returns once committed.
    /// The room must be one the user may post to (the store decides, in the
    /// same transaction as the insert); `client_id` is generated when absent.
    pub async fn send(
        &self,
        user: &AuthUser,
        room: RoomTarget<'_>,
        content: &str,
        client_id: Option<&str>,
        reply_to: Option<i64>,
        files: &[i64],
    ) -> Result<Stored, ChatError> {
        let files = file_ids(files)?;
        let body = if files.is_empty() {
            MessageBody::parse(content)
        } else {
            MessageBody::caption(content)
        }
        .map_err(ChatError::InvalidContent)?;
        let client_id = match client_id {
            Some(raw) => ClientId::parse(raw).map_err(ChatError::BadRequest)?,
            None => ClientId::generate(),
        };
        let room_id = match room {
            RoomTarget::Id(id) => id,
            RoomTarget::Name(None) => LOBBY_ID,
            RoomTarget::Name(Some(name)) if name == LOBBY_NAME => LOBBY_ID,
            RoomTarget::Name(Some(name)) => {
                return Err(ChatError::BadRequest(ValidationError(format!(
                    "unknown room {name:?}: send room_id for rooms other than the lobby"
                ))));
            }
        };
        if let Err(wait) = self.limiter.check(&user.id) {
            metrics::counter!(names::RATE_LIMITED).increment(1);
            return Err(ChatError::RateLimited(wait));
        }
        // In a cluster the user's sends on every node share one bucket
        // (boxed, so the single-node path's future stays small).
        if let Some(pg) = self.store.cluster() {
            let key = format!("send:{}", user.id);
            let (interval, burst) = (self.limiter.interval(), self.limiter.burst());
            match Box::pin(pg.take_token(&key, interval, burst)).await {
                Ok(Ok(())) => {}
                Ok(Err(wait)) => {
                    metrics::counter!(names::RATE_LIMITED).increment(1);
                    return Err(ChatError::RateLimited(wait));
                }
                Err(e) => return Err(ChatError::Store(e)),
            }
        }
        let sender = UserRef {
            id: user.id,
            username: user.username.to_string(),
        };
        let mentions = resolve_mentions(&self.store, &self.settings, room_id, user.id, &body)
            .await
            .map_err(ChatError::from_store)?;
        let message = NewMessage {
            room_id,
            sender,
            body,
            client_id,
            reply_to,
            mentions,
            files,
        };
        self.store
            .insert_message(message)
            .await
            .map_err(ChatError::from_store)
    }

    /// Frees rate-limit state of idle users.
    pub fn sweep(&self) {
        self.limiter.sweep();
    }
}

/// The files of a send: each once, in the order given, at most
/// [`MAX_FILES_PER_MESSAGE`].
fn file_ids(ids: &[i64]) -> Result<Vec<i64>, ChatError> {
    let mut out: Vec<i64> = Vec::with_capacity(ids.len());
    for id in ids {
        if !out.contains(id) {
            out.push(*id);
        }
    }
    if out.len() > MAX_FILES_PER_MESSAGE {
        return Err(ChatError::BadRequest(ValidationError(format!(
            "a message carries at most {MAX_FILES_PER_MESSAGE} files"
        ))));
    }
    Ok(out)
}
