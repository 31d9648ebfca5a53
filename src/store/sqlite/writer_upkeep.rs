//! The writer's upkeep between batches: control requests (sync, probe,
//! the page-limit test hook, search indexing ticks), deleting file contents
//! a commit left unnamed, and folding the WAL into the database file.

use super::{INDEX_EVERY, INDEX_PASS, PROBE_LOCK_WAIT, Worker};
use crate::store::sqlite::ops::Op;
use crate::store::sqlite::{room_reads, writes};
use crate::store::{StoreError, StoreResult};
use rusqlite::TransactionBehavior;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

impl Worker {
    /// Deletes the contents a committed batch left unnamed, unless a later
    /// upload in the same batch named them again. On this thread, so no
    /// upload can move the same content into place meanwhile.
    pub(super) fn unlink(&self, dropped: &[String]) {
        for hash in dropped {
            let named = self
                .conn
                .query_row("SELECT 1 FROM blobs WHERE hash = ?1", [hash], |_| Ok(()))
                .is_ok();
            if !named {
                self.blobs.remove(hash);
            }
        }
    }

    /// After a deletion: folds the WAL into the file and empties it, so the
    /// deleted text (still in the WAL's older page images) leaves the disk
    /// now. Readers in the way make it wait briefly, then give up until the
    /// next deletion or the regular checkpoints.
    pub(super) fn wipe_wal(&self) {
        let _ = self.conn.busy_timeout(Duration::from_millis(100));
        if let Err(e) = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        {
            tracing::debug!(error = %e, "checkpoint after a deletion skipped");
        }
        let _ = self
            .conn
            .busy_timeout(crate::store::sqlite::schema::BUSY_TIMEOUT);
    }

    pub(super) fn control(&mut self, op: Op) {
        match op {
            Op::IndexTick if self.last_index.elapsed() < INDEX_EVERY => {}
            Op::IndexTick => {
                self.last_index = Instant::now();
                let result = (|| {
                    let tx = self
                        .conn
                        .transaction_with_behavior(TransactionBehavior::Immediate)?;
                    let n = crate::store::sqlite::search::index_pending(&tx, INDEX_PASS)?;
                    tx.commit()?;
                    Ok::<_, rusqlite::Error>(n)
                })();
                if let Err(e) = result {
                    tracing::warn!(error = %e, "indexing new messages for search failed; retrying");
                }
            }
            Op::Sync => {
                let last = self.last_seq();
                match room_reads::changes_after(&self.conn, last) {
                    Ok(changes) if !changes.is_empty() => {
                        self.last_seq = changes.last().map(|c| c.seq);
                        (self.publish)(&changes);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read changes made by other processes")
                    }
                }
            }
            Op::Probe { reply } => {
                let result = self.probe();
                let _ = reply.send(result);
            }
            Op::PageLimit { pages, reply } => {
                let result = self
                    .conn
                    .pragma_update_and_check(None, "max_page_count", pages, |r| r.get(0))
                    .map_err(StoreError::from);
                let _ = reply.send(result);
            }
            _ => {}
        }
    }

    /// Takes the write lock briefly; after a failure, also grows the file.
    fn probe(&mut self) -> StoreResult<()> {
        let failing = self.stats.failing.load(Ordering::Relaxed);
        let _ = self.conn.busy_timeout(PROBE_LOCK_WAIT);
        let result = (|| {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            if failing {
                writes::probe(&tx)?;
            }
            tx.commit()
        })();
        let _ = self
            .conn
            .busy_timeout(crate::store::sqlite::schema::BUSY_TIMEOUT);
        match result {
            Ok(()) => {
                self.stats.failing.store(false, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => Err(StoreError::Unavailable(e.to_string())),
        }
    }

    /// Moves everything from the WAL into the database file, so the file
    /// alone is a complete copy once the server has stopped.
    pub(super) fn checkpoint(&mut self) {
        let result = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            });
        match result {
            Ok((0, _, _)) => tracing::debug!("WAL checkpointed into the database file"),
            Ok((busy, log, done)) => {
                tracing::warn!(busy, log, done, "WAL checkpoint incomplete")
            }
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
        }
    }
}
