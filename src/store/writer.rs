//! The one writer thread. It owns the write connection, drains its queue and
//! commits everything queued in one transaction (group commit), then publishes
//! the new messages in id order and answers each request. An insert is
//! acknowledged only after its transaction has committed.

use super::models::{Message, RoomRef, Stored, User, now_ms};
use super::{StoreError, StoreResult};
use crate::domain::{ClientId, MessageBody, Username};
use crate::telemetry::names;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::sync::{mpsc, oneshot, watch};

/// Called on the writer thread after each commit with the new messages, in id order.
pub type Publisher = Box<dyn Fn(&[Message]) + Send + 'static>;

/// Most requests committed in one transaction.
const MAX_BATCH: usize = 1024;
/// Requests that may wait in the queue before senders wait for room.
const QUEUE: usize = 8192;

/// Counters of the writer's work, for tests and metrics.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Transactions committed.
    pub transactions: AtomicU64,
    /// Requests answered.
    pub operations: AtomicU64,
    /// Most requests carried by one transaction.
    pub max_batch: AtomicU64,
}

enum Op {
    InsertMessage {
        room: RoomRef,
        user_id: i64,
        username: String,
        body: MessageBody,
        client_id: ClientId,
        reply: oneshot::Sender<StoreResult<Stored>>,
    },
    CreateUser {
        username: Username,
        password_hash: String,
        reply: oneshot::Sender<StoreResult<User>>,
    },
    Shutdown,
}

/// What one request produced inside a transaction that then committed.
enum Outcome {
    Message(Stored),
    User(StoreResult<User>),
    None,
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
        room: RoomRef,
        user_id: i64,
        username: String,
        body: MessageBody,
        client_id: ClientId,
    ) -> StoreResult<Stored> {
        let (reply, rx) = oneshot::channel();
        self.submit(
            Op::InsertMessage {
                room,
                user_id,
                username,
                body,
                client_id,
                reply,
            },
            rx,
        )
        .await
    }

    /// Queues an account creation and waits for its commit.
    pub async fn create_user(
        &self,
        username: Username,
        password_hash: String,
    ) -> StoreResult<User> {
        let (reply, rx) = oneshot::channel();
        self.submit(
            Op::CreateUser {
                username,
                password_hash,
                reply,
            },
            rx,
        )
        .await
    }

    async fn submit<T>(&self, op: Op, rx: oneshot::Receiver<StoreResult<T>>) -> StoreResult<T> {
        self.tx.send(op).await.map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Refuses new requests, commits the queued ones and waits for the thread to end.
    pub async fn close(&self) {
        let _ = self.tx.send(Op::Shutdown).await;
        let mut done = self.done.clone();
        let _ = done.wait_for(|d| *d).await;
    }
}

struct Worker {
    conn: Connection,
    rx: mpsc::Receiver<Op>,
    publish: Publisher,
    stats: Arc<WriterStats>,
    done: watch::Sender<bool>,
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
            self.commit(std::mem::take(&mut batch));
            if stop {
                break;
            }
        }
        tracing::debug!("writer thread stopped");
        let _ = self.done.send(true);
    }

    /// Commits `batch` in one transaction. If any request fails, the transaction
    /// is rolled back and each request is retried alone, so one bad request
    /// cannot fail the others.
    fn commit(&mut self, batch: Vec<Op>) {
        if batch.is_empty() {
            return;
        }
        let started = Instant::now();
        let result = apply_all(&mut self.conn, &batch);
        match result {
            Ok(outcomes) => {
                self.record(batch.len(), started);
                self.finish(batch, outcomes);
            }
            Err(err) if batch.len() > 1 => {
                tracing::warn!(error = %err, size = batch.len(), "batch failed; retrying its requests one by one");
                for op in batch {
                    self.commit(vec![op]);
                }
            }
            Err(err) => {
                tracing::error!(error = %err, "write failed");
                for op in batch {
                    reply_err(op, &err);
                }
            }
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

    /// Publishes the new messages (in id order) and then answers every request.
    fn finish(&self, batch: Vec<Op>, outcomes: Vec<Outcome>) {
        let fresh: Vec<Message> = outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Message(s) if s.created => Some(s.message.clone()),
                _ => None,
            })
            .collect();
        if !fresh.is_empty() {
            metrics::counter!(names::MESSAGES_STORED).increment(fresh.len() as u64);
            (self.publish)(&fresh);
        }
        for (op, outcome) in batch.into_iter().zip(outcomes) {
            match (op, outcome) {
                (Op::InsertMessage { reply, .. }, Outcome::Message(s)) => {
                    let _ = reply.send(Ok(s));
                }
                (Op::CreateUser { reply, .. }, Outcome::User(u)) => {
                    let _ = reply.send(u);
                }
                _ => {}
            }
        }
    }
}

fn reply_err(op: Op, err: &rusqlite::Error) {
    let err = || StoreError::Task(format!("write failed: {err}"));
    match op {
        Op::InsertMessage { reply, .. } => {
            let _ = reply.send(Err(err()));
        }
        Op::CreateUser { reply, .. } => {
            let _ = reply.send(Err(err()));
        }
        Op::Shutdown => {}
    }
}

fn apply_all(conn: &mut Connection, batch: &[Op]) -> rusqlite::Result<Vec<Outcome>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = now_ms();
    let mut outcomes = Vec::with_capacity(batch.len());
    for op in batch {
        outcomes.push(apply(&tx, op, now)?);
    }
    tx.commit()?;
    Ok(outcomes)
}

fn apply(conn: &Connection, op: &Op, now: i64) -> rusqlite::Result<Outcome> {
    match op {
        Op::InsertMessage {
            room,
            user_id,
            username,
            body,
            client_id,
            ..
        } => insert_message(conn, *room, *user_id, username, body, client_id, now)
            .map(Outcome::Message),
        Op::CreateUser {
            username,
            password_hash,
            ..
        } => create_user(conn, username, password_hash, now).map(Outcome::User),
        Op::Shutdown => Ok(Outcome::None),
    }
}

fn insert_message(
    conn: &Connection,
    room: RoomRef,
    user_id: i64,
    username: &str,
    body: &MessageBody,
    client_id: &ClientId,
    now: i64,
) -> rusqlite::Result<Stored> {
    let inserted: Option<i64> = conn
        .prepare_cached(
            "INSERT INTO messages (room_id, user_id, content, created_at, client_id)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (user_id, client_id) DO NOTHING
             RETURNING id",
        )?
        .query_row(
            params![room.id, user_id, body.as_str(), now, client_id.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = inserted {
        let message = Message {
            id,
            room: room.name,
            user_id,
            username: username.to_owned(),
            content: body.as_str().to_owned(),
            created_at: now,
            client_id: client_id.as_str().to_owned(),
        };
        return Ok(Stored {
            message,
            created: true,
        });
    }
    // A repeat of an earlier send: answer with the stored row, insert nothing.
    let message = conn
        .prepare_cached(
            "SELECT id, content, created_at FROM messages WHERE user_id = ?1 AND client_id = ?2",
        )?
        .query_row(params![user_id, client_id.as_str()], |r| {
            Ok(Message {
                id: r.get(0)?,
                room: room.name,
                user_id,
                username: username.to_owned(),
                content: r.get(1)?,
                created_at: r.get(2)?,
                client_id: client_id.as_str().to_owned(),
            })
        })?;
    Ok(Stored {
        message,
        created: false,
    })
}

fn create_user(
    conn: &Connection,
    username: &Username,
    password_hash: &str,
    now: i64,
) -> rusqlite::Result<StoreResult<User>> {
    let row: Option<(i64, bool)> = conn
        .prepare_cached(
            "INSERT INTO users (username, password_hash, created_at, is_admin)
             VALUES (?1, ?2, ?3, NOT EXISTS (SELECT 1 FROM users))
             ON CONFLICT (username) DO NOTHING
             RETURNING id, is_admin",
        )?
        .query_row(params![username.as_str(), password_hash, now], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    Ok(match row {
        Some((id, is_admin)) => Ok(User {
            id,
            username: username.as_str().to_owned(),
            is_admin,
            created_at: now,
        }),
        None => Err(StoreError::Conflict),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{LOBBY, open_db};
    use std::sync::Mutex;

    fn body(s: &str) -> MessageBody {
        MessageBody::parse(s).unwrap()
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
            Box::new(move |m: &[Message]| sink.lock().unwrap().extend(m.iter().map(|m| m.id)));
        let (writer, worker) = MessageWriter::new(db.conn, publish);

        // Queue 200 inserts before the worker runs, as a burst of senders would.
        let mut tasks = Vec::new();
        for i in 0..200 {
            let w = writer.clone();
            tasks.push(tokio::spawn(async move {
                let cid = ClientId::parse(&format!("c{i}")).unwrap();
                w.insert_message(LOBBY, 1, "alice".into(), body(&format!("m{i}")), cid)
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
        writer.close().await;
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
            Box::new(move |m: &[Message]| {
                c.fetch_add(m.len() as u64, Ordering::Relaxed);
            }),
        )
        .unwrap();
        let user = writer
            .create_user(Username::parse("bob").unwrap(), "x".into())
            .await
            .unwrap();
        let cid = ClientId::parse("same").unwrap();
        let a = writer
            .insert_message(LOBBY, user.id, "bob".into(), body("hello"), cid.clone())
            .await
            .unwrap();
        let b = writer
            .insert_message(LOBBY, user.id, "bob".into(), body("other"), cid)
            .await
            .unwrap();
        assert!(a.created && !b.created);
        assert_eq!(a.message, b.message);
        assert_eq!(count.load(Ordering::Relaxed), 1);
        let dup = writer
            .create_user(Username::parse("BOB").unwrap(), "x".into())
            .await;
        assert!(matches!(dup, Err(StoreError::Conflict)));
        writer.close().await;
        let after = writer
            .insert_message(
                LOBBY,
                user.id,
                "bob".into(),
                body("late"),
                ClientId::generate(),
            )
            .await;
        assert!(matches!(after, Err(StoreError::Closed)));
    }
}
