//! The `poll` scenario: N clients polling `GET /api/chat/messages/new` every
//! interval (the seed's old design) while HTTP senders post R msg/s. Reports
//! server CPU, delivery latency, and application bytes on the wire per
//! delivered message (request and response, headers included).

use crate::client::{self, Account};
use crate::procstat::Proc;
use crate::report::Latency;
use crate::senders::{self, SendStats};
use crate::stats::{Latencies, now_us, ratio, stamp_in};
use crate::usage::cpu_since;
use serde::Serialize;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant as TokioInstant;
use tokio_util::sync::CancellationToken;

/// Arguments of `hearth-bench poll`.
#[derive(clap::Args, Clone, Debug)]
pub struct PollArgs {
    /// Server URL (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:3001")]
    pub url: String,
    /// Polling clients.
    #[arg(long, default_value_t = 1000)]
    pub clients: usize,
    /// Time between two polls of one client.
    #[arg(long, default_value = "1s")]
    pub interval: humantime::Duration,
    /// Users the clients are spread over.
    #[arg(long, default_value_t = 100)]
    pub users: usize,
    /// HTTP senders.
    #[arg(long, default_value_t = 10)]
    pub senders: usize,
    /// Messages per second, all senders together.
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// How long the senders send.
    #[arg(long, default_value = "30s")]
    pub duration: humantime::Duration,
    /// Server process id, for CPU.
    #[arg(long)]
    pub pid: Option<u32>,
    /// Username prefix of the bench accounts.
    #[arg(long, default_value = "bench")]
    pub prefix: String,
}

/// Everything a `poll` run measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PollReport {
    pub clients: usize,
    pub interval_ms: u64,
    pub sent: u64,
    pub acked: u64,
    pub requests: u64,
    pub expected_deliveries: u64,
    pub deliveries: u64,
    pub delivery_ratio: f64,
    pub latency: Latency,
    pub bytes: u64,
    pub bytes_per_delivery: f64,
    pub server_cpu_percent: Option<f64>,
    pub errors: u64,
}

impl PollReport {
    /// Every message reached every poller, without errors.
    pub fn passed(&self) -> bool {
        self.errors == 0 && self.acked == self.sent && self.deliveries == self.expected_deliveries
    }

    /// Prints a human-readable summary.
    pub fn print(&self) {
        println!(
            "pollers            {} every {} ms, {} requests",
            self.clients, self.interval_ms, self.requests
        );
        println!("sent               {} (acked {})", self.sent, self.acked);
        println!(
            "deliveries         {} of {} expected: ratio {:.6}",
            self.deliveries, self.expected_deliveries, self.delivery_ratio
        );
        println!(
            "latency            p50 {:.1} ms | p99 {:.1} ms | max {:.1} ms",
            self.latency.p50_ms, self.latency.p99_ms, self.latency.max_ms
        );
        println!(
            "bytes              {:.1} MiB, {:.0} per delivered message",
            self.bytes as f64 / 1048576.0,
            self.bytes_per_delivery
        );
        println!(
            "server CPU         {}",
            self.server_cpu_percent
                .map_or("n/a (no --pid)".into(), |c| format!("{c:.1} %"))
        );
        println!("errors             {}", self.errors);
    }
}

struct Counters {
    run: String,
    requests: AtomicU64,
    deliveries: AtomicU64,
    bytes: AtomicU64,
    errors: AtomicU64,
    latency: Latencies,
    stop: CancellationToken,
}

/// Runs the scenario and prints the report.
pub async fn run(args: PollArgs) -> anyhow::Result<PollReport> {
    let addr = client::loopback_addr(&args.url)?;
    let proc_ = args.pid.map(Proc);
    eprintln!("registering {} users…", args.users);
    let accounts = client::accounts(addr, &args.prefix, args.users.max(1)).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()?;
    let start_cursor = head(&http, addr, &accounts[0]).await?;
    let counters = Arc::new(Counters {
        run: format!("{:x}", now_us() & 0xffff_ffff),
        requests: AtomicU64::new(0),
        deliveries: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        latency: Latencies::new(16),
        stop: CancellationToken::new(),
    });
    let interval = *args.interval;
    let mut pollers = Vec::with_capacity(args.clients);
    for i in 0..args.clients {
        let (http, counters, token) = (
            http.clone(),
            counters.clone(),
            accounts[i % accounts.len()].token.clone(),
        );
        let offset = interval.mul_f64(i as f64 / args.clients.max(1) as f64);
        pollers.push(tokio::spawn(poller(
            http,
            addr,
            token,
            start_cursor,
            interval,
            offset,
            i,
            counters,
        )));
    }
    eprintln!(
        "{} pollers every {}; sending {} msg/s for {}…",
        args.clients, args.interval, args.rate, args.duration
    );
    let cpu_start = proc_.map(Proc::cpu);
    let stats = SendStats::new();
    let deadline = TokioInstant::now() + *args.duration;
    let plan = senders::Plan {
        count: args.senders,
        rate: args.rate,
        deadline,
        run: counters.run.clone(),
        pad: String::new(),
    };
    senders::run(&[addr], &accounts, plan, stats.clone()).await;
    let cpu = cpu_since(proc_, cpu_start);
    // One more round so every poller fetches the last messages (less when
    // they all have them already).
    let expected = stats.acked.load(Ordering::Relaxed) * args.clients as u64;
    let last_round = TokioInstant::now() + interval + Duration::from_millis(500);
    while counters.deliveries.load(Ordering::Relaxed) < expected && TokioInstant::now() < last_round
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    counters.stop.cancel();
    for p in pollers {
        let _ = p.await;
    }
    let acked = stats.acked.load(Ordering::Relaxed);
    let deliveries = counters.deliveries.load(Ordering::Relaxed);
    let bytes = counters.bytes.load(Ordering::Relaxed);
    let expected = acked * args.clients as u64;
    let report = PollReport {
        clients: args.clients,
        interval_ms: interval.as_millis() as u64,
        sent: stats.sent.load(Ordering::Relaxed),
        acked,
        requests: counters.requests.load(Ordering::Relaxed),
        expected_deliveries: expected,
        deliveries,
        delivery_ratio: ratio(deliveries, expected),
        latency: Latency::from_micros(&counters.latency.merged()),
        bytes,
        bytes_per_delivery: if deliveries == 0 {
            0.0
        } else {
            bytes as f64 / deliveries as f64
        },
        server_cpu_percent: cpu,
        errors: counters.errors.load(Ordering::Relaxed) + stats.errors.load(Ordering::Relaxed),
    };
    report.print();
    Ok(report)
}

/// The newest message id, so the pollers start from now.
async fn head(http: &reqwest::Client, addr: SocketAddr, account: &Account) -> anyhow::Result<i64> {
    let mut cursor = 0;
    loop {
        let url = format!("http://{addr}/api/chat/messages/new?after_id={cursor}");
        let body: Value = http
            .get(url)
            .bearer_auth(&account.token)
            .send()
            .await?
            .json()
            .await?;
        cursor = body["last_id"].as_i64().unwrap_or(cursor);
        if body["has_more"] != true {
            return Ok(cursor);
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn poller(
    http: reqwest::Client,
    addr: SocketAddr,
    token: String,
    mut cursor: i64,
    interval: Duration,
    offset: Duration,
    shard: usize,
    counters: Arc<Counters>,
) {
    let mut tick = tokio::time::interval_at(TokioInstant::now() + offset, interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let host = addr.to_string();
    loop {
        tokio::select! {
            () = counters.stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        loop {
            let path = format!("/api/chat/messages/new?after_id={cursor}");
            // What the request costs on the wire: request line and headers.
            let request_bytes = format!(
                "GET {path} HTTP/1.1\r\nauthorization: Bearer {token}\r\naccept: */*\r\nhost: {host}\r\n\r\n"
            )
            .len();
            let res = match http
                .get(format!("http://{addr}{path}"))
                .bearer_auth(&token)
                .send()
                .await
            {
                Ok(res) if res.status().is_success() => res,
                _ => {
                    counters.errors.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            };
            let header_bytes: usize = "HTTP/1.1 200 OK\r\n\r\n".len()
                + res
                    .headers()
                    .iter()
                    .map(|(k, v)| k.as_str().len() + v.len() + 4)
                    .sum::<usize>();
            let Ok(body) = res.bytes().await else {
                counters.errors.fetch_add(1, Ordering::Relaxed);
                break;
            };
            let now = now_us();
            counters.requests.fetch_add(1, Ordering::Relaxed);
            counters.bytes.fetch_add(
                (request_bytes + header_bytes + body.len()) as u64,
                Ordering::Relaxed,
            );
            let Ok(page) = serde_json::from_slice::<Value>(&body) else {
                counters.errors.fetch_add(1, Ordering::Relaxed);
                break;
            };
            for m in page["messages"].as_array().into_iter().flatten() {
                if let Some(sent) = m["content"]
                    .as_str()
                    .and_then(|c| stamp_in(c, &counters.run))
                {
                    counters.latency.record(shard, now.saturating_sub(sent));
                    counters.deliveries.fetch_add(1, Ordering::Relaxed);
                }
            }
            cursor = page["last_id"].as_i64().unwrap_or(cursor);
            if page["has_more"] != true {
                break;
            }
        }
    }
}
