//! The cluster schema: applied at start under an advisory lock (nodes may
//! start together), tracked in `schema_version`; and the shared `meta`
//! values every node must agree on (the epoch, the token signing secret).

use super::conn::Conn;
use crate::store::hex::{decode_hex, encode_hex};
use crate::store::{StoreError, StoreResult};
use deadpool_postgres::Client;

/// The migrations, in order: (version, SQL).
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../../migrations/postgres/01-cluster.sql"),
    ),
    (
        2,
        include_str!("../../../migrations/postgres/02-conversation.sql"),
    ),
    (
        3,
        include_str!("../../../migrations/postgres/03-files-search.sql"),
    ),
    (4, include_str!("../../../migrations/postgres/04-team.sql")),
];

/// Any fixed number: the key of the advisory lock held while migrating.
const MIGRATION_LOCK: i64 = 0x6865_6172_7468;

/// Brings the database to the newest schema; returns its version.
pub(super) async fn migrate(client: &mut Client) -> StoreResult<i64> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let result = apply(client).await;
    let unlock = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    let version = result?;
    unlock?;
    trigram_index(client).await;
    fill_grams(client).await?;
    Ok(version)
}

/// pg_trgm's GIN index serves searches of 3+ characters. Creating the
/// extension needs a privilege the server may lack: search then still
/// works, by scanning, and the log says how to speed it up.
async fn trigram_index(client: &Client) {
    let result = client
        .batch_execute(
            "CREATE EXTENSION IF NOT EXISTS pg_trgm;
             CREATE INDEX IF NOT EXISTS messages_trgm ON messages USING gin (content gin_trgm_ops);",
        )
        .await;
    if let Err(e) = result {
        tracing::warn!(
            error = %e,
            "cannot create the pg_trgm extension or its index: search works, but scans \
             the messages; run `CREATE EXTENSION pg_trgm` as a superuser to speed it up"
        );
    }
}

/// Writes the short grams of messages stored before schema v3, a batch at a time.
pub(super) async fn fill_grams(client: &Client) -> StoreResult<()> {
    loop {
        let rows = client
            .rows(
                "SELECT id, content FROM messages
                 WHERE grams IS NULL AND deleted_at IS NULL AND content <> '' LIMIT 1000",
                &[],
            )
            .await?;
        if rows.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        let grams: Vec<String> = rows
            .iter()
            .map(|r| crate::store::search::short_grams(r.get(1)))
            .collect();
        client
            .exec(
                "UPDATE messages m SET grams = string_to_array(t.g, ' ')
                 FROM unnest($1::BIGINT[], $2::TEXT[]) AS t (id, g) WHERE m.id = t.id",
                &[&ids, &grams],
            )
            .await?;
    }
}

async fn apply(client: &mut Client) -> StoreResult<i64> {
    client
        .batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        .await?;
    let mut version: i64 = client
        .one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])
        .await?
        .get(0);
    let start = version;
    for (v, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > start) {
        let tx = client.transaction().await?;
        tx.batch_execute(sql).await?;
        tx.execute("INSERT INTO schema_version (version) VALUES ($1)", &[v])
            .await?;
        tx.commit().await?;
        tracing::info!(version = v, "database schema migrated");
        version = *v;
    }
    if version > MIGRATIONS.len() as i64 {
        return Err(StoreError::Task(format!(
            "the database has schema version {version}, newer than this program knows: upgrade Hearth"
        )));
    }
    Ok(version)
}

/// The epoch and the signing secret, the same for every node: the first node
/// to start stores a secret, the others read it.
pub(super) async fn shared_meta(client: &Client) -> StoreResult<(String, Vec<u8>)> {
    let secret: [u8; 32] = rand::random();
    let hex = encode_hex(&secret);
    client
        .exec(
            "INSERT INTO meta (key, value) VALUES ('jwt_secret', $1) ON CONFLICT (key) DO NOTHING",
            &[&hex],
        )
        .await?;
    let rows = client
        .rows(
            "SELECT key, value FROM meta WHERE key IN ('epoch', 'jwt_secret')",
            &[],
        )
        .await?;
    let value = |k: &str| {
        rows.iter()
            .find(|r| r.get::<_, &str>(0) == k)
            .map(|r| r.get::<_, String>(1))
            .ok_or_else(|| StoreError::Task(format!("meta.{k} is missing")))
    };
    let epoch = value("epoch")?;
    let secret = decode_hex(&value("jwt_secret")?)
        .filter(|s| s.len() >= 32)
        .ok_or_else(|| StoreError::Task("meta.jwt_secret is not a 32-byte hex string".into()))?;
    Ok((epoch, secret))
}
