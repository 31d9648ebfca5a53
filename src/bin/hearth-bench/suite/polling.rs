//! RESULTS.md on polling vs WebSocket: what each costs at the same load,
//! and what WebSocket saves beside the seed's claims.

use super::markdown::pct;
use super::{REALISTIC_RATE, Results};
use crate::poll::PollReport;
use crate::report::LoadReport;
use std::fmt::Write as _;

/// The polling sections (at the seed's 10 msg/s, at realistic traffic).
pub(super) fn markdown(md: &mut String, r: &Results) {
    if let Some(ws) = &r.polling_ws {
        let _ = writeln!(
            md,
            "\n### Polling vs WebSocket ({} clients, 10 msg/s)\n",
            ws.connections
        );
        polling_table(md, ws, &r.polling);
        let columns: Vec<_> = r
            .polling
            .iter()
            .map(|p| (format!("vs poll every {} s", p.interval_ms / 1000), ws, p))
            .collect();
        let _ = writeln!(md);
        claims_table(md, &columns);
    }
    if let Some(ws) = &r.polling_realistic_ws {
        let _ = writeln!(
            md,
            "\n### Polling vs WebSocket at realistic traffic ({} clients, one message every {:.0} s in total)\n",
            ws.connections,
            1.0 / REALISTIC_RATE
        );
        polling_table(md, ws, &r.polling_realistic);
        for p in &r.polling_realistic {
            let _ = writeln!(
                md,
                "\nPolls every {} s: {} requests, {:.2} messages per poll on average.",
                p.interval_ms / 1000,
                p.requests,
                p.deliveries as f64 / p.requests.max(1) as f64
            );
        }
        // Side by side with the seed's 10 msg/s, when that ran too.
        let mut columns: Vec<_> = Vec::new();
        if let Some(ws10) = &r.polling_ws {
            columns.extend(r.polling.iter().map(|p| {
                (
                    format!("10 msg/s, poll every {} s", p.interval_ms / 1000),
                    ws10,
                    p,
                )
            }));
        }
        columns.extend(r.polling_realistic.iter().map(|p| {
            (
                format!(
                    "{} msg/s, poll every {} s",
                    REALISTIC_RATE,
                    p.interval_ms / 1000
                ),
                ws,
                p,
            )
        }));
        let _ = writeln!(md);
        claims_table(md, &columns);
    }
}

/// Bytes of the message frames per delivered message.
fn ws_bytes(ws: &LoadReport) -> f64 {
    if ws.deliveries == 0 {
        0.0
    } else {
        ws.message_bytes as f64 / ws.deliveries as f64
    }
}

/// The measurements of a WebSocket run and of polling runs at the same load.
fn polling_table(md: &mut String, ws: &LoadReport, polls: &[PollReport]) {
    let _ = writeln!(
        md,
        "| client | server CPU % | p50 / p99 latency ms | bytes per delivered message | delivery ratio |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|");
    let _ = writeln!(
        md,
        "| WebSocket | {} | {:.1} / {:.1} | {:.0} | {:.6} |",
        pct(ws.usage.load_cpu_percent),
        ws.latency.p50_ms,
        ws.latency.p99_ms,
        ws_bytes(ws),
        ws.delivery_ratio
    );
    for p in polls {
        let _ = writeln!(
            md,
            "| poll every {} s | {} | {:.1} / {:.1} | {:.0} | {:.6} |",
            p.interval_ms / 1000,
            pct(p.server_cpu_percent),
            p.latency.p50_ms,
            p.latency.p99_ms,
            p.bytes_per_delivery,
            p.delivery_ratio
        );
    }
}

/// What WebSocket saves against polling, one column per (label, WebSocket
/// run, polling run), beside the seed's claims.
fn claims_table(md: &mut String, columns: &[(String, &LoadReport, &PollReport)]) {
    let labels: Vec<&str> = columns.iter().map(|c| c.0.as_str()).collect();
    let _ = writeln!(
        md,
        "| reduction by WebSocket | seed's claim | {} |",
        labels.join(" | ")
    );
    let _ = writeln!(md, "|---|---:|{}", "---:|".repeat(columns.len()));
    let red = |ws: f64, poll: f64| {
        if poll > 0.0 {
            format!("{:.1} %", (1.0 - ws / poll) * 100.0)
        } else {
            "n/a".into()
        }
    };
    let row = |name: &str, claim: &str, f: &dyn Fn(&LoadReport, &PollReport) -> String| {
        format!(
            "| {name} | {claim} | {} |",
            columns
                .iter()
                .map(|(_, ws, p)| f(ws, p))
                .collect::<Vec<_>>()
                .join(" | ")
        )
    };
    let _ = writeln!(
        md,
        "{}",
        row("server load (CPU)", "80 %", &|ws, p| red(
            ws.usage.load_cpu_percent.unwrap_or(0.0),
            p.server_cpu_percent.unwrap_or(0.0)
        ))
    );
    let _ = writeln!(
        md,
        "{}",
        row("latency (p50)", "95 %", &|ws, p| red(
            ws.latency.p50_ms,
            p.latency.p50_ms
        ))
    );
    let _ = writeln!(
        md,
        "{}",
        row("bandwidth (bytes per message)", "70 %", &|ws, p| red(
            ws_bytes(ws),
            p.bytes_per_delivery
        ))
    );
}
