//! Reading a team out of SQLite for `hearth migrate --to`, a chunk at a time.

use crate::store::blob_dir::BlobDir;
use crate::store::transfer::{BlobRow, Chunk, Column, Table, TeamMeta};
use crate::store::{StoreError, StoreResult};
use rusqlite::Connection;

/// Rows per chunk.
pub const CHUNK: usize = 5000;

/// Rows in `table`.
pub fn count(conn: &Connection, table: &Table) -> StoreResult<u64> {
    let n: i64 = conn.query_row(&format!("SELECT COUNT(*) FROM {}", table.name), [], |r| {
        r.get(0)
    })?;
    Ok(n.max(0).unsigned_abs())
}

/// The rows of `table` after key `after` (chunked tables; up to [`CHUNK`]),
/// or all of them (small tables).
pub fn read_chunk(conn: &Connection, table: &Table, after: i64) -> StoreResult<Chunk> {
    let names: Vec<&str> = table.columns.iter().map(|(n, _)| *n).collect();
    let sql = match table.key {
        Some(key) => format!(
            "SELECT {} FROM {} WHERE {key} > ?1 ORDER BY {key} LIMIT {CHUNK}",
            names.join(", "),
            table.name
        ),
        None => format!(
            "SELECT {} FROM {} WHERE ?1 = ?1",
            names.join(", "),
            table.name
        ),
    };
    let mut columns: Vec<Column> = table
        .columns
        .iter()
        .map(|(_, ty)| Column::new(*ty))
        .collect();
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([after])?;
    let mut last_key = None;
    while let Some(row) = rows.next()? {
        for (i, column) in columns.iter_mut().enumerate() {
            match column {
                Column::Int(v) => v.push(row.get(i)?),
                Column::OptInt(v) => v.push(row.get(i)?),
                Column::Text(v) => v.push(row.get(i)?),
                Column::OptText(v) => v.push(row.get(i)?),
                Column::Bool(v) => v.push(row.get(i)?),
            }
        }
        if let Some(key) = table.key {
            let idx = names.iter().position(|n| *n == key).unwrap_or(0);
            last_key = Some(row.get(idx)?);
        }
    }
    Ok(Chunk { columns, last_key })
}

/// The file content after `after` (by hash), with where it lies on disk.
pub fn next_blob(conn: &Connection, blobs: &BlobDir, after: &str) -> StoreResult<Option<BlobRow>> {
    let row = conn.query_row(
        "SELECT hash, size, mime, width, height, thumb, thumb_mime, created_at FROM blobs
         WHERE hash > ?1 ORDER BY hash LIMIT 1",
        [after],
        |r| {
            Ok(BlobRow {
                hash: r.get(0)?,
                size: r.get(1)?,
                mime: r.get(2)?,
                width: r.get(3)?,
                height: r.get(4)?,
                thumb: r.get(5)?,
                thumb_mime: r.get(6)?,
                created_at: r.get(7)?,
                path: Default::default(),
            })
        },
    );
    let mut row = match row {
        Ok(row) => row,
        Err(rusqlite::Error::QueryReturnedNoRows) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    row.path = blobs
        .path_of(&row.hash)
        .ok_or_else(|| StoreError::Task(format!("a file content has a bad hash: {}", row.hash)))?;
    Ok(Some(row))
}

/// File contents to copy.
pub fn blob_count(conn: &Connection) -> StoreResult<u64> {
    let n: i64 = conn.query_row("SELECT COUNT(*) FROM blobs", [], |r| r.get(0))?;
    Ok(n.max(0).unsigned_abs())
}

/// The epoch and signing secret of the team.
pub fn team_meta(conn: &Connection) -> StoreResult<TeamMeta> {
    let value = |key: &str| -> StoreResult<String> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .map_err(|_| StoreError::Task(format!("the database has no {key}")))
    };
    Ok(TeamMeta {
        epoch: value("epoch")?,
        jwt_secret: value("jwt_secret")?,
    })
}
