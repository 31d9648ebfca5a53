//! Rooms, memberships and read positions on the cluster store: the same
//! rules as the SQLite store's `room_writes` (access by
//! [`crate::domain::access::decide`] on facts read inside the transaction).

use super::conn::Conn;
use super::rows::{is_member, load_room, users};
use super::tx::PgTx;
use crate::domain::access::{self, Action};
use crate::domain::{RoomName, Topic};
use crate::store::requests::direct_key;
use crate::store::{LOBBY_ID, Room, RoomDone, RoomKind, RoomOp, StoreError, StoreResult, UserRef};

/// Runs one room request inside `tx`.
pub(super) async fn room_op(tx: &mut PgTx<'_>, op: &RoomOp) -> StoreResult<RoomDone> {
    Ok(match op {
        RoomOp::Create {
            creator,
            name,
            kind,
            topic,
            member_ids,
        } => RoomDone::Room(create_room(tx, creator, name, *kind, topic, member_ids).await?),
        RoomOp::Direct { creator, user_ids } => {
            let (room, created) = direct_room(tx, creator, user_ids).await?;
            RoomDone::Direct(room, created)
        }
        RoomOp::AddMembers {
            room_id,
            actor,
            user_ids,
        } => RoomDone::Added(add_members(tx, *room_id, actor, user_ids).await?),
        RoomOp::Join { room_id, user } => RoomDone::Room(join(tx, *room_id, user).await?),
        RoomOp::Remove {
            room_id,
            actor,
            target,
        } => {
            remove(tx, *room_id, actor, *target).await?;
            RoomDone::Done
        }
        RoomOp::Update {
            room_id,
            actor,
            name,
            topic,
        } => RoomDone::Room(update_room(tx, *room_id, actor, name.as_ref(), topic.as_ref()).await?),
        RoomOp::Archive {
            room_id,
            actor,
            archived,
        } => RoomDone::Room(set_archived(tx, *room_id, actor, *archived).await?),
        RoomOp::Read {
            room_id,
            user,
            last_read_id,
        } => {
            mark_read(tx, *room_id, user, *last_read_id).await?;
            RoomDone::Done
        }
        RoomOp::Notify {
            room_id,
            user,
            level,
        } => {
            super::message_edits::set_notify(tx, *room_id, user, *level).await?;
            RoomDone::Done
        }
    })
}

/// Makes `user` a member (no-op when they are); returns whether it did.
pub(super) async fn add_member(
    tx: &mut PgTx<'_>,
    room_id: i64,
    user: &UserRef,
    actor: Option<i64>,
) -> StoreResult<bool> {
    if is_member(&tx.tx, room_id, user.id).await? {
        return Ok(false);
    }
    let seq = tx
        .event("member_added", room_id, Some(user.id), actor, None)
        .await?;
    tx.tx
        .exec(
            "INSERT INTO memberships (room_id, user_id, joined_seq) VALUES ($1, $2, $3)",
            &[&room_id, &user.id, &seq],
        )
        .await?;
    // A new member starts caught up (see the SQLite store).
    tx.tx
        .exec(
            "INSERT INTO room_reads (room_id, user_id, last_read_id)
             VALUES ($1, $2, (SELECT COALESCE(MAX(id), 0) FROM messages WHERE room_id = $1))
             ON CONFLICT (room_id, user_id)
             DO UPDATE SET last_read_id = GREATEST(room_reads.last_read_id, excluded.last_read_id)",
            &[&room_id, &user.id],
        )
        .await?;
    Ok(true)
}

async fn create_room(
    tx: &mut PgTx<'_>,
    creator: &UserRef,
    name: &RoomName,
    kind: RoomKind,
    topic: &Topic,
    member_ids: &[i64],
) -> StoreResult<Room> {
    if kind == RoomKind::Direct {
        return Err(StoreError::Invalid("use POST /api/rooms/direct"));
    }
    let members = users(&tx.tx, member_ids).await?;
    let row = tx
        .tx
        .opt(
            "INSERT INTO rooms (name, kind, topic, created_at, created_by) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT DO NOTHING RETURNING id",
            &[&name.as_str(), &kind.as_str(), &topic.as_str(), &tx.now, &creator.id],
        )
        .await?;
    let id: i64 = row.ok_or(StoreError::Conflict)?.get(0);
    if kind == RoomKind::Open {
        tx.event("room_created", id, None, Some(creator.id), None)
            .await?;
    }
    add_member(tx, id, creator, Some(creator.id)).await?;
    for member in &members {
        add_member(tx, id, member, Some(creator.id)).await?;
    }
    load_room(&tx.tx, id).await
}

async fn direct_room(
    tx: &mut PgTx<'_>,
    creator: &UserRef,
    user_ids: &[i64],
) -> StoreResult<(Room, bool)> {
    let (ids, key) = direct_key(creator, user_ids)?;
    let members = users(&tx.tx, &ids).await?;
    let existing = tx
        .tx
        .opt("SELECT id FROM rooms WHERE direct_key = $1", &[&key])
        .await?;
    if let Some(row) = existing {
        return Ok((load_room(&tx.tx, row.get(0)).await?, false));
    }
    let id: i64 = tx
        .tx
        .one(
            "INSERT INTO rooms (name, kind, created_at, created_by, direct_key)
             VALUES ('', 'direct', $1, $2, $3) RETURNING id",
            &[&tx.now, &creator.id, &key],
        )
        .await?
        .get(0);
    for member in &members {
        add_member(tx, id, member, Some(creator.id)).await?;
    }
    Ok((load_room(&tx.tx, id).await?, true))
}

async fn add_members(
    tx: &mut PgTx<'_>,
    room_id: i64,
    actor: &UserRef,
    user_ids: &[i64],
) -> StoreResult<Vec<UserRef>> {
    tx.allow(room_id, actor.id, Action::AddMembers).await?;
    let mut added = Vec::new();
    for member in users(&tx.tx, user_ids).await? {
        if add_member(tx, room_id, &member, Some(actor.id)).await? {
            added.push(member);
        }
    }
    Ok(added)
}

async fn join(tx: &mut PgTx<'_>, room_id: i64, user: &UserRef) -> StoreResult<Room> {
    let facts = tx.allow(room_id, user.id, Action::Join).await?;
    if facts.kind != access::Kind::Open {
        return if facts.member {
            load_room(&tx.tx, room_id).await
        } else {
            Err(StoreError::NotFound)
        };
    }
    add_member(tx, room_id, user, Some(user.id)).await?;
    load_room(&tx.tx, room_id).await
}

async fn remove(tx: &mut PgTx<'_>, room_id: i64, actor: &UserRef, target: i64) -> StoreResult<()> {
    let action = if target == actor.id {
        Action::Leave
    } else {
        Action::RemoveOthers
    };
    tx.allow(room_id, actor.id, action).await?;
    let user = users(&tx.tx, &[target])
        .await?
        .pop()
        .ok_or(StoreError::NotFound)?;
    if !is_member(&tx.tx, room_id, user.id).await? {
        return Err(StoreError::NotFound);
    }
    let seq = tx
        .event(
            "member_removed",
            room_id,
            Some(user.id),
            Some(actor.id),
            None,
        )
        .await?;
    tx.tx
        .exec(
            "UPDATE memberships SET left_seq = $3
             WHERE room_id = $1 AND user_id = $2 AND left_seq IS NULL",
            &[&room_id, &user.id, &seq],
        )
        .await?;
    Ok(())
}

async fn update_room(
    tx: &mut PgTx<'_>,
    room_id: i64,
    actor: &UserRef,
    name: Option<&RoomName>,
    topic: Option<&Topic>,
) -> StoreResult<Room> {
    let facts = tx.allow(room_id, actor.id, Action::Edit).await?;
    if facts.lobby && name.is_some() {
        return Err(StoreError::Forbidden("the lobby keeps its name"));
    }
    if let Some(name) = name {
        let taken = tx
            .tx
            .one(
                "SELECT EXISTS (SELECT 1 FROM rooms
                                WHERE lower(name) = lower($2) AND kind <> 'direct' AND id <> $1)",
                &[&room_id, &name.as_str()],
            )
            .await?
            .get::<_, bool>(0);
        if taken {
            return Err(StoreError::Conflict);
        }
        tx.tx
            .exec(
                "UPDATE rooms SET name = $2 WHERE id = $1",
                &[&room_id, &name.as_str()],
            )
            .await?;
    }
    if let Some(topic) = topic {
        tx.tx
            .exec(
                "UPDATE rooms SET topic = $2 WHERE id = $1",
                &[&room_id, &topic.as_str()],
            )
            .await?;
    }
    tx.event("room_updated", room_id, None, Some(actor.id), None)
        .await?;
    load_room(&tx.tx, room_id).await
}

async fn set_archived(
    tx: &mut PgTx<'_>,
    room_id: i64,
    actor: &UserRef,
    archived: bool,
) -> StoreResult<Room> {
    let mut facts = tx.facts(room_id, actor.id).await?;
    // Admins see every room to archive it, members or not.
    if facts.admin {
        facts.member = true;
    }
    access::decide(&facts, Action::Archive)?;
    tx.tx
        .exec(
            "UPDATE rooms SET archived = $2 WHERE id = $1",
            &[&room_id, &archived],
        )
        .await?;
    let kind = if archived {
        "room_archived"
    } else {
        "room_unarchived"
    };
    tx.event(kind, room_id, None, Some(actor.id), None).await?;
    load_room(&tx.tx, room_id).await
}

async fn mark_read(
    tx: &mut PgTx<'_>,
    room_id: i64,
    user: &UserRef,
    last_read_id: i64,
) -> StoreResult<bool> {
    tx.allow(room_id, user.id, Action::Read).await?;
    let newest: i64 = tx
        .tx
        .one(
            "SELECT COALESCE(MAX(id), 0) FROM messages WHERE room_id = $1",
            &[&room_id],
        )
        .await?
        .get(0);
    let position = last_read_id.clamp(0, newest);
    let moved = tx
        .tx
        .exec(
            "INSERT INTO room_reads (room_id, user_id, last_read_id) VALUES ($1, $2, $3)
             ON CONFLICT (room_id, user_id) DO UPDATE SET last_read_id = excluded.last_read_id
             WHERE excluded.last_read_id > room_reads.last_read_id",
            &[&room_id, &user.id, &position],
        )
        .await?;
    if moved == 0 || position == 0 {
        return Ok(false);
    }
    tx.event(
        "read",
        room_id,
        Some(user.id),
        Some(user.id),
        Some(position),
    )
    .await?;
    Ok(true)
}

/// Puts a new account in the lobby.
pub(super) async fn join_lobby(tx: &mut PgTx<'_>, user: &UserRef) -> StoreResult<()> {
    add_member(tx, LOBBY_ID, user, Some(user.id))
        .await
        .map(drop)
}
