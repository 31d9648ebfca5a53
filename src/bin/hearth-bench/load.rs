//! The `load` scenario: N connections, S of them senders at R msg/s in total,
//! latency stamped in the content, every delivery counted and checked for
//! order. The client is kept lean (one task per connection, no parsing beyond
//! fixed offsets) because it shares the machine with the server.

use crate::client::{self, Account, Ws};
use crate::procstat::Proc;
use crate::report::{Latency, LoadReport};
use crate::senders::{self, SendStats};
use crate::stats::{Latencies, content, digits, now_us, ratio};
use crate::usage::{ServerUsage, cpu_since};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use memchr::memmem::Finder;
use serde_json::json;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::time::Instant as TokioInstant;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

const SHARDS: usize = 64;
/// Every message frame starts like this (field order is fixed by the server)…
const MESSAGE_PREFIX: &str = r#"{"type":"message","#;
/// …followed by its id: `"seq":N,"message":{…}` since the v2 stream (the
/// same frame goes to v1 and v2 connections), `"message":{"id":N,…}` before.
const ID_FIELDS: [&str; 2] = [r#""seq":"#, r#""message":{"id":"#];

/// Arguments of `hearth-bench load`.
#[derive(clap::Args, Clone, Debug)]
pub struct LoadArgs {
    /// Server URL (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:3001")]
    pub url: String,
    /// WebSocket connections to open.
    #[arg(long, default_value_t = 1000)]
    pub conns: usize,
    /// Users the connections are spread over.
    #[arg(long, default_value_t = 100)]
    pub users: usize,
    /// Senders: connections that also send, or HTTP clients with --http-senders.
    #[arg(long, default_value_t = 10)]
    pub senders: usize,
    /// Send over HTTP (POST /api/chat/messages) from clients that are not in
    /// the room, so every connection is a receiver only.
    #[arg(long)]
    pub http_senders: bool,
    /// Messages per second, all senders together (0: idle only).
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// How long the senders send.
    #[arg(long, default_value = "10s")]
    pub duration: humantime::Duration,
    /// Quiet time after connecting, to measure idle CPU and RSS.
    #[arg(long, default_value = "5s")]
    pub idle: humantime::Duration,
    /// Server process id, for RSS and CPU.
    #[arg(long)]
    pub pid: Option<u32>,
    /// Connections opened at once.
    #[arg(long, default_value_t = 256)]
    pub connect_concurrency: usize,
    /// Username prefix of the bench accounts.
    #[arg(long, default_value = "bench")]
    pub prefix: String,
    /// Extra characters of padding per message.
    #[arg(long, default_value_t = 0)]
    pub payload: usize,
    /// Also write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

struct Shared {
    run: String,
    tag: Finder<'static>,
    deliveries: AtomicU64,
    out_of_order: AtomicU64,
    sent: AtomicU64,
    acks: AtomicU64,
    errors: AtomicU64,
    rate_limited: AtomicU64,
    closed_early: AtomicU64,
    bytes: AtomicU64,
    message_bytes: AtomicU64,
    last_delivery_us: AtomicU64,
    latency: Latencies,
    ack_latency: Latencies,
    /// Set when sending starts: (deadline, interval between one sender's messages).
    start: watch::Receiver<Option<(TokioInstant, Duration)>>,
    pad: String,
}

/// Runs the scenario and prints (and optionally saves) the report.
pub async fn run(args: LoadArgs) -> anyhow::Result<LoadReport> {
    let addr = client::loopback_addr(&args.url)?;
    let proc_ = args.pid.map(Proc);
    let users = args.users.clamp(1, args.conns.max(1));
    let ws_senders = if args.http_senders {
        0
    } else {
        args.senders.min(args.conns)
    };
    eprintln!("registering {users} users…");
    let accounts = client::accounts(addr, &args.prefix, users).await?;
    let run = format!("{:x}", now_us() & 0xffff_ffff);
    let (start_tx, start) = watch::channel(None);
    let shared = Arc::new(Shared {
        tag: Finder::new(format!("\"content\":\"bench {run} ").as_bytes()).into_owned(),
        run,
        deliveries: AtomicU64::new(0),
        out_of_order: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        acks: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        rate_limited: AtomicU64::new(0),
        closed_early: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
        message_bytes: AtomicU64::new(0),
        last_delivery_us: AtomicU64::new(0),
        latency: Latencies::new(SHARDS),
        ack_latency: Latencies::new(SHARDS),
        start,
        pad: "x".repeat(args.payload),
    });
    let mut report = LoadReport {
        users,
        target_rate: args.rate,
        http_senders: args.http_senders,
        ..Default::default()
    };
    report.usage = ServerUsage::before(proc_);

    eprintln!("opening {} connections…", args.conns);
    let stop = CancellationToken::new();
    let (connect_hist, failures, ws_sender_count) =
        connect_all(addr, &accounts, &args, ws_senders, &shared, &stop).await;
    report.connections = args.conns - failures as usize;
    report.connect_failures = failures;
    report.connect = Latency::from_micros(&connect_hist);
    let sender_count = if args.http_senders {
        args.senders
    } else {
        ws_sender_count
    };
    report.senders = sender_count;
    let http_stats = SendStats::new();

    report
        .usage
        .measure_idle(proc_, *args.idle, report.connections)
        .await;

    if args.rate > 0.0 && sender_count > 0 {
        eprintln!(
            "sending {} msg/s from {sender_count} senders for {}…",
            args.rate, args.duration
        );
        let load_start = proc_.map(Proc::cpu);
        let started_us = now_us();
        let deadline = TokioInstant::now() + *args.duration;
        let interval = Duration::from_secs_f64(sender_count as f64 / args.rate);
        let http = args.http_senders.then(|| {
            let (accounts, stats) = (accounts.clone(), http_stats.clone());
            let plan = senders::Plan {
                count: args.senders,
                rate: args.rate,
                deadline,
                run: shared.run.clone(),
                pad: shared.pad.clone(),
            };
            tokio::spawn(async move { senders::run(addr, &accounts, plan, stats).await })
        });
        let _ = start_tx.send(Some((deadline, interval)));
        report.usage.track_peak(proc_, deadline).await;
        if let Some(http) = http {
            let _ = http.await;
            shared
                .sent
                .fetch_add(http_stats.sent.load(Ordering::Relaxed), Ordering::Relaxed);
            shared
                .acks
                .fetch_add(http_stats.acked.load(Ordering::Relaxed), Ordering::Relaxed);
            shared
                .errors
                .fetch_add(http_stats.errors.load(Ordering::Relaxed), Ordering::Relaxed);
            shared.rate_limited.fetch_add(
                http_stats.rate_limited.load(Ordering::Relaxed),
                Ordering::Relaxed,
            );
        }
        let sent = shared.sent.load(Ordering::Relaxed);
        report.sent = sent;
        report.send_rate = sent as f64 / args.duration.as_secs_f64();
        drain(&shared, sent, report.connections as u64).await;
        report.usage.load_cpu_percent = cpu_since(proc_, load_start);
        let last = shared
            .last_delivery_us
            .load(Ordering::Relaxed)
            .max(started_us + 1);
        report.deliveries_per_sec =
            shared.deliveries.load(Ordering::Relaxed) as f64 / ((last - started_us) as f64 / 1e6);
    }
    stop.cancel();

    report.acked = shared.acks.load(Ordering::Relaxed);
    report.expected_deliveries = report.acked * report.connections as u64;
    report.deliveries = shared.deliveries.load(Ordering::Relaxed);
    report.delivery_ratio = ratio(report.deliveries, report.expected_deliveries);
    report.out_of_order = shared.out_of_order.load(Ordering::Relaxed);
    report.error_frames = shared.errors.load(Ordering::Relaxed);
    report.rate_limited = shared.rate_limited.load(Ordering::Relaxed);
    report.closed_early = shared.closed_early.load(Ordering::Relaxed);
    report.bytes_received = shared.bytes.load(Ordering::Relaxed);
    report.message_bytes = shared.message_bytes.load(Ordering::Relaxed);
    report.latency = Latency::from_micros(&shared.latency.merged());
    let mut acks = shared.ack_latency.merged();
    acks.add(http_stats.ack_latency.merged())?;
    report.ack_latency = Latency::from_micros(&acks);
    report.print();
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(report)
}

/// Opens every connection (the v1 lobby stream); the first `ws_senders` to
/// open also send. Returns the connect-time histogram, the number of
/// failures and the number of senders.
async fn connect_all(
    addr: std::net::SocketAddr,
    accounts: &[Account],
    args: &LoadArgs,
    ws_senders: usize,
    shared: &Arc<Shared>,
    stop: &CancellationToken,
) -> (Histogram<u64>, u64, usize) {
    let mut senders = 0;
    let (hist, failures) = client::connect_all(
        addr,
        accounts,
        "/api/chat/ws",
        args.conns,
        args.connect_concurrency,
        |i, ws| {
            let sender = (senders < ws_senders).then(|| {
                senders += 1;
                senders - 1
            });
            tokio::spawn(connection(
                ws,
                shared.clone(),
                i % SHARDS,
                stop.clone(),
                sender,
                args.senders.max(1),
            ));
        },
    )
    .await;
    (hist, failures, senders)
}

/// One connection: counts what it receives; a sender also sends on its timer.
async fn connection(
    mut ws: Ws,
    shared: Arc<Shared>,
    shard: usize,
    stop: CancellationToken,
    sender: Option<usize>,
    senders: usize,
) {
    let cancelled = stop.cancelled();
    tokio::pin!(cancelled);
    let mut start = shared.start.clone();
    let mut schedule: Option<(tokio::time::Interval, TokioInstant)> = None;
    let mut seq = 0u64;
    let mut last_id = 0i64;
    // Send stamps of unacknowledged sends: acks come back in send order.
    let mut in_flight: VecDeque<u64> = VecDeque::new();
    loop {
        tokio::select! {
            biased;
            () = &mut cancelled => return,
            Ok(()) = start.changed(), if sender.is_some() && schedule.is_none() => {
                if let (Some(n), Some((deadline, interval))) = (sender, *start.borrow_and_update()) {
                    // Spread the senders' ticks over one interval.
                    let offset = interval.mul_f64(n as f64 / senders as f64);
                    let mut tick = tokio::time::interval_at(TokioInstant::now() + offset, interval);
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    schedule = Some((tick, deadline));
                }
            }
            _ = async { schedule.as_mut().map(|(t, _)| t).expect("guarded").tick().await }, if schedule.is_some() => {
                if schedule.as_ref().is_some_and(|(_, deadline)| TokioInstant::now() >= *deadline) {
                    schedule = None;
                    start = shared.start.clone();
                    // Stay a receiver; never send again in this run.
                    start.mark_unchanged();
                    continue;
                }
                let client_id = format!("{}-{}-{seq}", shared.run, sender.unwrap_or(0));
                let frame = json!({"type": "message", "content": content(&shared.run, &shared.pad), "client_id": client_id});
                in_flight.push_back(now_us());
                if ws.send(Message::Text(frame.to_string().into())).await.is_err() {
                    shared.closed_early.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                seq += 1;
                shared.sent.fetch_add(1, Ordering::Relaxed);
            }
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(t))) => {
                    if on_text(t.as_str(), &shared, shard, &mut last_id)
                        && let Some(sent) = in_flight.pop_front()
                    {
                        shared.ack_latency.record(shard, now_us().saturating_sub(sent));
                    }
                }
                Some(Ok(_)) => {}
                _ => {
                    shared.closed_early.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            },
        }
    }
}

/// Bytes of an unmasked server frame with `payload` bytes (RFC 6455 §5.2).
pub(crate) fn frame_len(payload: usize) -> u64 {
    let header = match payload {
        0..=125 => 2,
        126..=65535 => 4,
        _ => 10,
    };
    (payload + header) as u64
}

/// Counts one text frame; true when it was an ack.
fn on_text(t: &str, shared: &Shared, shard: usize, last_id: &mut i64) -> bool {
    shared
        .bytes
        .fetch_add(frame_len(t.len()), Ordering::Relaxed);
    if let Some(rest) = t.strip_prefix(MESSAGE_PREFIX) {
        let Some(id) = ID_FIELDS.iter().find_map(|f| rest.strip_prefix(f)) else {
            return false;
        };
        let Some(at) = shared.tag.find(rest.as_bytes()) else {
            return false;
        };
        let now = now_us();
        let stamp = &rest[at + shared.tag.needle().len()..];
        if let Some(sent) = digits(stamp) {
            shared
                .latency
                .record(shard, now.saturating_sub(sent as u64));
        }
        let id = digits(id).unwrap_or(0);
        if id <= *last_id {
            shared.out_of_order.fetch_add(1, Ordering::Relaxed);
        }
        *last_id = id;
        shared.deliveries.fetch_add(1, Ordering::Relaxed);
        shared
            .message_bytes
            .fetch_add(frame_len(t.len()), Ordering::Relaxed);
        shared.last_delivery_us.fetch_max(now, Ordering::Relaxed);
        false
    } else if t.starts_with(r#"{"type":"ack""#) {
        shared.acks.fetch_add(1, Ordering::Relaxed);
        true
    } else {
        if t.starts_with(r#"{"type":"error""#) {
            shared.errors.fetch_add(1, Ordering::Relaxed);
            if t.contains("rate_limited") {
                shared.rate_limited.fetch_add(1, Ordering::Relaxed);
            }
        }
        false
    }
}

/// Waits until every ack and every delivery arrived, or progress stalls.
async fn drain(shared: &Shared, sent: u64, connections: u64) {
    let mut last = (0, 0);
    let mut stalled_since = Instant::now();
    loop {
        let acks = shared.acks.load(Ordering::Relaxed);
        let deliveries = shared.deliveries.load(Ordering::Relaxed);
        if acks >= sent && deliveries >= acks * connections {
            return;
        }
        if (acks, deliveries) != last {
            last = (acks, deliveries);
            stalled_since = Instant::now();
        } else if stalled_since.elapsed() > Duration::from_secs(10) {
            eprintln!("deliveries stalled at {deliveries} (acks {acks} of {sent})");
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
