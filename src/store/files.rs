//! Files as the stores keep them: a blob (the content, once per SHA-256)
//! and the uploads that name it, each in a room and, once sent, on a message.

use super::models::UserRef;
use serde::Serialize;
use std::path::PathBuf;

/// A day, in ms: the window of the upload quota.
pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Most files on one message.
pub const MAX_FILES_PER_MESSAGE: usize = 10;

/// The raster image types shown inline; everything else is a download.
pub const INLINE_IMAGE_TYPES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

/// A file as clients see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, Default)]
pub struct FileInfo {
    /// The upload's id (`/api/files/{id}`).
    pub id: i64,
    /// The name it was uploaded with.
    pub name: String,
    /// Bytes.
    pub size: i64,
    /// The type sniffed from the content.
    pub mime: String,
    /// An image shown inline, with a thumbnail.
    pub image: bool,
    /// Pixels (images).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<i64>,
    /// Pixels (images).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<i64>,
}

/// What the server learned about an uploaded content.
#[derive(Debug, Clone, Default)]
pub struct BlobMeta {
    /// SHA-256, lower-case hex.
    pub hash: String,
    /// Bytes.
    pub size: i64,
    /// The sniffed type.
    pub mime: String,
    /// Pixels, for images.
    pub width: Option<i64>,
    /// Pixels, for images.
    pub height: Option<i64>,
    /// The thumbnail (images), and its type.
    pub thumb: Option<(Vec<u8>, &'static str)>,
}

/// An upload to record.
#[derive(Debug)]
pub struct NewUpload {
    /// The room it is for (the uploader must be able to post there).
    pub room_id: i64,
    /// Who uploads.
    pub uploader: UserRef,
    /// The name to show.
    pub name: String,
    /// The content's facts.
    pub blob: BlobMeta,
    /// Where the content is now (a complete temporary file).
    pub temp: PathBuf,
    /// Refuse when the uploader's uploads of the last 24 hours would pass this many bytes.
    pub daily_quota: Option<i64>,
}

/// An upload found for a reader: where its content is and who may see it.
#[derive(Debug, Clone)]
pub struct StoredFile {
    /// As clients see it.
    pub info: FileInfo,
    /// Its blob.
    pub hash: String,
    /// Its room.
    pub room_id: i64,
    /// Its uploader.
    pub uploader_id: i64,
    /// The message it was sent with (`None`: not sent yet, only its uploader sees it).
    pub message_id: Option<i64>,
}

/// The thumbnail of a file, and its type.
#[derive(Debug, Clone)]
pub struct Thumbnail {
    /// The image.
    pub bytes: Vec<u8>,
    /// `image/jpeg` or `image/png`.
    pub mime: String,
}

/// The ids of a message's files as kept on its row (`1,2,3`), or `None`.
pub fn ids_to_db(ids: &[i64]) -> Option<String> {
    (!ids.is_empty()).then(|| ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","))
}

/// Whether `mime` is shown inline.
pub fn is_inline_image(mime: &str) -> bool {
    INLINE_IMAGE_TYPES.contains(&mime)
}
