//! Token buckets per key (governor): sends and reads per user, registrations
//! per client address. Each refusal says how long to wait, which becomes a
//! `Retry-After` header or a `retry_after_ms` field.

use super::AddrKey;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::hash::Hash;
use std::num::NonZeroU32;
use std::time::Duration;

/// A token bucket per key.
pub struct KeyedRate<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    clock: DefaultClock,
    quota: Quota,
}

/// Messages per user (REST and WebSocket together).
pub type SendLimiter = KeyedRate<i64>;
/// Heavy reads per user: history pages, polls, catch-up pages from the store.
pub type ReadBudget = KeyedRate<i64>;
/// Account registrations per client address.
pub type RegistrationLimiter = KeyedRate<AddrKey>;

impl<K: Hash + Eq + Clone> KeyedRate<K> {
    /// `rate` per second on average, bursts up to `burst`.
    pub fn per_second(rate: NonZeroU32, burst: NonZeroU32) -> Self {
        Self::with_quota(Quota::per_second(rate).allow_burst(burst))
    }

    /// `rate` per hour on average, bursts up to `burst`.
    pub fn per_hour(rate: NonZeroU32, burst: NonZeroU32) -> Self {
        Self::with_quota(Quota::per_hour(rate).allow_burst(burst))
    }

    fn with_quota(quota: Quota) -> Self {
        Self {
            limiter: RateLimiter::keyed(quota),
            clock: DefaultClock::default(),
            quota,
        }
    }

    /// One token comes back every this long.
    pub fn interval(&self) -> Duration {
        self.quota.replenish_interval()
    }

    /// Most tokens a key saves up.
    pub fn burst(&self) -> u32 {
        self.quota.burst_size().get()
    }

    /// Takes one token for `key`, or says how long until one is free.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Waits until a token for `key` is free and takes it (pacing instead of
    /// refusing, for work the server owes a client such as a resume).
    pub async fn wait(&self, key: &K) {
        while let Err(wait) = self.check(key) {
            tokio::time::sleep(wait).await;
        }
    }

    /// Drops the state of keys whose buckets are full again (call periodically).
    pub fn sweep(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: u32) -> NonZeroU32 {
        NonZeroU32::new(v).unwrap()
    }

    #[test]
    fn burst_then_refuse_per_key() {
        let l = SendLimiter::per_second(n(1), n(3));
        for _ in 0..3 {
            assert!(l.check(&1).is_ok());
        }
        let wait = l.check(&1).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
        assert!(l.check(&2).is_ok(), "other keys have their own bucket");
    }

    #[test]
    fn hourly_buckets_refill_slowly() {
        let l = RegistrationLimiter::per_hour(n(60), n(2));
        let key = AddrKey::of("192.0.2.1".parse().unwrap());
        assert!(l.check(&key).is_ok() && l.check(&key).is_ok());
        let wait = l.check(&key).unwrap_err();
        assert!(wait > Duration::from_secs(50) && wait <= Duration::from_secs(60));
    }

    #[tokio::test]
    async fn wait_paces_instead_of_refusing() {
        let l = ReadBudget::per_second(n(20), n(1));
        let start = std::time::Instant::now();
        for _ in 0..3 {
            l.wait(&7).await;
        }
        assert!(start.elapsed() >= Duration::from_millis(90));
    }
}
