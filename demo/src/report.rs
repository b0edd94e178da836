//! The lines printed around each scene, and how the scenes print latencies.

use std::time::Duration;

use runtime_core::Metrics;

/// The scene's title line.
pub fn heading(name: &str, what: &str) {
    println!();
    println!("== {name}: {what}");
}

/// The scene's closing line.
pub fn summary(metrics: &Metrics) {
    println!(
        "   metrics: spawned {}, completed {}, panicked {}, cancelled {}, steals {}, polls {}",
        metrics.spawned,
        metrics.completed,
        metrics.panicked,
        metrics.cancelled,
        metrics.steals,
        metrics.polls
    );
}

/// The `p`th percentile of sorted `values` (nearest rank).
pub fn percentile(values: &[Duration], p: usize) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let rank = (values.len() * p).div_ceil(100).max(1);
    values[rank - 1]
}

/// `d` in µs below a millisecond, in ms above.
pub fn show(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        format!("{} µs", d.as_micros())
    } else {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    }
}
