//! Shared measuring helpers: clock stamps, latency histograms, number parsing.

use hdrhistogram::Histogram;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch (the stamp put in message contents).
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// A histogram of microseconds, 1 µs to 120 s, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid histogram bounds")
}

/// Histograms spread over locks so concurrent recorders rarely meet.
pub struct Latencies(Vec<Mutex<Histogram<u64>>>);

impl Latencies {
    /// `shards` empty histograms.
    pub fn new(shards: usize) -> Self {
        Self(
            (0..shards.max(1))
                .map(|_| Mutex::new(histogram()))
                .collect(),
        )
    }

    /// Records one latency in microseconds.
    pub fn record(&self, shard: usize, micros: u64) {
        if let Ok(mut h) = self.0[shard % self.0.len()].lock() {
            let _ = h.record(micros.max(1));
        }
    }

    /// All shards merged.
    pub fn merged(&self) -> Histogram<u64> {
        let mut all = histogram();
        for shard in &self.0 {
            if let Ok(h) = shard.lock() {
                let _ = all.add(&*h);
            }
        }
        all
    }
}

/// The number at the start of `s`.
pub fn digits(s: &str) -> Option<i64> {
    let end = s
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    s[..end].parse().ok()
}

/// The send stamp in a bench message's content (`bench <run> <stamp> …`).
pub fn stamp_in(content: &str, run: &str) -> Option<u64> {
    let rest = content
        .strip_prefix("bench ")?
        .strip_prefix(run)?
        .strip_prefix(' ')?;
    digits(rest).and_then(|v| u64::try_from(v).ok())
}

/// The content of a bench message: the run tag, the send stamp, padding.
pub fn content(run: &str, pad: &str) -> String {
    format!("bench {run} {} {pad}", now_us())
}

/// The content of a bench message sent through node `node` of a cluster
/// (`None`: a single server, the plain [`content`]): `:node` follows the
/// send stamp, so receivers can tell same-node from cross-node deliveries.
pub fn content_via(run: &str, node: Option<usize>, pad: &str) -> String {
    match node {
        Some(node) => format!("bench {run} {}:{node} {pad}", now_us()),
        None => content(run, pad),
    }
}

/// The node after a send stamp (`1234:1 …` → 1), as [`content_via`] wrote it.
pub fn node_after_stamp(s: &str) -> Option<usize> {
    let rest = s.trim_start_matches(|c: char| c.is_ascii_digit());
    digits(rest.strip_prefix(':')?).and_then(|v| usize::try_from(v).ok())
}

/// A delivery ratio: `got / expected`, 1 when nothing was expected.
pub fn ratio(got: u64, expected: u64) -> f64 {
    if expected == 0 {
        1.0
    } else {
        got as f64 / expected as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_node_follows_the_stamp() {
        let c = content_via("ab12", Some(2), "xx");
        let after = c.strip_prefix("bench ab12 ").expect("tagged");
        assert!(digits(after).is_some_and(|v| v > 0));
        assert_eq!(node_after_stamp(after), Some(2));
        assert_eq!(stamp_in(&c, "ab12"), digits(after).map(|v| v as u64));
        // A single server's content carries no node.
        let plain = content_via("ab12", None, "");
        assert_eq!(
            plain,
            format!("bench ab12 {} ", digits(&plain[11..]).expect("stamp"))
        );
        assert_eq!(node_after_stamp(&plain[11..]), None);
        assert_eq!(node_after_stamp("123:x"), None);
    }
}
