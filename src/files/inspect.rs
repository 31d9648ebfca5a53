//! What an uploaded content is, decided from its bytes (never its name):
//! its SHA-256, its type, and for the raster images shown inline, its size
//! and a thumbnail. Decoding has limits, so a decompression bomb is refused
//! before it can take the memory; the thumbnail is re-encoded from pixels,
//! so it carries no EXIF (the orientation is applied first).

use crate::store::files::{BlobMeta, is_inline_image};
use image::{DynamicImage, ImageDecoder, ImageReader, Limits};
use sha2::{Digest, Sha256};
use std::io::{BufReader, Read};
use std::path::Path;

/// Largest thumbnail side, pixels.
pub const THUMB_SIDE: u32 = 480;
/// Most pixels an image may have (e.g. 10000 × 8000).
pub const MAX_PIXELS: u64 = 80_000_000;
/// Most memory one decode may allocate.
const MAX_ALLOC: u64 = 512 * 1024 * 1024;

/// Why an upload was refused after it arrived.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// An image type that cannot be decoded, or too many pixels.
    #[error("{0}")]
    BadImage(String),
    /// Reading the temporary file failed.
    #[error("cannot read the upload: {0}")]
    Io(#[from] std::io::Error),
}

/// Hashes, sniffs and (for images) thumbnails the complete upload at `path`.
/// Blocking: run it off the async threads.
pub fn inspect(path: &Path) -> Result<BlobMeta, InspectError> {
    let mut file = BufReader::new(std::fs::File::open(path)?);
    let mut hasher = Sha256::new();
    let mut head = Vec::with_capacity(8192);
    let mut buf = vec![0u8; 64 * 1024];
    let mut size: i64 = 0;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if head.len() < 8192 {
            let take = n.min(8192 - head.len());
            head.extend_from_slice(&buf[..take]);
        }
        hasher.update(&buf[..n]);
        size += n as i64;
    }
    let hash = format!("{:x}", hasher.finalize());
    let mime = sniff(&head);
    let mut meta = BlobMeta {
        hash,
        size,
        mime: mime.to_owned(),
        ..BlobMeta::default()
    };
    if is_inline_image(mime) {
        let (img, width, height) = decode(path)?;
        meta.width = Some(i64::from(width));
        meta.height = Some(i64::from(height));
        meta.thumb = Some(thumbnail(&img)?);
    }
    Ok(meta)
}

/// The type of a content by its first bytes; text that is valid UTF-8 is
/// `text/plain`, anything unknown `application/octet-stream`.
pub fn sniff(head: &[u8]) -> &'static str {
    if let Some(kind) = infer::get(head) {
        return kind.mime_type();
    }
    // A UTF-8 sequence cut at the end of `head` still counts as text.
    let text = match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    };
    if text && !head.contains(&0) {
        "text/plain"
    } else {
        "application/octet-stream"
    }
}

/// Decodes an image within the limits, turned upright; with its upright size.
fn decode(path: &Path) -> Result<(DynamicImage, u32, u32), InspectError> {
    decode_from(ImageReader::open(path)?.with_guessed_format()?)
}

/// [`decode`] of any reader.
fn decode_from<R: std::io::BufRead + std::io::Seek>(
    mut reader: ImageReader<R>,
) -> Result<(DynamicImage, u32, u32), InspectError> {
    let bad =
        |e: image::ImageError| InspectError::BadImage(format!("the image cannot be read: {e}"));
    let mut limits = Limits::default();
    limits.max_image_width = Some(40_000);
    limits.max_image_height = Some(40_000);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(bad)?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(InspectError::BadImage(format!(
            "the image is {w} × {h} pixels; at most {} million are accepted",
            MAX_PIXELS / 1_000_000
        )));
    }
    let orientation = decoder.orientation().map_err(bad)?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(bad)?;
    img.apply_orientation(orientation);
    let (width, height) = (img.width(), img.height());
    Ok((img, width, height))
}

/// Side of an avatar, in pixels.
pub const AVATAR_SIDE: u32 = 160;

/// An avatar from an uploaded image: upright, the middle square, small.
pub fn avatar(bytes: &[u8]) -> Result<(Vec<u8>, &'static str), InspectError> {
    let reader = ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format()?;
    let (img, _, _) = decode_from(reader)?;
    let square = img.resize_to_fill(
        AVATAR_SIDE,
        AVATAR_SIDE,
        image::imageops::FilterType::Triangle,
    );
    encode_small(&square)
}

/// A thumbnail at most [`THUMB_SIDE`] on its longer side: PNG when the image
/// has transparency, JPEG otherwise.
fn thumbnail(img: &DynamicImage) -> Result<(Vec<u8>, &'static str), InspectError> {
    let small = if img.width() > THUMB_SIDE || img.height() > THUMB_SIDE {
        img.thumbnail(THUMB_SIDE, THUMB_SIDE)
    } else {
        img.clone()
    };
    encode_small(&small)
}

/// PNG when `small` has transparency, JPEG otherwise.
fn encode_small(small: &DynamicImage) -> Result<(Vec<u8>, &'static str), InspectError> {
    let mut out = std::io::Cursor::new(Vec::new());
    let encoded = if small.color().has_alpha() {
        small
            .write_to(&mut out, image::ImageFormat::Png)
            .map(|()| "image/png")
    } else {
        let rgb = DynamicImage::ImageRgb8(small.to_rgb8());
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82);
        rgb.write_with_encoder(encoder).map(|()| "image/jpeg")
    };
    let mime =
        encoded.map_err(|e| InspectError::BadImage(format!("cannot make a thumbnail: {e}")))?;
    Ok((out.into_inner(), mime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "image/png");
        assert_eq!(sniff(b"\xff\xd8\xff\xe0\0\x10JFIF"), "image/jpeg");
        assert_eq!(sniff(b"GIF89a"), "image/gif");
        assert_eq!(
            sniff("<html><script>alert(1)</script>".as_bytes()),
            "text/html"
        );
        assert_eq!(sniff("hello".as_bytes()), "text/plain");
        assert_eq!(sniff("会议纪要".as_bytes()), "text/plain");
        assert_eq!(sniff(b"\0\x01\x02\xff"), "application/octet-stream");
        assert_eq!(sniff(b"%PDF-1.7\n"), "application/pdf");
    }

    #[test]
    fn an_image_gets_its_size_and_a_small_upright_thumbnail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.png");
        image::RgbImage::from_pixel(1200, 300, image::Rgb([200, 10, 10]))
            .save(&path)
            .unwrap();
        let meta = inspect(&path).unwrap();
        assert_eq!(meta.mime, "image/png");
        assert_eq!((meta.width, meta.height), (Some(1200), Some(300)));
        let (thumb, mime) = meta.thumb.unwrap();
        assert_eq!(mime, "image/jpeg");
        let small = image::load_from_memory(&thumb).unwrap();
        assert_eq!((small.width(), small.height()), (480, 120));
        assert_eq!(meta.hash.len(), 64);
    }

    // A decompression bomb (a PNG claiming 30000 × 30000 pixels) is in
    // tests/api/files.rs, through the upload endpoint.
}
