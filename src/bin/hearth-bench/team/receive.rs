//! The receiving side of `team`: v2 connections, each counting its user's
//! rooms' messages and checking their order and their rooms.

use super::SHARDS;
use super::setup::RoomPlan;
use crate::client::{self, Account, Ws};
use crate::stats::{Latencies, digits, now_us};
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use memchr::memmem::Finder;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// Every v2 stream event starts `{"type":"<kind>","seq":N` (field order is fixed by the server).
const TYPE_PREFIX: &str = r#"{"type":""#;
const SEQ_FIELD: &str = r#"","seq":"#;

/// What the receivers count (and the senders tag their messages with).
pub struct Shared {
    pub run: String,
    tag: Finder<'static>,
    /// Room id → class.
    class_of: HashMap<i64, usize>,
    /// Per user: the ids of its rooms and DMs, sorted.
    user_rooms: Vec<Vec<i64>>,
    pub deliveries: Vec<AtomicU64>,
    pub latency: Vec<Latencies>,
    pub out_of_order: AtomicU64,
    pub leaked: AtomicU64,
    pub other_events: AtomicU64,
    pub errors: AtomicU64,
    pub closed_early: AtomicU64,
    pub bytes: AtomicU64,
    pub last_delivery_us: AtomicU64,
}

impl Shared {
    /// Counters for `classes` room size classes, all zero.
    pub fn new(run: String, plans: &[RoomPlan], user_rooms: Vec<Vec<i64>>, classes: usize) -> Self {
        Self {
            tag: Finder::new(format!("\"content\":\"bench {run} ").as_bytes()).into_owned(),
            run,
            class_of: plans.iter().map(|p| (p.id, p.class)).collect(),
            user_rooms,
            deliveries: (0..classes).map(|_| AtomicU64::new(0)).collect(),
            latency: (0..classes).map(|_| Latencies::new(SHARDS)).collect(),
            out_of_order: AtomicU64::new(0),
            leaked: AtomicU64::new(0),
            other_events: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            closed_early: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            last_delivery_us: AtomicU64::new(0),
        }
    }

    /// Deliveries so far, all classes.
    pub fn delivered(&self) -> u64 {
        self.deliveries
            .iter()
            .map(|d| d.load(Ordering::Relaxed))
            .sum()
    }
}

/// Opens every connection; returns the connect-time histogram, the number of
/// failures and the open connections per user.
pub async fn connect_all(
    addr: SocketAddr,
    accounts: &[Account],
    conns: usize,
    concurrency: usize,
    shared: &Arc<Shared>,
    stop: &CancellationToken,
) -> (Histogram<u64>, u64, Vec<u64>) {
    let mut open = vec![0u64; accounts.len()];
    let (hist, failures) = client::connect_all(
        &[addr],
        accounts,
        "/api/chat/ws?v=2",
        conns,
        concurrency,
        |i, ws| {
            let user = i % accounts.len();
            open[user] += 1;
            tokio::spawn(connection(ws, shared.clone(), user, i, stop.clone()));
        },
    )
    .await;
    (hist, failures, open)
}

/// One receiving connection.
async fn connection(
    mut ws: Ws,
    shared: Arc<Shared>,
    user: usize,
    n: usize,
    stop: CancellationToken,
) {
    let cancelled = stop.cancelled();
    tokio::pin!(cancelled);
    let mut last_seq = 0i64;
    loop {
        tokio::select! {
            biased;
            () = &mut cancelled => return,
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(t))) => on_text(t.as_str(), &shared, user, n, &mut last_seq),
                Some(Ok(_)) => {}
                _ => {
                    shared.closed_early.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            },
        }
    }
}

/// Counts one text frame.
fn on_text(t: &str, shared: &Shared, user: usize, n: usize, last_seq: &mut i64) {
    shared
        .bytes
        .fetch_add(crate::load::frame_len(t.len()), Ordering::Relaxed);
    let Some(rest) = t.strip_prefix(TYPE_PREFIX) else {
        return;
    };
    let kind_end = rest.find('"').unwrap_or(0);
    let (kind, rest) = rest.split_at(kind_end);
    let Some(rest) = rest.strip_prefix(SEQ_FIELD) else {
        if kind == "error" {
            shared.errors.fetch_add(1, Ordering::Relaxed);
        }
        return;
    };
    // A stream event: its seq must grow on this connection.
    let seq = digits(rest).unwrap_or(0);
    if seq <= *last_seq {
        shared.out_of_order.fetch_add(1, Ordering::Relaxed);
    }
    *last_seq = seq;
    if kind != "message" {
        shared.other_events.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let Some(at) = shared.tag.find(rest.as_bytes()) else {
        return; // Not this run's (e.g. someone in the lobby).
    };
    let now = now_us();
    let stamp = digits(&rest[at + shared.tag.needle().len()..]).unwrap_or(0) as u64;
    let room = rest
        .find(r#""room_id":"#)
        .and_then(|i| digits(&rest[i + r#""room_id":"#.len()..]))
        .unwrap_or(0);
    if shared.user_rooms[user].binary_search(&room).is_err() {
        shared.leaked.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let Some(&class) = shared.class_of.get(&room) else {
        return;
    };
    shared.latency[class].record(n, now.saturating_sub(stamp));
    shared.deliveries[class].fetch_add(1, Ordering::Relaxed);
    shared.last_delivery_us.fetch_max(now, Ordering::Relaxed);
}

/// Waits until every expected delivery arrived, or progress stalls.
pub async fn drain(shared: &Shared, expected: u64) {
    let mut last = 0;
    let mut stalled_since = Instant::now();
    loop {
        let deliveries = shared.delivered();
        if deliveries >= expected {
            // A little longer, so that a duplicate or a stray would be seen.
            tokio::time::sleep(Duration::from_millis(300)).await;
            return;
        }
        if deliveries != last {
            last = deliveries;
            stalled_since = Instant::now();
        } else if stalled_since.elapsed() > Duration::from_secs(10) {
            eprintln!("deliveries stalled at {deliveries} of {expected}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
