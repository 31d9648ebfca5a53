//! Edits, deletions, reactions and notification levels, inside the writer's
//! transaction: the access rule on facts read in it, the rows, one event.

use super::message_rows::{message_by_id, reactions_of};
use super::message_writes::insert_mentions;
use super::room_writes::Tx;
use super::{file_writes, search};
use crate::domain::access::Action;
use crate::store::models::{Change, ChangeKind, UserRef};
use crate::store::requests::{edit_window_open, room_for_reaction};
use crate::store::{MessageDone, MessageOp, NotifyLevel, StoreError, StoreResult};
use rusqlite::{OptionalExtension, params};

/// A message's room, author and send time; `NotFound` when it does not
/// exist or is deleted.
fn target(tx: &Tx<'_>, message_id: i64) -> StoreResult<(i64, i64, i64)> {
    tx.conn
        .prepare_cached(
            "SELECT room_id, user_id, created_at FROM messages
             WHERE id = ?1 AND deleted_at IS NULL",
        )?
        .query_row([message_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?
        .ok_or(StoreError::NotFound)
}

/// Runs one [`MessageOp`].
pub(super) fn apply(tx: &mut Tx<'_>, op: &MessageOp) -> StoreResult<MessageDone> {
    let id = op.message_id();
    let (room_id, author, created_at) = target(tx, id)?;
    match op {
        MessageOp::Edit {
            actor,
            body,
            mentions,
            window_ms,
            ..
        } => {
            let own = author == actor.id;
            tx.allow(room_id, actor.id, Action::EditMessage { own })?;
            edit_window_open(tx.now, created_at, *window_ms)?;
            tx.conn
                .prepare_cached(
                    "UPDATE messages SET content = ?2, edited_at = ?3, mentions = ?4 WHERE id = ?1",
                )?
                .execute(params![id, body.as_str(), tx.now, mentions.to_db()])?;
            tx.conn
                .prepare_cached("DELETE FROM mentions WHERE message_id = ?1")?
                .execute([id])?;
            insert_mentions(tx.conn, room_id, id, author, mentions)?;
            search::reindex(tx.conn, id, body.as_str())?;
            let seq = tx.event(
                "message_edited",
                room_id,
                Some(author),
                Some(actor.id),
                Some(id),
            )?;
            let message = message_by_id(tx.conn, id)?.ok_or(StoreError::NotFound)?;
            tx.changes.push(Change {
                seq,
                room_id,
                kind: ChangeKind::Edited(message.clone()),
            });
            Ok(MessageDone::Edited {
                seq,
                message: Box::new(message),
            })
        }
        MessageOp::Delete { actor, expired, .. } => {
            let own = author == actor.id;
            if !*expired {
                tx.allow(room_id, actor.id, Action::DeleteMessage { own })?;
            }
            // The text is overwritten (secure_delete clears the old page
            // contents too); the row stays for the stream's sake.
            tx.conn
                .prepare_cached(
                    "UPDATE messages SET content = '', deleted_at = ?2, edited_at = NULL,
                                         mentions = NULL, reply_to = NULL, files = NULL
                     WHERE id = ?1",
                )?
                .execute(params![id, tx.now])?;
            search::unindex(tx.conn, id)?;
            file_writes::drop_files(tx, id)?;
            for sql in [
                "DELETE FROM mentions WHERE message_id = ?1",
                "DELETE FROM reactions WHERE message_id = ?1",
            ] {
                tx.conn.prepare_cached(sql)?.execute([id])?;
            }
            let seq = tx.event(
                "message_deleted",
                room_id,
                Some(author),
                Some(actor.id),
                Some(id),
            )?;
            tx.changes.push(Change {
                seq,
                room_id,
                kind: ChangeKind::Deleted { message_id: id },
            });
            Ok(MessageDone::Deleted { seq, room_id })
        }
        MessageOp::React {
            actor,
            emoji,
            on,
            max,
            ..
        } => {
            tx.allow(room_id, actor.id, Action::React)?;
            let changed = if *on {
                let (present, distinct): (bool, i64) = tx
                    .conn
                    .prepare_cached(
                        "SELECT EXISTS (SELECT 1 FROM reactions WHERE message_id = ?1 AND emoji = ?2),
                                (SELECT COUNT(DISTINCT emoji) FROM reactions WHERE message_id = ?1)",
                    )?
                    .query_row(params![id, emoji.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
                room_for_reaction(present, distinct, *max)?;
                tx.conn
                    .prepare_cached(
                        "INSERT OR IGNORE INTO reactions (message_id, emoji, user_id, created_at)
                         VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![id, emoji.as_str(), actor.id, tx.now])?
            } else {
                tx.conn
                    .prepare_cached(
                        "DELETE FROM reactions WHERE message_id = ?1 AND emoji = ?2 AND user_id = ?3",
                    )?
                    .execute(params![id, emoji.as_str(), actor.id])?
            };
            let reactions = reactions_of(tx.conn, id)?;
            let seq = if changed > 0 {
                let seq = tx.event(
                    "reaction",
                    room_id,
                    Some(actor.id),
                    Some(actor.id),
                    Some(id),
                )?;
                tx.changes.push(Change {
                    seq,
                    room_id,
                    kind: ChangeKind::Reaction {
                        message_id: id,
                        reactions: reactions.clone(),
                    },
                });
                Some(seq)
            } else {
                None
            };
            Ok(MessageDone::Reactions {
                seq,
                room_id,
                reactions,
            })
        }
    }
}

/// Sets how loudly `room_id` notifies `user` (members; archived rooms too).
pub(super) fn set_notify(
    tx: &mut Tx<'_>,
    room_id: i64,
    user: &UserRef,
    level: NotifyLevel,
) -> StoreResult<()> {
    tx.allow(room_id, user.id, Action::Read)?;
    let changed = tx
        .conn
        .prepare_cached(
            "INSERT INTO room_reads (room_id, user_id, notify) VALUES (?1, ?2, ?3)
             ON CONFLICT (room_id, user_id) DO UPDATE SET notify = excluded.notify
             WHERE room_reads.notify <> excluded.notify",
        )?
        .execute(params![room_id, user.id, level.as_str()])?;
    if changed > 0 {
        let seq = tx.event(
            "notify",
            room_id,
            Some(user.id),
            Some(user.id),
            Some(level.code()),
        )?;
        tx.changes.push(Change {
            seq,
            room_id,
            kind: ChangeKind::Notify {
                user_id: user.id,
                level,
            },
        });
    }
    Ok(())
}
