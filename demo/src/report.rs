//! The lines printed around each scene.

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
