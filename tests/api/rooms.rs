//! Rooms and direct messages over REST and the v2 stream: the contract of
//! docs/PROTOCOL.md §3, who may see what (a non-member gets 404 everywhere),
//! and what the lobby's v1 clients keep seeing.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn room_ids(list: &Value) -> Vec<i64> {
    list["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn rooms_direct_messages_and_the_room_list() {
    let app = spawn_app().await;
    let (a, b, c) = (
        app.register("alice").await,
        app.register("bob").await,
        app.register("carol").await,
    );
    let open = app.create_room(&a, "闲聊", "open", &[]).await;
    assert_eq!(
        (open["kind"].as_str(), open["members_count"].as_i64()),
        (Some("open"), Some(1))
    );
    assert_eq!(open["member"], true);
    let closed = app.create_room(&a, "设计", "closed", &[b.id]).await;
    assert_eq!(closed["members_count"], 2);
    let (status, taken) = app
        .call(
            "POST",
            "/api/rooms",
            Some(&b.token),
            Some(&json!({"name": "闲聊", "kind": "closed"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{taken}");

    // The same set of people always gets the same direct room.
    let (status, dm) = app
        .call(
            "POST",
            "/api/rooms/direct",
            Some(&a.token),
            Some(&json!({"user_ids": [b.id]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(dm["kind"], "direct");
    assert_eq!(dm["members"].as_array().unwrap().len(), 2);
    let (status, again) = app
        .call(
            "POST",
            "/api/rooms/direct",
            Some(&b.token),
            Some(&json!({"user_ids": [a.id, b.id]})),
        )
        .await;
    assert_eq!(
        (status, again["id"].clone()),
        (StatusCode::OK, dm["id"].clone())
    );
    let (status, _) = app
        .call(
            "POST",
            "/api/rooms/direct",
            Some(&a.token),
            Some(&json!({"user_ids": []})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a direct message needs someone else"
    );

    let (open_id, closed_id, dm_id) = (
        open["id"].as_i64().unwrap(),
        closed["id"].as_i64().unwrap(),
        dm["id"].as_i64().unwrap(),
    );
    let (_, list_b) = app.call("GET", "/api/rooms", Some(&b.token), None).await;
    assert_eq!(room_ids(&list_b), vec![1, open_id, closed_id, dm_id]);
    let open_for_b = &list_b["rooms"][1];
    assert_eq!(open_for_b["member"], false, "open rooms are listed to join");
    let (_, list_c) = app.call("GET", "/api/rooms", Some(&c.token), None).await;
    assert_eq!(
        room_ids(&list_c),
        vec![1, open_id],
        "carol never sees the closed room or the DM"
    );

    // Unread counts and the read position.
    app.send_to(&a, closed_id, "一", "u1").await;
    let (_, two) = app.send_to(&a, closed_id, "二", "u2").await;
    let (_, list_b) = app.call("GET", "/api/rooms", Some(&b.token), None).await;
    let room = list_b["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == closed_id)
        .unwrap()
        .clone();
    assert_eq!(
        (room["unread"].as_i64(), room["last_message_id"].clone()),
        (Some(2), two["id"].clone())
    );
    let (status, _) = app
        .call(
            "POST",
            &format!("/api/rooms/{closed_id}/read"),
            Some(&b.token),
            Some(&json!({"last_read_id": two["id"]})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, room) = app
        .call(
            "GET",
            &format!("/api/rooms/{closed_id}"),
            Some(&b.token),
            None,
        )
        .await;
    assert_eq!(
        (room["unread"].as_i64(), room["last_read_id"].clone()),
        (Some(0), two["id"].clone())
    );
    let (_, room_a) = app
        .call(
            "GET",
            &format!("/api/rooms/{closed_id}"),
            Some(&a.token),
            None,
        )
        .await;
    assert_eq!(room_a["unread"], 0, "one's own messages are not unread");

    // Join, leave, rename, members.
    let (status, joined) = app
        .call(
            "POST",
            &format!("/api/rooms/{open_id}/join"),
            Some(&c.token),
            None,
        )
        .await;
    assert_eq!(
        (status, joined["member"].clone()),
        (StatusCode::OK, json!(true))
    );
    let (_, members) = app
        .call(
            "GET",
            &format!("/api/rooms/{open_id}/members"),
            Some(&c.token),
            None,
        )
        .await;
    assert_eq!(members["members"].as_array().unwrap().len(), 2);
    let (status, _) = app
        .call(
            "POST",
            &format!("/api/rooms/{open_id}/leave"),
            Some(&c.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, renamed) = app
        .call(
            "PATCH",
            &format!("/api/rooms/{closed_id}"),
            Some(&b.token),
            Some(&json!({"name": "设计组", "topic": "周三评审"})),
        )
        .await;
    assert_eq!(
        (status, renamed["name"].clone(), renamed["topic"].clone()),
        (StatusCode::OK, json!("设计组"), json!("周三评审"))
    );
    let (status, _) = app
        .call("POST", "/api/rooms/1/leave", Some(&b.token), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "nobody leaves the lobby");
    let (status, _) = app
        .call(
            "POST",
            &format!("/api/rooms/{dm_id}/leave"),
            Some(&b.token),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a direct message cannot be left"
    );
    let (status, _) = app
        .call(
            "PATCH",
            &format!("/api/rooms/{dm_id}"),
            Some(&b.token),
            Some(&json!({"name": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Archive: admins only (alice, the first account, is one); read-only, hidden.
    let (status, _) = app
        .call(
            "POST",
            &format!("/api/rooms/{closed_id}/archive"),
            Some(&b.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, archived) = app
        .call(
            "POST",
            &format!("/api/rooms/{closed_id}/archive"),
            Some(&a.token),
            None,
        )
        .await;
    assert_eq!(
        (status, archived["archived"].clone()),
        (StatusCode::OK, json!(true))
    );
    let (status, body) = app.send_to(&b, closed_id, "还能发吗", "u3").await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::FORBIDDEN, json!("archived"))
    );
    let (_, list_b) = app.call("GET", "/api/rooms", Some(&b.token), None).await;
    assert!(
        !room_ids(&list_b).contains(&closed_id),
        "hidden from the list"
    );
    let (_, all_b) = app
        .call("GET", "/api/rooms?archived=true", Some(&b.token), None)
        .await;
    assert!(room_ids(&all_b).contains(&closed_id));
    let (status, history) = app
        .call(
            "GET",
            &format!("/api/rooms/{closed_id}/messages"),
            Some(&b.token),
            None,
        )
        .await;
    assert_eq!(
        (status, history["messages"].as_array().unwrap().len()),
        (StatusCode::OK, 2)
    );
}

#[tokio::test]
async fn a_non_member_gets_404_on_every_path() {
    let app = spawn_app().await;
    let (a, b, c) = (
        app.register("alice").await,
        app.register("bob").await,
        app.register("carol").await,
    );
    let closed = app.create_room(&a, "secret", "closed", &[b.id]).await["id"]
        .as_i64()
        .unwrap();
    let dm = app.direct(&a, &[b.id]).await;
    let (_, m) = app.send_to(&a, closed, "only for members", "s1").await;
    let missing = 999_999;
    for room in [closed, dm, missing] {
        let paths: Vec<(&str, String, Option<Value>)> = vec![
            ("GET", format!("/api/rooms/{room}"), None),
            ("GET", format!("/api/rooms/{room}/messages"), None),
            ("GET", format!("/api/rooms/{room}/members"), None),
            (
                "POST",
                format!("/api/rooms/{room}/messages"),
                Some(json!({"content": "hi", "client_id": format!("x{room}")})),
            ),
            (
                "POST",
                format!("/api/rooms/{room}/read"),
                Some(json!({"last_read_id": m["id"]})),
            ),
            ("POST", format!("/api/rooms/{room}/join"), None),
            ("POST", format!("/api/rooms/{room}/leave"), None),
            (
                "POST",
                format!("/api/rooms/{room}/members"),
                Some(json!({"user_ids": [c.id]})),
            ),
            (
                "DELETE",
                format!("/api/rooms/{room}/members/{}", b.id),
                None,
            ),
            (
                "PATCH",
                format!("/api/rooms/{room}"),
                Some(json!({"topic": "t"})),
            ),
        ];
        for (method, path, body) in paths {
            let (status, answer) = app.call(method, &path, Some(&c.token), body.as_ref()).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
            assert_eq!(answer["error"]["code"], "not_found");
        }
    }
    // Over the WebSocket too: a send and a read marker are refused as not found.
    let mut ws = app.ws_v2(&c, None).await;
    ws.send_json(
        &json!({"type": "message", "room_id": closed, "content": "hi", "client_id": "w1"}),
    )
    .await;
    let err = ws.next_of("error").await;
    assert_eq!(
        (err["code"].as_str(), err["client_id"].as_str()),
        (Some("not_found"), Some("w1"))
    );
    ws.send_json(&json!({"type": "read", "room_id": dm, "last_read_id": 1}))
        .await;
    assert_eq!(ws.next_of("error").await["code"], "not_found");
    // And the stream never carries it.
    let (_, page) = app
        .call("GET", "/api/stream?after=0", Some(&c.token), None)
        .await;
    let rooms: Vec<i64> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            e["message"]["room_id"]
                .as_i64()
                .or(e["room_id"].as_i64())
                .or(e["room"]["id"].as_i64())
        })
        .collect();
    assert!(!rooms.contains(&closed) && !rooms.contains(&dm), "{page}");
}

#[tokio::test]
async fn the_v2_stream_routes_each_room_to_its_members_and_v1_sees_the_lobby_only() {
    let app = spawn_app().await;
    let (a, b, c) = (
        app.register("alice").await,
        app.register("bob").await,
        app.register("carol").await,
    );
    let mut a2 = app.ws_v2(&a, None).await;
    let mut b2 = app.ws_v2(&b, None).await;
    let mut c2 = app.ws_v2(&c, None).await;
    let mut b1 = app.ws(&b).await;
    assert_eq!(b2.hello["v"], 2);
    assert!(b1.hello.get("v").is_none());

    let room = app.create_room(&a, "team", "closed", &[b.id]).await["id"]
        .as_i64()
        .unwrap();
    let added = b2.next_of("member").await;
    assert_eq!(
        (added["event"].as_str(), added["room_id"].as_i64()),
        (Some("added"), Some(room))
    );
    let dm = app.direct(&a, &[b.id]).await;
    a2.send_json(
        &json!({"type": "message", "room_id": room, "content": "in the room", "client_id": "r1"}),
    )
    .await;
    assert_eq!(a2.next_of("ack").await["room_id"], room);
    a2.send_json(
        &json!({"type": "message", "room_id": dm, "content": "just us", "client_id": "d1"}),
    )
    .await;
    a2.next_of("ack").await;
    a2.send_message("in the lobby", "l1").await;
    let lobby_id = a2.next_of("ack").await["id"].as_i64().unwrap();

    // Bob (v2) gets all three, in order, each with its room and seq.
    let got = b2.messages(3).await;
    let rooms: Vec<i64> = got.iter().map(|m| m["room_id"].as_i64().unwrap()).collect();
    assert_eq!(rooms, vec![room, dm, 1]);
    assert!(ids(&got).windows(2).all(|w| w[0] < w[1]));
    // Bob's v1 socket (the seed's protocol) gets the lobby message only.
    let v1 = b1.messages(1).await;
    assert_eq!(v1[0]["id"], lobby_id);
    assert!(b1.drain().await.iter().all(|f| f["type"] != "message"));
    // Carol gets the lobby message and nothing of the room or the DM.
    let seen = c2.messages(1).await;
    assert_eq!(seen[0]["id"], lobby_id);
    let rest = c2.drain().await;
    assert!(
        rest.iter()
            .all(|f| f["type"] != "message" && f["type"] != "member"),
        "{rest:?}"
    );

    // Reading in one tab reaches the user's other tabs.
    let mut b2_other = app.ws_v2(&b, None).await;
    b2.send_json(&json!({"type": "read", "room_id": room, "last_read_id": got[0]["id"]}))
        .await;
    let read = b2_other.next_of("read").await;
    assert_eq!(
        (read["room_id"].as_i64(), read["last_read_id"].clone()),
        (Some(room), got[0]["id"].clone())
    );
}

#[tokio::test]
async fn a_direct_message_wakes_only_its_members_sessions() {
    let app = spawn_app().await;
    let (a, b) = (app.register("alice").await, app.register("bob").await);
    let mut others = Vec::new();
    for i in 0..20 {
        let u = app.register(&format!("other{i}")).await;
        others.push(app.ws_v2(&u, None).await);
    }
    let _a2 = app.ws_v2(&a, None).await;
    let mut b2 = app.ws_v2(&b, None).await;
    let dm = app.direct(&a, &[b.id]).await;
    b2.next_of("member").await;
    let before = app.state.hub.routes().pushes();
    app.send_to(&a, dm, "只给你", "d1").await;
    assert_eq!(b2.messages(1).await[0]["content"], "只给你");
    assert_eq!(
        app.state.hub.routes().pushes() - before,
        2,
        "one wake-up per member session, none for the 20 others"
    );
}

#[tokio::test]
async fn removal_is_immediate_live_and_on_resume() {
    let app = spawn_app().await;
    let (a, b) = (app.register("alice").await, app.register("bob").await);
    let room = app.create_room(&a, "team", "closed", &[b.id]).await["id"]
        .as_i64()
        .unwrap();
    let mut b2 = app.ws_v2(&b, None).await;
    let (_, before) = app.send_to(&a, room, "before", "m0").await;
    assert_eq!(b2.messages(1).await[0]["id"], before["id"]);
    let cursor = before["id"].as_i64().unwrap();

    let (status, _) = app
        .call(
            "DELETE",
            &format!("/api/rooms/{room}/members/{}", b.id),
            Some(&a.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for i in 1..=3 {
        app.send_to(&a, room, &format!("after {i}"), &format!("m{i}"))
            .await;
    }
    let (_, marker) = app.send(&a, "lobby marker", "lm").await;
    // Everything up to the lobby marker: the removal, and no message of the room.
    let mut frames = Vec::new();
    loop {
        let f = b2.next_json().await;
        let done = f["type"] == "message" && f["message"]["id"] == marker["id"];
        frames.push(f);
        if done {
            break;
        }
    }
    let removed = frames
        .iter()
        .find(|f| f["type"] == "member")
        .expect("the removal event");
    assert_eq!(
        (removed["event"].as_str(), removed["user"]["id"].as_i64()),
        (Some("removed"), Some(b.id))
    );
    assert!(
        frames
            .iter()
            .all(|f| f["type"] != "message" || f["message"]["room_id"] != room),
        "{frames:?}"
    );
    // A resume from before the removal replays up to it and not beyond.
    let mut resumed = app.ws_v2(&b, Some(cursor)).await;
    let replay = resumed.drain().await;
    assert!(
        replay
            .iter()
            .any(|f| f["type"] == "member" && f["event"] == "removed")
    );
    assert!(
        replay
            .iter()
            .all(|f| f["type"] != "message" || f["message"]["room_id"] != room)
    );
    let (status, _) = app
        .call(
            "GET",
            &format!("/api/rooms/{room}/messages"),
            Some(&b.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn polling_the_stream_uses_the_same_cursor() {
    let app = spawn_app().await;
    let (a, b) = (app.register("alice").await, app.register("bob").await);
    let (_, start) = app.call("GET", "/api/stream", Some(&b.token), None).await;
    let mut cursor = start["last_seq"].as_i64().unwrap();
    let room = app.create_room(&a, "team", "closed", &[b.id]).await["id"]
        .as_i64()
        .unwrap();
    app.send_to(&a, room, "one", "p1").await;
    app.send(&a, "lobby", "p2").await;
    let mut events = Vec::new();
    loop {
        let (status, page) = app
            .call(
                "GET",
                &format!("/api/stream?after={cursor}"),
                Some(&b.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        events.extend(page["events"].as_array().unwrap().iter().cloned());
        cursor = page["last_seq"].as_i64().unwrap();
        if page["has_more"] == false {
            break;
        }
    }
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["member", "message", "message"]);
    let (_, again) = app
        .call(
            "GET",
            &format!("/api/stream?after={cursor}"),
            Some(&b.token),
            None,
        )
        .await;
    assert_eq!(again["events"], json!([]), "nothing twice");
    let (_, reset) = app
        .call("GET", "/api/stream?after=99999999", Some(&b.token), None)
        .await;
    assert_eq!(reset["reset"], true);
}

#[tokio::test]
async fn users_can_be_found_for_pickers() {
    let app = spawn_app().await;
    let a = app.register("alice").await;
    for name in ["张三", "张四", "bob_smith"] {
        app.register(name).await;
    }
    let (_, found) = app
        .call("GET", "/api/users?q=%E5%BC%A0", Some(&a.token), None)
        .await;
    let names: Vec<&str> = found["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["张三", "张四"]);
    let (_, lit) = app
        .call("GET", "/api/users?q=%25", Some(&a.token), None)
        .await;
    assert_eq!(
        lit["users"].as_array().unwrap().len(),
        0,
        "% is literal (the name has no %)"
    );
    let (status, _) = app.call("GET", "/api/users", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Runs `hearth <args>` on `dir`; returns its standard output.
fn hearth_cli(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new(hearth_bin())
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .expect("run hearth");
    assert!(
        out.status.success(),
        "hearth {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn the_admin_cli_manages_rooms_beside_a_running_server() {
    let app = spawn_app().await;
    let (a, b) = (app.register("alice").await, app.register("bob").await);
    let mut bob = app.ws_v2(&b, None).await;
    let created = hearth_cli(
        app.dir.path(),
        &["room", "create", "公告", "--closed", "--member", "bob"],
    );
    assert!(created.contains("created closed room 公告"), "{created}");
    // The running server publishes what the CLI wrote: Bob's sidebar learns it live.
    let added = bob.next_of("member").await;
    assert_eq!(
        (added["event"].as_str(), added["room"]["name"].as_str()),
        (Some("added"), Some("公告"))
    );
    let room = added["room_id"].as_i64().unwrap();
    hearth_cli(app.dir.path(), &["room", "add-member", "公告", "alice"]);
    let (status, _) = app
        .call(
            "POST",
            &format!("/api/rooms/{room}/messages"),
            Some(&a.token),
            Some(&json!({"content": "欢迎", "client_id": "c1"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "alice was added by the CLI and the server routes to her"
    );
    assert_eq!(bob.messages(1).await[0]["content"], "欢迎");
    let listed = hearth_cli(app.dir.path(), &["room", "list"]);
    assert!(
        listed.contains("公告") && listed.contains("lobby"),
        "{listed}"
    );
    hearth_cli(app.dir.path(), &["room", "archive", &room.to_string()]);
    let archived = bob.next_of("room").await;
    assert_eq!(archived["event"], "archived");
    // Accounts made by the CLI are in the lobby like registered ones.
    let out = std::process::Command::new(hearth_bin())
        .args(["user", "add", "carol", "--password-stdin", "--data-dir"])
        .arg(app.dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(b"password123\n")?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success());
    let (_, carol) = app.login("carol", "password123").await;
    let token = carol["token"].as_str().unwrap();
    let (_, rooms) = app.call("GET", "/api/rooms", Some(token), None).await;
    assert_eq!(rooms["rooms"][0]["member"], true, "carol is in the lobby");
}
