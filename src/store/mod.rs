//! Storage behind one boundary: the single-file SQLite store (the default)
//! and the PostgreSQL store that lets several nodes form one team. Both keep
//! one commit-ordered change stream (`seq`) and hand each node's publisher
//! its changes in seq order; callers see only [`Store`].

pub mod blob_dir;
mod conversation;
mod dispatch;
mod file_dispatch;
pub mod files;
mod hex;
mod lock;
mod models;
pub mod postgres;
pub(crate) mod requests;
pub mod search;
pub mod sql;
pub mod sqlite;
pub mod transfer;

pub use lock::{DataDirLock, LOCK_FILE, LockError};
pub(crate) use models::limit_plus_one;
pub use models::{
    Change, ChangeKind, LOBBY_ID, LOBBY_NAME, MAX_DIRECT_MEMBERS, MAX_UNREAD, MemberEvent,
    Mentions, Message, NotifyLevel, Page, Reaction, ReplyPreview, Room, RoomEvent, RoomKind,
    RoomView, Stored, StreamPage, User, UserCredentials, UserRef, now_ms,
};
pub use requests::{MessageDone, MessageOp, NewMessage, RoomDone, RoomOp};
pub use sqlite::{DB_FILE, OpenedDb, Publisher, WriterStats, offline, open_db};

use std::sync::Arc;

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
    /// A limit of the server (the edit window, reactions per message).
    #[error("{message}")]
    Limit {
        /// The machine code clients see.
        code: &'static str,
        /// The reason, for people.
        message: &'static str,
    },
    /// SQLite failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed (a query, not the connection: see `Unavailable`).
    #[error("database error: {0}")]
    Postgres(String),
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
    backend: Arc<Backend>,
    epoch: Arc<str>,
}

/// The two stores.
enum Backend {
    Sqlite(sqlite::SqliteStore),
    Postgres(Box<postgres::PgStore>),
}

impl Store {
    /// The single-file store.
    pub fn sqlite(store: sqlite::SqliteStore, epoch: &str) -> Self {
        Self {
            backend: Arc::new(Backend::Sqlite(store)),
            epoch: Arc::from(epoch),
        }
    }

    /// The cluster store.
    pub fn postgres(store: postgres::PgStore) -> Self {
        let epoch = Arc::from(store.epoch());
        Self {
            backend: Arc::new(Backend::Postgres(Box::new(store))),
            epoch,
        }
    }

    /// The database instance id (shared by every node of a cluster).
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// `sqlite` or `postgres`, for `/healthz` and logs.
    pub fn kind(&self) -> &'static str {
        match &*self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// The cluster store, when this node runs on one.
    pub fn cluster(&self) -> Option<&postgres::PgStore> {
        match &*self.backend {
            Backend::Postgres(pg) => Some(pg),
            Backend::Sqlite(_) => None,
        }
    }
}
