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
        ["5"],
        "no duplicates"
    );

    // A node on the migrated team: same epoch, old tokens, same ids.
    let node_dir = tempfile::tempdir().expect("dir");
    let node = ChildServer::start(node_dir.path(), &["--database", &url]).await;
    let after = http.poll_all(node.addr, &bob, 0).await;
    assert_eq!(ids(&after), ids(&before));
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
