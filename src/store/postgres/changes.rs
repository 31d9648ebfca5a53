//! Event rows into the changes clients are told about: what each node's
//! publisher reads after a wake-up, and what resume and `/api/stream` read.

use super::conn::Conn;
use super::rows::{
    MESSAGE_COLUMNS, MESSAGE_FROM, add_reactions, load_room, message_from_row, reactions_of,
    user_ref,
};
use crate::store::models::EventKind;
use crate::store::{Change, ChangeKind, Message, NotifyLevel, Room, StoreError, StoreResult};
use std::collections::HashMap;
use tokio_postgres::Row;

/// One row of the `events` table.
pub(super) struct EventRow {
    seq: i64,
    kind: EventKind,
    room_id: i64,
    user_id: Option<i64>,
    value: Option<i64>,
}

impl EventRow {
    /// Columns seq, kind, room_id, user_id, value.
    pub(super) fn read(r: &Row) -> Self {
        Self {
            seq: r.get(0),
            kind: EventKind::from_db(r.get(1)),
            room_id: r.get(2),
            user_id: r.get(3),
            value: r.get(4),
        }
    }
}

/// Up to `limit` changes after `after` in every room, in seq order, and the
/// seq of the last event row read (a change whose message is gone is
/// skipped, but its seq is still passed).
pub(super) async fn changes_after(
    c: &impl Conn,
    after: i64,
    limit: i64,
) -> StoreResult<(Vec<Change>, Option<i64>)> {
    let rows = c
        .rows(
            "SELECT seq, kind, room_id, user_id, value FROM events
             WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&after, &limit],
        )
        .await?;
    let last = rows.last().map(|r| r.get::<_, i64>(0));
    let events = rows.iter().map(EventRow::read).collect();
    Ok((into_changes(c, events).await?, last))
}

/// The changes of event rows, as clients are told about them now. The
/// messages are fetched in one query; rooms once each.
pub(super) async fn into_changes(c: &impl Conn, events: Vec<EventRow>) -> StoreResult<Vec<Change>> {
    // The messages created or edited, in one query (an edit event's value
    // is its message's id).
    let mut ids: Vec<i64> = events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Message => Some(e.seq),
            EventKind::Edited => e.value,
            _ => None,
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut messages: HashMap<i64, Message> = HashMap::with_capacity(ids.len());
    if !ids.is_empty() {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE m.id = ANY($1)");
        let mut found: Vec<Message> = c
            .rows(&sql, &[&ids])
            .await?
            .iter()
            .map(message_from_row)
            .collect();
        add_reactions(c, &mut found).await?;
        messages.extend(found.into_iter().map(|m| (m.id, m)));
    }
    let edited: std::collections::HashSet<i64> = events
        .iter()
        .filter(|e| e.kind == EventKind::Edited)
        .filter_map(|e| e.value)
        .collect();
    let mut rooms: HashMap<i64, Room> = HashMap::new();
    let mut changes = Vec::with_capacity(events.len());
    for e in events {
        let kind = match e.kind {
            // Moved out unless an edit in this page needs it too.
            EventKind::Message if !edited.contains(&e.seq) => match messages.remove(&e.seq) {
                Some(m) => ChangeKind::Message(m),
                None => continue,
            },
            EventKind::Message => match messages.get(&e.seq) {
                Some(m) => ChangeKind::Message(m.clone()),
                None => continue,
            },
            EventKind::Edited => match e.value.and_then(|id| messages.get(&id)) {
                Some(m) => ChangeKind::Edited(m.clone()),
                None => continue,
            },
            EventKind::Deleted => ChangeKind::Deleted {
                message_id: e.value.unwrap_or_default(),
            },
            EventKind::Reaction => {
                let message_id = e.value.unwrap_or_default();
                ChangeKind::Reaction {
                    message_id,
                    reactions: reactions_of(c, message_id).await?,
                }
            }
            EventKind::Notify => ChangeKind::Notify {
                user_id: e.user_id.unwrap_or_default(),
                level: NotifyLevel::from_code(e.value),
            },
            EventKind::Read => ChangeKind::Read {
                user_id: e.user_id.unwrap_or_default(),
                last_read_id: e.value.unwrap_or_default(),
            },
            EventKind::Member(event) => {
                let user = c
                    .opt(
                        "SELECT id, username FROM users WHERE id = $1",
                        &[&e.user_id.unwrap_or_default()],
                    )
                    .await?
                    .map(|r| user_ref(&r))
                    .ok_or(StoreError::NotFound)?;
                ChangeKind::Member {
                    event,
                    user,
                    room: room(c, &mut rooms, e.room_id).await?,
                }
            }
            EventKind::Room(event) => ChangeKind::Room {
                event,
                room: room(c, &mut rooms, e.room_id).await?,
            },
        };
        changes.push(Change {
            seq: e.seq,
            room_id: e.room_id,
            kind,
        });
    }
    Ok(changes)
}

async fn room(c: &impl Conn, rooms: &mut HashMap<i64, Room>, id: i64) -> StoreResult<Room> {
    if let Some(room) = rooms.get(&id) {
        return Ok(room.clone());
    }
    let room = load_room(c, id).await?;
    rooms.insert(id, room.clone());
    Ok(room)
}
