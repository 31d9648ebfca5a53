//! Writing a team into an empty cluster database (`hearth migrate --to`).
//! Everything goes in one transaction holding the stream lock: a failure
//! half-way leaves the database as empty as it was, and a second run finds
//! the team there and is refused.

use super::PgStore;
use super::conn::Conn;
use crate::store::transfer::{BlobRow, Chunk, Column, Table, TeamMeta, Ty};
use crate::store::{StoreError, StoreResult};
use deadpool_postgres::{Client, Transaction};
use tokio_postgres::types::ToSql;

/// An open import: the transaction that will hold the whole team.
pub struct Import {
    client: Client,
}

impl PgStore {
    /// Starts an import into this database; refused unless it is empty.
    pub async fn import(&self) -> StoreResult<Import> {
        let client = self.client().await?;
        Ok(Import { client })
    }
}

impl Import {
    /// Copies the team: `next` gives each table's chunks in order (it is
    /// called with the table and the last key read; an empty chunk ends the
    /// table); `progress` is told the rows written.
    pub async fn run(
        &mut self,
        meta: &TeamMeta,
        mut next: impl FnMut(&Table, i64) -> StoreResult<Chunk>,
        mut next_blob: impl FnMut(&str) -> StoreResult<Option<BlobRow>>,
        mut progress: impl FnMut(&'static str, u64),
    ) -> StoreResult<()> {
        let tx = self.client.transaction().await?;
        tx.one("SELECT seq FROM stream_head FOR UPDATE", &[])
            .await?;
        refuse_unless_empty(&tx, meta).await?;
        // The schema made a lobby; the team brings its own.
        tx.exec("DELETE FROM rooms", &[]).await?;
        let mut after = String::new();
        while let Some(blob) = next_blob(&after)? {
            copy_blob(&tx, &blob).await?;
            progress("file contents", 1);
            after = blob.hash;
        }
        for table in crate::store::transfer::TABLES {
            let mut after = i64::MIN;
            loop {
                let chunk = next(table, after)?;
                if chunk.rows() == 0 {
                    break;
                }
                insert(&tx, table, &chunk).await?;
                progress(table.name, chunk.rows() as u64);
                match (table.key, chunk.last_key) {
                    (Some(_), Some(last)) => after = last,
                    _ => break,
                }
            }
        }
        tx.exec(
            "UPDATE stream_head SET seq = (SELECT COALESCE(MAX(seq), 0) FROM events)",
            &[],
        )
        .await?;
        tx.batch_execute(
            "SELECT setval(pg_get_serial_sequence('users', 'id'), GREATEST((SELECT MAX(id) FROM users), 1));
             SELECT setval(pg_get_serial_sequence('rooms', 'id'), GREATEST((SELECT MAX(id) FROM rooms), 1));
             SELECT setval(pg_get_serial_sequence('files', 'id'), GREATEST((SELECT MAX(id) FROM files), 1));
             SELECT setval(pg_get_serial_sequence('invites', 'id'), GREATEST((SELECT MAX(id) FROM invites), 1));
             SELECT setval(pg_get_serial_sequence('audit_log', 'id'), GREATEST((SELECT MAX(id) FROM audit_log), 1));",
        )
        .await?;
        for (key, value) in [
            ("epoch", meta.epoch.as_str()),
            ("jwt_secret", meta.jwt_secret.as_str()),
            ("migrated_from", meta.epoch.as_str()),
        ] {
            tx.exec(
                "INSERT INTO meta (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&key, &value],
            )
            .await?;
        }
        tx.commit().await?;
        super::schema::fill_grams(&self.client).await?;
        Ok(())
    }
}

/// One content: its row, then its bytes in chunks read from disk.
async fn copy_blob(tx: &Transaction<'_>, blob: &BlobRow) -> StoreResult<()> {
    let to_i32 = |v: Option<i64>| v.and_then(|v| i32::try_from(v).ok());
    tx.exec(
        "INSERT INTO blobs (hash, size, mime, width, height, thumb, thumb_mime, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &blob.hash,
            &blob.size,
            &blob.mime,
            &to_i32(blob.width),
            &to_i32(blob.height),
            &blob.thumb,
            &blob.thumb_mime,
            &blob.created_at,
        ],
    )
    .await?;
    super::files::write_chunks(tx, &blob.hash, &blob.path)
        .await
        .map_err(|e| StoreError::Task(format!("{e} (run `hearth check`)")))
}

async fn refuse_unless_empty(tx: &Transaction<'_>, meta: &TeamMeta) -> StoreResult<()> {
    let from = tx
        .opt("SELECT value FROM meta WHERE key = 'migrated_from'", &[])
        .await?
        .map(|r| r.get::<_, String>(0));
    if from.as_deref() == Some(meta.epoch.as_str()) {
        return Err(StoreError::Invalid(
            "this team was already migrated into that database; nothing was copied again",
        ));
    }
    let row = tx
        .one(
            "SELECT (SELECT COUNT(*) FROM users), (SELECT seq FROM stream_head)",
            &[],
        )
        .await?;
    let (users, head): (i64, i64) = (row.get(0), row.get(1));
    if users > 0 || head > 0 {
        return Err(StoreError::Invalid(
            "that database already holds a team; migrate copies into an empty database only",
        ));
    }
    Ok(())
}

/// One chunk as one `INSERT … SELECT FROM unnest(…)`.
async fn insert(tx: &Transaction<'_>, table: &Table, chunk: &Chunk) -> StoreResult<()> {
    let names: Vec<&str> = table.columns.iter().map(|(n, _)| *n).collect();
    let arrays: Vec<String> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, (_, ty))| {
            let pg = match ty {
                Ty::Int | Ty::OptInt => "BIGINT",
                Ty::Text | Ty::OptText => "TEXT",
                Ty::Bool => "BOOLEAN",
            };
            format!("${}::{pg}[]", i + 1)
        })
        .collect();
    let sql = format!(
        "INSERT INTO {} ({}) SELECT * FROM unnest({})",
        table.name,
        names.join(", "),
        arrays.join(", ")
    );
    let params: Vec<&(dyn ToSql + Sync)> = chunk
        .columns
        .iter()
        .map(|c| -> &(dyn ToSql + Sync) {
            match c {
                Column::Int(v) => v,
                Column::OptInt(v) => v,
                Column::Text(v) => v,
                Column::OptText(v) => v,
                Column::Bool(v) => v,
            }
        })
        .collect();
    tx.execute(&sql, &params).await?;
    Ok(())
}
