//! Limits shared by every node: send-rate buckets and login attempt counts,
//! so a user cannot multiply their allowance by reaching several nodes.

use super::PgStore;
use super::conn::Conn;
use crate::store::{StoreResult, now_ms};
use std::time::Duration;

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

impl PgStore {
    /// Takes one token from the bucket `key` (one token per `interval`, at
    /// most `burst` saved): GCRA on a stored theoretical arrival time, in one
    /// statement, in microseconds of the database's clock (the same for
    /// every node, and fine enough for rates above 1000/s). `Err(wait)`
    /// when it is empty.
    pub async fn take_token(
        &self,
        key: &str,
        interval: Duration,
        burst: u32,
    ) -> StoreResult<Result<(), Duration>> {
        let t = i64::try_from(interval.as_micros())
            .unwrap_or(i64::MAX / 4)
            .max(1);
        let tolerance = t.saturating_mul(i64::from(burst.saturating_sub(1)));
        let client = self.client().await?;
        // `excluded.tat - t` is the database's now.
        let taken = client
            .opt(
                "INSERT INTO rate_buckets AS b (key, tat)
                 VALUES ($1, (extract(epoch FROM clock_timestamp()) * 1000000)::BIGINT + $2::BIGINT)
                 ON CONFLICT (key) DO UPDATE
                 SET tat = GREATEST(b.tat, excluded.tat - $2::BIGINT) + $2::BIGINT
                 WHERE GREATEST(b.tat, excluded.tat - $2::BIGINT) - (excluded.tat - $2::BIGINT)
                       <= $3::BIGINT
                 RETURNING tat",
                &[&key, &t, &tolerance],
            )
            .await?;
        if taken.is_some() {
            return Ok(Ok(()));
        }
        let ahead: i64 = client
            .opt(
                "SELECT tat - (extract(epoch FROM clock_timestamp()) * 1000000)::BIGINT
                 FROM rate_buckets WHERE key = $1",
                &[&key],
            )
            .await?
            .map_or(0, |r| r.get(0));
        let wait = (ahead - tolerance).max(1000);
        Ok(Err(Duration::from_micros(wait.unsigned_abs())))
    }

    /// Counts a login attempt for `key` before its check runs: `Err(wait)`
    /// while the key is blocked; else the attempt is counted, the block
    /// `backoff(attempts)` asks for is set, and the block in force before
    /// it is returned (for [`PgStore::refund_attempt`]). Counts are
    /// forgotten after `forget_after` without an attempt.
    pub async fn count_attempt(
        &self,
        key: &str,
        forget_after: Duration,
        backoff: impl Fn(u32) -> Option<Duration> + Send,
    ) -> StoreResult<Result<i64, Duration>> {
        let now = now_ms();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.exec(
            "INSERT INTO login_attempts (key, attempts, last_attempt, blocked_until)
             VALUES ($1, 0, $2, 0) ON CONFLICT (key) DO NOTHING",
            &[&key, &now],
        )
        .await?;
        let row = tx
            .one(
                "SELECT attempts, last_attempt, blocked_until FROM login_attempts
                 WHERE key = $1 FOR UPDATE",
                &[&key],
            )
            .await?;
        let (attempts, last, blocked): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        if blocked > now {
            return Ok(Err(Duration::from_millis((blocked - now).unsigned_abs())));
        }
        let attempts = if now - last >= ms(forget_after) {
            1
        } else {
            attempts + 1
        };
        let count = u32::try_from(attempts).unwrap_or(u32::MAX);
        let until = backoff(count).map_or(blocked, |wait| now + ms(wait));
        tx.exec(
            "UPDATE login_attempts SET attempts = $2, last_attempt = $3, blocked_until = $4
             WHERE key = $1",
            &[&key, &attempts, &now, &until],
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(blocked))
    }

    /// A login succeeded: forget the attempts of `key`.
    pub async fn forget_attempts(&self, key: &str) -> StoreResult<()> {
        self.client()
            .await?
            .exec("DELETE FROM login_attempts WHERE key = $1", &[&key])
            .await?;
        Ok(())
    }

    /// Takes back an attempt counted by [`PgStore::count_attempt`].
    pub async fn refund_attempt(&self, key: &str, previous_block: i64) -> StoreResult<()> {
        self.client()
            .await?
            .exec(
                "UPDATE login_attempts SET attempts = GREATEST(attempts - 1, 0), blocked_until = $2
                 WHERE key = $1",
                &[&key, &previous_block],
            )
            .await?;
        Ok(())
    }
}
