//! Edits, deletions, reactions and notification levels on the cluster
//! store: the same rules as the SQLite store's `message_edits`.

use super::conn::Conn;
use super::rows::{message_by_id, reactions_of};
use super::tx::PgTx;
use crate::domain::access::Action;
use crate::store::requests::{edit_window_open, room_for_reaction};
use crate::store::search::short_grams;
use crate::store::{
    Mentions, MessageDone, MessageOp, NotifyLevel, StoreError, StoreResult, UserRef,
};

/// A message's room, author and send time, locked for this transaction;
/// `NotFound` when it does not exist or is deleted.
async fn target(tx: &PgTx<'_>, message_id: i64) -> StoreResult<(i64, i64, i64)> {
    let row = tx
        .tx
        .opt(
            "SELECT room_id, user_id, created_at FROM messages
             WHERE id = $1 AND deleted_at IS NULL",
            &[&message_id],
        )
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok((row.get(0), row.get(1), row.get(2)))
}

async fn replace_mentions(
    tx: &PgTx<'_>,
    room_id: i64,
    id: i64,
    author: i64,
    mentions: &Mentions,
) -> StoreResult<()> {
    tx.tx
        .exec("DELETE FROM mentions WHERE message_id = $1", &[&id])
        .await?;
    let users = mentions.rows();
    if !users.is_empty() {
        tx.tx
            .exec(
                "INSERT INTO mentions (user_id, room_id, message_id, author_id)
                 SELECT u, $2, $3, $4 FROM unnest($1::BIGINT[]) u ON CONFLICT DO NOTHING",
                &[&users, &room_id, &id, &author],
            )
            .await?;
    }
    Ok(())
}

/// Runs one [`MessageOp`] inside `tx`.
/// (The publisher reads the events after the commit, as for every write.)
pub(super) async fn apply(tx: &mut PgTx<'_>, op: &MessageOp) -> StoreResult<MessageDone> {
    let id = op.message_id();
    let (room_id, author, created_at) = target(tx, id).await?;
    match op {
        MessageOp::Edit {
            actor,
            body,
            mentions,
            window_ms,
            ..
        } => {
            let own = author == actor.id;
            tx.allow(room_id, actor.id, Action::EditMessage { own })
                .await?;
            edit_window_open(tx.now, created_at, *window_ms)?;
            tx.tx
                .exec(
                    "UPDATE messages SET content = $2, edited_at = $3, mentions = $4,
                         grams = string_to_array($5, ' ') WHERE id = $1",
                    &[
                        &id,
                        &body.as_str(),
                        &tx.now,
                        &mentions.to_db(),
                        &short_grams(body.as_str()),
                    ],
                )
                .await?;
            replace_mentions(tx, room_id, id, author, mentions).await?;
            let seq = tx
                .event(
                    "message_edited",
                    room_id,
                    Some(author),
                    Some(actor.id),
                    Some(id),
                )
                .await?;
            let message = message_by_id(&tx.tx, id)
                .await?
                .ok_or(StoreError::NotFound)?;
            Ok(MessageDone::Edited {
                seq,
                message: Box::new(message),
            })
        }
        MessageOp::Delete { actor, expired, .. } => {
            let own = author == actor.id;
            if !*expired {
                tx.allow(room_id, actor.id, Action::DeleteMessage { own })
                    .await?;
            }
            tx.tx
                .exec(
                    "UPDATE messages SET content = '', deleted_at = $2, edited_at = NULL,
                                         mentions = NULL, reply_to = NULL, files = NULL,
                                         grams = NULL
                     WHERE id = $1",
                    &[&id, &tx.now],
                )
                .await?;
            super::files::drop_files(tx, id).await?;
            for sql in [
                "DELETE FROM mentions WHERE message_id = $1",
                "DELETE FROM reactions WHERE message_id = $1",
            ] {
                tx.tx.exec(sql, &[&id]).await?;
            }
            let seq = tx
                .event(
                    "message_deleted",
                    room_id,
                    Some(author),
                    Some(actor.id),
                    Some(id),
                )
                .await?;
            Ok(MessageDone::Deleted { seq, room_id })
        }
        MessageOp::React {
            actor,
            emoji,
            on,
            max,
            ..
        } => {
            tx.allow(room_id, actor.id, Action::React).await?;
            let changed = if *on {
                let row = tx
                    .tx
                    .one(
                        "SELECT EXISTS (SELECT 1 FROM reactions WHERE message_id = $1 AND emoji = $2),
                                (SELECT COUNT(DISTINCT emoji) FROM reactions WHERE message_id = $1)",
                        &[&id, &emoji.as_str()],
                    )
                    .await?;
                let (present, distinct): (bool, i64) = (row.get(0), row.get(1));
                room_for_reaction(present, distinct, *max)?;
                tx.tx
                    .exec(
                        "INSERT INTO reactions (message_id, emoji, user_id, created_at)
                         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                        &[&id, &emoji.as_str(), &actor.id, &tx.now],
                    )
                    .await?
            } else {
                tx.tx
                    .exec(
                        "DELETE FROM reactions WHERE message_id = $1 AND emoji = $2 AND user_id = $3",
                        &[&id, &emoji.as_str(), &actor.id],
                    )
                    .await?
            };
            let reactions = reactions_of(&tx.tx, id).await?;
            let seq = if changed > 0 {
                let seq = tx
                    .event(
                        "reaction",
                        room_id,
                        Some(actor.id),
                        Some(actor.id),
                        Some(id),
                    )
                    .await?;
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
pub(super) async fn set_notify(
    tx: &mut PgTx<'_>,
    room_id: i64,
    user: &UserRef,
    level: NotifyLevel,
) -> StoreResult<()> {
    tx.allow(room_id, user.id, Action::Read).await?;
    let changed = tx
        .tx
        .exec(
            "INSERT INTO room_reads (room_id, user_id, notify) VALUES ($1, $2, $3)
             ON CONFLICT (room_id, user_id) DO UPDATE SET notify = excluded.notify
             WHERE room_reads.notify <> excluded.notify",
            &[&room_id, &user.id, &level.as_str()],
        )
        .await?;
    if changed > 0 {
        tx.event(
            "notify",
            room_id,
            Some(user.id),
            Some(user.id),
            Some(level.code()),
        )
        .await?;
    }
    Ok(())
}
