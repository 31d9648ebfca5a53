//! Search (docs/PROTOCOL.md §5): every room the user is a member of and no
//! other, Chinese 2-character words, English words and parts of words,
//! mixes, filters, paging, and the index following edits and deletions.

use crate::conversation::{delete, edit, sent};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::Value;

/// Searches as `who`; returns (status, body).
pub async fn search(app: &TestApp, who: &TestUser, query: &str) -> (StatusCode, Value) {
    let path = format!("/api/search?{query}");
    app.call("GET", &path, Some(&who.token), None).await
}

/// The texts of the hits of `q` (URL-encoded here), newest first.
pub async fn found(app: &TestApp, who: &TestUser, q: &str) -> Vec<String> {
    let q = crate::conversation::percent_encode(q);
    let (status, body) = search(app, who, &format!("q={q}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|h| {
            h["message"]["content"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn finds_chinese_words_english_parts_and_mixes_in_the_users_rooms_only() {
    let app = spawn_app().await;
    let amy = app.register("amy").await;
    let bob = app.register("bob").await;
    let cat = app.register("cat").await;
    let dev = app.create_room(&amy, "dev", "closed", &[bob.id]).await["id"]
        .as_i64()
        .unwrap();
    let secret = app.create_room(&cat, "secret", "closed", &[]).await["id"]
        .as_i64()
        .unwrap();
    sent(&app, &amy, dev, "明天的会议改到下午三点", "s1").await;
    sent(&app, &bob, dev, "部署 nginx 到生产环境", "s2").await;
    sent(&app, &amy, 1, "We deploy on Fridays", "s3").await;
    sent(
        &app,
        &bob,
        1,
        "Deployment done, 会议室在三楼 meeting room",
        "s4",
    )
    .await;
    sent(&app, &cat, secret, "秘密会议 deploy plans", "s5").await;
    sent(&app, &amy, dev, "let's go", "s6").await;

    assert_eq!(
        found(&app, &amy, "会议").await,
        [
            "Deployment done, 会议室在三楼 meeting room",
            "明天的会议改到下午三点"
        ]
    );
    assert_eq!(found(&app, &amy, "部署").await, ["部署 nginx 到生产环境"]);
    assert_eq!(
        found(&app, &amy, "deploy").await.len(),
        2,
        "a word and a longer one"
    );
    assert_eq!(
        found(&app, &amy, "DEPLOY").await.len(),
        2,
        "any letter case"
    );
    assert_eq!(found(&app, &amy, "ploy").await.len(), 2, "part of a word");
    assert_eq!(
        found(&app, &amy, "会议 meeting").await,
        ["Deployment done, 会议室在三楼 meeting room"]
    );
    assert_eq!(
        found(&app, &amy, "部署 nginx").await,
        ["部署 nginx 到生产环境"]
    );
    assert_eq!(
        found(&app, &amy, "下午三点").await,
        ["明天的会议改到下午三点"]
    );
    assert_eq!(
        found(&app, &amy, "\"meeting room\"").await.len(),
        1,
        "a quoted phrase"
    );
    assert_eq!(
        found(&app, &amy, "go").await,
        ["let's go"],
        "a 2-letter word"
    );
    assert!(
        found(&app, &amy, "会议 nothing").await.is_empty(),
        "every word must match"
    );
    // The non-member of dev sees only what reaches them; cat's room stays cat's.
    assert_eq!(
        found(&app, &cat, "会议").await,
        [
            "秘密会议 deploy plans",
            "Deployment done, 会议室在三楼 meeting room"
        ]
    );
    assert!(found(&app, &amy, "秘密").await.is_empty());

    // Filters: in the query, or as parameters.
    assert_eq!(
        found(&app, &amy, "会议 in:dev").await,
        ["明天的会议改到下午三点"]
    );
    assert_eq!(
        found(&app, &amy, "deploy from:bob").await,
        ["Deployment done, 会议室在三楼 meeting room"]
    );
    let (status, body) = search(&app, &amy, &format!("q=deploy&room_id={dev}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["results"].as_array().unwrap().is_empty());
    let (status, _) = search(&app, &amy, &format!("q=deploy&room_id={secret}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not a member: no such room");
    let (status, body) = search(&app, &amy, "q=deploy%20in:secret").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Hits carry the room and a marked snippet.
    let (_, body) = search(&app, &amy, "q=%E4%BC%9A%E8%AE%AE%20in:dev").await;
    let hit = &body["results"][0];
    assert_eq!(hit["room_name"], "dev");
    assert_eq!(hit["room_kind"], "closed");
    let marked: Vec<&str> = hit["snippet"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["hit"] == true)
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    assert_eq!(marked, ["会议"]);

    // Typed errors.
    for (q, code) in [
        ("q=", "query_empty"),
        ("q=%E4%BC%9A", "query_too_short"),
        ("q=a%20b", "query_too_short"),
    ] {
        let (status, body) = search(&app, &amy, q).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(body["error"]["code"], code, "{q}: {body}");
    }
    assert_eq!(
        search(&app, &amy, "q=deploy&order=best").await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.call("GET", "/api/search?q=deploy", None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

/// On SQLite, waits until the background pass has indexed message `id`
/// (searches find newer messages too, by scanning them).
async fn indexed(app: &TestApp, id: i64) {
    if app.state.store.kind() != "sqlite" {
        return;
    }
    let db = rusqlite::Connection::open(app.dir.path().join("hearth.db")).unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let to: String = db
            .query_row(
                "SELECT value FROM meta WHERE key = 'search_indexed_to'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        if to.parse::<i64>().unwrap() >= id {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "message {id} never indexed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn edits_and_deletions_of_indexed_and_fresh_messages_reach_the_results() {
    let app = spawn_app().await;
    let amy = app.register("amy").await;
    // Indexed first, then edited and deleted.
    let old = sent(&app, &amy, 1, "旧消息 about the launch", "i1").await;
    indexed(&app, old).await;
    assert_eq!(found(&app, &amy, "launch").await.len(), 1);
    edit(&app, &amy, old, "旧消息 about the party").await;
    assert!(found(&app, &amy, "launch").await.is_empty());
    assert_eq!(found(&app, &amy, "party").await.len(), 1);
    // Edited and deleted before its pass: the pass indexes what is left.
    let fresh = sent(&app, &amy, 1, "新消息 about the launch", "i2").await;
    edit(&app, &amy, fresh, "新消息 about the picnic").await;
    let gone = sent(&app, &amy, 1, "删掉的 launch plan", "i3").await;
    assert_eq!(delete(&app, &amy, gone).await, StatusCode::NO_CONTENT);
    for _ in 0..2 {
        assert!(found(&app, &amy, "launch").await.is_empty());
        assert_eq!(found(&app, &amy, "picnic").await.len(), 1);
        assert_eq!(found(&app, &amy, "消息").await.len(), 2);
        indexed(&app, gone).await;
    }
    assert_eq!(delete(&app, &amy, old).await, StatusCode::NO_CONTENT);
    assert!(found(&app, &amy, "party").await.is_empty());
}

#[tokio::test]
async fn edits_deletions_and_leaving_a_room_reach_the_results() {
    let app = spawn_app().await;
    let amy = app.register("amy").await;
    let bob = app.register("bob").await;
    let ops = app.create_room(&bob, "ops", "open", &[amy.id]).await["id"]
        .as_i64()
        .unwrap();
    let id = sent(&app, &amy, 1, "周五聚餐 at noon", "e1").await;
    sent(&app, &bob, ops, "周五聚餐 in ops", "e2").await;
    assert_eq!(found(&app, &amy, "聚餐").await.len(), 2);

    let (status, _) = edit(&app, &amy, id, "周六开会 at noon").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found(&app, &amy, "聚餐").await, ["周五聚餐 in ops"]);
    assert_eq!(found(&app, &amy, "开会").await, ["周六开会 at noon"]);
    assert_eq!(found(&app, &amy, "noon").await, ["周六开会 at noon"]);

    assert_eq!(delete(&app, &amy, id).await, StatusCode::NO_CONTENT);
    assert!(found(&app, &amy, "开会").await.is_empty());
    assert!(found(&app, &amy, "noon").await.is_empty());

    // Leaving the room takes its messages out of one's results.
    let (status, _) = app
        .call(
            "POST",
            &format!("/api/rooms/{ops}/leave"),
            Some(&amy.token),
            None,
        )
        .await;
    assert!(status.is_success());
    assert!(found(&app, &amy, "聚餐").await.is_empty());
    assert_eq!(found(&app, &bob, "聚餐").await.len(), 1);
}

#[tokio::test]
async fn pages_newest_first_and_ranks_by_relevance() {
    let app = spawn_app_with(&["--send-rate", "1000", "--send-burst", "100"]).await;
    let amy = app.register("amy").await;
    let mut ids = Vec::new();
    for i in 0..25 {
        ids.push(
            sent(
                &app,
                &amy,
                1,
                &format!("季度报告 第{i}版"),
                &format!("p{i}"),
            )
            .await,
        );
    }
    let dense = sent(&app, &amy, 1, "报告报告报告", "dense").await;
    sent(&app, &amy, 1, "unrelated", "u").await;

    let (_, first) = search(&app, &amy, "q=%E6%8A%A5%E5%91%8A").await;
    let first_ids: Vec<i64> = first["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["message"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(first_ids.len(), 20);
    assert_eq!(first_ids[0], dense);
    assert!(first_ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    let before = first["next_before"].as_i64().expect("more pages");
    let (_, second) = search(&app, &amy, &format!("q=%E6%8A%A5%E5%91%8A&before={before}")).await;
    let second: Vec<i64> = second["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["message"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(second.len(), 6);
    assert!(second.iter().all(|id| *id < before));
    let (_, last) = search(&app, &amy, &format!("q=%E6%8A%A5%E5%91%8A&before={before}")).await;
    assert!(last["next_before"].is_null());

    for q in [
        "q=%E6%8A%A5%E5%91%8A&order=relevance",
        "q=%E5%AD%A3%E5%BA%A6%E6%8A%A5%E5%91%8A&order=relevance",
    ] {
        let (status, ranked) = search(&app, &amy, q).await;
        assert_eq!(status, StatusCode::OK, "{ranked}");
        assert!(ranked["next_before"].is_null(), "relevance is one page");
        assert!(!ranked["results"].as_array().unwrap().is_empty());
    }
    let (_, ranked) = search(&app, &amy, "q=%E6%8A%A5%E5%91%8A&order=relevance").await;
    assert_eq!(
        ranked["results"][0]["message"]["id"].as_i64(),
        Some(dense),
        "the densest match first"
    );
    assert!(ids.len() == 25);
}
