//! The SQL of each write, run by the writer thread inside its transaction.

use super::models::{Message, RoomRef, Stored, User};
use super::{StoreError, StoreResult};
use crate::domain::{ClientId, MessageBody, Username};
use rusqlite::{Connection, OptionalExtension, params};

/// Inserts a message, or finds the earlier one with the same client id.
pub(super) fn insert_message(
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

/// Creates an account unless its name, or one that looks the same, is taken.
/// The first account becomes an admin.
pub(super) fn create_user(
    conn: &Connection,
    username: &Username,
    password_hash: &str,
    now: i64,
) -> rusqlite::Result<StoreResult<User>> {
    // The writer is the only writer, so check-then-insert cannot race.
    let look_alike: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE name_key = ?1)")?
        .query_row([username.key()], |r| r.get(0))?;
    if look_alike {
        return Ok(Err(StoreError::Conflict));
    }
    let row: Option<(i64, bool)> = conn
        .prepare_cached(
            "INSERT INTO users (username, password_hash, created_at, is_admin, name_key)
             VALUES (?1, ?2, ?3, NOT EXISTS (SELECT 1 FROM users), ?4)
             ON CONFLICT (username) DO NOTHING
             RETURNING id, is_admin",
        )?
        .query_row(
            params![username.as_str(), password_hash, now, username.key()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
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

/// Records a signed-out session until its token would have expired.
pub(super) fn revoke_session(
    conn: &Connection,
    sid: &str,
    user_id: i64,
    expires_at: u64,
    now: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO revoked_sessions (sid, user_id, revoked_at, expires_at)
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (sid) DO NOTHING",
    )?
    .execute(params![
        sid,
        user_id,
        now,
        i64::try_from(expires_at).unwrap_or(i64::MAX)
    ])?;
    Ok(())
}

/// A write that needs fresh pages, rolled back by its own delete: proves the
/// database can grow again (after a full disk) without leaving anything.
pub(super) fn probe(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('health_probe', zeroblob(16384))
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [],
    )?;
    conn.execute("DELETE FROM meta WHERE key = 'health_probe'", [])?;
    Ok(())
}
