//! A `Queue` of your own, picked with `#[pluggable_runtime::main(queue = ...)]`:
//! a `std::sync::Mutex<VecDeque>` that counts what the runtime asks of it.
//!
//! ```text
//! cargo run -p pluggable-runtime --example custom_queue   # runs a workload on it, prints tasks/s
//! ```
//!
//! The runtime owns parking, waking and stealing; a backend is only a
//! non-blocking FIFO of `Runnable`s (`pop` must never wait). The runtime
//! uses it for its shared queues (spawns and wakes from outside a worker)
//! and each worker's local queue.
//!
//! To benchmark it against the built-in backends, tokio and async-executor,
//! put the type in a library crate (say `../my_queue`, with `pub struct
//! CountingQueue` in its `lib.rs`) and run, from this repository's root:
//!
//! ```text
//! cargo xtask bench --queue my_queue::CountingQueue --queue-path ../my_queue --quick
//! ```
//!
//! Dependencies: `pluggable-runtime = { path = "…" }`; for its conformance
//! suite, `runtime-core = { path = "…", features = ["testing"] }` as a
//! dev-dependency and `runtime_core::queue_conformance!(my_queue::CountingQueue);`
//! in `tests/conformance.rs`.

use std::{
    collections::VecDeque,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use pluggable_runtime::{Queue, Runnable};

/// How often the runtime pushed to and popped from any `CountingQueue`.
static PUSHES: AtomicU64 = AtomicU64::new(0);
static POPS: AtomicU64 = AtomicU64::new(0);

/// A FIFO behind a std mutex, counting pushes and successful pops.
#[derive(Debug, Default)]
pub(crate) struct CountingQueue {
    queue: Mutex<VecDeque<Runnable>>,
}

impl Queue for CountingQueue {
    fn new() -> Self {
        Self::default()
    }

    fn push(&self, runnable: Runnable) {
        PUSHES.fetch_add(1, Ordering::Relaxed);
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).push_back(runnable);
    }

    fn pop(&self) -> Option<Runnable> {
        // The guard is a temporary: released before the runnable is
        // returned (and run, or dropped, by the runtime).
        let runnable = self.queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
        if runnable.is_some() {
            POPS.fetch_add(1, Ordering::Relaxed);
        }
        runnable
    }

    fn len(&self) -> usize {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// What a run measured (`pub(crate)`: `tests/examples.rs` runs it too).
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) tasks: usize,
    pub(crate) sum: u64,
    pub(crate) elapsed: Duration,
    pub(crate) pushes: u64,
    pub(crate) pops: u64,
}

/// The workload, on whichever runtime is current: `tasks` tasks, each
/// yielding `yields` times (a yield goes back through the queues), then a
/// chain of spawns, each task spawning the next.
pub(crate) async fn workload(tasks: usize, yields: usize) -> Report {
    let (pushes, pops) = (PUSHES.load(Ordering::Relaxed), POPS.load(Ordering::Relaxed));
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks as u64)
        .map(|i| {
            pluggable_runtime::spawn(async move {
                for _ in 0..yields {
                    pluggable_runtime::yield_now().await;
                }
                i
            })
        })
        .collect();
    let mut sum = 0;
    for handle in handles {
        sum += handle.await;
    }
    fn chain(left: u64) -> pluggable_runtime::Task<u64> {
        pluggable_runtime::spawn(async move { if left == 0 { 0 } else { 1 + chain(left - 1).await } })
    }
    sum += chain(1000).await;
    Report {
        tasks: tasks + 1001,
        sum,
        elapsed: start.elapsed(),
        pushes: PUSHES.load(Ordering::Relaxed) - pushes,
        pops: POPS.load(Ordering::Relaxed) - pops,
    }
}

#[pluggable_runtime::main(worker_threads = 2, queue = CountingQueue)]
async fn main() {
    let report = workload(10_000, 10).await;
    assert_eq!(report.sum, (0..10_000u64).sum::<u64>() + 1000, "every task ran to completion");
    println!("{} tasks ran on CountingQueue, their outputs sum to {}", report.tasks, report.sum);
    println!(
        "the runtime pushed {} runnables to CountingQueue and popped {} (its shared queues and the \
         workers' local queues; LIFO slots and yield queues are the runtime's own)",
        report.pushes, report.pops
    );
    println!(
        "{} tasks (10 yields each, then a chain of 1 001 spawns) in {:.0?}: {:.0} tasks/s",
        report.tasks,
        report.elapsed,
        report.tasks as f64 / report.elapsed.as_secs_f64()
    );
}
