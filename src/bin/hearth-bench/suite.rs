//! `hearth-bench suite`: starts a fresh server per scenario, runs the seed's
//! benchmark table (idle scale, fan-out, ingest, polling vs WebSocket at the
//! seed's 10 msg/s and at realistic chat traffic, rooms and direct messages
//! on the v2 stream) and writes a Markdown report, JSON and SVG charts.

use crate::chart::{Series, line_chart};
use crate::load::{self, LoadArgs};
use crate::poll::{self, PollArgs, PollReport};
use crate::report::LoadReport;
use crate::team::{self, TeamArgs, TeamReport};
use anyhow::{Context, bail};
use serde::Serialize;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Messages per second in the realistic polling comparison: one every 2 s.
const REALISTIC_RATE: f64 = 0.5;

/// Arguments of `hearth-bench suite`.
#[derive(clap::Args, Clone, Debug)]
pub struct SuiteArgs {
    /// The hearth binary [default: the one next to this program].
    #[arg(long)]
    pub server: Option<PathBuf>,
    /// Where the report, JSON and charts go.
    #[arg(long, default_value = "bench-results")]
    pub out: PathBuf,
    /// Small, short scenarios: a smoke run that fails only on loss or errors.
    #[arg(long)]
    pub quick: bool,
    /// Scenarios to run.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "idle,fanout,ingest,polling,polling-realistic,team"
    )]
    pub only: Vec<String>,
    /// Pin the server to these CPUs with taskset (e.g. `0,1`); pin this
    /// program yourself: `taskset -c 2-15 hearth-bench suite --server-cpus 0,1`.
    #[arg(long)]
    pub server_cpus: Option<String>,
    /// How the machine is described in the report [default: read from /proc].
    #[arg(long)]
    pub label: Option<String>,
}

#[derive(Serialize, Default)]
struct Results {
    machine: String,
    quick: bool,
    idle: Vec<LoadReport>,
    fanout: Vec<LoadReport>,
    ingest: Vec<LoadReport>,
    polling_ws: Option<LoadReport>,
    polling: Vec<PollReport>,
    /// Realistic chat traffic: one message every 2 s, polls every 3 s.
    polling_realistic_ws: Option<LoadReport>,
    polling_realistic: Vec<PollReport>,
    team: Option<TeamReport>,
}

/// A fresh server process with its own data dir.
struct Server {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Server {
    async fn start(args: &SuiteArgs) -> anyhow::Result<Self> {
        let bin = match &args.server {
            Some(p) => p.clone(),
            None => std::env::current_exe()?.with_file_name("hearth"),
        };
        if !bin.exists() {
            bail!(
                "no server binary at {} (run `cargo build --release`, or pass --server)",
                bin.display()
            );
        }
        let dir = std::env::temp_dir().join(format!(
            "hearth-bench-{}-{}",
            std::process::id(),
            crate::stats::now_us()
        ));
        let mut cmd = match &args.server_cpus {
            Some(cpus) => {
                let mut c = Command::new("taskset");
                c.args(["-c", cpus]).arg(&bin);
                c
            }
            None => Command::new(&bin),
        };
        cmd.args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--no-open",
            "--log",
            "warn",
        ])
        // The benchmark measures throughput, not the abuse limits: many
        // connections share a few accounts, and all come from loopback.
        .args(["--send-rate", "1000000", "--send-burst", "1000000"])
        .args(["--read-rate", "1000000", "--read-burst", "1000000"])
        .args(["--max-websockets-per-user", "1000000"])
        .arg("--data-dir")
        .arg(&dir)
        .stdout(Stdio::piped())
        .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
        let addr = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(addr) = line.split("listening on http://").nth(1) {
                    return Ok(addr.trim().parse()?);
                }
            }
            bail!("the server exited at start")
        })
        .await??;
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self { child, addr, dir })
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn load_args(
    server: &Server,
    users: usize,
    conns: usize,
    senders: usize,
    rate: f64,
    secs: u64,
    idle: u64,
) -> LoadArgs {
    LoadArgs {
        url: server.url(),
        conns,
        users: users.min(conns.max(1)),
        senders,
        http_senders: true,
        rate,
        duration: Duration::from_secs(secs).into(),
        idle: Duration::from_secs(idle).into(),
        pid: server.pid(),
        connect_concurrency: 256,
        prefix: "bench".into(),
        payload: 0,
        json: None,
    }
}

/// Runs the suite; false when any scenario lost a message or saw errors.
pub async fn run(args: SuiteArgs) -> anyhow::Result<bool> {
    std::fs::create_dir_all(&args.out)?;
    let mut results = Results {
        machine: args.label.clone().unwrap_or_else(machine),
        quick: args.quick,
        ..Default::default()
    };
    let wants = |s: &str| args.only.iter().any(|o| o == s);
    let mut ok = true;
    let q = args.quick;
    // Accounts per scenario: each registration is an argon2 hash on the
    // server, which would be most of a quick run's time.
    let users = if q { 20 } else { 100 };

    if wants("idle") {
        let levels: &[usize] = if q {
            &[500]
        } else {
            &[1_000, 5_000, 10_000, 19_000]
        };
        for &n in levels {
            eprintln!("\n== idle scale: {n} connections");
            let server = Server::start(&args).await?;
            let r = load::run(load_args(
                &server,
                users,
                n,
                10,
                10.0,
                if q { 5 } else { 10 },
                if q { 5 } else { 30 },
            ))
            .await?;
            ok &= r.passed();
            results.idle.push(r);
            server.stop().await;
        }
    }
    if wants("fanout") {
        let (conns, rates): (usize, &[f64]) = if q {
            (500, &[50.0])
        } else {
            (10_000, &[10.0, 50.0, 100.0])
        };
        for &rate in rates {
            eprintln!("\n== fan-out: {conns} connections, {rate} msg/s");
            let server = Server::start(&args).await?;
            let r = load::run(load_args(
                &server,
                users,
                conns,
                10,
                rate,
                if q { 5 } else { 30 },
                3,
            ))
            .await?;
            ok &= r.passed();
            results.fanout.push(r);
            server.stop().await;
        }
    }
    if wants("ingest") {
        let rates: &[f64] = if q {
            &[1_000.0]
        } else {
            &[5_000.0, 10_000.0, 15_000.0, 20_000.0, 30_000.0, 40_000.0]
        };
        for &rate in rates {
            eprintln!("\n== ingest: 1000 HTTP senders, 100 receivers, {rate} msg/s");
            let server = Server::start(&args).await?;
            let r = load::run(load_args(
                &server,
                users,
                100,
                if q { 100 } else { 1000 },
                rate,
                if q { 5 } else { 10 },
                2,
            ))
            .await?;
            // Past the point where the achieved rate falls behind the target,
            // higher targets only measure the saturated system again.
            let keep_going = r.passed() && r.send_rate >= rate * 0.9;
            ok &= r.passed() || !q;
            results.ingest.push(r);
            server.stop().await;
            if !keep_going && !q {
                break;
            }
        }
    }
    if wants("polling") {
        let (clients, secs) = if q { (100, 5) } else { (1_000, 30) };
        eprintln!("\n== polling vs WebSocket: {clients} WebSocket clients, 10 msg/s");
        let server = Server::start(&args).await?;
        let r = load::run(load_args(&server, users, clients, 10, 10.0, secs, 3)).await?;
        ok &= r.passed();
        results.polling_ws = Some(r);
        server.stop().await;
        for interval in [1u64, 3] {
            eprintln!("\n== polling vs WebSocket: {clients} pollers every {interval} s, 10 msg/s");
            let server = Server::start(&args).await?;
            let r = poll::run(PollArgs {
                url: server.url(),
                clients,
                interval: Duration::from_secs(interval).into(),
                users,
                senders: 10,
                rate: 10.0,
                duration: Duration::from_secs(secs).into(),
                pid: server.pid(),
                prefix: "bench".into(),
            })
            .await?;
            ok &= r.passed();
            results.polling.push(r);
            server.stop().await;
        }
    }

    if wants("polling-realistic") {
        // The seed's old client: a poll every 3 s; a team chat: a message
        // every 2 s in the room.
        let (clients, secs, idle) = if q { (100, 5, 1) } else { (1_000, 30, 3) };
        let (rate, interval) = (REALISTIC_RATE, 3u64);
        eprintln!(
            "\n== polling vs WebSocket, realistic: {clients} WebSocket clients, {rate} msg/s"
        );
        let server = Server::start(&args).await?;
        let r = load::run(load_args(&server, users, clients, 1, rate, secs, idle)).await?;
        ok &= r.passed();
        results.polling_realistic_ws = Some(r);
        server.stop().await;
        eprintln!(
            "\n== polling vs WebSocket, realistic: {clients} pollers every {interval} s, {rate} msg/s"
        );
        let server = Server::start(&args).await?;
        let r = poll::run(PollArgs {
            url: server.url(),
            clients,
            interval: Duration::from_secs(interval).into(),
            users,
            senders: 1,
            rate,
            duration: Duration::from_secs(secs).into(),
            pid: server.pid(),
            prefix: "bench".into(),
        })
        .await?;
        ok &= r.passed();
        results.polling_realistic.push(r);
        server.stop().await;
    }
    if wants("team") {
        let server = Server::start(&args).await?;
        let mut t = TeamArgs {
            url: server.url(),
            conns: 10_000,
            users: 2_000,
            rooms: 200,
            room_sizes: vec![10, 50, 200, 500],
            rooms_per_user: 5,
            dms_per_user: 5,
            rate: 200.0,
            dm_share: 0.5,
            duration: Duration::from_secs(30).into(),
            idle: Duration::from_secs(10).into(),
            senders: 50,
            pid: server.pid(),
            connect_concurrency: 256,
            setup_concurrency: 16,
            prefix: "team".into(),
            json: None,
        };
        if q {
            (t.conns, t.users, t.rooms, t.rate) = (1_000, 200, 20, 20.0);
            (t.duration, t.idle, t.senders) = (
                Duration::from_secs(5).into(),
                Duration::from_secs(2).into(),
                10,
            );
        }
        eprintln!(
            "\n== team: {} connections of {} users, {} rooms, {} DMs per user, {} msg/s",
            t.conns, t.users, t.rooms, t.dms_per_user, t.rate
        );
        let r = team::run(t).await?;
        ok &= r.passed();
        results.team = Some(r);
        server.stop().await;
    }

    std::fs::write(
        args.out.join("results.json"),
        serde_json::to_vec_pretty(&results)?,
    )?;
    write_charts(&args.out, &results)?;
    let md = markdown(&results);
    std::fs::write(args.out.join("RESULTS.md"), &md)?;
    println!("\n{md}");
    println!("written to {}", args.out.display());
    Ok(ok)
}

/// CPU model, cores, memory and kernel, from /proc.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).trim());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_kib: u64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("MemTotal:")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{} cores ({}), {:.0} GiB RAM, Linux {}",
        cores,
        model.unwrap_or("unknown CPU"),
        mem_kib as f64 / 1048576.0,
        kernel.trim()
    )
}

fn yes(ok: bool) -> &'static str {
    if ok { "✅" } else { "❌" }
}

fn kib(bytes: Option<f64>) -> String {
    bytes.map_or("n/a".into(), |b| format!("{:.1}", b / 1024.0))
}

fn pct(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.1}"))
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".into(), |k| format!("{:.0}", k as f64 / 1024.0))
}

fn markdown(r: &Results) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Machine: {}. Server and load client on the same machine{}.\n",
        r.machine,
        if r.quick { " (quick smoke run)" } else { "" }
    );
    if !r.idle.is_empty() {
        let _ = writeln!(md, "### Idle scale (then 10 msg/s to all)\n");
        let _ = writeln!(
            md,
            "| connections | connect p50 / p99 ms | RSS MiB | RSS per connection KiB | idle CPU % | delivery ratio | p50 / p99 / p999 / max ms |"
        );
        let _ = writeln!(md, "|---:|---:|---:|---:|---:|---:|---:|");
        for x in &r.idle {
            let _ = writeln!(
                md,
                "| {} | {:.1} / {:.1} | {} | {} | {} | {:.6} | {:.1} / {:.1} / {:.1} / {:.1} |",
                x.connections,
                x.connect.p50_ms,
                x.connect.p99_ms,
                mib(x.server_rss_idle_kib),
                kib(x.rss_per_connection_bytes),
                pct(x.idle_cpu_percent),
                x.delivery_ratio,
                x.latency.p50_ms,
                x.latency.p99_ms,
                x.latency.p999_ms,
                x.latency.max_ms
            );
        }
        if let Some(x) = r.idle.iter().find(|x| x.connections >= 10_000 && !r.quick) {
            let per = x.rss_per_connection_bytes.unwrap_or(f64::MAX) / 1024.0;
            let _ = writeln!(
                md,
                "\nBars at 10k: ≤ 10 KiB per connection {} (aim ≤ 6 KiB {}); idle CPU < 1 % {}.",
                yes(per <= 10.0),
                yes(per <= 6.0),
                yes(x.idle_cpu_percent.unwrap_or(100.0) < 1.0)
            );
        }
    }
    if !r.fanout.is_empty() {
        let _ = writeln!(md, "\n### Fan-out\n");
        let _ = writeln!(
            md,
            "| connections | msg/s | deliveries/s | delivery ratio | p50 / p99 / p999 / max ms | server CPU % | server RSS MiB | MiB received |"
        );
        let _ = writeln!(md, "|---:|---:|---:|---:|---:|---:|---:|---:|");
        for x in &r.fanout {
            let _ = writeln!(
                md,
                "| {} | {:.0} | {:.0} | {:.6} | {:.1} / {:.1} / {:.1} / {:.1} | {} | {} | {:.0} |",
                x.connections,
                x.send_rate,
                x.deliveries_per_sec,
                x.delivery_ratio,
                x.latency.p50_ms,
                x.latency.p99_ms,
                x.latency.p999_ms,
                x.latency.max_ms,
                pct(x.load_cpu_percent),
                mib(x.server_rss_peak_kib),
                x.bytes_received as f64 / 1048576.0
            );
        }
        let lossless = r.fanout.iter().all(LoadReport::passed);
        let ten = r.fanout.iter().find(|x| (x.target_rate - 10.0).abs() < 0.5);
        let best = r
            .fanout
            .iter()
            .filter(|x| x.passed())
            .map(|x| x.deliveries_per_sec)
            .fold(0.0, f64::max);
        if r.quick {
            let _ = writeln!(md, "\nZero loss {}.", yes(lossless));
        } else {
            let _ = writeln!(
                md,
                "\nBars: zero loss at every rate {}; p99 ≤ 100 ms at 10 msg/s {}; aim ≥ 500,000 deliveries/s with zero loss {} ({best:.0}/s).",
                yes(lossless),
                yes(ten.is_some_and(|x| x.latency.p99_ms <= 100.0)),
                yes(best >= 500_000.0)
            );
        }
    }
    if !r.ingest.is_empty() {
        let _ = writeln!(
            md,
            "\n### Ingest (HTTP senders, ack after commit; 100 WebSocket receivers)\n"
        );
        let _ = writeln!(
            md,
            "| target msg/s | achieved msg/s | acked | delivery ratio | ack p50 / p99 ms | delivery p50 / p99 ms | server CPU % |"
        );
        let _ = writeln!(md, "|---:|---:|---:|---:|---:|---:|---:|");
        for x in &r.ingest {
            let _ = writeln!(
                md,
                "| {:.0} | {:.0} | {} | {:.6} | {:.1} / {:.1} | {:.1} / {:.1} | {} |",
                x.target_rate,
                x.send_rate,
                x.acked,
                x.delivery_ratio,
                x.ack_latency.p50_ms,
                x.ack_latency.p99_ms,
                x.latency.p50_ms,
                x.latency.p99_ms,
                pct(x.load_cpu_percent)
            );
        }
        let best = r
            .ingest
            .iter()
            .filter(|x| x.passed())
            .map(|x| x.send_rate)
            .fold(0.0, f64::max);
        let _ = write!(
            md,
            "\nHighest achieved rate with every message acked and delivered: {best:.0} msg/s."
        );
        if !r.quick {
            let _ = write!(
                md,
                " Bars: ≥ 10,000 msg/s {}; aim ≥ 30,000 {}.",
                yes(best >= 10_000.0),
                yes(best >= 30_000.0)
            );
        }
        let _ = writeln!(md);
    }
    if let Some(ws) = &r.polling_ws {
        let _ = writeln!(
            md,
            "\n### Polling vs WebSocket ({} clients, 10 msg/s)\n",
            ws.connections
        );
        polling_table(&mut md, ws, &r.polling);
        let columns: Vec<_> = r
            .polling
            .iter()
            .map(|p| (format!("vs poll every {} s", p.interval_ms / 1000), ws, p))
            .collect();
        let _ = writeln!(md);
        claims_table(&mut md, &columns);
    }
    if let Some(ws) = &r.polling_realistic_ws {
        let _ = writeln!(
            md,
            "\n### Polling vs WebSocket at realistic traffic ({} clients, one message every {:.0} s in total)\n",
            ws.connections,
            1.0 / REALISTIC_RATE
        );
        polling_table(&mut md, ws, &r.polling_realistic);
        for p in &r.polling_realistic {
            let _ = writeln!(
                md,
                "\nPolls every {} s: {} requests, {:.2} messages per poll on average.",
                p.interval_ms / 1000,
                p.requests,
                p.deliveries as f64 / p.requests.max(1) as f64
            );
        }
        // Side by side with the seed's 10 msg/s, when that ran too.
        let mut columns: Vec<_> = Vec::new();
        if let Some(ws10) = &r.polling_ws {
            columns.extend(r.polling.iter().map(|p| {
                (
                    format!("10 msg/s, poll every {} s", p.interval_ms / 1000),
                    ws10,
                    p,
                )
            }));
        }
        columns.extend(r.polling_realistic.iter().map(|p| {
            (
                format!(
                    "{} msg/s, poll every {} s",
                    REALISTIC_RATE,
                    p.interval_ms / 1000
                ),
                ws,
                p,
            )
        }));
        let _ = writeln!(md);
        claims_table(&mut md, &columns);
    }
    if let Some(t) = &r.team {
        team_markdown(&mut md, t, r.quick);
    }
    md
}

/// Bytes of the message frames per delivered message.
fn ws_bytes(ws: &LoadReport) -> f64 {
    if ws.deliveries == 0 {
        0.0
    } else {
        ws.message_bytes as f64 / ws.deliveries as f64
    }
}

/// The measurements of a WebSocket run and of polling runs at the same load.
fn polling_table(md: &mut String, ws: &LoadReport, polls: &[PollReport]) {
    let _ = writeln!(
        md,
        "| client | server CPU % | p50 / p99 latency ms | bytes per delivered message | delivery ratio |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|");
    let _ = writeln!(
        md,
        "| WebSocket | {} | {:.1} / {:.1} | {:.0} | {:.6} |",
        pct(ws.load_cpu_percent),
        ws.latency.p50_ms,
        ws.latency.p99_ms,
        ws_bytes(ws),
        ws.delivery_ratio
    );
    for p in polls {
        let _ = writeln!(
            md,
            "| poll every {} s | {} | {:.1} / {:.1} | {:.0} | {:.6} |",
            p.interval_ms / 1000,
            pct(p.server_cpu_percent),
            p.latency.p50_ms,
            p.latency.p99_ms,
            p.bytes_per_delivery,
            p.delivery_ratio
        );
    }
}

/// What WebSocket saves against polling, one column per (label, WebSocket
/// run, polling run), beside the seed's claims.
fn claims_table(md: &mut String, columns: &[(String, &LoadReport, &PollReport)]) {
    let labels: Vec<&str> = columns.iter().map(|c| c.0.as_str()).collect();
    let _ = writeln!(
        md,
        "| reduction by WebSocket | seed's claim | {} |",
        labels.join(" | ")
    );
    let _ = writeln!(md, "|---|---:|{}", "---:|".repeat(columns.len()));
    let red = |ws: f64, poll: f64| {
        if poll > 0.0 {
            format!("{:.1} %", (1.0 - ws / poll) * 100.0)
        } else {
            "n/a".into()
        }
    };
    let row = |name: &str, claim: &str, f: &dyn Fn(&LoadReport, &PollReport) -> String| {
        format!(
            "| {name} | {claim} | {} |",
            columns
                .iter()
                .map(|(_, ws, p)| f(ws, p))
                .collect::<Vec<_>>()
                .join(" | ")
        )
    };
    let _ = writeln!(
        md,
        "{}",
        row("server load (CPU)", "80 %", &|ws, p| red(
            ws.load_cpu_percent.unwrap_or(0.0),
            p.server_cpu_percent.unwrap_or(0.0)
        ))
    );
    let _ = writeln!(
        md,
        "{}",
        row("latency (p50)", "95 %", &|ws, p| red(
            ws.latency.p50_ms,
            p.latency.p50_ms
        ))
    );
    let _ = writeln!(
        md,
        "{}",
        row("bandwidth (bytes per message)", "70 %", &|ws, p| red(
            ws_bytes(ws),
            p.bytes_per_delivery
        ))
    );
}

/// The team scenario: set-up, load, and latency per room size class.
fn team_markdown(md: &mut String, t: &TeamReport, quick: bool) {
    let _ = writeln!(
        md,
        "\n### Rooms and direct messages (v2 stream, HTTP senders to random rooms and DMs)\n"
    );
    let rooms = t
        .classes
        .iter()
        .filter(|c| c.name != "DM")
        .map(|c| format!("{}×{}", c.rooms, c.members))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(
        md,
        "| connections | users | rooms (count×members) | DMs | rooms + DMs per user | sent / acked msg/s | delivery ratio | deliveries/s | server CPU % load / idle | RSS per connection KiB |"
    );
    let _ = writeln!(md, "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        md,
        "| {} | {} | {} | {} | {:.1} + {:.1} | {:.1} / {:.1} | {:.6} | {:.0} | {} / {} | {} |",
        t.connections,
        t.users,
        rooms,
        t.dms,
        t.rooms_per_user,
        t.dms_per_user,
        t.send_rate,
        t.ack_rate,
        t.delivery_ratio,
        t.deliveries_per_sec,
        pct(t.load_cpu_percent),
        pct(t.idle_cpu_percent),
        kib(t.rss_per_connection_bytes)
    );
    let _ = writeln!(
        md,
        "\n| room size | rooms | messages | deliveries | delivery ratio | p50 / p99 / max ms |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|");
    for c in &t.classes {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {:.6} | {:.1} / {:.1} / {:.1} |",
            c.name,
            c.rooms,
            c.acked,
            c.deliveries,
            c.delivery_ratio,
            c.latency.p50_ms,
            c.latency.p99_ms,
            c.latency.max_ms
        );
    }
    let _ = writeln!(
        md,
        "\nEvery connection in order and only its rooms' messages: {} (out of order or duplicate {}, other rooms' {}, errors {}, closed {}); ack p50 / p99 {:.1} / {:.1} ms.",
        yes(t.passed()),
        t.out_of_order,
        t.leaked,
        t.error_frames + t.send_errors,
        t.closed_early,
        t.ack_latency.p50_ms,
        t.ack_latency.p99_ms
    );
    if !quick {
        let per = t.rss_per_connection_bytes.unwrap_or(f64::MAX) / 1024.0;
        let _ = writeln!(
            md,
            "Bars: delivery ratio exactly 1.0 {}; ≤ 10 KiB per connection with {:.0} rooms per user (lobby, rooms, DMs) {}.",
            yes(t.deliveries == t.expected_deliveries),
            1.0 + t.rooms_per_user + t.dms_per_user,
            yes(per <= 10.0)
        );
    }
}

/// One line of a chart over `rows`: x from `x`, y from `y`.
fn series(
    rows: &[LoadReport],
    name: &'static str,
    color: &'static str,
    dashed: bool,
    x: impl Fn(&LoadReport) -> f64,
    y: impl Fn(&LoadReport) -> f64,
) -> Series {
    Series {
        name,
        color,
        dashed,
        points: rows.iter().map(|r| (x(r), y(r))).collect(),
    }
}

/// p50 and p99 (and p999 when asked) latency lines over `rows`.
fn latency_series(
    rows: &[LoadReport],
    x: impl Fn(&LoadReport) -> f64 + Copy,
    p999: bool,
) -> Vec<Series> {
    let mut lines = vec![
        series(rows, "p50", "#2ca02c", false, x, |r| r.latency.p50_ms),
        series(rows, "p99", "#ff7f0e", false, x, |r| r.latency.p99_ms),
    ];
    if p999 {
        lines.push(series(rows, "p999", "#9467bd", false, x, |r| {
            r.latency.p999_ms
        }));
    }
    lines
}

fn write_charts(out: &Path, r: &Results) -> anyhow::Result<()> {
    let conns = |x: &LoadReport| x.connections as f64;
    if r.idle.len() > 1 {
        let rss = line_chart(
            "Server RSS per connection",
            "connections",
            "KiB per connection",
            &[
                series(&r.idle, "measured", "#1f77b4", false, conns, |x| {
                    x.rss_per_connection_bytes.unwrap_or(0.0) / 1024.0
                }),
                series(
                    &r.idle,
                    "bar: 10 KiB (seed)",
                    "#d62728",
                    true,
                    conns,
                    |_| 10.0,
                ),
            ],
        );
        std::fs::write(out.join("rss_per_connection.svg"), rss)?;
        let mut lines = latency_series(&r.idle, conns, true);
        lines.push(series(
            &r.idle,
            "bar: p99 100 ms",
            "#d62728",
            true,
            conns,
            |_| 100.0,
        ));
        let lat = line_chart(
            "Delivery latency at 10 msg/s to all",
            "connections",
            "milliseconds",
            &lines,
        );
        std::fs::write(out.join("latency_vs_connections.svg"), lat)?;
    }
    if r.fanout.len() > 1 {
        let fan = line_chart(
            "Fan-out latency, 10k connections",
            "messages per second (each to all)",
            "milliseconds",
            &latency_series(&r.fanout, |x| x.target_rate, false),
        );
        std::fs::write(out.join("fanout_latency.svg"), fan)?;
    }
    Ok(())
}
