//! Revoked tokens: every token of an account issued before a password reset
//! (`users.tokens_valid_after`), and single sessions signed out with
//! `POST /api/auth/logout` (`revoked_sessions`). `hearth user reset-password`
//! runs in its own process, so the server re-reads both every few seconds;
//! a check stays two map lookups.

use std::collections::{HashMap, HashSet};
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

/// How often the server re-reads the revocations: the longest a reset made
/// by another process takes to sign an account out.
pub const REFRESH_EVERY: Duration = Duration::from_secs(2);

/// An account's revocation stamp: tokens issued before `after` (Unix
/// seconds) are refused, except those of the session `keep` (the one that
/// changed the password). A deactivated account's is `u64::MAX`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stamp {
    /// Tokens issued before this Unix second are refused.
    pub after: u64,
    /// The session that stays signed in.
    pub keep: Option<String>,
}

impl Stamp {
    /// A stamp with no kept session.
    pub fn at(after: u64) -> Self {
        Self { after, keep: None }
    }

    fn revokes(&self, issued_at: u64, session: &str) -> bool {
        issued_at < self.after && self.keep.as_deref() != Some(session)
    }
}

#[derive(Default)]
struct State {
    /// User id → its stamp.
    valid_after: HashMap<i64, Stamp>,
    /// Signed-out session ids, as last read from the database.
    sessions: HashSet<String>,
    /// Sessions signed out here recently: a refresh that read the database
    /// just before their row was committed must not bring them back.
    local: HashMap<String, Instant>,
}

/// How long a local sign-out is kept beside the database's list.
const LOCAL_KEEP: Duration = Duration::from_secs(60);

/// The revocations in force.
#[derive(Default)]
pub struct Revocations {
    state: RwLock<State>,
}

impl Revocations {
    /// Whether a token of `user_id` issued at `issued_at` for `session` was revoked.
    pub fn is_revoked(&self, user_id: i64, issued_at: u64, session: &str) -> bool {
        // A poisoned lock only means a writer panicked mid-replace; the maps
        // themselves are always whole, so keep using them.
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        state
            .valid_after
            .get(&user_id)
            .is_some_and(|stamp| stamp.revokes(issued_at, session))
            || state.sessions.contains(session)
            || state.local.contains_key(session)
    }

    /// Revokes one session now (the database row is written by the caller).
    pub fn revoke_session(&self, session: &str) {
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        state.local.insert(session.to_owned(), Instant::now());
    }

    /// Replaces everything with a fresh read of the database; true when it
    /// revokes something that was not revoked before.
    pub fn replace(&self, valid_after: HashMap<i64, Stamp>, sessions: HashSet<String>) -> bool {
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        let known = |s: &String| state.sessions.contains(s) || state.local.contains_key(s);
        let stricter = valid_after.iter().any(|(user, new)| {
            state
                .valid_after
                .get(user)
                .is_none_or(|old| new.after > old.after)
        }) || !sessions.iter().all(known);
        state.valid_after = valid_after;
        state.sessions = sessions;
        state.local.retain(|_, at| at.elapsed() < LOCAL_KEEP);
        stricter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_issued_before_the_stamp_are_revoked() {
        let r = Revocations::default();
        assert!(!r.is_revoked(1, 100, "s"));
        assert!(r.replace(HashMap::from([(1, Stamp::at(200))]), HashSet::new()));
        assert!(r.is_revoked(1, 199, "s"));
        assert!(
            !r.is_revoked(1, 200, "s"),
            "a login right after the reset works"
        );
        assert!(!r.is_revoked(2, 0, "s"), "other accounts are untouched");
        assert!(
            !r.replace(HashMap::from([(1, Stamp::at(200))]), HashSet::new()),
            "nothing new"
        );
    }

    #[test]
    fn a_password_change_keeps_its_own_session() {
        let r = Revocations::default();
        let stamp = Stamp {
            after: 200,
            keep: Some("mine".into()),
        };
        assert!(r.replace(HashMap::from([(1, stamp)]), HashSet::new()));
        assert!(!r.is_revoked(1, 100, "mine"));
        assert!(r.is_revoked(1, 100, "other"));
        assert!(r.replace(HashMap::from([(1, Stamp::at(u64::MAX))]), HashSet::new()));
        assert!(r.is_revoked(1, 100, "mine"), "deactivated: every token");
    }

    #[test]
    fn signed_out_sessions_are_revoked() {
        let r = Revocations::default();
        r.revoke_session("a");
        assert!(r.is_revoked(1, 0, "a"));
        assert!(!r.is_revoked(1, 0, "b"));
        assert!(r.replace(HashMap::new(), HashSet::from(["a".into(), "b".into()])));
        assert!(r.is_revoked(1, 0, "b"));
    }
}
