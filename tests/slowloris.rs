//! Slow clients cannot hold the server: 2,000 half-open connections (headers
//! that never finish, bodies that never finish) are each closed at their
//! deadline while two people chat with low latency. A test binary of its
//! own, so the latency is not measured beside the other tests' load.

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use helpers::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SLOW_HEADERS: usize = 1000;
const SLOW_BODIES: usize = 1000;
const DEADLINE: Duration = Duration::from_secs(3);
/// Scheduling slack on a busy 2-core machine.
const GRACE: Duration = Duration::from_secs(2);

/// Opens a connection that sends `prefix` and then nothing; returns when the
/// server closes it: (how long it stayed open after the last byte, what the
/// server sent).
async fn stall(addr: std::net::SocketAddr, prefix: Vec<u8>) -> (Duration, Vec<u8>) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(&prefix).await.expect("write");
    let sent = Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(WAIT, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (sent.elapsed(), answer),
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => panic!("a slow connection was held past {WAIT:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_connections_are_dropped_at_their_deadlines_while_chat_stays_fast() {
    let secs = format!("{}s", DEADLINE.as_secs());
    let app = spawn_app_with(&[
        "--header-timeout",
        &secs,
        "--body-timeout",
        &secs,
        "--send-rate",
        "1000",
        "--send-burst",
        "1000",
    ])
    .await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let mut a = app.ws(&alice).await;
    let mut b = app.ws(&bob).await;

    let mut slow = Vec::new();
    for i in 0..SLOW_HEADERS {
        let prefix = format!("POST /api/auth/login HTTP/1.1\r\nHost: x\r\nX-Slow-{i}: ");
        slow.push(tokio::spawn(stall(app.addr, prefix.into_bytes())));
    }
    for _ in 0..SLOW_BODIES {
        let prefix = "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                      Content-Length: 100\r\n\r\n{\"username\":\"al";
        slow.push(tokio::spawn(stall(app.addr, prefix.as_bytes().to_vec())));
    }

    // Chat through the whole life of the slow connections, their expiry included.
    let mut latencies = Vec::new();
    let chat_until = Instant::now() + DEADLINE + GRACE;
    let mut i = 0;
    while Instant::now() < chat_until {
        let sent = Instant::now();
        a.send_message(&format!("ping {i}"), &format!("s-{i}"))
            .await;
        let got = b.messages(1).await;
        latencies.push(sent.elapsed());
        assert_eq!(got[0]["content"], format!("ping {i}"));
        a.next_of("ack").await;
        i += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let mut held_longest = Duration::ZERO;
    let (mut timed_out_headers, mut timed_out_bodies) = (0, 0);
    for (n, task) in slow.into_iter().enumerate() {
        let (held, answer) = task.await.unwrap();
        held_longest = held_longest.max(held);
        assert!(
            held <= DEADLINE + GRACE,
            "connection {n} was held {held:?}, past its {DEADLINE:?} deadline"
        );
        let answer = String::from_utf8_lossy(&answer);
        if n < SLOW_HEADERS {
            // No request was ever read: nothing may be served.
            assert!(!answer.contains("200 OK"), "{answer}");
            timed_out_headers += 1;
        } else {
            assert!(
                answer.starts_with("HTTP/1.1 408"),
                "a slow body gets 408: {answer}"
            );
            timed_out_bodies += 1;
        }
    }
    latencies.sort();
    let p = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    let (p50, p99) = (p(0.50), p(0.99));
    println!(
        "slowloris: {timed_out_headers} slow headers + {timed_out_bodies} slow bodies closed, \
         longest held {held_longest:?} (deadline {DEADLINE:?}); chat round trips {} p50 {p50:?} p99 {p99:?}",
        latencies.len()
    );
    assert!(latencies.len() >= 50, "the chat kept going");
    assert!(
        p99 < Duration::from_millis(100),
        "chat p99 {p99:?} with 2,000 slow connections"
    );
    a.assert_usable().await;
}
