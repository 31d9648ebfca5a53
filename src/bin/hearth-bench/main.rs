//! hearth-bench: load tool for a running Hearth server (DESIGN.md §8).
//!
//! `load` opens N WebSocket connections across U users, has S of them send R
//! messages per second in total with a timestamp in the content, and reports
//! connect failures, server RSS per connection and idle CPU (with `--pid`),
//! deliveries per second, the delivery ratio and latency percentiles.
//! Traffic goes to loopback only.

mod client;
mod load;
mod procstat;
mod report;

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
}

#[derive(Subcommand)]
enum Command {
    /// WebSocket fan-out: connections, senders, latency, delivery ratio.
    Load(load::LoadArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hearth-bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Load(args) => load::run(args).await.map(|r| r.passed()),
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
