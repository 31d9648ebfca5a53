//! Files: `POST /api/rooms/{id}/files?name=` (the raw content as the body),
//! `GET /api/files/{id}` and `GET /api/files/{id}/thumb`. Downloads are
//! inert on Hearth's origin: `nosniff`, a sandboxing CSP, and anything but
//! the raster image types is forced to download as `application/octet-stream`.

use super::rooms::user;
use super::{ApiError, content_length, raw_query, respond, with_state};
use crate::files::FileError;
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::files::{StoredFile, is_inline_image};
use futures_util::{Stream, StreamExt};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::http::header::{self, HeaderValue};
use warp::http::{HeaderMap, StatusCode};
use warp::reply::{Reply, Response};
use warp::{Buf, Filter};

/// Downloads run no script and load nothing, even when opened directly.
pub(super) const FILE_CSP: &str =
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox";

#[derive(Deserialize)]
struct UploadQuery {
    name: Option<String>,
}

pub(super) fn routes(state: Arc<AppState>) -> BoxedFilter<(Response,)> {
    let s = || with_state(state.clone());
    let h = warp::header::headers_cloned;
    let upload = warp::path!("api" / "rooms" / i64 / "files")
        .and(warp::post())
        .and(s())
        .and(h())
        .and(raw_query())
        .and(warp::body::stream())
        .then(|room_id, st, hd, q: String, b| async move {
            respond(upload(st, hd, room_id, &q, b).await)
        });
    let download = warp::path!("api" / "files" / i64)
        .and(warp::get())
        .and(s())
        .and(h())
        .then(|id, st, hd| async move { respond(download(st, hd, id).await) });
    let thumb = warp::path!("api" / "files" / i64 / "thumb")
        .and(warp::get())
        .and(s())
        .and(h())
        .then(|id, st, hd| async move { respond(thumb(st, hd, id).await) });
    upload.or(download).unify().or(thumb).unify().boxed()
}

async fn upload(
    state: Arc<AppState>,
    headers: HeaderMap,
    room_id: i64,
    query: &str,
    body: impl Stream<Item = Result<impl Buf, warp::Error>> + Send,
) -> Result<Response, ApiError> {
    let mut body = Box::pin(body.map(|chunk| chunk.map(|mut b| b.copy_to_bytes(b.remaining()))));
    let declared = content_length(&headers);
    let result = async {
        let user = user(&state, &headers)?;
        let q: UploadQuery = super::extract::query(query)?;
        let name = q.name.unwrap_or_default();
        Ok::<_, ApiError>(
            state
                .files
                .upload(&user, room_id, &name, declared, &mut body)
                .await?,
        )
    }
    .await;
    match result {
        Ok(file) => Ok(warp::reply::with_status(
            warp::reply::json(&json!({ "file": file })),
            StatusCode::CREATED,
        )
        .into_response()),
        Err(e) => {
            drain(&mut body, declared).await;
            Err(e)
        }
    }
}

/// Most of a refused upload read before answering.
const DRAIN_MAX: u64 = 64 * 1024 * 1024;
/// Longest wait for it.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads and drops the rest of a refused upload (up to [`DRAIN_MAX`] bytes,
/// for at most [`DRAIN_TIME`]), so the client, or a proxy streaming it,
/// reads the answer instead of a connection reset while still sending.
async fn drain<S, E>(body: &mut S, declared: Option<u64>)
where
    S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
{
    if declared.is_some_and(|n| n > DRAIN_MAX) {
        return;
    }
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        let mut read = 0u64;
        while let Some(Ok(chunk)) = body.next().await {
            read += chunk.len() as u64;
            if read > DRAIN_MAX {
                break;
            }
        }
    })
    .await;
}

async fn download(state: Arc<AppState>, headers: HeaderMap, id: i64) -> Result<Response, ApiError> {
    let user = user(&state, &headers)?;
    let file = state.files.find(&user, id).await?;
    let content = state.files.content(&file).await?;
    let inline = file.info.image && is_inline_image(&file.info.mime);
    let mime = if inline {
        file.info.mime.as_str()
    } else {
        "application/octet-stream"
    };
    let mut res = warp::reply::stream(sync_wrapper::SyncStream::new(content)).into_response();
    let h = res.headers_mut();
    set(h, header::CONTENT_TYPE, mime);
    set(h, header::CONTENT_LENGTH, &file.info.size.to_string());
    set(h, header::CONTENT_DISPOSITION, &disposition(&file, inline));
    inert(h);
    Ok(res)
}

async fn thumb(state: Arc<AppState>, headers: HeaderMap, id: i64) -> Result<Response, ApiError> {
    let user = user(&state, &headers)?;
    let file = state.files.find(&user, id).await?;
    let thumb = state.files.thumbnail(&file).await?;
    let mut res = Response::new(thumb.bytes.into());
    let h = res.headers_mut();
    set(h, header::CONTENT_TYPE, &thumb.mime);
    set(h, header::CONTENT_DISPOSITION, "inline");
    inert(h);
    Ok(res)
}

fn set(h: &mut HeaderMap, name: impl header::IntoHeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

/// Headers every file answer carries: nothing sniffed, nothing run, cached
/// only by the browser (the content of a file id never changes).
fn inert(h: &mut HeaderMap) {
    set(h, header::CONTENT_SECURITY_POLICY, FILE_CSP);
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(
        h,
        header::CACHE_CONTROL,
        "private, max-age=31536000, immutable",
    );
    set(h, "cross-origin-resource-policy", "same-origin");
}

/// `inline` for images, `attachment` for the rest; the name in UTF-8
/// (RFC 6266) with an ASCII fallback.
fn disposition(file: &StoredFile, inline: bool) -> String {
    let kind = if inline { "inline" } else { "attachment" };
    let ascii: String = file
        .info
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let utf8 = utf8_percent_encode(&file.info.name, NON_ALPHANUMERIC);
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{utf8}")
}

impl From<FileError> for ApiError {
    fn from(e: FileError) -> Self {
        match e {
            FileError::TooLarge { max } => ApiError::with_code(
                StatusCode::PAYLOAD_TOO_LARGE,
                "file_too_large",
                format!(
                    "文件超过 {} 的上限 (the file is over the limit of {max} bytes)",
                    bytesize::ByteSize(max).display().si()
                ),
            ),
            FileError::DiskFull => ApiError::with_code(
                StatusCode::INSUFFICIENT_STORAGE,
                "disk_full",
                "服务器磁盘已满，文件未保存 (the server's disk is full; nothing was stored)",
            ),
            FileError::BadImage(why) => {
                ApiError::with_code(StatusCode::UNPROCESSABLE_ENTITY, "bad_image", why)
            }
            FileError::Invalid(why) => ApiError::bad_request(why),
            FileError::Aborted(why) => ApiError::bad_request(why),
            FileError::Store(StoreError::Limit { code, message }) if code == "upload_quota" => {
                ApiError::with_code(StatusCode::TOO_MANY_REQUESTS, code, message)
            }
            FileError::Store(StoreError::NotFound) => {
                ApiError::not_found("文件不存在或你无权访问 (no such file)")
            }
            FileError::Store(e) => e.into(),
            FileError::Io(why) => ApiError::internal(why),
        }
    }
}
