//! One-time password links: an admin's reset, and the first password of an
//! account an admin made. The link sets a password once, within a day, and
//! signs the account out everywhere.

use super::accounts::{revocation_stamp, stamp_sql};
use super::audit::{self, Actor};
use super::{TeamError, TeamResult, TeamService, link_secret, secret_hash};
use crate::stmt;
use crate::store::now_ms;
use crate::store::sql::Stmt;
use serde::Serialize;

/// How long a link works.
pub const LINK_HOURS: i64 = 24;

/// What the link's page shows.
#[derive(Debug, Clone, Serialize)]
pub struct LinkInfo {
    /// The account whose password it sets.
    pub username: String,
    /// Unix epoch milliseconds.
    pub expires_at: i64,
    /// The team.
    pub team_name: String,
}

/// A new link's secret and the statements that store it (with its audit
/// entry); shared with the CLI.
pub fn new_link(actor: &Actor, user_id: i64, username: &str) -> (String, Vec<Stmt>) {
    let token = link_secret();
    let now = now_ms();
    let stmts = vec![
        stmt!(
            "INSERT INTO password_links (token_hash, user_id, created_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
            secret_hash(&token),
            user_id,
            actor.id,
            now,
            now + LINK_HOURS * 3_600_000
        ),
        audit::entry(actor, "user.password_link", username, ""),
    ];
    (token, stmts)
}

impl TeamService {
    /// Makes a link that sets `user_id`'s password; returns its secret.
    pub async fn create_password_link(&self, actor: &Actor, user_id: i64) -> TeamResult<String> {
        let rows = self
            .store
            .sql_read(stmt!("SELECT username FROM users WHERE id = $1", user_id))
            .await?;
        let name = rows.first().map(|r| r.text(0)).ok_or(TeamError::NotFound)?;
        let (token, stmts) = new_link(actor, user_id, &name);
        self.store.sql_write(stmts).await?;
        Ok(token)
    }

    /// The link's account, if the link can still be used.
    pub async fn password_link(&self, token: &str) -> TeamResult<LinkInfo> {
        let rows = self
            .store
            .sql_read(stmt!(
                "SELECT u.username, l.expires_at FROM password_links l JOIN users u ON u.id = l.user_id
                 WHERE l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at > $2",
                secret_hash(token),
                now_ms()
            ))
            .await?;
        let r = rows.first().ok_or(TeamError::LinkInvalid)?;
        Ok(LinkInfo {
            username: r.text(0),
            expires_at: r.int(1),
            team_name: self.settings().team_name,
        })
    }

    /// Uses the link once: sets the password (already hashed) and revokes
    /// every token of the account. Returns the account's id.
    pub async fn use_password_link(&self, token: &str, password_hash: String) -> TeamResult<i64> {
        let hash = secret_hash(token);
        let now = now_ms();
        let rows = self
            .store
            .sql_write(vec![
                stmt!(
                    "UPDATE password_links SET used_at = $1
                     WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $3 RETURNING user_id",
                    now,
                    hash.as_str(),
                    now
                ),
                stmt!(
                    concat!(
                        "UPDATE users SET ",
                        stamp_sql!(),
                        ", keep_session = NULL, password_hash = $2
                         WHERE id = (SELECT user_id FROM password_links WHERE token_hash = $3 AND used_at = $4)
                         RETURNING id"
                    ),
                    revocation_stamp(),
                    password_hash,
                    hash.as_str(),
                    now
                ),
            ])
            .await?;
        rows.get(1)
            .and_then(|r| r.first())
            .map(|r| r.int(0))
            .ok_or(TeamError::LinkInvalid)
    }
}
