//! The SQL of messages, rooms, memberships and read positions, run by the
//! writer thread inside its transaction. Each write records its events (one
//! `seq` each) and returns them as [`Change`]s to publish after the commit.
//! Access is decided by [`crate::domain::access::decide`], the same rule the
//! read paths use, on facts read inside the same transaction.

use super::room_rows::{is_member, load_room, room_facts, room_name, users};
use crate::domain::access::{self, Action, RoomFacts};
use crate::domain::{RoomName, Topic};
use crate::store::models::{
    Change, ChangeKind, LOBBY_ID, MemberEvent, Room, RoomEvent, RoomKind, UserRef,
};
use crate::store::requests::direct_key;
use crate::store::{StoreError, StoreResult};
use rusqlite::{Connection, OptionalExtension, params};

/// A write's context: the connection, the commit time and the events so far.
pub(super) struct Tx<'a> {
    pub conn: &'a Connection,
    pub now: i64,
    pub changes: &'a mut Vec<Change>,
    /// Contents no upload names any more: deleted from disk after the commit.
    pub dropped: &'a mut Vec<String>,
}

impl Tx<'_> {
    /// Records an event and returns its seq.
    pub(super) fn event(
        &mut self,
        kind: &str,
        room_id: i64,
        user_id: Option<i64>,
        actor_id: Option<i64>,
        value: Option<i64>,
    ) -> rusqlite::Result<i64> {
        self.conn
            .prepare_cached(
                "INSERT INTO events (kind, room_id, user_id, actor_id, value, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING seq",
            )?
            .query_row(
                params![kind, room_id, user_id, actor_id, value, self.now],
                |r| r.get(0),
            )
    }

    /// Records a change: its event row now, the change for the publisher.
    fn record(
        &mut self,
        room_id: i64,
        kind: ChangeKind,
        user_id: Option<i64>,
        actor_id: Option<i64>,
    ) -> rusqlite::Result<i64> {
        let value = match &kind {
            ChangeKind::Read { last_read_id, .. } => Some(*last_read_id),
            _ => None,
        };
        let seq = self.event(kind.db_name(), room_id, user_id, actor_id, value)?;
        self.changes.push(Change { seq, room_id, kind });
        Ok(seq)
    }

    /// The facts the access rule needs, or `NotFound` for no such room.
    fn facts(&self, room_id: i64, user_id: i64) -> StoreResult<RoomFacts> {
        room_facts(self.conn, room_id, user_id)?.ok_or(StoreError::NotFound)
    }

    pub(super) fn allow(
        &self,
        room_id: i64,
        user_id: i64,
        action: Action,
    ) -> StoreResult<RoomFacts> {
        let facts = self.facts(room_id, user_id)?;
        access::decide(&facts, action)?;
        Ok(facts)
    }

    /// Makes `user` a member (no-op when they are); returns whether it did.
    fn add_member(
        &mut self,
        room_id: i64,
        user: &UserRef,
        actor: Option<i64>,
    ) -> StoreResult<bool> {
        if is_member(self.conn, room_id, user.id)? {
            return Ok(false);
        }
        // The event first: its seq opens the membership stretch.
        let seq = self.event("member_added", room_id, Some(user.id), actor, None)?;
        self.conn
            .prepare_cached(
                "INSERT INTO memberships (room_id, user_id, joined_seq) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![room_id, user.id, seq])?;
        // A new member starts caught up: the history is there to scroll back
        // through, but it is not "unread".
        self.conn
            .prepare_cached(
                "INSERT INTO room_reads (room_id, user_id, last_read_id)
                 VALUES (?1, ?2, (SELECT COALESCE(MAX(id), 0) FROM messages WHERE room_id = ?1))
                 ON CONFLICT (room_id, user_id)
                 DO UPDATE SET last_read_id = MAX(last_read_id, excluded.last_read_id)",
            )?
            .execute(params![room_id, user.id])?;
        let room = load_room(self.conn, room_id)?;
        self.changes.push(Change {
            seq,
            room_id,
            kind: ChangeKind::Member {
                event: MemberEvent::Added,
                user: user.clone(),
                room,
            },
        });
        Ok(true)
    }

    fn remove_member(&mut self, room_id: i64, user: &UserRef, actor: i64) -> StoreResult<()> {
        if !is_member(self.conn, room_id, user.id)? {
            return Err(StoreError::NotFound);
        }
        let seq = self.event("member_removed", room_id, Some(user.id), Some(actor), None)?;
        self.conn
            .prepare_cached(
                "UPDATE memberships SET left_seq = ?3
                 WHERE room_id = ?1 AND user_id = ?2 AND left_seq IS NULL",
            )?
            .execute(params![room_id, user.id, seq])?;
        let room = load_room(self.conn, room_id)?;
        self.changes.push(Change {
            seq,
            room_id,
            kind: ChangeKind::Member {
                event: MemberEvent::Removed,
                user: user.clone(),
                room,
            },
        });
        Ok(())
    }
}

/// Puts a new account in the lobby.
pub(super) fn join_lobby(tx: &mut Tx<'_>, user: &UserRef) -> StoreResult<()> {
    tx.add_member(LOBBY_ID, user, Some(user.id)).map(drop)
}

/// Creates an open or closed room with its creator (none: the admin CLI)
/// and `member_ids` as members.
pub(super) fn create_room(
    tx: &mut Tx<'_>,
    creator: Option<&UserRef>,
    name: &RoomName,
    kind: RoomKind,
    topic: &Topic,
    member_ids: &[i64],
) -> StoreResult<Room> {
    let creator_id = creator.map(|c| c.id);
    if kind == RoomKind::Direct {
        return Err(StoreError::Invalid("use POST /api/rooms/direct"));
    }
    let members = users(tx.conn, member_ids)?;
    let id: Option<i64> = tx
        .conn
        .prepare_cached(
            "INSERT INTO rooms (name, kind, topic, created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT DO NOTHING RETURNING id",
        )?
        .query_row(
            params![name.as_str(), kind.as_str(), topic.as_str(), tx.now, creator_id],
            |r| r.get(0),
        )
        .optional()?;
    let id = id.ok_or(StoreError::Conflict)?;
    if kind == RoomKind::Open {
        let room = load_room(tx.conn, id)?;
        let created = ChangeKind::Room {
            event: RoomEvent::Created,
            room,
        };
        tx.record(id, created, None, creator_id)?;
    }
    if let Some(creator) = creator {
        tx.add_member(id, creator, Some(creator.id))?;
    }
    for member in &members {
        tx.add_member(id, member, creator_id)?;
    }
    load_room(tx.conn, id).map_err(Into::into)
}

/// The one direct room of `creator` and `user_ids`; true when it was created.
pub(super) fn direct_room(
    tx: &mut Tx<'_>,
    creator: &UserRef,
    user_ids: &[i64],
) -> StoreResult<(Room, bool)> {
    let (ids, key) = direct_key(creator, user_ids)?;
    let members = users(tx.conn, &ids)?;
    let existing: Option<i64> = tx
        .conn
        .prepare_cached("SELECT id FROM rooms WHERE direct_key = ?1")?
        .query_row([&key], |r| r.get(0))
        .optional()?;
    if let Some(id) = existing {
        return Ok((load_room(tx.conn, id)?, false));
    }
    let id: i64 = tx
        .conn
        .prepare_cached(
            "INSERT INTO rooms (name, kind, created_at, created_by, direct_key)
             VALUES ('', 'direct', ?1, ?2, ?3) RETURNING id",
        )?
        .query_row(params![tx.now, creator.id, key], |r| r.get(0))?;
    for member in &members {
        tx.add_member(id, member, Some(creator.id))?;
    }
    Ok((load_room(tx.conn, id)?, true))
}

/// Adds `user_ids` (existing accounts) to a room; returns those newly added.
/// Without an actor (the admin CLI) only the room's kind is checked.
pub(super) fn add_members(
    tx: &mut Tx<'_>,
    room_id: i64,
    actor: Option<&UserRef>,
    user_ids: &[i64],
) -> StoreResult<Vec<UserRef>> {
    match actor {
        Some(actor) => {
            tx.allow(room_id, actor.id, Action::AddMembers)?;
        }
        None => {
            let mut facts = tx.facts(room_id, 0)?;
            facts.member = true;
            access::decide(&facts, Action::AddMembers)?;
        }
    }
    let members = users(tx.conn, user_ids)?;
    let mut added = Vec::new();
    for member in members {
        if tx.add_member(room_id, &member, actor.map(|a| a.id))? {
            added.push(member);
        }
    }
    Ok(added)
}

/// Joins an open room.
pub(super) fn join(tx: &mut Tx<'_>, room_id: i64, user: &UserRef) -> StoreResult<Room> {
    let facts = tx.allow(room_id, user.id, Action::Join)?;
    if facts.kind != access::Kind::Open {
        // Members of closed rooms are added by members; joining one you are
        // already in is fine.
        return if facts.member {
            Ok(load_room(tx.conn, room_id)?)
        } else {
            Err(StoreError::NotFound)
        };
    }
    tx.add_member(room_id, user, Some(user.id))?;
    Ok(load_room(tx.conn, room_id)?)
}

/// Removes `target` from a room: leaving when it is the actor, else a removal
/// by the room's creator or an admin.
pub(super) fn remove_member(
    tx: &mut Tx<'_>,
    room_id: i64,
    actor: &UserRef,
    target: i64,
) -> StoreResult<()> {
    if target == actor.id {
        tx.allow(room_id, actor.id, Action::Leave)?;
        return tx.remove_member(room_id, actor, actor.id);
    }
    tx.allow(room_id, actor.id, Action::RemoveOthers)?;
    let user = users(tx.conn, &[target])?
        .pop()
        .ok_or(StoreError::NotFound)?;
    tx.remove_member(room_id, &user, actor.id)
}

/// Renames a room or changes its topic.
pub(super) fn update_room(
    tx: &mut Tx<'_>,
    room_id: i64,
    actor: &UserRef,
    name: Option<&RoomName>,
    topic: Option<&Topic>,
) -> StoreResult<Room> {
    let facts = tx.allow(room_id, actor.id, Action::Edit)?;
    if facts.lobby && name.is_some() {
        return Err(StoreError::Forbidden("the lobby keeps its name"));
    }
    if let Some(name) = name {
        let renamed = tx
            .conn
            .prepare_cached("UPDATE OR IGNORE rooms SET name = ?2 WHERE id = ?1")?
            .execute(params![room_id, name.as_str()])?;
        let taken = renamed == 0 && room_name(tx.conn, room_id)? != name.as_str();
        if taken {
            return Err(StoreError::Conflict);
        }
    }
    if let Some(topic) = topic {
        tx.conn
            .prepare_cached("UPDATE rooms SET topic = ?2 WHERE id = ?1")?
            .execute(params![room_id, topic.as_str()])?;
    }
    let room = load_room(tx.conn, room_id)?;
    let kind = ChangeKind::Room {
        event: RoomEvent::Updated,
        room: room.clone(),
    };
    tx.record(room_id, kind, None, Some(actor.id))?;
    Ok(room)
}

/// Archives or unarchives a room (admins; no actor: the admin CLI).
pub(super) fn set_archived(
    tx: &mut Tx<'_>,
    room_id: i64,
    actor: Option<&UserRef>,
    archived: bool,
) -> StoreResult<Room> {
    let mut facts = tx.facts(room_id, actor.map_or(0, |a| a.id))?;
    if actor.is_none() {
        facts.admin = true;
    }
    // Admins see every room to archive it, members or not.
    if facts.admin {
        facts.member = true;
    }
    access::decide(&facts, Action::Archive)?;
    tx.conn
        .prepare_cached("UPDATE rooms SET archived = ?2 WHERE id = ?1")?
        .execute(params![room_id, archived])?;
    let room = load_room(tx.conn, room_id)?;
    let event = if archived {
        RoomEvent::Archived
    } else {
        RoomEvent::Unarchived
    };
    let kind = ChangeKind::Room {
        event,
        room: room.clone(),
    };
    tx.record(room_id, kind, None, actor.map(|a| a.id))?;
    Ok(room)
}

/// Moves a member's read position forward (never back); true when it moved.
pub(super) fn mark_read(
    tx: &mut Tx<'_>,
    room_id: i64,
    user: &UserRef,
    last_read_id: i64,
) -> StoreResult<bool> {
    tx.allow(room_id, user.id, Action::Read)?;
    // Not past the newest message of the room: a position from the future
    // would hide messages that arrive later.
    let newest: i64 = tx
        .conn
        .prepare_cached("SELECT COALESCE(MAX(id), 0) FROM messages WHERE room_id = ?1")?
        .query_row([room_id], |r| r.get(0))?;
    let position = last_read_id.clamp(0, newest);
    let moved = tx
        .conn
        .prepare_cached(
            "INSERT INTO room_reads (room_id, user_id, last_read_id) VALUES (?1, ?2, ?3)
             ON CONFLICT (room_id, user_id) DO UPDATE SET last_read_id = excluded.last_read_id
             WHERE excluded.last_read_id > room_reads.last_read_id",
        )?
        .execute(params![room_id, user.id, position])?;
    if moved == 0 || position == 0 {
        return Ok(false);
    }
    let kind = ChangeKind::Read {
        user_id: user.id,
        last_read_id: position,
    };
    tx.record(room_id, kind, Some(user.id), Some(user.id))?;
    Ok(true)
}
