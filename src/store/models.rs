//! Rows as the rest of the program sees them.

use super::StoreError;
pub use super::conversation::{Mentions, NotifyLevel, Reaction, ReplyPreview};
use super::files::FileInfo;
use crate::domain::access::{self, Denied};
use serde::Serialize;

/// The lobby's room id: every account is a member and nobody leaves.
pub const LOBBY_ID: i64 = 1;
/// The lobby's name, as the v1 protocol shows it.
pub const LOBBY_NAME: &str = "lobby";

/// A user as lists and events show them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserRef {
    /// User id.
    pub id: i64,
    /// Username.
    pub username: String,
}

/// A user account, without its password hash.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Login name, as registered.
    pub username: String,
    /// May use the admin commands.
    pub is_admin: bool,
    /// Unix epoch milliseconds.
    pub created_at: i64,
}

/// A user plus the PHC string of their password hash, for login.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    /// The account.
    pub user: User,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Tokens issued before this Unix second are refused (password reset).
    pub tokens_valid_after: u64,
}

/// The kind of a room.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum RoomKind {
    /// Every account may see it and join.
    Open,
    /// Members only.
    Closed,
    /// A direct conversation.
    Direct,
}

impl RoomKind {
    /// The name stored in the database and sent to clients.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
            Self::Direct => "direct",
        }
    }

    /// The kind stored as `s` (unknown values read as closed: fail safe).
    pub fn from_db(s: &str) -> Self {
        match s {
            "open" => Self::Open,
            "direct" => Self::Direct,
            _ => Self::Closed,
        }
    }

    /// The kind as the access rule sees it.
    pub fn access(self) -> access::Kind {
        match self {
            Self::Open => access::Kind::Open,
            Self::Closed => access::Kind::Closed,
            Self::Direct => access::Kind::Direct,
        }
    }
}

/// A room as every member sees it (stream events and REST answers).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Room {
    /// Row id.
    pub id: i64,
    /// Name (empty for direct messages).
    pub name: String,
    /// Open, closed or direct.
    pub kind: RoomKind,
    /// Topic (may be empty).
    pub topic: String,
    /// The lobby.
    pub lobby: bool,
    /// Read-only and hidden from the room list.
    pub archived: bool,
    /// Unix epoch milliseconds.
    pub created_at: i64,
    /// Who created it (none for the lobby).
    pub created_by: Option<i64>,
    /// Members now.
    pub members_count: i64,
    /// Every member, for direct messages only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<UserRef>>,
}

/// A room as one user sees it: the room plus their own position in it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RoomView {
    /// The room.
    #[serde(flatten)]
    pub room: Room,
    /// The user is a member.
    pub member: bool,
    /// Messages by others after `last_read_id`.
    pub unread: i64,
    /// The newest message id (0 when there is none).
    pub last_message_id: i64,
    /// How far the user has read.
    pub last_read_id: i64,
    /// Unread messages by others that mention the user (or everyone).
    pub mentions: i64,
    /// How loudly the room notifies the user.
    pub notify: NotifyLevel,
}

/// A stored chat message, as sent to clients. The fields after `client_id`
/// are left out of the JSON when empty, so a plain message stays small.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Message {
    /// Row id: the seq of its creation, so it grows with commit order.
    pub id: i64,
    /// The room's name (`lobby` in the lobby, empty in direct messages).
    pub room: String,
    /// The room's id.
    pub room_id: i64,
    /// Author's id.
    pub user_id: i64,
    /// Author's name.
    pub username: String,
    /// Raw text (render as text).
    pub content: String,
    /// Unix epoch milliseconds.
    pub created_at: i64,
    /// The sender's idempotency key.
    pub client_id: String,
    /// Ids of the members it mentions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<i64>,
    /// It mentions everyone (`@everyone`, by someone allowed to).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub mention_everyone: bool,
    /// The message it answers, as that one is now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<ReplyPreview>,
    /// When it was last edited, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<i64>,
    /// Deleted: `content` is empty and nothing else is kept.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// Reactions, one entry per emoji in the order first used.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    /// Its files, in the order sent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileInfo>,
    /// The row says it has files (read before `files` is filled in).
    #[serde(skip)]
    pub has_files: bool,
}

/// Result of a message insert: the row, and whether this call created it.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The message (the earlier one when `created` is false).
    pub message: Message,
    /// False when the `(user, client_id)` pair was already stored.
    pub created: bool,
}

/// What happened to a room.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RoomEvent {
    /// Created (sent for open rooms; members of others learn from `member added`).
    Created,
    /// Renamed or given a new topic.
    Updated,
    /// Archived.
    Archived,
    /// Unarchived.
    Unarchived,
}

/// What happened to a membership.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MemberEvent {
    /// Joined or was added.
    Added,
    /// Left or was removed.
    Removed,
}

/// One committed change, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Position in the one change stream (a message's id).
    pub seq: i64,
    /// The room it belongs to.
    pub room_id: i64,
    /// What changed.
    pub kind: ChangeKind,
}

/// The kinds of change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    /// A new message.
    Message(Message),
    /// A room was created, updated, archived or unarchived.
    Room {
        /// What happened.
        event: RoomEvent,
        /// The room after it.
        room: Room,
    },
    /// A member was added or removed.
    Member {
        /// What happened.
        event: MemberEvent,
        /// The member.
        user: UserRef,
        /// The room after it.
        room: Room,
    },
    /// A user's read position moved (their own connections only).
    Read {
        /// The reader.
        user_id: i64,
        /// The new position.
        last_read_id: i64,
    },
    /// A message was edited: the message as it is now.
    Edited(Message),
    /// A message was deleted.
    Deleted {
        /// Its id.
        message_id: i64,
    },
    /// A message's reactions changed: all of them now.
    Reaction {
        /// The message.
        message_id: i64,
        /// Its reactions after the change.
        reactions: Vec<Reaction>,
    },
    /// A user's notification level of a room changed (their own connections only).
    Notify {
        /// The user.
        user_id: i64,
        /// The new level.
        level: NotifyLevel,
    },
}

impl ChangeKind {
    /// The name of the kind in the `events` table.
    pub fn db_name(&self) -> &'static str {
        match self {
            Self::Message(_) => "message",
            Self::Room { event, .. } => match event {
                RoomEvent::Created => "room_created",
                RoomEvent::Updated => "room_updated",
                RoomEvent::Archived => "room_archived",
                RoomEvent::Unarchived => "room_unarchived",
            },
            Self::Member { event, .. } => match event {
                MemberEvent::Added => "member_added",
                MemberEvent::Removed => "member_removed",
            },
            Self::Read { .. } => "read",
            Self::Edited(_) => "message_edited",
            Self::Deleted { .. } => "message_deleted",
            Self::Reaction { .. } => "reaction",
            Self::Notify { .. } => "notify",
        }
    }
}

/// Milliseconds since the Unix epoch, by the wall clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A page of messages and whether more lie beyond it.
#[derive(Debug, Clone)]
pub struct Page {
    /// Messages in ascending id order.
    pub messages: Vec<Message>,
    /// More messages exist past this page (older for history, newer for polling).
    pub has_more: bool,
}

/// A page of the change stream.
#[derive(Debug, Clone)]
pub struct StreamPage {
    /// Changes in seq order.
    pub changes: Vec<Change>,
    /// More changes lie beyond this page.
    pub has_more: bool,
}

/// Unread counts stop here ("999+" in a badge).
pub const MAX_UNREAD: i64 = 999;

/// Most members of a direct message.
pub const MAX_DIRECT_MEMBERS: usize = 9;

/// `limit` + 1 as SQL wants it: one row more tells whether more lie beyond.
pub(crate) fn limit_plus_one(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1
}

impl From<Denied> for StoreError {
    fn from(d: Denied) -> Self {
        match d {
            Denied::Hidden => StoreError::NotFound,
            Denied::Archived => StoreError::Archived,
            Denied::Forbidden(why) => StoreError::Forbidden(why),
        }
    }
}

/// The kind of an `events` row, as both stores store it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventKind {
    /// `message`.
    Message,
    /// `member_added` / `member_removed`.
    Member(MemberEvent),
    /// `read`.
    Read,
    /// `room_created`, `room_updated`, `room_archived`, `room_unarchived`.
    Room(RoomEvent),
    /// `message_edited`.
    Edited,
    /// `message_deleted`.
    Deleted,
    /// `reaction`.
    Reaction,
    /// `notify`.
    Notify,
}

impl EventKind {
    /// The kind stored as `s` (unknown values read as a room update: the
    /// client then just reloads the room).
    pub(crate) fn from_db(s: &str) -> Self {
        match s {
            "message" => Self::Message,
            "member_added" => Self::Member(MemberEvent::Added),
            "member_removed" => Self::Member(MemberEvent::Removed),
            "read" => Self::Read,
            "message_edited" => Self::Edited,
            "message_deleted" => Self::Deleted,
            "reaction" => Self::Reaction,
            "notify" => Self::Notify,
            "room_created" => Self::Room(RoomEvent::Created),
            "room_archived" => Self::Room(RoomEvent::Archived),
            "room_unarchived" => Self::Room(RoomEvent::Unarchived),
            _ => Self::Room(RoomEvent::Updated),
        }
    }
}
