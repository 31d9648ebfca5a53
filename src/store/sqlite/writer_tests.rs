//! Tests of the writer thread: group commit, idempotency, faults.

use super::*;
use crate::domain::{ClientId, MessageBody};
use crate::store::blob_dir::BlobDir;
use crate::store::{ChangeKind, LOBBY_ID, NewMessage, UserRef, open_db};
use std::sync::Mutex;

/// A plain message to the lobby.
fn msg(room_id: i64, sender: UserRef, body: MessageBody, client_id: ClientId) -> NewMessage {
    NewMessage {
        room_id,
        sender,
        body,
        client_id,
        reply_to: None,
        files: Vec::new(),
        mentions: Default::default(),
    }
}

fn body(s: &str) -> MessageBody {
    MessageBody::parse(s).unwrap()
}

fn user(id: i64, name: &str) -> UserRef {
    UserRef {
        id,
        username: name.into(),
    }
}

/// The ids of the messages among `changes`.
fn message_ids(changes: &[Change]) -> impl Iterator<Item = i64> + '_ {
    changes.iter().filter_map(|c| match &c.kind {
        ChangeKind::Message(m) => Some(m.id),
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_transaction_carries_many_queued_inserts() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir.path().join("t.db")).unwrap();
    db.conn
        .execute(
            "INSERT INTO users (username, password_hash, created_at) VALUES ('alice', 'x', 0)",
            [],
        )
        .unwrap();
    let published = Arc::new(Mutex::new(Vec::new()));
    let sink = published.clone();
    let publish: Publisher =
        Box::new(move |c: &[Change]| sink.lock().unwrap().extend(message_ids(c)));
    let (writer, worker) = MessageWriter::new(db.conn, publish, BlobDir::new(dir.path()));

    // Queue 200 inserts before the worker runs, as a burst of senders would.
    let mut tasks = Vec::new();
    for i in 0..200 {
        let w = writer.clone();
        tasks.push(tokio::spawn(async move {
            let cid = ClientId::parse(&format!("c{i}")).unwrap();
            w.insert_message(msg(LOBBY_ID, user(1, "alice"), body(&format!("m{i}")), cid))
                .await
        }));
    }
    while writer.tx.capacity() > QUEUE - 200 {
        tokio::task::yield_now().await;
    }
    let handle = std::thread::spawn(move || worker.run());
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap().unwrap().message.id);
    }
    assert_eq!(
        writer.stats().transactions.load(Ordering::Relaxed),
        1,
        "one commit for the whole queue"
    );
    assert_eq!(writer.stats().max_batch.load(Ordering::Relaxed), 200);
    ids.sort_unstable();
    assert_eq!(ids, (1..=200).collect::<Vec<i64>>());
    let published = published.lock().unwrap().clone();
    assert_eq!(published, ids, "published once each, in id order");
    assert!(writer.close(Duration::from_secs(5)).await);
    handle.join().unwrap();
}

#[tokio::test]
async fn repeat_client_id_returns_the_same_row_and_publishes_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir.path().join("t.db")).unwrap();
    let count = Arc::new(AtomicU64::new(0));
    let c = count.clone();
    let writer = MessageWriter::spawn(
        db.conn,
        Box::new(move |changes: &[Change]| {
            c.fetch_add(message_ids(changes).count() as u64, Ordering::Relaxed);
        }),
        BlobDir::new(dir.path()),
    )
    .unwrap();
    let u = writer
        .create_user(Username::parse("bob").unwrap(), "x".into())
        .await
        .unwrap();
    let cid = ClientId::parse("same").unwrap();
    let a = writer
        .insert_message(msg(LOBBY_ID, user(u.id, "bob"), body("hello"), cid.clone()))
        .await
        .unwrap();
    let b = writer
        .insert_message(msg(LOBBY_ID, user(u.id, "bob"), body("other"), cid))
        .await
        .unwrap();
    assert!(a.created && !b.created);
    assert_eq!(a.message, b.message);
    assert_eq!(count.load(Ordering::Relaxed), 1);
    let dup = writer
        .create_user(Username::parse("BOB").unwrap(), "x".into())
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict)));
    assert!(writer.close(Duration::from_secs(5)).await);
    let after = writer
        .insert_message(msg(
            LOBBY_ID,
            user(u.id, "bob"),
            body("late"),
            ClientId::generate(),
        ))
        .await;
    assert!(matches!(after, Err(StoreError::Closed)));
}

fn open_with_user(dir: &std::path::Path) -> Connection {
    let db = open_db(&dir.join("t.db")).unwrap();
    db.conn
        .execute(
            "INSERT INTO users (username, password_hash, created_at) VALUES ('alice', 'x', 0)",
            [],
        )
        .unwrap();
    db.conn
}

async fn send(w: &MessageWriter, i: usize, text: &str) -> StoreResult<Stored> {
    let cid = ClientId::parse(&format!("c{i}")).unwrap();
    w.insert_message(msg(LOBBY_ID, user(1, "alice"), body(text), cid))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_database_fails_the_whole_batch_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let conn = open_with_user(dir.path());
    conn.busy_timeout(Duration::from_millis(300)).unwrap();
    let writer =
        MessageWriter::spawn(conn, Box::new(|_: &[Change]| {}), BlobDir::new(dir.path())).unwrap();
    let other = Connection::open(dir.path().join("t.db")).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = Instant::now();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let w = writer.clone();
            tokio::spawn(async move { send(&w, i, "locked out").await })
        })
        .collect();
    for t in tasks {
        assert!(matches!(t.await.unwrap(), Err(StoreError::Unavailable(_))));
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "not retried one by one: {:?}",
        started.elapsed()
    );
    assert!(writer.stats().failing.load(Ordering::Relaxed));
    assert!(writer.probe().await.is_err(), "the lock is still held");
    other.execute_batch("ROLLBACK").unwrap();
    writer.probe().await.unwrap();
    assert!(!writer.stats().failing.load(Ordering::Relaxed));
    assert!(send(&writer, 0, "retried").await.unwrap().created);
    assert!(writer.close(Duration::from_secs(5)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_database_acks_nothing_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let writer = MessageWriter::spawn(
        open_with_user(dir.path()),
        Box::new(|_: &[Change]| {}),
        BlobDir::new(dir.path()),
    )
    .unwrap();
    let pages = writer.set_page_limit(1).await.unwrap();
    writer.set_page_limit(pages).await.unwrap();
    let text = "满".repeat(1500);
    let mut acked = 0;
    let mut failed = 0;
    for i in 0..200 {
        match send(&writer, i, &text).await {
            Ok(_) => acked += 1,
            Err(StoreError::Unavailable(_)) => failed += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert!(failed > 0, "the cap was reached");
    assert!(writer.probe().await.is_err(), "cannot grow while full");
    writer.set_page_limit(1_000_000).await.unwrap();
    writer.probe().await.unwrap();
    assert!(send(&writer, 1000, "space again").await.unwrap().created);
    assert!(writer.close(Duration::from_secs(5)).await);
    let check = Connection::open(dir.path().join("t.db")).unwrap();
    let rows: i64 = check
        .query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        rows,
        acked + 1,
        "every acked message has a row, nothing else"
    );
}
