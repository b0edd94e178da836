//! `background`: a task ticks on a timer while foreground work runs, and is
//! dropped cleanly when the runtime shuts down.
//!
//! The timers are the runtime's own (`runtime_core::time`, feature `net`):
//! a timing wheel that the worker waiting in the I/O driver waits on, so the
//! worker that fires a timer runs the task it wakes, and every worker is
//! free in between (no `thread::sleep` inside a `poll`).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use runtime_core::{Metrics, Queue, time};

use crate::settings::Settings;

const TICK: Duration = Duration::from_millis(100);
/// Foreground jobs, and the timer steps each waits through.
const JOBS: u64 = 3;
const STEPS: u32 = 3;
const STEP: Duration = Duration::from_millis(40);

/// Lives inside the ticker's future: dropped with it, at shutdown.
struct Ticker {
    ticks: Arc<AtomicU32>,
}

impl Drop for Ticker {
    fn drop(&mut self) {
        println!(
            "   background: ticker dropped by the shutdown after {} ticks",
            self.ticks.load(Ordering::Relaxed)
        );
    }
}

/// Runs the scene; returns the runtime's metrics at its end.
pub fn run<Q: Queue>(settings: &Settings) -> anyhow::Result<Metrics> {
    let rt = settings.runtime::<Q>()?;
    let handle = rt.handle();
    let start = Instant::now();
    let ms = move || start.elapsed().as_millis();

    let ticks = Arc::new(AtomicU32::new(0));
    let ticker = Ticker { ticks: ticks.clone() };
    rt.spawn(async move {
        let ticker = ticker;
        // The first tick a TICK from now (`interval`'s first is at once).
        let mut interval = time::interval_at(Instant::now() + TICK, TICK);
        loop {
            interval.tick().await;
            let n = ticker.ticks.fetch_add(1, Ordering::Relaxed) + 1;
            println!("   background: tick {n} at {:>3} ms", ms());
        }
    })
    .detach();

    // Foreground: job `j` waits `STEPS` times for `j * STEP`.
    let jobs: Vec<_> = (1..=JOBS)
        .map(|j| {
            rt.spawn(async move {
                for _ in 0..STEPS {
                    time::sleep(STEP * j as u32).await;
                }
                println!("   foreground: job {j} done at {:>3} ms", ms());
            })
        })
        .collect();
    rt.block_on(async {
        for job in jobs {
            job.await;
        }
    });

    println!("   foreground done at {:>3} ms; shutting down with the ticker still running", ms());
    rt.shutdown_timeout(Duration::from_secs(1));
    println!("   shut down at {:>3} ms after {} ticks", ms(), ticks.load(Ordering::Relaxed));
    Ok(handle.metrics())
}
