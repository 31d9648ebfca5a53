//! Reading files: one upload for a download, the files of a page of
//! messages, the thumbnails, and the inventory `hearth check` compares.

use crate::store::files::{FileInfo, StoredFile, Thumbnail};
use crate::store::models::Message;
use rusqlite::{Connection, OptionalExtension, Row};
use std::collections::HashMap;

const FILE_COLUMNS: &str = "f.id, f.name, b.size, b.mime, b.width, b.height, f.hash, f.room_id, f.uploader_id, f.message_id";

fn stored_from_row(r: &Row<'_>) -> rusqlite::Result<StoredFile> {
    let width: Option<i64> = r.get(4)?;
    Ok(StoredFile {
        info: FileInfo {
            id: r.get(0)?,
            name: r.get(1)?,
            size: r.get(2)?,
            mime: r.get(3)?,
            image: width.is_some(),
            width,
            height: r.get(5)?,
        },
        hash: r.get(6)?,
        room_id: r.get(7)?,
        uploader_id: r.get(8)?,
        message_id: r.get(9)?,
    })
}

/// The upload `id`.
pub(super) fn file(c: &Connection, id: i64) -> rusqlite::Result<Option<StoredFile>> {
    c.prepare_cached(&format!(
        "SELECT {FILE_COLUMNS} FROM files f JOIN blobs b ON b.hash = f.hash WHERE f.id = ?1"
    ))?
    .query_row([id], stored_from_row)
    .optional()
}

/// The thumbnail of the content `hash`, if it has one.
pub(super) fn thumbnail(c: &Connection, hash: &str) -> rusqlite::Result<Option<Thumbnail>> {
    c.prepare_cached("SELECT thumb, thumb_mime FROM blobs WHERE hash = ?1 AND thumb IS NOT NULL")?
        .query_row([hash], |r| {
            Ok(Thumbnail {
                bytes: r.get(0)?,
                mime: r.get(1)?,
            })
        })
        .optional()
}

/// The files of the messages `ids`, by message, in the order sent.
pub(super) fn files_of(
    c: &Connection,
    ids: &[i64],
) -> rusqlite::Result<HashMap<i64, Vec<FileInfo>>> {
    let ids = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    let mut out: HashMap<i64, Vec<FileInfo>> = HashMap::new();
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {FILE_COLUMNS} FROM files f JOIN blobs b ON b.hash = f.hash
         JOIN messages m ON m.id = f.message_id
         WHERE f.message_id IN (SELECT value FROM json_each(?1))
         ORDER BY f.message_id, instr(',' || m.files || ',', ',' || f.id || ',')"
    ))?;
    for file in stmt.query_map([ids], stored_from_row)? {
        let file = file?;
        if let Some(m) = file.message_id {
            out.entry(m).or_default().push(file.info);
        }
    }
    Ok(out)
}

/// Fills in the files of the messages whose rows say they have some.
pub(super) fn add_files<'a>(
    c: &Connection,
    messages: impl IntoIterator<Item = &'a mut Message>,
) -> rusqlite::Result<()> {
    let mut messages: Vec<&mut Message> = messages
        .into_iter()
        .filter(|m| m.has_files && !m.deleted)
        .collect();
    if messages.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = messages.iter().map(|m| m.id).collect();
    let mut files = files_of(c, &ids)?;
    for m in &mut messages {
        m.files = files.remove(&m.id).unwrap_or_default();
    }
    Ok(())
}

/// Every content hash the database names, and the uploads on no message
/// older than `before` (ms): what `hearth check` compares with the disk.
pub fn inventory(c: &Connection, before: i64) -> rusqlite::Result<(Vec<String>, i64)> {
    let hashes = c
        .prepare("SELECT hash FROM blobs ORDER BY hash")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    let unsent: i64 = c.query_row(
        "SELECT COUNT(*) FROM files WHERE message_id IS NULL AND created_at < ?1",
        [before],
        |r| r.get(0),
    )?;
    Ok((hashes, unsent))
}

impl super::ReadPool {
    /// The upload `id`, if it exists.
    pub async fn file(&self, id: i64) -> crate::store::StoreResult<Option<StoredFile>> {
        self.with(move |c| file(c, id)).await
    }

    /// The thumbnail of the content `hash`.
    pub async fn thumbnail(&self, hash: String) -> crate::store::StoreResult<Option<Thumbnail>> {
        self.with(move |c| thumbnail(c, &hash)).await
    }

    /// The messages matching a search.
    pub async fn search(
        &self,
        req: crate::store::search::SearchRequest,
    ) -> crate::store::StoreResult<Vec<crate::store::search::SearchHit>> {
        self.with(move |c| super::search::search(c, &req)).await
    }
}
