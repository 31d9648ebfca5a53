//! Rooms as admins see them: every room but direct messages, with members
//! and messages counted.

use super::{TeamResult, TeamService};
use crate::stmt;
use serde::Serialize;

/// A room in the admin list.
#[derive(Debug, Clone, Serialize)]
pub struct RoomRow {
    /// Row id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// `open` or `closed`.
    pub kind: String,
    /// Read-only.
    pub archived: bool,
    /// Unix epoch milliseconds.
    pub created_at: i64,
    /// Current members.
    pub members: i64,
    /// Messages not deleted.
    pub messages: i64,
}

impl TeamService {
    /// Every open and closed room, by name.
    pub async fn all_rooms(&self) -> TeamResult<Vec<RoomRow>> {
        let rows = self
            .store
            .sql_read(stmt!(
                "SELECT r.id, r.name, r.kind, CASE WHEN r.archived THEN 1 ELSE 0 END, r.created_at,
                        (SELECT COUNT(*) FROM memberships m WHERE m.room_id = r.id AND m.left_seq IS NULL),
                        (SELECT COUNT(*) FROM messages g WHERE g.room_id = r.id AND g.deleted_at IS NULL)
                 FROM rooms r WHERE r.kind <> $1 ORDER BY lower(r.name)",
                "direct"
            ))
            .await?;
        Ok(rows
            .iter()
            .map(|r| RoomRow {
                id: r.int(0),
                name: r.text(1),
                kind: r.text(2),
                archived: r.bool(3),
                created_at: r.int(4),
                members: r.int(5),
                messages: r.int(6),
            })
            .collect())
    }
}
