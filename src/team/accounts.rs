//! Accounts as admins manage them: the list, the admin role (never the last
//! admin), deactivation (the revocation stamp then refuses every token) and
//! signing an account out of its other sessions.

use super::audit::Actor;
use super::{TeamError, TeamResult, TeamService};
use crate::stmt;
use crate::store::now_ms;
use serde::Serialize;

/// Most accounts on one page of the admin list.
pub const PAGE: i64 = 200;

/// An account in the admin list.
#[derive(Debug, Clone, Serialize)]
pub struct AccountRow {
    /// Row id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Shown name (empty: the username).
    pub display_name: String,
    /// An admin.
    pub is_admin: bool,
    /// Unix epoch milliseconds.
    pub created_at: i64,
    /// When deactivated (Unix epoch milliseconds), if it is.
    pub deactivated_at: Option<i64>,
    /// Last use of any of its sessions (Unix epoch milliseconds).
    pub last_seen_at: Option<i64>,
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
fn like_pattern(q: &str) -> String {
    let mut out = String::from("%");
    for c in q.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Seconds now, plus one: tokens issued up to this second are revoked, and
/// logins after it are stamped at least this (see `TokenKeys::issue`).
pub(crate) fn revocation_stamp() -> i64 {
    now_ms() / 1000 + 1
}

/// Sets the revocation stamp to `$1` ([`revocation_stamp`]), or past the
/// old one: logins right after an earlier stamp were issued *at* it, and
/// must be revoked too.
macro_rules! stamp_sql {
    () => {
        "tokens_valid_after = CASE WHEN tokens_valid_after >= $1 THEN tokens_valid_after + 1 ELSE $1 END"
    };
}
pub(crate) use stamp_sql;

impl TeamService {
    /// Accounts whose username or display name contains `query`, by name.
    pub async fn accounts(&self, query: &str) -> TeamResult<Vec<AccountRow>> {
        let rows = self
            .store
            .sql_read(stmt!(
                "SELECT u.id, u.username, u.display_name, CASE WHEN u.is_admin THEN 1 ELSE 0 END,
                        u.created_at, u.deactivated_at,
                        (SELECT MAX(s.last_seen_at) FROM login_sessions s WHERE s.user_id = u.id)
                 FROM users u
                 WHERE lower(u.username) LIKE $1 ESCAPE '\\' OR lower(u.display_name) LIKE $1 ESCAPE '\\'
                 ORDER BY lower(u.username) LIMIT $2",
                like_pattern(query),
                PAGE
            ))
            .await?;
        Ok(rows
            .iter()
            .map(|r| AccountRow {
                id: r.int(0),
                username: r.text(1),
                display_name: r.text(2),
                is_admin: r.bool(3),
                created_at: r.int(4),
                deactivated_at: r.opt_int(5),
                last_seen_at: r.opt_int(6),
            })
            .collect())
    }

    /// The username of `user_id`.
    async fn username(&self, user_id: i64) -> TeamResult<String> {
        let rows = self
            .store
            .sql_read(stmt!("SELECT username FROM users WHERE id = $1", user_id))
            .await?;
        rows.first().map(|r| r.text(0)).ok_or(TeamError::NotFound)
    }

    /// Makes `target` an admin or takes the role away; the last active
    /// admin keeps it (`LastAdmin`).
    pub async fn set_admin(&self, actor: &Actor, target: i64, admin: bool) -> TeamResult<()> {
        let name = self.username(target).await?;
        let rows = self
            .store
            .sql_write_one(stmt!(
                "UPDATE users SET is_admin = $1 WHERE id = $2 AND ($3 = 1 OR
                   (SELECT COUNT(*) FROM users WHERE is_admin = $4 AND deactivated_at IS NULL AND id <> $2) > 0)
                 RETURNING id",
                admin,
                target,
                admin,
                true
            ))
            .await?;
        if rows.is_empty() {
            return Err(TeamError::LastAdmin);
        }
        let action = if admin {
            "user.make_admin"
        } else {
            "user.remove_admin"
        };
        self.record(actor, action, &name, "").await
    }

    /// Deactivates (`active` false: every token refused, login refused,
    /// messages kept) or reactivates an account. The last active admin
    /// cannot be deactivated. The caller closes the sockets.
    pub async fn set_active(&self, actor: &Actor, target: i64, active: bool) -> TeamResult<()> {
        let name = self.username(target).await?;
        let (change, action) = if active {
            (
                // Tokens from before the deactivation stay refused.
                stmt!(
                    concat!(
                        "UPDATE users SET deactivated_at = NULL, keep_session = NULL, ",
                        stamp_sql!(),
                        " WHERE id = $2 RETURNING id"
                    ),
                    revocation_stamp(),
                    target
                ),
                "user.reactivate",
            )
        } else {
            (
                stmt!(
                    "UPDATE users SET deactivated_at = COALESCE(deactivated_at, $1)
                     WHERE id = $2 AND (is_admin = $3 OR
                       (SELECT COUNT(*) FROM users WHERE is_admin = $4 AND deactivated_at IS NULL AND id <> $2) > 0)
                     RETURNING id",
                    now_ms(),
                    target,
                    false,
                    true
                ),
                "user.deactivate",
            )
        };
        if self.store.sql_write_one(change).await?.is_empty() {
            return Err(TeamError::LastAdmin);
        }
        self.record(actor, action, &name, "").await
    }

    /// Signs `user_id` out of every session but `keep`; with `password_hash`,
    /// also sets a new password. The caller closes the sockets.
    pub async fn revoke_other_sessions(
        &self,
        user_id: i64,
        keep: Option<&str>,
        password_hash: Option<String>,
    ) -> TeamResult<()> {
        let stamp = revocation_stamp();
        let change = match password_hash {
            Some(hash) => stmt!(
                concat!(
                    "UPDATE users SET ",
                    stamp_sql!(),
                    ", keep_session = $2, password_hash = $3 WHERE id = $4"
                ),
                stamp,
                keep,
                hash,
                user_id
            ),
            None => stmt!(
                concat!(
                    "UPDATE users SET ",
                    stamp_sql!(),
                    ", keep_session = $2 WHERE id = $3"
                ),
                stamp,
                keep,
                user_id
            ),
        };
        self.store.sql_write_one(change).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_patterns_match_literally() {
        assert_eq!(super::like_pattern(" A_b%"), "%a\\_b\\%%");
    }
}
