//! Files on the cluster store: every node reaches them, so the content is
//! kept in PostgreSQL too, in 1 MiB chunks (a download streams them one at
//! a time). The twin of the SQLite store's `file_writes` and `file_reads`.

use super::PgStore;
use super::conn::Conn;
use super::rows::room_facts;
use super::tx::PgTx;
use crate::domain::access::{self, Action};
use crate::store::files::{DAY_MS, FileInfo, NewUpload, StoredFile, Thumbnail, ids_to_db};
use crate::store::models::{Message, now_ms};
use crate::store::requests::within_quota;
use crate::store::{StoreError, StoreResult};
use std::collections::HashMap;
use std::path::Path;
use tokio::io::AsyncReadExt;
use tokio_postgres::Row;

/// Bytes per stored chunk.
pub const CHUNK: usize = 1 << 20;

const FILE_COLUMNS: &str = "f.id, f.name, b.size, b.mime, b.width, b.height, f.hash, f.room_id, f.uploader_id, f.message_id";

fn stored_from_row(r: &Row) -> StoredFile {
    let width: Option<i32> = r.get(4);
    let height: Option<i32> = r.get(5);
    StoredFile {
        info: FileInfo {
            id: r.get(0),
            name: r.get(1),
            size: r.get(2),
            mime: r.get(3),
            image: width.is_some(),
            width: width.map(i64::from),
            height: height.map(i64::from),
        },
        hash: r.get(6),
        room_id: r.get(7),
        uploader_id: r.get(8),
        message_id: r.get(9),
    }
}

fn to_i32(v: Option<i64>) -> Option<i32> {
    v.and_then(|v| i32::try_from(v).ok())
}

impl PgStore {
    /// Records an upload: its content (unless stored already) and its row.
    pub async fn upload(&self, up: NewUpload) -> StoreResult<FileInfo> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let facts = room_facts(&tx, up.room_id, up.uploader.id)
            .await?
            .ok_or(StoreError::NotFound)?;
        access::decide(&facts, Action::Post)?;
        let now = now_ms();
        let blob = &up.blob;
        if let Some(quota) = up.daily_quota {
            let used: i64 = tx
                .one(
                    "SELECT COALESCE(SUM(size), 0)::BIGINT FROM files
                     WHERE uploader_id = $1 AND created_at > $2",
                    &[&up.uploader.id, &(now - DAY_MS)],
                )
                .await?
                .get(0);
            within_quota(used, blob.size, quota)?;
        }
        let (thumb, thumb_mime) = match &blob.thumb {
            Some((bytes, mime)) => (Some(bytes.as_slice()), Some(*mime)),
            None => (None, None),
        };
        let fresh = tx
            .exec(
                "INSERT INTO blobs (hash, size, mime, width, height, thumb, thumb_mime, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (hash) DO NOTHING",
                &[
                    &blob.hash,
                    &blob.size,
                    &blob.mime,
                    &to_i32(blob.width),
                    &to_i32(blob.height),
                    &thumb,
                    &thumb_mime,
                    &now,
                ],
            )
            .await?
            > 0;
        if fresh {
            write_chunks(&tx, &blob.hash, &up.temp).await?;
        }
        let id: i64 = tx
            .one(
                "INSERT INTO files (hash, room_id, uploader_id, name, size, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[
                    &blob.hash,
                    &up.room_id,
                    &up.uploader.id,
                    &up.name,
                    &blob.size,
                    &now,
                ],
            )
            .await?
            .get(0);
        tx.commit().await?;
        let _ = tokio::fs::remove_file(&up.temp).await;
        Ok(FileInfo {
            id,
            name: up.name,
            size: blob.size,
            mime: blob.mime.clone(),
            image: blob.width.is_some(),
            width: blob.width,
            height: blob.height,
        })
    }

    /// Deletes the uploads created before `before` and never sent, with the
    /// contents no other upload names; returns how many.
    pub async fn sweep_unsent(&self, before: i64) -> StoreResult<u64> {
        let c = self.client().await?;
        let row = c
            .one(
                // Both statements see the rows as they were: other uploads
                // of a content are those not being deleted.
                "WITH gone AS (DELETE FROM files WHERE message_id IS NULL AND created_at < $1
                               RETURNING id, hash),
                      blobs_gone AS (DELETE FROM blobs b WHERE b.hash IN (SELECT hash FROM gone)
                               AND NOT EXISTS (SELECT 1 FROM files f WHERE f.hash = b.hash
                                               AND f.id NOT IN (SELECT id FROM gone)))
                 SELECT COUNT(*) FROM gone",
                &[&before],
            )
            .await?;
        Ok(row.get::<_, i64>(0).max(0).unsigned_abs())
    }

    /// The upload `id`, if it exists.
    pub async fn file(&self, id: i64) -> StoreResult<Option<StoredFile>> {
        let c = self.client().await?;
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM files f JOIN blobs b ON b.hash = f.hash WHERE f.id = $1"
        );
        Ok(c.opt(&sql, &[&id]).await?.map(|r| stored_from_row(&r)))
    }

    /// The thumbnail of the content `hash`.
    pub async fn thumbnail(&self, hash: String) -> StoreResult<Option<Thumbnail>> {
        let c = self.client().await?;
        Ok(c.opt(
            "SELECT thumb, thumb_mime FROM blobs WHERE hash = $1 AND thumb IS NOT NULL",
            &[&hash],
        )
        .await?
        .map(|r| Thumbnail {
            bytes: r.get(0),
            mime: r.get(1),
        }))
    }

    /// Chunk `n` of the content `hash` (`None` past the end).
    pub async fn blob_chunk(&self, hash: &str, n: i32) -> StoreResult<Option<Vec<u8>>> {
        let c = self.client().await?;
        Ok(c.opt(
            "SELECT data FROM blob_chunks WHERE hash = $1 AND n = $2",
            &[&hash, &n],
        )
        .await?
        .map(|r| r.get(0)))
    }
}

/// Stores the content at `path` as the chunks of `hash`, read one at a time
/// (an upload, or a file `hearth migrate` copies from a data directory).
pub(super) async fn write_chunks(c: &impl Conn, hash: &str, path: &Path) -> StoreResult<()> {
    let unreadable =
        |e: std::io::Error| StoreError::Task(format!("cannot read {}: {e}", path.display()));
    let mut file = tokio::fs::File::open(path).await.map_err(unreadable)?;
    let mut n: i32 = 0;
    loop {
        let mut chunk = Vec::with_capacity(CHUNK);
        let read = (&mut file)
            .take(CHUNK as u64)
            .read_to_end(&mut chunk)
            .await
            .map_err(unreadable)?;
        if read == 0 {
            return Ok(());
        }
        c.exec(
            "INSERT INTO blob_chunks (hash, n, data) VALUES ($1, $2, $3)",
            &[&hash, &n, &chunk],
        )
        .await?;
        n += 1;
    }
}

/// Whether every one of `ids` is an unsent upload of `user_id` in `room_id`.
pub(super) async fn all_pending(
    c: &impl Conn,
    ids: &[i64],
    room_id: i64,
    user_id: i64,
) -> StoreResult<bool> {
    let found: i64 = c
        .one(
            "SELECT COUNT(*) FROM files WHERE id = ANY($1) AND room_id = $2
             AND uploader_id = $3 AND message_id IS NULL",
            &[&ids, &room_id, &user_id],
        )
        .await?
        .get(0);
    Ok(found == ids.len() as i64)
}

/// Attaches unsent uploads to message `message_id`; returns them.
pub(super) async fn attach(
    c: &impl Conn,
    message_id: i64,
    ids: &[i64],
) -> StoreResult<Vec<FileInfo>> {
    c.exec(
        "UPDATE files SET message_id = $1 WHERE id = ANY($2) AND message_id IS NULL",
        &[&message_id, &ids],
    )
    .await?;
    c.exec(
        "UPDATE messages SET files = $2 WHERE id = $1",
        &[&message_id, &ids_to_db(ids)],
    )
    .await?;
    Ok(files_of(c, &[message_id])
        .await?
        .remove(&message_id)
        .unwrap_or_default())
}

/// Drops the files of message `message_id` and the contents no other upload names.
pub(super) async fn drop_files(tx: &PgTx<'_>, message_id: i64) -> StoreResult<()> {
    tx.tx
        .exec(
            "WITH gone AS (DELETE FROM files WHERE message_id = $1 RETURNING hash)
             DELETE FROM blobs b WHERE b.hash IN (SELECT hash FROM gone)
               AND NOT EXISTS (SELECT 1 FROM files f WHERE f.hash = b.hash
                               AND f.message_id IS DISTINCT FROM $1)",
            &[&message_id],
        )
        .await?;
    Ok(())
}

/// The files of the messages `ids`, by message, in the order sent.
pub(super) async fn files_of(
    c: &impl Conn,
    ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<FileInfo>>> {
    let sql = format!(
        "SELECT {FILE_COLUMNS} FROM files f JOIN blobs b ON b.hash = f.hash
         JOIN messages m ON m.id = f.message_id
         WHERE f.message_id = ANY($1)
         ORDER BY f.message_id, strpos(',' || m.files || ',', ',' || f.id || ',')"
    );
    let mut out: HashMap<i64, Vec<FileInfo>> = HashMap::new();
    for r in c.rows(&sql, &[&ids]).await? {
        let file = stored_from_row(&r);
        if let Some(m) = file.message_id {
            out.entry(m).or_default().push(file.info);
        }
    }
    Ok(out)
}

/// Fills in the files of the messages whose rows say they have some.
pub(super) async fn add_files(c: &impl Conn, messages: &mut [&mut Message]) -> StoreResult<()> {
    let ids: Vec<i64> = messages
        .iter()
        .filter(|m| m.has_files && !m.deleted)
        .map(|m| m.id)
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let mut files = files_of(c, &ids).await?;
    for m in messages.iter_mut() {
        if let Some(f) = files.remove(&m.id) {
            m.files = f;
        }
    }
    Ok(())
}
