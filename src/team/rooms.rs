//! Rooms as admins see them: every room but direct messages, with members
//! and messages counted.

use super::audit::{self, Actor};
use super::{TeamError, TeamResult, TeamService};
use crate::auth::AuthUser;
use crate::stmt;
use crate::store::{LOBBY_ID, RoomOp, StoreError, UserRef, now_ms};
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
                 FROM rooms r WHERE r.kind <> $1 AND r.deleted_at IS NULL ORDER BY lower(r.name)",
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

impl TeamService {
    /// Deletes a room for good: every member is removed (their clients drop
    /// it), every message is deleted with its files, and the room is hidden
    /// everywhere (404). Not the lobby, not direct messages. Returns how many
    /// messages went.
    pub async fn delete_room(
        &self,
        admin: &AuthUser,
        actor: &Actor,
        room_id: i64,
    ) -> TeamResult<u64> {
        if room_id == LOBBY_ID {
            return Err(TeamError::Forbidden("the lobby cannot be deleted"));
        }
        let rooms = self
            .store
            .sql_read(stmt!(
                "SELECT name, kind, CASE WHEN archived THEN 1 ELSE 0 END FROM rooms
                 WHERE id = $1 AND deleted_at IS NULL",
                room_id
            ))
            .await?;
        let room = rooms.first().ok_or(TeamError::NotFound)?;
        if room.text(1) == "direct" {
            return Err(TeamError::Forbidden(
                "direct messages are not deleted by admins",
            ));
        }
        let name = room.text(0);
        let me = UserRef {
            id: admin.id,
            username: admin.username.to_string(),
        };
        // Archived rooms refuse member changes: reopen it first.
        if room.bool(2) {
            let reopen = RoomOp::Archive {
                room_id,
                actor: me.clone(),
                archived: false,
            };
            self.store.room(reopen).await?;
        }
        // Each member leaves (an admin outside a closed room may not remove
        // its members; leaving needs no one's leave).
        for member in self.store.members(room_id).await? {
            let target = member.id;
            let op = RoomOp::Remove {
                room_id,
                actor: member,
                target,
            };
            match self.store.room(op).await {
                Ok(_) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let deleted = self
            .expire_messages(|| {
                stmt!(
                    "SELECT m.id, m.user_id, u.username FROM messages m JOIN users u ON u.id = m.user_id
                     WHERE m.room_id = $1 AND m.deleted_at IS NULL ORDER BY m.id LIMIT $2",
                    room_id,
                    super::retention::ROUND
                )
            })
            .await?;
        // Archived last: everyone who lists the room (an open room is listed
        // to all) learns it is gone from the list.
        let close = RoomOp::Archive {
            room_id,
            actor: me,
            archived: true,
        };
        self.store.room(close).await?;
        // The name is free again; the row stays for the change stream.
        self.store
            .sql_write(vec![
                stmt!(
                    "UPDATE rooms SET deleted_at = $1, name = $2 WHERE id = $3",
                    now_ms(),
                    format!("{name} (deleted #{room_id})"),
                    room_id
                ),
                audit::entry(actor, "room.delete", &name, &format!("{deleted} messages")),
            ])
            .await?;
        Ok(deleted)
    }
}
