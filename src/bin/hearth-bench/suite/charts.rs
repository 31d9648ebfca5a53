//! The suite's SVG charts (only where a scenario ran at several sizes).

use super::Results;
use crate::chart::{Series, line_chart};
use crate::report::LoadReport;
use std::path::Path;

/// One line of a chart over `rows`: x from `x`, y from `y`.
fn series(
    rows: &[LoadReport],
    name: &'static str,
    color: &'static str,
    dashed: bool,
    x: impl Fn(&LoadReport) -> f64,
    y: impl Fn(&LoadReport) -> f64,
) -> Series {
    Series {
        name,
        color,
        dashed,
        points: rows.iter().map(|r| (x(r), y(r))).collect(),
    }
}

/// p50 and p99 (and p999 when asked) latency lines over `rows`.
fn latency_series(
    rows: &[LoadReport],
    x: impl Fn(&LoadReport) -> f64 + Copy,
    p999: bool,
) -> Vec<Series> {
    let mut lines = vec![
        series(rows, "p50", "#2ca02c", false, x, |r| r.latency.p50_ms),
        series(rows, "p99", "#ff7f0e", false, x, |r| r.latency.p99_ms),
    ];
    if p999 {
        lines.push(series(rows, "p999", "#9467bd", false, x, |r| {
            r.latency.p999_ms
        }));
    }
    lines
}

/// Writes the charts of `r` into `out`.
pub(super) fn write(out: &Path, r: &Results) -> anyhow::Result<()> {
    let conns = |x: &LoadReport| x.connections as f64;
    if r.idle.len() > 1 {
        let rss = line_chart(
            "Server RSS per connection",
            "connections",
            "KiB per connection",
            &[
                series(&r.idle, "measured", "#1f77b4", false, conns, |x| {
                    x.usage.rss_per_connection_bytes.unwrap_or(0.0) / 1024.0
                }),
                series(
                    &r.idle,
                    "bar: 10 KiB (seed)",
                    "#d62728",
                    true,
                    conns,
                    |_| 10.0,
                ),
            ],
        );
        std::fs::write(out.join("rss_per_connection.svg"), rss)?;
        let mut lines = latency_series(&r.idle, conns, true);
        lines.push(series(
            &r.idle,
            "bar: p99 100 ms",
            "#d62728",
            true,
            conns,
            |_| 100.0,
        ));
        let lat = line_chart(
            "Delivery latency at 10 msg/s to all",
            "connections",
            "milliseconds",
            &lines,
        );
        std::fs::write(out.join("latency_vs_connections.svg"), lat)?;
    }
    if r.fanout.len() > 1 {
        let fan = line_chart(
            "Fan-out latency, 10k connections",
            "messages per second (each to all)",
            "milliseconds",
            &latency_series(&r.fanout, |x| x.target_rate, false),
        );
        std::fs::write(out.join("fanout_latency.svg"), fan)?;
    }
    Ok(())
}
