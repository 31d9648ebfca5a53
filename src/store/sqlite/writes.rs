//! The SQL of account and session writes and of the health probe, run by the
//! writer thread inside its transaction (rooms and messages: `room_writes`).

use crate::domain::Username;
use crate::store::models::User;
use crate::store::{StoreError, StoreResult};
use rusqlite::{Connection, OptionalExtension, params};

/// Creates an account unless its name, or one that looks the same, is taken.
/// The first account becomes an admin.
pub(super) fn create_user(
    conn: &Connection,
    username: &Username,
    password_hash: &str,
    now: i64,
) -> rusqlite::Result<StoreResult<User>> {
    // Writes are serialized (IMMEDIATE transactions hold the write lock),
    // so check-then-insert cannot race.
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
