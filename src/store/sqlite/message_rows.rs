//! Reading messages as clients see them: the row with its reply preview and
//! mentions in one query, its reactions in a second one per page.

use crate::store::conversation::group_reactions;
use crate::store::models::{Message, ReplyPreview, UserRef};
use rusqlite::{Connection, OptionalExtension, Row};
use std::collections::HashMap;

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
pub(super) fn message_from_row(r: &Row<'_>) -> rusqlite::Result<Message> {
    let mut m = Message {
        id: r.get(0)?,
        room_id: r.get(1)?,
        room: r.get(2)?,
        user_id: r.get(3)?,
        username: r.get(4)?,
        content: r.get(5)?,
        created_at: r.get(6)?,
        client_id: r.get(7)?,
        edited_at: r.get(8)?,
        deleted: r.get(9)?,
        has_files: r.get(16)?,
        ..Message::default()
    };
    if m.deleted {
        return Ok(m);
    }
    m.set_mentions(r.get::<_, Option<String>>(10)?.as_deref());
    if let Some(id) = r.get::<_, Option<i64>>(11)? {
        let content: Option<String> = r.get(14)?;
        m.reply_to = Some(ReplyPreview::new(
            id,
            r.get::<_, Option<i64>>(12)?.unwrap_or_default(),
            r.get::<_, Option<String>>(13)?.unwrap_or_default(),
            content.as_deref().unwrap_or_default(),
            r.get::<_, Option<bool>>(15)?.unwrap_or(true),
        ));
    }
    Ok(m)
}

/// One message by id, as clients see it.
pub(super) fn message_by_id(c: &Connection, id: i64) -> rusqlite::Result<Option<Message>> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE m.id = ?1");
    let message = c
        .prepare_cached(&sql)?
        .query_row([id], message_from_row)
        .optional()?;
    let Some(mut message) = message else {
        return Ok(None);
    };
    add_reactions(c, std::slice::from_mut(&mut message))?;
    Ok(Some(message))
}

/// Fills in the reactions and files of `messages` (one query each, none
/// for files when no row has any).
pub(super) fn add_reactions<'a>(
    c: &Connection,
    messages: impl IntoIterator<Item = &'a mut Message>,
) -> rusqlite::Result<()> {
    let mut messages: Vec<&mut Message> = messages.into_iter().filter(|m| !m.deleted).collect();
    super::file_reads::add_files(c, messages.iter_mut().map(|m| &mut **m))?;
    if messages.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = messages.iter().map(|m| m.id.to_string()).collect();
    let ids = format!("[{}]", ids.join(","));
    let mut rows: HashMap<i64, Vec<(String, UserRef)>> = HashMap::new();
    let mut stmt = c.prepare_cached(
        "SELECT x.message_id, x.emoji, x.user_id, u.username FROM reactions x
         JOIN users u ON u.id = x.user_id
         WHERE x.message_id IN (SELECT value FROM json_each(?1))
         ORDER BY x.message_id, x.created_at, x.user_id",
    )?;
    let mut q = stmt.query([ids])?;
    while let Some(r) = q.next()? {
        let user = UserRef {
            id: r.get(2)?,
            username: r.get(3)?,
        };
        rows.entry(r.get(0)?).or_default().push((r.get(1)?, user));
    }
    for m in &mut messages {
        if let Some(rows) = rows.remove(&m.id) {
            m.reactions = group_reactions(rows);
        }
    }
    Ok(())
}

/// The reactions of one message now.
pub(super) fn reactions_of(
    c: &Connection,
    message_id: i64,
) -> rusqlite::Result<Vec<crate::store::Reaction>> {
    let mut stmt = c.prepare_cached(
        "SELECT x.emoji, x.user_id, u.username FROM reactions x JOIN users u ON u.id = x.user_id
         WHERE x.message_id = ?1 ORDER BY x.created_at, x.user_id",
    )?;
    let rows = stmt
        .query_map([message_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                UserRef {
                    id: r.get(1)?,
                    username: r.get(2)?,
                },
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(group_reactions(rows))
}
