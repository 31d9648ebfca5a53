//! Running a team (docs/PROTOCOL.md §7): first-run setup, registration
//! modes, invitations, password changes and sessions, deactivation, the
//! last admin, retention, profiles, the audit log, and the admin API's
//! refusals. Every test runs on both stores.

use crate::files::{png, send_files, uploaded};
use crate::helpers::*;
use hearth::stmt;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Changes settings as `admin`.
async fn settings(app: &TestApp, admin: &TestUser, patch: Value) -> Value {
    let (status, body) = app
        .call(
            "PATCH",
            "/api/admin/settings",
            Some(&admin.token),
            Some(&patch),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn first_run_setup_makes_the_admin_once() {
    let app = spawn_app().await;
    let (_, config) = app.call("GET", "/api/config", None, None).await;
    assert_eq!(config["needs_setup"], true);
    let setup = json!({"team_name": "设计组", "username": "amy", "password": "password123"});
    let (status, body) = app.call("POST", "/api/setup", None, Some(&setup)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["user"]["is_admin"], true);
    let (_, config) = app.call("GET", "/api/config", None, None).await;
    assert_eq!(
        (
            config["needs_setup"].as_bool(),
            config["team_name"].as_str()
        ),
        (Some(false), Some("设计组"))
    );
    let again = json!({"team_name": "x", "username": "eve", "password": "password123"});
    let (status, body) = app.call("POST", "/api/setup", None, Some(&again)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "already_set_up")
    );
}

#[tokio::test]
async fn each_registration_mode_is_enforced_by_the_api() {
    let app = spawn_app().await;
    let admin = app.register("amy").await; // the first account: the admin
    // On loopback with nothing chosen: open.
    app.register("ben").await;

    settings(&app, &admin, json!({"registration": "invite"})).await;
    let (status, body) = app.register_with("cat", None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "invite_required")
    );
    let (status, body) = app.register_with("cat", Some("no-such-invite")).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "invite_not_found")
    );
    let token = app.invite(&admin, 1).await;
    let (status, body) = app.register_with("cat", Some(&token)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    settings(&app, &admin, json!({"registration": "closed"})).await;
    let token = app.invite(&admin, 1).await;
    let (status, body) = app.register_with("dan", Some(&token)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "registration_closed")
    );
    // Closed: admins make accounts, with a one-time link for the password.
    let (status, made) = app
        .call(
            "POST",
            "/api/admin/users",
            Some(&admin.token),
            Some(&json!({"username": "dan"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let link = made["path"]
        .as_str()
        .unwrap()
        .trim_start_matches("/#/password/")
        .to_owned();
    let (status, info) = app
        .call(
            "GET",
            &format!("/api/auth/password-link/{link}"),
            None,
            None,
        )
        .await;
    assert_eq!(
        (status, info["username"].as_str()),
        (StatusCode::OK, Some("dan"))
    );
    let set = json!({"password": "dan-secret-1"});
    let path = format!("/api/auth/password-link/{link}");
    let (status, session) = app.call("POST", &path, None, Some(&set)).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert!(session["token"].is_string());
    assert_eq!(app.login("dan", "dan-secret-1").await.0, StatusCode::OK);
    let (status, body) = app.call("POST", &path, None, Some(&set)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::GONE, "link_invalid"),
        "one use only"
    );

    // The flag sets the mode at start.
    let closed = spawn_app_with(&["--registration", "closed"]).await;
    closed.register("root").await; // the very first account always may
    let (status, body) = closed.register_with("eve", None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "registration_closed")
    );
}

#[tokio::test]
async fn invitations_run_out_expire_and_can_be_revoked() {
    let app = spawn_app_with(&["--registration", "invite"]).await;
    let admin = app.register("amy").await;
    let token = app.invite(&admin, 2).await;
    let (status, info) = app
        .call("GET", &format!("/api/auth/invite/{token}"), None, None)
        .await;
    assert_eq!(
        (status, info["invited_by"].as_str()),
        (StatusCode::OK, Some("amy"))
    );
    assert_eq!(
        app.register_with("ben", Some(&token)).await.0,
        StatusCode::CREATED
    );
    // A failed registration gives its use back.
    assert_eq!(
        app.register_with("BEN", Some(&token)).await.0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.register_with("cat", Some(&token)).await.0,
        StatusCode::CREATED
    );
    let (status, body) = app.register_with("dan", Some(&token)).await;
    assert_eq!((status, code(&body)), (StatusCode::GONE, "invite_used_up"));
    let (status, body) = app
        .call("GET", &format!("/api/auth/invite/{token}"), None, None)
        .await;
    assert_eq!((status, code(&body)), (StatusCode::GONE, "invite_used_up"));

    let revoked = app.invite(&admin, 5).await;
    let (_, list) = app
        .call("GET", "/api/invites", Some(&admin.token), None)
        .await;
    let id = list["invites"][0]["id"].as_i64().unwrap();
    assert_eq!(list["invites"][0]["state"], "active");
    assert!(
        list["invites"][0]["token"].is_null(),
        "the secret is shown once"
    );
    let (status, _) = app
        .call(
            "DELETE",
            &format!("/api/invites/{id}"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app.register_with("dan", Some(&revoked)).await;
    assert_eq!((status, code(&body)), (StatusCode::GONE, "invite_revoked"));

    let expiring = app.invite(&admin, 5).await;
    app.state
        .store
        .sql_write_one(stmt!("UPDATE invites SET expires_at = $1", 1_i64))
        .await
        .unwrap();
    let (status, body) = app.register_with("dan", Some(&expiring)).await;
    assert_eq!((status, code(&body)), (StatusCode::GONE, "invite_expired"));

    // Members invite only when the admin allows it.
    let ben = TestUser {
        id: 0,
        name: "ben".into(),
        token: app.login("ben", "password123").await.1["token"]
            .as_str()
            .unwrap()
            .into(),
    };
    let (status, _) = app
        .call("POST", "/api/invites", Some(&ben.token), Some(&json!({})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    settings(&app, &admin, json!({"members_invite": true})).await;
    app.invite(&ben, 1).await;
}

#[tokio::test]
async fn a_password_change_signs_out_the_other_sessions_and_their_sockets() {
    let app = spawn_app().await;
    let amy = app.register("amy").await;
    let (_, other) = app.login("amy", "password123").await;
    let other = other["token"].as_str().unwrap().to_owned();
    let mut this_tab = app.ws(&amy).await;
    let mut other_tab = WsClient::connect(app.addr, &other, None).await.unwrap();

    let (_, sessions) = app
        .call("GET", "/api/me/sessions", Some(&amy.token), None)
        .await;
    let list = sessions["sessions"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{sessions}");
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);

    let wrong = json!({"current_password": "nope-nope", "new_password": "brand-new-1"});
    let (status, body) = app
        .call("POST", "/api/me/password", Some(&amy.token), Some(&wrong))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "wrong_password")
    );
    let change = json!({"current_password": "password123", "new_password": "brand-new-1"});
    let (status, _) = app
        .call("POST", "/api/me/password", Some(&amy.token), Some(&change))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let close = other_tab.closed().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 4001);
    assert_eq!(
        app.get("/api/auth/me", Some(&other)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // The session that changed it stays signed in, socket and all.
    assert_eq!(
        app.get("/api/auth/me", Some(&amy.token)).await.status(),
        StatusCode::OK
    );
    this_tab.assert_usable().await;
    assert_eq!(
        app.login("amy", "password123").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, fresh) = app.login("amy", "brand-new-1").await;
    assert_eq!(status, StatusCode::OK);

    // Sign out one session by id, then every other one.
    let (_, sessions) = app
        .call("GET", "/api/me/sessions", Some(&amy.token), None)
        .await;
    let list = sessions["sessions"].as_array().unwrap();
    assert_eq!(list.len(), 2, "the revoked one is gone: {sessions}");
    let fresh = fresh["token"].as_str().unwrap().to_owned();
    let fresh_id = list.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = app
        .call(
            "DELETE",
            &format!("/api/me/sessions/{fresh_id}"),
            Some(&amy.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/auth/me", Some(&fresh)).await.status(),
        StatusCode::UNAUTHORIZED,
        "{sessions} {fresh_id}"
    );
    let (_, third) = app.login("amy", "brand-new-1").await;
    let third = third["token"].as_str().unwrap().to_owned();
    let (status, _) = app
        .call(
            "POST",
            "/api/me/sessions/sign-out-others",
            Some(&amy.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/auth/me", Some(&third)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/auth/me", Some(&amy.token)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn deactivation_closes_sockets_refuses_login_and_keeps_messages() {
    let app = spawn_app().await;
    let amy = app.register("amy").await;
    let ben = app.register("ben").await;
    let (status, _) = app.send(&ben, "ben was here", "b1").await;
    assert_eq!(status, StatusCode::CREATED);
    let mut ws = app.ws(&ben).await;
    let off = json!({"active": false});
    let (status, person) = app
        .call(
            "PATCH",
            &format!("/api/admin/users/{}", ben.id),
            Some(&amy.token),
            Some(&off),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{person}");
    assert_eq!(person["deactivated"], true);
    let close = ws.closed().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 4001);
    assert_eq!(
        app.get("/api/auth/me", Some(&ben.token)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = app.login("ben", "password123").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "account_deactivated")
    );
    let history = app.poll_all(&amy, 0).await;
    assert!(
        history.iter().any(|m| m["content"] == "ben was here"),
        "messages stay"
    );
    let (_, people) = app.call("GET", "/api/people", Some(&amy.token), None).await;
    let shown = people["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["username"] == "ben")
        .cloned();
    assert_eq!(shown.unwrap()["deactivated"], true);

    let on = json!({"active": true});
    let path = format!("/api/admin/users/{}", ben.id);
    assert_eq!(
        app.call("PATCH", &path, Some(&amy.token), Some(&on))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(app.login("ben", "password123").await.0, StatusCode::OK);
    assert_eq!(
        app.get("/api/auth/me", Some(&ben.token)).await.status(),
        StatusCode::UNAUTHORIZED,
        "tokens from before stay dead"
    );
}

#[tokio::test]
async fn the_last_admin_cannot_step_down_or_be_deactivated() {
    let app = spawn_app().await;
    let amy = app.register("amy").await;
    let ben = app.register("ben").await;
    let me = format!("/api/admin/users/{}", amy.id);
    for patch in [json!({"admin": false}), json!({"active": false})] {
        let (status, body) = app.call("PATCH", &me, Some(&amy.token), Some(&patch)).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::CONFLICT, "last_admin"),
            "{patch}"
        );
    }
    let make = json!({"admin": true});
    let path = format!("/api/admin/users/{}", ben.id);
    assert_eq!(
        app.call("PATCH", &path, Some(&amy.token), Some(&make))
            .await
            .0,
        StatusCode::OK
    );
    let (status, _) = app
        .call(
            "PATCH",
            &me,
            Some(&amy.token),
            Some(&json!({"admin": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Now amy is a member: the admin API is closed to her.
    assert_eq!(
        app.call("GET", "/api/admin/users", Some(&amy.token), None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (_, audit) = app
        .call("GET", "/api/admin/audit", Some(&ben.token), None)
        .await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["user.remove_admin", "user.make_admin"], "{audit}");
}

#[tokio::test]
async fn retention_deletes_old_messages_and_their_files_and_clients_see_it() {
    let app = spawn_app().await;
    let amy = app.register("amy").await;
    let ben = app.register("ben").await;
    let room = app.create_room(&amy, "notes", "open", &[ben.id]).await["id"]
        .as_i64()
        .unwrap();
    let file = uploaded(&app, &amy, room, "old.png", &png(40, 30)).await;
    let (status, old) = send_files(&app, &amy, room, "old news", &[file], "o1").await;
    assert_eq!(status, StatusCode::CREATED, "{old}");
    let old_id = old["id"].as_i64().unwrap();
    let (status, new) = app.send_to(&amy, room, "fresh", "n1").await;
    assert_eq!(status, StatusCode::CREATED);
    let forty_days_ago = hearth::store::now_ms() - 40 * 86_400_000;
    app.state
        .store
        .sql_write_one(stmt!(
            "UPDATE messages SET created_at = $1 WHERE id = $2",
            forty_days_ago,
            old_id
        ))
        .await
        .unwrap();

    let mut watcher = app.ws_v2(&ben, None).await;
    settings(&app, &amy, json!({"retention_days": 30})).await;
    let (status, done) = app
        .call("POST", "/api/admin/retention", Some(&amy.token), None)
        .await;
    assert_eq!(
        (status, done["deleted"].as_i64()),
        (StatusCode::OK, Some(1)),
        "{done}"
    );
    let event = watcher.next_of("message_deleted").await;
    assert_eq!(event["message_id"].as_i64(), Some(old_id), "{event}");
    let (status, _) = app
        .call("GET", &format!("/api/files/{file}"), Some(&amy.token), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "its files went with it");
    let (_, page) = app
        .call(
            "GET",
            &format!("/api/rooms/{room}/messages"),
            Some(&ben.token),
            None,
        )
        .await;
    let texts: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["content"].as_str())
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(texts, ["fresh"], "{page} {new}");
}

#[tokio::test]
async fn profiles_show_in_the_directory_with_an_avatar() {
    let app = spawn_app().await;
    let amy = app.register("amy").await;
    let ben = app.register("ben").await;
    let patch = json!({"display_name": "  王小明 ", "status": "在开会"});
    let (status, me) = app
        .call("PATCH", "/api/me", Some(&amy.token), Some(&patch))
        .await;
    assert_eq!(
        (status, me["display_name"].as_str()),
        (StatusCode::OK, Some("王小明")),
        "{me}"
    );
    let too_long = json!({"display_name": "名".repeat(65)});
    assert_eq!(
        app.call("PATCH", "/api/me", Some(&amy.token), Some(&too_long))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );

    let res = app
        .http
        .put(app.url("/api/me/avatar"))
        .bearer_auth(&amy.token)
        .body(png(640, 480))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .get(&format!("/api/users/{}/avatar", amy.id), Some(&ben.token))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let avatar = image::load_from_memory(&res.bytes().await.unwrap()).unwrap();
    assert_eq!(
        (avatar.width(), avatar.height()),
        (160, 160),
        "a small square"
    );
    let res = app
        .http
        .put(app.url("/api/me/avatar"))
        .bearer_auth(&amy.token)
        .body("not an image")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let (_, people) = app.call("GET", "/api/people", Some(&ben.token), None).await;
    let amy_row = people["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == amy.id)
        .cloned()
        .unwrap();
    assert_eq!(
        (amy_row["status"].as_str(), amy_row["avatar_at"].is_i64()),
        (Some("在开会"), true)
    );
    assert_eq!(
        app.get(&format!("/api/users/{}/avatar", ben.id), Some(&amy.token))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn every_admin_endpoint_refuses_members_and_anonymous_callers() {
    let app = spawn_app().await;
    let amy = app.register("amy").await;
    let ben = app.register("ben").await;
    let endpoints = [
        ("GET", "/api/admin/users".to_owned(), None),
        (
            "POST",
            "/api/admin/users".to_owned(),
            Some(json!({"username": "x"})),
        ),
        (
            "PATCH",
            format!("/api/admin/users/{}", amy.id),
            Some(json!({"admin": false})),
        ),
        (
            "POST",
            format!("/api/admin/users/{}/password-link", amy.id),
            None,
        ),
        ("GET", "/api/admin/rooms".to_owned(), None),
        (
            "POST",
            "/api/admin/rooms/1/archive".to_owned(),
            Some(json!({"archived": true})),
        ),
        ("GET", "/api/admin/settings".to_owned(), None),
        (
            "PATCH",
            "/api/admin/settings".to_owned(),
            Some(json!({"registration": "open"})),
        ),
        ("GET", "/api/admin/stats".to_owned(), None),
        ("GET", "/api/admin/audit".to_owned(), None),
        ("POST", "/api/admin/retention".to_owned(), None),
    ];
    for (method, path, body) in &endpoints {
        let (status, _) = app.call(method, path, None, body.as_ref()).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} without a token"
        );
        let (status, reply) = app
            .call(method, path, Some(&ben.token), body.as_ref())
            .await;
        assert_eq!(
            (status, code(&reply)),
            (StatusCode::FORBIDDEN, "admin_only"),
            "{method} {path} as a member"
        );
    }
    let (status, stats) = app
        .call("GET", "/api/admin/stats", Some(&amy.token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(stats["data_bytes"].as_u64().unwrap() > 0, "{stats}");
    let today = &stats["days"][0];
    assert_eq!(today["day"].as_str().map(str::len), Some(10), "{stats}");
    let (status, rooms) = app
        .call("GET", "/api/admin/rooms", Some(&amy.token), None)
        .await;
    assert_eq!(
        (status, rooms["rooms"][0]["name"].as_str()),
        (StatusCode::OK, Some("lobby"))
    );
}

#[tokio::test]
async fn an_admin_deletes_a_room_its_members_see_it_go() {
    let app = spawn_app().await;
    let amy = app.register("amy").await;
    let ben = app.register("ben").await;
    let room = app.create_room(&ben, "旧项目", "closed", &[]).await["id"]
        .as_i64()
        .unwrap();
    for i in 0..3 {
        assert_eq!(
            app.send_to(&ben, room, &format!("m{i}"), &format!("c{i}"))
                .await
                .0,
            StatusCode::CREATED
        );
    }
    let archive = json!({"archived": true});
    let path = format!("/api/admin/rooms/{room}/archive");
    assert_eq!(
        app.call("POST", &path, Some(&amy.token), Some(&archive))
            .await
            .0,
        StatusCode::OK,
        "admins archive any room"
    );
    let (_, list) = app
        .call("GET", "/api/admin/rooms", Some(&amy.token), None)
        .await;
    let row = list["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == room)
        .cloned()
        .unwrap();
    assert_eq!(
        (row["messages"].as_i64(), row["archived"].as_bool()),
        (Some(3), Some(true)),
        "{row}"
    );
    let mut watcher = app.ws_v2(&ben, None).await;
    let (status, done) = app
        .call(
            "DELETE",
            &format!("/api/admin/rooms/{room}"),
            Some(&amy.token),
            None,
        )
        .await;
    assert_eq!(
        (status, done["deleted_messages"].as_i64()),
        (StatusCode::OK, Some(3)),
        "{done}"
    );
    let event = watcher.next_of("member").await;
    assert_eq!(
        (event["event"].as_str(), event["room_id"].as_i64()),
        (Some("removed"), Some(room)),
        "{event}"
    );
    assert_eq!(
        app.call("GET", &format!("/api/rooms/{room}"), Some(&ben.token), None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (_, list) = app
        .call("GET", "/api/admin/rooms", Some(&amy.token), None)
        .await;
    assert!(
        list["rooms"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != room)
    );
    app.create_room(&ben, "旧项目", "open", &[]).await; // the name is free again
    let (status, body) = app
        .call("DELETE", "/api/admin/rooms/1", Some(&amy.token), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}
