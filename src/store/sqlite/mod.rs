//! The single-file store: SQLite with one writer thread and group commit
//! ([`writer`]) and a small pool of read connections ([`reader`]); nothing
//! here blocks the async runtime.

pub mod export;
pub mod file_reads;
mod file_writes;
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
mod search;
mod writer;
mod writes;

pub use reader::ReadPool;
pub use schema::{DB_FILE, OpenedDb, migrations, open_db};
pub use writer::{MessageWriter, Publisher, WriterStats};

use super::StoreResult;
use super::blob_dir::BlobDir;
use std::path::Path;
use std::sync::Arc;

/// The SQLite store: its writer thread and its read pool.
pub struct SqliteStore {
    /// The one writer.
    pub writer: MessageWriter,
    /// Read connections.
    pub reader: Arc<ReadPool>,
    /// File contents.
    pub blobs: BlobDir,
}

impl SqliteStore {
    /// Starts the writer thread and read pool on a database opened by [`open_db`].
    /// `publish` is called on the writer thread, after each commit, with its
    /// changes in seq order.
    pub fn start(db: OpenedDb, path: &Path, publish: Publisher) -> StoreResult<Self> {
        let reader = Arc::new(ReadPool::open(path, 4)?);
        let data_dir = path.parent().unwrap_or_else(|| Path::new("."));
        let blobs = BlobDir::new(data_dir);
        let writer = MessageWriter::spawn(db.conn, publish, blobs.clone())?;
        // Search indexes new messages a moment later, many at a time: a
        // pass per transaction of sends would double their cost.
        let ticker = writer.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(writer::INDEX_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !ticker.is_closed() {
                tick.tick().await;
                ticker.index_tick().await;
            }
        });
        Ok(Self {
            writer,
            reader,
            blobs,
        })
    }
}
