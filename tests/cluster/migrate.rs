//! `hearth migrate --to`: a single-node team moves into PostgreSQL whole,
//! once.

use crate::child::{ChildServer, libc_signal::Signal};
use crate::harness::*;
use crate::helpers::*;
use serde_json::Value;

#[tokio::test]
async fn a_single_node_team_moves_to_postgres_once() {
    let Some(admin) = admin_url() else { return };
    let dir = tempfile::tempdir().expect("dir");
    let mut single = ChildServer::start(dir.path(), &[]).await;
    let http = Http::new();
    let alice = http.register(single.addr, "alice").await;
    let bob = http.register(single.addr, "bob").await;
    for n in 0..5 {
        http.send(
            single.addr,
            &alice,
            &format!("old {n}"),
            &format!("old-{n}"),
        )
        .await
        .expect("send");
    }
    // Conversation state moves too: a reaction, an edit, a deletion, a level.
    let first = http.poll_all(single.addr, &bob, 0).await;
    let at = |path: &str| format!("http://{}{path}", single.addr);
    let call = |req: reqwest::RequestBuilder, who: &TestUser| {
        let req = req.bearer_auth(&who.token);
        async move { req.send().await.expect("request").status().as_u16() }
    };
    let (m0, m1, m2) = (
        first[0]["id"].clone(),
        first[1]["id"].clone(),
        first[2]["id"].clone(),
    );
    let c = &http.0;
    assert_eq!(
        call(
            c.put(at(&format!("/api/messages/{m0}/reactions/%F0%9F%91%8D"))),
            &bob
        )
        .await,
        200
    );
    let edit = c
        .patch(at(&format!("/api/messages/{m1}")))
        .json(&serde_json::json!({"content": "old 1, edited"}));
    assert_eq!(call(edit, &alice).await, 200);
    assert_eq!(
        call(c.delete(at(&format!("/api/messages/{m2}"))), &alice).await,
        204
    );
    let level = c
        .put(at("/api/rooms/1/notify"))
        .json(&serde_json::json!({"level": "none"}));
    assert_eq!(call(level, &bob).await, 204);
    // A file and a Chinese message move too.
    let content = b"release notes: the meeting moved".to_vec();
    let file_id = http
        .upload(single.addr, &alice, "notes.txt", content.clone())
        .await;
    let with_file = c.post(at("/api/rooms/1/messages")).json(
        &serde_json::json!({"content": "明天的会议纪要", "client_id": "f-1", "files": [file_id]}),
    );
    assert_eq!(call(with_file, &alice).await, 201);
    let before = http.poll_all(single.addr, &bob, 0).await;
    let config: Value = http
        .0
        .get(format!("http://{}/api/config", single.addr))
        .send()
        .await
        .expect("config")
        .json()
        .await
        .expect("json");
    single.signal(Signal::Term);
    single.child.wait().await.expect("stopped");

    let target_dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(&admin, target_dir.path()).await;
    let migrate = |url: String| {
        let data = dir.path().to_owned();
        async move {
            tokio::process::Command::new(hearth_bin())
                .args(["migrate", "--to", &url, "--data-dir"])
                .arg(&data)
                .output()
                .await
                .expect("run migrate")
        }
    };
    let first = migrate(url.clone()).await;
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let again = migrate(url.clone()).await;
    assert!(!again.status.success(), "a second run is refused");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already migrated"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(
        sql(&url, "SELECT COUNT(*) FROM messages").await,
        ["6"],
        "no duplicates"
    );

    // A node on the migrated team: same epoch, old tokens, same ids.
    let node_dir = tempfile::tempdir().expect("dir");
    let node = ChildServer::start(node_dir.path(), &["--database", &url]).await;
    let after = http.poll_all(node.addr, &bob, 0).await;
    assert_eq!(ids(&after), ids(&before));
    assert_eq!(after[0]["reactions"][0]["emoji"], "👍");
    assert_eq!(after[1]["content"], "old 1, edited");
    assert!(after[1]["edited_at"].is_i64());
    let room: Value = http.get(node.addr, "/api/rooms/1", &bob).await;
    assert_eq!(room["notify"], "none");
    let last = after.last().expect("messages");
    assert_eq!(last["files"][0]["id"].as_i64(), Some(file_id), "{last}");
    let download = c
        .get(format!("http://{}/api/files/{file_id}", node.addr))
        .bearer_auth(&bob.token)
        .send()
        .await
        .expect("download");
    assert_eq!(download.status().as_u16(), 200);
    assert_eq!(download.bytes().await.expect("bytes").to_vec(), content);
    let found: Value = http
        .get(node.addr, "/api/search?q=%E4%BC%9A%E8%AE%AE", &bob)
        .await;
    assert_eq!(
        found["results"][0]["message"]["content"], "明天的会议纪要",
        "{found}"
    );
    let again = http
        .upload(
            node.addr,
            &alice,
            "new.txt",
            b"new upload on the cluster".to_vec(),
        )
        .await;
    assert!(again > file_id, "ids go on from the migrated ones");
    let node_config: Value = http
        .0
        .get(format!("http://{}/api/config", node.addr))
        .send()
        .await
        .expect("config")
        .json()
        .await
        .expect("json");
    assert_eq!(
        node_config["epoch"], config["epoch"],
        "clients keep their cache"
    );
    let (status, sent) = http
        .send(node.addr, &alice, "new", "new-1")
        .await
        .expect("send");
    assert_eq!(status, 201);
    let newest = ids(&before).into_iter().max().unwrap_or(0);
    assert!(
        sent["id"].as_i64().expect("id") > newest,
        "ids go on from the old ones"
    );
}
