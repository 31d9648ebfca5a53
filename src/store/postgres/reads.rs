//! Reads of the cluster store: the PostgreSQL twin of the SQLite read pool
//! (same methods, same answers).

use super::PgStore;
use super::changes::{EventRow, into_changes};
use super::conn::Conn;
use super::rows::{
    MESSAGE_COLUMNS, MESSAGE_FROM, ROOM_COLUMNS, add_reactions, current_members, load_room,
    message_from_row, room_facts, room_from_row, user_ref, with_members,
};
use crate::domain::access::RoomFacts;
use crate::store::{
    LOBBY_ID, MAX_UNREAD, NotifyLevel, Page, Room, RoomView, StoreError, StoreResult, StreamPage,
    User, UserCredentials, UserRef, limit_plus_one, now_ms,
};
use std::collections::HashSet;
use tokio_postgres::Row;

fn user_from_row(r: &Row) -> User {
    User {
        id: r.get(0),
        username: r.get(1),
        is_admin: r.get(2),
        created_at: r.get(3),
    }
}

/// A Unix-seconds column; a negative one means "never".
fn unix_seconds(r: &Row, idx: usize) -> u64 {
    r.get::<_, i64>(idx).max(0).unsigned_abs()
}

impl PgStore {
    /// Checks that the database answers.
    pub async fn ping(&self) -> StoreResult<()> {
        self.client().await?.one("SELECT 1", &[]).await.map(drop)
    }

    /// An account by id.
    pub async fn user_by_id(&self, id: i64) -> StoreResult<User> {
        let c = self.client().await?;
        let row = c
            .opt(
                "SELECT id, username, is_admin, created_at FROM users WHERE id = $1",
                &[&id],
            )
            .await?;
        row.map(|r| user_from_row(&r)).ok_or(StoreError::NotFound)
    }

    /// An account and its password hash, by name (any letter case).
    pub async fn credentials(&self, username: String) -> StoreResult<Option<UserCredentials>> {
        let c = self.client().await?;
        let row = c
            .opt(
                "SELECT id, username, is_admin, created_at, password_hash, tokens_valid_after
                 FROM users WHERE lower(username) = lower($1)",
                &[&username],
            )
            .await?;
        Ok(row.map(|r| UserCredentials {
            user: user_from_row(&r),
            password_hash: r.get(4),
            tokens_valid_after: unix_seconds(&r, 5),
        }))
    }

    /// Whether an account exists whose name has this uniqueness key.
    pub async fn name_key_taken(&self, key: &str) -> StoreResult<bool> {
        let c = self.client().await?;
        Ok(c.one(
            "SELECT EXISTS (SELECT 1 FROM users WHERE name_key = $1)",
            &[&key],
        )
        .await?
        .get(0))
    }

    /// Session ids signed out whose tokens have not expired yet.
    pub async fn revoked_sessions(&self) -> StoreResult<HashSet<String>> {
        let now = now_ms() / 1000;
        let c = self.client().await?;
        let rows = c
            .rows(
                "SELECT sid FROM revoked_sessions WHERE expires_at >= $1",
                &[&now],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Number of stored messages (all rooms).
    pub async fn message_count(&self) -> StoreResult<i64> {
        let c = self.client().await?;
        Ok(c.one("SELECT COUNT(*) FROM messages", &[]).await?.get(0))
    }

    /// Up to `limit` newest messages of a room with id < `before`, ascending.
    pub async fn history(
        &self,
        room_id: i64,
        before: Option<i64>,
        limit: usize,
    ) -> StoreResult<Page> {
        let before = before.unwrap_or(i64::MAX);
        let mut page = self
            .message_page("m.id < $2 ORDER BY m.id DESC", room_id, before, limit)
            .await?;
        page.messages.reverse();
        Ok(page)
    }

    /// Up to `limit` messages of a room with id > `after`, oldest first.
    pub async fn after(&self, room_id: i64, after: i64, limit: usize) -> StoreResult<Page> {
        self.message_page("m.id > $2 ORDER BY m.id", room_id, after, limit)
            .await
    }

    async fn message_page(
        &self,
        bound: &str,
        room_id: i64,
        cursor: i64,
        limit: usize,
    ) -> StoreResult<Page> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM}
             WHERE m.room_id = $1 AND {bound} LIMIT $3"
        );
        let c = self.client().await?;
        let rows = c
            .rows(&sql, &[&room_id, &cursor, &limit_plus_one(limit)])
            .await?;
        let has_more = rows.len() > limit;
        let mut messages: Vec<_> = rows.iter().take(limit).map(message_from_row).collect();
        add_reactions(&c, &mut messages).await?;
        Ok(Page { messages, has_more })
    }

    /// The highest message id in a room (0 when empty).
    pub async fn head(&self, room_id: i64) -> StoreResult<i64> {
        let c = self.client().await?;
        Ok(c.one(
            "SELECT COALESCE(MAX(id), 0) FROM messages WHERE room_id = $1",
            &[&room_id],
        )
        .await?
        .get(0))
    }

    /// The highest seq of the change stream (0 when empty).
    pub async fn head_seq(&self) -> StoreResult<i64> {
        let c = self.client().await?;
        Ok(c.one("SELECT seq FROM stream_head", &[]).await?.get(0))
    }

    /// What the access rule needs to know (`None`: no such room).
    pub async fn room_facts(&self, room_id: i64, user_id: i64) -> StoreResult<Option<RoomFacts>> {
        room_facts(&self.client().await?, room_id, user_id).await
    }

    /// A room as `user_id` sees it (the caller has checked access).
    pub async fn room_view(&self, room_id: i64, user_id: i64) -> StoreResult<RoomView> {
        let c = self.client().await?;
        let room = load_room(&c, room_id).await?;
        view(&c, room, user_id).await
    }

    /// The rooms `user_id` is in and the open rooms they may join.
    pub async fn rooms_for(&self, user_id: i64, archived: bool) -> StoreResult<Vec<RoomView>> {
        let c = self.client().await?;
        let sql = format!(
            "SELECT {ROOM_COLUMNS} FROM rooms r
             LEFT JOIN memberships m ON m.room_id = r.id AND m.user_id = $1 AND m.left_seq IS NULL
             WHERE (m.user_id IS NOT NULL OR r.kind = 'open') AND ($2 OR NOT r.archived) AND r.deleted_at IS NULL
             ORDER BY r.id"
        );
        let rows = c.rows(&sql, &[&user_id, &archived]).await?;
        let mut views = Vec::with_capacity(rows.len());
        for row in &rows {
            let room = with_members(&c, room_from_row(row)).await?;
            views.push(view(&c, room, user_id).await?);
        }
        Ok(views)
    }

    /// The current members of a room.
    pub async fn members(&self, room_id: i64) -> StoreResult<Vec<UserRef>> {
        current_members(&self.client().await?, room_id).await
    }

    /// Accounts whose name contains `query` (any case), by name, at most `limit`.
    pub async fn search_users(&self, query: String, limit: usize) -> StoreResult<Vec<UserRef>> {
        let pattern = format!(
            "%{}%",
            query
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let limit = i64::try_from(limit).unwrap_or(50);
        let c = self.client().await?;
        let rows = c
            .rows(
                "SELECT id, username FROM users WHERE username ILIKE $1 ESCAPE '\\'
                 ORDER BY lower(username), id LIMIT $2",
                &[&pattern, &limit],
            )
            .await?;
        Ok(rows.iter().map(user_ref).collect())
    }

    /// Every current membership outside the lobby, for the routing index.
    pub async fn memberships(&self) -> StoreResult<Vec<(i64, i64)>> {
        let c = self.client().await?;
        let rows = c
            .rows(
                "SELECT room_id, user_id FROM memberships WHERE left_seq IS NULL AND room_id <> $1",
                &[&LOBBY_ID],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// The room of a message that is not deleted.
    pub async fn message_room(&self, message_id: i64) -> StoreResult<i64> {
        let c = self.client().await?;
        c.opt(
            "SELECT room_id FROM messages WHERE id = $1 AND deleted_at IS NULL",
            &[&message_id],
        )
        .await?
        .map(|r| r.get(0))
        .ok_or(StoreError::NotFound)
    }

    /// The current members of `room_id` whose name is one of `names` (any
    /// letter case), and the room's member count.
    pub async fn mention_targets(
        &self,
        room_id: i64,
        names: Vec<String>,
    ) -> StoreResult<(Vec<UserRef>, i64)> {
        let c = self.client().await?;
        let users = c
            .rows(
                "SELECT u.id, u.username FROM users u
                 JOIN memberships m ON m.user_id = u.id AND m.room_id = $1 AND m.left_seq IS NULL
                 WHERE lower(u.username) = ANY(SELECT lower(n) FROM unnest($2::TEXT[]) n)",
                &[&room_id, &names],
            )
            .await?
            .iter()
            .map(user_ref)
            .collect();
        let count: i64 = c
            .one(
                "SELECT COUNT(*) FROM memberships WHERE room_id = $1 AND left_seq IS NULL",
                &[&room_id],
            )
            .await?
            .get(0);
        Ok((users, count))
    }

    /// Up to `limit` changes after `after` that `user_id` was entitled to,
    /// in seq order (the same rule as the SQLite store).
    pub async fn stream(&self, user_id: i64, after: i64, limit: usize) -> StoreResult<StreamPage> {
        let c = self.client().await?;
        let rows = c
            .rows(
                "SELECT e.seq, e.kind, e.room_id, e.user_id, e.value FROM events e
                 JOIN memberships m ON m.room_id = e.room_id AND m.user_id = $1
                  AND e.seq >= m.joined_seq AND (m.left_seq IS NULL OR e.seq <= m.left_seq)
                 WHERE e.seq > $2 AND e.kind NOT IN ('read', 'notify')
                 UNION
                 SELECT e.seq, e.kind, e.room_id, e.user_id, e.value FROM events e
                 WHERE e.seq > $2 AND e.kind IN ('read', 'notify') AND e.user_id = $1
                 UNION
                 SELECT e.seq, e.kind, e.room_id, e.user_id, e.value FROM events e
                 JOIN rooms r ON r.id = e.room_id AND r.kind = 'open'
                 WHERE e.seq > $2 AND e.kind IN ('room_created', 'room_updated',
                                                 'room_archived', 'room_unarchived')
                 ORDER BY 1 LIMIT $3",
                &[&user_id, &after, &limit_plus_one(limit)],
            )
            .await?;
        let has_more = rows.len() > limit;
        let events: Vec<EventRow> = rows.iter().take(limit).map(EventRow::read).collect();
        let changes = into_changes(&c, events).await?;
        Ok(StreamPage { changes, has_more })
    }
}

/// `room` as `user_id` sees it: membership, read position, unread count.
async fn view(c: &impl Conn, room: Room, user_id: i64) -> StoreResult<RoomView> {
    let row = c
        .one(
            "SELECT EXISTS (SELECT 1 FROM memberships
                            WHERE room_id = $1 AND user_id = $2 AND left_seq IS NULL),
                    (SELECT COALESCE(MAX(id), 0) FROM messages WHERE room_id = $1),
                    COALESCE((SELECT last_read_id FROM room_reads
                              WHERE room_id = $1 AND user_id = $2), 0),
                    (SELECT notify FROM room_reads WHERE room_id = $1 AND user_id = $2)",
            &[&room.id, &user_id],
        )
        .await?;
    let (member, last_message_id, last_read_id): (bool, i64, i64) =
        (row.get(0), row.get(1), row.get(2));
    let notify = row
        .get::<_, Option<&str>>(3)
        .and_then(NotifyLevel::parse)
        .unwrap_or_default();
    let unread = if member && last_message_id > last_read_id {
        c.one(
            "SELECT COUNT(*) FROM (SELECT 1 FROM messages
                                   WHERE room_id = $1 AND id > $2 AND user_id <> $3 LIMIT $4) t",
            &[&room.id, &last_read_id, &user_id, &MAX_UNREAD],
        )
        .await?
        .get(0)
    } else {
        0
    };
    let mentions = if unread > 0 {
        c.one(
            "SELECT COUNT(*) FROM (SELECT 1 FROM mentions
                                   WHERE user_id IN ($3, 0) AND room_id = $1 AND message_id > $2
                                     AND author_id <> $3 LIMIT $4) t",
            &[&room.id, &last_read_id, &user_id, &MAX_UNREAD],
        )
        .await?
        .get(0)
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
        notify,
    })
}
