//! Looking up whom a message may mention (the room's members by name) and
//! which room a message is in.

use super::reader::ReadPool;
use crate::store::models::UserRef;
use crate::store::{StoreError, StoreResult};
use rusqlite::OptionalExtension;

impl ReadPool {
    /// The current members of `room_id` whose name is one of `names` (any
    /// ASCII letter case), and the room's member count.
    pub async fn mention_targets(
        &self,
        room_id: i64,
        names: Vec<String>,
    ) -> StoreResult<(Vec<UserRef>, i64)> {
        self.with(move |c| {
            let names = serde_json::to_string(&names).unwrap_or_else(|_| "[]".into());
            let users = c
                .prepare_cached(
                    "SELECT u.id, u.username FROM users u
                     JOIN memberships m ON m.user_id = u.id AND m.room_id = ?1 AND m.left_seq IS NULL
                     WHERE u.username COLLATE NOCASE IN (SELECT value FROM json_each(?2))",
                )?
                .query_map(rusqlite::params![room_id, names], |r| {
                    Ok(UserRef {
                        id: r.get(0)?,
                        username: r.get(1)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let count: i64 = c
                .prepare_cached(
                    "SELECT COUNT(*) FROM memberships WHERE room_id = ?1 AND left_seq IS NULL",
                )?
                .query_row([room_id], |r| r.get(0))?;
            Ok((users, count))
        })
        .await
    }

    /// The room of a message that is not deleted.
    pub async fn message_room(&self, message_id: i64) -> StoreResult<i64> {
        self.with(move |c| {
            c.prepare_cached("SELECT room_id FROM messages WHERE id = ?1 AND deleted_at IS NULL")?
                .query_row([message_id], |r| r.get(0))
                .optional()
        })
        .await?
        .ok_or(StoreError::NotFound)
    }
}
