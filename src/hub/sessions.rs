//! Open WebSocket sessions by account: enforces the per-account cap, and
//! closes every socket of a signed-out token or a reset password at once
//! instead of at its next ping.

use crate::limits::Refusal;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio_util::sync::CancellationToken;

/// What identifies a session's token: enough to decide whether it was revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionKey {
    /// The account.
    pub user_id: i64,
    /// The login session of the token.
    pub session_id: Arc<str>,
    /// When the token was issued (Unix seconds).
    pub issued_at: u64,
}

struct Entry {
    id: u64,
    key: SessionKey,
    stop: CancellationToken,
}

/// The sessions of every account.
pub struct SessionRegistry {
    by_user: Mutex<HashMap<i64, Vec<Entry>>>,
    next_id: AtomicU64,
    max_per_user: usize,
}

/// A session's place in the registry; dropping it is the disconnect.
pub struct Registration {
    registry: Arc<SessionRegistry>,
    user_id: i64,
    id: u64,
    /// Cancelled on shutdown (it is a child of the server's token) or when
    /// this session's token is revoked.
    pub stop: CancellationToken,
}

impl SessionRegistry {
    /// A registry allowing `max_per_user` sessions per account.
    pub fn new(max_per_user: usize) -> Arc<Self> {
        Arc::new(Self {
            by_user: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            max_per_user: max_per_user.max(1),
        })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<i64, Vec<Entry>>> {
        // Entries are plain data; a panicking holder cannot leave them half-built.
        self.by_user.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a session of `user`, stopped with `shutdown` or on revocation;
    /// refused when the account already has as many as allowed.
    pub fn register(
        self: &Arc<Self>,
        key: SessionKey,
        shutdown: &CancellationToken,
    ) -> Result<Registration, Refusal> {
        let mut map = self.lock();
        let user_id = key.user_id;
        let entries = map.entry(user_id).or_default();
        if entries.len() >= self.max_per_user {
            return Err(Refusal::TooManyForUser);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let stop = shutdown.child_token();
        entries.push(Entry {
            id,
            key,
            stop: stop.clone(),
        });
        Ok(Registration {
            registry: self.clone(),
            user_id,
            id,
            stop,
        })
    }

    /// Stops every session whose token `revoked` says is revoked; returns how many.
    pub fn stop_revoked(&self, revoked: impl Fn(&SessionKey) -> bool) -> usize {
        let map = self.lock();
        let mut stopped = 0;
        for entry in map.values().flatten().filter(|e| revoked(&e.key)) {
            entry.stop.cancel();
            stopped += 1;
        }
        stopped
    }

    /// Stops the sessions opened with the token of login session `session_id`.
    pub fn stop_session(&self, user_id: i64, session_id: &str) -> usize {
        let map = self.lock();
        let mut stopped = 0;
        for entry in map.get(&user_id).into_iter().flatten() {
            if &*entry.key.session_id == session_id {
                entry.stop.cancel();
                stopped += 1;
            }
        }
        stopped
    }

    /// Sessions of `user_id` open now.
    pub fn count_for(&self, user_id: i64) -> usize {
        self.lock().get(&user_id).map_or(0, Vec::len)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut map = self.registry.lock();
        if let Some(entries) = map.get_mut(&self.user_id) {
            entries.retain(|e| e.id != self.id);
            if entries.is_empty() {
                map.remove(&self.user_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64, sid: &str) -> SessionKey {
        SessionKey {
            user_id: id,
            session_id: Arc::from(sid),
            issued_at: 0,
        }
    }

    #[test]
    fn caps_per_user_and_stops_by_session() {
        let registry = SessionRegistry::new(2);
        let shutdown = CancellationToken::new();
        let a1 = registry.register(user(1, "s1"), &shutdown).unwrap();
        let a2 = registry.register(user(1, "s2"), &shutdown).unwrap();
        assert!(matches!(
            registry.register(user(1, "s3"), &shutdown),
            Err(Refusal::TooManyForUser)
        ));
        let b = registry.register(user(2, "s1"), &shutdown).unwrap();
        assert_eq!(registry.stop_session(1, "s1"), 1);
        assert!(a1.stop.is_cancelled() && !a2.stop.is_cancelled() && !b.stop.is_cancelled());
        drop(a1);
        assert_eq!(registry.count_for(1), 1);
        assert_eq!(registry.stop_revoked(|k| k.user_id == 2), 1);
        assert!(b.stop.is_cancelled());
        shutdown.cancel();
        assert!(a2.stop.is_cancelled(), "shutdown reaches every session");
    }
}
