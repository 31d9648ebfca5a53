//! Senders over HTTP (`POST /api/chat/messages`): each answer is the
//! ack-after-commit, timed from send to answer. They are not WebSocket
//! members of the room, so every message fans out to the receivers only.
//! Their pacing (`paced`) also drives the `team` senders.

use crate::client::Account;
use crate::stats::{Latencies, content_via};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::time::Instant as TokioInstant;

/// What the senders did.
pub struct SendStats {
    pub sent: AtomicU64,
    pub acked: AtomicU64,
    pub errors: AtomicU64,
    pub rate_limited: AtomicU64,
    pub ack_latency: Latencies,
    /// Acked messages per server they were sent to (one entry per node).
    pub acked_by_node: Vec<AtomicU64>,
}

impl SendStats {
    pub fn new() -> Arc<Self> {
        Self::for_nodes(1)
    }

    /// Stats of senders spread over `nodes` servers.
    pub fn for_nodes(nodes: usize) -> Arc<Self> {
        Arc::new(Self {
            sent: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            ack_latency: Latencies::new(16),
            acked_by_node: (0..nodes.max(1)).map(|_| AtomicU64::new(0)).collect(),
        })
    }
}

/// What the senders send: `count` senders, `rate` messages per second in
/// total until `deadline`, tagged with `run` and padded with `pad`.
pub struct Plan {
    pub count: usize,
    pub rate: f64,
    pub deadline: TokioInstant,
    pub run: String,
    pub pad: String,
}

/// One sender's schedule: a tick every `count / rate` seconds until the
/// deadline, sender `n` offset by `n / count` of an interval so that the
/// senders' ticks spread out.
pub struct Pace {
    tick: tokio::time::Interval,
    deadline: TokioInstant,
    seq: u64,
}

impl Pace {
    fn new(n: usize, count: usize, rate: f64, deadline: TokioInstant) -> Self {
        let interval = Duration::from_secs_f64(count as f64 / rate);
        let offset = interval.mul_f64(n as f64 / count as f64);
        let mut tick = tokio::time::interval_at(TokioInstant::now() + offset, interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self {
            tick,
            deadline,
            seq: 0,
        }
    }

    /// Waits for the next tick: its number, or `None` at the deadline.
    pub async fn next(&mut self) -> Option<u64> {
        tokio::select! {
            () = tokio::time::sleep_until(self.deadline) => None,
            _ = self.tick.tick() => {
                self.seq += 1;
                Some(self.seq - 1)
            }
        }
    }
}

/// Runs the sender tasks of `plan` at its pace: `sender(n, http, pace)` is
/// task `n`, on one shared client.
pub async fn paced<Fut>(plan: &Plan, sender: impl Fn(usize, reqwest::Client, Pace) -> Fut)
where
    Fut: Future<Output = ()> + Send + 'static,
{
    let Plan {
        count,
        rate,
        deadline,
        ..
    } = *plan;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(count)
        .build()
        .unwrap_or_default();
    let tasks: Vec<_> = (0..count)
        .map(|n| {
            let pace = Pace::new(n, count, rate, deadline);
            tokio::spawn(sender(n, http.clone(), pace))
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
}

/// Runs the senders of `plan`; sender `n` posts to server `n % addrs.len()`
/// (with several, the content names it: [`content_via`]).
pub async fn run(addrs: &[SocketAddr], accounts: &[Account], plan: Plan, stats: Arc<SendStats>) {
    let urls: Vec<String> = addrs
        .iter()
        .map(|addr| format!("http://{addr}/api/chat/messages"))
        .collect();
    let tag_node = addrs.len() > 1;
    paced(&plan, |n, http, mut pace| {
        let node = n % urls.len();
        let (url, stats) = (urls[node].clone(), stats.clone());
        let (token, run, pad) = (
            accounts[n % accounts.len()].token.clone(),
            plan.run.clone(),
            plan.pad.clone(),
        );
        async move {
            while let Some(seq) = pace.next().await {
                let content = content_via(&run, tag_node.then_some(node), &pad);
                let body = json!({"content": content, "client_id": format!("{run}-h{n}-{seq}")});
                stats.sent.fetch_add(1, Ordering::Relaxed);
                let started = Instant::now();
                match http.post(&url).bearer_auth(&token).json(&body).send().await {
                    Ok(res) if res.status().is_success() => {
                        stats.acked.fetch_add(1, Ordering::Relaxed);
                        if let Some(a) = stats.acked_by_node.get(node) {
                            a.fetch_add(1, Ordering::Relaxed);
                        }
                        stats
                            .ack_latency
                            .record(n, started.elapsed().as_micros() as u64);
                    }
                    Ok(res) if res.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => {
                        stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                        stats.errors.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        stats.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    })
    .await;
}
