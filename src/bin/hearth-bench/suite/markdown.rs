//! RESULTS.md: a table per scenario, with the seed's bars beside the
//! measurements of a full run.

use super::{Results, polling};
use crate::report::LoadReport;
use crate::team::TeamReport;
use std::fmt::Write as _;

/// The whole report.
pub fn markdown(r: &Results) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Machine: {}. Server and load client on the same machine{}.\n",
        r.machine,
        if r.quick { " (quick smoke run)" } else { "" }
    );
    idle(&mut md, r);
    fanout(&mut md, r);
    ingest(&mut md, r);
    polling::markdown(&mut md, r);
    if let Some(t) = &r.team {
        team(&mut md, t, r.quick);
    }
    md
}

/// A bar met or not.
pub(super) fn yes(ok: bool) -> &'static str {
    if ok { "✅" } else { "❌" }
}

/// Bytes in KiB, one decimal.
pub(super) fn kib(bytes: Option<f64>) -> String {
    bytes.map_or("n/a".into(), |b| format!("{:.1}", b / 1024.0))
}

/// A percentage, one decimal.
pub(super) fn pct(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.1}"))
}

/// KiB in MiB, no decimals.
pub(super) fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".into(), |k| format!("{:.0}", k as f64 / 1024.0))
}

/// Idle scale: memory and CPU per connection.
fn idle(md: &mut String, r: &Results) {
    if r.idle.is_empty() {
        return;
    }
    let _ = writeln!(md, "### Idle scale (then 10 msg/s to all)\n");
    let _ = writeln!(
        md,
        "| connections | connect p50 / p99 ms | RSS MiB | RSS per connection KiB | idle CPU % | delivery ratio | p50 / p99 / p999 / max ms |"
    );
    let _ = writeln!(md, "|---:|---:|---:|---:|---:|---:|---:|");
    for x in &r.idle {
        let _ = writeln!(
            md,
            "| {} | {:.1} / {:.1} | {} | {} | {} | {:.6} | {:.1} / {:.1} / {:.1} / {:.1} |",
            x.connections,
            x.connect.p50_ms,
            x.connect.p99_ms,
            mib(x.usage.server_rss_idle_kib),
            kib(x.usage.rss_per_connection_bytes),
            pct(x.usage.idle_cpu_percent),
            x.delivery_ratio,
            x.latency.p50_ms,
            x.latency.p99_ms,
            x.latency.p999_ms,
            x.latency.max_ms
        );
    }
    if let Some(x) = r.idle.iter().find(|x| x.connections >= 10_000 && !r.quick) {
        let per = x.usage.rss_per_connection_bytes.unwrap_or(f64::MAX) / 1024.0;
        let _ = writeln!(
            md,
            "\nBars at 10k: ≤ 10 KiB per connection {} (aim ≤ 6 KiB {}); idle CPU < 1 % {}.",
            yes(per <= 10.0),
            yes(per <= 6.0),
            yes(x.usage.idle_cpu_percent.unwrap_or(100.0) < 1.0)
        );
    }
}

/// Fan-out: deliveries per second and latency.
fn fanout(md: &mut String, r: &Results) {
    if r.fanout.is_empty() {
        return;
    }
    let _ = writeln!(md, "\n### Fan-out\n");
    let _ = writeln!(
        md,
        "| connections | msg/s | deliveries/s | delivery ratio | p50 / p99 / p999 / max ms | server CPU % | server RSS MiB | MiB received |"
    );
    let _ = writeln!(md, "|---:|---:|---:|---:|---:|---:|---:|---:|");
    for x in &r.fanout {
        let _ = writeln!(
            md,
            "| {} | {:.0} | {:.0} | {:.6} | {:.1} / {:.1} / {:.1} / {:.1} | {} | {} | {:.0} |",
            x.connections,
            x.send_rate,
            x.deliveries_per_sec,
            x.delivery_ratio,
            x.latency.p50_ms,
            x.latency.p99_ms,
            x.latency.p999_ms,
            x.latency.max_ms,
            pct(x.usage.load_cpu_percent),
            mib(x.usage.server_rss_peak_kib),
            x.bytes_received as f64 / 1048576.0
        );
    }
    let lossless = r.fanout.iter().all(LoadReport::passed);
    let ten = r.fanout.iter().find(|x| (x.target_rate - 10.0).abs() < 0.5);
    let best = r
        .fanout
        .iter()
        .filter(|x| x.passed())
        .map(|x| x.deliveries_per_sec)
        .fold(0.0, f64::max);
    if r.quick {
        let _ = writeln!(md, "\nZero loss {}.", yes(lossless));
    } else {
        let _ = writeln!(
            md,
            "\nBars: zero loss at every rate {}; p99 ≤ 100 ms at 10 msg/s {}; aim ≥ 500,000 deliveries/s with zero loss {} ({best:.0}/s).",
            yes(lossless),
            yes(ten.is_some_and(|x| x.latency.p99_ms <= 100.0)),
            yes(best >= 500_000.0)
        );
    }
}

/// Ingest: the highest rate acked and delivered.
fn ingest(md: &mut String, r: &Results) {
    if r.ingest.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "\n### Ingest (HTTP senders, ack after commit; 100 WebSocket receivers)\n"
    );
    let _ = writeln!(
        md,
        "| target msg/s | achieved msg/s | acked | delivery ratio | ack p50 / p99 ms | delivery p50 / p99 ms | server CPU % |"
    );
    let _ = writeln!(md, "|---:|---:|---:|---:|---:|---:|---:|");
    for x in &r.ingest {
        let _ = writeln!(
            md,
            "| {:.0} | {:.0} | {} | {:.6} | {:.1} / {:.1} | {:.1} / {:.1} | {} |",
            x.target_rate,
            x.send_rate,
            x.acked,
            x.delivery_ratio,
            x.ack_latency.p50_ms,
            x.ack_latency.p99_ms,
            x.latency.p50_ms,
            x.latency.p99_ms,
            pct(x.usage.load_cpu_percent)
        );
    }
    let best = r
        .ingest
        .iter()
        .filter(|x| x.passed())
        .map(|x| x.send_rate)
        .fold(0.0, f64::max);
    let _ = write!(
        md,
        "\nHighest achieved rate with every message acked and delivered: {best:.0} msg/s."
    );
    if !r.quick {
        let _ = write!(
            md,
            " Bars: ≥ 10,000 msg/s {}; aim ≥ 30,000 {}.",
            yes(best >= 10_000.0),
            yes(best >= 30_000.0)
        );
    }
    let _ = writeln!(md);
}

/// The team scenario: set-up, load, and latency per room size class.
fn team(md: &mut String, t: &TeamReport, quick: bool) {
    let _ = writeln!(
        md,
        "\n### Rooms and direct messages (v2 stream, HTTP senders to random rooms and DMs)\n"
    );
    let rooms = t
        .classes
        .iter()
        .filter(|c| c.name != "DM")
        .map(|c| format!("{}×{}", c.rooms, c.members))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(
        md,
        "| connections | users | rooms (count×members) | DMs | rooms + DMs per user | sent / acked msg/s | delivery ratio | deliveries/s | server CPU % load / idle | RSS per connection KiB |"
    );
    let _ = writeln!(md, "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        md,
        "| {} | {} | {} | {} | {:.1} + {:.1} | {:.1} / {:.1} | {:.6} | {:.0} | {} / {} | {} |",
        t.connections,
        t.users,
        rooms,
        t.dms,
        t.rooms_per_user,
        t.dms_per_user,
        t.send_rate,
        t.ack_rate,
        t.delivery_ratio,
        t.deliveries_per_sec,
        pct(t.usage.load_cpu_percent),
        pct(t.usage.idle_cpu_percent),
        kib(t.usage.rss_per_connection_bytes)
    );
    let _ = writeln!(
        md,
        "\n| room size | rooms | messages | deliveries | delivery ratio | p50 / p99 / max ms |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|");
    for c in &t.classes {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {:.6} | {:.1} / {:.1} / {:.1} |",
            c.name,
            c.rooms,
            c.acked,
            c.deliveries,
            c.delivery_ratio,
            c.latency.p50_ms,
            c.latency.p99_ms,
            c.latency.max_ms
        );
    }
    let _ = writeln!(
        md,
        "\nEvery connection in order and only its rooms' messages: {} (out of order or duplicate {}, other rooms' {}, errors {}, closed {}); ack p50 / p99 {:.1} / {:.1} ms.",
        yes(t.passed()),
        t.out_of_order,
        t.leaked,
        t.error_frames + t.send_errors,
        t.closed_early,
        t.ack_latency.p50_ms,
        t.ack_latency.p99_ms
    );
    if !quick {
        let per = t.usage.rss_per_connection_bytes.unwrap_or(f64::MAX) / 1024.0;
        let _ = writeln!(
            md,
            "Bars: delivery ratio exactly 1.0 {}; ≤ 10 KiB per connection with {:.0} rooms per user (lobby, rooms, DMs) {}.",
            yes(t.deliveries == t.expected_deliveries),
            1.0 + t.rooms_per_user + t.dms_per_user,
            yes(per <= 10.0)
        );
    }
}
