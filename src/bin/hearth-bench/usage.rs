//! The server's memory and CPU over a run (with `--pid`): measured from
//! /proc, shared by the `load` and `team` reports. With several servers
//! (the nodes of a cluster) the report's server lines are their sums and
//! each node is also reported on its own; with a database postmaster
//! (`--pg-pid`) its CPU, children included, is reported too.

use crate::procstat::{CpuMark, Proc};
use serde::Serialize;
use std::time::Duration;
use tokio::time::Instant as TokioInstant;

/// The processes a run watches: the servers (one per node) and optionally
/// the database's postmaster.
#[derive(Clone, Debug, Default)]
pub struct Watch {
    pub servers: Vec<Proc>,
    pub database: Option<Proc>,
}

/// CPU marks of every watched process at one moment.
#[derive(Clone, Debug)]
pub struct Marks {
    servers: Vec<CpuMark>,
    database: Option<CpuMark>,
}

impl Watch {
    /// One server, or none.
    pub fn single(pid: Option<u32>) -> Self {
        Self {
            servers: pid.map(Proc).into_iter().collect(),
            database: None,
        }
    }

    /// CPU of every watched process now.
    pub fn mark(&self) -> Marks {
        Marks {
            servers: self.servers.iter().map(|p| p.cpu()).collect(),
            database: self.database.map(Proc::tree_cpu),
        }
    }

    /// Per-server and database CPU since `start`, in % of one core.
    fn percents_since(&self, start: &Marks) -> (Vec<f64>, Option<f64>) {
        let now = self.mark();
        let servers = start
            .servers
            .iter()
            .zip(&now.servers)
            .map(|(a, b)| a.percent_until(*b))
            .collect();
        let database = start
            .database
            .zip(now.database)
            .map(|(a, b)| a.percent_until(b));
        (servers, database)
    }

    fn rss(&self) -> Vec<u64> {
        self.servers.iter().map(|p| p.rss_kib()).collect()
    }
}

/// CPU use of `proc_` since `start`, in percent of one core.
pub fn cpu_since(proc_: Option<Proc>, start: Option<CpuMark>) -> Option<f64> {
    proc_
        .zip(start)
        .map(|(p, start)| start.percent_until(p.cpu()))
}

/// One node of several: its own share of the server lines.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NodeUsage {
    pub pid: u32,
    pub rss_before_kib: u64,
    pub rss_idle_kib: Option<u64>,
    pub rss_peak_kib: Option<u64>,
    pub rss_per_connection_bytes: Option<f64>,
    pub idle_cpu_percent: Option<f64>,
    pub load_cpu_percent: Option<f64>,
}

/// Server RSS and CPU; every field `None` without a process to watch.
/// Reports flatten it, so the JSON field names are the report's own.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerUsage {
    pub server_rss_before_kib: Option<u64>,
    pub server_rss_idle_kib: Option<u64>,
    pub server_rss_peak_kib: Option<u64>,
    pub rss_per_connection_bytes: Option<f64>,
    pub idle_cpu_percent: Option<f64>,
    pub load_cpu_percent: Option<f64>,
    /// Each server, when there are several (the sums are above).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub per_node: Vec<NodeUsage>,
    /// The database's postmaster and its children (`--pg-pid`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_idle_cpu_percent: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_load_cpu_percent: Option<f64>,
}

fn sum(v: &[u64]) -> Option<u64> {
    (!v.is_empty()).then(|| v.iter().sum())
}

fn sum_f(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum())
}

fn per_connection(before: u64, after: u64, connections: usize) -> Option<f64> {
    (connections > 0).then(|| after.saturating_sub(before) as f64 * 1024.0 / connections as f64)
}

impl ServerUsage {
    /// Starts with the RSS before any connection.
    pub fn before(watch: &Watch) -> Self {
        let rss = watch.rss();
        let nodes = if watch.servers.len() > 1 {
            watch
                .servers
                .iter()
                .zip(&rss)
                .map(|(p, &kib)| NodeUsage {
                    pid: p.0,
                    rss_before_kib: kib,
                    ..NodeUsage::default()
                })
                .collect()
        } else {
            Vec::new()
        };
        Self {
            server_rss_before_kib: sum(&rss),
            per_node: nodes,
            ..Self::default()
        }
    }

    /// Stays quiet for `idle`, then takes the idle RSS (also the first peak)
    /// and its share per connection (`connections` per server, in the order
    /// of the watched servers; one number for all without servers). Idle CPU
    /// leaves out the first second, in which the last connections settle.
    pub async fn measure_idle(&mut self, watch: &Watch, idle: Duration, connections: &[usize]) {
        eprintln!("idle for {}…", humantime::format_duration(idle));
        tokio::time::sleep(Duration::from_secs(1).min(idle)).await;
        let idle_start = watch.mark();
        tokio::time::sleep(idle.saturating_sub(Duration::from_secs(1))).await;
        let (cpu, database) = watch.percents_since(&idle_start);
        self.database_idle_cpu_percent = database;
        if watch.servers.is_empty() {
            return;
        }
        self.idle_cpu_percent = sum_f(&cpu);
        let rss = watch.rss();
        let total = sum(&rss).unwrap_or(0);
        self.server_rss_idle_kib = Some(total);
        self.server_rss_peak_kib = Some(total);
        self.rss_per_connection_bytes = per_connection(
            self.server_rss_before_kib.unwrap_or(0),
            total,
            connections.iter().sum(),
        );
        for (i, node) in self.per_node.iter_mut().enumerate() {
            node.rss_idle_kib = Some(rss[i]);
            node.rss_peak_kib = Some(rss[i]);
            node.idle_cpu_percent = Some(cpu[i]);
            node.rss_per_connection_bytes = per_connection(
                node.rss_before_kib,
                rss[i],
                connections.get(i).copied().unwrap_or(0),
            );
        }
    }

    /// Samples the peak RSS every 250 ms until `deadline`.
    pub async fn track_peak(&mut self, watch: &Watch, deadline: TokioInstant) {
        while TokioInstant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(250)).await;
            if let Some(peak) = self.server_rss_peak_kib.as_mut() {
                let rss = watch.rss();
                *peak = (*peak).max(rss.iter().sum());
                for (node, kib) in self.per_node.iter_mut().zip(rss) {
                    node.rss_peak_kib = node.rss_peak_kib.max(Some(kib));
                }
            }
        }
    }

    /// Takes the CPU used under load since `start` (a [`Watch::mark`]).
    pub fn finish_load(&mut self, watch: &Watch, start: &Marks) {
        let (cpu, database) = watch.percents_since(start);
        self.load_cpu_percent = sum_f(&cpu);
        self.database_load_cpu_percent = database;
        for (node, cpu) in self.per_node.iter_mut().zip(cpu) {
            node.load_cpu_percent = Some(cpu);
        }
    }

    /// Prints the RSS and CPU lines of a report.
    pub fn print(&self) {
        let opt = |v: Option<f64>, unit: &str| {
            v.map_or("n/a (no --pid)".to_owned(), |v| format!("{v:.1}{unit}"))
        };
        let mib = |v: Option<u64>| {
            v.map_or("n/a".to_owned(), |v| {
                format!("{:.1} MiB", v as f64 / 1024.0)
            })
        };
        let all = if self.per_node.is_empty() {
            String::new()
        } else {
            format!(" (sum of {} nodes)", self.per_node.len())
        };
        println!(
            "server RSS         before {} | idle {} | peak {} | per connection {}{all}",
            mib(self.server_rss_before_kib),
            mib(self.server_rss_idle_kib),
            mib(self.server_rss_peak_kib),
            opt(self.rss_per_connection_bytes.map(|b| b / 1024.0), " KiB")
        );
        println!(
            "server CPU         idle {} | under load {}{all}",
            opt(self.idle_cpu_percent, " %"),
            opt(self.load_cpu_percent, " %")
        );
        for (i, node) in self.per_node.iter().enumerate() {
            println!(
                "  node {:<2} pid {:<7} RSS idle {} | peak {} | per connection {} | CPU idle {} | under load {}",
                i + 1,
                node.pid,
                mib(node.rss_idle_kib),
                mib(node.rss_peak_kib),
                opt(node.rss_per_connection_bytes.map(|b| b / 1024.0), " KiB"),
                opt(node.idle_cpu_percent, " %"),
                opt(node.load_cpu_percent, " %")
            );
        }
        if self.database_idle_cpu_percent.is_some() || self.database_load_cpu_percent.is_some() {
            println!(
                "database CPU       idle {} | under load {} (postmaster and its children)",
                opt(self.database_idle_cpu_percent, " %"),
                opt(self.database_load_cpu_percent, " %")
            );
        }
    }
}
