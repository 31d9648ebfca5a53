//! The suite's servers: a fresh `hearth serve` per scenario, and the
//! `load` and `poll` runs against one.

use super::SuiteArgs;
use crate::load::{self, LoadArgs};
use crate::poll::{self, PollArgs, PollReport};
use crate::report::LoadReport;
use crate::team::{self, TeamArgs, TeamReport};
use anyhow::{Context, bail};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A fresh server process with its own data dir.
pub struct Server {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Server {
    /// Starts `hearth serve` on a free loopback port with limits out of the way.
    pub async fn start(args: &SuiteArgs) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "hearth-bench-{}-{}",
            std::process::id(),
            crate::stats::now_us()
        ));
        Self::start_in(args.server.as_ref(), args.server_cpus.as_deref(), dir).await
    }

    /// Starts `hearth serve` (the binary `server`, else the `hearth` beside
    /// this program) on the data dir `dir`, pinned to `cpus` if given.
    pub async fn start_in(
        server: Option<&PathBuf>,
        cpus: Option<&str>,
        dir: PathBuf,
    ) -> anyhow::Result<Self> {
        let bin = match server {
            Some(p) => p.clone(),
            None => std::env::current_exe()?.with_file_name("hearth"),
        };
        if !bin.exists() {
            bail!(
                "no server binary at {} (run `cargo build --release`, or pass --server)",
                bin.display()
            );
        }
        let mut cmd = match cpus {
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

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Stops the server and removes its data dir.
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A `load` run of the suite (HTTP senders, `bench` accounts).
pub struct Load {
    /// Accounts, at most one per connection.
    pub users: usize,
    pub conns: usize,
    pub senders: usize,
    pub rate: f64,
    /// Seconds of sending, and of quiet before it.
    pub secs: u64,
    pub idle: u64,
}

impl Load {
    /// Runs against a fresh server.
    pub async fn run(self, args: &SuiteArgs) -> anyhow::Result<LoadReport> {
        let server = Server::start(args).await?;
        let report = load::run(LoadArgs {
            urls: vec![server.url()],
            conns: self.conns,
            users: self.users.min(self.conns.max(1)),
            senders: self.senders,
            http_senders: true,
            sender_accounts: 0,
            rate: self.rate,
            duration: Duration::from_secs(self.secs).into(),
            idle: Duration::from_secs(self.idle).into(),
            pids: server.pid().into_iter().collect(),
            pg_pid: None,
            connect_concurrency: 256,
            prefix: "bench".into(),
            payload: 0,
            json: None,
            upload_mb: 0,
            upload_every: Duration::from_secs(2).into(),
        })
        .await;
        server.stop().await;
        report
    }
}

/// A `poll` run of the suite (`bench` accounts).
struct Poll {
    clients: usize,
    /// Seconds between one client's polls.
    interval: u64,
    users: usize,
    senders: usize,
    rate: f64,
    /// Seconds of sending.
    secs: u64,
}

impl Poll {
    /// Runs against a fresh server.
    async fn run(self, args: &SuiteArgs) -> anyhow::Result<PollReport> {
        let server = Server::start(args).await?;
        let report = poll::run(PollArgs {
            url: server.url(),
            clients: self.clients,
            interval: Duration::from_secs(self.interval).into(),
            users: self.users,
            senders: self.senders,
            rate: self.rate,
            duration: Duration::from_secs(self.secs).into(),
            pid: server.pid(),
            prefix: "bench".into(),
        })
        .await;
        server.stop().await;
        report
    }
}

/// WebSocket clients, then pollers every few seconds, at the same load.
pub struct Comparison {
    /// Starts the scenario headings.
    pub title: &'static str,
    pub clients: usize,
    pub users: usize,
    pub senders: usize,
    pub rate: f64,
    /// Seconds of sending, and of quiet before the WebSocket run sends.
    pub secs: u64,
    pub idle: u64,
    /// Seconds between one poller's polls, a run each.
    pub intervals: &'static [u64],
}

impl Comparison {
    /// Runs each against a fresh server.
    pub async fn run(self, args: &SuiteArgs) -> anyhow::Result<(LoadReport, Vec<PollReport>)> {
        let Self {
            title,
            clients,
            users,
            senders,
            rate,
            secs,
            idle,
            intervals,
        } = self;
        eprintln!("\n== {title}: {clients} WebSocket clients, {rate} msg/s");
        let ws = Load {
            users,
            conns: clients,
            senders,
            rate,
            secs,
            idle,
        }
        .run(args)
        .await?;
        let mut polls = Vec::new();
        for &interval in intervals {
            eprintln!("\n== {title}: {clients} pollers every {interval} s, {rate} msg/s");
            let poll = Poll {
                clients,
                interval,
                users,
                senders,
                rate,
                secs,
            };
            polls.push(poll.run(args).await?);
        }
        Ok((ws, polls))
    }
}

/// The team scenario against a fresh server (smaller with `--quick`).
pub async fn team(args: &SuiteArgs) -> anyhow::Result<TeamReport> {
    let server = Server::start(args).await?;
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
    if args.quick {
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
    let report = team::run(t).await;
    server.stop().await;
    report
}
