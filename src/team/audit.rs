//! The audit log: who changed what, when (admin actions, the CLI, the
//! retention job).

use super::{TeamResult, TeamService};
use crate::stmt;
use crate::store::now_ms;
use crate::store::sql::Stmt;
use serde::Serialize;

/// Who did something: an account, or the server itself (`id` `None`).
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    /// The account, if any.
    pub id: Option<i64>,
    /// Its username, or `server` / `cli`.
    pub name: String,
}

impl Actor {
    /// The server's own jobs.
    pub fn server() -> Self {
        Self {
            id: None,
            name: "server".into(),
        }
    }

    /// The `hearth` command line.
    pub fn cli() -> Self {
        Self {
            id: None,
            name: "cli".into(),
        }
    }
}

/// One entry.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Row id (pages go by it).
    pub id: i64,
    /// Unix epoch milliseconds.
    pub at: i64,
    /// Who.
    pub actor: String,
    /// What, e.g. `user.deactivate`.
    pub action: String,
    /// To what, e.g. the username.
    pub target: String,
    /// Details.
    pub detail: String,
}

/// The statement that records an entry (run it with the change itself).
pub fn entry(actor: &Actor, action: &str, target: &str, detail: &str) -> Stmt {
    stmt!(
        "INSERT INTO audit_log (at, actor_id, actor, action, target, detail)
         VALUES ($1, $2, $3, $4, $5, $6)",
        now_ms(),
        actor.id,
        actor.name.as_str(),
        action,
        target,
        detail
    )
}

/// Most entries on one page.
pub const PAGE: i64 = 100;

impl TeamService {
    /// Entries older than `before` (newest first), at most [`PAGE`].
    pub async fn audit_log(&self, before: Option<i64>) -> TeamResult<Vec<Entry>> {
        let rows = self
            .store
            .sql_read(stmt!(
                "SELECT id, at, actor, action, target, detail FROM audit_log
                 WHERE id < $1 ORDER BY id DESC LIMIT $2",
                before.unwrap_or(i64::MAX),
                PAGE
            ))
            .await?;
        Ok(rows
            .iter()
            .map(|r| Entry {
                id: r.int(0),
                at: r.int(1),
                actor: r.text(2),
                action: r.text(3),
                target: r.text(4),
                detail: r.text(5),
            })
            .collect())
    }

    /// Records an entry on its own (when the change went through another
    /// service, e.g. archiving a room).
    pub async fn record(
        &self,
        actor: &Actor,
        action: &str,
        target: &str,
        detail: &str,
    ) -> TeamResult<()> {
        self.store
            .sql_write_one(entry(actor, action, target, detail))
            .await?;
        Ok(())
    }
}
