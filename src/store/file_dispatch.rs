//! Files and search of [`Store`], handed to the store in use; and reading a
//! file's content, which lies on disk (SQLite) or in chunks (PostgreSQL).

use super::files::{FileInfo, NewUpload, StoredFile, Thumbnail};
use super::search::{SearchHit, SearchRequest};
use super::{Backend, Store, StoreError, StoreResult};
use bytes::Bytes;
use futures_util::Stream;
use futures_util::stream::{self, BoxStream, StreamExt};
use std::path::PathBuf;

impl Store {
    /// Records a complete upload (its content moved into place, or into the
    /// database) after checking the room and the daily quota.
    pub async fn upload(&self, upload: NewUpload) -> StoreResult<FileInfo> {
        match &*self.backend {
            Backend::Sqlite(s) => s.writer.upload(upload).await,
            Backend::Postgres(pg) => Box::pin(pg.upload(upload)).await,
        }
    }

    /// Deletes the uploads created before `before` (ms) and never sent, with
    /// the contents no other upload names; returns how many.
    pub async fn sweep_unsent(&self, before: i64) -> StoreResult<u64> {
        match &*self.backend {
            Backend::Sqlite(s) => s.writer.sweep_unsent(before).await,
            Backend::Postgres(pg) => Box::pin(pg.sweep_unsent(before)).await,
        }
    }

    /// The upload `id`, if it exists (the caller decides who may see it).
    pub async fn file(&self, id: i64) -> StoreResult<Option<StoredFile>> {
        match &*self.backend {
            Backend::Sqlite(s) => s.reader.file(id).await,
            Backend::Postgres(pg) => Box::pin(pg.file(id)).await,
        }
    }

    /// The thumbnail of the content `hash`.
    pub async fn thumbnail(&self, hash: String) -> StoreResult<Option<Thumbnail>> {
        match &*self.backend {
            Backend::Sqlite(s) => s.reader.thumbnail(hash).await,
            Backend::Postgres(pg) => Box::pin(pg.thumbnail(hash)).await,
        }
    }

    /// Messages matching a search, in the rooms its user is a member of.
    pub async fn search(&self, req: SearchRequest) -> StoreResult<Vec<SearchHit>> {
        match &*self.backend {
            Backend::Sqlite(s) => s.reader.search(req).await,
            Backend::Postgres(pg) => Box::pin(pg.search(req)).await,
        }
    }

    /// Where uploads are written while they arrive: inside the data
    /// directory on SQLite (renamed into place from there), the system's
    /// temporary folder on a cluster node (copied into the database).
    pub fn upload_dir(&self) -> std::io::Result<PathBuf> {
        match &*self.backend {
            Backend::Sqlite(s) => s.blobs.temp_dir(),
            Backend::Postgres(_) => {
                let dir = std::env::temp_dir().join("hearth-uploads");
                std::fs::create_dir_all(&dir)?;
                Ok(dir)
            }
        }
    }

    /// The content `hash`, as a stream of pieces.
    pub async fn content(
        &self,
        hash: &str,
    ) -> StoreResult<BoxStream<'static, std::io::Result<Bytes>>> {
        match &*self.backend {
            Backend::Sqlite(s) => {
                let path = s.blobs.path_of(hash).ok_or(StoreError::NotFound)?;
                let file = tokio::fs::File::open(&path).await.map_err(|e| {
                    tracing::error!(path = %path.display(), error = %e, "a file's content is missing");
                    StoreError::NotFound
                })?;
                Ok(tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024).boxed())
            }
            Backend::Postgres(_) => Ok(self.chunks(hash.to_owned()).boxed()),
        }
    }

    /// The chunks of a content on the cluster store, fetched one at a time.
    fn chunks(&self, hash: String) -> impl Stream<Item = std::io::Result<Bytes>> + Send + 'static {
        let store = self.clone();
        stream::unfold(0i32, move |n| {
            let (store, hash) = (store.clone(), hash.clone());
            async move {
                let pg = store.cluster()?;
                match Box::pin(pg.blob_chunk(&hash, n)).await {
                    Ok(Some(data)) => Some((Ok(Bytes::from(data)), n + 1)),
                    Ok(None) => None,
                    Err(e) => Some((Err(std::io::Error::other(e.to_string())), i32::MAX)),
                }
            }
        })
    }
}
