//! Message retention: when an admin sets N days, a daily job deletes older
//! messages with their files. Each is deleted like a person's delete, so
//! clients see it go live and on resume.

use super::audit::{self, Actor};
use super::{TeamResult, TeamService};
use crate::stmt;
use crate::store::sql::Stmt;
use crate::store::{MessageOp, StoreError, UserRef, now_ms};

/// Messages deleted per round.
pub(super) const ROUND: i64 = 500;
const DAY_MS: i64 = 86_400_000;

impl TeamService {
    /// Deletes the messages older than the retention setting; how many.
    pub async fn apply_retention(&self) -> TeamResult<u64> {
        let days = self.settings().retention_days;
        if days == 0 {
            return Ok(0);
        }
        let before = now_ms() - i64::from(days) * DAY_MS;
        let deleted = self
            .expire_messages(|| {
                stmt!(
                    "SELECT m.id, m.user_id, u.username FROM messages m JOIN users u ON u.id = m.user_id
                     WHERE m.created_at < $1 AND m.deleted_at IS NULL ORDER BY m.id LIMIT $2",
                    before,
                    ROUND
                )
            })
            .await?;
        if deleted > 0 {
            self.store
                .sql_write_one(audit::entry(
                    &Actor::server(),
                    "retention.delete",
                    "",
                    &format!("{deleted} messages older than {days} days"),
                ))
                .await?;
            tracing::info!(deleted, days, "retention: deleted old messages");
        }
        Ok(deleted)
    }

    /// Deletes, like their authors would, the messages `select` finds
    /// (`id, user_id, username` of undeleted messages, a round at a time)
    /// until it finds none; how many. Retention and room deletion use it.
    pub(super) async fn expire_messages(&self, select: impl Fn() -> Stmt) -> TeamResult<u64> {
        let mut deleted = 0u64;
        loop {
            let rows = self.store.sql_read(select()).await?;
            if rows.is_empty() {
                return Ok(deleted);
            }
            for r in &rows {
                let op = MessageOp::Delete {
                    message_id: r.int(0),
                    actor: UserRef {
                        id: r.int(1),
                        username: r.text(2),
                    },
                    expired: true,
                };
                match self.store.message_op(op).await {
                    Ok(_) => deleted += 1,
                    // Deleted meanwhile (another node's job, its author).
                    Err(StoreError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
}
