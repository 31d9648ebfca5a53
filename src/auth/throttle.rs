//! Login throttling per account and per client address. An attempt counts
//! the moment it starts, before the password is hashed, and only one check
//! per key runs at a time: parallel guesses cannot slip past the count.
//! A few attempts are free, then each one waits twice as long as the last.
//! Attempts are forgotten after a quiet period or a successful login.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Back-off rules for one kind of key.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Attempts allowed before any wait.
    pub free_attempts: u32,
    /// First wait; doubles with each further attempt.
    pub base: Duration,
    /// Longest wait.
    pub max: Duration,
}

impl Policy {
    /// The wait after the `attempts`-th attempt: none while attempts are
    /// free, then `base`, doubling each time, at most `max`.
    pub fn wait_after(&self, attempts: u32) -> Option<Duration> {
        let over = attempts.checked_sub(self.free_attempts)?;
        Some(self.base.saturating_mul(1u32 << over.min(20)).min(self.max))
    }
}

/// Retry time given while another check of the same key is running.
pub const IN_FLIGHT_WAIT: Duration = Duration::from_secs(1);
/// Attempts are forgotten after this long without one.
pub const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Entries kept before old ones are swept.
const SWEEP_AT: usize = 10_000;

#[derive(Debug)]
struct Entry {
    attempts: u32,
    last_attempt: Instant,
    blocked_until: Instant,
    in_flight: bool,
}

/// Attempt counts by key (a canonical account name or an address).
#[derive(Debug)]
pub struct LoginThrottle {
    policy: Policy,
    entries: Mutex<HashMap<String, Entry>>,
}

/// One counted attempt; while it lives no other attempt of its key runs.
#[derive(Debug)]
pub struct Attempt<'a> {
    throttle: &'a LoginThrottle,
    key: String,
    /// The block in force before this attempt (restored by a refund).
    previous_block: Instant,
}

impl LoginThrottle {
    /// A throttle with the given back-off rules.
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // Counts stay consistent even if a holder panicked; keep using them.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts an attempt for `key`: `Err(wait)` while it is blocked or another
    /// attempt of it is running; otherwise the attempt is counted now.
    pub fn begin(&self, key: &str) -> Result<Attempt<'_>, Duration> {
        let now = Instant::now();
        let mut entries = self.lock();
        if entries.len() >= SWEEP_AT {
            entries.retain(|_, e| e.in_flight || now.duration_since(e.last_attempt) < FORGET_AFTER);
        }
        let entry = entries.entry(key.to_owned()).or_insert(Entry {
            attempts: 0,
            last_attempt: now,
            blocked_until: now,
            in_flight: false,
        });
        if entry.in_flight {
            return Err(IN_FLIGHT_WAIT);
        }
        if entry.blocked_until > now {
            return Err(entry.blocked_until - now);
        }
        if now.duration_since(entry.last_attempt) >= FORGET_AFTER {
            entry.attempts = 0;
        }
        let previous_block = entry.blocked_until;
        entry.attempts += 1;
        entry.last_attempt = now;
        entry.in_flight = true;
        if let Some(wait) = self.policy.wait_after(entry.attempts) {
            entry.blocked_until = now + wait;
        }
        Ok(Attempt {
            throttle: self,
            key: key.to_owned(),
            previous_block,
        })
    }

    /// Whether `key` has no record (for tests and sweeping).
    pub fn is_clear(&self, key: &str) -> bool {
        !self.lock().contains_key(key)
    }
}

impl Attempt<'_> {
    /// The login succeeded: forget every attempt of this key.
    pub fn succeed(self) {
        self.throttle.lock().remove(&self.key);
    }

    /// The attempt should not count (its check never ran, or it succeeded
    /// for a key that must keep its count, like an address).
    pub fn refund(self) {
        if let Some(entry) = self.throttle.lock().get_mut(&self.key) {
            entry.attempts = entry.attempts.saturating_sub(1);
            entry.blocked_until = self.previous_block;
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if let Some(entry) = self.throttle.lock().get_mut(&self.key) {
            entry.in_flight = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(Policy {
            free_attempts: 2,
            base: Duration::from_secs(1),
            max: Duration::from_secs(8),
        })
    }

    #[test]
    fn counts_before_the_check_and_one_at_a_time() {
        let t = throttle();
        let first = t.begin("a").unwrap();
        assert_eq!(
            t.begin("a").unwrap_err(),
            IN_FLIGHT_WAIT,
            "one check at a time"
        );
        assert!(t.begin("b").is_ok(), "other keys are independent");
        drop(first);
        let second = t.begin("a").unwrap();
        drop(second);
        let wait = t.begin("a").unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::from_millis(900));
    }

    #[test]
    fn backs_off_exponentially_and_success_forgets() {
        let t = throttle();
        for _ in 0..2 {
            drop(t.begin("a").unwrap());
        }
        let mut entries = t.lock();
        let e = entries.get_mut("a").unwrap();
        e.blocked_until = Instant::now();
        drop(entries);
        drop(t.begin("a").unwrap());
        assert!(t.begin("a").unwrap_err() > Duration::from_millis(1900));
        t.lock().get_mut("a").unwrap().blocked_until = Instant::now();
        t.begin("a").unwrap().succeed();
        assert!(t.is_clear("a"));
    }

    #[test]
    fn a_refund_takes_the_attempt_back() {
        let t = throttle();
        drop(t.begin("a").unwrap());
        t.begin("a").unwrap().refund();
        assert!(t.begin("a").is_ok(), "the refunded attempt set no block");
    }
}
