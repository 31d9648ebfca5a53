//! The `team` set-up over REST: which rooms of which sizes and which DMs,
//! who is in each, and creating them on the server.

use super::TeamArgs;
use super::plan::{Rng, dm_pairs, room_counts};
use crate::client::Account;
use anyhow::{Context, bail};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Instant;

/// A room (or DM) as the bench set it up.
pub struct RoomPlan {
    pub id: i64,
    pub class: usize,
    /// Member indices into the accounts.
    pub members: Vec<usize>,
}

/// Who is in what, per user (indices into the accounts).
pub struct Memberships {
    /// The ids of the user's rooms and DMs, sorted.
    pub ids: Vec<Vec<i64>>,
    /// Indices into the plans: the user's closed rooms, its DMs.
    pub rooms: Vec<Vec<usize>>,
    pub dms: Vec<Vec<usize>>,
}

impl Memberships {
    /// Indexes `plans` by member.
    pub fn new(plans: &[RoomPlan], users: usize, dm_class: usize) -> Self {
        let mut m = Self {
            ids: vec![Vec::new(); users],
            rooms: vec![Vec::new(); users],
            dms: vec![Vec::new(); users],
        };
        for (p, plan) in plans.iter().enumerate() {
            for &u in &plan.members {
                m.ids[u].push(plan.id);
                if plan.class == dm_class {
                    m.dms[u].push(p);
                } else {
                    m.rooms[u].push(p);
                }
            }
        }
        for ids in &mut m.ids {
            ids.sort_unstable();
        }
        m
    }

    /// Closed rooms and DMs per user, on average.
    pub fn per_user(&self) -> (f64, f64) {
        let mean = |v: &[Vec<usize>]| v.iter().map(Vec::len).sum::<usize>() as f64 / v.len() as f64;
        (mean(&self.rooms), mean(&self.dms))
    }
}

/// The rooms and DMs of a run, as created.
pub struct Setup {
    /// Per room size class: its name and members; DMs are the last class.
    pub classes: Vec<(String, usize)>,
    pub dm_class: usize,
    pub plans: Vec<RoomPlan>,
    pub secs: f64,
}

impl Setup {
    /// Closed rooms and DMs.
    pub fn count(&self) -> (usize, usize) {
        let dms = self
            .plans
            .iter()
            .filter(|p| p.class == self.dm_class)
            .count();
        (self.plans.len() - dms, dms)
    }
}

/// Plans the room sizes and DM pairs of `args` and creates them.
pub async fn create(
    args: &TeamArgs,
    addr: SocketAddr,
    accounts: &[Account],
    run: &str,
    rng: &mut Rng,
) -> anyhow::Result<Setup> {
    let users = accounts.len();
    let started = Instant::now();
    let counts = room_counts(args.rooms, users, args.rooms_per_user, &args.room_sizes);
    let pairs = dm_pairs(users, args.dms_per_user);
    eprintln!(
        "creating {} rooms ({}) and {} DMs…",
        counts.iter().map(|c| c.1).sum::<usize>(),
        counts
            .iter()
            .map(|(s, n)| format!("{n} × {s}"))
            .collect::<Vec<_>>()
            .join(", "),
        pairs.len()
    );
    let plans = set_up(args, addr, accounts, run, &counts, &pairs, rng).await?;
    let mut classes: Vec<(String, usize)> = counts
        .iter()
        .map(|&(s, _)| (format!("{s} members"), s))
        .collect();
    classes.push(("DM".into(), 2));
    Ok(Setup {
        classes,
        dm_class: counts.len(),
        plans,
        secs: started.elapsed().as_secs_f64(),
    })
}

/// Creates the closed rooms (members spread so each user is in about the
/// same number) and the DMs, a few requests at a time.
async fn set_up(
    args: &TeamArgs,
    addr: SocketAddr,
    accounts: &[Account],
    run: &str,
    counts: &[(usize, usize)],
    pairs: &[(usize, usize)],
    rng: &mut Rng,
) -> anyhow::Result<Vec<RoomPlan>> {
    let users = accounts.len();
    // Rooms in random order, members taken in turn from a shuffled ring of
    // users: every user ends up in the same number of rooms (±1), and the
    // members of one room are distinct (no room is larger than the ring).
    let mut specs: Vec<(usize, usize)> = counts
        .iter()
        .enumerate()
        .flat_map(|(class, &(size, n))| std::iter::repeat_n((class, size), n))
        .collect();
    rng.shuffle(&mut specs);
    let mut ring: Vec<usize> = (0..users).collect();
    rng.shuffle(&mut ring);
    let mut cursor = 0;
    let mut wanted: Vec<(usize, Vec<usize>)> = Vec::with_capacity(specs.len() + pairs.len());
    for (class, size) in specs {
        let members = (0..size).map(|k| ring[(cursor + k) % users]).collect();
        cursor = (cursor + size) % users;
        wanted.push((class, members));
    }
    let dm_class = counts.len();
    wanted.extend(pairs.iter().map(|&(a, b)| (dm_class, vec![a, b])));

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.setup_concurrency)
        .build()?;
    let prefix = &args.prefix;
    let created = futures_util::stream::iter(wanted.into_iter().enumerate())
        .map(|(i, (class, members))| {
            let http = &http;
            async move {
                let creator = &accounts[members[0]];
                let others: Vec<i64> = members[1..].iter().map(|&m| accounts[m].id).collect();
                let (url, body) = if class == dm_class {
                    (
                        format!("http://{addr}/api/rooms/direct"),
                        json!({"user_ids": others}),
                    )
                } else {
                    (
                        format!("http://{addr}/api/rooms"),
                        json!({"name": format!("{prefix}-{run}-{i}"), "kind": "closed", "member_ids": others}),
                    )
                };
                let res = http
                    .post(url)
                    .bearer_auth(&creator.token)
                    .json(&body)
                    .send()
                    .await?;
                let status = res.status();
                let v: Value = res.json().await?;
                if !status.is_success() {
                    bail!("creating room {i} ({} members): {status} {v}", members.len());
                }
                let id = v["id"].as_i64().with_context(|| format!("no room id: {v}"))?;
                let count = v["members_count"].as_u64().unwrap_or(0) as usize;
                if count != members.len() {
                    bail!(
                        "room {id} has {count} members, {} were asked for",
                        members.len()
                    );
                }
                Ok(RoomPlan { id, class, members })
            }
        })
        .buffer_unordered(args.setup_concurrency.max(1));
    futures_util::pin_mut!(created);
    let mut plans = Vec::new();
    while let Some(plan) = created.next().await {
        plans.push(plan?);
    }
    let ids: HashSet<i64> = plans.iter().map(|p| p.id).collect();
    if ids.len() != plans.len() {
        bail!("two DMs or rooms of the set-up got the same id");
    }
    Ok(plans)
}
