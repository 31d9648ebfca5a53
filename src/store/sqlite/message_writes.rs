//! Storing a message: the access rule, its event (its id is the event's
//! seq) and idempotency by client id, inside the writer's transaction.

use super::room_rows::room_name;
use super::room_writes::Tx;
use crate::domain::access::Action;
use crate::domain::{ClientId, MessageBody};
use crate::store::models::{Change, ChangeKind, LOBBY_ID, LOBBY_NAME, Message, Stored, UserRef};
use crate::store::{StoreError, StoreResult};
use rusqlite::{Connection, OptionalExtension, params};

/// Stores a message in a room the sender may post to, or finds the earlier
/// one with the same client id.
pub(super) fn insert_message(
    tx: &mut Tx<'_>,
    room_id: i64,
    sender: &UserRef,
    body: &MessageBody,
    client_id: &ClientId,
) -> StoreResult<Stored> {
    let repeat = |tx: &Tx<'_>| -> StoreResult<Option<Stored>> {
        Ok(
            message_by_client_id(tx.conn, sender, client_id)?.map(|message| Stored {
                message,
                created: false,
            }),
        )
    };
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
    // Insert first and look for an earlier copy only on a conflict: repeats
    // are rare, and this keeps the common path at two inserts.
    let seq = tx.event("message", room_id, Some(sender.id), Some(sender.id), None)?;
    let inserted = tx
        .conn
        .prepare_cached(
            "INSERT INTO messages (id, room_id, user_id, content, created_at, client_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (user_id, client_id) DO NOTHING",
        )?
        .execute(params![
            seq,
            room_id,
            sender.id,
            body.as_str(),
            tx.now,
            client_id.as_str()
        ])?;
    if inserted == 0 {
        // A repeat of an earlier send: drop the event (its seq stays unused).
        tx.conn
            .prepare_cached("DELETE FROM events WHERE seq = ?1")?
            .execute([seq])?;
        return repeat(tx)?.ok_or(StoreError::NotFound);
    }
    let message = Message {
        id: seq,
        room: room_name,
        room_id,
        user_id: sender.id,
        username: sender.username.clone(),
        content: body.as_str().to_owned(),
        created_at: tx.now,
        client_id: client_id.as_str().to_owned(),
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

fn message_by_client_id(
    conn: &Connection,
    sender: &UserRef,
    client_id: &ClientId,
) -> rusqlite::Result<Option<Message>> {
    conn.prepare_cached(
        "SELECT m.id, m.room_id, r.name, m.content, m.created_at
         FROM messages m JOIN rooms r ON r.id = m.room_id
         WHERE m.user_id = ?1 AND m.client_id = ?2",
    )?
    .query_row(params![sender.id, client_id.as_str()], |r| {
        Ok(Message {
            id: r.get(0)?,
            room_id: r.get(1)?,
            room: r.get(2)?,
            user_id: sender.id,
            username: sender.username.clone(),
            content: r.get(3)?,
            created_at: r.get(4)?,
            client_id: client_id.as_str().to_owned(),
        })
    })
    .optional()
}
