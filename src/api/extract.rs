//! Request parsing done inside handlers (not as warp rejections), so every bad
//! input gets a precise error instead of falling through to another route.

use super::ApiError;
use bytes::{Buf, BufMut, BytesMut};
use futures_util::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Largest accepted request body.
pub const MAX_BODY: usize = 16 * 1024;

/// Reads a JSON body of at most [`MAX_BODY`] bytes (chunked bodies
/// included) that must arrive whole within `deadline`: a body that trickles
/// in would otherwise hold the connection for as long as the client likes.
pub async fn json<T, S, B>(
    content_length: Option<u64>,
    body: S,
    deadline: Duration,
) -> Result<T, ApiError>
where
    T: DeserializeOwned,
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    tokio::time::timeout(deadline, read_json(content_length, body))
        .await
        .unwrap_or_else(|_| {
            Err(ApiError::timeout(format!(
                "the request body did not arrive within {} s",
                deadline.as_secs_f32()
            )))
        })
}

async fn read_json<T, S, B>(content_length: Option<u64>, body: S) -> Result<T, ApiError>
where
    T: DeserializeOwned,
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let too_large = || ApiError::too_large(format!("request body is over {} KiB", MAX_BODY / 1024));
    if content_length.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    let mut buf = BytesMut::new();
    futures_util::pin_mut!(body);
    while let Some(chunk) = body.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::bad_request(format!("could not read the request body: {e}")))?;
        if buf.len() + chunk.remaining() > MAX_BODY {
            return Err(too_large());
        }
        buf.put(chunk);
    }
    if buf.is_empty() {
        return Err(ApiError::bad_request(
            "request body is empty: expected JSON",
        ));
    }
    serde_json::from_slice(&buf)
        .map_err(|e| ApiError::bad_request(format!("malformed JSON body: {e}")))
}

/// Parses a query string.
pub fn query<T: DeserializeOwned>(raw: &str) -> Result<T, ApiError> {
    serde_urlencoded::from_str(raw)
        .map_err(|e| ApiError::bad_request(format!("invalid query string: {e}")))
}
