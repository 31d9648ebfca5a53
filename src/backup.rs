//! `hearth backup`, `hearth restore` and `hearth check` on a data directory:
//! one archive (a tar of the database snapshot and the file contents it
//! names), made while the server runs; restored with the server stopped.

use crate::progress::Progress;
use crate::store::blob_dir::{BlobDir, FILES_DIR};
use crate::store::files::DAY_MS;
use crate::store::sqlite::file_reads::inventory;
use crate::store::{DB_FILE, DataDirLock, now_ms, open_db};
use anyhow::{Context, bail};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// The database's name inside an archive.
const ARCHIVE_DB: &str = "hearth.db";
/// Snapshots retaken when contents vanished meanwhile (deleted messages).
const SNAPSHOT_TRIES: usize = 5;

/// `hearth backup FILE`: a consistent archive while the server runs. The
/// snapshot comes first; each content it names is hard-linked aside at
/// once (a deletion after that cannot take it away). A content deleted
/// between snapshot and link means its message was deleted meanwhile: the
/// snapshot is retaken, so the archive never names a content it lacks.
pub fn backup(data_dir: &Path, target: &Path, force: bool) -> anyhow::Result<()> {
    let source = data_dir.join(DB_FILE);
    if !source.exists() {
        bail!("no database at {}", source.display());
    }
    if target.exists() && !force {
        bail!(
            "{} exists: choose another file or pass --force",
            target.display()
        );
    }
    let blobs = BlobDir::new(data_dir);
    let staging = Staging(
        blobs
            .temp_dir()?
            .join(format!("backup-{}", uuid::Uuid::new_v4())),
    );
    std::fs::create_dir_all(staging.path())
        .context("cannot make a staging folder in the data directory")?;
    let snapshot = staging.path().join(ARCHIVE_DB);
    let mut hashes = Vec::new();
    for attempt in 1..=SNAPSHOT_TRIES {
        let _ = std::fs::remove_file(&snapshot);
        snapshot_db(&source, &snapshot)?;
        hashes = inventory(&Connection::open(&snapshot)?, 0)?.0;
        let mut missing = 0;
        for hash in &hashes {
            let (Some(from), Some(to)) = (blobs.path_of(hash), staged(staging.path(), hash)) else {
                continue;
            };
            if to.exists() {
                continue;
            }
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)?;
            }
            match std::fs::hard_link(&from, &to) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => missing += 1,
                Err(e) => return Err(e).with_context(|| format!("cannot read {}", from.display())),
            }
        }
        if missing == 0 {
            break;
        }
        if attempt == SNAPSHOT_TRIES {
            bail!("{missing} files the database names are not on disk: run `hearth check`");
        }
    }
    let (users, messages) = check_database(&snapshot)?;
    let partial = target.with_extension("partial");
    write_archive(staging.path(), &hashes, &partial)?;
    std::fs::rename(&partial, target)
        .with_context(|| format!("cannot write {}", target.display()))?;
    println!(
        "backup written to {} ({users} users, {messages} messages, {} files)",
        target.display(),
        hashes.len()
    );
    Ok(())
}

/// A staging folder (hard links and the snapshot), removed when done.
struct Staging(PathBuf);

impl Staging {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Where a content is staged (the same layout as `files/`).
fn staged(staging: &Path, hash: &str) -> Option<PathBuf> {
    BlobDir::new(staging).path_of(hash)
}

fn snapshot_db(source: &Path, target: &Path) -> anyhow::Result<()> {
    let conn = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    let target = target
        .to_str()
        .context("the backup path must be valid UTF-8")?;
    conn.execute("VACUUM INTO ?1", [target])
        .context("backup failed")?;
    Ok(())
}

/// The archive: the database, then `files/ab/<hash>` for each content.
fn write_archive(staging: &Path, hashes: &[String], target: &Path) -> anyhow::Result<()> {
    let db = staging.join(ARCHIVE_DB);
    let mut total = std::fs::metadata(&db)?.len();
    let mut paths = Vec::with_capacity(hashes.len());
    for hash in hashes {
        if let Some(path) = staged(staging, hash) {
            total += std::fs::metadata(&path)?.len();
            paths.push((path, format!("{FILES_DIR}/{}/{hash}", &hash[..2])));
        }
    }
    let mut progress = Progress::bytes("backup", total);
    let file = std::fs::File::create(target)
        .with_context(|| format!("cannot create {}", target.display()))?;
    let mut tar = tar::Builder::new(std::io::BufWriter::new(file));
    tar.append_path_with_name(&db, ARCHIVE_DB)?;
    progress.inc(std::fs::metadata(&db)?.len());
    for (path, name) in paths {
        tar.append_path_with_name(&path, &name)?;
        progress.inc(std::fs::metadata(&path)?.len());
    }
    let file = tar.into_inner()?.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    progress.finish();
    Ok(())
}

/// Whether `path` is a tar archive (else an older backup: a bare database).
fn is_archive(path: &Path) -> anyhow::Result<bool> {
    use std::io::Read;
    let mut head = [0u8; 263];
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let n = f.read(&mut head)?;
    Ok(n == head.len() && &head[257..262] == b"ustar")
}

/// `hearth restore FILE`: puts a backup's database and files back. Refuses
/// while a server runs on this data dir; keeps the old database and files
/// beside them; gives the restored database a new epoch so clients drop
/// their caches. Accepts the archives of `hearth backup` and the bare
/// database files older versions wrote.
pub fn restore(data_dir: &Path, source: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(data_dir)?;
    let _lock = DataDirLock::acquire(data_dir).context("restore needs the server stopped")?;
    let stamp = now_ms();
    let incoming = data_dir.join(format!("restoring-{stamp}"));
    std::fs::create_dir_all(&incoming)?;
    let result = (|| {
        let db = if is_archive(source)? {
            unpack(source, &incoming)?;
            incoming.join(ARCHIVE_DB)
        } else {
            let db = incoming.join(ARCHIVE_DB);
            std::fs::copy(source, &db)
                .with_context(|| format!("cannot copy {}", source.display()))?;
            db
        };
        let (users, messages) = check_database(&db)
            .with_context(|| format!("{} is not a usable backup", source.display()))?;
        {
            // Also applies migrations, so an older backup is brought up to date.
            let opened = open_db(&db)?;
            opened.conn.execute(
                "UPDATE meta SET value = lower(hex(randomblob(16))) WHERE key = 'epoch'",
                [],
            )?;
            opened
                .conn
                .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
        }
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        let (names, _) = inventory(&Connection::open(&db)?, 0)?;
        let blobs = BlobDir::new(&incoming);
        let absent = names
            .iter()
            .filter(|h| blobs.path_of(h).is_none_or(|p| !p.exists()))
            .count();
        if absent > 0 {
            eprintln!(
                "warning: the backup lacks {absent} of its {} files (`hearth check` lists them)",
                names.len()
            );
        }
        let live = data_dir.join(DB_FILE);
        let keep = data_dir.join(format!("{DB_FILE}.before-restore-{stamp}"));
        if live.exists() {
            for suffix in ["", "-wal", "-shm"] {
                let from = PathBuf::from(format!("{}{suffix}", live.display()));
                if from.exists() {
                    std::fs::rename(&from, format!("{}{suffix}", keep.display()))?;
                }
            }
            println!("previous database kept as {}", keep.display());
        }
        let files = data_dir.join(FILES_DIR);
        if files.exists() {
            let old = data_dir.join(format!("{FILES_DIR}.before-restore-{stamp}"));
            std::fs::rename(&files, &old)?;
            println!("previous files kept in {}", old.display());
        }
        let restored_files = incoming.join(FILES_DIR);
        if restored_files.exists() {
            std::fs::rename(&restored_files, &files)?;
        }
        std::fs::rename(&db, &live)?;
        println!(
            "restored {} ({users} users, {messages} messages, {} files) into {}",
            source.display(),
            names.len() - absent,
            data_dir.display()
        );
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&incoming);
    result
}

/// Unpacks an archive into `dir`, refusing anything but the database and
/// content files (no links, no paths outside).
fn unpack(source: &Path, dir: &Path) -> anyhow::Result<()> {
    let total = std::fs::metadata(source)?.len();
    let mut progress = Progress::bytes("restore", total);
    let file = std::fs::File::open(source)?;
    let mut archive = tar::Archive::new(std::io::BufReader::new(file));
    let blobs = BlobDir::new(dir);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        let size = entry.header().size()?;
        let dest = if name == ARCHIVE_DB {
            dir.join(ARCHIVE_DB)
        } else {
            let hash = name.rsplit('/').next().unwrap_or_default();
            match blobs.path_of(hash) {
                Some(p) if name == format!("{FILES_DIR}/{}/{hash}", &hash[..2]) => p,
                _ => bail!("unexpected entry {name:?} in the archive"),
            }
        };
        if !entry.header().entry_type().is_file() {
            bail!("unexpected entry {name:?} in the archive");
        }
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        entry.unpack(&dest)?;
        progress.inc(size);
    }
    progress.finish();
    if !dir.join(ARCHIVE_DB).exists() {
        bail!("the archive holds no database");
    }
    Ok(())
}

/// Opens a database file read-only, checks its integrity and schema, and
/// counts its users and messages.
pub fn check_database(path: &Path) -> anyhow::Result<(i64, i64)> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if integrity != "ok" {
        bail!("integrity check failed: {integrity}");
    }
    let epoch: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |r| {
            r.get(0)
        })
        .ok();
    if epoch.is_none() {
        bail!("not a Hearth database (no epoch)");
    }
    let users = conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?;
    let messages = conn.query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))?;
    Ok((users, messages))
}

/// `hearth check`: the database's integrity, and its files against the
/// disk: contents it names that are missing or damaged (size or SHA-256),
/// contents on disk it does not name, uploads never sent. Fails when
/// anything is missing or damaged.
pub fn check(data_dir: &Path) -> anyhow::Result<()> {
    let db = data_dir.join(DB_FILE);
    if !db.exists() {
        bail!("no database at {}", db.display());
    }
    let (users, messages) = check_database(&db)?;
    println!("database ok: {users} users, {messages} messages");
    let conn = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let (named, unsent) = inventory(&conn, now_ms() - DAY_MS)?;
    let sizes: std::collections::HashMap<String, i64> = conn
        .prepare("SELECT hash, size FROM blobs")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let blobs = BlobDir::new(data_dir);
    let on_disk = blobs.hashes()?;
    let total: u64 = sizes.values().map(|s| s.max(&0).unsigned_abs()).sum();
    let mut progress = Progress::bytes("check", total);
    let mut missing = Vec::new();
    let mut damaged = Vec::new();
    for hash in &named {
        let Some(path) = blobs.path_of(hash) else {
            damaged.push(hash.clone());
            continue;
        };
        match hash_file(&path) {
            Ok((sum, size)) => {
                progress.inc(size);
                if &sum != hash || Some(&(size as i64)) != sizes.get(hash) {
                    damaged.push(hash.clone());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => missing.push(hash.clone()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }
    progress.finish();
    let named: std::collections::HashSet<&String> = named.iter().collect();
    let orphans: Vec<&String> = on_disk.iter().filter(|h| !named.contains(h)).collect();
    println!(
        "files: {} named by the database, {} on disk",
        named.len(),
        on_disk.len()
    );
    for (what, list) in [
        ("missing on disk", &missing),
        ("damaged (size or hash differs)", &damaged),
    ] {
        if !list.is_empty() {
            println!("{} {what}:", list.len());
            for hash in list {
                println!(
                    "  {}",
                    blobs
                        .path_of(hash)
                        .map_or(hash.clone(), |p| p.display().to_string())
                );
            }
        }
    }
    if !orphans.is_empty() {
        println!(
            "{} on disk but on no message (safe to delete):",
            orphans.len()
        );
        for hash in &orphans {
            println!(
                "  {}",
                blobs
                    .path_of(hash)
                    .map_or((*hash).clone(), |p| p.display().to_string())
            );
        }
    }
    if unsent > 0 {
        println!("{unsent} uploads older than a day were never sent");
    }
    if missing.is_empty() && damaged.is_empty() {
        println!("check passed");
        Ok(())
    } else {
        bail!("{} files missing, {} damaged", missing.len(), damaged.len())
    }
}

/// The SHA-256 and size of a file.
fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    use sha2::{Digest, Sha256};
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let size = std::io::copy(&mut file, &mut hasher)?;
    Ok((format!("{:x}", hasher.finalize()), size))
}
