//! The sending side of `team`: HTTP senders posting as random users to
//! random rooms and DMs of theirs.

use super::SHARDS;
use super::plan::Rng;
use crate::client::Account;
use crate::senders::{Plan, paced};
use crate::stats::{Latencies, content};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// What the senders did.
pub struct SendStats {
    pub sent: AtomicU64,
    pub acked: AtomicU64,
    pub errors: AtomicU64,
    /// Per class: acked messages and the deliveries they owe.
    pub acked_class: Vec<AtomicU64>,
    pub expected_class: Vec<AtomicU64>,
    pub ack_latency: Latencies,
}

impl SendStats {
    /// Counters for `classes` room size classes, all zero.
    pub fn new(classes: usize) -> Self {
        Self {
            sent: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            acked_class: (0..classes).map(|_| AtomicU64::new(0)).collect(),
            expected_class: (0..classes).map(|_| AtomicU64::new(0)).collect(),
            ack_latency: Latencies::new(SHARDS),
        }
    }

    /// The deliveries the acked messages owe, all classes.
    pub fn expected(&self) -> u64 {
        self.expected_class
            .iter()
            .map(|e| e.load(Ordering::Relaxed))
            .sum()
    }
}

/// Who may send where.
pub struct Targets {
    pub accounts: Vec<Account>,
    /// Per room (index into the set-up): id, class, open connections of its members.
    pub room_ids: Vec<i64>,
    pub classes: Vec<usize>,
    pub room_conns: Vec<u64>,
    /// Per user: indices of its rooms, of its DMs.
    pub user_rooms: Vec<Vec<usize>>,
    pub user_dms: Vec<Vec<usize>>,
    pub dm_share: f64,
}

impl Targets {
    /// A random user and one of its DMs (share `dm_share`) or rooms.
    fn pick(&self, rng: &mut Rng) -> Option<(usize, usize)> {
        for _ in 0..100 {
            let user = rng.below(self.accounts.len());
            let (dms, rooms) = (&self.user_dms[user], &self.user_rooms[user]);
            let list = if rng.chance(self.dm_share) {
                dms
            } else {
                rooms
            };
            let list = match (list.is_empty(), dms.is_empty()) {
                (false, _) => list,
                (true, false) => dms,
                (true, true) => rooms,
            };
            if !list.is_empty() {
                return Some((user, list[rng.below(list.len())]));
            }
        }
        None
    }
}

/// The senders of `plan`, each posting as a random user (`seed` makes the
/// picks) to one of its rooms or DMs.
pub async fn send_all(
    addr: SocketAddr,
    targets: Arc<Targets>,
    plan: Plan,
    stats: Arc<SendStats>,
    seed: u64,
) {
    paced(&plan, |n, http, mut pace| {
        let (targets, stats) = (targets.clone(), stats.clone());
        let (run, pad) = (plan.run.clone(), plan.pad.clone());
        let mut rng = Rng::new(seed ^ (n as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
        async move {
            while let Some(seq) = pace.next().await {
                let Some((user, room)) = targets.pick(&mut rng) else {
                    return;
                };
                let url = format!(
                    "http://{addr}/api/rooms/{}/messages",
                    targets.room_ids[room]
                );
                let body =
                    json!({"content": content(&run, &pad), "client_id": format!("{run}-t{n}-{seq}")});
                stats.sent.fetch_add(1, Ordering::Relaxed);
                let started = Instant::now();
                let res = http
                    .post(&url)
                    .bearer_auth(&targets.accounts[user].token)
                    .json(&body)
                    .send()
                    .await;
                match res {
                    Ok(res) if res.status().is_success() => {
                        let class = targets.classes[room];
                        stats.acked.fetch_add(1, Ordering::Relaxed);
                        stats.acked_class[class].fetch_add(1, Ordering::Relaxed);
                        stats.expected_class[class]
                            .fetch_add(targets.room_conns[room], Ordering::Relaxed);
                        stats
                            .ack_latency
                            .record(n, started.elapsed().as_micros() as u64);
                    }
                    Ok(res) => {
                        let errors = stats.errors.fetch_add(1, Ordering::Relaxed);
                        if errors < 5 {
                            let status = res.status();
                            let text = res.text().await.unwrap_or_default();
                            eprintln!(
                                "send to room {} failed: {status} {text}",
                                targets.room_ids[room]
                            );
                        }
                    }
                    Err(e) => {
                        if stats.errors.fetch_add(1, Ordering::Relaxed) < 5 {
                            eprintln!("send failed: {e}");
                        }
                    }
                }
            }
        }
    })
    .await;
}
