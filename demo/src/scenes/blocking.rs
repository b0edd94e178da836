//! `blocking`: a task that blocks inside its poll (a `std::thread::sleep`
//! standing in for a synchronous read or a slow lock) stalls nothing else.
//! The runtime's stall watcher notices the stuck worker after
//! `stall_threshold`, counts it (`Metrics::stalls`), reports it to
//! `on_stall` (with `track_spawn_locations`: where the task was spawned),
//! and hands the tasks queued on that worker to the others, or to a
//! replacement worker when every worker is stuck. Then the same blocking
//! work done the right way, with `spawn_blocking`: no stall at all.
//!
//! The stall reports are collected and printed after the fact: `on_stall`
//! runs on the watcher thread and should stay short.

use std::{
    sync::{Arc, Mutex, mpsc},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use runtime_core::{Metrics, Queue, StallInfo, Task};

use crate::settings::{self, Settings};

/// How long the blocking work takes.
const BLOCK: Duration = Duration::from_millis(300);
/// A poll longer than this is a stall (the runtime's default, spelled out).
const THRESHOLD: Duration = Duration::from_millis(10);
/// Small tasks spawned around the blocking one.
const TASKS: usize = 100;

/// Runs the scene; returns the runtime's metrics at its end.
pub fn run<Q: Queue>(settings: &Settings) -> anyhow::Result<Metrics> {
    let reports = Arc::new(Mutex::new(Vec::<StallInfo>::new()));
    let seen = reports.clone();
    let rt = settings::finish(
        settings
            .builder::<Q>()
            .stall_threshold(Some(THRESHOLD))
            .track_spawn_locations(true)
            .on_stall(move |info| seen.lock().unwrap().push(info.clone())),
    )?;

    // The wrong way: blocking inside a poll. Half the small tasks are
    // spawned from inside the blocking task right before it blocks, so they
    // queue on its own worker; the other half from outside while it blocks.
    let waits = Waits::default();
    let (started, is_started) = mpsc::channel();
    let blocker = {
        let waits = waits.clone();
        rt.spawn(async move {
            let inside: Vec<_> = (0..TASKS / 2).map(|_| waits.spawn_small()).collect();
            let _ = started.send(());
            std::thread::sleep(BLOCK);
            (inside, waits.count())
        })
    };
    let blocker_id = blocker.id();
    is_started.recv_timeout(Duration::from_secs(10)).context("the blocking task never started")?;
    let outside: Vec<_> = rt.block_on(async { (0..TASKS / 2).map(|_| waits.spawn_small()).collect() });
    let (inside, ran_while_blocked) = rt.block_on(async {
        let (inside, ran) = blocker.await;
        for task in outside {
            task.await;
        }
        (inside, ran)
    });
    rt.block_on(async {
        for task in inside {
            task.await;
        }
    });
    println!("   a task blocked its worker for {BLOCK:?} (std::thread::sleep inside its poll)");
    println!(
        "   {TASKS} small tasks spawned around it: {ran_while_blocked} ran while it blocked, worst wait {:.1?} \
         (stall_threshold {THRESHOLD:?})",
        waits.worst()
    );
    let reports = reports.lock().unwrap().clone();
    match reports.iter().find(|r| r.task == Some(blocker_id)) {
        Some(report) => {
            let at =
                report.spawned_at.map_or_else(|| "?".to_owned(), |l| format!("{}:{}", l.file(), l.line()));
            println!(
                "   on_stall: task {blocker_id} spawned at {at}, stalled for {:.1?} when noticed",
                report.stalled_for
            );
        }
        None => println!("   on_stall: no report for task {blocker_id} ({} other reports)", reports.len()),
    }
    let stalls = rt.metrics().stalls;
    println!("   Metrics::stalls: {stalls}");

    // The right way: the same blocking work on the runtime's blocking pool.
    let waits = Waits::default();
    let ran_while_blocked = rt.block_on(async {
        let counter = waits.clone();
        let blocking = runtime_core::spawn_blocking(move || {
            std::thread::sleep(BLOCK);
            counter.count()
        });
        let small: Vec<_> = (0..TASKS).map(|_| waits.spawn_small()).collect();
        for task in small {
            task.await;
        }
        blocking.await
    });
    let metrics = rt.metrics();
    println!(
        "   spawn_blocking, the same {BLOCK:?} sleep on a pool thread: {ran_while_blocked} of {TASKS} small \
         tasks ran meanwhile, worst wait {:.1?}; Metrics::stalls still {}",
        waits.worst(),
        metrics.stalls
    );
    Ok(metrics)
}

/// How long the small tasks waited from spawn to their first poll.
#[derive(Clone, Default)]
struct Waits(Arc<Mutex<Vec<Duration>>>);

impl Waits {
    /// Spawns a small task that records its wait (on the current runtime).
    fn spawn_small(&self) -> Task<()> {
        let (waits, spawned) = (self.0.clone(), Instant::now());
        runtime_core::spawn(async move { waits.lock().unwrap().push(spawned.elapsed()) })
    }

    /// How many small tasks have run.
    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// The longest wait.
    fn worst(&self) -> Duration {
        self.0.lock().unwrap().iter().copied().max().unwrap_or_default()
    }
}
