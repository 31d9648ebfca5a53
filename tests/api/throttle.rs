//! Login and registration limits: parallel guesses, floods, the bounded
//! hashing queue, look-alike names, and client addresses behind a proxy.

use crate::helpers::*;
use hearth::auth::ACCOUNT_POLICY;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// `Retry-After` in seconds (must be present on a 429).
fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers()
        .get("retry-after")
        .expect("Retry-After on a 429")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn login_from(
    app: &TestApp,
    name: &str,
    password: &str,
    forwarded: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .http
        .post(app.url("/api/auth/login"))
        .json(&json!({"username": name, "password": password}));
    if let Some(xff) = forwarded {
        req = req.header("x-forwarded-for", xff);
    }
    req.send().await.expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_are_counted_before_the_hash_and_lock_the_account() {
    let app = spawn_app().await;
    app.register("victim").await;
    let before = app.state.auth.password_checks();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let http = app.http.clone();
            let url = app.url("/api/auth/login");
            tokio::spawn(async move {
                let res = http
                    .post(url)
                    .json(&json!({"username": "victim", "password": format!("guess-{i:04}")}))
                    .send()
                    .await
                    .unwrap();
                let status = res.status();
                let retry = res.headers().contains_key("retry-after");
                (status, retry)
            })
        })
        .collect();
    let (mut wrong, mut refused) = (0u64, 0u64);
    for t in tasks {
        match t.await.unwrap() {
            (StatusCode::UNAUTHORIZED, _) => wrong += 1,
            (StatusCode::TOO_MANY_REQUESTS, true) => refused += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    let reached = app.state.auth.password_checks() - before;
    let allowance = u64::from(ACCOUNT_POLICY.free_attempts);
    assert!(
        reached <= allowance,
        "{reached} of 200 guesses reached argon2 (allowance {allowance})"
    );
    assert_eq!(wrong, reached, "every check that ran was a wrong guess");
    assert_eq!(wrong + refused, 200);
    println!("parallel guesses: {reached} of 200 reached argon2, {refused} refused with 429");

    // Guess one at a time until the account is locked.
    let mut locked = None;
    for _ in 0..=allowance {
        let res = login_from(&app, "victim", "still-wrong", None).await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            locked = Some(retry_after(&res));
            break;
        }
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let wait = locked.expect("the account locks within its allowance");
    // The right password fails too while the window lasts, without a hash.
    let checks = app.state.auth.password_checks();
    let started = Instant::now();
    let res = login_from(&app, "victim", "password123", None).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        app.state.auth.password_checks(),
        checks,
        "refused before the hash"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // Once the window has passed, it works.
    let deadline = Instant::now() + WAIT;
    loop {
        let res = login_from(&app, "victim", "password123", None).await;
        if res.status() == StatusCode::OK {
            break;
        }
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(Instant::now() < deadline, "still locked");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        started.elapsed() + Duration::from_millis(500)
            >= Duration::from_secs(wait.saturating_sub(1)),
        "not before the window passed"
    );
}

#[tokio::test]
async fn the_throttle_keys_on_the_canonical_name() {
    let app = spawn_app().await;
    app.register("victor").await;
    // Case, spaces and a look-alike letter all count against one account.
    let spellings = [
        "victor",
        "VICTOR",
        " victor ",
        "Victor",
        "v\u{456}ctor",
        "vict\u{43e}r",
    ];
    let mut statuses = Vec::new();
    for name in spellings {
        statuses.push(
            login_from(&app, name, "wrong-password", None)
                .await
                .status(),
        );
    }
    let allowance = ACCOUNT_POLICY.free_attempts as usize;
    assert!(
        statuses[..allowance]
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert_eq!(
        statuses[allowance],
        StatusCode::TOO_MANY_REQUESTS,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn look_alike_usernames_are_taken_and_mixed_scripts_are_fine() {
    let app = spawn_app().await;
    app.register("alice").await;
    for look_alike in ["\u{430}lice", "ALICE", "ａｌｉｃｅ"] {
        let res = app
            .post_json(
                "/api/auth/register",
                None,
                &json!({"username": look_alike, "password": "password123"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CONFLICT, "{look_alike}");
    }
    for mixed in ["张三abc", "王_wang", "テストuser"] {
        app.register(mixed).await;
    }
}

#[tokio::test]
async fn registrations_per_address_are_limited() {
    let app = spawn_app_with(&[
        "--loopback-exempt",
        "false",
        "--register-burst",
        "3",
        "--register-per-hour",
        "3",
    ])
    .await;
    for i in 0..3 {
        app.register(&format!("flood{i}")).await;
    }
    let res = app
        .post_json(
            "/api/auth/register",
            None,
            &json!({"username": "flood3", "password": "password123"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&res);
    assert!(
        (600..=1200).contains(&wait),
        "an hourly bucket of 3 refills in 20 min: {wait}"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // Login is a different limit.
    assert_eq!(app.login("flood0", "password123").await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_hashing_queue_refuses_instead_of_queueing() {
    let app = spawn_app_with(&["--hash-queue", "2"]).await;
    let started = Instant::now();
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let http = app.http.clone();
            let url = app.url("/api/auth/register");
            tokio::spawn(async move {
                let res = http
                    .post(url)
                    .json(&json!({"username": format!("burst{i}"), "password": "password123"}))
                    .send()
                    .await
                    .unwrap();
                let retry = res.headers().contains_key("retry-after");
                let status = res.status();
                let body: Value = res.json().await.unwrap();
                (status, retry, body)
            })
        })
        .collect();
    let (mut created, mut busy) = (0, 0);
    for t in tasks {
        let (status, retry, body) = t.await.unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(retry);
                assert_eq!(body["error"]["code"], "busy");
                busy += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(created >= 1 && busy >= 1, "created {created}, busy {busy}");
    assert!(
        started.elapsed() < WAIT,
        "answered without an unbounded wait"
    );
    // The queue drains: a normal login gets through afterwards.
    app.register("after_the_flood").await;
    assert_eq!(
        app.login("after_the_flood", "password123").await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_address_is_the_proxys_own_entry() {
    let app = spawn_app_with(&["--trust-proxy", "127.0.0.1", "--loopback-exempt", "false"]).await;
    // The client controls everything left of what the proxy appended: a
    // different spoofed entry on every request must not dodge the limit.
    let mut last = StatusCode::OK;
    let mut refused_at = None;
    for i in 0..40 {
        let xff = format!("10.0.{}.{}, 203.0.113.7", i / 250, i % 250);
        let res = login_from(&app, &format!("nobody{i}"), "wrong-password", Some(&xff)).await;
        last = res.status();
        if last == StatusCode::TOO_MANY_REQUESTS {
            refused_at = Some(i);
            break;
        }
    }
    assert_eq!(
        last,
        StatusCode::TOO_MANY_REQUESTS,
        "the address throttle applies"
    );
    assert_eq!(
        refused_at,
        Some(hearth::auth::ADDRESS_POLICY.free_attempts as usize)
    );
    // Another client behind the same proxy is not affected.
    let res = login_from(&app, "nobody", "wrong-password", Some("198.51.100.2")).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
    let app = spawn_app_with(&["--loopback-exempt", "false"]).await;
    let mut refused = false;
    for i in 0..30 {
        // Each request claims another address; without --trust-proxy the
        // peer (127.0.0.1) is the key.
        let xff = format!("198.51.100.{i}");
        let res = login_from(&app, &format!("nobody{i}"), "wrong-password", Some(&xff)).await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = true;
            break;
        }
    }
    assert!(
        refused,
        "spoofed X-Forwarded-For did not dodge the address limit"
    );
}
