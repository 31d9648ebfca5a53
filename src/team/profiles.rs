//! Profiles: display name, status line, avatar; and the directory clients
//! use to show them beside messages.

use super::{TeamError, TeamResult, TeamService};
use crate::domain::{DisplayName, StatusText};
use crate::stmt;
use crate::store::now_ms;
use serde::Serialize;

/// Most accounts the directory lists.
pub const DIRECTORY_MAX: i64 = 10_000;

/// A person as every member sees them.
#[derive(Debug, Clone, Serialize)]
pub struct Person {
    /// Row id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Shown name (empty: the username).
    pub display_name: String,
    /// Status line.
    pub status: String,
    /// The avatar's version (ms), `None`: the generated one.
    pub avatar_at: Option<i64>,
    /// An admin.
    pub is_admin: bool,
    /// Deactivated: shown so beside their old messages.
    pub deactivated: bool,
}

/// The columns [`person`] reads.
macro_rules! person_sql {
    () => {
        "SELECT id, username, display_name, status_text, avatar_at,
                CASE WHEN is_admin THEN 1 ELSE 0 END, deactivated_at FROM users"
    };
}

fn person(r: &crate::store::sql::Row) -> Person {
    Person {
        id: r.int(0),
        username: r.text(1),
        display_name: r.text(2),
        status: r.text(3),
        avatar_at: r.opt_int(4),
        is_admin: r.bool(5),
        deactivated: r.opt_int(6).is_some(),
    }
}

impl TeamService {
    /// Every account (up to [`DIRECTORY_MAX`]), by id.
    pub async fn directory(&self) -> TeamResult<Vec<Person>> {
        let sql = concat!(person_sql!(), " ORDER BY id LIMIT $1");
        let rows = self.store.sql_read(stmt!(sql, DIRECTORY_MAX)).await?;
        Ok(rows.iter().map(person).collect())
    }

    /// One account.
    pub async fn person(&self, user_id: i64) -> TeamResult<Person> {
        let sql = concat!(person_sql!(), " WHERE id = $1");
        let rows = self.store.sql_read(stmt!(sql, user_id)).await?;
        rows.first().map(person).ok_or(TeamError::NotFound)
    }

    /// Changes one's display name and/or status line.
    pub async fn update_profile(
        &self,
        user_id: i64,
        display_name: Option<DisplayName>,
        status: Option<StatusText>,
    ) -> TeamResult<Person> {
        let mut stmts = Vec::new();
        if let Some(name) = display_name {
            stmts.push(stmt!(
                "UPDATE users SET display_name = $1 WHERE id = $2",
                name.as_str(),
                user_id
            ));
        }
        if let Some(status) = status {
            stmts.push(stmt!(
                "UPDATE users SET status_text = $1 WHERE id = $2",
                status.as_str(),
                user_id
            ));
        }
        if !stmts.is_empty() {
            self.store.sql_write(stmts).await?;
        }
        self.person(user_id).await
    }

    /// Sets one's avatar (already cut to size); `None` goes back to the
    /// generated one.
    pub async fn set_avatar(
        &self,
        user_id: i64,
        image: Option<(Vec<u8>, &'static str)>,
    ) -> TeamResult<Person> {
        let stmts = match image {
            Some((bytes, mime)) => vec![
                stmt!(
                    "INSERT INTO avatars (user_id, image, mime) VALUES ($1, $2, $3)
                     ON CONFLICT (user_id) DO UPDATE SET image = excluded.image, mime = excluded.mime",
                    user_id,
                    bytes,
                    mime
                ),
                stmt!(
                    "UPDATE users SET avatar_at = $1 WHERE id = $2",
                    now_ms(),
                    user_id
                ),
            ],
            None => vec![
                stmt!("DELETE FROM avatars WHERE user_id = $1", user_id),
                stmt!("UPDATE users SET avatar_at = NULL WHERE id = $1", user_id),
            ],
        };
        self.store.sql_write(stmts).await?;
        self.person(user_id).await
    }

    /// An avatar image and its type.
    pub async fn avatar(&self, user_id: i64) -> TeamResult<(Vec<u8>, String)> {
        let rows = self
            .store
            .sql_read(stmt!(
                "SELECT image, mime FROM avatars WHERE user_id = $1",
                user_id
            ))
            .await?;
        rows.first()
            .map(|r| (r.blob(0), r.text(1)))
            .ok_or(TeamError::NotFound)
    }
}
