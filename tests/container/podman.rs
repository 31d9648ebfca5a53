//! Running `podman` and `podman-compose`, and cleaning up after them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::process::Command;

/// The image under test, under the name the compose files give it.
pub fn image() -> String {
    "hearth:latest".to_owned()
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A name no other test run uses at the same time.
pub fn unique(what: &str) -> String {
    format!("hearth-test-{what}-{}", std::process::id())
}

/// A free loopback port to publish on.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Loopback at `port`.
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn command(program: &str) -> Command {
    let mut cmd = Command::new(program);
    // The machine's podman settings (runc, cgroupfs, ulimits), unless the
    // caller chose others.
    if std::env::var_os("CONTAINERS_CONF").is_none() {
        cmd.env(
            "CONTAINERS_CONF",
            root().join("packaging/standins/containers.conf"),
        );
    }
    cmd.kill_on_drop(true);
    cmd
}

/// Runs `podman args…`; its standard output, trimmed. Panics when it fails.
pub async fn podman(args: &[&str]) -> String {
    run(
        command("podman").args(args),
        &format!("podman {}", args.join(" ")),
    )
    .await
}

/// Runs `podman args…`; whether it succeeded.
pub async fn podman_ok(args: &[&str]) -> bool {
    command("podman")
        .args(args)
        .output()
        .await
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Runs `podman-compose -p project -f file args…` in `packaging/` with `env`.
pub async fn compose(file: &str, project: &str, env: &[(&str, String)], args: &[&str]) -> String {
    let mut cmd = command("podman-compose");
    cmd.current_dir(root().join("packaging"))
        .args(["-p", project, "-f", file])
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let what = format!("podman-compose -f {file} {}", args.join(" "));
    let out = run(&mut cmd, &what).await;
    // podman-compose exits 0 whatever its podman commands did; it prints
    // each one's status.
    let failed: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("exit code:") && l.trim() != "exit code: 0")
        .collect();
    assert!(failed.is_empty(), "{what}: a podman command failed:\n{out}");
    out
}

async fn run(cmd: &mut Command, what: &str) -> String {
    let out = tokio::time::timeout(Duration::from_secs(600), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{what}: still running after 10 minutes"))
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Podman commands (removals) run when the test ends, passed or not, and
/// once at the start, for what an interrupted earlier run left behind.
pub struct Cleanup {
    steps: Vec<Vec<String>>,
}

impl Cleanup {
    pub fn new(steps: &[&[&str]]) -> Self {
        let steps = steps
            .iter()
            .map(|s| s.iter().map(|a| (*a).to_owned()).collect())
            .collect();
        let cleanup = Self { steps };
        cleanup.run_now();
        cleanup
    }

    fn run_now(&self) {
        for step in &self.steps {
            let _ = command("podman")
                .into_std()
                .args(step)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.run_now();
    }
}
