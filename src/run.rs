//! What `main` does: parse the command line and run the chosen command.

use crate::app::Application;
use crate::cli::{Cli, Command, DataDirArg, ServeArgs};
use crate::config::{self, Config};
use crate::{admin, announce, backup};
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
        Some(Command::Room { action, data }) => {
            data_dir(data).and_then(|dir| admin::room(action, &dir))
        }
        Some(Command::Registration { action, data }) => {
            data_dir(data).and_then(|dir| crate::team::offline::registration(action, &dir))
        }
        Some(Command::Invite { action, data }) => {
            data_dir(data).and_then(|dir| crate::team::offline::invite(action, &dir))
        }
        Some(Command::Backup { file, force, data }) => {
            data_dir(data).and_then(|dir| backup::backup(&dir, &file, force))
        }
        Some(Command::Restore { file, data }) => {
            data_dir(data).and_then(|dir| backup::restore(&dir, &file))
        }
        Some(Command::Check { data }) => data_dir(data).and_then(|dir| backup::check(&dir)),
        Some(Command::Migrate { to, data }) => {
            data_dir(data).and_then(|dir| crate::migrate::migrate(&dir, &to))
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
        let team = app.state().team.settings();
        let local = announce::print(&config, app.local_addr(), app.busy_port(), &team);
        announce::open_browser(&config, &local);
        let stop = app.shutdown_token();
        tokio::spawn(stop_on_signal(stop));
        app.run().await
    })
}

/// The first Ctrl-C or SIGTERM stops the server in order; a second one,
/// while that is under way, exits at once (what a person pressing Ctrl-C
/// again expects).
async fn stop_on_signal(stop: CancellationToken) {
    if let Err(e) = next_signal().await {
        tracing::error!(error = %e, "cannot listen for signals");
        return;
    }
    tracing::info!(
        "shutting down: closing connections and committing queued writes (Ctrl-C again to exit now)"
    );
    stop.cancel();
    if next_signal().await.is_ok() {
        eprintln!("hearth: interrupted again, exiting without waiting");
        std::process::exit(130);
    }
}

/// Waits for Ctrl-C (SIGINT) or, on Unix, SIGTERM.
async fn next_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await
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
