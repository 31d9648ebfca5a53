//! The WebSocket endpoint with a real client (tokio-tungstenite).

use crate::helpers::*;
use futures_util::{SinkExt, StreamExt};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

async fn connect_with_headers(
    app: &TestApp,
    headers: &[(&'static str, String)],
) -> Result<(WsStream, u16, Option<String>), u16> {
    let mut req = format!("ws://{}/api/chat/ws", app.addr)
        .into_client_request()
        .unwrap();
    for (k, v) in headers {
        req.headers_mut()
            .insert(*k, HeaderValue::from_str(v).unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, res)) => {
            let proto = res
                .headers()
                .get("sec-websocket-protocol")
                .map(|v| v.to_str().unwrap().to_owned());
            Ok((ws, res.status().as_u16(), proto))
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("unexpected error {e}"),
    }
}

type WsStream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

#[tokio::test]
async fn browser_auth_uses_the_subprotocol_and_never_echoes_the_token() {
    let app = spawn_app().await;
    let u = app.register("browser").await;
    let (mut ws, status, proto) = connect_with_headers(
        &app,
        &[(
            "sec-websocket-protocol",
            format!("hearth.v1, bearer.{}", u.token),
        )],
    )
    .await
    .unwrap();
    assert_eq!(status, 101);
    assert_eq!(proto.as_deref(), Some("hearth.v1"));
    let hello = loop {
        if let Some(Ok(Message::Text(t))) = ws.next().await {
            break serde_json::from_str::<Value>(t.as_str()).unwrap();
        }
    };
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["user"]["username"], "browser");
}

#[tokio::test]
async fn upgrade_refusals_401_and_403() {
    let app = spawn_app_with(&["--allowed-origins", "https://chat.example.com"]).await;
    let u = app.register("origin").await;
    let bearer = format!("Bearer {}", u.token);
    assert_eq!(
        connect_with_headers(&app, &[]).await.err(),
        Some(401),
        "no token"
    );
    assert_eq!(
        connect_with_headers(&app, &[("authorization", "Bearer nope".into())])
            .await
            .err(),
        Some(401)
    );
    assert_eq!(
        connect_with_headers(
            &app,
            &[("sec-websocket-protocol", "hearth.v1, bearer.nope".into())]
        )
        .await
        .err(),
        Some(401)
    );
    let foreign = connect_with_headers(
        &app,
        &[
            ("authorization", bearer.clone()),
            ("origin", "https://evil.example".into()),
        ],
    )
    .await;
    assert_eq!(foreign.err(), Some(403), "foreign Origin");
    let own = format!("http://{}", app.addr);
    assert!(
        connect_with_headers(&app, &[("authorization", bearer.clone()), ("origin", own)])
            .await
            .is_ok(),
        "same host"
    );
    let listed = connect_with_headers(
        &app,
        &[
            ("authorization", bearer.clone()),
            ("origin", "https://chat.example.com".into()),
        ],
    )
    .await;
    assert!(listed.is_ok(), "allowed origin");
    assert!(
        connect_with_headers(&app, &[("authorization", bearer)])
            .await
            .is_ok(),
        "no Origin (CLI) is fine"
    );
}

#[tokio::test]
async fn two_users_exchange_messages_with_ack_and_broadcast() {
    let app = spawn_app().await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let mut a = app.ws(&alice).await;
    let mut b = app.ws(&bob).await;
    assert_eq!(a.hello["user"]["id"], alice.id);
    assert_eq!(a.hello["epoch"].as_str().unwrap().len(), 32);
    // Nothing sent yet: the cursor is at the stream's head (two registrations).
    assert_eq!(a.hello["last_id"], b.hello["last_id"]);

    a.send_message("hi bob", "a-1").await;
    let ack = a.next_of("ack").await;
    assert_eq!(ack["client_id"], "a-1");
    let id = ack["id"].as_i64().unwrap();
    let on_a = a.messages(1).await;
    let on_b = b.messages(1).await;
    assert_eq!(on_a[0]["id"], id);
    assert_eq!(on_b[0], on_a[0]);
    assert_eq!(on_b[0]["content"], "hi bob");
    assert_eq!(on_b[0]["username"], "alice");

    b.send_message("hi alice <script>x</script>", "b-1").await;
    assert_eq!(b.next_of("ack").await["client_id"], "b-1");
    assert_eq!(
        a.messages(1).await[0]["content"],
        "hi alice <script>x</script>"
    );
    assert_eq!(b.messages(1).await[0]["username"], "bob");
}

#[tokio::test]
async fn rest_and_websocket_and_polling_see_each_other() {
    let app = spawn_app().await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let mut ws = app.ws(&bob).await;
    let (_, msg) = app.send(&alice, "from REST", "rest-1").await;
    assert_eq!(
        ws.messages(1).await[0]["id"],
        msg["id"],
        "REST sends reach WebSocket clients"
    );
    ws.send_message("from WS", "ws-1").await;
    let id = ws.next_of("ack").await["id"].clone();
    let polled = app.poll_all(&alice, msg["id"].as_i64().unwrap()).await;
    assert_eq!(polled.len(), 1);
    assert_eq!(polled[0]["id"], id, "polling clients see WebSocket sends");
}

#[tokio::test]
async fn bad_frames_get_typed_errors_and_the_connection_stays_usable() {
    let app = spawn_app().await;
    let u = app.register("sender").await;
    let mut ws = app.ws(&u).await;
    let cases: Vec<(Message, &str)> = vec![
        (Message::Text("{not json".into()), "bad_request"),
        (Message::Text("[1,2,3]".into()), "bad_request"),
        (Message::Binary(vec![1u8, 2, 3].into()), "bad_request"),
        (
            Message::Text(json!({"type": "dance"}).to_string().into()),
            "bad_request",
        ),
        (
            Message::Text(
                json!({"type": "message", "content": "no id"})
                    .to_string()
                    .into(),
            ),
            "bad_request",
        ),
        (
            Message::Text(
                json!({"type": "message", "content": "  ", "client_id": "e1"})
                    .to_string()
                    .into(),
            ),
            "invalid_content",
        ),
        (
            Message::Text(
                json!({"type": "message", "content": "x".repeat(2001), "client_id": "e2"})
                    .to_string()
                    .into(),
            ),
            "invalid_content",
        ),
        (
            Message::Text(
                json!({"type": "message", "content": "bell\u{7}", "client_id": "e3"})
                    .to_string()
                    .into(),
            ),
            "invalid_content",
        ),
        (
            Message::Text(
                json!({"type": "message", "content": "hi", "client_id": "bad id!"})
                    .to_string()
                    .into(),
            ),
            "bad_request",
        ),
        (
            Message::Text(
                json!({"type": "message", "content": "hi", "client_id": "e4", "room": "mars"})
                    .to_string()
                    .into(),
            ),
            "bad_request",
        ),
    ];
    for (frame, code) in cases {
        let shown = format!("{frame:?}").chars().take(80).collect::<String>();
        ws.ws.send(frame).await.unwrap();
        let err = ws.next_of("error").await;
        assert_eq!(err["code"], code, "{shown}: {err}");
        assert!(!err["message"].as_str().unwrap().is_empty());
        ws.assert_usable().await;
    }
    ws.send_message("x".repeat(2000).as_str(), "e5").await;
    assert_eq!(
        ws.next_of("ack").await["client_id"],
        "e5",
        "2000 characters is fine"
    );
    let err_with_id = {
        ws.send_message("", "e6").await;
        ws.next_of("error").await
    };
    assert_eq!(
        err_with_id["client_id"], "e6",
        "errors name the refused send"
    );
}

#[tokio::test]
async fn an_oversized_frame_closes_only_that_socket_with_1009() {
    let app = spawn_app().await;
    let (a, b) = (app.register("big").await, app.register("small").await);
    let mut big = app.ws(&a).await;
    let mut small = app.ws(&b).await;
    big.send_json(&json!({"type": "message", "content": "x".repeat(5000), "client_id": "huge"}))
        .await;
    let close = big.closed().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1009);
    small.send_message("still here", "s-1").await;
    assert_eq!(small.next_of("ack").await["client_id"], "s-1");
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    let mut again = app.ws(&a).await;
    again.assert_usable().await;
}

#[tokio::test]
async fn rate_limit_sends_error_frames_then_closes_4029_on_sustained_abuse() {
    let app = spawn_app_with(&["--send-rate", "1", "--send-burst", "2"]).await;
    let u = app.register("flood").await;
    let mut ws = app.ws(&u).await;
    for i in 0..2 {
        ws.send_message("ok", &format!("f{i}")).await;
        ws.next_of("ack").await;
    }
    ws.send_message("too fast", "f2").await;
    let err = ws.next_of("error").await;
    assert_eq!(err["code"], "rate_limited");
    assert_eq!(err["client_id"], "f2");
    assert!(err["retry_after_ms"].as_u64().unwrap() > 0);
    for i in 3..60 {
        if ws
            .ws
            .send(Message::Text(
                json!({"type": "message", "content": "spam", "client_id": format!("f{i}")})
                    .to_string()
                    .into(),
            ))
            .await
            .is_err()
        {
            break;
        }
    }
    let close = ws.closed().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 4029);
    let mut other = app.ws(&app.register("bystander").await).await;
    other.send_message("unaffected", "b0").await;
    other.next_of("ack").await;
}

#[tokio::test]
async fn presence_counts_users_not_tabs() {
    let app = spawn_app().await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let mut a1 = app.ws(&alice).await;
    let a2 = app.ws(&alice).await;
    let b = app.ws(&bob).await;
    let count = || async {
        let v: Value = app
            .get("/api/chat/online-users", Some(&alice.token))
            .await
            .json()
            .await
            .unwrap();
        v
    };
    let v = count().await;
    assert_eq!(v["count"], 2);
    assert_eq!(v["users"].as_array().unwrap().len(), 2);
    // Pushes arrive, coalesced; wait until one says both are online.
    loop {
        let p = a1.next_of("presence").await;
        if p["count"] == 2 {
            break;
        }
    }
    drop(a2);
    drop(b);
    loop {
        let p = a1.next_of("presence").await;
        assert!(
            p.get("users").is_none(),
            "pushes carry changes, not the list: {p}"
        );
        if p["count"] == 1 {
            assert_eq!(
                p["left"],
                json!([{"id": bob.id, "username": "bob"}]),
                "only bob left: alice has a tab open"
            );
            break;
        }
    }
    let v = count().await;
    assert_eq!(v["count"], 1, "alice still has a tab open");
}

#[tokio::test]
async fn graceful_shutdown_closes_sockets_with_1001() {
    let app = spawn_app().await;
    let u = app.register("stay").await;
    let mut ws = app.ws(&u).await;
    ws.send_message("last words", "l-1").await;
    ws.next_of("ack").await;
    let stop = tokio::spawn(app.stop());
    let mut saw_message = false;
    let close = loop {
        match tokio::time::timeout(WAIT, ws.ws.next()).await.unwrap() {
            Some(Ok(Message::Text(t))) => saw_message |= t.as_str().contains("last words"),
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(u16::from(close.expect("close frame").code), 1001);
    assert!(saw_message, "acked messages are flushed before the close");
    stop.await.unwrap();
}

#[tokio::test]
async fn expired_token_closes_the_socket_with_4001() {
    let secret = "0123456789abcdef0123456789abcdef-ws-secret";
    let app = spawn_app_with(&["--jwt-secret", secret]).await;
    let u = app.register("shortlived").await;
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({"sub": u.id.to_string(), "name": u.name, "iat": now, "exp": now + 2});
    let token = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap();
    let mut ws = WsClient::connect(app.addr, &token, None).await.unwrap();
    let close = ws.closed().await.expect("close frame");
    assert_eq!(u16::from(close.code), 4001);
}

/// A raw client that never answers pings is closed after the idle timeout,
/// and it sees the server's protocol pings first.
#[tokio::test]
async fn silent_clients_get_pings_then_are_closed() {
    let app = spawn_app_with(&["--ping-interval", "300ms", "--idle-timeout", "1s"]).await;
    let u = app.register("silent").await;
    let mut tcp = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let req = format!(
        "GET /api/chat/ws HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer {}\r\n\r\n",
        app.addr, u.token
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut saw_ping = false;
    let close_code = loop {
        let n = tokio::time::timeout(WAIT, tcp.read(&mut chunk))
            .await
            .unwrap()
            .unwrap();
        assert!(
            n > 0,
            "server closed the TCP connection without a close frame"
        );
        buf.extend_from_slice(&chunk[..n]);
        let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        assert!(buf.starts_with(b"HTTP/1.1 101"));
        // Walk the (unmasked) server frames after the handshake.
        let mut frames = &buf[head_end + 4..];
        let mut code = None;
        while frames.len() >= 2 {
            let (opcode, len) = (frames[0] & 0x0f, (frames[1] & 0x7f) as usize);
            if len > 125 && opcode != 0x1 {
                break;
            }
            let header = if len == 126 { 4 } else { 2 };
            let len = if len == 126 {
                u16::from_be_bytes([frames[2], frames[3]]) as usize
            } else {
                len
            };
            if frames.len() < header + len {
                break;
            }
            let payload = &frames[header..header + len];
            match opcode {
                0x9 => saw_ping = true,
                0x8 => code = Some(u16::from_be_bytes([payload[0], payload[1]])),
                _ => {}
            }
            frames = &frames[header + len..];
        }
        if let Some(code) = code {
            break code;
        }
    };
    assert!(saw_ping, "server pings idle connections");
    assert_eq!(close_code, 1001);
}
