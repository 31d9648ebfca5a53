//! Accounts and tokens over real HTTP.

use crate::helpers::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use reqwest::StatusCode;
use serde_json::{Value, json};

const SECRET: &str = "0123456789abcdef0123456789abcdef-test-secret";

#[tokio::test]
async fn register_login_me() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("Bob_2").await;

    let res = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"username": "ALICE", "password": "password123"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["username"], "alice");
    let token = body["token"].as_str().unwrap();

    let me: Value = app
        .get("/api/auth/me", Some(token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], alice.id);
    assert_eq!(me["username"], "alice");
    assert_eq!(me["is_admin"], true, "the first account is the admin");
    let me_bob: Value = app
        .get("/api/auth/me", Some(&bob.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me_bob["is_admin"], false);
    assert!(me.get("password_hash").is_none());
}

#[tokio::test]
async fn duplicate_username_in_any_case_is_409() {
    let app = spawn_app().await;
    app.register("Carol").await;
    for name in ["Carol", "carol", "CAROL", " carol "] {
        let res = app
            .post_json(
                "/api/auth/register",
                None,
                &json!({"username": name, "password": "password123"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CONFLICT, "{name:?}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "conflict");
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let app = spawn_app().await;
    app.register("dave").await;
    let wrong = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"username": "dave", "password": "not-the-password"}),
        )
        .await;
    let unknown = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"username": "nobody", "password": "password123"}),
        )
        .await;
    let invalid_name = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"username": "x", "password": "password123"}),
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(invalid_name.status(), StatusCode::UNAUTHORIZED);
    let (a, b, c) = (
        wrong.text().await.unwrap(),
        unknown.text().await.unwrap(),
        invalid_name.text().await.unwrap(),
    );
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert!(a.contains(r#""code":"unauthorized""#), "{a}");
}

#[tokio::test]
async fn repeated_failures_are_throttled_then_a_correct_login_is_refused_too() {
    let app = spawn_app().await;
    app.register("erin").await;
    let mut throttled = None;
    for _ in 0..10 {
        let res = app
            .post_json(
                "/api/auth/login",
                None,
                &json!({"username": "erin", "password": "wrong-password"}),
            )
            .await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            throttled = Some(res);
            break;
        }
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = throttled.expect("throttled after a few failures");
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    let res = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"username": "erin", "password": "password123"}),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
}

fn claims(sub: i64, exp_offset: i64) -> Value {
    let now = jsonwebtoken::get_current_timestamp() as i64;
    json!({"sub": sub.to_string(), "name": "alice", "iat": now, "exp": now + exp_offset})
}

#[tokio::test]
async fn bad_tokens_are_401_on_rest_and_websocket() {
    let app = spawn_app_with(&["--jwt-secret", SECRET]).await;
    let alice = app.register("alice").await;

    let good = encode(
        &Header::new(Algorithm::HS256),
        &claims(alice.id, 3600),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    assert_eq!(
        app.get("/api/auth/me", Some(&good)).await.status(),
        StatusCode::OK,
        "our own token works"
    );

    let expired = encode(
        &Header::new(Algorithm::HS256),
        &claims(alice.id, -3600),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    let foreign = encode(
        &Header::new(Algorithm::HS256),
        &claims(alice.id, 3600),
        &EncodingKey::from_secret(b"another-secret-another-secret-another"),
    )
    .unwrap();
    let hs512 = encode(
        &Header::new(Algorithm::HS512),
        &claims(alice.id, 3600),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims(alice.id, 3600).to_string())
    );
    let no_exp = encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": alice.id.to_string(), "name": "alice"}),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    for (what, token) in [
        ("expired", &expired),
        ("foreign", &foreign),
        ("hs512", &hs512),
        ("alg none", &none),
        ("no exp", &no_exp),
        ("garbage", &"abc.def.ghi".to_owned()),
    ] {
        for path in [
            "/api/auth/me",
            "/api/chat/messages",
            "/api/chat/messages/new",
            "/api/chat/online-users",
        ] {
            let res = app.get(path, Some(token)).await;
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{what} on {path}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["error"]["code"], "unauthorized");
        }
        let ws = WsClient::connect(app.addr, token, None).await;
        match ws {
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                assert_eq!(res.status(), 401, "{what} on ws")
            }
            other => panic!(
                "{what}: expected HTTP 401 before the upgrade, got {:?}",
                other.map(|c| c.hello)
            ),
        }
    }
    let res = app.get("/api/chat/messages", None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "no token");
}
