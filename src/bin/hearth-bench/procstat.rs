//! Resident memory and CPU time of a process, from /proc (Linux).

use std::time::{Duration, Instant};

/// A process to watch.
#[derive(Clone, Copy, Debug)]
pub struct Proc(pub u32);

/// CPU time and wall time at one moment.
#[derive(Clone, Copy, Debug)]
pub struct CpuMark {
    cpu: Duration,
    at: Instant,
}

impl Proc {
    /// Resident set size in KiB (0 if unreadable).
    pub fn rss_kib(self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.0))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.split_whitespace().next())
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0)
    }

    /// User + system CPU time so far.
    pub fn cpu(self) -> CpuMark {
        let ticks = std::fs::read_to_string(format!("/proc/{}/stat", self.0))
            .ok()
            .and_then(|s| {
                // Fields after the command name, which is in parentheses and may hold spaces.
                let rest = s.rsplit_once(')')?.1;
                let f: Vec<&str> = rest.split_whitespace().collect();
                Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
            })
            .unwrap_or(0);
        // SAFETY: sysconf only reads a system constant.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        CpuMark {
            cpu: Duration::from_micros(ticks * 1_000_000 / hz),
            at: Instant::now(),
        }
    }
}

impl CpuMark {
    /// CPU use between `self` and `later`, in percent of one core.
    pub fn percent_until(self, later: CpuMark) -> f64 {
        let wall = later.at.duration_since(self.at).as_secs_f64();
        if wall <= 0.0 {
            return 0.0;
        }
        later.cpu.saturating_sub(self.cpu).as_secs_f64() / wall * 100.0
    }
}
