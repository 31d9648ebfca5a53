//! argon2id password hashing, always on the blocking pool (a hash takes tens of
//! milliseconds of CPU by design), behind a bounded queue: a flood of logins
//! or registrations is refused once the queue is full instead of making
//! everyone wait without bound.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use tokio::sync::Semaphore;

/// Why a hash or check did not run to completion.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The queue of password checks is full.
    #[error("the password-check queue is full")]
    Busy,
    /// Hashing itself failed, or its task died.
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// Runs hashes and checks: as many at once as there are cores, at most
/// `max_queued` running or waiting.
pub struct Hasher {
    permits: Arc<Semaphore>,
    queued: AtomicUsize,
    max_queued: usize,
    checks: AtomicU64,
}

/// Takes back a queue place when dropped.
struct Place<'a>(&'a AtomicUsize);

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Hasher {
    /// A hasher whose queue holds `max_queued` requests (running ones included).
    pub fn new(max_queued: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            permits: Arc::new(Semaphore::new(cores)),
            queued: AtomicUsize::new(0),
            max_queued: max_queued.max(1),
            checks: AtomicU64::new(0),
        }
    }

    /// Password checks and hashes started so far (every argon2 run).
    pub fn runs(&self) -> u64 {
        self.checks.load(Ordering::Relaxed)
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let max = self.max_queued;
        self.queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .map_err(|_| HashError::Busy)?;
        let _place = Place(&self.queued);
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| HashError::Failed(e.to_string()))?;
        self.checks.fetch_add(1, Ordering::Relaxed);
        // The permit moves into the task: a caller that goes away does not
        // free a core that is still hashing.
        tokio::task::spawn_blocking(move || {
            let result = f();
            drop(permit);
            result
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))
    }

    /// Hashes a password to a PHC string with argon2id and `Params::DEFAULT`.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.run(move || hash_blocking(&password))
            .await?
            .map_err(|e| HashError::Failed(e.to_string()))
    }

    /// Checks `password` against a stored PHC string. With `None` (no such
    /// user) it does the same work against a dummy hash and returns false.
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, HashError> {
        self.run(move || verify_blocking(&password, phc)).await
    }
}

/// Hashes on the calling thread (for the admin commands).
pub fn hash_blocking(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("password hashing failed: {e}"))
}

/// A hash of a random password, verified against when the user does not exist
/// so that "no such user" takes as long as "wrong password".
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| {
    let random: [u8; 16] = rand::random();
    Argon2::default()
        .hash_password(&random)
        .ok()
        .map(|h| h.to_string())
});

fn verify_blocking(password: &str, phc: Option<String>) -> bool {
    let real = phc.is_some();
    let Some(phc) = phc.or_else(|| DUMMY_HASH.clone()) else {
        return false;
    };
    let matches = PasswordHash::new(&phc).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    });
    real && matches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let hasher = Hasher::new(8);
        let h = hasher.hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(
            hasher
                .verify("correct horse".into(), Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("wrong horse".into(), Some(h)).await.unwrap());
        assert!(!hasher.verify("anything".into(), None).await.unwrap());
        assert!(
            !hasher
                .verify("anything".into(), Some("not a phc string".into()))
                .await
                .unwrap()
        );
        assert_eq!(hasher.runs(), 5);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_refuses_instead_of_waiting() {
        let hasher = Arc::new(Hasher::new(2));
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let h = hasher.clone();
                tokio::spawn(async move { h.verify("x".into(), None).await })
            })
            .collect();
        let mut busy = 0;
        for t in tasks {
            if matches!(t.await.unwrap(), Err(HashError::Busy)) {
                busy += 1;
            }
        }
        assert!(
            busy >= 8,
            "at most a couple ran, the rest were refused ({busy} busy)"
        );
        assert!(hasher.runs() <= 4);
    }
}
