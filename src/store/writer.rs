//! The one writer thread. It owns the write connection, drains its queue and
//! commits everything queued in one transaction (group commit), then publishes
//! the new messages in id order and answers each request. An insert is
//! acknowledged only after its transaction has committed (`synchronous=FULL`:
//! durable across a power cut).
//!
//! Faults: a constraint error fails only its own request (the batch is retried
//! one by one); anything else (busy, disk full, I/O) fails the whole batch at
//! once, nothing acked, and marks the writer unhealthy until a write succeeds.

use super::models::{Change, Room, RoomKind, Stored, User, UserRef, now_ms};
use super::room_reads;
use super::room_writes::{self, Tx};
use super::writes;
use super::{StoreError, StoreResult};
use crate::domain::{ClientId, MessageBody, RoomName, Topic, Username};
use crate::telemetry::names;
use rusqlite::{Connection, ErrorCode, TransactionBehavior};
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

enum Op {
    InsertMessage {
        room_id: i64,
        sender: UserRef,
        body: MessageBody,
        client_id: ClientId,
        reply: oneshot::Sender<StoreResult<Stored>>,
    },
    Room {
        op: RoomOp,
        reply: oneshot::Sender<StoreResult<RoomDone>>,
    },
    CreateUser {
        username: Username,
        password_hash: String,
        reply: oneshot::Sender<StoreResult<User>>,
    },
    RevokeSession {
        sid: String,
        user_id: i64,
        expires_at: u64,
        reply: oneshot::Sender<StoreResult<()>>,
    },
    /// Answered outside the batch: can the writer take the lock and grow the file?
    Probe {
        reply: oneshot::Sender<StoreResult<()>>,
    },
    /// Publish what other processes committed (the admin CLI).
    Sync,
    /// Test hook: `PRAGMA max_page_count`, to simulate a full disk.
    PageLimit {
        pages: i64,
        reply: oneshot::Sender<StoreResult<i64>>,
    },
    Shutdown,
}

impl Op {
    /// Control requests are not part of the batch's transaction.
    fn is_control(&self) -> bool {
        matches!(
            self,
            Op::Probe { .. } | Op::PageLimit { .. } | Op::Sync | Op::Shutdown
        )
    }
}

/// What one request produced inside a transaction that then committed.
enum Outcome {
    Message(StoreResult<Stored>),
    User(StoreResult<User>),
    Room(StoreResult<RoomDone>),
    Done,
}

/// Handle to the writer thread; cheap to clone.
#[derive(Clone)]
pub struct MessageWriter {
    tx: mpsc::Sender<Op>,
    stats: Arc<WriterStats>,
    done: watch::Receiver<bool>,
}

impl MessageWriter {
    /// Starts the writer thread on `conn`.
    pub fn spawn(conn: Connection, publish: Publisher) -> StoreResult<Self> {
        let (writer, worker) = Self::new(conn, publish);
        std::thread::Builder::new()
            .name("hearth-writer".into())
            .spawn(move || worker.run())
            .map_err(|e| StoreError::Task(format!("cannot start the writer thread: {e}")))?;
        Ok(writer)
    }

    /// The handle and the (not yet running) worker, separately so tests can queue first.
    fn new(conn: Connection, publish: Publisher) -> (Self, Worker) {
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
        };
        (Self { tx, stats, done }, worker)
    }

    /// The writer's counters.
    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    /// Queues a message insert and waits for its commit.
    pub async fn insert_message(
        &self,
        room_id: i64,
        sender: UserRef,
        body: MessageBody,
        client_id: ClientId,
    ) -> StoreResult<Stored> {
        self.submit(|reply| Op::InsertMessage {
            room_id,
            sender,
            body,
            client_id,
            reply,
        })
        .await
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
        match apply_all(&mut self.conn, &batch, last_seq) {
            Ok((outcomes, changes)) => {
                self.stats.failing.store(false, Ordering::Relaxed);
                self.record(batch.len(), started);
                if let Some(last) = changes.last() {
                    self.last_seq = Some(last.seq);
                }
                self.finish(batch, outcomes, &changes);
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

    fn control(&mut self, op: Op) {
        match op {
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
        let _ = self.conn.busy_timeout(super::schema::BUSY_TIMEOUT);
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
    fn checkpoint(&mut self) {
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
                .filter(|c| matches!(c.kind, super::models::ChangeKind::Message(_)))
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
                (Op::RevokeSession { reply, .. }, Outcome::Done) => {
                    let _ = reply.send(Ok(()));
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

fn reply_err(op: Op, err: &StoreError) {
    let err = || match err {
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        other => StoreError::Task(format!("write failed: {other}")),
    };
    match op {
        Op::InsertMessage { reply, .. } => {
            let _ = reply.send(Err(err()));
        }
        Op::Room { reply, .. } => {
            let _ = reply.send(Err(err()));
        }
        Op::CreateUser { reply, .. } => {
            let _ = reply.send(Err(err()));
        }
        Op::RevokeSession { reply, .. } => {
            let _ = reply.send(Err(err()));
        }
        Op::Probe { reply } => {
            let _ = reply.send(Err(err()));
        }
        Op::Sync => {}
        Op::PageLimit { reply, .. } => {
            let _ = reply.send(Err(err()));
        }
        Op::Shutdown => {}
    }
}

/// Commits `batch`; returns each request's outcome and the changes to
/// publish: first those another process (the admin CLI) committed since
/// `last_seq` (the write lock now held means none can come in between), then
/// the batch's own, so clients see them in seq order.
fn apply_all(
    conn: &mut Connection,
    batch: &[Op],
    last_seq: i64,
) -> rusqlite::Result<(Vec<Outcome>, Vec<Change>)> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = now_ms();
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut changes = foreign_changes(&tx, last_seq)?;
    for op in batch {
        let mut t = Tx {
            conn: &tx,
            now,
            changes: &mut changes,
        };
        outcomes.push(apply(&mut t, op)?);
    }
    tx.commit()?;
    Ok((outcomes, changes))
}

/// Changes after `last_seq` that this process did not write (cheap when
/// there are none: one lookup of the highest seq).
fn foreign_changes(conn: &Connection, last_seq: i64) -> rusqlite::Result<Vec<Change>> {
    let head: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM events")?
        .query_row([], |r| r.get(0))?;
    if head <= last_seq {
        return Ok(Vec::new());
    }
    room_reads::changes_after(conn, last_seq)
}

/// Runs one request. A database error aborts the whole transaction (`Err`);
/// a refusal of this request alone (not found, forbidden, …) is its outcome.
fn apply(tx: &mut Tx<'_>, op: &Op) -> rusqlite::Result<Outcome> {
    Ok(match op {
        Op::InsertMessage {
            room_id,
            sender,
            body,
            client_id,
            ..
        } => Outcome::Message(refusal(room_writes::insert_message(
            tx, *room_id, sender, body, client_id,
        ))?),
        Op::Room { op, .. } => Outcome::Room(refusal(atomically(tx, |tx| room_op(tx, op)))?),
        Op::CreateUser {
            username,
            password_hash,
            ..
        } => {
            let user = writes::create_user(tx.conn, username, password_hash, tx.now)?;
            if let Ok(user) = &user {
                let member = UserRef {
                    id: user.id,
                    username: user.username.clone(),
                };
                if let Err(e) = refusal(room_writes::join_lobby(tx, &member))? {
                    return Ok(Outcome::User(Err(e)));
                }
            }
            Outcome::User(user)
        }
        Op::RevokeSession {
            sid,
            user_id,
            expires_at,
            ..
        } => {
            writes::revoke_session(tx.conn, sid, *user_id, *expires_at, tx.now)?;
            Outcome::Done
        }
        Op::Probe { .. } | Op::PageLimit { .. } | Op::Sync | Op::Shutdown => Outcome::Done,
    })
}

/// Separates database errors (which abort the batch) from refusals.
fn refusal<T>(result: StoreResult<T>) -> rusqlite::Result<StoreResult<T>> {
    match result {
        Err(StoreError::Sqlite(e)) => Err(e),
        other => Ok(other),
    }
}

/// Runs `f` in a savepoint: a refusal half-way leaves no row and no change behind.
fn atomically<T>(tx: &mut Tx<'_>, f: impl FnOnce(&mut Tx<'_>) -> StoreResult<T>) -> StoreResult<T> {
    let mark = tx.changes.len();
    tx.conn.execute_batch("SAVEPOINT room_op")?;
    let result = f(tx);
    if result.is_ok() {
        tx.conn.execute_batch("RELEASE room_op")?;
    } else {
        tx.changes.truncate(mark);
        tx.conn
            .execute_batch("ROLLBACK TO room_op; RELEASE room_op")?;
    }
    result
}

fn room_op(tx: &mut Tx<'_>, op: &RoomOp) -> StoreResult<RoomDone> {
    Ok(match op {
        RoomOp::Create {
            creator,
            name,
            kind,
            topic,
            member_ids,
        } => RoomDone::Room(room_writes::create_room(
            tx,
            Some(creator),
            name,
            *kind,
            topic,
            member_ids,
        )?),
        RoomOp::Direct { creator, user_ids } => {
            let (room, created) = room_writes::direct_room(tx, creator, user_ids)?;
            RoomDone::Direct(room, created)
        }
        RoomOp::AddMembers {
            room_id,
            actor,
            user_ids,
        } => RoomDone::Added(room_writes::add_members(
            tx,
            *room_id,
            Some(actor),
            user_ids,
        )?),
        RoomOp::Join { room_id, user } => RoomDone::Room(room_writes::join(tx, *room_id, user)?),
        RoomOp::Remove {
            room_id,
            actor,
            target,
        } => {
            room_writes::remove_member(tx, *room_id, actor, *target)?;
            RoomDone::Done
        }
        RoomOp::Update {
            room_id,
            actor,
            name,
            topic,
        } => RoomDone::Room(room_writes::update_room(
            tx,
            *room_id,
            actor,
            name.as_ref(),
            topic.as_ref(),
        )?),
        RoomOp::Archive {
            room_id,
            actor,
            archived,
        } => RoomDone::Room(room_writes::set_archived(
            tx,
            *room_id,
            Some(actor),
            *archived,
        )?),
        RoomOp::Read {
            room_id,
            user,
            last_read_id,
        } => {
            room_writes::mark_read(tx, *room_id, user, *last_read_id)?;
            RoomDone::Done
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ChangeKind, LOBBY_ID, open_db};
    use std::sync::Mutex;

    fn body(s: &str) -> MessageBody {
        MessageBody::parse(s).unwrap()
    }

    fn user(id: i64, name: &str) -> UserRef {
        UserRef {
            id,
            username: name.into(),
        }
    }

    /// The ids of the messages among `changes`.
    fn message_ids(changes: &[Change]) -> impl Iterator<Item = i64> + '_ {
        changes.iter().filter_map(|c| match &c.kind {
            ChangeKind::Message(m) => Some(m.id),
            _ => None,
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_transaction_carries_many_queued_inserts() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_db(&dir.path().join("t.db")).unwrap();
        db.conn
            .execute(
                "INSERT INTO users (username, password_hash, created_at) VALUES ('alice', 'x', 0)",
                [],
            )
            .unwrap();
        let published = Arc::new(Mutex::new(Vec::new()));
        let sink = published.clone();
        let publish: Publisher =
            Box::new(move |c: &[Change]| sink.lock().unwrap().extend(message_ids(c)));
        let (writer, worker) = MessageWriter::new(db.conn, publish);

        // Queue 200 inserts before the worker runs, as a burst of senders would.
        let mut tasks = Vec::new();
        for i in 0..200 {
            let w = writer.clone();
            tasks.push(tokio::spawn(async move {
                let cid = ClientId::parse(&format!("c{i}")).unwrap();
                w.insert_message(LOBBY_ID, user(1, "alice"), body(&format!("m{i}")), cid)
                    .await
            }));
        }
        while writer.tx.capacity() > QUEUE - 200 {
            tokio::task::yield_now().await;
        }
        let handle = std::thread::spawn(move || worker.run());
        let mut ids = Vec::new();
        for t in tasks {
            ids.push(t.await.unwrap().unwrap().message.id);
        }
        assert_eq!(
            writer.stats().transactions.load(Ordering::Relaxed),
            1,
            "one commit for the whole queue"
        );
        assert_eq!(writer.stats().max_batch.load(Ordering::Relaxed), 200);
        ids.sort_unstable();
        assert_eq!(ids, (1..=200).collect::<Vec<i64>>());
        let published = published.lock().unwrap().clone();
        assert_eq!(published, ids, "published once each, in id order");
        assert!(writer.close(Duration::from_secs(5)).await);
        handle.join().unwrap();
    }

    #[tokio::test]
    async fn repeat_client_id_returns_the_same_row_and_publishes_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_db(&dir.path().join("t.db")).unwrap();
        let count = Arc::new(AtomicU64::new(0));
        let c = count.clone();
        let writer = MessageWriter::spawn(
            db.conn,
            Box::new(move |changes: &[Change]| {
                c.fetch_add(message_ids(changes).count() as u64, Ordering::Relaxed);
            }),
        )
        .unwrap();
        let u = writer
            .create_user(Username::parse("bob").unwrap(), "x".into())
            .await
            .unwrap();
        let cid = ClientId::parse("same").unwrap();
        let a = writer
            .insert_message(LOBBY_ID, user(u.id, "bob"), body("hello"), cid.clone())
            .await
            .unwrap();
        let b = writer
            .insert_message(LOBBY_ID, user(u.id, "bob"), body("other"), cid)
            .await
            .unwrap();
        assert!(a.created && !b.created);
        assert_eq!(a.message, b.message);
        assert_eq!(count.load(Ordering::Relaxed), 1);
        let dup = writer
            .create_user(Username::parse("BOB").unwrap(), "x".into())
            .await;
        assert!(matches!(dup, Err(StoreError::Conflict)));
        assert!(writer.close(Duration::from_secs(5)).await);
        let after = writer
            .insert_message(
                LOBBY_ID,
                user(u.id, "bob"),
                body("late"),
                ClientId::generate(),
            )
            .await;
        assert!(matches!(after, Err(StoreError::Closed)));
    }

    fn open_with_user(dir: &std::path::Path) -> Connection {
        let db = open_db(&dir.join("t.db")).unwrap();
        db.conn
            .execute(
                "INSERT INTO users (username, password_hash, created_at) VALUES ('alice', 'x', 0)",
                [],
            )
            .unwrap();
        db.conn
    }

    async fn send(w: &MessageWriter, i: usize, text: &str) -> StoreResult<Stored> {
        let cid = ClientId::parse(&format!("c{i}")).unwrap();
        w.insert_message(LOBBY_ID, user(1, "alice"), body(text), cid)
            .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_locked_database_fails_the_whole_batch_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open_with_user(dir.path());
        conn.busy_timeout(Duration::from_millis(300)).unwrap();
        let writer = MessageWriter::spawn(conn, Box::new(|_: &[Change]| {})).unwrap();
        let other = Connection::open(dir.path().join("t.db")).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let started = Instant::now();
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let w = writer.clone();
                tokio::spawn(async move { send(&w, i, "locked out").await })
            })
            .collect();
        for t in tasks {
            assert!(matches!(t.await.unwrap(), Err(StoreError::Unavailable(_))));
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "not retried one by one: {:?}",
            started.elapsed()
        );
        assert!(writer.stats().failing.load(Ordering::Relaxed));
        assert!(writer.probe().await.is_err(), "the lock is still held");
        other.execute_batch("ROLLBACK").unwrap();
        writer.probe().await.unwrap();
        assert!(!writer.stats().failing.load(Ordering::Relaxed));
        assert!(send(&writer, 0, "retried").await.unwrap().created);
        assert!(writer.close(Duration::from_secs(5)).await);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_database_acks_nothing_and_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let writer =
            MessageWriter::spawn(open_with_user(dir.path()), Box::new(|_: &[Change]| {})).unwrap();
        let pages = writer.set_page_limit(1).await.unwrap();
        writer.set_page_limit(pages).await.unwrap();
        let text = "满".repeat(1500);
        let mut acked = 0;
        let mut failed = 0;
        for i in 0..200 {
            match send(&writer, i, &text).await {
                Ok(_) => acked += 1,
                Err(StoreError::Unavailable(_)) => failed += 1,
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert!(failed > 0, "the cap was reached");
        assert!(writer.probe().await.is_err(), "cannot grow while full");
        writer.set_page_limit(1_000_000).await.unwrap();
        writer.probe().await.unwrap();
        assert!(send(&writer, 1000, "space again").await.unwrap().created);
        assert!(writer.close(Duration::from_secs(5)).await);
        let check = Connection::open(dir.path().join("t.db")).unwrap();
        let rows: i64 = check
            .query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            rows,
            acked + 1,
            "every acked message has a row, nothing else"
        );
    }
}
