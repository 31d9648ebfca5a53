//! Edits, deletions, reactions, typing and mentions as a service, shared by
//! the REST API and the WebSocket sessions. Access is decided by the store,
//! inside the transaction of each change, with the one room-access rule.

use crate::auth::AuthUser;
use crate::chat::ChatError;
use crate::config::ConversationSettings;
use crate::domain::{Emoji, MessageBody, mention};
use crate::hub::Hub;
use crate::limits::KeyedRate;
use crate::store::{LOBBY_ID, Mentions, MessageDone, MessageOp, Store, StoreError, UserRef};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// How often a client may say it is typing in one room (after a burst).
pub const TYPING_INTERVAL: Duration = Duration::from_secs(1);
const TYPING_BURST: u32 = 3;

/// The user as the store names them.
fn me(user: &AuthUser) -> UserRef {
    UserRef {
        id: user.id,
        username: user.username.to_string(),
    }
}

/// Whom `body` mentions among the members of `room_id`. `@everyone` counts
/// when the sender is an admin or the room is small enough. Cheap when the
/// text has no `@`.
pub async fn resolve_mentions(
    store: &Store,
    settings: &ConversationSettings,
    room_id: i64,
    user_id: i64,
    body: &MessageBody,
) -> Result<Mentions, StoreError> {
    let scan = mention::scan(body.as_str());
    if scan.candidates.is_empty() && !scan.everyone {
        return Ok(Mentions::default());
    }
    let (members, count) = store.mention_targets(room_id, scan.candidates).await?;
    let users = mention::resolve(
        body.as_str(),
        members.iter().map(|m| (m.id, m.username.as_str())),
    );
    let everyone = scan.everyone
        && (count <= settings.everyone_max_members
            || store
                .room_facts(room_id, user_id)
                .await?
                .is_some_and(|f| f.admin));
    Ok(Mentions { users, everyone })
}

/// Edits, deletions, reactions and typing.
pub struct ConversationService {
    store: Store,
    hub: Arc<Hub>,
    settings: ConversationSettings,
    typing: KeyedRate<(i64, i64)>,
}

impl ConversationService {
    /// A service over `store`, telling `hub` who types.
    pub fn new(store: Store, hub: Arc<Hub>, settings: ConversationSettings) -> Self {
        let one = NonZeroU32::MIN;
        let burst = NonZeroU32::new(TYPING_BURST).unwrap_or(one);
        Self {
            store,
            hub,
            settings,
            typing: KeyedRate::per_second(one, burst),
        }
    }

    /// The limits clients are told about.
    pub fn settings(&self) -> &ConversationSettings {
        &self.settings
    }

    /// Replaces the text of the user's own message.
    pub async fn edit(
        &self,
        user: &AuthUser,
        message_id: i64,
        content: &str,
    ) -> Result<MessageDone, ChatError> {
        let body = MessageBody::parse(content).map_err(ChatError::InvalidContent)?;
        // The mentions are resolved against the message's room; the store
        // then checks, under its lock, that it is still that room.
        let room_id = self
            .store
            .message_room(message_id)
            .await
            .map_err(ChatError::from_store)?;
        let mentions = resolve_mentions(&self.store, &self.settings, room_id, user.id, &body)
            .await
            .map_err(ChatError::from_store)?;
        let window_ms = self
            .settings
            .edit_window
            .map(|w| i64::try_from(w.as_millis()).unwrap_or(i64::MAX));
        self.apply(MessageOp::Edit {
            message_id,
            actor: me(user),
            body,
            mentions,
            window_ms,
        })
        .await
    }

    /// Deletes a message (the author's own, or any as an admin).
    pub async fn delete(&self, user: &AuthUser, message_id: i64) -> Result<MessageDone, ChatError> {
        self.apply(MessageOp::Delete {
            message_id,
            actor: me(user),
            expired: false,
        })
        .await
    }

    /// Adds (`on`) or removes the user's reaction.
    pub async fn react(
        &self,
        user: &AuthUser,
        message_id: i64,
        emoji: &str,
        on: bool,
    ) -> Result<MessageDone, ChatError> {
        let emoji = Emoji::parse(emoji).map_err(ChatError::BadRequest)?;
        self.apply(MessageOp::React {
            message_id,
            actor: me(user),
            emoji,
            on,
            max: self.settings.max_reactions,
        })
        .await
    }

    async fn apply(&self, op: MessageOp) -> Result<MessageDone, ChatError> {
        self.store
            .message_op(op)
            .await
            .map_err(ChatError::from_store)
    }

    /// Tells the room's other members that the user is typing: never
    /// stored; paced per user and room.
    pub async fn typing(&self, user: &AuthUser, room_id: i64) -> Result<(), ChatError> {
        let member = room_id == LOBBY_ID || self.hub.routes().is_member(room_id, user.id);
        if !member {
            return Err(ChatError::NotFound);
        }
        self.typing
            .check(&(user.id, room_id))
            .map_err(ChatError::RateLimited)?;
        let who = me(user);
        self.hub.typing(room_id, &who);
        if let Some(pg) = self.store.cluster()
            && let Err(e) = Box::pin(pg.notify_typing(room_id, &who)).await
        {
            tracing::debug!(error = %e, "typing not passed on to the other nodes");
        }
        Ok(())
    }

    /// Frees the pacing state of idle users.
    pub fn sweep(&self) {
        self.typing.sweep();
    }
}
