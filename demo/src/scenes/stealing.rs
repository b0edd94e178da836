//! `stealing`: tasks spawned from a task go to its worker's local queue;
//! idle siblings steal them, so every worker ends up running some.

use std::{
    hint,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use runtime_core::{Metrics, Queue};

use crate::settings::{self, Settings};

/// Tasks the spawner spawns.
const TASKS: usize = 400;
/// CPU work per task, long enough that one worker cannot drain its queue
/// before the others come looking.
const WORK: Duration = Duration::from_micros(50);

/// Runs the scene; returns the runtime's metrics at its end.
pub fn run<Q: Queue>(settings: &Settings) -> anyhow::Result<Metrics> {
    let rt = settings.runtime::<Q>()?;
    let workers = rt.metrics().worker_threads;
    let counts: Arc<Vec<AtomicU64>> = Arc::new((0..workers).map(|_| AtomicU64::new(0)).collect());

    let spawner = {
        let counts = counts.clone();
        rt.spawn(async move {
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    let counts = counts.clone();
                    runtime_core::spawn(async move {
                        spin(WORK);
                        if let Some(i) = settings::worker_index() {
                            counts[i].fetch_add(1, Ordering::Relaxed);
                        }
                    })
                })
                .collect();
            let on = settings::worker_index();
            for task in tasks {
                task.await;
            }
            on
        })
    };
    let spawned_on = rt.block_on(spawner);

    let on = spawned_on.map_or_else(|| "?".to_owned(), |i| i.to_string());
    println!("   a task on worker {on} spawned {TASKS} tasks (each ~{}µs of work)", WORK.as_micros());
    let per_worker: Vec<_> = counts
        .iter()
        .enumerate()
        .map(|(i, n)| (i, n.load(Ordering::Relaxed)))
        .filter(|&(_, n)| n > 0)
        .map(|(i, n)| format!("worker {i}: {n}"))
        .collect();
    println!("   ran on {} of {workers} workers: {}", per_worker.len(), per_worker.join(", "));
    let metrics = rt.metrics();
    println!("   tasks stolen from a sibling's local queue: {}", metrics.steals);
    if workers == 1 {
        println!("   (one worker has no sibling to steal from: try --workers 4)");
    }
    Ok(metrics)
}

/// Busy CPU work for `d`: stands in for a task's real computation.
fn spin(d: Duration) {
    let end = Instant::now() + d;
    while Instant::now() < end {
        hint::spin_loop();
    }
}
