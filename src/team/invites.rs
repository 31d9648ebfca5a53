//! Invitation links: an admin (or any member, when allowed) makes one with
//! an expiry and a number of uses; registering through it uses one up.
//! Only the SHA-256 of the link's secret is stored.

use super::audit::{self, Actor};
use super::{TeamError, TeamResult, TeamService, link_secret, secret_hash};
use crate::stmt;
use crate::store::now_ms;
use crate::store::sql::Stmt;
use serde::Serialize;

/// Longest an invitation lasts: 30 days.
pub const MAX_HOURS: u32 = 30 * 24;
/// Most people one link admits.
pub const MAX_USES: u32 = 1000;
const HOUR_MS: i64 = 3_600_000;

/// An invitation, as its creator and admins see it.
#[derive(Debug, Clone, Serialize)]
pub struct Invite {
    /// Row id.
    pub id: i64,
    /// The secret of the link: only in the answer that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Who made it.
    pub created_by: String,
    /// Unix epoch milliseconds.
    pub created_at: i64,
    /// Unix epoch milliseconds.
    pub expires_at: i64,
    /// How many may register with it.
    pub max_uses: i64,
    /// How many did.
    pub uses: i64,
    /// `active`, `expired`, `used_up` or `revoked`.
    pub state: &'static str,
}

/// What the invitation page shows before registering.
#[derive(Debug, Clone, Serialize)]
pub struct InviteInfo {
    /// The team.
    pub team_name: String,
    /// Who invites.
    pub invited_by: String,
    /// Unix epoch milliseconds.
    pub expires_at: i64,
}

fn state_of(now: i64, expires_at: i64, uses: i64, max_uses: i64, revoked: bool) -> &'static str {
    if revoked {
        "revoked"
    } else if uses >= max_uses {
        "used_up"
    } else if expires_at <= now {
        "expired"
    } else {
        "active"
    }
}

/// The error for an invitation that cannot be used, by its state.
fn unusable(state: &str) -> TeamError {
    match state {
        "revoked" => TeamError::Invite("invite_revoked", "this invitation was revoked"),
        "used_up" => TeamError::Invite("invite_used_up", "this invitation has been used up"),
        "expired" => TeamError::Invite("invite_expired", "this invitation has expired"),
        _ => TeamError::Invite("invite_not_found", "no such invitation"),
    }
}

fn invite_from(r: &crate::store::sql::Row, now: i64) -> Invite {
    let (expires_at, max_uses, uses) = (r.int(3), r.int(4), r.int(5));
    Invite {
        id: r.int(0),
        token: None,
        created_by: r.text(1),
        created_at: r.int(2),
        expires_at,
        max_uses,
        uses,
        state: state_of(now, expires_at, uses, max_uses, r.opt_int(6).is_some()),
    }
}

/// A new invitation's secret, creation and expiry times, and the
/// statements that store it (the first returns its id); shared with the CLI.
pub fn new_invite(
    actor: &Actor,
    created_by: i64,
    hours: u32,
    uses: u32,
) -> (String, i64, i64, Vec<Stmt>) {
    let token = link_secret();
    let now = now_ms();
    let expires_at = now + i64::from(hours) * HOUR_MS;
    let stmts = vec![
        stmt!(
            "INSERT INTO invites (token_hash, created_by, created_at, expires_at, max_uses)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            secret_hash(&token),
            created_by,
            now,
            expires_at,
            i64::from(uses)
        ),
        audit::entry(
            actor,
            "invite.create",
            "",
            &format!("{uses} uses, {hours} h"),
        ),
    ];
    (token, now, expires_at, stmts)
}

impl TeamService {
    /// Makes an invitation valid for `hours` and `uses` registrations.
    pub async fn create_invite(&self, user_id: i64, hours: u32, uses: u32) -> TeamResult<Invite> {
        let (actor, admin) = self.actor(user_id).await?;
        if !admin && !self.settings().members_invite {
            return Err(TeamError::Forbidden("only admins may invite people"));
        }
        if !(1..=MAX_HOURS).contains(&hours) || !(1..=MAX_USES).contains(&uses) {
            return Err(crate::domain::ValidationError::new(format!(
                "an invitation lasts 1 to {MAX_HOURS} hours and admits 1 to {MAX_USES} people"
            ))
            .into());
        }
        let (token, now, expires_at, stmts) = new_invite(&actor, user_id, hours, uses);
        let rows = self.store.sql_write(stmts).await?;
        let id = rows.first().and_then(|r| r.first()).map_or(0, |r| r.int(0));
        Ok(Invite {
            id,
            token: Some(token),
            created_by: actor.name,
            created_at: now,
            expires_at,
            max_uses: i64::from(uses),
            uses: 0,
            state: "active",
        })
    }

    /// The invitations `user_id` may see (admins: all), newest first.
    pub async fn invites(&self, user_id: i64) -> TeamResult<Vec<Invite>> {
        let (_, admin) = self.actor(user_id).await?;
        let rows = self
            .store
            .sql_read(stmt!(
                "SELECT i.id, u.username, i.created_at, i.expires_at, i.max_uses, i.uses, i.revoked_at
                 FROM invites i JOIN users u ON u.id = i.created_by
                 WHERE ($1 = 1 OR i.created_by = $2) ORDER BY i.id DESC LIMIT 200",
                admin,
                user_id
            ))
            .await?;
        let now = now_ms();
        Ok(rows.iter().map(|r| invite_from(r, now)).collect())
    }

    /// Revokes an invitation (its creator or an admin).
    pub async fn revoke_invite(&self, user_id: i64, id: i64) -> TeamResult<()> {
        let (actor, admin) = self.actor(user_id).await?;
        let rows = self
            .store
            .sql_write(vec![
                stmt!(
                    "UPDATE invites SET revoked_at = $1
                     WHERE id = $2 AND ($3 = 1 OR created_by = $4) AND revoked_at IS NULL
                     RETURNING id",
                    now_ms(),
                    id,
                    admin,
                    user_id
                ),
                audit::entry(&actor, "invite.revoke", &id.to_string(), ""),
            ])
            .await?;
        if rows.first().is_none_or(Vec::is_empty) {
            return Err(TeamError::NotFound);
        }
        Ok(())
    }

    /// What the invitation page shows; an error says why it cannot be used.
    pub async fn invite_info(&self, token: &str) -> TeamResult<InviteInfo> {
        let rows = self
            .store
            .sql_read(stmt!(
                "SELECT i.id, u.username, i.created_at, i.expires_at, i.max_uses, i.uses, i.revoked_at
                 FROM invites i JOIN users u ON u.id = i.created_by WHERE i.token_hash = $1",
                secret_hash(token)
            ))
            .await?;
        let invite = rows
            .first()
            .map(|r| invite_from(r, now_ms()))
            .ok_or_else(|| unusable(""))?;
        if invite.state != "active" {
            return Err(unusable(invite.state));
        }
        Ok(InviteInfo {
            team_name: self.settings().team_name,
            invited_by: invite.created_by,
            expires_at: invite.expires_at,
        })
    }

    /// Uses up one registration of an invitation; its id (for [`Self::refund_invite`]).
    pub async fn use_invite(&self, token: &str) -> TeamResult<i64> {
        let rows = self
            .store
            .sql_write_one(stmt!(
                "UPDATE invites SET uses = uses + 1
                 WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2 AND uses < max_uses
                 RETURNING id",
                secret_hash(token),
                now_ms()
            ))
            .await?;
        match rows.first() {
            Some(r) => Ok(r.int(0)),
            None => Err(self
                .invite_info(token)
                .await
                .err()
                .unwrap_or_else(|| unusable(""))),
        }
    }

    /// Gives back a use when the registration it admitted failed.
    pub async fn refund_invite(&self, id: i64) {
        let refund = self
            .store
            .sql_write_one(stmt!(
                "UPDATE invites SET uses = uses - 1 WHERE id = $1 AND uses > 0",
                id
            ))
            .await;
        if let Err(e) = refund {
            tracing::warn!(error = %e, invite = id, "cannot give back an invitation's use");
        }
    }

    /// Checks that a registration may go ahead now: the mode, and the
    /// invitation when one is needed (or given). Returns the invitation used.
    pub async fn admit(&self, invite: Option<&str>) -> TeamResult<Option<i64>> {
        if !self.has_users().await? {
            // The very first account (the admin) needs nothing.
            return Ok(None);
        }
        let invite = invite.map(str::trim).filter(|t| !t.is_empty());
        match (self.settings().registration, invite) {
            (crate::domain::Registration::Closed, _) => Err(TeamError::RegistrationClosed),
            (_, Some(token)) => self.use_invite(token).await.map(Some),
            (crate::domain::Registration::Invite, None) => Err(TeamError::InviteRequired),
            (crate::domain::Registration::Open, None) => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invitation_is_revoked_used_up_expired_or_active() {
        assert_eq!(state_of(10, 20, 0, 1, true), "revoked");
        assert_eq!(state_of(10, 20, 1, 1, false), "used_up");
        assert_eq!(state_of(20, 20, 0, 1, false), "expired");
        assert_eq!(state_of(10, 20, 0, 2, false), "active");
    }
}
