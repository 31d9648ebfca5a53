//! argon2id password hashing, always on the blocking pool (a hash takes tens of
//! milliseconds of CPU by design).

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use std::sync::LazyLock;
use tokio::sync::Semaphore;

/// Hashes running at once: each takes a core and 19 MiB, so a burst of logins
/// queues here instead of starving the server.
static HASHING: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
    let _permit = HASHING.acquire().await?;
    Ok(tokio::task::spawn_blocking(f).await?)
}

/// Hashes a password to a PHC string with argon2id and `Params::DEFAULT`.
pub async fn hash(password: String) -> anyhow::Result<String> {
    blocking(move || hash_blocking(&password)).await?
}

/// [`hash`] on the calling thread (for the admin commands).
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

/// Checks `password` against a stored PHC string. With `None` (no such user)
/// it does the same work against a dummy hash and returns false.
pub async fn verify(password: String, phc: Option<String>) -> anyhow::Result<bool> {
    blocking(move || {
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
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let h = hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(
            verify("correct horse".into(), Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(!verify("wrong horse".into(), Some(h)).await.unwrap());
        assert!(!verify("anything".into(), None).await.unwrap());
        assert!(
            !verify("anything".into(), Some("not a phc string".into()))
                .await
                .unwrap()
        );
    }
}
