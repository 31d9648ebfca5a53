//! Writes from the admin CLI, beside a running server or without one: the
//! same SQL as the writer thread, in a transaction of their own. The events
//! they record reach a running server's clients at its next write or sync
//! (at most a couple of seconds later), in seq order.

use super::room_writes::{self, Tx};
use super::writes;
use crate::domain::{RoomName, Topic, Username};
use crate::store::models::{Room, RoomKind, User, UserRef, now_ms};
use crate::store::{StoreError, StoreResult};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

fn write<T>(
    conn: &mut Connection,
    f: impl FnOnce(&mut Tx<'_>) -> StoreResult<T>,
) -> StoreResult<T> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let (mut changes, mut dropped) = (Vec::new(), Vec::new());
    let mut t = Tx {
        conn: &tx,
        now: now_ms(),
        changes: &mut changes,
        dropped: &mut dropped,
    };
    let out = f(&mut t)?;
    tx.commit()?;
    Ok(out)
}

/// Creates an account (in the lobby, like a registration); `admin` makes it
/// an admin (the first account is one anyway).
pub fn create_user(
    conn: &mut Connection,
    username: &Username,
    password_hash: &str,
    admin: bool,
) -> StoreResult<User> {
    write(conn, |tx| {
        let mut user = writes::create_user(tx.conn, username, password_hash, tx.now)??;
        if admin && !user.is_admin {
            tx.conn
                .execute("UPDATE users SET is_admin = 1 WHERE id = ?1", [user.id])?;
            user.is_admin = true;
        }
        let member = UserRef {
            id: user.id,
            username: user.username.clone(),
        };
        room_writes::join_lobby(tx, &member)?;
        Ok(user)
    })
}

/// Creates an open or closed room with these members (by username).
pub fn create_room(
    conn: &mut Connection,
    name: &RoomName,
    kind: RoomKind,
    topic: &Topic,
    members: &[String],
) -> StoreResult<Room> {
    write(conn, |tx| {
        let ids = user_ids(tx.conn, members)?;
        room_writes::create_room(tx, None, name, kind, topic, &ids)
    })
}

/// Adds members (by username) to a room (by id or name); returns those added.
pub fn add_members(
    conn: &mut Connection,
    room: &str,
    members: &[String],
) -> StoreResult<Vec<UserRef>> {
    write(conn, |tx| {
        let room = room_id(tx.conn, room)?;
        let ids = user_ids(tx.conn, members)?;
        room_writes::add_members(tx, room, None, &ids)
    })
}

/// Archives or unarchives a room (by id or name).
pub fn set_archived(conn: &mut Connection, room: &str, archived: bool) -> StoreResult<Room> {
    write(conn, |tx| {
        let room = room_id(tx.conn, room)?;
        room_writes::set_archived(tx, room, None, archived)
    })
}

/// Every room with its number of messages, by id.
pub fn rooms(conn: &Connection) -> StoreResult<Vec<(Room, i64)>> {
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM rooms ORDER BY id")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let room = super::room_rows::load_room(conn, id)?;
        let messages: i64 = conn.query_row(
            "SELECT COUNT(*) FROM messages WHERE room_id = ?1",
            [id],
            |r| r.get(0),
        )?;
        out.push((room, messages));
    }
    Ok(out)
}

/// A room by id, or by name (open and closed rooms, any letter case).
fn room_id(conn: &Connection, room: &str) -> StoreResult<i64> {
    if let Ok(id) = room.trim().parse::<i64>() {
        return Ok(id);
    }
    conn.query_row(
        "SELECT id FROM rooms WHERE name = ?1 COLLATE NOCASE AND kind <> 'direct'",
        [room.trim()],
        |r| r.get(0),
    )
    .optional()?
    .ok_or(StoreError::NotFound)
}

fn user_ids(conn: &Connection, names: &[String]) -> StoreResult<Vec<i64>> {
    names
        .iter()
        .map(|name| {
            conn.query_row(
                "SELECT id FROM users WHERE username = ?1",
                params![name.trim()],
                |r| r.get(0),
            )
            .optional()?
            .ok_or(StoreError::Invalid("no such user"))
        })
        .collect()
}
