//! The single-file store: SQLite with one writer thread and group commit
//! ([`writer`]) and a small pool of read connections ([`reader`]); nothing
//! here blocks the async runtime.

pub mod export;
mod mention_reads;
mod message_edits;
mod message_rows;
mod message_writes;
pub mod offline;
mod ops;
mod reader;
mod room_reads;
mod room_rows;
mod room_writes;
mod schema;
mod writer;
mod writes;

pub use reader::ReadPool;
pub use schema::{DB_FILE, OpenedDb, migrations, open_db};
pub use writer::{MessageWriter, Publisher, WriterStats};

use super::StoreResult;
use std::path::Path;
use std::sync::Arc;

/// The SQLite store: its writer thread and its read pool.
pub struct SqliteStore {
    /// The one writer.
    pub writer: MessageWriter,
    /// Read connections.
    pub reader: Arc<ReadPool>,
}

impl SqliteStore {
    /// Starts the writer thread and read pool on a database opened by [`open_db`].
    /// `publish` is called on the writer thread, after each commit, with its
    /// changes in seq order.
    pub fn start(db: OpenedDb, path: &Path, publish: Publisher) -> StoreResult<Self> {
        let reader = Arc::new(ReadPool::open(path, 4)?);
        let writer = MessageWriter::spawn(db.conn, publish)?;
        Ok(Self { writer, reader })
    }
}
