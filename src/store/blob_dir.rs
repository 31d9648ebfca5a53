//! The single-file store's file contents: `files/` in the data directory,
//! one file per SHA-256 (`files/ab/abcdef…`), written under `files/tmp/` and
//! renamed into place only when complete and checked.

use std::io;
use std::path::{Path, PathBuf};

/// The folder inside the data directory.
pub const FILES_DIR: &str = "files";
/// Unfinished uploads, inside [`FILES_DIR`].
const TEMP_DIR: &str = "tmp";

/// Where the contents live.
#[derive(Debug, Clone)]
pub struct BlobDir {
    root: PathBuf,
}

impl BlobDir {
    /// The contents of the data directory `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            root: data_dir.join(FILES_DIR),
        }
    }

    /// The folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file holding the content `hash` (lower-case hex, checked).
    pub fn path_of(&self, hash: &str) -> Option<PathBuf> {
        let valid = hash.len() == 64
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| self.root.join(&hash[..2]).join(hash))
    }

    /// The folder for unfinished uploads (created when missing).
    pub fn temp_dir(&self) -> io::Result<PathBuf> {
        let dir = self.root.join(TEMP_DIR);
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// Moves the complete upload `temp` into place as `hash`; when the
    /// content is there already (a second upload of it), drops `temp`.
    pub fn place(&self, temp: &Path, hash: &str) -> io::Result<()> {
        let dest = self
            .path_of(hash)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a SHA-256"))?;
        if dest.exists() {
            // Already stored; a retried batch finds its temp file gone.
            let _ = std::fs::remove_file(temp);
            return Ok(());
        }
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::rename(temp, &dest)
    }

    /// Deletes the content `hash` (gone already is fine).
    pub fn remove(&self, hash: &str) {
        if let Some(path) = self.path_of(hash)
            && let Err(e) = std::fs::remove_file(&path)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(error = %e, path = %path.display(), "cannot delete a file's content");
        }
    }

    /// Every content hash on disk (for `hearth check`).
    pub fn hashes(&self) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        let Ok(top) = std::fs::read_dir(&self.root) else {
            return Ok(out);
        };
        for shard in top {
            let shard = shard?;
            let name = shard.file_name();
            if name == TEMP_DIR || !shard.file_type()?.is_dir() {
                continue;
            }
            for entry in std::fs::read_dir(shard.path())? {
                let name = entry?.file_name().to_string_lossy().into_owned();
                if self.path_of(&name).is_some() {
                    out.push(name);
                }
            }
        }
        out.sort();
        Ok(out)
    }
}
