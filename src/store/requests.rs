//! The room changes a client may ask for and what they produce: the same
//! requests for both stores.

use super::models::{MAX_DIRECT_MEMBERS, Message, Room, RoomKind, UserRef};
use super::{Mentions, NotifyLevel, Reaction, StoreError, StoreResult};
use crate::domain::{ClientId, Emoji, MessageBody, RoomName, Topic};

/// A message to store.
#[derive(Debug)]
pub struct NewMessage {
    /// The room.
    pub room_id: i64,
    /// Its author.
    pub sender: UserRef,
    /// Its text.
    pub body: MessageBody,
    /// The sender's idempotency key.
    pub client_id: ClientId,
    /// The message it answers (of the same room, not deleted).
    pub reply_to: Option<i64>,
    /// Whom it mentions (resolved against the members before the insert).
    pub mentions: Mentions,
    /// Uploads of the sender in this room, not sent yet, to attach.
    pub files: Vec<i64>,
}

/// A change to one message.
#[derive(Debug)]
pub enum MessageOp {
    /// Replace its text (its author only).
    Edit {
        /// The message.
        message_id: i64,
        /// Who edits.
        actor: UserRef,
        /// The new text.
        body: MessageBody,
        /// Whom the new text mentions.
        mentions: Mentions,
        /// Edits are refused this many ms after the message was sent.
        window_ms: Option<i64>,
    },
    /// Delete it (its author, or an admin): its text, mentions and reactions go.
    Delete {
        /// The message.
        message_id: i64,
        /// Who deletes.
        actor: UserRef,
        /// Deleted by the retention job (no access check: its author is the
        /// actor, and archived rooms lose old messages too).
        expired: bool,
    },
    /// Add or remove a reaction of the actor.
    React {
        /// The message.
        message_id: i64,
        /// Who reacts.
        actor: UserRef,
        /// With what.
        emoji: Emoji,
        /// Add (true) or remove.
        on: bool,
        /// Most distinct emoji on one message.
        max: usize,
    },
}

impl MessageOp {
    /// The message it changes.
    pub fn message_id(&self) -> i64 {
        match self {
            Self::Edit { message_id, .. }
            | Self::Delete { message_id, .. }
            | Self::React { message_id, .. } => *message_id,
        }
    }
}

/// What a [`MessageOp`] produced.
#[derive(Debug)]
pub enum MessageDone {
    /// The message after the edit.
    Edited {
        /// The event's seq.
        seq: i64,
        /// The message now (boxed: the other answers are small).
        message: Box<Message>,
    },
    /// Deleted.
    Deleted {
        /// The event's seq.
        seq: i64,
        /// Its room.
        room_id: i64,
    },
    /// The message's reactions now.
    Reactions {
        /// The event's seq; `None` when nothing changed.
        seq: Option<i64>,
        /// Its room.
        room_id: i64,
        /// All of its reactions.
        reactions: Vec<Reaction>,
    },
}

impl MessageDone {
    /// The seq of the event it recorded, if any.
    pub fn seq(&self) -> Option<i64> {
        match self {
            Self::Edited { seq, .. } | Self::Deleted { seq, .. } => Some(*seq),
            Self::Reactions { seq, .. } => *seq,
        }
    }
}

/// A change to rooms, memberships or read positions (see `room_writes`).
#[derive(Debug)]
pub enum RoomOp {
    /// Create an open or closed room.
    Create {
        /// Who creates it (a member).
        creator: UserRef,
        /// Its name.
        name: RoomName,
        /// Open or closed.
        kind: RoomKind,
        /// Its topic.
        topic: Topic,
        /// Further members.
        member_ids: Vec<i64>,
    },
    /// Get or create the direct room of the creator and these users.
    Direct {
        /// Who asks (a member).
        creator: UserRef,
        /// The others.
        user_ids: Vec<i64>,
    },
    /// Add members.
    AddMembers {
        /// The room.
        room_id: i64,
        /// Who adds them.
        actor: UserRef,
        /// Whom.
        user_ids: Vec<i64>,
    },
    /// Join an open room.
    Join {
        /// The room.
        room_id: i64,
        /// Who joins.
        user: UserRef,
    },
    /// Leave, or remove someone else.
    Remove {
        /// The room.
        room_id: i64,
        /// Who does it.
        actor: UserRef,
        /// Who goes.
        target: i64,
    },
    /// Rename or set the topic.
    Update {
        /// The room.
        room_id: i64,
        /// Who does it.
        actor: UserRef,
        /// New name.
        name: Option<RoomName>,
        /// New topic.
        topic: Option<Topic>,
    },
    /// Archive or unarchive.
    Archive {
        /// The room.
        room_id: i64,
        /// Who does it (an admin).
        actor: UserRef,
        /// Archive (true) or unarchive.
        archived: bool,
    },
    /// Move a read position forward.
    Read {
        /// The room.
        room_id: i64,
        /// The reader.
        user: UserRef,
        /// How far they have read.
        last_read_id: i64,
    },
    /// Set how loudly the room notifies the user.
    Notify {
        /// The room.
        room_id: i64,
        /// The member.
        user: UserRef,
        /// The level.
        level: NotifyLevel,
    },
}

/// What a [`RoomOp`] produced.
#[derive(Debug)]
pub enum RoomDone {
    /// The room after the change.
    Room(Room),
    /// A direct room and whether it was created now.
    Direct(Room, bool),
    /// The members actually added.
    Added(Vec<UserRef>),
    /// Nothing to return.
    Done,
}

/// The members of the direct room of `creator` and `user_ids` (sorted, once
/// each) and its key; `Invalid` unless they are 2 to [`MAX_DIRECT_MEMBERS`].
pub(crate) fn direct_key(creator: &UserRef, user_ids: &[i64]) -> StoreResult<(Vec<i64>, String)> {
    let mut ids: Vec<i64> = user_ids.iter().copied().chain([creator.id]).collect();
    ids.sort_unstable();
    ids.dedup();
    if !(2..=MAX_DIRECT_MEMBERS).contains(&ids.len()) {
        return Err(StoreError::Invalid(
            "a direct message has 2 to 9 people, you included",
        ));
    }
    let key = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    Ok((ids, key))
}

/// `Limit` when an edit comes more than `window_ms` after the message was sent.
pub(crate) fn edit_window_open(now: i64, sent_at: i64, window_ms: Option<i64>) -> StoreResult<()> {
    if window_ms.is_some_and(|w| now - sent_at > w) {
        return Err(StoreError::Limit {
            code: "edit_window_closed",
            message: "this message is too old to edit",
        });
    }
    Ok(())
}

/// `Limit` when a new emoji would pass `max` distinct ones on a message.
pub(crate) fn room_for_reaction(present: bool, distinct: i64, max: usize) -> StoreResult<()> {
    if !present && distinct >= i64::try_from(max).unwrap_or(i64::MAX) {
        return Err(StoreError::Limit {
            code: "too_many_reactions",
            message: "this message has as many different reactions as it may",
        });
    }
    Ok(())
}

/// Refuses an upload of `size` bytes when the uploader's uploads of the last
/// day (`used` bytes) would pass `quota`.
pub(crate) fn within_quota(used: i64, size: i64, quota: i64) -> StoreResult<()> {
    if used.saturating_add(size) > quota {
        return Err(StoreError::Limit {
            code: "upload_quota",
            message: "your uploads of the last 24 hours have reached the daily limit",
        });
    }
    Ok(())
}
