//! Every operation of [`Store`], handed to the store in use. Both stores
//! have methods of the same names and types, so each arm is the same call.

use super::{
    Backend, MessageDone, MessageOp, NewMessage, Page, RoomDone, RoomOp, RoomView, Store,
    StoreError, StoreResult, Stored, StreamPage, User, UserCredentials, UserRef, WriterStats,
};
use crate::domain::Username;
use crate::domain::access::RoomFacts;
use std::collections::HashSet;
use std::time::Duration;

/// Runs `$call` on the SQLite read pool or the PostgreSQL store.
macro_rules! read {
    ($self:ident, $s:ident => $call:expr) => {
        match &*$self.backend {
            Backend::Sqlite(sqlite) => {
                let $s = &*sqlite.reader;
                $call.await
            }
            // Boxed: the cluster store's futures are large, and would
            // otherwise grow every future that awaits a SQLite call too.
            Backend::Postgres(pg) => {
                let $s = pg;
                Box::pin($call).await
            }
        }
    };
}

/// Runs `$call` on the SQLite writer or the PostgreSQL store.
macro_rules! write {
    ($self:ident, $s:ident => $call:expr) => {
        match &*$self.backend {
            Backend::Sqlite(sqlite) => {
                let $s = &sqlite.writer;
                $call.await
            }
            // Boxed: the cluster store's futures are large, and would
            // otherwise grow every future that awaits a SQLite call too.
            Backend::Postgres(pg) => {
                let $s = pg;
                Box::pin($call).await
            }
        }
    };
}

impl Store {
    /// Stores a message in a room the sender may post to (or finds the
    /// earlier one with the same client id); returns after the commit.
    pub async fn insert_message(&self, message: NewMessage) -> StoreResult<Stored> {
        write!(self, w => w.insert_message(message))
    }

    /// Edits, deletes or reacts to a message; returns after the commit.
    pub async fn message_op(&self, op: MessageOp) -> StoreResult<MessageDone> {
        write!(self, w => w.message_op(op))
    }

    /// Changes a room, a membership or a read position; returns after the commit.
    pub async fn room(&self, op: RoomOp) -> StoreResult<RoomDone> {
        write!(self, w => w.room(op))
    }

    /// Creates an account; `Conflict` if the name is taken in any letter case.
    /// The first account created becomes an admin.
    pub async fn create_user(
        &self,
        username: &Username,
        password_hash: String,
    ) -> StoreResult<User> {
        write!(self, w => w.create_user(username.clone(), password_hash))
    }

    /// Records a signed-out session until `expires_at` (Unix seconds).
    pub async fn revoke_session(
        &self,
        sid: String,
        user_id: i64,
        expires_at: u64,
    ) -> StoreResult<()> {
        write!(self, w => w.revoke_session(sid, user_id, expires_at))
    }

    /// Whether the database answers reads and can commit writes now.
    pub async fn health(&self) -> StoreResult<()> {
        read!(self, r => r.ping())?;
        write!(self, w => w.probe())
    }

    /// Publishes what other processes (the admin CLI, other nodes) committed.
    pub async fn sync(&self) {
        write!(self, w => w.sync())
    }

    /// Writer counters (transactions, operations, largest batch).
    pub fn writer_stats(&self) -> &WriterStats {
        match &*self.backend {
            Backend::Sqlite(sqlite) => sqlite.writer.stats(),
            Backend::Postgres(pg) => pg.stats(),
        }
    }

    /// Test hook: caps the database file at `pages` pages to simulate a full
    /// disk (`PRAGMA max_page_count`); returns the cap in force. SQLite only.
    #[doc(hidden)]
    pub async fn set_page_limit(&self, pages: i64) -> StoreResult<i64> {
        match &*self.backend {
            Backend::Sqlite(sqlite) => sqlite.writer.set_page_limit(pages).await,
            Backend::Postgres(_) => Err(StoreError::Invalid("a page limit is SQLite's")),
        }
    }

    /// Stops taking work and commits what is queued, waiting at most
    /// `timeout`. False when that did not finish in time.
    pub async fn close(&self, timeout: Duration) -> bool {
        match &*self.backend {
            Backend::Sqlite(sqlite) => {
                // The reader goes first, so the writer's connection is the
                // last one and can fold the WAL back into the file.
                sqlite.reader.close();
                sqlite.writer.close(timeout).await
            }
            Backend::Postgres(pg) => pg.close(timeout).await,
        }
    }

    /// An account by id.
    pub async fn user_by_id(&self, id: i64) -> StoreResult<User> {
        read!(self, r => r.user_by_id(id))
    }

    /// An account and its password hash, by name (any letter case).
    pub async fn credentials(&self, username: String) -> StoreResult<Option<UserCredentials>> {
        read!(self, r => r.credentials(username))
    }

    /// Whether an account exists whose name has this uniqueness key.
    pub async fn name_key_taken(&self, key: &str) -> StoreResult<bool> {
        read!(self, r => r.name_key_taken(key))
    }

    /// Session ids signed out whose tokens have not expired yet.
    pub async fn revoked_sessions(&self) -> StoreResult<HashSet<String>> {
        read!(self, r => r.revoked_sessions())
    }

    /// Number of stored messages (all rooms).
    pub async fn message_count(&self) -> StoreResult<i64> {
        read!(self, r => r.message_count())
    }

    /// Up to `limit` newest messages of a room with id < `before` (any id
    /// when `None`), in ascending order.
    pub async fn history(
        &self,
        room_id: i64,
        before: Option<i64>,
        limit: usize,
    ) -> StoreResult<Page> {
        read!(self, r => r.history(room_id, before, limit))
    }

    /// Up to `limit` messages of a room with id > `after`, oldest first.
    pub async fn after(&self, room_id: i64, after: i64, limit: usize) -> StoreResult<Page> {
        read!(self, r => r.after(room_id, after, limit))
    }

    /// The highest message id in a room (0 when empty).
    pub async fn head(&self, room_id: i64) -> StoreResult<i64> {
        read!(self, r => r.head(room_id))
    }

    /// The highest seq of the change stream (0 when empty).
    pub async fn head_seq(&self) -> StoreResult<i64> {
        read!(self, r => r.head_seq())
    }

    /// What the access rule needs to know about `room_id` and `user_id`
    /// (`None`: no such room).
    pub async fn room_facts(&self, room_id: i64, user_id: i64) -> StoreResult<Option<RoomFacts>> {
        read!(self, r => r.room_facts(room_id, user_id))
    }

    /// A room as `user_id` sees it (the caller has checked access).
    pub async fn room_view(&self, room_id: i64, user_id: i64) -> StoreResult<RoomView> {
        read!(self, r => r.room_view(room_id, user_id))
    }

    /// The rooms `user_id` is in and the open rooms they may join, archived
    /// ones only when asked.
    pub async fn rooms_for(&self, user_id: i64, archived: bool) -> StoreResult<Vec<RoomView>> {
        read!(self, r => r.rooms_for(user_id, archived))
    }

    /// The members of `room_id` named one of `names` (any letter case), and
    /// how many members it has.
    pub async fn mention_targets(
        &self,
        room_id: i64,
        names: Vec<String>,
    ) -> StoreResult<(Vec<UserRef>, i64)> {
        read!(self, r => r.mention_targets(room_id, names))
    }

    /// The room of a message that is not deleted (`NotFound` otherwise).
    pub async fn message_room(&self, message_id: i64) -> StoreResult<i64> {
        read!(self, r => r.message_room(message_id))
    }

    /// The current members of a room.
    pub async fn members(&self, room_id: i64) -> StoreResult<Vec<UserRef>> {
        read!(self, r => r.members(room_id))
    }

    /// Accounts whose name contains `query` (any case), by name, at most `limit`.
    pub async fn search_users(&self, query: String, limit: usize) -> StoreResult<Vec<UserRef>> {
        read!(self, r => r.search_users(query, limit))
    }

    /// Every current membership outside the lobby, for the hub's routing index.
    pub async fn memberships(&self) -> StoreResult<Vec<(i64, i64)>> {
        read!(self, r => r.memberships())
    }

    /// Up to `limit` changes after `after` that `user_id` was entitled to, in seq order.
    pub async fn stream(&self, user_id: i64, after: i64, limit: usize) -> StoreResult<StreamPage> {
        read!(self, r => r.stream(user_id, after, limit))
    }
}
