//! The `load` scenario: N connections, S of them senders at R msg/s in total,
//! latency stamped in the content, every delivery counted and checked for
//! order. The client is kept lean (one task per connection, no parsing beyond
//! fixed offsets) because it shares the machine with the server.

use crate::client::{self, Account, Ws};
use crate::procstat::Proc;
use crate::report::{ClusterReport, Deliveries, Latency, LoadReport, NodeLoad};
use crate::senders::{self, SendStats};
use crate::stats::{Latencies, content_via, digits, node_after_stamp, now_us, ratio};
use crate::usage::{ServerUsage, Watch};
use anyhow::bail;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use memchr::memmem::Finder;
use serde_json::json;
use std::collections::VecDeque;
use std::net::SocketAddr;
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
    /// Server URL (loopback only). Repeat it (or give a comma list) for the
    /// nodes of a cluster: connections, and senders, take the nodes in turn;
    /// all use the same accounts and room.
    #[arg(
        long = "url",
        value_name = "URL",
        value_delimiter = ',',
        default_value = "http://127.0.0.1:3001"
    )]
    pub urls: Vec<String>,
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
    /// HTTP senders post as these many accounts of their own
    /// (`<prefix>s<i>`), not as the receivers' users (which --conns caps):
    /// with limits kept per user in a shared database, 20 senders on one
    /// account would all queue on that account's row.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub sender_accounts: usize,
    /// Messages per second, all senders together (0: idle only).
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// How long the senders send.
    #[arg(long, default_value = "10s")]
    pub duration: humantime::Duration,
    /// Quiet time after connecting, to measure idle CPU and RSS.
    #[arg(long, default_value = "5s")]
    pub idle: humantime::Duration,
    /// Server process id, for RSS and CPU; with several --url, one per URL
    /// in the same order (repeat it, or give a comma list).
    #[arg(long = "pid", value_name = "PID", value_delimiter = ',')]
    pub pids: Vec<u32>,
    /// PostgreSQL's postmaster process id: the CPU of it and its children
    /// (backends, WAL writer, …) is reported too.
    #[arg(long, value_name = "PID")]
    pub pg_pid: Option<u32>,
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
    /// Upload a file of this many MB every `--upload-every` while sending
    /// (0: none), to see whether uploads hold up the messages.
    #[arg(long, default_value_t = 0, value_name = "MB")]
    pub upload_mb: u64,
    /// How often to upload with `--upload-mb`.
    #[arg(long, default_value = "2s")]
    pub upload_every: humantime::Duration,
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
    /// With several servers: deliveries by the sender's node.
    cluster: Option<Split>,
    /// Set when sending starts: (deadline, interval between one sender's messages).
    start: watch::Receiver<Option<(TokioInstant, Duration)>>,
    pad: String,
}

/// Deliveries of a cluster run, by whether the receiver is on the node the
/// message was sent to (the node is in the content: `content_via`).
struct Split {
    same: Latencies,
    cross: Latencies,
    same_deliveries: AtomicU64,
    cross_deliveries: AtomicU64,
    /// Acks of the WebSocket senders, per node they are connected to.
    acked_by_node: Vec<AtomicU64>,
}

impl Split {
    fn new(nodes: usize) -> Self {
        Self {
            same: Latencies::new(SHARDS),
            cross: Latencies::new(SHARDS),
            same_deliveries: AtomicU64::new(0),
            cross_deliveries: AtomicU64::new(0),
            acked_by_node: (0..nodes).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// The report, from the connections and the acked messages per node.
    fn report(
        &self,
        urls: &[String],
        conns: &[usize],
        senders: &[usize],
        acked: &[u64],
    ) -> ClusterReport {
        let total: u64 = conns.iter().map(|&c| c as u64).sum();
        let same_expected: u64 = acked.iter().zip(conns).map(|(&a, &c)| a * c as u64).sum();
        let cross_expected: u64 = acked
            .iter()
            .zip(conns)
            .map(|(&a, &c)| a * (total - c as u64))
            .sum();
        let class = |delivered: &AtomicU64, expected: u64, latency: &Latencies| {
            let delivered = delivered.load(Ordering::Relaxed);
            Deliveries {
                expected,
                delivered,
                ratio: ratio(delivered, expected),
                latency: Latency::from_micros(&latency.merged()),
            }
        };
        ClusterReport {
            nodes: (0..urls.len())
                .map(|i| NodeLoad {
                    url: urls[i].clone(),
                    connections: conns[i],
                    senders: senders[i],
                    acked: acked[i],
                })
                .collect(),
            same_node: class(&self.same_deliveries, same_expected, &self.same),
            cross_node: class(&self.cross_deliveries, cross_expected, &self.cross),
        }
    }
}

/// Runs the scenario and prints (and optionally saves) the report.
pub async fn run(args: LoadArgs) -> anyhow::Result<LoadReport> {
    let addrs = args
        .urls
        .iter()
        .map(|u| client::loopback_addr(u))
        .collect::<anyhow::Result<Vec<SocketAddr>>>()?;
    let nodes = addrs.len();
    if nodes == 0 {
        bail!("give at least one --url");
    }
    if !args.pids.is_empty() && args.pids.len() != nodes {
        bail!(
            "give one --pid per --url, in the same order ({nodes} URLs, {} pids)",
            args.pids.len()
        );
    }
    let watch = Watch {
        servers: args.pids.iter().copied().map(Proc).collect(),
        database: args.pg_pid.map(Proc),
    };
    let users = args.users.clamp(1, args.conns.max(1));
    let ws_senders = if args.http_senders {
        0
    } else {
        args.senders.min(args.conns)
    };
    eprintln!("registering {users} users…");
    // The nodes of a cluster share the accounts: register them on the first.
    let accounts = client::accounts(addrs[0], &args.prefix, users).await?;
    let sender_accounts = if args.http_senders && args.sender_accounts > 0 {
        eprintln!("registering {} sender accounts…", args.sender_accounts);
        let prefix = format!("{}s", args.prefix);
        client::accounts(addrs[0], &prefix, args.sender_accounts).await?
    } else {
        accounts.clone()
    };
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
        cluster: (nodes > 1).then(|| Split::new(nodes)),
        start,
        pad: "x".repeat(args.payload),
    });
    let mut report = LoadReport {
        users,
        target_rate: args.rate,
        http_senders: args.http_senders,
        ..Default::default()
    };
    report.usage = ServerUsage::before(&watch);

    if nodes > 1 {
        eprintln!("opening {} connections over {nodes} nodes…", args.conns);
    } else {
        eprintln!("opening {} connections…", args.conns);
    }
    let stop = CancellationToken::new();
    let open = connect_all(&addrs, &accounts, &args, ws_senders, &shared, &stop).await;
    report.connections = args.conns - open.failures as usize;
    report.connect_failures = open.failures;
    report.connect = Latency::from_micros(&open.hist);
    let ws_sender_count: usize = open.senders.iter().sum();
    let sender_count = if args.http_senders {
        args.senders
    } else {
        ws_sender_count
    };
    report.senders = sender_count;
    let http_stats = SendStats::for_nodes(nodes);

    report
        .usage
        .measure_idle(&watch, *args.idle, &open.conns)
        .await;

    if args.rate > 0.0 && sender_count > 0 {
        eprintln!(
            "sending {} msg/s from {sender_count} senders for {}…",
            args.rate, args.duration
        );
        let load_start = watch.mark();
        let started_us = now_us();
        let deadline = TokioInstant::now() + *args.duration;
        let interval = Duration::from_secs_f64(sender_count as f64 / args.rate);
        let http = args.http_senders.then(|| {
            let (accounts, stats) = (sender_accounts.clone(), http_stats.clone());
            let plan = senders::Plan {
                count: args.senders,
                rate: args.rate,
                deadline,
                run: shared.run.clone(),
                pad: shared.pad.clone(),
            };
            let addrs = addrs.clone();
            tokio::spawn(async move { senders::run(&addrs, &accounts, plan, stats).await })
        });
        let uploads = (args.upload_mb > 0).then(|| {
            let account = sender_accounts[0].clone();
            let (mb, every) = (args.upload_mb, *args.upload_every);
            crate::uploads::spawn(addrs[0], account, mb, every, deadline)
        });
        let _ = start_tx.send(Some((deadline, interval)));
        report.usage.track_peak(&watch, deadline).await;
        if let Some(uploads) = uploads {
            report.uploads = tokio::task::spawn_blocking(move || uploads.join().ok())
                .await
                .ok()
                .flatten();
        }
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
        report.usage.finish_load(&watch, &load_start);
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
    if let Some(split) = &shared.cluster {
        let acked: Vec<u64> = (0..nodes)
            .map(|i| {
                split.acked_by_node[i].load(Ordering::Relaxed)
                    + http_stats.acked_by_node[i].load(Ordering::Relaxed)
            })
            .collect();
        let senders: Vec<usize> = if args.http_senders {
            (0..nodes)
                .map(|i| (i..args.senders).step_by(nodes).count())
                .collect()
        } else {
            open.senders.clone()
        };
        report.cluster = Some(split.report(&args.urls, &open.conns, &senders, &acked));
    }
    report.print();
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(report)
}

/// What [`connect_all`] opened.
struct Opened {
    hist: Histogram<u64>,
    failures: u64,
    /// Open connections per node.
    conns: Vec<usize>,
    /// WebSocket senders per node.
    senders: Vec<usize>,
}

/// WebSocket senders on `node` of `nodes` when `total` are wanted: the
/// nodes take turns.
fn sender_quota(total: usize, nodes: usize, node: usize) -> usize {
    total / nodes + usize::from(node < total % nodes)
}

/// Opens every connection (the v1 lobby stream), connection `i` to node
/// `i % nodes`; the first to open on each node, up to its share of
/// `ws_senders`, also send.
async fn connect_all(
    addrs: &[SocketAddr],
    accounts: &[Account],
    args: &LoadArgs,
    ws_senders: usize,
    shared: &Arc<Shared>,
    stop: &CancellationToken,
) -> Opened {
    let nodes = addrs.len();
    let mut conns = vec![0; nodes];
    let mut senders = vec![0; nodes];
    let mut next_sender = 0;
    let (hist, failures) = client::connect_all(
        addrs,
        accounts,
        "/api/chat/ws",
        args.conns,
        args.connect_concurrency,
        |i, ws| {
            let node = i % nodes;
            conns[node] += 1;
            let sender = (senders[node] < sender_quota(ws_senders, nodes, node)).then(|| {
                senders[node] += 1;
                next_sender += 1;
                next_sender - 1
            });
            tokio::spawn(connection(
                ws,
                shared.clone(),
                i % SHARDS,
                node,
                stop.clone(),
                sender,
                args.senders.max(1),
            ));
        },
    )
    .await;
    Opened {
        hist,
        failures,
        conns,
        senders,
    }
}

/// One connection to node `node`: counts what it receives; a sender also
/// sends on its timer.
async fn connection(
    mut ws: Ws,
    shared: Arc<Shared>,
    shard: usize,
    node: usize,
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
                let tag = shared.cluster.as_ref().map(|_| node);
                let frame = json!({"type": "message", "content": content_via(&shared.run, tag, &shared.pad), "client_id": client_id});
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
                    if on_text(t.as_str(), &shared, shard, node, &mut last_id) {
                        if let Some(sent) = in_flight.pop_front() {
                            shared.ack_latency.record(shard, now_us().saturating_sub(sent));
                        }
                        if let Some(split) = &shared.cluster {
                            split.acked_by_node[node].fetch_add(1, Ordering::Relaxed);
                        }
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

/// Counts one text frame received on node `node`; true when it was an ack.
fn on_text(t: &str, shared: &Shared, shard: usize, node: usize, last_id: &mut i64) -> bool {
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
            let took = now.saturating_sub(sent as u64);
            shared.latency.record(shard, took);
            if let Some(split) = &shared.cluster {
                match node_after_stamp(stamp) {
                    Some(from) if from == node => {
                        split.same.record(shard, took);
                        split.same_deliveries.fetch_add(1, Ordering::Relaxed);
                    }
                    Some(_) => {
                        split.cross.record(shard, took);
                        split.cross_deliveries.fetch_add(1, Ordering::Relaxed);
                    }
                    None => {}
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn senders_take_the_nodes_in_turn() {
        let quotas = |total, nodes| {
            (0..nodes)
                .map(|n| sender_quota(total, nodes, n))
                .collect::<Vec<_>>()
        };
        assert_eq!(quotas(10, 1), [10]);
        assert_eq!(quotas(5, 2), [3, 2]);
        assert_eq!(quotas(10, 3), [4, 3, 3]);
        assert_eq!(quotas(1, 3), [1, 0, 0]);
    }

    #[test]
    fn deliveries_split_by_the_senders_node() {
        let split = Split::new(2);
        split
            .same_deliveries
            .store(3 * 4 + 5 * 6, Ordering::Relaxed);
        split
            .cross_deliveries
            .store(3 * 6 + 5 * 4, Ordering::Relaxed);
        let urls = [
            "http://127.0.0.1:1".to_owned(),
            "http://127.0.0.1:2".to_owned(),
        ];
        // 4 connections on node 1, 6 on node 2; 3 messages acked via node 1, 5 via node 2.
        let r = split.report(&urls, &[4, 6], &[1, 1], &[3, 5]);
        assert_eq!((r.same_node.expected, r.cross_node.expected), (42, 38));
        assert_eq!((r.same_node.ratio, r.cross_node.ratio), (1.0, 1.0));
        assert_eq!(r.nodes[1].connections, 6);
    }
}
