//! Uploads beside the message load (`load --upload-mb N`): one account
//! uploads a file of N MB of fresh random bytes (never deduplicated) to the
//! lobby every `--upload-every`, while the fan-out runs, so the report shows
//! whether big uploads hold up the messages.

use crate::client::Account;
use serde::Serialize;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::time::Instant as TokioInstant;

/// What the uploads did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UploadReport {
    /// Size of each, MB.
    pub mb: u64,
    /// Uploads answered 201.
    pub done: u64,
    /// Uploads refused or failed.
    pub failed: u64,
    /// Mean time of one upload, ms.
    pub mean_ms: f64,
    /// Slowest upload, ms.
    pub max_ms: f64,
}

/// Runs the uploads on a thread of their own, with its own runtime: sending
/// 20 MB must not delay this program's timing of the messages.
pub fn spawn(
    addr: SocketAddr,
    account: Account,
    mb: u64,
    every: Duration,
    deadline: TokioInstant,
) -> std::thread::JoinHandle<UploadReport> {
    std::thread::spawn(move || {
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(run(addr, account, mb, every, deadline)),
            Err(e) => {
                eprintln!("uploads: cannot start a runtime: {e}");
                UploadReport::default()
            }
        }
    })
}

/// Uploads `mb` MB every `every` until `deadline`.
async fn run(
    addr: SocketAddr,
    account: Account,
    mb: u64,
    every: Duration,
    deadline: TokioInstant,
) -> UploadReport {
    let http = reqwest::Client::new();
    let mut report = UploadReport {
        mb,
        ..UploadReport::default()
    };
    let mut total_ms = 0.0;
    let mut seed = crate::stats::now_us() | 1;
    let mut tick = tokio::time::interval(every);
    while TokioInstant::now() < deadline {
        tick.tick().await;
        // Fresh bytes each time (the server stores equal contents once),
        // made off this program's runtime thread, which times the messages.
        seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let start = seed;
        let Ok(body) = tokio::task::spawn_blocking(move || {
            let mut x = start | 1;
            (0..mb * 1_000_000)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect::<Vec<u8>>()
        })
        .await
        else {
            report.failed += 1;
            continue;
        };
        let started = Instant::now();
        let res = http
            .post(format!("http://{addr}/api/rooms/1/files?name=bench.bin"))
            .bearer_auth(&account.token)
            .body(body)
            .send()
            .await;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        match res {
            Ok(r) if r.status().as_u16() == 201 => {
                report.done += 1;
                total_ms += ms;
                report.max_ms = report.max_ms.max(ms);
            }
            Ok(r) => {
                eprintln!("upload refused: {}", r.status());
                report.failed += 1;
            }
            Err(e) => {
                eprintln!("upload failed: {e}");
                report.failed += 1;
            }
        }
    }
    report.mean_ms = total_ms / report.done.max(1) as f64;
    report
}
