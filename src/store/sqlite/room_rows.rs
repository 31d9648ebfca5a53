//! Reading rooms, members and accounts inside a transaction or a read: the
//! lookups both the writes (`room_writes`) and the reads (`room_reads`) use.

use crate::domain::access::RoomFacts;
use crate::store::models::{LOBBY_ID, Room, RoomKind, UserRef};
use crate::store::{StoreError, StoreResult};
use rusqlite::{Connection, OptionalExtension, params};

/// The facts about `room_id` for `user_id`, or `None` for no such room.
pub(super) fn room_facts(
    conn: &Connection,
    room_id: i64,
    user_id: i64,
) -> rusqlite::Result<Option<RoomFacts>> {
    conn.prepare_cached(
        "SELECT r.kind, r.archived, r.created_by = ?2,
                EXISTS (SELECT 1 FROM memberships m
                        WHERE m.room_id = r.id AND m.user_id = ?2 AND m.left_seq IS NULL),
                (SELECT is_admin FROM users WHERE id = ?2)
         FROM rooms r WHERE r.id = ?1 AND r.deleted_at IS NULL",
    )?
    .query_row(params![room_id, user_id], |r| {
        let kind: String = r.get(0)?;
        Ok(RoomFacts {
            kind: RoomKind::from_db(&kind).access(),
            lobby: room_id == LOBBY_ID,
            archived: r.get(1)?,
            creator: r.get::<_, Option<bool>>(2)?.unwrap_or(false),
            member: r.get(3)?,
            admin: r.get::<_, Option<bool>>(4)?.unwrap_or(false),
        })
    })
    .optional()
}

pub(super) fn is_member(conn: &Connection, room_id: i64, user_id: i64) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM memberships
                        WHERE room_id = ?1 AND user_id = ?2 AND left_seq IS NULL)",
    )?
    .query_row(params![room_id, user_id], |r| r.get(0))
}

pub(super) fn room_name(conn: &Connection, room_id: i64) -> rusqlite::Result<String> {
    conn.prepare_cached("SELECT name FROM rooms WHERE id = ?1")?
        .query_row([room_id], |r| r.get(0))
}

/// The accounts with these ids, in id order; `Invalid` if one does not exist.
pub(super) fn users(conn: &Connection, ids: &[i64]) -> StoreResult<Vec<UserRef>> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut stmt = conn.prepare_cached("SELECT id, username FROM users WHERE id = ?1")?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let user = stmt
            .query_row([id], |r| {
                Ok(UserRef {
                    id: r.get(0)?,
                    username: r.get(1)?,
                })
            })
            .optional()?
            .ok_or(StoreError::Invalid("no such user"))?;
        out.push(user);
    }
    Ok(out)
}

/// A room as members see it (member list for direct messages only).
pub(super) fn load_room(conn: &Connection, room_id: i64) -> rusqlite::Result<Room> {
    let mut room = conn
        .prepare_cached(
            "SELECT r.id, r.name, r.kind, r.topic, r.archived, r.created_at, r.created_by,
                    (SELECT COUNT(*) FROM memberships m WHERE m.room_id = r.id AND m.left_seq IS NULL)
             FROM rooms r WHERE r.id = ?1",
        )?
        .query_row([room_id], room_from_row)?;
    if room.kind == RoomKind::Direct {
        room.members = Some(current_members(conn, room_id)?);
    }
    Ok(room)
}

/// Columns id, name, kind, topic, archived, created_at, created_by, members_count.
pub(super) fn room_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Room> {
    let id: i64 = r.get(0)?;
    let kind: String = r.get(2)?;
    Ok(Room {
        id,
        name: r.get(1)?,
        kind: RoomKind::from_db(&kind),
        topic: r.get(3)?,
        lobby: id == LOBBY_ID,
        archived: r.get(4)?,
        created_at: r.get(5)?,
        created_by: r.get(6)?,
        members_count: r.get(7)?,
        members: None,
    })
}

/// The current members of a room, by name.
pub(super) fn current_members(conn: &Connection, room_id: i64) -> rusqlite::Result<Vec<UserRef>> {
    conn.prepare_cached(
        "SELECT u.id, u.username FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.room_id = ?1 AND m.left_seq IS NULL ORDER BY u.username COLLATE NOCASE, u.id",
    )?
    .query_map([room_id], |r| {
        Ok(UserRef {
            id: r.get(0)?,
            username: r.get(1)?,
        })
    })?
    .collect()
}
