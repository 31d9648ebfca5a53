//! Logging (tracing) and metrics (Prometheus text) set-up, and the metric names.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::io::IsTerminal;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Metric names, in one place so the exporter, the code and the docs agree.
pub mod names {
    /// Gauge: WebSocket connections open now.
    pub const WS_CONNECTIONS: &str = "hearth_ws_connections";
    /// Counter: WebSocket connections opened.
    pub const WS_OPENED: &str = "hearth_ws_connections_opened_total";
    /// Counter: WebSocket connections closed.
    pub const WS_CLOSED: &str = "hearth_ws_connections_closed_total";
    /// Counter: messages committed to the store.
    pub const MESSAGES_STORED: &str = "hearth_messages_stored_total";
    /// Counter: message frames written to WebSocket clients.
    pub const DELIVERIES: &str = "hearth_deliveries_total";
    /// Counter: times a lagging connection was resynced from the store.
    pub const RESYNCS: &str = "hearth_ws_resyncs_total";
    /// Counter: connections dropped because their socket stayed blocked (or closed with 4008).
    pub const SLOW_CLOSES: &str = "hearth_ws_slow_closes_total";
    /// Counter: sends refused by the rate limit.
    pub const RATE_LIMITED: &str = "hearth_rate_limited_total";
    /// Counter: connections or WebSocket upgrades refused by a cap.
    pub const CONNECTIONS_REFUSED: &str = "hearth_connections_refused_total";
    /// Counter: reads refused or paced by the per-user read budget.
    pub const READS_LIMITED: &str = "hearth_reads_limited_total";
    /// Counter: requests refused for a bad or missing token or password.
    pub const AUTH_FAILURES: &str = "hearth_auth_failures_total";
    /// Histogram: seconds per write transaction (group commit).
    pub const DB_COMMIT_SECONDS: &str = "hearth_db_commit_seconds";
    /// Histogram: requests per write transaction.
    pub const DB_BATCH_SIZE: &str = "hearth_db_batch_size";
}

/// Starts the log subscriber. `filter` uses `RUST_LOG` syntax (e.g. `info,hearth=debug`).
pub fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Ignore the error when a subscriber is already set (tests start many apps).
    // Logs go to stderr: stdout carries the start-up lines people and scripts read.
    // Colours only on a terminal: journald and `docker logs` would show the escapes.
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

static PROMETHEUS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide metrics recorder once and returns its handle
/// (`None` if another recorder was installed first).
pub fn metrics_handle() -> Option<PrometheusHandle> {
    PROMETHEUS
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(names::DB_COMMIT_SECONDS.into()),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
                    ],
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(names::DB_BATCH_SIZE.into()),
                        &[
                            1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
                        ],
                    )
                });
            match builder.map(PrometheusBuilder::install_recorder) {
                Ok(Ok(handle)) => Some(handle),
                Ok(Err(e)) | Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .clone()
}

/// Live counts for the periodic stats line, kept beside the metrics (the
/// exporter's values cannot be read back cheaply).
pub struct Stats {
    connections: AtomicI64,
    deliveries: AtomicU64,
    deliveries_metric: metrics::Counter,
}

impl Stats {
    /// Counters bound to the installed metrics recorder.
    pub fn new() -> Self {
        Self {
            connections: AtomicI64::new(0),
            deliveries: AtomicU64::new(0),
            deliveries_metric: metrics::counter!(names::DELIVERIES),
        }
    }

    /// A WebSocket opened.
    pub fn opened(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
        metrics::gauge!(names::WS_CONNECTIONS).increment(1.0);
        metrics::counter!(names::WS_OPENED).increment(1);
    }

    /// A WebSocket closed.
    pub fn closed(&self) {
        self.connections.fetch_sub(1, Ordering::Relaxed);
        metrics::gauge!(names::WS_CONNECTIONS).decrement(1.0);
        metrics::counter!(names::WS_CLOSED).increment(1);
    }

    /// `n` message frames were written to a client.
    pub fn delivered(&self, n: u64) {
        if n > 0 {
            self.deliveries.fetch_add(n, Ordering::Relaxed);
            self.deliveries_metric.increment(n);
        }
    }

    /// Open WebSockets.
    pub fn connections(&self) -> i64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Message frames written so far.
    pub fn deliveries(&self) -> u64 {
        self.deliveries.load(Ordering::Relaxed)
    }
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}
