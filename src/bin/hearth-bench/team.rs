//! The `team` scenario (rooms and direct messages, PROTOCOL.md §3): U users
//! on N v2 WebSockets (`?v=2`), closed rooms of several sizes and direct
//! messages set up over REST, HTTP senders posting to random rooms and DMs of
//! random users. Every connection must get exactly the messages of its
//! user's rooms (none of another room), with `seq` strictly growing; latency
//! is reported per room size class (DMs are their own class), with server
//! CPU and RSS per connection.

use crate::client::{self, Account};
use crate::procstat::Proc;
use crate::report::Latency;
use crate::stats::{Latencies, content, digits, histogram, now_us};
use anyhow::{Context, bail};
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use memchr::memmem::Finder;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::time::Instant as TokioInstant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

type Ws = WebSocketStream<TcpStream>;
/// Histograms per class (the client runs on one thread by default: few locks suffice).
const SHARDS: usize = 8;
/// Every v2 stream event starts `{"type":"<kind>","seq":N` (field order is fixed by the server).
const TYPE_PREFIX: &str = r#"{"type":""#;
const SEQ_FIELD: &str = r#"","seq":"#;

/// Arguments of `hearth-bench team`.
///
/// The server must allow many WebSockets per account and a high send rate,
/// e.g. `hearth serve --max-websockets-per-user 1000000 --send-rate 1000000
/// --send-burst 1000000` (the suite starts it so).
#[derive(clap::Args, Clone, Debug)]
pub struct TeamArgs {
    /// Server URL (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:3001")]
    pub url: String,
    /// v2 WebSocket connections to open (spread evenly over the users).
    #[arg(long, default_value_t = 10_000)]
    pub conns: usize,
    /// Users (every one in the lobby, its rooms and its DMs).
    #[arg(long, default_value_t = 2_000)]
    pub users: usize,
    /// Closed rooms to create.
    #[arg(long, default_value_t = 200)]
    pub rooms: usize,
    /// Room size classes (members); sizes above --users are left out.
    #[arg(long, value_delimiter = ',', default_value = "10,50,200,500")]
    pub room_sizes: Vec<usize>,
    /// Rooms each user is in (on average; sets how many rooms of each size).
    #[arg(long, default_value_t = 5)]
    pub rooms_per_user: usize,
    /// Direct messages (two members) each user is in.
    #[arg(long, default_value_t = 5)]
    pub dms_per_user: usize,
    /// Messages per second, all senders together (0: idle only).
    #[arg(long, default_value_t = 200.0)]
    pub rate: f64,
    /// Share of the messages that go to DMs (the rest to rooms).
    #[arg(long, default_value_t = 0.5)]
    pub dm_share: f64,
    /// How long the senders send.
    #[arg(long, default_value = "30s")]
    pub duration: humantime::Duration,
    /// Quiet time after connecting, to measure idle CPU and RSS.
    #[arg(long, default_value = "5s")]
    pub idle: humantime::Duration,
    /// HTTP sender tasks (each posts as a random user).
    #[arg(long, default_value_t = 50)]
    pub senders: usize,
    /// Server process id, for RSS and CPU.
    #[arg(long)]
    pub pid: Option<u32>,
    /// Connections opened at once.
    #[arg(long, default_value_t = 256)]
    pub connect_concurrency: usize,
    /// Room and DM creations in flight at once.
    #[arg(long, default_value_t = 16)]
    pub setup_concurrency: usize,
    /// Username prefix of the accounts (and of the room names).
    #[arg(long, default_value = "team")]
    pub prefix: String,
    /// Also write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// One room size class: its rooms and what they got.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClassReport {
    /// `10 members`, …, `DM`.
    pub name: String,
    pub members: usize,
    pub rooms: usize,
    pub acked: u64,
    pub expected_deliveries: u64,
    pub deliveries: u64,
    pub delivery_ratio: f64,
    pub latency: Latency,
}

/// Everything a `team` run measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TeamReport {
    pub connections: usize,
    pub connect_failures: u64,
    pub connect: Latency,
    pub users: usize,
    pub rooms: usize,
    pub dms: usize,
    /// Rooms (without the lobby) and DMs per user, on average.
    pub rooms_per_user: f64,
    pub dms_per_user: f64,
    pub setup_secs: f64,
    pub target_rate: f64,
    pub sent: u64,
    pub acked: u64,
    pub send_rate: f64,
    pub ack_rate: f64,
    pub send_errors: u64,
    pub ack_latency: Latency,
    pub expected_deliveries: u64,
    pub deliveries: u64,
    pub delivery_ratio: f64,
    pub deliveries_per_sec: f64,
    /// A `seq` not above the connection's previous one (duplicate or reorder).
    pub out_of_order: u64,
    /// A message of a room the connection's user is not in.
    pub leaked: u64,
    /// Stream events other than messages (none expected after the set-up).
    pub other_events: u64,
    pub error_frames: u64,
    pub closed_early: u64,
    pub bytes_received: u64,
    pub latency: Latency,
    pub classes: Vec<ClassReport>,
    pub server_rss_before_kib: Option<u64>,
    pub server_rss_idle_kib: Option<u64>,
    pub server_rss_peak_kib: Option<u64>,
    pub rss_per_connection_bytes: Option<f64>,
    pub idle_cpu_percent: Option<f64>,
    pub load_cpu_percent: Option<f64>,
}

impl TeamReport {
    /// Every connection got exactly its rooms' messages, in order, without errors.
    pub fn passed(&self) -> bool {
        self.connect_failures == 0
            && self.closed_early == 0
            && self.out_of_order == 0
            && self.leaked == 0
            && self.error_frames == 0
            && self.send_errors == 0
            && self.acked == self.sent
            && self.deliveries == self.expected_deliveries
    }

    /// Prints a human-readable summary.
    pub fn print(&self) {
        let opt = |v: Option<f64>, unit: &str| {
            v.map_or("n/a (no --pid)".to_owned(), |v| format!("{v:.1}{unit}"))
        };
        let mib = |v: Option<u64>| {
            v.map_or("n/a".to_owned(), |v| {
                format!("{:.1} MiB", v as f64 / 1024.0)
            })
        };
        println!(
            "connections        {} ({} failed) of {} users, connect p50 {:.1} ms p99 {:.1} ms",
            self.connections,
            self.connect_failures,
            self.users,
            self.connect.p50_ms,
            self.connect.p99_ms
        );
        println!(
            "rooms              {} rooms ({}), {} DMs; per user {:.1} rooms + {:.1} DMs + the lobby (set-up {:.1} s)",
            self.rooms,
            self.classes
                .iter()
                .filter(|c| c.name != "DM")
                .map(|c| format!("{} × {}", c.rooms, c.members))
                .collect::<Vec<_>>()
                .join(", "),
            self.dms,
            self.rooms_per_user,
            self.dms_per_user,
            self.setup_secs
        );
        println!(
            "server RSS         before {} | idle {} | peak {} | per connection {}",
            mib(self.server_rss_before_kib),
            mib(self.server_rss_idle_kib),
            mib(self.server_rss_peak_kib),
            opt(self.rss_per_connection_bytes.map(|b| b / 1024.0), " KiB")
        );
        println!(
            "server CPU         idle {} | under load {}",
            opt(self.idle_cpu_percent, " %"),
            opt(self.load_cpu_percent, " %")
        );
        println!(
            "sent               {} ({:.1} msg/s, target {:.1}), acked {} ({:.1} msg/s), send errors {}",
            self.sent,
            self.send_rate,
            self.target_rate,
            self.acked,
            self.ack_rate,
            self.send_errors
        );
        println!(
            "ack latency        p50 {:.2} ms | p99 {:.2} ms | max {:.2} ms",
            self.ack_latency.p50_ms, self.ack_latency.p99_ms, self.ack_latency.max_ms
        );
        println!(
            "deliveries         {} of {} expected: ratio {:.6} ({:.0}/s)",
            self.deliveries, self.expected_deliveries, self.delivery_ratio, self.deliveries_per_sec
        );
        for c in &self.classes {
            println!(
                "  {:<16} {:>4} rooms, {:>6} msgs, {:>9} of {:>9} deliveries, p50 {:.2} ms | p99 {:.2} ms | max {:.2} ms",
                c.name,
                c.rooms,
                c.acked,
                c.deliveries,
                c.expected_deliveries,
                c.latency.p50_ms,
                c.latency.p99_ms,
                c.latency.max_ms
            );
        }
        println!(
            "latency            p50 {:.2} ms | p99 {:.2} ms | p999 {:.2} ms | max {:.2} ms ({} samples)",
            self.latency.p50_ms,
            self.latency.p99_ms,
            self.latency.p999_ms,
            self.latency.max_ms,
            self.latency.samples
        );
        println!(
            "problems           out-of-order/duplicate {} | other rooms' messages {} | other events {} | error frames {} | closed early {}",
            self.out_of_order, self.leaked, self.other_events, self.error_frames, self.closed_early
        );
        println!(
            "bytes received     {:.1} MiB",
            self.bytes_received as f64 / 1048576.0
        );
    }
}

/// A small xorshift64* generator: reproducible enough, no dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

/// How many rooms of each size: `rooms` rooms whose sizes add up to about
/// `users × per_user` memberships, fewer rooms the larger they are (counts
/// ∝ size^-a, `a` chosen so the mean size fits).
fn room_counts(
    rooms: usize,
    users: usize,
    per_user: usize,
    sizes: &[usize],
) -> Vec<(usize, usize)> {
    let mut sizes: Vec<usize> = sizes
        .iter()
        .copied()
        .filter(|&s| (2..=users).contains(&s))
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    if sizes.is_empty() {
        sizes.push(users.clamp(1, 10));
    }
    if rooms == 0 {
        return Vec::new();
    }
    let want = (users * per_user) as f64 / rooms as f64;
    let shares = |a: f64| -> Vec<f64> {
        let w: Vec<f64> = sizes.iter().map(|&s| (s as f64).powf(-a)).collect();
        let total: f64 = w.iter().sum();
        w.into_iter().map(|x| x / total).collect()
    };
    let mean = |a: f64| -> f64 {
        shares(a)
            .iter()
            .zip(&sizes)
            .map(|(p, &s)| p * s as f64)
            .sum()
    };
    // The mean falls as `a` grows: bisect.
    let (mut lo, mut hi) = (-8.0_f64, 8.0_f64);
    for _ in 0..60 {
        let mid = (lo + hi) / 2.0;
        if mean(mid) > want {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let p = shares((lo + hi) / 2.0);
    let mut counts: Vec<usize> = p
        .iter()
        .map(|p| (p * rooms as f64).round() as usize)
        .collect();
    // Make the counts add up to `rooms`: adjust the most common class.
    let total: usize = counts.iter().sum();
    let most = (0..counts.len()).max_by_key(|&i| counts[i]).unwrap_or(0);
    counts[most] = (counts[most] + rooms).saturating_sub(total);
    sizes
        .into_iter()
        .zip(counts)
        .filter(|&(_, n)| n > 0)
        .collect()
}

/// The pairs of users in DMs: user i with i±1, i±2, … (and with i + users/2
/// for an odd count), so that each user is in `per_user` DMs.
fn dm_pairs(users: usize, per_user: usize) -> Vec<(usize, usize)> {
    let mut pairs = HashSet::new();
    for d in 1..=per_user / 2 {
        for i in 0..users {
            let j = (i + d) % users;
            if i != j {
                pairs.insert((i.min(j), i.max(j)));
            }
        }
    }
    if per_user % 2 == 1 && users >= 2 {
        let half = users / 2;
        for i in 0..half {
            pairs.insert((i, i + half));
        }
    }
    let mut pairs: Vec<_> = pairs.into_iter().collect();
    pairs.sort_unstable();
    pairs
}

/// A room (or DM) as the bench set it up.
struct RoomPlan {
    id: i64,
    class: usize,
    /// Member indices into the accounts.
    members: Vec<usize>,
}

/// What the receivers and senders share.
struct Shared {
    run: String,
    tag: Finder<'static>,
    /// Room id → class.
    class_of: HashMap<i64, usize>,
    /// Per user: the ids of its rooms and DMs, sorted.
    user_rooms: Vec<Vec<i64>>,
    deliveries: Vec<AtomicU64>,
    latency: Vec<Latencies>,
    out_of_order: AtomicU64,
    leaked: AtomicU64,
    other_events: AtomicU64,
    errors: AtomicU64,
    closed_early: AtomicU64,
    bytes: AtomicU64,
    last_delivery_us: AtomicU64,
}

/// What the senders did.
struct SendStats {
    sent: AtomicU64,
    acked: AtomicU64,
    errors: AtomicU64,
    /// Per class: acked messages and the deliveries they owe.
    acked_class: Vec<AtomicU64>,
    expected_class: Vec<AtomicU64>,
    ack_latency: Latencies,
}

/// Runs the scenario and prints (and optionally saves) the report.
pub async fn run(args: TeamArgs) -> anyhow::Result<TeamReport> {
    let addr = client::loopback_addr(&args.url)?;
    let proc_ = args.pid.map(Proc);
    let users = args.users.max(2);
    let conns = args.conns.max(1);
    let run = format!("{:x}", now_us() & 0xffff_ffff);
    let mut rng = Rng::new(now_us());

    eprintln!("registering {users} users…");
    let accounts = client::accounts(addr, &args.prefix, users).await?;

    let setup_start = Instant::now();
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
    let plans = set_up(&args, addr, &accounts, &run, &counts, &pairs, &mut rng).await?;
    let setup_secs = setup_start.elapsed().as_secs_f64();
    let dm_class = counts.len();
    let mut class_names: Vec<(String, usize)> = counts
        .iter()
        .map(|&(s, _)| (format!("{s} members"), s))
        .collect();
    class_names.push(("DM".into(), 2));
    let classes = class_names.len();

    let mut user_rooms = vec![Vec::new(); users];
    let mut user_room_plans = vec![Vec::new(); users];
    let mut user_dm_plans = vec![Vec::new(); users];
    for (p, plan) in plans.iter().enumerate() {
        for &m in &plan.members {
            user_rooms[m].push(plan.id);
            if plan.class == dm_class {
                user_dm_plans[m].push(p);
            } else {
                user_room_plans[m].push(p);
            }
        }
    }
    for r in &mut user_rooms {
        r.sort_unstable();
    }
    let shared = Arc::new(Shared {
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
    });

    let mut report = TeamReport {
        users,
        rooms: plans.iter().filter(|p| p.class != dm_class).count(),
        dms: plans.iter().filter(|p| p.class == dm_class).count(),
        rooms_per_user: user_room_plans.iter().map(Vec::len).sum::<usize>() as f64 / users as f64,
        dms_per_user: user_dm_plans.iter().map(Vec::len).sum::<usize>() as f64 / users as f64,
        setup_secs,
        target_rate: args.rate,
        ..Default::default()
    };
    report.server_rss_before_kib = proc_.map(Proc::rss_kib);

    eprintln!("opening {conns} v2 connections…");
    let stop = CancellationToken::new();
    let (connect_hist, failures, open_per_user) = connect_all(
        addr,
        &accounts,
        conns,
        args.connect_concurrency,
        &shared,
        &stop,
    )
    .await;
    report.connections = conns - failures as usize;
    report.connect_failures = failures;
    report.connect = Latency::from_micros(&connect_hist);
    // The deliveries one message in each room owes: its members' open connections.
    let room_conns: Vec<u64> = plans
        .iter()
        .map(|p| p.members.iter().map(|&m| open_per_user[m]).sum())
        .collect();

    eprintln!("idle for {}…", args.idle);
    tokio::time::sleep(Duration::from_secs(1).min(*args.idle)).await;
    let idle_start = proc_.map(Proc::cpu);
    tokio::time::sleep(args.idle.saturating_sub(Duration::from_secs(1))).await;
    if let (Some(p), Some(start)) = (proc_, idle_start) {
        report.idle_cpu_percent = Some(start.percent_until(p.cpu()));
        let rss = p.rss_kib();
        report.server_rss_idle_kib = Some(rss);
        report.server_rss_peak_kib = Some(rss);
        if report.connections > 0 {
            let before = report.server_rss_before_kib.unwrap_or(0);
            report.rss_per_connection_bytes =
                Some(rss.saturating_sub(before) as f64 * 1024.0 / report.connections as f64);
        }
    }

    let stats = Arc::new(SendStats {
        sent: AtomicU64::new(0),
        acked: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        acked_class: (0..classes).map(|_| AtomicU64::new(0)).collect(),
        expected_class: (0..classes).map(|_| AtomicU64::new(0)).collect(),
        ack_latency: Latencies::new(SHARDS),
    });
    if args.rate > 0.0 && !plans.is_empty() {
        let senders = args.senders.max(1);
        eprintln!(
            "sending {} msg/s ({:.0} % to DMs) from {senders} HTTP senders for {}…",
            args.rate,
            args.dm_share * 100.0,
            args.duration
        );
        let load_start = proc_.map(Proc::cpu);
        let started_us = now_us();
        let deadline = TokioInstant::now() + *args.duration;
        let targets = Arc::new(Targets {
            accounts,
            room_ids: plans.iter().map(|p| p.id).collect(),
            classes: plans.iter().map(|p| p.class).collect(),
            room_conns,
            user_rooms: user_room_plans,
            user_dms: user_dm_plans,
            dm_share: args.dm_share,
        });
        let send = tokio::spawn(send_all(
            addr,
            targets,
            senders,
            args.rate,
            deadline,
            shared.run.clone(),
            stats.clone(),
            rng.next(),
        ));
        while TokioInstant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(250)).await;
            if let (Some(p), Some(peak)) = (proc_, report.server_rss_peak_kib.as_mut()) {
                *peak = (*peak).max(p.rss_kib());
            }
        }
        let _ = send.await;
        let sent = stats.sent.load(Ordering::Relaxed);
        report.sent = sent;
        report.send_rate = sent as f64 / args.duration.as_secs_f64();
        report.ack_rate = stats.acked.load(Ordering::Relaxed) as f64 / args.duration.as_secs_f64();
        let expected: u64 = stats
            .expected_class
            .iter()
            .map(|e| e.load(Ordering::Relaxed))
            .sum();
        drain(&shared, expected).await;
        if let (Some(p), Some(start)) = (proc_, load_start) {
            report.load_cpu_percent = Some(start.percent_until(p.cpu()));
        }
        let last = shared
            .last_delivery_us
            .load(Ordering::Relaxed)
            .max(started_us + 1);
        let delivered: u64 = shared
            .deliveries
            .iter()
            .map(|d| d.load(Ordering::Relaxed))
            .sum();
        report.deliveries_per_sec = delivered as f64 / ((last - started_us) as f64 / 1e6);
    }
    stop.cancel();

    report.acked = stats.acked.load(Ordering::Relaxed);
    report.send_errors = stats.errors.load(Ordering::Relaxed);
    report.ack_latency = Latency::from_micros(&stats.ack_latency.merged());
    let mut all = histogram();
    for (c, (name, members)) in class_names.into_iter().enumerate() {
        let h = shared.latency[c].merged();
        all.add(&h)?;
        let expected = stats.expected_class[c].load(Ordering::Relaxed);
        let deliveries = shared.deliveries[c].load(Ordering::Relaxed);
        report.classes.push(ClassReport {
            name,
            members,
            rooms: plans.iter().filter(|p| p.class == c).count(),
            acked: stats.acked_class[c].load(Ordering::Relaxed),
            expected_deliveries: expected,
            deliveries,
            delivery_ratio: ratio(deliveries, expected),
            latency: Latency::from_micros(&h),
        });
    }
    report.expected_deliveries = report.classes.iter().map(|c| c.expected_deliveries).sum();
    report.deliveries = report.classes.iter().map(|c| c.deliveries).sum();
    report.delivery_ratio = ratio(report.deliveries, report.expected_deliveries);
    report.latency = Latency::from_micros(&all);
    report.out_of_order = shared.out_of_order.load(Ordering::Relaxed);
    report.leaked = shared.leaked.load(Ordering::Relaxed);
    report.other_events = shared.other_events.load(Ordering::Relaxed);
    report.error_frames = shared.errors.load(Ordering::Relaxed);
    report.closed_early = shared.closed_early.load(Ordering::Relaxed);
    report.bytes_received = shared.bytes.load(Ordering::Relaxed);
    report.print();
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(report)
}

fn ratio(got: u64, expected: u64) -> f64 {
    if expected == 0 {
        1.0
    } else {
        got as f64 / expected as f64
    }
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

/// Opens every connection; returns the connect-time histogram, the number of
/// failures and the open connections per user.
async fn connect_all(
    addr: SocketAddr,
    accounts: &[Account],
    conns: usize,
    concurrency: usize,
    shared: &Arc<Shared>,
    stop: &CancellationToken,
) -> (Histogram<u64>, u64, Vec<u64>) {
    let mut hist = histogram();
    let mut failures = 0;
    let mut open = vec![0u64; accounts.len()];
    let results = futures_util::stream::iter(0..conns)
        .map(|i| {
            let user = i % accounts.len();
            let token = accounts[user].token.clone();
            async move {
                let started = Instant::now();
                let ws = client::connect_path(addr, &token, "/api/chat/ws?v=2").await;
                (i, user, ws, started.elapsed())
            }
        })
        .buffer_unordered(concurrency.max(1));
    futures_util::pin_mut!(results);
    while let Some((i, user, ws, took)) = results.next().await {
        match ws {
            Ok(ws) => {
                let _ = hist.record(took.as_micros().max(1) as u64);
                open[user] += 1;
                tokio::spawn(connection(ws, shared.clone(), user, i, stop.clone()));
            }
            Err(e) => {
                if failures < 5 {
                    eprintln!("connect failed: {e:#}");
                }
                failures += 1;
            }
        }
    }
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

/// Who may send where.
struct Targets {
    accounts: Vec<Account>,
    /// Per room (index into the set-up): id, class, open connections of its members.
    room_ids: Vec<i64>,
    classes: Vec<usize>,
    room_conns: Vec<u64>,
    /// Per user: indices of its rooms, of its DMs.
    user_rooms: Vec<Vec<usize>>,
    user_dms: Vec<Vec<usize>>,
    dm_share: f64,
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

/// `senders` HTTP senders, `rate` messages per second in total until `deadline`.
#[allow(clippy::too_many_arguments)]
async fn send_all(
    addr: SocketAddr,
    targets: Arc<Targets>,
    senders: usize,
    rate: f64,
    deadline: TokioInstant,
    run: String,
    stats: Arc<SendStats>,
    seed: u64,
) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(senders)
        .build()
        .unwrap_or_default();
    let interval = Duration::from_secs_f64(senders as f64 / rate);
    let mut tasks = Vec::with_capacity(senders);
    for n in 0..senders {
        let (http, targets, stats, run) =
            (http.clone(), targets.clone(), stats.clone(), run.clone());
        let offset = interval.mul_f64(n as f64 / senders as f64);
        let mut rng = Rng::new(seed ^ (n as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(TokioInstant::now() + offset, interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            for seq in 0u64.. {
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => return,
                    _ = tick.tick() => {}
                }
                let Some((user, room)) = targets.pick(&mut rng) else {
                    return;
                };
                let url = format!(
                    "http://{addr}/api/rooms/{}/messages",
                    targets.room_ids[room]
                );
                let body =
                    json!({"content": content(&run, ""), "client_id": format!("{run}-t{n}-{seq}")});
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
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// Waits until every expected delivery arrived, or progress stalls.
async fn drain(shared: &Shared, expected: u64) {
    let mut last = 0;
    let mut stalled_since = Instant::now();
    loop {
        let deliveries: u64 = shared
            .deliveries
            .iter()
            .map(|d| d.load(Ordering::Relaxed))
            .sum();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_counts_fit_the_memberships() {
        let counts = room_counts(200, 2_000, 5, &[10, 50, 200, 500]);
        assert_eq!(counts.iter().map(|c| c.1).sum::<usize>(), 200);
        let members: usize = counts.iter().map(|(s, n)| s * n).sum();
        assert!((9_000..=11_000).contains(&members), "{counts:?}");
        let quick = room_counts(20, 200, 5, &[10, 50, 200, 500]);
        assert!(quick.iter().all(|&(s, _)| s <= 200), "{quick:?}");
        assert_eq!(quick.iter().map(|c| c.1).sum::<usize>(), 20);
    }

    #[test]
    fn every_user_is_in_the_asked_number_of_dms() {
        for (users, per) in [(2_000, 5), (200, 5), (201, 4)] {
            let mut degree = vec![0; users];
            for (a, b) in dm_pairs(users, per) {
                assert_ne!(a, b);
                degree[a] += 1;
                degree[b] += 1;
            }
            assert!(
                degree.iter().all(|&d| d == per),
                "{users} users, {per} each"
            );
        }
    }
}
