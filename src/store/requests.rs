//! The room changes a client may ask for and what they produce: the same
//! requests for both stores.

use super::models::{MAX_DIRECT_MEMBERS, Room, RoomKind, UserRef};
use super::{StoreError, StoreResult};
use crate::domain::{RoomName, Topic};

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
