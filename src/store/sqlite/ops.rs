//! The requests the writer thread serves and what each does inside its
//! transaction: messages, accounts, sessions, rooms.

use super::file_writes;
use super::message_edits;
use super::message_writes;
use super::room_reads;
use super::room_writes::{self, Tx};
use super::writes;
use crate::domain::Username;
use crate::store::blob_dir::BlobDir;
use crate::store::files::{FileInfo, NewUpload};
use crate::store::models::{Change, Stored, User, UserRef, now_ms};
use crate::store::{MessageDone, MessageOp, NewMessage, RoomDone, RoomOp};
use crate::store::{StoreError, StoreResult};
use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::oneshot;

pub(super) enum Op {
    InsertMessage {
        message: NewMessage,
        reply: oneshot::Sender<StoreResult<Stored>>,
    },
    Message {
        op: MessageOp,
        reply: oneshot::Sender<StoreResult<MessageDone>>,
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
    Upload {
        upload: NewUpload,
        reply: oneshot::Sender<StoreResult<FileInfo>>,
    },
    SweepUnsent {
        before: i64,
        reply: oneshot::Sender<StoreResult<u64>>,
    },
    RevokeSession {
        sid: String,
        user_id: i64,
        expires_at: u64,
        reply: oneshot::Sender<StoreResult<()>>,
    },
    /// Portable statements (`store::sql`), in one savepoint.
    Sql {
        stmts: Vec<crate::store::sql::Stmt>,
        reply: oneshot::Sender<StoreResult<Vec<Vec<crate::store::sql::Row>>>>,
    },
    /// Answered outside the batch: can the writer take the lock and grow the file?
    Probe {
        reply: oneshot::Sender<StoreResult<()>>,
    },
    /// Publish what other processes committed (the admin CLI).
    Sync,
    /// Index the messages stored since the last pass (search).
    IndexTick,
    /// Test hook: `PRAGMA max_page_count`, to simulate a full disk.
    PageLimit {
        pages: i64,
        reply: oneshot::Sender<StoreResult<i64>>,
    },
    Shutdown,
}

impl Op {
    /// Control requests are not part of the batch's transaction.
    pub(super) fn is_control(&self) -> bool {
        matches!(
            self,
            Op::Probe { .. } | Op::PageLimit { .. } | Op::Sync | Op::IndexTick | Op::Shutdown
        )
    }
}

/// What one request produced inside a transaction that then committed.
pub(super) enum Outcome {
    Message(StoreResult<Stored>),
    MessageOp(StoreResult<MessageDone>),
    User(StoreResult<User>),
    Room(StoreResult<RoomDone>),
    File(StoreResult<FileInfo>),
    Count(u64),
    Rows(StoreResult<Vec<Vec<crate::store::sql::Row>>>),
    Done,
}

pub(super) fn reply_err(op: Op, err: &StoreError) {
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
        Op::Message { reply, .. } => {
            let _ = reply.send(Err(err()));
        }
        Op::CreateUser { reply, .. } => {
            let _ = reply.send(Err(err()));
        }
        Op::RevokeSession { reply, .. } => {
            let _ = reply.send(Err(err()));
        }
        Op::Upload { reply, .. } => {
            let _ = reply.send(Err(err()));
        }
        Op::SweepUnsent { reply, .. } => {
            let _ = reply.send(Err(err()));
        }
        Op::Sql { reply, .. } => {
            let _ = reply.send(Err(err()));
        }
        Op::Probe { reply } => {
            let _ = reply.send(Err(err()));
        }
        Op::Sync | Op::IndexTick => {}
        Op::PageLimit { reply, .. } => {
            let _ = reply.send(Err(err()));
        }
        Op::Shutdown => {}
    }
}

/// What a committed batch produced.
pub(super) struct Committed {
    /// Each request's outcome, in order.
    pub outcomes: Vec<Outcome>,
    /// The changes to publish, in seq order.
    pub changes: Vec<Change>,
    /// Contents no upload names any more (to delete from disk).
    pub dropped: Vec<String>,
}

/// Commits `batch` (and, with `index_max` > 0, indexes up to that many new
/// messages for search in the same transaction); returns each request's
/// outcome and the changes to
/// publish: first those another process (the admin CLI) committed since
/// `last_seq` (the write lock now held means none can come in between), then
/// the batch's own, so clients see them in seq order.
pub(super) fn apply_all(
    conn: &mut Connection,
    batch: &[Op],
    last_seq: i64,
    blobs: &BlobDir,
    index_max: usize,
) -> rusqlite::Result<Committed> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = now_ms();
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut changes = foreign_changes(&tx, last_seq)?;
    let mut dropped = Vec::new();
    for op in batch {
        let mut t = Tx {
            conn: &tx,
            now,
            changes: &mut changes,
            dropped: &mut dropped,
        };
        outcomes.push(apply(&mut t, op, blobs)?);
    }
    if index_max > 0 {
        super::search::index_pending(&tx, index_max)?;
    }
    tx.commit()?;
    Ok(Committed {
        outcomes,
        changes,
        dropped,
    })
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
fn apply(tx: &mut Tx<'_>, op: &Op, blobs: &BlobDir) -> rusqlite::Result<Outcome> {
    Ok(match op {
        // No savepoint: every refusal comes before the first row is written.
        Op::InsertMessage { message, .. } => {
            Outcome::Message(refusal(message_writes::insert_message(tx, message))?)
        }
        Op::Message { op, .. } => {
            Outcome::MessageOp(refusal(atomically(tx, |tx| message_edits::apply(tx, op)))?)
        }
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
        Op::Upload { upload, .. } => Outcome::File(refusal(atomically(tx, |tx| {
            file_writes::upload(tx, upload, blobs)
        }))?),
        Op::SweepUnsent { before, .. } => Outcome::Count(file_writes::sweep_unsent(tx, *before)?),
        Op::RevokeSession {
            sid,
            user_id,
            expires_at,
            ..
        } => {
            writes::revoke_session(tx.conn, sid, *user_id, *expires_at, tx.now)?;
            Outcome::Done
        }
        Op::Sql { stmts, .. } => Outcome::Rows(refusal(atomically(tx, |tx| {
            crate::store::sql::sqlite::run_all(tx.conn, stmts)
        }))?),
        Op::Probe { .. } | Op::PageLimit { .. } | Op::Sync | Op::IndexTick | Op::Shutdown => {
            Outcome::Done
        }
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
        RoomOp::Notify {
            room_id,
            user,
            level,
        } => {
            message_edits::set_notify(tx, *room_id, user, *level)?;
            RoomDone::Done
        }
    })
}
