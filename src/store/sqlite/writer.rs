//! The one writer thread. It owns the write connection, drains its queue and
//! commits everything queued in one transaction (group commit), then publishes
//! the new messages in id order and answers each request. An insert is
//! acknowledged only after its transaction has committed (`synchronous=FULL`:
//! durable across a power cut).
//!
//! Faults: a constraint error fails only its own request (the batch is retried
//! one by one); anything else (busy, disk full, I/O) fails the whole batch at
//! once, nothing acked, and marks the writer unhealthy until a write succeeds.

use super::ops::{Committed, Op, Outcome, apply_all, reply_err};
use crate::domain::Username;
use crate::store::blob_dir::BlobDir;
use crate::store::files::{FileInfo, NewUpload};
use crate::store::models::{Change, Stored, User};
use crate::store::{MessageDone, MessageOp, NewMessage, RoomDone, RoomOp};
use crate::store::{StoreError, StoreResult};
use crate::telemetry::names;
use rusqlite::{Connection, ErrorCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

/// Called on the writer thread after each commit with its changes, in seq order.
pub type Publisher = Box<dyn Fn(&[Change]) + Send + 'static>;

/// Most requests committed in one transaction.
const MAX_BATCH: usize = 1024;
/// Requests that may wait in the queue before senders wait for room.
const QUEUE: usize = 8192;
/// A request not answered in this time fails (it may still commit later:
/// a retry with the same client id then finds it, never duplicates it).
const SUBMIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Most messages one indexing pass takes (about 10 ms of work).
const INDEX_PASS: usize = 2000;
/// How often new messages are indexed for search.
pub(super) const INDEX_EVERY: Duration = Duration::from_millis(100);
/// How long a health probe waits for the write lock.
const PROBE_LOCK_WAIT: Duration = Duration::from_millis(200);
/// Repeated write errors are logged at most this often.
const ERROR_LOG_EVERY: Duration = Duration::from_secs(10);

/// Counters of the writer's work, for tests and metrics.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Transactions committed.
    pub transactions: AtomicU64,
    /// Requests answered.
    pub operations: AtomicU64,
    /// Most requests carried by one transaction.
    pub max_batch: AtomicU64,
    /// The last write failed for a reason other than its own input.
    pub failing: AtomicBool,
}
/// Handle to the writer thread; cheap to clone.
#[derive(Clone)]
pub struct MessageWriter {
    tx: mpsc::Sender<Op>,
    stats: Arc<WriterStats>,
    done: watch::Receiver<bool>,
}

impl MessageWriter {
    /// Starts the writer thread on `conn`; file contents go to `blobs`.
    pub fn spawn(conn: Connection, publish: Publisher, blobs: BlobDir) -> StoreResult<Self> {
        let (writer, worker) = Self::new(conn, publish, blobs);
        std::thread::Builder::new()
            .name("hearth-writer".into())
            .spawn(move || worker.run())
            .map_err(|e| StoreError::Task(format!("cannot start the writer thread: {e}")))?;
        Ok(writer)
    }

    /// The handle and the (not yet running) worker, separately so tests can queue first.
    fn new(conn: Connection, publish: Publisher, blobs: BlobDir) -> (Self, Worker) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let (done_tx, done) = watch::channel(false);
        let stats = Arc::new(WriterStats::default());
        let worker = Worker {
            conn,
            rx,
            publish,
            stats: stats.clone(),
            done: done_tx,
            last_error_log: None,
            suppressed_errors: 0,
            last_seq: None,
            blobs,
            last_index: Instant::now(),
        };
        (Self { tx, stats, done }, worker)
    }

    /// The writer's counters.
    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    /// Queues a message insert and waits for its commit.
    pub async fn insert_message(&self, message: NewMessage) -> StoreResult<Stored> {
        self.submit(|reply| Op::InsertMessage { message, reply })
            .await
    }

    /// Queues an edit, deletion or reaction and waits for its commit.
    pub async fn message_op(&self, op: MessageOp) -> StoreResult<MessageDone> {
        self.submit(|reply| Op::Message { op, reply }).await
    }

    /// Records an upload (moving its content into place) and waits for the commit.
    pub async fn upload(&self, upload: NewUpload) -> StoreResult<FileInfo> {
        self.submit(|reply| Op::Upload { upload, reply }).await
    }

    /// Deletes uploads never sent, created before `before` (ms).
    pub async fn sweep_unsent(&self, before: i64) -> StoreResult<u64> {
        self.submit(|reply| Op::SweepUnsent { before, reply }).await
    }

    /// Queues a room change and waits for its commit.
    pub async fn room(&self, op: RoomOp) -> StoreResult<RoomDone> {
        self.submit(|reply| Op::Room { op, reply }).await
    }

    /// Queues an account creation and waits for its commit.
    pub async fn create_user(
        &self,
        username: Username,
        password_hash: String,
    ) -> StoreResult<User> {
        self.submit(|reply| Op::CreateUser {
            username,
            password_hash,
            reply,
        })
        .await
    }

    /// Records a signed-out session.
    pub async fn revoke_session(
        &self,
        sid: String,
        user_id: i64,
        expires_at: u64,
    ) -> StoreResult<()> {
        self.submit(|reply| Op::RevokeSession {
            sid,
            user_id,
            expires_at,
            reply,
        })
        .await
    }

    /// Runs portable statements in one transaction; the rows of each.
    pub async fn sql(
        &self,
        stmts: Vec<crate::store::sql::Stmt>,
    ) -> StoreResult<Vec<Vec<crate::store::sql::Row>>> {
        self.submit(|reply| Op::Sql { stmts, reply }).await
    }

    /// Whether the writer can commit now: it answers, takes the write lock,
    /// and (after a failure) can grow the database again.
    pub async fn probe(&self) -> StoreResult<()> {
        self.submit(|reply| Op::Probe { reply }).await
    }

    /// Publishes changes other processes (the admin CLI) committed, so they
    /// reach clients and the routing index even when the server writes nothing.
    pub async fn sync(&self) {
        let _ = self.tx.send(Op::Sync).await;
    }

    /// The writer thread has stopped (or no longer takes requests).
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed() || *self.done.borrow()
    }

    /// Indexes the messages stored since the last pass, for search.
    pub async fn index_tick(&self) {
        let _ = self.tx.send(Op::IndexTick).await;
    }

    /// Test hook: caps the database at `pages` pages (`PRAGMA max_page_count`)
    /// to simulate a full disk; returns the cap in force.
    #[doc(hidden)]
    pub async fn set_page_limit(&self, pages: i64) -> StoreResult<i64> {
        self.submit(|reply| Op::PageLimit { pages, reply }).await
    }

    async fn submit<T>(
        &self,
        op: impl FnOnce(oneshot::Sender<StoreResult<T>>) -> Op,
    ) -> StoreResult<T> {
        let (reply, rx) = oneshot::channel();
        let op = op(reply);
        let answered = tokio::time::timeout(SUBMIT_TIMEOUT, async {
            self.tx.send(op).await.map_err(|_| StoreError::Closed)?;
            rx.await.map_err(|_| StoreError::Closed)?
        })
        .await;
        answered.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the database did not answer in time".into(),
            ))
        })
    }

    /// Refuses new requests, commits the queued ones, checkpoints the WAL into
    /// the database file and waits (at most `timeout`) for the thread to end.
    pub async fn close(&self, timeout: Duration) -> bool {
        let _ = tokio::time::timeout(timeout, self.tx.send(Op::Shutdown)).await;
        let mut done = self.done.clone();
        tokio::time::timeout(timeout, done.wait_for(|d| *d))
            .await
            .is_ok()
    }
}

struct Worker {
    conn: Connection,
    rx: mpsc::Receiver<Op>,
    publish: Publisher,
    stats: Arc<WriterStats>,
    done: watch::Sender<bool>,
    last_error_log: Option<Instant>,
    suppressed_errors: u64,
    /// The newest seq published (read at start).
    last_seq: Option<i64>,
    /// Where file contents live.
    blobs: BlobDir,
    /// When new messages were last indexed for search.
    last_index: Instant,
}

impl Worker {
    fn run(mut self) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while let Some(first) = self.rx.blocking_recv() {
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match self.rx.try_recv() {
                    Ok(op) => batch.push(op),
                    Err(_) => break,
                }
            }
            let stop = batch.iter().any(|op| matches!(op, Op::Shutdown));
            if stop {
                // Requests already queued behind the shutdown still get committed.
                self.rx.close();
                while let Ok(op) = self.rx.try_recv() {
                    batch.push(op);
                }
            }
            let (controls, writes): (Vec<Op>, Vec<Op>) = std::mem::take(&mut batch)
                .into_iter()
                .partition(Op::is_control);
            self.commit(writes);
            for op in controls {
                self.control(op);
            }
            if stop {
                self.checkpoint();
                break;
            }
        }
        tracing::debug!("writer thread stopped");
        let _ = self.done.send(true);
    }

    /// Commits `batch` in one transaction. A constraint error is retried
    /// request by request, so one bad request cannot fail the others; any
    /// other error fails the whole batch at once (retrying would only wait
    /// on the same lock or full disk again).
    fn commit(&mut self, batch: Vec<Op>) {
        if batch.is_empty() {
            return;
        }
        let started = Instant::now();
        let last_seq = self.last_seq();
        // Under load, indexing rides on a batch's transaction (no commit of
        // its own); the tick covers a quiet writer.
        let index = self.last_index.elapsed() >= INDEX_EVERY;
        let index_max = if index { INDEX_PASS } else { 0 };
        match apply_all(&mut self.conn, &batch, last_seq, &self.blobs, index_max) {
            Ok(Committed {
                outcomes,
                changes,
                dropped,
            }) => {
                self.stats.failing.store(false, Ordering::Relaxed);
                if index {
                    self.last_index = Instant::now();
                }
                self.record(batch.len(), started);
                if let Some(last) = changes.last() {
                    self.last_seq = Some(last.seq);
                }
                let deleted = changes
                    .iter()
                    .any(|c| matches!(c.kind, crate::store::ChangeKind::Deleted { .. }));
                self.finish(batch, outcomes, &changes);
                self.unlink(&dropped);
                if deleted {
                    self.wipe_wal();
                }
            }
            Err(err) if batch.len() > 1 && is_constraint(&err) => {
                tracing::warn!(error = %err, size = batch.len(), "constraint error in a batch; committing its requests one by one");
                for op in batch {
                    self.commit(vec![op]);
                }
            }
            Err(err) => {
                let store_err = if is_constraint(&err) {
                    StoreError::Sqlite(err)
                } else {
                    self.stats.failing.store(true, Ordering::Relaxed);
                    self.log_failure(&err, batch.len());
                    StoreError::Unavailable(err.to_string())
                };
                for op in batch {
                    reply_err(op, &store_err);
                }
            }
        }
    }

    /// Logs a failed batch, at most once per [`ERROR_LOG_EVERY`]: a full disk
    /// fails every send, and one line each would flood the log.
    fn log_failure(&mut self, err: &rusqlite::Error, size: usize) {
        let due = self
            .last_error_log
            .is_none_or(|at| at.elapsed() >= ERROR_LOG_EVERY);
        if due {
            tracing::error!(
                error = %err,
                requests = size,
                suppressed = self.suppressed_errors,
                "write failed; nothing was acknowledged (clients retry with the same client_id)"
            );
            self.last_error_log = Some(Instant::now());
            self.suppressed_errors = 0;
        } else {
            self.suppressed_errors += 1;
        }
    }

    /// The newest seq published: read from the database the first time.
    fn last_seq(&mut self) -> i64 {
        *self.last_seq.get_or_insert_with(|| {
            self.conn
                .query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))
                .unwrap_or(0)
        })
    }

    fn record(&self, size: usize, started: Instant) {
        let size = size as u64;
        self.stats.transactions.fetch_add(1, Ordering::Relaxed);
        self.stats.operations.fetch_add(size, Ordering::Relaxed);
        self.stats.max_batch.fetch_max(size, Ordering::Relaxed);
        metrics::histogram!(names::DB_COMMIT_SECONDS).record(started.elapsed().as_secs_f64());
        metrics::histogram!(names::DB_BATCH_SIZE).record(size as f64);
    }

    /// Publishes the changes (in seq order) and then answers every request.
    fn finish(&self, batch: Vec<Op>, outcomes: Vec<Outcome>, changes: &[Change]) {
        if !changes.is_empty() {
            let messages = changes
                .iter()
                .filter(|c| matches!(c.kind, crate::store::models::ChangeKind::Message(_)))
                .count();
            metrics::counter!(names::MESSAGES_STORED).increment(messages as u64);
            (self.publish)(changes);
        }
        for (op, outcome) in batch.into_iter().zip(outcomes) {
            match (op, outcome) {
                (Op::InsertMessage { reply, .. }, Outcome::Message(s)) => {
                    let _ = reply.send(s);
                }
                (Op::CreateUser { reply, .. }, Outcome::User(u)) => {
                    let _ = reply.send(u);
                }
                (Op::Room { reply, .. }, Outcome::Room(r)) => {
                    let _ = reply.send(r);
                }
                (Op::Message { reply, .. }, Outcome::MessageOp(r)) => {
                    let _ = reply.send(r);
                }
                (Op::Upload { reply, .. }, Outcome::File(f)) => {
                    let _ = reply.send(f);
                }
                (Op::SweepUnsent { reply, .. }, Outcome::Count(n)) => {
                    let _ = reply.send(Ok(n));
                }
                (Op::RevokeSession { reply, .. }, Outcome::Done) => {
                    let _ = reply.send(Ok(()));
                }
                (Op::Sql { reply, .. }, Outcome::Rows(r)) => {
                    let _ = reply.send(r);
                }
                _ => {}
            }
        }
    }
}
/// A constraint violation is the request's own fault; anything else (busy,
/// full, I/O, corruption) is the database's.
fn is_constraint(err: &rusqlite::Error) -> bool {
    err.sqlite_error_code() == Some(ErrorCode::ConstraintViolation)
}

#[path = "writer_upkeep.rs"]
mod upkeep;

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
