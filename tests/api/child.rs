//! The real `hearth` binary as a child process.

use crate::helpers::*;
use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// `hearth serve` on a free loopback port with `dir`, quiet, no browser,
/// plus `extra`.
pub fn serve_args(dir: &Path, extra: &[&str]) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--no-open",
        "--log",
        "warn",
        "--data-dir",
    ]
    .map(OsString::from)
    .to_vec();
    args.push(dir.as_os_str().to_owned());
    args.extend(extra.iter().map(OsString::from));
    args
}

/// A `hearth` child process.
pub struct ChildServer {
    pub child: Child,
    /// Where to reach it (loopback when it listens on all interfaces).
    pub addr: std::net::SocketAddr,
    /// What it printed at start.
    pub banner: Vec<String>,
    pub app: reqwest::Client,
}

impl Api for ChildServer {
    fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }
    fn http(&self) -> &reqwest::Client {
        &self.app
    }
}

impl ChildServer {
    /// Starts `hearth serve` on loopback with `dir` and waits until it listens.
    pub async fn start(dir: &Path, extra: &[&str]) -> Self {
        Self::spawn(serve_args(dir, extra), &[]).await
    }

    /// Starts `hearth` with exactly these arguments and environment, reads its
    /// start-up lines (up to the Ctrl+C hint) and returns once it listens.
    pub async fn spawn(args: Vec<OsString>, env: &[(&str, &str)]) -> Self {
        Self::spawn_in_shell(None, args, env).await
    }

    /// Like [`Self::spawn`], run through `sh -c '<setup>; exec hearth …'`
    /// when `setup` is given (e.g. a `ulimit`).
    pub async fn spawn_in_shell(
        setup: Option<&str>,
        args: Vec<OsString>,
        env: &[(&str, &str)],
    ) -> Self {
        let mut cmd = match setup {
            Some(setup) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("{setup} && exec \"$0\" \"$@\""))
                    .arg(hearth_bin());
                c
            }
            None => Command::new(hearth_bin()),
        };
        cmd.args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for key in [
            "HEARTH_BIND",
            "HEARTH_DATA_DIR",
            "HEARTH_NO_OPEN",
            "HEARTH_JWT_SECRET",
        ] {
            cmd.env_remove(key);
        }
        cmd.envs(env.iter().copied());
        let mut child = cmd.spawn().expect("spawn hearth");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let banner = tokio::time::timeout(WAIT, async {
            let mut banner = Vec::new();
            while let Some(line) = lines.next_line().await.expect("read stdout") {
                let done = line.contains("Ctrl+C");
                banner.push(line);
                if done {
                    return banner;
                }
            }
            panic!("hearth exited during start-up: {banner:?}");
        })
        .await
        .expect("start-up lines in time");
        let listening = banner
            .iter()
            .find_map(|l| l.split("listening on http://").nth(1))
            .expect("listening line");
        let mut addr: std::net::SocketAddr = listening.trim().parse().expect("address");
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            child,
            addr,
            banner,
            app: reqwest::Client::new(),
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id().expect("running") as i32
    }

    pub fn signal(&self, sig: libc_signal::Signal) {
        libc_signal::send(self.pid(), sig);
    }

    /// Resident memory of the child, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

/// Signals via the `kill` command (no libc dependency in tests).
pub mod libc_signal {
    /// A signal name for `kill -s`.
    #[derive(Clone, Copy)]
    pub enum Signal {
        Term,
        Int,
        Kill,
    }

    pub fn send(pid: i32, sig: Signal) {
        let name = match sig {
            Signal::Term => "TERM",
            Signal::Int => "INT",
            Signal::Kill => "KILL",
        };
        let status = std::process::Command::new("kill")
            .args(["-s", name, &pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }
}
