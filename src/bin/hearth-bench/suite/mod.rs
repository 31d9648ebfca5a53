//! `hearth-bench suite`: starts a fresh server per scenario, runs the seed's
//! benchmark table (idle scale, fan-out, ingest, polling vs WebSocket at the
//! seed's 10 msg/s and at realistic chat traffic, rooms and direct messages
//! on the v2 stream) and writes a Markdown report, JSON and SVG charts.

mod charts;
mod markdown;
mod polling;
pub mod servers;

use crate::poll::PollReport;
use crate::report::LoadReport;
use crate::team::TeamReport;
use serde::Serialize;
use servers::{Comparison, Load};
use std::path::PathBuf;

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
        for &conns in levels {
            eprintln!("\n== idle scale: {conns} connections");
            let (secs, idle) = if q { (5, 5) } else { (10, 30) };
            let r = Load {
                users,
                conns,
                senders: 10,
                rate: 10.0,
                secs,
                idle,
            }
            .run(&args)
            .await?;
            ok &= r.passed();
            results.idle.push(r);
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
            let secs = if q { 5 } else { 30 };
            let r = Load {
                users,
                conns,
                senders: 10,
                rate,
                secs,
                idle: 3,
            }
            .run(&args)
            .await?;
            ok &= r.passed();
            results.fanout.push(r);
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
            let (senders, secs) = if q { (100, 5) } else { (1000, 10) };
            let r = Load {
                users,
                conns: 100,
                senders,
                rate,
                secs,
                idle: 2,
            }
            .run(&args)
            .await?;
            // Past the point where the achieved rate falls behind the target,
            // higher targets only measure the saturated system again.
            let keep_going = r.passed() && r.send_rate >= rate * 0.9;
            ok &= r.passed() || !q;
            results.ingest.push(r);
            if !keep_going && !q {
                break;
            }
        }
    }
    if wants("polling") {
        let (clients, secs) = if q { (100, 5) } else { (1_000, 30) };
        let (ws, polls) = Comparison {
            title: "polling vs WebSocket",
            clients,
            users,
            senders: 10,
            rate: 10.0,
            secs,
            idle: 3,
            intervals: &[1, 3],
        }
        .run(&args)
        .await?;
        ok &= ws.passed() && polls.iter().all(PollReport::passed);
        results.polling_ws = Some(ws);
        results.polling = polls;
    }
    if wants("polling-realistic") {
        // The seed's old client: a poll every 3 s; a team chat: a message
        // every 2 s in the room.
        let (clients, secs, idle) = if q { (100, 5, 1) } else { (1_000, 30, 3) };
        let (ws, polls) = Comparison {
            title: "polling vs WebSocket, realistic",
            clients,
            users,
            senders: 1,
            rate: REALISTIC_RATE,
            secs,
            idle,
            intervals: &[3],
        }
        .run(&args)
        .await?;
        ok &= ws.passed() && polls.iter().all(PollReport::passed);
        results.polling_realistic_ws = Some(ws);
        results.polling_realistic = polls;
    }
    if wants("team") {
        let r = servers::team(&args).await?;
        ok &= r.passed();
        results.team = Some(r);
    }

    std::fs::write(
        args.out.join("results.json"),
        serde_json::to_vec_pretty(&results)?,
    )?;
    charts::write(&args.out, &results)?;
    let md = markdown::markdown(&results);
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
