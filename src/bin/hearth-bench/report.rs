//! Results of a run: a table for people, JSON for the suite.

use crate::usage::ServerUsage;
use hdrhistogram::Histogram;
use serde::Serialize;

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub samples: u64,
}

impl Latency {
    /// From a histogram of microseconds.
    pub fn from_micros(h: &Histogram<u64>) -> Self {
        let ms = |v: u64| v as f64 / 1000.0;
        Self {
            p50_ms: ms(h.value_at_quantile(0.50)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
            samples: h.len(),
        }
    }
}

/// Everything a `load` run measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadReport {
    pub connections: usize,
    pub connect_failures: u64,
    pub connect: Latency,
    pub users: usize,
    pub senders: usize,
    pub http_senders: bool,
    pub target_rate: f64,
    pub sent: u64,
    pub acked: u64,
    pub send_rate: f64,
    pub expected_deliveries: u64,
    pub deliveries: u64,
    pub delivery_ratio: f64,
    pub deliveries_per_sec: f64,
    pub out_of_order: u64,
    pub error_frames: u64,
    pub rate_limited: u64,
    pub closed_early: u64,
    pub latency: Latency,
    pub ack_latency: Latency,
    pub bytes_received: u64,
    /// Bytes of the message frames alone (headers included).
    pub message_bytes: u64,
    /// With several servers (`--url` repeated): the nodes, and the
    /// deliveries split by whether the receiver is on the sender's node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterReport>,
    /// Uploads made during the load (`--upload-mb`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploads: Option<crate::uploads::UploadReport>,
    #[serde(flatten)]
    pub usage: ServerUsage,
}

/// A `load` run over the nodes of a cluster.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClusterReport {
    pub nodes: Vec<NodeLoad>,
    /// Deliveries to connections on the node the message was sent to.
    pub same_node: Deliveries,
    /// Deliveries to connections on the other nodes.
    pub cross_node: Deliveries,
}

/// One node's share of a cluster run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NodeLoad {
    pub url: String,
    pub connections: usize,
    pub senders: usize,
    /// Messages sent through this node and acked.
    pub acked: u64,
}

/// One class of deliveries.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Deliveries {
    pub expected: u64,
    pub delivered: u64,
    pub ratio: f64,
    pub latency: Latency,
}

impl Deliveries {
    fn print(&self, label: &str) {
        println!(
            "{label:<19}{} of {} expected: ratio {:.6} | p50 {:.2} ms | p99 {:.2} ms | p999 {:.2} ms | max {:.2} ms",
            self.delivered,
            self.expected,
            self.ratio,
            self.latency.p50_ms,
            self.latency.p99_ms,
            self.latency.p999_ms,
            self.latency.max_ms
        );
    }
}

impl LoadReport {
    /// No loss, no duplicates, no errors.
    pub fn passed(&self) -> bool {
        self.connect_failures == 0
            && self.closed_early == 0
            && self.out_of_order == 0
            && self.error_frames == 0
            && self.acked == self.sent
            && self.deliveries == self.expected_deliveries
            && self.cluster.as_ref().is_none_or(|c| {
                c.same_node.delivered == c.same_node.expected
                    && c.cross_node.delivered == c.cross_node.expected
            })
    }

    /// Prints a human-readable summary.
    pub fn print(&self) {
        println!(
            "connections        {} ({} failed), connect p50 {:.1} ms p99 {:.1} ms max {:.1} ms",
            self.connections,
            self.connect_failures,
            self.connect.p50_ms,
            self.connect.p99_ms,
            self.connect.max_ms
        );
        self.usage.print();
        println!(
            "sent               {} by {} {} senders ({:.1} msg/s, target {:.1}), acked {}",
            self.sent,
            self.senders,
            if self.http_senders {
                "HTTP"
            } else {
                "WebSocket"
            },
            self.send_rate,
            self.target_rate,
            self.acked
        );
        println!(
            "ack latency        p50 {:.2} ms | p99 {:.2} ms | max {:.2} ms ({} acks)",
            self.ack_latency.p50_ms,
            self.ack_latency.p99_ms,
            self.ack_latency.max_ms,
            self.ack_latency.samples
        );
        println!(
            "deliveries         {} of {} expected: ratio {:.6} ({:.0}/s)",
            self.deliveries, self.expected_deliveries, self.delivery_ratio, self.deliveries_per_sec
        );
        println!(
            "latency            p50 {:.2} ms | p99 {:.2} ms | p999 {:.2} ms | max {:.2} ms ({} samples)",
            self.latency.p50_ms,
            self.latency.p99_ms,
            self.latency.p999_ms,
            self.latency.max_ms,
            self.latency.samples
        );
        if let Some(c) = &self.cluster {
            for (i, n) in c.nodes.iter().enumerate() {
                println!(
                    "  node {:<2} {}  {} connections | {} senders | {} acked",
                    i + 1,
                    n.url,
                    n.connections,
                    n.senders,
                    n.acked
                );
            }
            c.same_node.print("same-node");
            c.cross_node.print("cross-node");
        }
        if let Some(u) = &self.uploads {
            println!(
                "uploads            {} of {} MB ({} failed) | mean {:.0} ms | max {:.0} ms",
                u.done, u.mb, u.failed, u.mean_ms, u.max_ms
            );
        }
        println!(
            "problems           out-of-order/duplicate {} | error frames {} (rate limited {}) | closed early {}",
            self.out_of_order, self.error_frames, self.rate_limited, self.closed_early
        );
        println!(
            "bytes received     {:.1} MiB",
            self.bytes_received as f64 / 1048576.0
        );
    }
}
