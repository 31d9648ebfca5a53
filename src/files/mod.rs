//! Uploading and fetching files: limits checked before and while the body
//! arrives, the content written to a temporary file and inspected off the
//! async threads, then recorded (content-addressed) by the store; fetching
//! only for members of the file's room.

pub mod inspect;

use crate::auth::AuthUser;
use crate::config::FileSettings;
use crate::domain::FileName;
use crate::domain::access::{self, Action, Denied};
use crate::store::files::{FileInfo, NewUpload, StoredFile, Thumbnail};
use crate::store::{Store, StoreError, UserRef};
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use inspect::InspectError;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Uploads never sent are deleted after this long.
pub const UNSENT_KEEP: Duration = Duration::from_secs(24 * 60 * 60);

/// An upload that sends nothing for this long is dropped.
const IDLE: Duration = Duration::from_secs(30);

/// Why an upload or a download failed.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Over the size limit.
    #[error("the file is over the limit of {max} bytes")]
    TooLarge {
        /// The limit, bytes.
        max: u64,
    },
    /// The disk would be (or is) full.
    #[error("the server's disk is full")]
    DiskFull,
    /// An image that cannot be decoded, or too large in pixels.
    #[error("{0}")]
    BadImage(String),
    /// The name, or the request, is wrong.
    #[error("{0}")]
    Invalid(String),
    /// The body stopped arriving, or broke off.
    #[error("{0}")]
    Aborted(String),
    /// The store refused (not found, forbidden, archived, quota) or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the temporary file failed.
    #[error("cannot store the file: {0}")]
    Io(String),
}

impl From<Denied> for FileError {
    fn from(d: Denied) -> Self {
        Self::Store(d.into())
    }
}

fn io_error(e: std::io::Error) -> FileError {
    if e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(libc::ENOSPC) {
        FileError::DiskFull
    } else {
        FileError::Io(e.to_string())
    }
}

/// A temporary upload file, removed when dropped unless the store took it.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Files of rooms.
pub struct FileService {
    store: Store,
    settings: std::sync::RwLock<FileSettings>,
}

impl FileService {
    /// A service over `store` with the upload limits `settings`.
    pub fn new(store: Store, settings: FileSettings) -> Self {
        Self {
            store,
            settings: std::sync::RwLock::new(settings),
        }
    }

    /// The limits in force.
    pub fn settings(&self) -> FileSettings {
        *self
            .settings
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Changes the size limit and the daily quota (an admin's settings).
    pub fn set_limits(&self, max_file_bytes: u64, daily_quota: Option<u64>) {
        let mut s = self
            .settings
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.max_file_bytes = max_file_bytes.max(1);
        s.daily_quota = daily_quota;
    }

    /// An avatar from an uploaded image (small, square, no metadata).
    pub async fn avatar_image(&self, bytes: Vec<u8>) -> Result<(Vec<u8>, &'static str), FileError> {
        tokio::task::spawn_blocking(move || inspect::avatar(&bytes))
            .await
            .map_err(|e| FileError::Io(format!("reading the image failed: {e}")))?
            .map_err(|e| match e {
                InspectError::BadImage(why) => FileError::BadImage(why),
                InspectError::Io(e) => io_error(e),
            })
    }

    /// Receives a file for room `room_id`: refuses early what it can (room,
    /// declared size, free disk), stops reading at the limit, and records
    /// it only when complete. Nothing is left behind by a refusal.
    pub async fn upload<S, E>(
        &self,
        user: &AuthUser,
        room_id: i64,
        name: &str,
        declared: Option<u64>,
        body: &mut S,
    ) -> Result<FileInfo, FileError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let name = FileName::parse(name).map_err(|e| FileError::Invalid(e.0))?;
        let settings = self.settings();
        let max = settings.max_file_bytes;
        let facts = self
            .store
            .room_facts(room_id, user.id)
            .await?
            .ok_or(StoreError::NotFound)?;
        access::decide(&facts, Action::Post)?;
        if declared.is_some_and(|n| n > max) {
            return Err(FileError::TooLarge { max });
        }
        let dir = self.store.upload_dir().map_err(io_error)?;
        self.check_free(&dir, declared.unwrap_or(0))?;
        let temp = TempFile(dir.join(format!("{}.part", uuid::Uuid::new_v4())));
        self.receive(&temp.0, body, max).await?;
        let path = temp.0.clone();
        let blob = tokio::task::spawn_blocking(move || inspect::inspect(&path))
            .await
            .map_err(|e| FileError::Io(format!("inspecting the upload failed: {e}")))?
            .map_err(|e| match e {
                InspectError::BadImage(why) => FileError::BadImage(why),
                InspectError::Io(e) => io_error(e),
            })?;
        let upload = NewUpload {
            room_id,
            uploader: UserRef {
                id: user.id,
                username: user.username.to_string(),
            },
            name: name.as_str().to_owned(),
            blob,
            temp: temp.0.clone(),
            daily_quota: settings
                .daily_quota
                .map(|q| i64::try_from(q).unwrap_or(i64::MAX)),
        };
        Ok(self.store.upload(upload).await?)
    }

    /// Refuses an upload that would leave less than the configured free space.
    fn check_free(&self, dir: &std::path::Path, incoming: u64) -> Result<(), FileError> {
        let free = fs4::available_space(dir).map_err(io_error)?;
        if free < incoming.saturating_add(self.settings().min_free_disk) {
            return Err(FileError::DiskFull);
        }
        Ok(())
    }

    /// Writes the body to `path`, at most `max` bytes, checking the free
    /// space every few MB.
    async fn receive<S, E>(
        &self,
        path: &std::path::Path,
        body: S,
        max: u64,
    ) -> Result<(), FileError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        // Big writes: each write of a tokio file is a hop to the blocking
        // pool, and the body arrives in pieces of a few KiB.
        let file = tokio::fs::File::create(path).await.map_err(io_error)?;
        let mut file = tokio::io::BufWriter::with_capacity(1 << 20, file);
        let mut written: u64 = 0;
        let mut checked: u64 = 0;
        futures_util::pin_mut!(body);
        loop {
            let chunk = match tokio::time::timeout(IDLE, body.next()).await {
                Err(_) => {
                    return Err(FileError::Aborted(format!(
                        "the upload sent nothing for {} s",
                        IDLE.as_secs()
                    )));
                }
                Ok(None) => break,
                Ok(Some(Err(e))) => {
                    return Err(FileError::Aborted(format!("the upload broke off: {e}")));
                }
                Ok(Some(Ok(chunk))) => chunk,
            };
            written += chunk.len() as u64;
            if written > max {
                return Err(FileError::TooLarge { max });
            }
            if written - checked > 4 * 1024 * 1024 {
                checked = written;
                if let Some(dir) = path.parent() {
                    self.check_free(dir, 0)?;
                }
            }
            file.write_all(&chunk).await.map_err(io_error)?;
        }
        if written == 0 {
            return Err(FileError::Invalid("the file is empty".into()));
        }
        // On disk before the store names it.
        file.flush().await.map_err(io_error)?;
        file.get_ref().sync_all().await.map_err(io_error)?;
        Ok(())
    }

    /// The upload `id` if `user` may see it: a member of its room once it
    /// was sent, only its uploader before. Everyone else gets `NotFound`.
    pub async fn find(&self, user: &AuthUser, id: i64) -> Result<StoredFile, FileError> {
        let file = self.store.file(id).await?.ok_or(StoreError::NotFound)?;
        match file.message_id {
            None if file.uploader_id == user.id => Ok(file),
            None => Err(StoreError::NotFound.into()),
            Some(_) => {
                let facts = self
                    .store
                    .room_facts(file.room_id, user.id)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                access::decide(&facts, Action::SeeFiles)?;
                Ok(file)
            }
        }
    }

    /// Deletes uploads that were never sent within [`UNSENT_KEEP`] (a
    /// closed tab, a cancelled message), and their contents unless another
    /// upload names them. Logged, never fatal.
    pub async fn sweep_unsent(&self) {
        let before = crate::store::now_ms() - i64::try_from(UNSENT_KEEP.as_millis()).unwrap_or(0);
        match self.store.sweep_unsent(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(uploads = n, "deleted uploads never sent"),
            Err(e) => tracing::warn!(error = %e, "cannot delete unsent uploads"),
        }
    }

    /// The content of a file `find` returned.
    pub async fn content(
        &self,
        file: &StoredFile,
    ) -> Result<BoxStream<'static, std::io::Result<Bytes>>, FileError> {
        Ok(self.store.content(&file.hash).await?)
    }

    /// The thumbnail of a file `find` returned (`NotFound` for non-images).
    pub async fn thumbnail(&self, file: &StoredFile) -> Result<Thumbnail, FileError> {
        Ok(self
            .store
            .thumbnail(file.hash.clone())
            .await?
            .ok_or(StoreError::NotFound)?)
    }
}
