//! Files (docs/PROTOCOL.md §5): upload, thumbnail, download by members only,
//! inert serving of HTML and SVG, the limits (size, daily quota, free
//! disk), content addressing and deletion with the last message.

use crate::conversation::{delete, sent};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Uploads `bytes` as `name` to `room`; returns (status, body).
pub async fn upload(
    app: &TestApp,
    who: &TestUser,
    room: i64,
    name: &str,
    bytes: &[u8],
) -> (StatusCode, Value) {
    let res = app
        .http
        .post(app.url(&format!(
            "/api/rooms/{room}/files?name={}",
            crate::conversation::percent_encode(name)
        )))
        .bearer_auth(&who.token)
        .body(bytes.to_vec())
        .send()
        .await
        .expect("upload");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Uploads and returns the file's id.
pub async fn uploaded(app: &TestApp, who: &TestUser, room: i64, name: &str, bytes: &[u8]) -> i64 {
    let (status, body) = upload(app, who, room, name, bytes).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["file"]["id"].as_i64().expect("file id")
}

/// Sends `files` with `text` to `room`; returns the message.
pub async fn send_files(
    app: &TestApp,
    who: &TestUser,
    room: i64,
    text: &str,
    files: &[i64],
    cid: &str,
) -> (StatusCode, Value) {
    let body = json!({"content": text, "client_id": cid, "files": files});
    app.call(
        "POST",
        &format!("/api/rooms/{room}/messages"),
        Some(&who.token),
        Some(&body),
    )
    .await
}

/// GET with a token: (status, headers, body bytes).
async fn fetch(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = app.http.get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("fetch");
    let (status, headers) = (res.status(), res.headers().clone());
    (status, headers, res.bytes().await.expect("body").to_vec())
}

fn header<'a>(h: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// A PNG of `w` × `h` pixels.
pub fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

/// A JPEG of `w` × `h` pixels whose EXIF says "rotate 90° clockwise to view".
fn rotated_jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb([10, 120, 200]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("jpeg");
    let jpeg = out.into_inner();
    // APP1 "Exif": a little-endian TIFF header and one IFD entry, Orientation = 6.
    let mut tiff = b"II*\0\x08\0\0\0".to_vec();
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
    tiff.extend_from_slice(&0u32.to_le_bytes());
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xff, 0xe1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// The content files on disk (SQLite's data dir), temp files left out.
fn blobs_on_disk(app: &TestApp) -> Vec<String> {
    let root = app.dir.path().join("files");
    let mut out = Vec::new();
    for shard in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        if shard.file_name() == "tmp" {
            continue;
        }
        for f in std::fs::read_dir(shard.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            out.push(f.file_name().to_string_lossy().into_owned());
        }
    }
    out
}

fn temp_files(app: &TestApp) -> usize {
    std::fs::read_dir(app.dir.path().join("files").join("tmp"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn sqlite(app: &TestApp) -> bool {
    app.state.store.kind() == "sqlite"
}

#[tokio::test]
async fn members_get_the_image_and_its_thumbnail_others_get_404() {
    let app = spawn_app().await;
    let amy = app.register("amy").await;
    let bob = app.register("bob").await;
    let cat = app.register("cat").await;
    let room = app.create_room(&amy, "design", "closed", &[bob.id]).await;
    let room = room["id"].as_i64().unwrap();

    let image = png(1600, 900);
    let (status, up) = upload(&app, &amy, room, "屏幕截图.png", &image).await;
    assert_eq!(status, StatusCode::CREATED, "{up}");
    let file = &up["file"];
    assert_eq!(file["mime"], "image/png");
    assert_eq!(file["image"], true);
    assert_eq!(
        (file["width"].as_i64(), file["height"].as_i64()),
        (Some(1600), Some(900))
    );
    assert_eq!(file["size"].as_i64(), Some(image.len() as i64));
    let id = file["id"].as_i64().unwrap();

    // Not sent yet: only its uploader sees it.
    assert_eq!(
        fetch(&app, &format!("/api/files/{id}"), Some(&bob.token))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        fetch(&app, &format!("/api/files/{id}"), Some(&amy.token))
            .await
            .0,
        StatusCode::OK
    );

    // A message of only a file; the live stream and history carry it.
    let mut ws = app.ws_v2(&bob, None).await;
    let (status, msg) = send_files(&app, &amy, room, "  ", &[id], "f1").await;
    assert_eq!(status, StatusCode::CREATED, "{msg}");
    assert_eq!(msg["content"], "");
    assert_eq!(msg["files"][0]["id"].as_i64(), Some(id));
    let live = ws.next_of("message").await;
    assert_eq!(
        live["message"]["files"][0]["name"], "屏幕截图.png",
        "{live}"
    );
    let (_, page) = app
        .call(
            "GET",
            &format!("/api/rooms/{room}/messages"),
            Some(&bob.token),
            None,
        )
        .await;
    assert_eq!(
        page["messages"][0]["files"][0]["id"].as_i64(),
        Some(id),
        "{page}"
    );

    let (status, headers, body) = fetch(&app, &format!("/api/files/{id}"), Some(&bob.token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, image);
    assert_eq!(header(&headers, "content-type"), "image/png");
    assert!(header(&headers, "content-disposition").starts_with("inline"));
    assert!(header(&headers, "content-disposition").contains("UTF-8''%E5%B1%8F"));
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    assert!(header(&headers, "content-security-policy").contains("sandbox"));

    let (status, headers, thumb) =
        fetch(&app, &format!("/api/files/{id}/thumb"), Some(&bob.token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "image/jpeg");
    let small = image::load_from_memory(&thumb).expect("thumbnail decodes");
    assert_eq!((small.width(), small.height()), (480, 270));

    for path in [format!("/api/files/{id}"), format!("/api/files/{id}/thumb")] {
        let (status, _, body) = fetch(&app, &path, Some(&cat.token)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "a non-member learns nothing");
        assert!(!body.windows(4).any(|w| w == b"\x89PNG"));
        assert_eq!(fetch(&app, &path, None).await.0, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        fetch(&app, "/api/files/999999", Some(&amy.token)).await.0,
        StatusCode::NOT_FOUND
    );
    // Members of an open room only: a non-member who could read its history
    // still gets no files... and cannot upload to a room they are not in.
    assert_eq!(
        upload(&app, &cat, room, "x.png", &image).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn exif_orientation_is_applied_and_the_thumbnail_carries_no_exif() {
    let app = spawn_app().await;
    let amy = app.register("amy").await;
    let jpeg = rotated_jpeg(600, 300);
    assert!(jpeg.windows(4).any(|w| w == b"Exif"));
    let (status, up) = upload(&app, &amy, 1, "phone.jpg", &jpeg).await;
    assert_eq!(status, StatusCode::CREATED, "{up}");
    assert_eq!(
        (up["file"]["width"].as_i64(), up["file"]["height"].as_i64()),
        (Some(300), Some(600))
    );
    let id = up["file"]["id"].as_i64().unwrap();
    let (_, _, thumb) = fetch(&app, &format!("/api/files/{id}/thumb"), Some(&amy.token)).await;
    assert!(
        !thumb.windows(4).any(|w| w == b"Exif"),
        "thumbnail keeps no EXIF"
    );
    let small = image::load_from_memory(&thumb).unwrap();
    assert_eq!((small.width(), small.height()), (240, 480));
}

#[tokio::test]
async fn html_svg_and_disguised_files_are_served_inert() {
    let app = spawn_app().await;
    let amy = app.register("amy").await;
    let cases: [(&str, &[u8]); 3] = [
        ("page.html", b"<!doctype html><html><script>alert(document.cookie)</script></html>"),
        ("logo.svg", b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"><script>alert(2)</script></svg>"),
        // The name says image; the content says otherwise.
        ("cat.png", b"<html><body><script>fetch('/api/auth/me')</script></body></html>"),
    ];
    for (name, bytes) in cases {
        let (status, up) = upload(&app, &amy, 1, name, bytes).await;
        assert_eq!(status, StatusCode::CREATED, "{up}");
        assert_eq!(up["file"]["image"], false, "{name} is not shown inline");
        let id = up["file"]["id"].as_i64().unwrap();
        let (status, headers, body) =
            fetch(&app, &format!("/api/files/{id}"), Some(&amy.token)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, bytes);
        assert_eq!(
            header(&headers, "content-type"),
            "application/octet-stream",
            "{name}"
        );
        let disposition = header(&headers, "content-disposition");
        assert!(
            disposition.starts_with("attachment;"),
            "{name}: {disposition}"
        );
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
        let csp = header(&headers, "content-security-policy");
        assert!(
            csp.contains("sandbox") && csp.contains("default-src 'none'"),
            "{csp}"
        );
        assert!(
            !csp.contains("script-src 'self'"),
            "the app's CSP does not replace it"
        );
        // No thumbnail for what is not an image.
        let thumb = fetch(&app, &format!("/api/files/{id}/thumb"), Some(&amy.token))
            .await
            .0;
        assert_eq!(thumb, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn over_the_size_limit_the_quota_or_the_free_disk_nothing_is_stored() {
    let app = spawn_app_with(&["--max-file-size", "1KB", "--upload-quota", "3KB"]).await;
    let amy = app.register("amy").await;
    let (status, body) = upload(&app, &amy, 1, "big.bin", &[7u8; 1500]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "file_too_large");

    // Without a declared length the server stops reading at the limit.
    let mut raw = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/rooms/1/files?name=big.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Transfer-Encoding: chunked\r\n\r\n",
        amy.token
    );
    raw.write_all(head.as_bytes()).await.unwrap();
    for _ in 0..3 {
        let chunk = [b'a'; 600];
        let _ = raw
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await;
        let _ = raw.write_all(&chunk).await;
        let _ = raw.write_all(b"\r\n").await;
    }
    let _ = raw.write_all(b"0\r\n\r\n").await;
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(WAIT, raw.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("file_too_large"));

    for i in 0..3 {
        uploaded(&app, &amy, 1, &format!("{i}.txt"), &[b'a' + i; 900]).await;
    }
    let (status, body) = upload(&app, &amy, 1, "3.txt", &[b'z'; 900]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "upload_quota");
    // Another user has a quota of their own.
    let bob = app.register("bob").await;
    uploaded(&app, &bob, 1, "b.txt", &[b'q'; 900]).await;
    // The refused uploads left nothing behind.
    assert_eq!(temp_files(&app), 0);
    if sqlite(&app) {
        assert_eq!(blobs_on_disk(&app).len(), 4);
    }

    let full = spawn_app_with(&["--min-free-disk", "1000000TB"]).await;
    let amy = full.register("amy").await;
    let (status, body) = upload(&full, &amy, 1, "a.txt", b"hello").await;
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{body}");
    assert_eq!(body["error"]["code"], "disk_full");
    assert_eq!(temp_files(&full), 0);
    assert!(blobs_on_disk(&full).is_empty());
}

#[tokio::test]
async fn bombs_broken_images_and_bad_requests_get_clear_answers() {
    let app = spawn_app().await;
    let amy = app.register("amy").await;
    // A PNG header claiming 30000 × 30000 pixels: refused before decoding.
    let (status, body) = upload(&app, &amy, 1, "bomb.png", &claimed_png(30_000, 30_000)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "bad_image");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("million"),
        "{body}"
    );
    let mut cut = png(200, 200);
    cut.truncate(cut.len() / 2);
    assert_eq!(
        upload(&app, &amy, 1, "cut.png", &cut).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        upload(&app, &amy, 1, "empty.txt", b"").await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        upload(&app, &amy, 1, "../", b"x").await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        upload(&app, &amy, 424242, "a.txt", b"x").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(temp_files(&app), 0);

    // A message needs text or files; at most 10 files; only one's own unsent uploads.
    let bob = app.register("bob").await;
    let mine = uploaded(&app, &amy, 1, "a.txt", b"a").await;
    let (status, _) = send_files(&app, &amy, 1, "", &[], "e1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = send_files(&app, &bob, 1, "steal", &[mine], "e2").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let eleven: Vec<i64> = (1..=11).collect();
    assert_eq!(
        send_files(&app, &amy, 1, "x", &eleven, "e3").await.0,
        StatusCode::BAD_REQUEST
    );
    let (status, m) = send_files(&app, &amy, 1, "mine", &[mine], "e4").await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    // A retry with the same client id gets the same message, not an error.
    let (status, again) = send_files(&app, &amy, 1, "mine", &[mine], "e4").await;
    assert!(status.is_success(), "{again}");
    assert_eq!(again["id"], m["id"]);
    assert_eq!(again["files"][0]["id"].as_i64(), Some(mine));
    // Sent once: it cannot ride on another message.
    assert_eq!(
        send_files(&app, &amy, 1, "again", &[mine], "e5").await.0,
        StatusCode::BAD_REQUEST
    );
}

/// A PNG that claims `w` × `h` pixels (the pixel data is empty).
fn claimed_png(w: u32, h: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let idat = [0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01];
    for (kind, data) in [(&b"IHDR"[..], &ihdr[..]), (b"IDAT", &idat), (b"IEND", &[])] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut chunk = kind.to_vec();
        chunk.extend_from_slice(data);
        png.extend_from_slice(&chunk);
        png.extend_from_slice(&crc32(&chunk).to_be_bytes());
    }
    png
}

#[tokio::test]
async fn the_same_content_is_stored_once_and_leaves_with_its_last_message() {
    let app = spawn_app().await;
    let amy = app.register("amy").await;
    let bob = app.register("bob").await;
    let image = png(64, 64);
    let a = uploaded(&app, &amy, 1, "a.png", &image).await;
    let b = uploaded(&app, &bob, 1, "copy.png", &image).await;
    assert_ne!(a, b, "two uploads, two names");
    if sqlite(&app) {
        assert_eq!(blobs_on_disk(&app).len(), 1, "one content on disk");
    }
    let (_, ma) = send_files(&app, &amy, 1, "first", &[a], "d1").await;
    let (_, mb) = send_files(&app, &bob, 1, "second", &[b], "d2").await;
    let text = sent(&app, &amy, 1, "no files here", "d3").await;

    assert_eq!(
        delete(&app, &amy, ma["id"].as_i64().unwrap()).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        fetch(&app, &format!("/api/files/{a}"), Some(&amy.token))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (status, _, body) = fetch(&app, &format!("/api/files/{b}"), Some(&amy.token)).await;
    assert_eq!(
        (status, body == image),
        (StatusCode::OK, true),
        "the other copy stays"
    );
    if sqlite(&app) {
        assert_eq!(blobs_on_disk(&app).len(), 1);
    }
    assert_eq!(
        delete(&app, &bob, mb["id"].as_i64().unwrap()).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        fetch(&app, &format!("/api/files/{b}"), Some(&bob.token))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    if sqlite(&app) {
        // Deleted from disk right after the commit.
        let deadline = tokio::time::Instant::now() + WAIT;
        while !blobs_on_disk(&app).is_empty() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "content still on disk"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // Uploading it again stores it again.
    let c = uploaded(&app, &amy, 1, "again.png", &image).await;
    let (status, _, body) = fetch(&app, &format!("/api/files/{c}"), Some(&amy.token)).await;
    assert_eq!((status, body == image), (StatusCode::OK, true));
    assert!(text > 0);
}

#[tokio::test]
async fn uploads_never_sent_are_swept_and_sent_ones_stay() {
    let app = spawn_app().await;
    let amy = app.register("amy").await;
    let kept = uploaded(&app, &amy, 1, "kept.txt", b"kept").await;
    let shared = png(20, 20);
    let sent_copy = uploaded(&app, &amy, 1, "a.png", &shared).await;
    let unsent_copy = uploaded(&app, &amy, 1, "b.png", &shared).await;
    let abandoned = uploaded(&app, &amy, 1, "left.txt", b"left in a closed tab").await;
    let (status, _) = send_files(&app, &amy, 1, "", &[kept, sent_copy], "w1").await;
    assert_eq!(status, StatusCode::CREATED);
    // As if a day had passed.
    let swept = app
        .state
        .store
        .sweep_unsent(hearth::store::now_ms() + 1000)
        .await
        .unwrap();
    assert_eq!(swept, 2);
    for (id, want) in [
        (kept, StatusCode::OK),
        (sent_copy, StatusCode::OK),
        (unsent_copy, StatusCode::NOT_FOUND),
        (abandoned, StatusCode::NOT_FOUND),
    ] {
        assert_eq!(
            fetch(&app, &format!("/api/files/{id}"), Some(&amy.token))
                .await
                .0,
            want,
            "file {id}"
        );
    }
    if sqlite(&app) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while blobs_on_disk(&app).len() != 2 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{:?}",
                blobs_on_disk(&app)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn a_message_keeps_its_files_in_the_order_the_sender_gave() {
    let app = spawn_app().await;
    let amy = app.register("amy").await;
    let room = app.create_room(&amy, "notes", "open", &[]).await;
    let room = room["id"].as_i64().unwrap();
    // Uploads finish in any order; the message lists them as attached.
    let first = uploaded(&app, &amy, room, "b.txt", b"second upload").await;
    let second = uploaded(&app, &amy, room, "a.txt", b"first upload").await;
    let (status, msg) = send_files(&app, &amy, room, "two", &[second, first], "o1").await;
    assert_eq!(status, StatusCode::CREATED, "{msg}");
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|f| f["name"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(names(&msg["files"]), ["a.txt", "b.txt"], "{msg}");
    let (_, page) = app
        .call(
            "GET",
            &format!("/api/rooms/{room}/messages"),
            Some(&amy.token),
            None,
        )
        .await;
    assert_eq!(
        names(&page["messages"][0]["files"]),
        ["a.txt", "b.txt"],
        "{page}"
    );
}
