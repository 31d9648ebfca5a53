//! What a `team` run measured: overall, and per room size class.

use crate::report::Latency;
use crate::stats::ratio;
use crate::usage::ServerUsage;
use serde::Serialize;

/// One room size class: its rooms and what they got.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClassReport {
    /// `10 members`, …, `DM`.
    pub name: String,
    pub members: usize,
    pub rooms: usize,
    pub acked: u64,
    pub expected_deliveries: u64,
    pub deliveries: u64,
    pub delivery_ratio: f64,
    pub latency: Latency,
}

/// Everything a `team` run measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TeamReport {
    pub connections: usize,
    pub connect_failures: u64,
    pub connect: Latency,
    pub users: usize,
    pub rooms: usize,
    pub dms: usize,
    /// Rooms (without the lobby) and DMs per user, on average.
    pub rooms_per_user: f64,
    pub dms_per_user: f64,
    pub setup_secs: f64,
    pub target_rate: f64,
    pub sent: u64,
    pub acked: u64,
    pub send_rate: f64,
    pub ack_rate: f64,
    pub send_errors: u64,
    pub ack_latency: Latency,
    pub expected_deliveries: u64,
    pub deliveries: u64,
    pub delivery_ratio: f64,
    pub deliveries_per_sec: f64,
    /// A `seq` not above the connection's previous one (duplicate or reorder).
    pub out_of_order: u64,
    /// A message of a room the connection's user is not in.
    pub leaked: u64,
    /// Stream events other than messages (none expected after the set-up).
    pub other_events: u64,
    pub error_frames: u64,
    pub closed_early: u64,
    pub bytes_received: u64,
    pub latency: Latency,
    pub classes: Vec<ClassReport>,
    #[serde(flatten)]
    pub usage: ServerUsage,
}

impl TeamReport {
    /// Every connection got exactly its rooms' messages, in order, without errors.
    pub fn passed(&self) -> bool {
        self.connect_failures == 0
            && self.closed_early == 0
            && self.out_of_order == 0
            && self.leaked == 0
            && self.error_frames == 0
            && self.send_errors == 0
            && self.acked == self.sent
            && self.deliveries == self.expected_deliveries
    }

    /// Sets the totals from the classes.
    pub fn add_up_classes(&mut self) {
        self.expected_deliveries = self.classes.iter().map(|c| c.expected_deliveries).sum();
        self.deliveries = self.classes.iter().map(|c| c.deliveries).sum();
        self.delivery_ratio = ratio(self.deliveries, self.expected_deliveries);
    }

    /// Prints a human-readable summary.
    pub fn print(&self) {
        println!(
            "connections        {} ({} failed) of {} users, connect p50 {:.1} ms p99 {:.1} ms",
            self.connections,
            self.connect_failures,
            self.users,
            self.connect.p50_ms,
            self.connect.p99_ms
        );
        println!(
            "rooms              {} rooms ({}), {} DMs; per user {:.1} rooms + {:.1} DMs + the lobby (set-up {:.1} s)",
            self.rooms,
            self.classes
                .iter()
                .filter(|c| c.name != "DM")
                .map(|c| format!("{} × {}", c.rooms, c.members))
                .collect::<Vec<_>>()
                .join(", "),
            self.dms,
            self.rooms_per_user,
            self.dms_per_user,
            self.setup_secs
        );
        self.usage.print();
        println!(
            "sent               {} ({:.1} msg/s, target {:.1}), acked {} ({:.1} msg/s), send errors {}",
            self.sent,
            self.send_rate,
            self.target_rate,
            self.acked,
            self.ack_rate,
            self.send_errors
        );
        println!(
            "ack latency        p50 {:.2} ms | p99 {:.2} ms | max {:.2} ms",
            self.ack_latency.p50_ms, self.ack_latency.p99_ms, self.ack_latency.max_ms
        );
        println!(
            "deliveries         {} of {} expected: ratio {:.6} ({:.0}/s)",
            self.deliveries, self.expected_deliveries, self.delivery_ratio, self.deliveries_per_sec
        );
        for c in &self.classes {
            println!(
                "  {:<16} {:>4} rooms, {:>6} msgs, {:>9} of {:>9} deliveries, p50 {:.2} ms | p99 {:.2} ms | max {:.2} ms",
                c.name,
                c.rooms,
                c.acked,
                c.deliveries,
                c.expected_deliveries,
                c.latency.p50_ms,
                c.latency.p99_ms,
                c.latency.max_ms
            );
        }
        println!(
            "latency            p50 {:.2} ms | p99 {:.2} ms | p999 {:.2} ms | max {:.2} ms ({} samples)",
            self.latency.p50_ms,
            self.latency.p99_ms,
            self.latency.p999_ms,
            self.latency.max_ms,
            self.latency.samples
        );
        println!(
            "problems           out-of-order/duplicate {} | other rooms' messages {} | other events {} | error frames {} | closed early {}",
            self.out_of_order, self.leaked, self.other_events, self.error_frames, self.closed_early
        );
        println!(
            "bytes received     {:.1} MiB",
            self.bytes_received as f64 / 1048576.0
        );
    }
}
