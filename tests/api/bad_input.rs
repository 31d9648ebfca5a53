//! Every kind of bad input gets the right status and the one error shape, and
//! nothing a client sends causes a 500.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Case {
    what: &'static str,
    method: Method,
    path: &'static str,
    auth: bool,
    body: Option<String>,
    status: u16,
    code: &'static str,
}

fn case(
    what: &'static str,
    method: Method,
    path: &'static str,
    auth: bool,
    body: Option<String>,
    status: u16,
    code: &'static str,
) -> Case {
    Case {
        what,
        method,
        path,
        auth,
        body,
        status,
        code,
    }
}

#[tokio::test]
async fn table_of_bad_inputs() {
    let app = spawn_app().await;
    let u = app.register("tester").await;
    let big = format!(
        r#"{{"content":"{}","client_id":"x"}}"#,
        "a".repeat(17 * 1024)
    );
    let s = |v: Value| Some(v.to_string());
    use Method as M;
    let cases = vec![
        case(
            "malformed JSON",
            M::POST,
            "/api/auth/register",
            false,
            Some("{bad".into()),
            400,
            "bad_request",
        ),
        case(
            "empty body",
            M::POST,
            "/api/auth/register",
            false,
            None,
            400,
            "bad_request",
        ),
        case(
            "missing field",
            M::POST,
            "/api/auth/register",
            false,
            s(json!({"username": "abc"})),
            400,
            "bad_request",
        ),
        case(
            "wrong type",
            M::POST,
            "/api/auth/register",
            false,
            s(json!({"username": 5, "password": "password123"})),
            400,
            "bad_request",
        ),
        case(
            "short username",
            M::POST,
            "/api/auth/register",
            false,
            s(json!({"username": "a", "password": "password123"})),
            400,
            "bad_request",
        ),
        case(
            "long username",
            M::POST,
            "/api/auth/register",
            false,
            s(json!({"username": "a".repeat(33), "password": "password123"})),
            400,
            "bad_request",
        ),
        case(
            "bad username chars",
            M::POST,
            "/api/auth/register",
            false,
            s(json!({"username": "a<b>", "password": "password123"})),
            400,
            "bad_request",
        ),
        case(
            "short password",
            M::POST,
            "/api/auth/register",
            false,
            s(json!({"username": "abc", "password": "short"})),
            400,
            "bad_request",
        ),
        case(
            "long password",
            M::POST,
            "/api/auth/register",
            false,
            s(json!({"username": "abc", "password": "p".repeat(129)})),
            400,
            "bad_request",
        ),
        case(
            "body over 16 KiB",
            M::POST,
            "/api/auth/register",
            false,
            Some(big.clone()),
            413,
            "too_large",
        ),
        case(
            "not JSON at all",
            M::POST,
            "/api/auth/login",
            false,
            Some("username=a&password=b".into()),
            400,
            "bad_request",
        ),
        case(
            "send without token",
            M::POST,
            "/api/chat/messages",
            false,
            s(json!({"content": "hi"})),
            401,
            "unauthorized",
        ),
        case(
            "empty content",
            M::POST,
            "/api/chat/messages",
            true,
            s(json!({"content": "   "})),
            400,
            "bad_request",
        ),
        case(
            "content over 2000",
            M::POST,
            "/api/chat/messages",
            true,
            s(json!({"content": "a".repeat(2001)})),
            400,
            "bad_request",
        ),
        case(
            "control characters",
            M::POST,
            "/api/chat/messages",
            true,
            s(json!({"content": "a\u{7}b"})),
            400,
            "bad_request",
        ),
        case(
            "bad client_id",
            M::POST,
            "/api/chat/messages",
            true,
            s(json!({"content": "hi", "client_id": "has space"})),
            400,
            "bad_request",
        ),
        case(
            "unknown room",
            M::POST,
            "/api/chat/messages",
            true,
            s(json!({"content": "hi", "room": "nowhere"})),
            400,
            "bad_request",
        ),
        case(
            "send body over 16 KiB",
            M::POST,
            "/api/chat/messages",
            true,
            Some(big),
            413,
            "too_large",
        ),
        case(
            "send malformed JSON",
            M::POST,
            "/api/chat/messages",
            true,
            Some("[1,2".into()),
            400,
            "bad_request",
        ),
        case(
            "limit zero",
            M::GET,
            "/api/chat/messages?limit=0",
            true,
            None,
            400,
            "bad_request",
        ),
        case(
            "limit over 200",
            M::GET,
            "/api/chat/messages?limit=201",
            true,
            None,
            400,
            "bad_request",
        ),
        case(
            "limit not a number",
            M::GET,
            "/api/chat/messages?limit=abc",
            true,
            None,
            400,
            "bad_request",
        ),
        case(
            "limit negative",
            M::GET,
            "/api/chat/messages?limit=-1",
            true,
            None,
            400,
            "bad_request",
        ),
        case(
            "before not a number",
            M::GET,
            "/api/chat/messages?before=x",
            true,
            None,
            400,
            "bad_request",
        ),
        case(
            "after_id not a number",
            M::GET,
            "/api/chat/messages/new?after_id=1e9999",
            true,
            None,
            400,
            "bad_request",
        ),
        case(
            "unknown API path",
            M::GET,
            "/api/nothing/here",
            true,
            None,
            404,
            "not_found",
        ),
        case(
            "wrong method",
            M::DELETE,
            "/api/chat/messages",
            true,
            None,
            405,
            "method_not_allowed",
        ),
        case(
            "wrong method on login",
            M::GET,
            "/api/auth/login",
            false,
            None,
            405,
            "method_not_allowed",
        ),
        case(
            "POST to a page",
            M::POST,
            "/some/page",
            false,
            None,
            405,
            "method_not_allowed",
        ),
        case(
            "not a WebSocket request",
            M::GET,
            "/api/chat/ws",
            true,
            None,
            400,
            "bad_request",
        ),
    ];
    for c in cases {
        let mut req = app.http.request(c.method.clone(), app.url(c.path));
        if c.auth {
            req = req.bearer_auth(&u.token);
        }
        if let Some(body) = c.body {
            req = req.header("content-type", "application/json").body(body);
        }
        let res = req.send().await.expect("request");
        assert_eq!(res.status().as_u16(), c.status, "{}", c.what);
        let body: Value = res
            .json()
            .await
            .unwrap_or_else(|e| panic!("{}: body is not JSON: {e}", c.what));
        assert_eq!(body["error"]["code"], c.code, "{}: {body}", c.what);
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{}: {body}",
            c.what
        );
    }
}

#[tokio::test]
async fn malformed_json_errors_name_the_problem() {
    let app = spawn_app().await;
    let res = app
        .http
        .post(app.url("/api/auth/login"))
        .body(r#"{"username": "a", "password": 12}"#)
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("password") || msg.contains("invalid type"),
        "{msg}"
    );
}

#[tokio::test]
async fn send_rate_limit_answers_429_with_retry_after() {
    let app = spawn_app_with(&["--send-rate", "1", "--send-burst", "3"]).await;
    let u = app.register("spammer").await;
    for i in 0..3 {
        assert_eq!(
            app.send(&u, "hi", &format!("s{i}")).await.0,
            StatusCode::CREATED
        );
    }
    let res = app
        .post_json(
            "/api/chat/messages",
            Some(&u.token),
            &json!({"content": "hi", "client_id": "s3"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    let other = app.register("patient").await;
    assert_eq!(
        app.send(&other, "hi", "p0").await.0,
        StatusCode::CREATED,
        "the limit is per user"
    );
}

/// A chunked body (no Content-Length) over the limit is refused too.
#[tokio::test]
async fn chunked_body_over_the_limit_is_413() {
    let app = spawn_app().await;
    let mut tcp = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let mut req = String::from(
        "POST /api/auth/register HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    );
    for _ in 0..20 {
        req.push_str(&format!("400\r\n{}\r\n", "a".repeat(1024)));
    }
    req.push_str("0\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(WAIT, tcp.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains(r#""code":"too_large""#), "{text}");
}

/// Odd inputs never produce a 500 or kill the server.
#[tokio::test]
async fn odd_inputs_never_cause_a_500() {
    let app = spawn_app().await;
    let u = app.register("fuzzer").await;
    let bodies = [
        "",
        "null",
        "[]",
        "{}",
        "\"str\"",
        "1e999999",
        "{\"content\":null}",
        "{\"content\":\"\\ud800\"}",
        "{\"username\":\"\\u0000\\u0000\",\"password\":\"\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\"}",
        "{\"content\":\"ok\",\"client_id\":\"\"}",
        "{\"content\":\"ok\",\"client_id\":123}",
        "{\"content\":\"ok\",\"room\":\"\"}",
        "\u{feff}{}",
        "{\"content\":\"\u{202e}rtl\"}",
    ];
    let paths = [
        "/api/auth/register",
        "/api/auth/login",
        "/api/chat/messages",
    ];
    for path in paths {
        for body in bodies {
            let res = app
                .http
                .post(app.url(path))
                .bearer_auth(&u.token)
                .body(body.to_owned())
                .send()
                .await
                .unwrap();
            assert!(
                res.status().as_u16() < 500,
                "{path} {body:?} → {}",
                res.status()
            );
        }
        let res = app
            .http
            .post(app.url(path))
            .bearer_auth(&u.token)
            .body(vec![0xff, 0xfe, 0x00, 0x7b])
            .send()
            .await
            .unwrap();
        assert!(
            res.status().as_u16() < 500,
            "{path} invalid UTF-8 → {}",
            res.status()
        );
    }
    for q in [
        "before=9223372036854775807",
        "before=-9223372036854775808",
        "limit=18446744073709551616",
        "before=&limit=",
        "%ff=1",
    ] {
        let res = app
            .get(&format!("/api/chat/messages?{q}"), Some(&u.token))
            .await;
        assert!(res.status().as_u16() < 500, "{q} → {}", res.status());
    }
    let res = app
        .get("/api/chat/messages/new?after_id=-5", Some(&u.token))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.get("/healthz", None).await.status(),
        StatusCode::OK,
        "still healthy"
    );
}
