//! The cluster store: PostgreSQL, shared by every node of a team. Writes
//! take the stream lock ([`tx`]) so seqs follow commit order; each node's
//! publisher ([`listener`]) wakes on `LISTEN hearth_events` (or its own
//! commits, or a slow timer) and reads the events after the last seq it
//! published, so every node hands the hub every change once, in order.

mod batch;
mod changes;
mod conn;
mod files;
mod import;
mod limits;
mod listener;
mod message_edits;
mod presence;
mod reads;
mod room_writes;
mod rows;
mod schema;
mod search;
mod tx;
mod writes;

pub use import::Import;
pub use listener::{LISTENER_NAME, TypingNote};

use super::{
    MessageDone, MessageOp, NewMessage, Publisher, RoomDone, RoomOp, StoreError, StoreResult,
    Stored, User, UserRef, WriterStats,
};
use crate::domain::Username;
use conn::Conn;
use deadpool_postgres::{Client, Manager, ManagerConfig, Pool, RecyclingMethod};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, watch};
use tokio_postgres::NoTls;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Connections each node keeps to the database.
const POOL_SIZE: usize = 16;
/// A request not answered in this time fails (it may still commit later: a
/// retry with the same client id then finds it, never duplicates it).
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// The PostgreSQL store of one node.
pub struct PgStore {
    pool: Pool,
    config: tokio_postgres::Config,
    epoch: String,
    secret: Vec<u8>,
    head_seq: i64,
    stats: Arc<WriterStats>,
    /// Wakes this node's publisher after its own commits.
    wake: Arc<Notify>,
    /// Wakes the cluster presence task when another node's set changed.
    presence_wake: Arc<Notify>,
    /// The newest seq this node's publisher has handed to the hub.
    published: Arc<watch::Sender<i64>>,
    stop: CancellationToken,
    tasks: TaskTracker,
    /// The queue of the group-commit task.
    sends: tokio::sync::mpsc::Sender<batch::Send>,
    /// Other nodes' typing indicators.
    typing: tokio::sync::broadcast::Sender<TypingNote>,
    /// Marks this node's own typing notifications.
    origin: Arc<str>,
}

impl PgStore {
    /// Connects to `url`, brings the schema up to date and reads the shared
    /// values. Nothing is published until [`PgStore::start`].
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Task(format!("not a PostgreSQL URL: {e}")))?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .wait_timeout(Some(WRITE_TIMEOUT))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Task(format!("cannot set up the connection pool: {e}")))?;
        let mut client = pool.get().await?;
        schema::migrate(&mut client).await?;
        let (epoch, secret) = schema::shared_meta(&client).await?;
        let head_seq = client.one("SELECT seq FROM stream_head", &[]).await?.get(0);
        let stats = Arc::new(WriterStats::default());
        let wake = Arc::new(Notify::new());
        let sends = batch::start(pool.clone(), wake.clone(), stats.clone());
        Ok(Self {
            sends,
            pool,
            config,
            epoch,
            secret,
            head_seq,
            stats,
            wake,
            presence_wake: Arc::new(Notify::new()),
            published: Arc::new(watch::Sender::new(head_seq)),
            stop: CancellationToken::new(),
            tasks: TaskTracker::new(),
            typing: tokio::sync::broadcast::channel(256).0,
            origin: Arc::from(uuid::Uuid::new_v4().simple().to_string()),
        })
    }

    /// Starts the listener and the publisher: from now on `publish` gets
    /// every change after [`PgStore::head_seq`], from every node, in seq order.
    pub fn start(&self, publish: Publisher) {
        let ears = listener::Ears {
            wake: self.wake.clone(),
            presence: self.presence_wake.clone(),
            typing: self.typing.clone(),
            origin: self.origin.clone(),
        };
        self.tasks.spawn(listener::listen(
            self.config.clone(),
            ears,
            self.stop.clone(),
        ));
        self.tasks.spawn(listener::publish(
            self.pool.clone(),
            self.head_seq,
            self.wake.clone(),
            self.published.clone(),
            publish,
            self.stop.clone(),
        ));
    }

    /// The database instance id, shared by every node.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// The token signing secret, shared by every node.
    pub fn jwt_secret(&self) -> &[u8] {
        &self.secret
    }

    /// The head of the change stream when this node connected.
    pub fn head_seq_at_start(&self) -> i64 {
        self.head_seq
    }

    /// Write counters.
    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    /// Runs portable statements (`store::sql`), in one transaction when
    /// `write`; the rows of each.
    pub(crate) async fn sql(
        &self,
        stmts: Vec<crate::store::sql::Stmt>,
        write: bool,
    ) -> StoreResult<Vec<Vec<crate::store::sql::Row>>> {
        use crate::store::sql::postgres::row;
        let mut client = self.client().await?;
        let mut out = Vec::with_capacity(stmts.len());
        if !write {
            for s in &stmts {
                let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                    s.params.iter().map(|v| v as _).collect();
                let rows = conn::Conn::rows(&client, s.sql, &params).await?;
                out.push(rows.iter().map(row).collect::<Result<_, _>>()?);
            }
            return Ok(out);
        }
        let tx = client.transaction().await?;
        for s in &stmts {
            let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                s.params.iter().map(|v| v as _).collect();
            let rows = conn::Conn::rows(&tx, s.sql, &params).await?;
            out.push(rows.iter().map(row).collect::<Result<_, _>>()?);
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn client(&self) -> StoreResult<Client> {
        Ok(self.pool.get().await?)
    }

    /// Waits at most [`WRITE_TIMEOUT`] for a writing transaction built with
    /// [`tx::PgTx::begin`], records it, and when it wrote events wakes the
    /// publisher and waits until they are published here: as on SQLite, an
    /// ack means this node's sockets have the change queued. A refusal or
    /// error inside drops the transaction: rolled back.
    async fn write<T>(
        &self,
        work: impl Future<Output = StoreResult<(T, Option<i64>)>>,
    ) -> StoreResult<T> {
        let started = Instant::now();
        let result = tokio::time::timeout(WRITE_TIMEOUT, work)
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::Unavailable(
                    "the database did not answer in time".into(),
                ))
            });
        self.record(started, &result);
        let (value, wrote) = result?;
        if let Some(seq) = wrote {
            self.wake.notify_one();
            self.published_up_to(seq).await;
        }
        Ok(value)
    }

    /// Waits until this node's publisher has handed `seq` to the hub.
    /// Committed either way; a slow publisher only delays the ack.
    async fn published_up_to(&self, seq: i64) {
        let mut published = self.published.subscribe();
        let caught_up = published.wait_for(|p| *p >= seq);
        let _ = tokio::time::timeout(WRITE_TIMEOUT, caught_up).await;
    }

    fn record<T>(&self, started: Instant, result: &StoreResult<T>) {
        use crate::telemetry::names;
        let failing = matches!(result, Err(StoreError::Unavailable(_)));
        self.stats.failing.store(failing, Ordering::Relaxed);
        if result.is_ok() {
            self.stats.transactions.fetch_add(1, Ordering::Relaxed);
            self.stats.operations.fetch_add(1, Ordering::Relaxed);
            self.stats.max_batch.fetch_max(1, Ordering::Relaxed);
            metrics::histogram!(names::DB_COMMIT_SECONDS).record(started.elapsed().as_secs_f64());
            metrics::histogram!(names::DB_BATCH_SIZE).record(1.0);
        }
    }

    /// Stores a message (or finds the earlier one with the same client id).
    pub async fn insert_message(&self, message: NewMessage) -> StoreResult<Stored> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let send = batch::Send { message, reply };
        let queued = async {
            self.sends
                .send(send)
                .await
                .map_err(|_| StoreError::Closed)?;
            answer.await.map_err(|_| StoreError::Closed)?
        };
        let stored = tokio::time::timeout(WRITE_TIMEOUT, queued)
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::Unavailable(
                    "the database did not answer in time".into(),
                ))
            })?;
        if stored.created {
            metrics::counter!(crate::telemetry::names::MESSAGES_STORED).increment(1);
            self.published_up_to(stored.message.id).await;
        }
        Ok(stored)
    }

    /// Other nodes' typing indicators, as they arrive.
    pub fn typing_notes(&self) -> tokio::sync::broadcast::Receiver<TypingNote> {
        self.typing.subscribe()
    }

    /// Tells the other nodes that `user` is typing in `room_id` (a NOTIFY:
    /// nothing is stored).
    pub async fn notify_typing(&self, room_id: i64, user: &UserRef) -> StoreResult<()> {
        let payload = format!("{} {room_id} {} {}", self.origin, user.id, user.username);
        let client = self.client().await?;
        client
            .exec(
                "SELECT pg_notify($1, $2)",
                &[&listener::TYPING_CHANNEL, &payload],
            )
            .await?;
        Ok(())
    }

    /// Edits, deletes or reacts to a message.
    pub async fn message_op(&self, op: MessageOp) -> StoreResult<MessageDone> {
        self.write(async {
            let mut client = self.client().await?;
            let mut tx = tx::PgTx::begin(&mut client).await?;
            let done = message_edits::apply(&mut tx, &op).await?;
            Ok((done, tx.commit().await?))
        })
        .await
    }

    /// Changes a room, a membership or a read position.
    pub async fn room(&self, op: RoomOp) -> StoreResult<RoomDone> {
        self.write(async {
            let mut client = self.client().await?;
            let mut tx = tx::PgTx::begin(&mut client).await?;
            let done = room_writes::room_op(&mut tx, &op).await?;
            Ok((done, tx.commit().await?))
        })
        .await
    }

    /// Creates an account (the first one an admin).
    pub async fn create_user(
        &self,
        username: Username,
        password_hash: String,
    ) -> StoreResult<User> {
        self.write(async {
            let mut client = self.client().await?;
            let mut tx = tx::PgTx::begin(&mut client).await?;
            let user = writes::create_user(&mut tx, &username, &password_hash).await?;
            Ok((user, tx.commit().await?))
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
        let expires = i64::try_from(expires_at).unwrap_or(i64::MAX);
        let now = super::now_ms();
        self.client()
            .await?
            .exec(
                "INSERT INTO revoked_sessions (sid, user_id, revoked_at, expires_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (sid) DO NOTHING",
                &[&sid, &user_id, &now, &expires],
            )
            .await?;
        Ok(())
    }

    /// Whether a write can take the stream lock now.
    pub async fn probe(&self) -> StoreResult<()> {
        self.write(async {
            let mut client = self.client().await?;
            let tx = tx::PgTx::begin(&mut client).await?;
            Ok(((), tx.commit().await?))
        })
        .await
    }

    /// Wakes the publisher (it also wakes by itself on every commit anywhere).
    pub async fn sync(&self) {
        self.wake.notify_one();
    }

    /// Stops the listener and the publisher and closes the pool.
    pub async fn close(&self, timeout: Duration) -> bool {
        self.stop.cancel();
        self.tasks.close();
        let done = tokio::time::timeout(timeout, self.tasks.wait())
            .await
            .is_ok();
        self.pool.close();
        done
    }
}
