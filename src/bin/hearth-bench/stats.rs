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

/// A delivery ratio: `got / expected`, 1 when nothing was expected.
pub fn ratio(got: u64, expected: u64) -> f64 {
    if expected == 0 {
        1.0
    } else {
        got as f64 / expected as f64
    }
}
