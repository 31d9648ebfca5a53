//! `hearth backup`, `restore` and `check` with files: one archive made
//! while the server runs, restored into a new data dir with every file, and
//! a check that finds what is missing or damaged (single-file store only:
//! a cluster's files live in PostgreSQL and are backed up with it).

use crate::files::{png, send_files, uploaded};
use crate::helpers::*;
use reqwest::StatusCode;
use std::process::Output;

fn hearth(args: &[&str]) -> Output {
    std::process::Command::new(hearth_bin())
        .args(args)
        .env_remove("HEARTH_DATA_DIR")
        .output()
        .expect("hearth runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

async fn download(app: &TestApp, token: &str, id: i64) -> (StatusCode, Vec<u8>) {
    let res = app
        .http
        .get(app.url(&format!("/api/files/{id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (res.status(), res.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn a_backup_holds_the_files_and_a_restore_puts_them_back() {
    let app = spawn_app().await;
    if app.state.store.kind() != "sqlite" {
        return;
    }
    let amy = app.register("amy").await;
    let image = png(300, 200);
    let notes = "会议纪要：周五发布".as_bytes().to_vec();
    let gone = png(10, 10);
    let a = uploaded(&app, &amy, 1, "a.png", &image).await;
    let b = uploaded(&app, &amy, 1, "notes.txt", &notes).await;
    let c = uploaded(&app, &amy, 1, "gone.png", &gone).await;
    let (_, kept) = send_files(&app, &amy, 1, "two files", &[a, b], "k1").await;
    let (_, dropped) = send_files(&app, &amy, 1, "", &[c], "k2").await;
    let status = app
        .call(
            "DELETE",
            &format!("/api/messages/{}", dropped["id"]),
            Some(&amy.token),
            None,
        )
        .await
        .0;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let dir = app.dir.path().to_str().unwrap().to_owned();
    let out = hearth(&["check", "--data-dir", &dir]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("2 named by the database, 2 on disk"),
        "{}",
        text(&out)
    );

    // Made while the server runs.
    let archive = app.dir.path().join("team.backup");
    let out = hearth(&["backup", archive.to_str().unwrap(), "--data-dir", &dir]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("2 files"), "{}", text(&out));
    let again = hearth(&["backup", archive.to_str().unwrap(), "--data-dir", &dir]);
    assert!(
        !again.status.success(),
        "an existing file is kept without --force"
    );
    let _old = app.stop().await;

    let target = tempfile::tempdir().unwrap();
    let target_dir = target.path().to_str().unwrap().to_owned();
    let out = hearth(&[
        "restore",
        archive.to_str().unwrap(),
        "--data-dir",
        &target_dir,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = hearth(&["check", "--data-dir", &target_dir]);
    assert!(out.status.success(), "{}", text(&out));

    let restored = spawn_in(std::sync::Arc::new(target), &[]).await;
    let (status, login) = restored.login("amy", "password123").await;
    assert_eq!(status, StatusCode::OK, "{login}");
    let token = login["token"].as_str().unwrap();
    assert_eq!(download(&restored, token, a).await, (StatusCode::OK, image));
    assert_eq!(download(&restored, token, b).await, (StatusCode::OK, notes));
    assert_eq!(download(&restored, token, c).await.0, StatusCode::NOT_FOUND);
    let (_, page) = restored
        .call("GET", "/api/rooms/1/messages", Some(token), None)
        .await;
    let with_files = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == kept["id"])
        .expect("the message is back");
    assert_eq!(with_files["files"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn check_reports_missing_damaged_and_unnamed_files() {
    let app = spawn_app().await;
    if app.state.store.kind() != "sqlite" {
        return;
    }
    let amy = app.register("amy").await;
    let one = uploaded(&app, &amy, 1, "one.txt", b"first file").await;
    let two = uploaded(&app, &amy, 1, "two.txt", b"second file").await;
    send_files(&app, &amy, 1, "x", &[one, two], "c1").await;
    let dir = app.dir.path().to_owned();
    let _stopped = app.stop().await;

    let files = dir.join("files");
    let mut blobs: Vec<_> = std::fs::read_dir(&files)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name() != "tmp")
        .flat_map(|shard| std::fs::read_dir(shard.path()).unwrap().flatten())
        .map(|e| e.path())
        .collect();
    blobs.sort();
    std::fs::remove_file(&blobs[0]).unwrap();
    std::fs::write(&blobs[1], b"tampered").unwrap();
    let orphan = files.join("ab").join(format!("ab{}", "0".repeat(62)));
    std::fs::create_dir_all(orphan.parent().unwrap()).unwrap();
    std::fs::write(&orphan, b"nobody's").unwrap();

    let out = hearth(&["check", "--data-dir", dir.to_str().unwrap()]);
    let report = text(&out);
    assert!(!out.status.success(), "{report}");
    assert!(report.contains("1 missing on disk"), "{report}");
    assert!(report.contains("1 damaged"), "{report}");
    assert!(report.contains("1 on disk but on no message"), "{report}");
    assert!(report.contains(&orphan.display().to_string()), "{report}");
}

#[tokio::test]
async fn a_bare_database_from_an_older_backup_still_restores() {
    let app = spawn_app().await;
    if app.state.store.kind() != "sqlite" {
        return;
    }
    let amy = app.register("amy").await;
    crate::conversation::sent(&app, &amy, 1, "before files existed", "o1").await;
    let old = app.dir.path().join("old.db");
    let conn = rusqlite::Connection::open(app.dir.path().join("hearth.db")).unwrap();
    conn.execute("VACUUM INTO ?1", [old.to_str().unwrap()])
        .unwrap();
    drop(conn);
    let target = tempfile::tempdir().unwrap();
    let out = hearth(&[
        "restore",
        old.to_str().unwrap(),
        "--data-dir",
        target.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let restored = spawn_in(std::sync::Arc::new(target), &[]).await;
    let (status, _) = restored.login("amy", "password123").await;
    assert_eq!(status, StatusCode::OK);
}
