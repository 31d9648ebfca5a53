//! Login throttling per account and per client address: a few free failures,
//! then an exponential back-off. Failures are forgotten after a quiet period.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Back-off rules for one kind of key.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failures allowed before any wait.
    pub free_failures: u32,
    /// First wait; doubles with each further failure.
    pub base: Duration,
    /// Longest wait.
    pub max: Duration,
}

/// Failures are forgotten after this long without one.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Entries kept before old ones are swept.
const SWEEP_AT: usize = 10_000;

#[derive(Debug)]
struct Entry {
    failures: u32,
    last_failure: Instant,
    blocked_until: Instant,
}

/// Failure counts by key (an account name or an address).
#[derive(Debug)]
pub struct LoginThrottle {
    policy: Policy,
    entries: Mutex<HashMap<String, Entry>>,
}

impl LoginThrottle {
    /// A throttle with the given back-off rules.
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(wait)` while `key` must wait before another attempt.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let Ok(entries) = self.entries.lock() else {
            return Ok(());
        };
        match entries.get(key) {
            Some(e) if e.blocked_until > now => Err(e.blocked_until - now),
            _ => Ok(()),
        }
    }

    /// Records a failed attempt.
    pub fn fail(&self, key: &str) {
        let now = Instant::now();
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= SWEEP_AT {
            entries.retain(|_, e| now.duration_since(e.last_failure) < FORGET_AFTER);
        }
        let entry = entries.entry(key.to_owned()).or_insert(Entry {
            failures: 0,
            last_failure: now,
            blocked_until: now,
        });
        if now.duration_since(entry.last_failure) >= FORGET_AFTER {
            entry.failures = 0;
        }
        entry.failures += 1;
        entry.last_failure = now;
        if let Some(over) = entry
            .failures
            .checked_sub(self.policy.free_failures)
            .filter(|n| *n > 0)
        {
            let wait = self
                .policy
                .base
                .saturating_mul(1u32 << (over - 1).min(20))
                .min(self.policy.max);
            entry.blocked_until = now + wait;
        }
    }

    /// Forgets the failures of `key` (after a successful login).
    pub fn succeed(&self, key: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_after_free_failures_and_resets_on_success() {
        let t = LoginThrottle::new(Policy {
            free_failures: 2,
            base: Duration::from_secs(1),
            max: Duration::from_secs(8),
        });
        t.fail("a");
        t.fail("a");
        assert!(t.check("a").is_ok());
        t.fail("a");
        let w1 = t.check("a").unwrap_err();
        assert!(w1 <= Duration::from_secs(1) && w1 > Duration::from_millis(900));
        t.fail("a");
        assert!(t.check("a").unwrap_err() > Duration::from_millis(1900));
        for _ in 0..10 {
            t.fail("a");
        }
        assert!(t.check("a").unwrap_err() <= Duration::from_secs(8));
        assert!(t.check("b").is_ok());
        t.succeed("a");
        assert!(t.check("a").is_ok());
    }
}
