//! Login sessions: every login is recorded (device, address, last seen) so
//! people can see where they are signed in and sign sessions out.

use super::{TeamResult, TeamService};
use crate::stmt;
use crate::store::now_ms;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// "Last seen" is written at most this often per session.
const SEEN_EVERY: Duration = Duration::from_secs(300);
/// Longest user agent kept.
const MAX_AGENT: usize = 300;

/// A login, as its owner sees it.
#[derive(Debug, Clone, Serialize)]
pub struct LoginSession {
    /// The session id (the token's `sid`).
    pub id: String,
    /// Unix epoch milliseconds.
    pub created_at: i64,
    /// Unix epoch milliseconds.
    pub last_seen_at: i64,
    /// The browser's user agent.
    pub agent: String,
    /// The client's address.
    pub ip: String,
    /// The session asking.
    pub current: bool,
    /// Unix seconds: the token's issue time (revocation checks).
    #[serde(skip)]
    pub issued_at: u64,
    /// Unix seconds: the token's expiry.
    #[serde(skip)]
    pub expires_at: u64,
}

/// When each session's "last seen" was last written.
#[derive(Default)]
pub struct SeenDebounce(Mutex<HashMap<String, Instant>>);

impl SeenDebounce {
    /// Whether `sid` is due a write now (and notes that it got one).
    fn due(&self, sid: &str) -> bool {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() > 100_000 {
            map.retain(|_, at| at.elapsed() < SEEN_EVERY);
        }
        match map.get(sid) {
            Some(at) if at.elapsed() < SEEN_EVERY => false,
            _ => {
                map.insert(sid.to_owned(), Instant::now());
                true
            }
        }
    }
}

/// Facts of a new login.
#[derive(Debug, Clone)]
pub struct NewLogin<'a> {
    /// The account.
    pub user_id: i64,
    /// The token's `sid`.
    pub session_id: &'a str,
    /// The token's `iat`.
    pub issued_at: u64,
    /// The token's `exp`.
    pub expires_at: u64,
    /// User agent.
    pub agent: &'a str,
    /// Client address.
    pub ip: &'a str,
}

fn secs(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl TeamService {
    /// Records a login. Failing to is logged, not fatal: the token works.
    pub async fn record_login(&self, login: NewLogin<'_>) {
        let agent: String = login.agent.chars().take(MAX_AGENT).collect();
        let now = now_ms();
        let result = self
            .store
            .sql_write_one(stmt!(
                "INSERT INTO login_sessions (id, user_id, created_at, last_seen_at, expires_at, issued_at, agent, ip)
                 VALUES ($1, $2, $3, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
                login.session_id,
                login.user_id,
                now,
                secs(login.expires_at),
                secs(login.issued_at),
                agent,
                login.ip
            ))
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "cannot record a login session");
        }
        self.seen.due(login.session_id);
    }

    /// Notes that a session was used (written at most every few minutes).
    pub async fn touch_session(&self, session_id: &str) {
        if session_id.starts_with("sig:") || !self.seen.due(session_id) {
            return;
        }
        let result = self
            .store
            .sql_write_one(stmt!(
                "UPDATE login_sessions SET last_seen_at = $1 WHERE id = $2",
                now_ms(),
                session_id
            ))
            .await;
        if let Err(e) = result {
            tracing::debug!(error = %e, "cannot note a session's last use");
        }
    }

    /// The unexpired sessions of `user_id` that `revoked` does not rule
    /// out, most recently used first.
    pub async fn sessions(
        &self,
        user_id: i64,
        current: &str,
        revoked: impl Fn(&LoginSession) -> bool,
    ) -> TeamResult<Vec<LoginSession>> {
        let now_secs = now_ms() / 1000;
        let rows = self
            .store
            .sql_read(stmt!(
                "SELECT id, created_at, last_seen_at, agent, ip, issued_at, expires_at
                 FROM login_sessions WHERE user_id = $1 AND expires_at > $2
                 ORDER BY last_seen_at DESC LIMIT 200",
                user_id,
                now_secs
            ))
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let id = r.text(0);
                LoginSession {
                    current: id == current,
                    id,
                    created_at: r.int(1),
                    last_seen_at: r.int(2),
                    agent: r.text(3),
                    ip: r.text(4),
                    issued_at: r.int(5).try_into().unwrap_or(0),
                    expires_at: r.int(6).try_into().unwrap_or(0),
                }
            })
            .filter(|s| !revoked(s))
            .collect())
    }

    /// The expiry of session `session_id` of `user_id`, if it is theirs.
    pub async fn session_expiry(&self, user_id: i64, session_id: &str) -> TeamResult<Option<u64>> {
        let rows = self
            .store
            .sql_read(stmt!(
                "SELECT expires_at FROM login_sessions WHERE id = $1 AND user_id = $2",
                session_id,
                user_id
            ))
            .await?;
        Ok(rows.first().map(|r| r.int(0).try_into().unwrap_or(0)))
    }
}
