//! Rooms and direct messages as a service: every read of a room goes through
//! [`RoomService::check`], which applies the one access rule
//! ([`crate::domain::access::decide`]) to facts from the store; every change
//! goes to the writer, which applies the same rule inside its transaction.

use crate::auth::AuthUser;
use crate::domain::access::{self, Action, RoomFacts};
use crate::domain::{RoomName, Topic};
use crate::store::{
    NotifyLevel, Page, RoomDone, RoomKind, RoomOp, RoomView, Store, StoreError, StoreResult,
    StreamPage, UserRef,
};

/// Rooms, memberships and read positions.
pub struct RoomService {
    store: Store,
}

/// The user as the store names them.
fn me(user: &AuthUser) -> UserRef {
    UserRef {
        id: user.id,
        username: user.username.to_string(),
    }
}

impl RoomService {
    /// A service over `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The access rule for `user` doing `action` in `room_id`: the facts, or
    /// `NotFound` (no such room, or not one the user may know), `Archived`,
    /// `Forbidden`.
    pub async fn check(
        &self,
        user: &AuthUser,
        room_id: i64,
        action: Action,
    ) -> StoreResult<RoomFacts> {
        let facts = self
            .store
            .room_facts(room_id, user.id)
            .await?
            .ok_or(StoreError::NotFound)?;
        access::decide(&facts, action)?;
        Ok(facts)
    }

    /// The rooms the user is in and the open rooms they may join.
    pub async fn list(&self, user: &AuthUser, archived: bool) -> StoreResult<Vec<RoomView>> {
        self.store.rooms_for(user.id, archived).await
    }

    /// One room as the user sees it.
    pub async fn get(&self, user: &AuthUser, room_id: i64) -> StoreResult<RoomView> {
        self.check(user, room_id, Action::See).await?;
        self.store.room_view(room_id, user.id).await
    }

    /// A page of a room's history.
    pub async fn history(
        &self,
        user: &AuthUser,
        room_id: i64,
        before: Option<i64>,
        limit: usize,
    ) -> StoreResult<Page> {
        self.check(user, room_id, Action::See).await?;
        self.store.history(room_id, before, limit).await
    }

    /// Message `message_id` of a room and up to `limit` messages around it
    /// (half before, half after), and whether newer ones lie beyond.
    pub async fn around(
        &self,
        user: &AuthUser,
        room_id: i64,
        message_id: i64,
        limit: usize,
    ) -> StoreResult<(Page, bool)> {
        self.check(user, room_id, Action::See).await?;
        let before = limit.div_ceil(2).max(1);
        let mut page = self
            .store
            .history(room_id, Some(message_id.saturating_add(1)), before)
            .await?;
        if !page.messages.iter().any(|m| m.id == message_id) {
            return Err(StoreError::NotFound);
        }
        let after = self
            .store
            .after(room_id, message_id, limit.saturating_sub(before).max(1))
            .await?;
        page.messages.extend(after.messages);
        Ok((page, after.has_more))
    }

    /// Sets how loudly a room notifies the user.
    pub async fn set_notify(
        &self,
        user: &AuthUser,
        room_id: i64,
        level: NotifyLevel,
    ) -> StoreResult<()> {
        let op = RoomOp::Notify {
            room_id,
            user: me(user),
            level,
        };
        self.store.room(op).await.map(|_| ())
    }

    /// A room's members.
    pub async fn members(&self, user: &AuthUser, room_id: i64) -> StoreResult<Vec<UserRef>> {
        self.check(user, room_id, Action::See).await?;
        self.store.members(room_id).await
    }

    /// Up to `limit` stream events after `after` for the user.
    pub async fn stream(
        &self,
        user: &AuthUser,
        after: i64,
        limit: usize,
    ) -> StoreResult<StreamPage> {
        self.store.stream(user.id, after, limit).await
    }

    /// Who may create rooms: every account today. The one place a server
    /// setting that keeps room creation to admins will plug in.
    fn may_create_rooms(&self, _user: &AuthUser) -> StoreResult<()> {
        Ok(())
    }

    /// Creates an open or closed room; the caller becomes a member.
    pub async fn create(
        &self,
        user: &AuthUser,
        name: RoomName,
        kind: RoomKind,
        topic: Topic,
        member_ids: Vec<i64>,
    ) -> StoreResult<RoomView> {
        self.may_create_rooms(user)?;
        let op = RoomOp::Create {
            creator: me(user),
            name,
            kind,
            topic,
            member_ids,
        };
        let room = self.room_of(self.store.room(op).await?)?;
        self.store.room_view(room, user.id).await
    }

    /// The direct room of the caller and `user_ids`; true when created now.
    pub async fn direct(
        &self,
        user: &AuthUser,
        user_ids: Vec<i64>,
    ) -> StoreResult<(RoomView, bool)> {
        let op = RoomOp::Direct {
            creator: me(user),
            user_ids,
        };
        match self.store.room(op).await? {
            RoomDone::Direct(room, created) => {
                Ok((self.store.room_view(room.id, user.id).await?, created))
            }
            _ => Err(StoreError::Task(
                "unexpected answer to a direct room".into(),
            )),
        }
    }

    /// Adds members; returns those newly added.
    pub async fn add_members(
        &self,
        user: &AuthUser,
        room_id: i64,
        user_ids: Vec<i64>,
    ) -> StoreResult<Vec<UserRef>> {
        let op = RoomOp::AddMembers {
            room_id,
            actor: me(user),
            user_ids,
        };
        match self.store.room(op).await? {
            RoomDone::Added(added) => Ok(added),
            _ => Err(StoreError::Task("unexpected answer to add members".into())),
        }
    }

    /// Joins an open room.
    pub async fn join(&self, user: &AuthUser, room_id: i64) -> StoreResult<RoomView> {
        let op = RoomOp::Join {
            room_id,
            user: me(user),
        };
        let room = self.room_of(self.store.room(op).await?)?;
        self.store.room_view(room, user.id).await
    }

    /// Removes `target` (the caller themselves: leaving).
    pub async fn remove(&self, user: &AuthUser, room_id: i64, target: i64) -> StoreResult<()> {
        let op = RoomOp::Remove {
            room_id,
            actor: me(user),
            target,
        };
        self.store.room(op).await.map(drop)
    }

    /// Renames a room or changes its topic.
    pub async fn update(
        &self,
        user: &AuthUser,
        room_id: i64,
        name: Option<RoomName>,
        topic: Option<Topic>,
    ) -> StoreResult<RoomView> {
        let op = RoomOp::Update {
            room_id,
            actor: me(user),
            name,
            topic,
        };
        let room = self.room_of(self.store.room(op).await?)?;
        self.store.room_view(room, user.id).await
    }

    /// Archives or unarchives a room (admins).
    pub async fn set_archived(
        &self,
        user: &AuthUser,
        room_id: i64,
        archived: bool,
    ) -> StoreResult<RoomView> {
        let op = RoomOp::Archive {
            room_id,
            actor: me(user),
            archived,
        };
        let room = self.room_of(self.store.room(op).await?)?;
        self.store.room_view(room, user.id).await
    }

    /// Moves the user's read position in a room forward.
    pub async fn mark_read(
        &self,
        user: &AuthUser,
        room_id: i64,
        last_read_id: i64,
    ) -> StoreResult<()> {
        let op = RoomOp::Read {
            room_id,
            user: me(user),
            last_read_id,
        };
        self.store.room(op).await.map(drop)
    }

    fn room_of(&self, done: RoomDone) -> StoreResult<i64> {
        match done {
            RoomDone::Room(room) | RoomDone::Direct(room, _) => Ok(room.id),
            _ => Err(StoreError::Task(
                "unexpected answer to a room change".into(),
            )),
        }
    }
}
