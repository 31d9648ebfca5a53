//! The server's memory and CPU over a run (with `--pid`): measured from
//! /proc, shared by the `load` and `team` reports.

use crate::procstat::{CpuMark, Proc};
use serde::Serialize;
use std::time::Duration;
use tokio::time::Instant as TokioInstant;

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
}

/// CPU use of `proc_` since `start`, in percent of one core.
pub fn cpu_since(proc_: Option<Proc>, start: Option<CpuMark>) -> Option<f64> {
    proc_
        .zip(start)
        .map(|(p, start)| start.percent_until(p.cpu()))
}

impl ServerUsage {
    /// Starts with the RSS before any connection.
    pub fn before(proc_: Option<Proc>) -> Self {
        Self {
            server_rss_before_kib: proc_.map(Proc::rss_kib),
            ..Self::default()
        }
    }

    /// Stays quiet for `idle`, then takes the idle RSS (also the first peak)
    /// and its share per connection. Idle CPU leaves out the first second,
    /// in which the last connections settle.
    pub async fn measure_idle(&mut self, proc_: Option<Proc>, idle: Duration, connections: usize) {
        eprintln!("idle for {}…", humantime::format_duration(idle));
        tokio::time::sleep(Duration::from_secs(1).min(idle)).await;
        let idle_start = proc_.map(Proc::cpu);
        tokio::time::sleep(idle.saturating_sub(Duration::from_secs(1))).await;
        let Some(p) = proc_ else {
            return;
        };
        self.idle_cpu_percent = cpu_since(proc_, idle_start);
        let rss = p.rss_kib();
        self.server_rss_idle_kib = Some(rss);
        self.server_rss_peak_kib = Some(rss);
        if connections > 0 {
            let before = self.server_rss_before_kib.unwrap_or(0);
            self.rss_per_connection_bytes =
                Some(rss.saturating_sub(before) as f64 * 1024.0 / connections as f64);
        }
    }

    /// Samples the peak RSS every 250 ms until `deadline`.
    pub async fn track_peak(&mut self, proc_: Option<Proc>, deadline: TokioInstant) {
        while TokioInstant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(250)).await;
            if let (Some(p), Some(peak)) = (proc_, self.server_rss_peak_kib.as_mut()) {
                *peak = (*peak).max(p.rss_kib());
            }
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
    }
}
