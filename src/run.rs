//! What `main` does: parse the command line and run the chosen command.

use crate::app::Application;
use crate::cli::{Cli, Command, DataDirArg, ServeArgs};
use crate::config::{self, Config};
use crate::{admin, announce};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

/// Runs the program; the exit code tells success.
pub fn main() -> ExitCode {
    return_large_allocations_to_the_os();
    let cli = Cli::parse();
    let result = match cli.command {
        None => serve(cli.serve),
        Some(Command::Serve(args)) => serve(*args),
        Some(Command::User { action, data }) => {
            data_dir(data).and_then(|dir| admin::user(action, &dir))
        }
        Some(Command::Backup { file, force, data }) => {
            data_dir(data).and_then(|dir| admin::backup(&dir, &file, force))
        }
        Some(Command::Restore { file, data }) => {
            data_dir(data).and_then(|dir| admin::restore(&dir, &file))
        }
        Some(Command::Healthcheck { addr }) => admin::healthcheck(addr.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hearth: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn data_dir(arg: DataDirArg) -> anyhow::Result<PathBuf> {
    Ok(config::data_dir_or_default(arg.data_dir)?)
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = Config::from_args(args)?;
    crate::telemetry::init_logging(&config.log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let app = Application::build(config.clone()).await?;
        let local = announce::print(&config, app.local_addr(), app.busy_port());
        announce::open_browser(&config, &local);
        let stop = app.shutdown_token();
        tokio::spawn(stop_on_signal(stop));
        app.run().await
    })
}

async fn stop_on_signal(stop: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for SIGTERM");
                    let _ = ctrl_c.await;
                    stop.cancel();
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down: closing connections and committing queued writes");
    stop.cancel();
}

/// Each password hash allocates a 19 MiB work area. glibc raises its mmap
/// threshold after such frees and then keeps those areas in its arenas, so a
/// few logins would pin ~200 MiB. A fixed threshold makes large blocks go back
/// to the OS when freed.
fn return_large_allocations_to_the_os() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator; called before other threads start.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
