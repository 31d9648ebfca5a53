//! Tokens revoked by a password reset. `hearth user reset-password` runs in
//! its own process and stamps `users.tokens_valid_after`; the server re-reads
//! those stamps every few seconds, so a check stays a map lookup.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

/// How often the server re-reads the stamps: the longest a reset takes to
/// sign an account out.
pub const REFRESH_EVERY: Duration = Duration::from_secs(2);

/// User id → tokens issued before this Unix second are refused.
#[derive(Default)]
pub struct Revocations {
    valid_after: RwLock<HashMap<i64, u64>>,
}

impl Revocations {
    /// Whether a token of `user_id` issued at `issued_at` was revoked.
    pub fn is_revoked(&self, user_id: i64, issued_at: u64) -> bool {
        // A poisoned lock only means a writer panicked mid-replace; the map
        // itself is always whole, so keep using it.
        let map = self.valid_after.read().unwrap_or_else(|e| e.into_inner());
        map.get(&user_id).is_some_and(|&after| issued_at < after)
    }

    /// Replaces the stamps with a fresh read of the database.
    pub fn replace(&self, stamps: HashMap<i64, u64>) {
        *self.valid_after.write().unwrap_or_else(|e| e.into_inner()) = stamps;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_issued_before_the_stamp_are_revoked() {
        let r = Revocations::default();
        assert!(!r.is_revoked(1, 100));
        r.replace(HashMap::from([(1, 200)]));
        assert!(r.is_revoked(1, 199));
        assert!(!r.is_revoked(1, 200), "a login right after the reset works");
        assert!(!r.is_revoked(2, 0), "other accounts are untouched");
    }
}
