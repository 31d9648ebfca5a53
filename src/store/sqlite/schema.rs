//! Opening the database: pragmas, migrations and the `meta` values.

use crate::store::hex::{decode_hex, encode_hex};
use crate::store::{StoreError, StoreResult};
use include_dir::{Dir, include_dir};
use rusqlite::{Connection, OptionalExtension, params};
use rusqlite_migration::Migrations;
use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

/// File name of the database inside the data dir.
pub const DB_FILE: &str = "hearth.db";

static MIGRATIONS_DIR: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/migrations/sqlite");

static MIGRATIONS: LazyLock<Result<Migrations<'static>, rusqlite_migration::Error>> =
    LazyLock::new(|| Migrations::from_directory(&MIGRATIONS_DIR));

/// How long a connection waits for a lock before SQLITE_BUSY.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The embedded migrations.
pub fn migrations() -> StoreResult<&'static Migrations<'static>> {
    MIGRATIONS
        .as_ref()
        .map_err(|e| StoreError::Task(format!("embedded migrations: {e}")))
}

/// A migrated database, before its writer thread starts.
pub struct OpenedDb {
    /// The connection the writer thread will own.
    pub conn: Connection,
    /// The database instance id (`meta.epoch`).
    pub epoch: String,
    /// The highest seq of the change stream.
    pub head_seq: i64,
    /// The JWT signing secret kept in `meta` (created on first start).
    pub jwt_secret: Vec<u8>,
}

/// Opens (creating if needed) the database, sets the pragmas, applies migrations
/// and reads the `meta` values.
pub fn open_db(path: &Path) -> StoreResult<OpenedDb> {
    let mut conn = Connection::open(path)?;
    // WAL lets readers run beside the one writer. FULL syncs the WAL at every
    // commit, so an acknowledged message survives a power cut or OS crash
    // (NORMAL could roll it back and reuse its id); group commit pays one
    // fsync per batch, not per message.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // A deleted message's text is overwritten, not just unlinked.
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Rebuilding a table that others reference (SQLite's recipe for changes
    // ALTER TABLE cannot make) needs foreign keys off while it runs; every
    // reference is checked once the migrations are done.
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    migrations()?.to_latest(&mut conn)?;
    let broken: i64 = conn.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
        r.get(0)
    })?;
    if broken > 0 {
        return Err(StoreError::Task(format!(
            "the database has {broken} broken references after migrating"
        )));
    }
    conn.pragma_update(None, "foreign_keys", "ON")?;
    fill_name_keys(&conn)?;
    super::search::fill_pending_grams(&conn)?;
    conn.execute(
        "DELETE FROM revoked_sessions WHERE expires_at < ?1",
        [crate::store::models::now_ms() / 1000],
    )?;

    let epoch: String = conn.query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |r| {
        r.get(0)
    })?;
    let head_seq: i64 =
        conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))?;
    let jwt_secret = jwt_secret(&conn)?;
    Ok(OpenedDb {
        conn,
        epoch,
        head_seq,
        jwt_secret,
    })
}

/// Computes the uniqueness key of accounts created before keys existed.
fn fill_name_keys(conn: &Connection) -> StoreResult<()> {
    let missing: Vec<(i64, String)> = conn
        .prepare("SELECT id, username FROM users WHERE name_key IS NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, name) in missing {
        conn.execute(
            "UPDATE users SET name_key = ?1 WHERE id = ?2",
            params![crate::domain::name_key(&name), id],
        )?;
    }
    Ok(())
}

fn jwt_secret(conn: &Connection) -> StoreResult<Vec<u8>> {
    let stored: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'jwt_secret'", [], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(hex) = stored
        .and_then(|h| decode_hex(&h))
        .filter(|s| s.len() >= 32)
    {
        return Ok(hex);
    }
    let secret: [u8; 32] = rand::random();
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('jwt_secret', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![encode_hex(&secret)],
    )?;
    Ok(secret.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_validate() {
        migrations().unwrap().validate().unwrap();
    }

    #[test]
    fn open_creates_schema_epoch_and_secret_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        let first = open_db(&path).unwrap();
        assert_eq!(first.epoch.len(), 32);
        assert_eq!(first.jwt_secret.len(), 32);
        assert_eq!(first.head_seq, 0);
        let lobby: String = first
            .conn
            .query_row("SELECT name FROM rooms WHERE id = 1", [], |r| r.get(0))
            .unwrap();
        assert_eq!(lobby, "lobby");
        let secret = first.jwt_secret.clone();
        drop(first);
        let again = open_db(&path).unwrap();
        assert_eq!(again.jwt_secret, secret, "the secret is kept");
        let mode: String = again
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn a_version_1_database_upgrades_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        let mut v1 = Connection::open(&path).unwrap();
        migrations().unwrap().to_version(&mut v1, 1).unwrap();
        v1.execute(
            "INSERT INTO users (username, password_hash, created_at) VALUES ('old', 'x', 0)",
            [],
        )
        .unwrap();
        drop(v1);
        let db = open_db(&path).unwrap();
        let stamp: i64 = db
            .conn
            .query_row(
                "SELECT tokens_valid_after FROM users WHERE username = 'old'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stamp, 0, "existing accounts keep their tokens");
        let key: String = db
            .conn
            .query_row(
                "SELECT name_key FROM users WHERE username = 'old'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(key, "old", "keys are filled in for existing accounts");
        let sync: i64 = db
            .conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2, "FULL: an ack survives a power cut");
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(
            decode_hex(&encode_hex(&[0, 1, 254, 255])).unwrap(),
            vec![0, 1, 254, 255]
        );
        assert!(decode_hex("abc").is_none());
        assert!(decode_hex("zz").is_none());
    }
}
