//! Files inside the writer's transaction: recording an upload (its content
//! renamed into place on the writer thread, so a deletion's unlink can never
//! race it), attaching uploads to a message, dropping them with it.

use super::room_writes::Tx;
use crate::domain::access::Action;
use crate::store::blob_dir::BlobDir;
use crate::store::files::{DAY_MS, FileInfo, NewUpload};
use crate::store::{StoreError, StoreResult};
use rusqlite::{OptionalExtension, params};

/// Records an upload the uploader may make in its room.
pub(super) fn upload(tx: &mut Tx<'_>, up: &NewUpload, blobs: &BlobDir) -> StoreResult<FileInfo> {
    tx.allow(up.room_id, up.uploader.id, Action::Post)?;
    let blob = &up.blob;
    if let Some(quota) = up.daily_quota {
        let used: i64 = tx
            .conn
            .prepare_cached(
                "SELECT COALESCE(SUM(size), 0) FROM files WHERE uploader_id = ?1 AND created_at > ?2",
            )?
            .query_row(params![up.uploader.id, tx.now - DAY_MS], |r| r.get(0))?;
        crate::store::requests::within_quota(used, blob.size, quota)?;
    }
    let (thumb, thumb_mime) = match &blob.thumb {
        Some((bytes, mime)) => (Some(bytes.as_slice()), Some(*mime)),
        None => (None, None),
    };
    tx.conn
        .prepare_cached(
            "INSERT INTO blobs (hash, size, mime, width, height, thumb, thumb_mime, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (hash) DO NOTHING",
        )?
        .execute(params![
            blob.hash,
            blob.size,
            blob.mime,
            blob.width,
            blob.height,
            thumb,
            thumb_mime,
            tx.now
        ])?;
    blobs
        .place(&up.temp, &blob.hash)
        .map_err(|e| StoreError::Unavailable(format!("cannot store the file: {e}")))?;
    let id: i64 = tx
        .conn
        .prepare_cached(
            "INSERT INTO files (hash, room_id, uploader_id, name, size, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        )?
        .query_row(
            params![
                blob.hash,
                up.room_id,
                up.uploader.id,
                up.name,
                blob.size,
                tx.now
            ],
            |r| r.get(0),
        )?;
    Ok(FileInfo {
        id,
        name: up.name.clone(),
        size: blob.size,
        mime: blob.mime.clone(),
        image: blob.width.is_some(),
        width: blob.width,
        height: blob.height,
    })
}

/// Whether every one of `ids` is an unsent upload of `user_id` in `room_id`.
pub(super) fn all_pending(
    tx: &Tx<'_>,
    ids: &[i64],
    room_id: i64,
    user_id: i64,
) -> rusqlite::Result<bool> {
    for id in ids {
        let found = tx
            .conn
            .prepare_cached(
                "SELECT 1 FROM files WHERE id = ?1 AND room_id = ?2 AND uploader_id = ?3
                 AND message_id IS NULL",
            )?
            .query_row(params![id, room_id, user_id], |_| Ok(()))
            .optional()?;
        if found.is_none() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Attaches the (checked) uploads to message `message_id`; returns them.
pub(super) fn attach(tx: &Tx<'_>, message_id: i64, ids: &[i64]) -> rusqlite::Result<Vec<FileInfo>> {
    for id in ids {
        tx.conn
            .prepare_cached("UPDATE files SET message_id = ?1 WHERE id = ?2")?
            .execute(params![message_id, id])?;
    }
    tx.conn
        .prepare_cached("UPDATE messages SET files = ?2 WHERE id = ?1")?
        .execute(params![message_id, crate::store::files::ids_to_db(ids)])?;
    let mut files = super::file_reads::files_of(tx.conn, &[message_id])?;
    Ok(files.remove(&message_id).unwrap_or_default())
}

/// Drops the files of message `message_id`, and the contents no other upload
/// names (their hashes go to `tx.dropped`, deleted from disk after the commit).
pub(super) fn drop_files(tx: &mut Tx<'_>, message_id: i64) -> rusqlite::Result<()> {
    let hashes: Vec<String> = tx
        .conn
        .prepare_cached("DELETE FROM files WHERE message_id = ?1 RETURNING hash")?
        .query_map([message_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    drop_unnamed(tx, hashes)
}

/// Deletes the uploads created before `before` and never sent; returns how many.
pub(super) fn sweep_unsent(tx: &mut Tx<'_>, before: i64) -> rusqlite::Result<u64> {
    let hashes: Vec<String> = tx
        .conn
        .prepare_cached(
            "DELETE FROM files WHERE message_id IS NULL AND created_at < ?1 RETURNING hash",
        )?
        .query_map([before], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let n = hashes.len() as u64;
    drop_unnamed(tx, hashes)?;
    Ok(n)
}

/// Deletes the contents among `hashes` that no upload names any more.
fn drop_unnamed(tx: &mut Tx<'_>, mut hashes: Vec<String>) -> rusqlite::Result<()> {
    hashes.sort();
    hashes.dedup();
    for hash in hashes {
        let gone = tx
            .conn
            .prepare_cached(
                "DELETE FROM blobs WHERE hash = ?1
                 AND NOT EXISTS (SELECT 1 FROM files WHERE hash = ?1)",
            )?
            .execute([&hash])?;
        if gone > 0 {
            tx.dropped.push(hash);
        }
    }
    Ok(())
}
