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

/// The fields of `/proc/<pid>/stat` this tool reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Stat {
    ppid: u32,
    /// utime + stime, in clock ticks.
    own: u64,
    /// cutime + cstime: children that ended and were waited for.
    reaped: u64,
}

/// Parses the text of `/proc/<pid>/stat`.
fn parse_stat(s: &str) -> Option<Stat> {
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = s.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| f.get(i)?.parse::<u64>().ok();
    Some(Stat {
        ppid: f.get(1)?.parse().ok()?,
        own: num(11)? + num(12)?,
        reaped: num(13)? + num(14)?,
    })
}

fn stat(pid: u32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn mark(ticks: u64) -> CpuMark {
    // SAFETY: sysconf only reads a system constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    CpuMark {
        cpu: Duration::from_micros(ticks * 1_000_000 / hz),
        at: Instant::now(),
    }
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
        mark(stat(self.0).map_or(0, |s| s.own))
    }

    /// CPU time so far of the process and of its children, the living and
    /// the ended ones (once waited for): a PostgreSQL postmaster and its
    /// backends, WAL writer, checkpointer… Children come and go, so the
    /// difference of two marks counts what ran in between, except a child
    /// that ended and was not yet waited for.
    pub fn tree_cpu(self) -> CpuMark {
        let Some(own) = stat(self.0) else {
            return mark(0);
        };
        let children: u64 = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(stat)
            .filter(|s| s.ppid == self.0)
            .map(|s| s.own + s.reaped)
            .sum();
        mark(own.own + own.reaped + children)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_spaces_in_the_name() {
        let s = "42 (postgres: hearth b1 (x) idle) S 7 42 42 0 -1 4194560 100 0 0 0 \
                 11 5 3 2 20 0 1 0 100 1000 50";
        assert_eq!(
            parse_stat(s),
            Some(Stat {
                ppid: 7,
                own: 16,
                reaped: 5
            })
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn tree_cpu_counts_children_that_ended() {
        let me = Proc(std::process::id());
        let (own, tree) = (me.cpu(), me.tree_cpu());
        assert!(tree.cpu >= own.cpu);
        // A child (and its child) that spin for 0.2 s, then are waited for.
        let status = std::process::Command::new("timeout")
            .args(["0.2", "sh", "-c", "while :; do :; done"])
            .status()
            .expect("timeout and sh run");
        assert!(!status.success(), "timeout ends the loop");
        let (own_after, tree_after) = (me.cpu(), me.tree_cpu());
        let children = tree_after.cpu.saturating_sub(tree.cpu);
        let mine = own_after.cpu.saturating_sub(own.cpu);
        assert!(
            children >= mine + Duration::from_millis(20),
            "children {children:?}, own {mine:?}"
        );
        assert!(Proc(u32::MAX).tree_cpu().cpu.is_zero());
    }
}
