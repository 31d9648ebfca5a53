//! Storing a message: the access rule, its event (its id is the event's
//! seq), its reply and mentions, and idempotency by client id, inside the
//! writer's transaction.

use super::file_writes;
use super::message_rows::{MESSAGE_COLUMNS, MESSAGE_FROM, add_reactions, message_from_row};
use super::room_rows::room_name;
use super::room_writes::Tx;
use crate::domain::access::Action;
use crate::store::models::{
    Change, ChangeKind, LOBBY_ID, LOBBY_NAME, Message, ReplyPreview, Stored,
};
use crate::store::{Mentions, NewMessage, StoreError, StoreResult};
use rusqlite::{Connection, OptionalExtension, params};

/// Stores a message in a room the sender may post to, or finds the earlier
/// one with the same client id. Every refusal comes before the first write.
pub(super) fn insert_message(tx: &mut Tx<'_>, new: &NewMessage) -> StoreResult<Stored> {
    let sender = &new.sender;
    let repeat = |tx: &Tx<'_>| -> StoreResult<Option<Stored>> {
        Ok(
            message_by_client_id(tx.conn, sender.id, new.client_id.as_str())?.map(|message| {
                Stored {
                    message,
                    created: false,
                }
            }),
        )
    };
    let room_id = new.room_id;
    // The lobby needs no lookup: everyone is a member and it is never archived.
    let room_name = if room_id == LOBBY_ID {
        LOBBY_NAME.to_owned()
    } else {
        if let Err(denied) = tx.allow(room_id, sender.id, Action::Post) {
            // A retry of a message stored before the sender lost access
            // still gets its ack.
            return repeat(tx)?.ok_or(denied);
        }
        room_name(tx.conn, room_id)?
    };
    let reply_to = match new.reply_to {
        None => None,
        Some(id) => match reply_preview(tx.conn, room_id, id)? {
            Some(preview) => Some(preview),
            None => return repeat(tx)?.ok_or(StoreError::NotFound),
        },
    };
    if !new.files.is_empty() && !file_writes::all_pending(tx, &new.files, room_id, sender.id)? {
        // Sent already (a retry), or not this sender's unsent uploads here.
        return repeat(tx)?.ok_or(StoreError::Invalid(
            "files must be your own uploads to this room, not sent yet",
        ));
    }
    // Insert first and look for an earlier copy only on a conflict: repeats
    // are rare, and this keeps the common path at two inserts.
    let seq = tx.event("message", room_id, Some(sender.id), Some(sender.id), None)?;
    let inserted = tx
        .conn
        .prepare_cached(
            "INSERT INTO messages (id, room_id, user_id, content, created_at, client_id,
                                   reply_to, mentions)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (user_id, client_id) DO NOTHING",
        )?
        .execute(params![
            seq,
            room_id,
            sender.id,
            new.body.as_str(),
            tx.now,
            new.client_id.as_str(),
            new.reply_to,
            new.mentions.to_db(),
        ])?;
    if inserted == 0 {
        // A repeat of an earlier send: drop the event (its seq stays unused).
        tx.conn
            .prepare_cached("DELETE FROM events WHERE seq = ?1")?
            .execute([seq])?;
        return repeat(tx)?.ok_or(StoreError::NotFound);
    }
    insert_mentions(tx.conn, room_id, seq, sender.id, &new.mentions)?;
    let files = if new.files.is_empty() {
        Vec::new()
    } else {
        file_writes::attach(tx, seq, &new.files)?
    };
    let message = Message {
        id: seq,
        room: room_name,
        room_id,
        user_id: sender.id,
        username: sender.username.clone(),
        content: new.body.as_str().to_owned(),
        created_at: tx.now,
        client_id: new.client_id.as_str().to_owned(),
        mentions: new.mentions.users.clone(),
        mention_everyone: new.mentions.everyone,
        reply_to,
        has_files: !files.is_empty(),
        files,
        ..Message::default()
    };
    tx.changes.push(Change {
        seq,
        room_id,
        kind: ChangeKind::Message(message.clone()),
    });
    Ok(Stored {
        message,
        created: true,
    })
}

/// The rows counting a message's mentions (none for a message without).
pub(super) fn insert_mentions(
    c: &Connection,
    room_id: i64,
    message_id: i64,
    author_id: i64,
    mentions: &Mentions,
) -> rusqlite::Result<()> {
    for user_id in mentions.rows() {
        c.prepare_cached(
            "INSERT OR IGNORE INTO mentions (user_id, room_id, message_id, author_id)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![user_id, room_id, message_id, author_id])?;
    }
    Ok(())
}

/// The preview of message `id` if it is a message of `room_id` that is not deleted.
fn reply_preview(c: &Connection, room_id: i64, id: i64) -> rusqlite::Result<Option<ReplyPreview>> {
    c.prepare_cached(
        "SELECT m.user_id, u.username, m.content FROM messages m JOIN users u ON u.id = m.user_id
         WHERE m.id = ?1 AND m.room_id = ?2 AND m.deleted_at IS NULL",
    )?
    .query_row(params![id, room_id], |r| {
        let content: String = r.get(2)?;
        Ok(ReplyPreview::new(id, r.get(0)?, r.get(1)?, &content, false))
    })
    .optional()
}

fn message_by_client_id(
    conn: &Connection,
    user_id: i64,
    client_id: &str,
) -> rusqlite::Result<Option<Message>> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE m.user_id = ?1 AND m.client_id = ?2"
    );
    let message = conn
        .prepare_cached(&sql)?
        .query_row(params![user_id, client_id], message_from_row)
        .optional()?;
    let Some(mut message) = message else {
        return Ok(None);
    };
    add_reactions(conn, std::slice::from_mut(&mut message))?;
    Ok(Some(message))
}
