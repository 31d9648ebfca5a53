//! SQLite storage: one writer thread with group commit ([`writer`]) and a small
//! pool of read connections ([`reader`]); nothing here blocks the async runtime.

mod lock;
mod message_writes;
mod models;
pub mod offline;
mod ops;
mod reader;
mod room_reads;
mod room_rows;
mod room_writes;
mod schema;
mod writer;
mod writes;

pub use lock::{DataDirLock, LOCK_FILE, LockError};
pub use models::{
    Change, ChangeKind, LOBBY_ID, LOBBY_NAME, MemberEvent, Message, Room, RoomEvent, RoomKind,
    RoomView, Stored, User, UserCredentials, UserRef, now_ms,
};
pub use reader::{Page, ReadPool};
pub use room_reads::{MAX_UNREAD, StreamPage};
pub use room_writes::MAX_DIRECT_MEMBERS;
pub use schema::{DB_FILE, OpenedDb, open_db};
pub use writer::{MessageWriter, Publisher, RoomDone, RoomOp, WriterStats};

use crate::domain::{ClientId, MessageBody, Username};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique value (the username) is taken.
    #[error("already exists")]
    Conflict,
    /// The row asked for does not exist, or the user may not know it does.
    #[error("not found")]
    NotFound,
    /// The room is archived: read-only.
    #[error("the room is archived")]
    Archived,
    /// Not allowed, with the reason.
    #[error("not allowed: {0}")]
    Forbidden(&'static str),
    /// The request is wrong, with the reason.
    #[error("invalid: {0}")]
    Invalid(&'static str),
    /// SQLite failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Schema migration failed.
    #[error("migration failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// The writer thread is gone (shutting down).
    #[error("the database is shutting down")]
    Closed,
    /// The database cannot commit now (locked, disk full, I/O error, or no
    /// answer in time). Nothing was acknowledged: retry later.
    #[error("the database cannot store this now: {0}")]
    Unavailable(String),
    /// A blocking task died.
    #[error("database task failed: {0}")]
    Task(String),
}

/// Result type of the storage layer.
pub type StoreResult<T> = Result<T, StoreError>;

/// The storage handle shared by every request: cheap to clone.
#[derive(Clone)]
pub struct Store {
    writer: MessageWriter,
    reader: Arc<ReadPool>,
    epoch: Arc<str>,
}

impl Store {
    /// Starts the writer thread and read pool on a database opened by [`open_db`].
    /// `publish` is called on the writer thread, after each commit, with its
    /// changes in seq order.
    pub fn start(db: OpenedDb, path: &Path, publish: Publisher) -> StoreResult<Self> {
        let epoch = Arc::from(db.epoch.as_str());
        let reader = Arc::new(ReadPool::open(path, 4)?);
        let writer = MessageWriter::spawn(db.conn, publish)?;
        Ok(Self {
            writer,
            reader,
            epoch,
        })
    }

    /// The database instance id.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// Read access.
    pub fn reader(&self) -> &ReadPool {
        &self.reader
    }

    /// Writer counters (transactions, operations, largest batch).
    pub fn writer_stats(&self) -> &WriterStats {
        self.writer.stats()
    }

    /// Stores a message in a room the sender may post to (or finds the
    /// earlier one with the same client id); returns after the commit.
    pub async fn insert_message(
        &self,
        room_id: i64,
        sender: UserRef,
        body: MessageBody,
        client_id: ClientId,
    ) -> StoreResult<Stored> {
        self.writer
            .insert_message(room_id, sender, body, client_id)
            .await
    }

    /// Changes a room, a membership or a read position; returns after the commit.
    pub async fn room(&self, op: RoomOp) -> StoreResult<RoomDone> {
        self.writer.room(op).await
    }

    /// Creates an account; `Conflict` if the name is taken in any letter case.
    /// The first account created becomes an admin.
    pub async fn create_user(
        &self,
        username: &Username,
        password_hash: String,
    ) -> StoreResult<User> {
        self.writer
            .create_user(username.clone(), password_hash)
            .await
    }

    /// Records a signed-out session until `expires_at` (Unix seconds).
    pub async fn revoke_session(
        &self,
        sid: String,
        user_id: i64,
        expires_at: u64,
    ) -> StoreResult<()> {
        self.writer.revoke_session(sid, user_id, expires_at).await
    }

    /// Whether the database answers reads and can commit writes now.
    pub async fn health(&self) -> StoreResult<()> {
        self.reader.ping().await?;
        self.writer.probe().await
    }

    /// Publishes what other processes (the admin CLI) committed.
    pub async fn sync(&self) {
        self.writer.sync().await;
    }

    /// Test hook: caps the database file at `pages` pages to simulate a full
    /// disk (`PRAGMA max_page_count`); returns the cap in force.
    #[doc(hidden)]
    pub async fn set_page_limit(&self, pages: i64) -> StoreResult<i64> {
        self.writer.set_page_limit(pages).await
    }

    /// Closes the read connections, commits what is queued, checkpoints the
    /// WAL into the database file and stops the writer, waiting at most
    /// `timeout`. False when the writer did not finish in time.
    pub async fn close(&self, timeout: Duration) -> bool {
        self.reader.close();
        self.writer.close(timeout).await
    }
}
