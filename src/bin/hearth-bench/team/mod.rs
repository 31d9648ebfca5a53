//! The `team` scenario (rooms and direct messages, PROTOCOL.md §3): U users
//! on N v2 WebSockets (`?v=2`), closed rooms of several sizes and direct
//! messages set up over REST, HTTP senders posting to random rooms and DMs of
//! random users. Every connection must get exactly the messages of its
//! user's rooms (none of another room), with `seq` strictly growing; latency
//! is reported per room size class (DMs are their own class), with server
//! CPU and RSS per connection.

mod plan;
mod receive;
mod report;
mod send;
mod setup;

pub use report::{ClassReport, TeamReport};

use crate::client;
use crate::procstat::Proc;
use crate::report::Latency;
use crate::senders::Plan;
use crate::stats::{histogram, now_us, ratio};
use crate::usage::{ServerUsage, Watch, cpu_since};
use plan::Rng;
use receive::Shared;
use send::{SendStats, Targets};
use setup::{Memberships, Setup};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::time::Instant as TokioInstant;
use tokio_util::sync::CancellationToken;

/// Histograms per class (the client runs on one thread by default: few locks suffice).
const SHARDS: usize = 8;

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
    let setup = setup::create(&args, addr, &accounts, &run, &mut rng).await?;
    let members = Memberships::new(&setup.plans, users, setup.dm_class);
    let (rooms_per_user, dms_per_user) = members.per_user();
    let (rooms, dms) = setup.count();
    let classes = setup.classes.len();
    let shared = Arc::new(Shared::new(run, &setup.plans, members.ids, classes));
    let mut report = TeamReport {
        users,
        rooms,
        dms,
        rooms_per_user,
        dms_per_user,
        setup_secs: setup.secs,
        target_rate: args.rate,
        usage: ServerUsage::before(&Watch::single(args.pid)),
        ..Default::default()
    };

    eprintln!("opening {conns} v2 connections…");
    let stop = CancellationToken::new();
    let (connect_hist, failures, open_per_user) = receive::connect_all(
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
    let room_conns: Vec<u64> = setup
        .plans
        .iter()
        .map(|p| p.members.iter().map(|&m| open_per_user[m]).sum())
        .collect();
    report
        .usage
        .measure_idle(&Watch::single(args.pid), *args.idle, &[report.connections])
        .await;

    let stats = Arc::new(SendStats::new(classes));
    if args.rate > 0.0 && !setup.plans.is_empty() {
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
            room_ids: setup.plans.iter().map(|p| p.id).collect(),
            classes: setup.plans.iter().map(|p| p.class).collect(),
            room_conns,
            user_rooms: members.rooms,
            user_dms: members.dms,
            dm_share: args.dm_share,
        });
        let plan = Plan {
            count: senders,
            rate: args.rate,
            deadline,
            run: shared.run.clone(),
            pad: String::new(),
        };
        let send = tokio::spawn(send::send_all(
            addr,
            targets,
            plan,
            stats.clone(),
            rng.next(),
        ));
        report
            .usage
            .track_peak(&Watch::single(args.pid), deadline)
            .await;
        let _ = send.await;
        let sent = stats.sent.load(Ordering::Relaxed);
        report.sent = sent;
        report.send_rate = sent as f64 / args.duration.as_secs_f64();
        report.ack_rate = stats.acked.load(Ordering::Relaxed) as f64 / args.duration.as_secs_f64();
        receive::drain(&shared, stats.expected()).await;
        report.usage.load_cpu_percent = cpu_since(proc_, load_start);
        let last = shared
            .last_delivery_us
            .load(Ordering::Relaxed)
            .max(started_us + 1);
        report.deliveries_per_sec = shared.delivered() as f64 / ((last - started_us) as f64 / 1e6);
    }
    stop.cancel();

    tally(&mut report, setup, &shared, &stats)?;
    report.print();
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(report)
}

/// Fills in what the senders and the receivers counted, per class and in all.
fn tally(
    report: &mut TeamReport,
    setup: Setup,
    shared: &Shared,
    stats: &SendStats,
) -> anyhow::Result<()> {
    report.acked = stats.acked.load(Ordering::Relaxed);
    report.send_errors = stats.errors.load(Ordering::Relaxed);
    report.ack_latency = Latency::from_micros(&stats.ack_latency.merged());
    let mut all = histogram();
    for (c, (name, members)) in setup.classes.into_iter().enumerate() {
        let h = shared.latency[c].merged();
        all.add(&h)?;
        let expected = stats.expected_class[c].load(Ordering::Relaxed);
        let deliveries = shared.deliveries[c].load(Ordering::Relaxed);
        report.classes.push(ClassReport {
            name,
            members,
            rooms: setup.plans.iter().filter(|p| p.class == c).count(),
            acked: stats.acked_class[c].load(Ordering::Relaxed),
            expected_deliveries: expected,
            deliveries,
            delivery_ratio: ratio(deliveries, expected),
            latency: Latency::from_micros(&h),
        });
    }
    report.add_up_classes();
    report.latency = Latency::from_micros(&all);
    report.out_of_order = shared.out_of_order.load(Ordering::Relaxed);
    report.leaked = shared.leaked.load(Ordering::Relaxed);
    report.other_events = shared.other_events.load(Ordering::Relaxed);
    report.error_frames = shared.errors.load(Ordering::Relaxed);
    report.closed_early = shared.closed_early.load(Ordering::Relaxed);
    report.bytes_received = shared.bytes.load(Ordering::Relaxed);
    Ok(())
}
