//! Lookups of rooms, members and accounts that both the writes (inside
//! their transaction) and the reads use; the PostgreSQL twin of the SQLite
//! store's `room_rows`.

use super::conn::Conn;
use crate::domain::access::RoomFacts;
use crate::store::conversation::group_reactions;
use crate::store::{
    LOBBY_ID, Message, Reaction, ReplyPreview, Room, RoomKind, StoreError, StoreResult, UserRef,
};
use std::collections::HashMap;
use tokio_postgres::Row;

/// The message columns every message query selects, in order.
pub(super) const MESSAGE_COLUMNS: &str = "m.id, m.room_id, r.name, m.user_id, u.username, \
     m.content, m.created_at, m.client_id, m.edited_at, m.deleted_at IS NOT NULL, m.mentions, \
     m.reply_to, rm.user_id, ru.username, substr(rm.content, 1, 200), rm.deleted_at IS NOT NULL, \
     m.files IS NOT NULL";

/// The tables [`MESSAGE_COLUMNS`] come from (`m` is the message).
pub(super) const MESSAGE_FROM: &str = "messages m
     JOIN users u ON u.id = m.user_id JOIN rooms r ON r.id = m.room_id
     LEFT JOIN messages rm ON rm.id = m.reply_to LEFT JOIN users ru ON ru.id = rm.user_id";

/// A row of [`MESSAGE_COLUMNS`] (reactions are added by [`add_reactions`]).
pub(super) fn message_from_row(r: &Row) -> Message {
    let mut m = Message {
        id: r.get(0),
        room_id: r.get(1),
        room: r.get(2),
        user_id: r.get(3),
        username: r.get(4),
        content: r.get(5),
        created_at: r.get(6),
        client_id: r.get(7),
        edited_at: r.get(8),
        deleted: r.get(9),
        has_files: r.get(16),
        ..Message::default()
    };
    if m.deleted {
        return m;
    }
    m.set_mentions(r.get::<_, Option<&str>>(10));
    if let Some(id) = r.get::<_, Option<i64>>(11) {
        m.reply_to = Some(ReplyPreview::new(
            id,
            r.get::<_, Option<i64>>(12).unwrap_or_default(),
            r.get::<_, Option<String>>(13).unwrap_or_default(),
            r.get::<_, Option<&str>>(14).unwrap_or_default(),
            r.get::<_, Option<bool>>(15).unwrap_or(true),
        ));
    }
    m
}

/// One message by id, as clients see it.
pub(super) async fn message_by_id(c: &impl Conn, id: i64) -> StoreResult<Option<Message>> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE m.id = $1");
    let Some(mut message) = c.opt(&sql, &[&id]).await?.map(|r| message_from_row(&r)) else {
        return Ok(None);
    };
    add_reactions(c, std::slice::from_mut(&mut message)).await?;
    Ok(Some(message))
}

/// Fills in the reactions and files of `messages` (one query each, none for
/// files when no row has any).
pub(super) async fn add_reactions<'a>(
    c: &impl Conn,
    messages: impl IntoIterator<Item = &'a mut Message>,
) -> StoreResult<()> {
    let mut messages: Vec<&mut Message> = messages.into_iter().filter(|m| !m.deleted).collect();
    super::files::add_files(c, &mut messages).await?;
    if messages.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = messages.iter().map(|m| m.id).collect();
    let mut rows: HashMap<i64, Vec<(String, UserRef)>> = HashMap::new();
    for r in c
        .rows(
            "SELECT x.message_id, x.emoji, x.user_id, u.username FROM reactions x
             JOIN users u ON u.id = x.user_id
             WHERE x.message_id = ANY($1)
             ORDER BY x.message_id, x.created_at, x.user_id",
            &[&ids],
        )
        .await?
    {
        let user = UserRef {
            id: r.get(2),
            username: r.get(3),
        };
        rows.entry(r.get(0)).or_default().push((r.get(1), user));
    }
    for m in &mut messages {
        if let Some(rows) = rows.remove(&m.id) {
            m.reactions = group_reactions(rows);
        }
    }
    Ok(())
}

/// The reactions of one message now.
pub(super) async fn reactions_of(c: &impl Conn, message_id: i64) -> StoreResult<Vec<Reaction>> {
    let rows = c
        .rows(
            "SELECT x.emoji, x.user_id, u.username FROM reactions x JOIN users u ON u.id = x.user_id
             WHERE x.message_id = $1 ORDER BY x.created_at, x.user_id",
            &[&message_id],
        )
        .await?;
    Ok(group_reactions(rows.iter().map(|r| {
        (
            r.get::<_, String>(0),
            UserRef {
                id: r.get(1),
                username: r.get(2),
            },
        )
    })))
}

/// The facts about `room_id` for `user_id`, or `None` for no such room.
pub(super) async fn room_facts(
    c: &impl Conn,
    room_id: i64,
    user_id: i64,
) -> StoreResult<Option<RoomFacts>> {
    let row = c
        .opt(
            "SELECT r.kind, r.archived, r.created_by = $2,
                    EXISTS (SELECT 1 FROM memberships m
                            WHERE m.room_id = r.id AND m.user_id = $2 AND m.left_seq IS NULL),
                    (SELECT is_admin FROM users WHERE id = $2)
             FROM rooms r WHERE r.id = $1 AND r.deleted_at IS NULL",
            &[&room_id, &user_id],
        )
        .await?;
    Ok(row.map(|r| RoomFacts {
        kind: RoomKind::from_db(r.get(0)).access(),
        lobby: room_id == LOBBY_ID,
        archived: r.get(1),
        creator: r.get::<_, Option<bool>>(2).unwrap_or(false),
        member: r.get(3),
        admin: r.get::<_, Option<bool>>(4).unwrap_or(false),
    }))
}

/// Whether `user_id` is a member of `room_id` now.
pub(super) async fn is_member(c: &impl Conn, room_id: i64, user_id: i64) -> StoreResult<bool> {
    Ok(c.one(
        "SELECT EXISTS (SELECT 1 FROM memberships
                        WHERE room_id = $1 AND user_id = $2 AND left_seq IS NULL)",
        &[&room_id, &user_id],
    )
    .await?
    .get(0))
}

/// The accounts with these ids, in id order; `Invalid` if one does not exist.
pub(super) async fn users(c: &impl Conn, ids: &[i64]) -> StoreResult<Vec<UserRef>> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let found: Vec<UserRef> = c
        .rows(
            "SELECT id, username FROM users WHERE id = ANY($1) ORDER BY id",
            &[&ids],
        )
        .await?
        .iter()
        .map(user_ref)
        .collect();
    if found.len() != ids.len() {
        return Err(StoreError::Invalid("no such user"));
    }
    Ok(found)
}

/// Columns id, username.
pub(super) fn user_ref(r: &Row) -> UserRef {
    UserRef {
        id: r.get(0),
        username: r.get(1),
    }
}

/// The room columns [`room_from_row`] reads, for a room aliased `r`.
pub(super) const ROOM_COLUMNS: &str =
    "r.id, r.name, r.kind, r.topic, r.archived, r.created_at, r.created_by,
     (SELECT COUNT(*) FROM memberships n WHERE n.room_id = r.id AND n.left_seq IS NULL)";

/// A room as members see it (member list for direct messages only).
pub(super) async fn load_room(c: &impl Conn, room_id: i64) -> StoreResult<Room> {
    let sql = format!("SELECT {ROOM_COLUMNS} FROM rooms r WHERE r.id = $1");
    let row = c
        .opt(&sql, &[&room_id])
        .await?
        .ok_or(StoreError::NotFound)?;
    with_members(c, room_from_row(&row)).await
}

/// Fills in the member list of a direct room.
pub(super) async fn with_members(c: &impl Conn, mut room: Room) -> StoreResult<Room> {
    if room.kind == RoomKind::Direct {
        room.members = Some(current_members(c, room.id).await?);
    }
    Ok(room)
}

/// A row of [`ROOM_COLUMNS`].
pub(super) fn room_from_row(r: &Row) -> Room {
    let id: i64 = r.get(0);
    Room {
        id,
        name: r.get(1),
        kind: RoomKind::from_db(r.get(2)),
        topic: r.get(3),
        lobby: id == LOBBY_ID,
        archived: r.get(4),
        created_at: r.get(5),
        created_by: r.get(6),
        members_count: r.get(7),
        members: None,
    }
}

/// The current members of a room, by name.
pub(super) async fn current_members(c: &impl Conn, room_id: i64) -> StoreResult<Vec<UserRef>> {
    Ok(c.rows(
        "SELECT u.id, u.username FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.room_id = $1 AND m.left_seq IS NULL ORDER BY lower(u.username), u.id",
        &[&room_id],
    )
    .await?
    .iter()
    .map(user_ref)
    .collect())
}
