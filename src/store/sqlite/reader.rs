//! Read connections. Each query runs on tokio's blocking pool with a connection
//! taken from a small pool, so reads never block the async threads and never
//! wait for the writer (WAL).

use super::schema::BUSY_TIMEOUT;
use crate::store::models::{User, UserCredentials};
use crate::store::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tokio::sync::Semaphore;

/// A fixed-size pool of read-only connections.
pub struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl ReadPool {
    /// Opens `size` read connections on the database at `path`.
    pub fn open(path: &Path, size: usize) -> StoreResult<Self> {
        let idle = (0..size)
            .map(|_| open_reader(path))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Self {
            path: path.to_owned(),
            idle: Mutex::new(idle),
            permits: Semaphore::new(size),
        })
    }

    /// Runs `f` with a read connection on the blocking pool.
    pub async fn with<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Closed)?;
        let conn = match self
            .idle
            .lock()
            .map_err(|_| StoreError::Task("read pool poisoned".into()))?
            .pop()
        {
            Some(conn) => conn,
            // A connection is lost only if a query task panicked; replace it.
            None => open_reader(&self.path)?,
        };
        let (conn, result) = tokio::task::spawn_blocking(move || {
            let result = f(&conn);
            (conn, result)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?;
        // After `close` the connection is dropped instead of kept.
        if !self.permits.is_closed()
            && let Ok(mut idle) = self.idle.lock()
        {
            idle.push(conn);
        }
        Ok(result?)
    }

    /// Refuses further reads and closes the idle connections (at shutdown,
    /// so the writer's connection is the last one and can fold the WAL back).
    pub fn close(&self) {
        self.permits.close();
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> StoreResult<()> {
        self.with(|c| c.query_row("SELECT 1", [], |_| Ok(()))).await
    }

    /// An account by id.
    pub async fn user_by_id(&self, id: i64) -> StoreResult<User> {
        self.with(move |c| {
            c.prepare_cached("SELECT id, username, is_admin, created_at FROM users WHERE id = ?1")?
                .query_row([id], user_from_row)
                .optional()
        })
        .await?
        .ok_or(StoreError::NotFound)
    }

    /// An account and its password hash, by name (any letter case).
    pub async fn credentials(&self, username: String) -> StoreResult<Option<UserCredentials>> {
        self.with(move |c| {
            c.prepare_cached(
                "SELECT id, username, is_admin, created_at, password_hash, tokens_valid_after FROM users WHERE username = ?1",
            )?
            .query_row([username], |r| {
                Ok(UserCredentials {
                    user: user_from_row(r)?,
                    password_hash: r.get(4)?,
                    tokens_valid_after: unix_seconds(r, 5)?,
                })
            })
            .optional()
        })
        .await
    }

    /// Whether an account exists whose name has this uniqueness key
    /// (see [`crate::domain::Username::key`]).
    pub async fn name_key_taken(&self, key: &str) -> StoreResult<bool> {
        let key = key.to_owned();
        self.with(move |c| {
            c.prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE name_key = ?1)")?
                .query_row([key], |r| r.get(0))
        })
        .await
    }

    /// Session ids signed out whose tokens have not expired yet.
    pub async fn revoked_sessions(&self) -> StoreResult<HashSet<String>> {
        let now = crate::store::models::now_ms() / 1000;
        self.with(move |c| {
            c.prepare_cached("SELECT sid FROM revoked_sessions WHERE expires_at >= ?1")?
                .query_map([now], |r| r.get(0))?
                .collect()
        })
        .await
    }

    /// Number of stored messages (all rooms).
    pub async fn message_count(&self) -> StoreResult<i64> {
        self.with(|c| c.query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0)))
            .await
    }
}

fn open_reader(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    super::search::register_functions(&conn)?;
    Ok(conn)
}

/// A Unix-seconds column; SQLite stores it signed, a negative one means "never".
fn unix_seconds(r: &Row<'_>, idx: usize) -> rusqlite::Result<u64> {
    Ok(r.get::<_, i64>(idx)?.max(0).unsigned_abs())
}

fn user_from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        username: r.get(1)?,
        is_admin: r.get(2)?,
        created_at: r.get(3)?,
    })
}
