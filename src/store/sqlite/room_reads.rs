//! Reads of messages, rooms and the change stream. Access is decided by the
//! caller with [`crate::domain::access::decide`] on [`ReadPool::room_facts`];
//! the stream query itself only returns what the user was entitled to.

use super::message_rows::{
    MESSAGE_COLUMNS, MESSAGE_FROM, add_reactions, message_from_row, reactions_of,
};
use super::reader::ReadPool;
use super::room_rows::{self, current_members, load_room, room_from_row};
use crate::domain::access::RoomFacts;
use crate::store::StoreResult;
use crate::store::models::{
    Change, ChangeKind, LOBBY_ID, MemberEvent, Message, NotifyLevel, Room, RoomEvent, RoomView,
    UserRef,
};
use crate::store::{MAX_UNREAD, Page, StreamPage, limit_plus_one};
use rusqlite::{Connection, OptionalExtension, Row, params};
use std::collections::HashMap;

/// Up to `limit` messages of a room by `bound` (a condition on `?2` and an
/// order), and whether more lie beyond.
fn message_page(
    c: &Connection,
    bound: &str,
    room_id: i64,
    cursor: i64,
    limit: usize,
) -> rusqlite::Result<Page> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM}
         WHERE m.room_id = ?1 AND {bound} LIMIT ?3"
    );
    let mut messages = c
        .prepare_cached(&sql)?
        .query_map(
            params![room_id, cursor, limit_plus_one(limit)],
            message_from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let has_more = messages.len() > limit;
    messages.truncate(limit);
    add_reactions(c, &mut messages)?;
    Ok(Page { messages, has_more })
}

impl ReadPool {
    /// Up to `limit` newest messages of a room with id < `before` (any id
    /// when `None`), in ascending order.
    pub async fn history(
        &self,
        room_id: i64,
        before: Option<i64>,
        limit: usize,
    ) -> StoreResult<Page> {
        let before = before.unwrap_or(i64::MAX);
        self.with(move |c| {
            let mut page = message_page(c, "m.id < ?2 ORDER BY m.id DESC", room_id, before, limit)?;
            page.messages.reverse();
            Ok(page)
        })
        .await
    }

    /// Up to `limit` messages of a room with id > `after`, oldest first.
    pub async fn after(&self, room_id: i64, after: i64, limit: usize) -> StoreResult<Page> {
        self.with(move |c| message_page(c, "m.id > ?2 ORDER BY m.id", room_id, after, limit))
            .await
    }

    /// The highest message id in a room (0 when empty).
    pub async fn head(&self, room_id: i64) -> StoreResult<i64> {
        self.with(move |c| {
            c.prepare_cached("SELECT COALESCE(MAX(id), 0) FROM messages WHERE room_id = ?1")?
                .query_row([room_id], |r| r.get(0))
        })
        .await
    }

    /// The highest seq of the change stream (0 when empty).
    pub async fn head_seq(&self) -> StoreResult<i64> {
        self.with(|c| c.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0)))
            .await
    }

    /// What the access rule needs to know about `room_id` and `user_id`
    /// (`None`: no such room).
    pub async fn room_facts(&self, room_id: i64, user_id: i64) -> StoreResult<Option<RoomFacts>> {
        self.with(move |c| room_rows::room_facts(c, room_id, user_id))
            .await
    }

    /// A room as `user_id` sees it (the caller has checked access).
    pub async fn room_view(&self, room_id: i64, user_id: i64) -> StoreResult<RoomView> {
        self.with(move |c| {
            let room = load_room(c, room_id)?;
            view(c, room, user_id)
        })
        .await
    }

    /// The rooms `user_id` is in and the open rooms they may join, archived
    /// ones only when asked.
    pub async fn rooms_for(&self, user_id: i64, archived: bool) -> StoreResult<Vec<RoomView>> {
        self.with(move |c| {
            let rooms = c
                .prepare_cached(
                    "SELECT r.id, r.name, r.kind, r.topic, r.archived, r.created_at, r.created_by,
                            (SELECT COUNT(*) FROM memberships n
                             WHERE n.room_id = r.id AND n.left_seq IS NULL)
                     FROM rooms r
                     LEFT JOIN memberships m
                       ON m.room_id = r.id AND m.user_id = ?1 AND m.left_seq IS NULL
                     WHERE (m.user_id IS NOT NULL OR r.kind = 'open') AND (?2 OR r.archived = 0) AND r.deleted_at IS NULL
                     ORDER BY r.id",
                )?
                .query_map(params![user_id, archived], room_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rooms
                .into_iter()
                .map(|mut room| {
                    if room.kind == crate::store::models::RoomKind::Direct {
                        room.members = Some(current_members(c, room.id)?);
                    }
                    view(c, room, user_id)
                })
                .collect()
        })
        .await
    }

    /// The current members of a room.
    pub async fn members(&self, room_id: i64) -> StoreResult<Vec<UserRef>> {
        self.with(move |c| current_members(c, room_id)).await
    }

    /// Accounts whose name contains `query` (any case), by name, at most `limit`.
    pub async fn search_users(&self, query: String, limit: usize) -> StoreResult<Vec<UserRef>> {
        self.with(move |c| {
            let pattern = format!(
                "%{}%",
                query
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            c.prepare_cached(
                "SELECT id, username FROM users WHERE username LIKE ?1 ESCAPE '\\'
                 ORDER BY username COLLATE NOCASE, id LIMIT ?2",
            )?
            .query_map(params![pattern, i64::try_from(limit).unwrap_or(50)], |r| {
                Ok(UserRef {
                    id: r.get(0)?,
                    username: r.get(1)?,
                })
            })?
            .collect()
        })
        .await
    }

    /// Every current membership outside the lobby, for the hub's routing index.
    pub async fn memberships(&self) -> StoreResult<Vec<(i64, i64)>> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT room_id, user_id FROM memberships
                 WHERE left_seq IS NULL AND room_id <> ?1",
            )?
            .query_map([LOBBY_ID], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect()
        })
        .await
    }

    /// Up to `limit` changes after `after` that `user_id` was entitled to, in
    /// seq order: the events of every room while they were a member (their
    /// own removal included), meta events of open rooms, their own reads.
    pub async fn stream(&self, user_id: i64, after: i64, limit: usize) -> StoreResult<StreamPage> {
        self.with(move |c| {
            let rows = c
                .prepare_cached(
                    "SELECT e.seq, e.kind, e.room_id, e.user_id, e.value FROM events e
                     JOIN memberships m ON m.room_id = e.room_id AND m.user_id = ?1
                      AND e.seq >= m.joined_seq AND (m.left_seq IS NULL OR e.seq <= m.left_seq)
                     WHERE e.seq > ?2 AND e.kind NOT IN ('read', 'notify')
                     UNION
                     SELECT e.seq, e.kind, e.room_id, e.user_id, e.value FROM events e
                     WHERE e.seq > ?2 AND e.kind IN ('read', 'notify') AND e.user_id = ?1
                     UNION
                     SELECT e.seq, e.kind, e.room_id, e.user_id, e.value FROM events e
                     JOIN rooms r ON r.id = e.room_id AND r.kind = 'open'
                     WHERE e.seq > ?2 AND e.kind IN ('room_created', 'room_updated',
                                                     'room_archived', 'room_unarchived')
                     ORDER BY 1 LIMIT ?3",
                )?
                .query_map(
                    params![user_id, after, limit_plus_one(limit)],
                    EventRow::read,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let has_more = rows.len() > limit;
            let changes = into_changes(c, rows.into_iter().take(limit))?;
            Ok(StreamPage { changes, has_more })
        })
        .await
    }
}

/// Every change after `after` in all rooms, in seq order: what another
/// process (the admin CLI) committed, for the writer to publish.
pub(super) fn changes_after(c: &Connection, after: i64) -> rusqlite::Result<Vec<Change>> {
    let rows = c
        .prepare_cached(
            "SELECT seq, kind, room_id, user_id, value FROM events WHERE seq > ?1 ORDER BY seq",
        )?
        .query_map([after], EventRow::read)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    into_changes(c, rows)
}

/// The changes of event rows, as clients are told about them now.
fn into_changes(
    c: &Connection,
    rows: impl IntoIterator<Item = EventRow>,
) -> rusqlite::Result<Vec<Change>> {
    let mut rooms = HashMap::new();
    let mut changes = Vec::new();
    for row in rows {
        if let Some(change) = row.into_change(c, &mut rooms)? {
            changes.push(change);
        }
    }
    let messages = changes.iter_mut().filter_map(|c| match &mut c.kind {
        ChangeKind::Message(m) | ChangeKind::Edited(m) => Some(m),
        _ => None,
    });
    add_reactions(c, messages)?;
    Ok(changes)
}

/// One row of the `events` table.
struct EventRow {
    seq: i64,
    kind: String,
    room_id: i64,
    user_id: Option<i64>,
    value: Option<i64>,
}

impl EventRow {
    /// Columns seq, kind, room_id, user_id, value.
    fn read(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            seq: r.get(0)?,
            kind: r.get(1)?,
            room_id: r.get(2)?,
            user_id: r.get(3)?,
            value: r.get(4)?,
        })
    }

    /// The change as a client is told about it now (rooms and messages as
    /// they are today). `None` for an event whose message is gone.
    fn into_change(
        self,
        c: &Connection,
        rooms: &mut HashMap<i64, Room>,
    ) -> rusqlite::Result<Option<Change>> {
        let mut room = |c: &Connection, id: i64| -> rusqlite::Result<Room> {
            if let Some(room) = rooms.get(&id) {
                return Ok(room.clone());
            }
            let room = load_room(c, id)?;
            rooms.insert(id, room.clone());
            Ok(room)
        };
        let user = |c: &Connection, id: Option<i64>| -> rusqlite::Result<UserRef> {
            c.prepare_cached("SELECT id, username FROM users WHERE id = ?1")?
                .query_row([id.unwrap_or_default()], |r| {
                    Ok(UserRef {
                        id: r.get(0)?,
                        username: r.get(1)?,
                    })
                })
        };
        let message = |c: &Connection, id: i64| -> rusqlite::Result<Option<Message>> {
            let sql = format!("SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE m.id = ?1");
            c.prepare_cached(&sql)?
                .query_row([id], message_from_row)
                .optional()
        };
        let target = self.value.unwrap_or_default();
        let kind = match self.kind.as_str() {
            "message" => match message(c, self.seq)? {
                Some(m) => ChangeKind::Message(m),
                None => return Ok(None),
            },
            "message_edited" => match message(c, target)? {
                Some(m) => ChangeKind::Edited(m),
                None => return Ok(None),
            },
            "message_deleted" => ChangeKind::Deleted { message_id: target },
            "reaction" => ChangeKind::Reaction {
                message_id: target,
                reactions: reactions_of(c, target)?,
            },
            "notify" => ChangeKind::Notify {
                user_id: self.user_id.unwrap_or_default(),
                level: NotifyLevel::from_code(self.value),
            },
            "member_added" | "member_removed" => ChangeKind::Member {
                event: if self.kind == "member_added" {
                    MemberEvent::Added
                } else {
                    MemberEvent::Removed
                },
                user: user(c, self.user_id)?,
                room: room(c, self.room_id)?,
            },
            "read" => ChangeKind::Read {
                user_id: self.user_id.unwrap_or_default(),
                last_read_id: self.value.unwrap_or_default(),
            },
            other => ChangeKind::Room {
                event: match other {
                    "room_created" => RoomEvent::Created,
                    "room_archived" => RoomEvent::Archived,
                    "room_unarchived" => RoomEvent::Unarchived,
                    _ => RoomEvent::Updated,
                },
                room: room(c, self.room_id)?,
            },
        };
        Ok(Some(Change {
            seq: self.seq,
            room_id: self.room_id,
            kind,
        }))
    }
}

/// `room` as `user_id` sees it: membership, read position, unread count.
fn view(c: &Connection, room: Room, user_id: i64) -> rusqlite::Result<RoomView> {
    let member: bool = c
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM memberships
                            WHERE room_id = ?1 AND user_id = ?2 AND left_seq IS NULL)",
        )?
        .query_row(params![room.id, user_id], |r| r.get(0))?;
    let last_message_id: i64 = c
        .prepare_cached("SELECT COALESCE(MAX(id), 0) FROM messages WHERE room_id = ?1")?
        .query_row([room.id], |r| r.get(0))?;
    let (last_read_id, notify): (i64, Option<String>) = c
        .prepare_cached(
            "SELECT last_read_id, notify FROM room_reads WHERE room_id = ?1 AND user_id = ?2",
        )?
        .query_row(params![room.id, user_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .unwrap_or((0, None));
    let unread = if member && last_message_id > last_read_id {
        c.prepare_cached(
            "SELECT COUNT(*) FROM (SELECT 1 FROM messages
                                   WHERE room_id = ?1 AND id > ?2 AND user_id <> ?3 LIMIT ?4)",
        )?
        .query_row(params![room.id, last_read_id, user_id, MAX_UNREAD], |r| {
            r.get(0)
        })?
    } else {
        0
    };
    let mentions = if unread > 0 {
        c.prepare_cached(
            "SELECT COUNT(*) FROM (SELECT 1 FROM mentions
                                   WHERE user_id IN (?3, 0) AND room_id = ?1 AND message_id > ?2
                                     AND author_id <> ?3 LIMIT ?4)",
        )?
        .query_row(params![room.id, last_read_id, user_id, MAX_UNREAD], |r| {
            r.get(0)
        })?
    } else {
        0
    };
    Ok(RoomView {
        room,
        member,
        unread,
        last_message_id,
        last_read_id,
        mentions,
        notify: notify
            .as_deref()
            .and_then(NotifyLevel::parse)
            .unwrap_or_default(),
    })
}
