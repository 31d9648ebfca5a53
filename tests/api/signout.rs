//! Server-side sign-out, and the page's Content Security Policy.

use crate::helpers::*;
use reqwest::StatusCode;

#[tokio::test]
async fn logout_revokes_the_token_and_closes_its_sockets_with_4001() {
    let app = spawn_app().await;
    let u = app.register("leaving").await;
    let (status, body) = app.login("leaving", "password123").await;
    assert_eq!(status, StatusCode::OK);
    let other_device = body["token"].as_str().unwrap().to_owned();

    let mut tab1 = app.ws(&u).await;
    let mut tab2 = app.ws(&u).await;
    let mut phone = WsClient::connect(app.addr, &other_device, None)
        .await
        .unwrap();

    let res = app
        .post_json("/api/auth/logout", Some(&u.token), &serde_json::json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    for ws in [&mut tab1, &mut tab2] {
        let close = ws.closed().await.expect("a close frame");
        assert_eq!(u16::from(close.code), 4001);
    }
    // The token is dead everywhere: REST, a new socket, a second logout.
    assert_eq!(
        app.get("/api/auth/me", Some(&u.token)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert!(WsClient::connect(app.addr, &u.token, None).await.is_err());
    let again = app
        .post_json("/api/auth/logout", Some(&u.token), &serde_json::json!({}))
        .await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    // Other sessions of the account are untouched.
    phone.assert_usable().await;
    assert_eq!(
        app.get("/api/auth/me", Some(&other_device)).await.status(),
        StatusCode::OK
    );

    // Across a restart, too.
    let dir = app.stop().await;
    let app = spawn_in(dir, &[]).await;
    assert_eq!(
        app.get("/api/auth/me", Some(&u.token)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/auth/me", Some(&other_device)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn logout_needs_a_valid_token() {
    let app = spawn_app().await;
    let res = app
        .post_json("/api/auth/logout", None, &serde_json::json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app.get("/api/auth/logout", None).await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn the_csp_lets_the_page_connect_only_to_its_own_origin() {
    let app = spawn_app().await;
    let res = app.get("/", None).await;
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let connect = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("connect-src"))
        .expect("a connect-src directive");
    assert_eq!(
        connect, "connect-src 'self'",
        "no other ws:/wss: host: {csp}"
    );
}
