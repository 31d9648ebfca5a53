//! Who is online on the other nodes: each node rewrites its own rows of the
//! `presence` table and reads the others' rows that have not expired, so a
//! dead node's users disappear when their rows expire.

use super::PgStore;
use super::conn::Conn;
use super::listener::PRESENCE_CHANNEL;
use super::rows::user_ref;
use crate::store::{StoreResult, UserRef, now_ms};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

impl PgStore {
    /// Replaces this node's rows with `users`, valid for `ttl`; with
    /// `announce`, wakes the other nodes to read them now.
    pub async fn presence_publish(
        &self,
        node: &str,
        users: &[UserRef],
        ttl: Duration,
        announce: bool,
    ) -> StoreResult<()> {
        let expires = now_ms() + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
        let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
        let names: Vec<&str> = users.iter().map(|u| u.username.as_str()).collect();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.exec("DELETE FROM presence WHERE node_id = $1", &[&node])
            .await?;
        tx.exec(
            "INSERT INTO presence (node_id, user_id, username, expires_at)
             SELECT $1, u.id, u.name, $4 FROM unnest($2::BIGINT[], $3::TEXT[]) AS u (id, name)",
            &[&node, &ids, &names, &expires],
        )
        .await?;
        if announce {
            tx.exec("SELECT pg_notify($1, $2)", &[&PRESENCE_CHANNEL, &node])
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The users online on other nodes (rows not expired).
    pub async fn presence_others(&self, node: &str) -> StoreResult<Vec<UserRef>> {
        let client = self.client().await?;
        let rows = client
            .rows(
                "SELECT DISTINCT user_id, username FROM presence
                 WHERE node_id <> $1 AND expires_at > $2",
                &[&node, &now_ms()],
            )
            .await?;
        // Expired rows of nodes that never came back go now and then.
        client
            .exec(
                "DELETE FROM presence WHERE expires_at < $1",
                &[&(now_ms() - 3_600_000)],
            )
            .await?;
        Ok(rows.iter().map(user_ref).collect())
    }

    /// Wakes when another node announced a presence change.
    pub fn presence_changed(&self) -> Arc<Notify> {
        self.presence_wake.clone()
    }
}
