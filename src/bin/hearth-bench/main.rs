//! hearth-bench: load tool for a running Hearth server (DESIGN.md §8).
//!
//! `load` opens N WebSocket connections across U users, has S of them send R
//! messages per second in total with a timestamp in the content, and reports
//! connect failures, server RSS per connection and idle CPU (with `--pid`),
//! deliveries per second, the delivery ratio and latency percentiles. Given
//! several `--url`s (the nodes of a cluster) it spreads connections and
//! senders over them and splits deliveries into same-node and cross-node.
//! `team` does the same on the v2 stream with rooms and direct messages.
//! Traffic goes to loopback only.

mod chart;
mod client;
mod load;
mod poll;
mod procstat;
mod report;
mod search;
mod senders;
mod stats;
mod suite;
mod team;
mod uploads;
mod usage;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "hearth-bench",
    version,
    about = "Load tool for a running Hearth server (loopback only)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Threads of this load client. One by default, so that on a small
    /// machine the server keeps the other cores.
    #[arg(long, global = true, default_value_t = 1)]
    threads: usize,
}

#[derive(Subcommand)]
enum Command {
    /// WebSocket fan-out: connections, senders, latency, delivery ratio.
    Load(load::LoadArgs),
    /// Polling clients (the old design) for comparison with `load`.
    Poll(poll::PollArgs),
    /// Rooms and direct messages on the v2 stream: delivery per room size.
    Team(team::TeamArgs),
    /// The whole benchmark table against fresh servers; writes a report.
    Suite(suite::SuiteArgs),
    /// Search over a generated team (1,000,000 messages by default).
    Search(search::SearchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = if cli.threads > 1 {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cli.threads)
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hearth-bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Load(args) => load::run(args).await.map(|r| r.passed()),
            Command::Poll(args) => poll::run(args).await.map(|r| r.passed()),
            Command::Team(args) => team::run(args).await.map(|r| r.passed()),
            Command::Suite(args) => suite::run(args).await,
            Command::Search(args) => search::run(args).await.map(|_| true),
        }
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("hearth-bench: FAILED (loss, duplicates or errors; see above)");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("hearth-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}
