//! `priorities`: on one worker, `High` runs first, and `Low` is not starved;
//! then, on two workers, a reserved `High` lane
//! (`Builder::high_priority_workers`) keeps `High` tasks prompt while `Low`
//! tasks block.
//!
//! One worker makes the order of the first two parts deterministic: it is
//! the order in which the scheduler picks tasks.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
        mpsc,
    },
    thread,
    time::{Duration, Instant},
};

use runtime_core::{Metrics, Priority, Queue, Runtime, yield_now};

use crate::settings::Settings;

/// Tasks of each priority in the burst.
const BURST: usize = 6;
/// `High` tasks in the stream, and how many times each yields.
const STREAM_TASKS: usize = 4;
const STREAM_YIELDS: u64 = 500;

/// `Low` tasks that block their worker in the lanes part, and for how long each.
const BLOCKING_LOW: usize = 6;
const BLOCK: Duration = Duration::from_millis(50);

/// Runs the scene; returns the one-worker runtime's metrics at its end.
pub fn run<Q: Queue>(settings: &Settings) -> anyhow::Result<Metrics> {
    let rt = settings.runtime_with::<Q>(1)?;
    burst(&rt)?;
    stream(&rt);
    let metrics = rt.metrics();
    drop(rt);
    for reserved in [0, 1] {
        lanes(&Runtime::<Q>::builder().worker_threads(2).high_priority_workers(reserved).build()?, reserved);
    }
    Ok(metrics)
}

/// Two workers, `Low` tasks that each block one 50 ms in its poll (which a
/// real task should never do), and a `High` task spawned every millisecond:
/// how long each `High` task waits to start, with and without a worker
/// reserved for `High` work.
fn lanes<Q: Queue>(rt: &Runtime<Q>, reserved: usize) {
    let lows: Vec<_> = (0..BLOCKING_LOW).map(|_| rt.spawn(async { thread::sleep(BLOCK) })).collect();
    let waits = Arc::new(Mutex::new(Vec::new()));
    let mut highs = Vec::new();
    let end = Instant::now() + BLOCK * BLOCKING_LOW as u32 / 2;
    while Instant::now() < end {
        let (spawned, waits) = (Instant::now(), waits.clone());
        highs.push(
            rt.spawn_with(Priority::High, async move { waits.lock().unwrap().push(spawned.elapsed()) }),
        );
        thread::sleep(Duration::from_millis(1));
    }
    rt.block_on(async {
        for task in highs.into_iter().chain(lows) {
            task.await;
        }
    });
    let mut waits = std::mem::take(&mut *waits.lock().unwrap());
    waits.sort();
    let at = |q: usize| waits[(waits.len() - 1) * q / 100];
    let lane = match reserved {
        0 => "no reserved worker".to_owned(),
        1 => "1 reserved worker".to_owned(),
        n => format!("{n} reserved workers"),
    };
    println!(
        "   lanes, 2 workers, {lane}: {} High tasks waited p50 {:.1?}, p99 {:.1?} to start \
         while {BLOCKING_LOW} Low tasks blocked for {BLOCK:?} each (all completed)",
        waits.len(),
        at(50),
        at(99),
    );
}

/// Queues Low and High tasks, interleaved, while the worker is busy; then
/// lets it go and records the order they run in.
fn burst<Q: Queue>(rt: &Runtime<Q>) -> anyhow::Result<()> {
    // The gate task holds the only worker (blocking it on purpose, which a
    // real task should never do) until the whole burst is queued.
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let gate = rt.spawn(async move {
        let _ = started_tx.send(());
        let _ = release_rx.recv();
    });
    started_rx.recv()?;

    let order = Arc::new(Mutex::new(Vec::new()));
    let mut spawned = Vec::new();
    let mut tasks = Vec::new();
    for i in 1..=BURST {
        for (priority, tag) in [(Priority::Low, 'L'), (Priority::High, 'H')] {
            let name = format!("{tag}{i}");
            spawned.push(name.clone());
            let order = order.clone();
            tasks.push(rt.spawn_with(priority, async move { order.lock().unwrap().push(name) }));
        }
    }
    println!("   burst, spawned in this order while the worker was busy: {}", spawned.join(" "));
    let _ = release_tx.send(());
    rt.block_on(async {
        gate.await;
        for task in tasks {
            task.await;
        }
    });
    println!(
        "   ran in this order:                                      {}",
        order.lock().unwrap().join(" ")
    );
    Ok(())
}

/// A stream of High work (tasks that keep yielding, so there is always High
/// work queued) and one Low task: the Low task still gets turns.
fn stream<Q: Queue>(rt: &Runtime<Q>) {
    let highs_left = Arc::new(AtomicUsize::new(STREAM_TASKS));
    let low_steps = Arc::new(AtomicU64::new(0));
    let highs: Vec<_> = (0..STREAM_TASKS)
        .map(|_| {
            let highs_left = highs_left.clone();
            rt.spawn_with(Priority::High, async move {
                for _ in 0..STREAM_YIELDS {
                    yield_now().await;
                }
                highs_left.fetch_sub(1, Ordering::Relaxed);
            })
        })
        .collect();
    let low = {
        let (highs_left, low_steps) = (highs_left.clone(), low_steps.clone());
        rt.spawn(async move {
            // Counts only the steps taken while High work remains.
            while highs_left.load(Ordering::Relaxed) > 0 {
                low_steps.fetch_add(1, Ordering::Relaxed);
                yield_now().await;
            }
        })
    };
    rt.block_on(async {
        for high in highs {
            high.await;
        }
        low.await;
    });
    let high_polls = STREAM_TASKS as u64 * (STREAM_YIELDS + 1);
    let low_steps = low_steps.load(Ordering::Relaxed);
    println!(
        "   stream: {STREAM_TASKS} High tasks yielding {STREAM_YIELDS} times each ({high_polls} High polls); \
         meanwhile one Low task ran {low_steps} times"
    );
    match high_polls.checked_div(low_steps) {
        Some(ratio) => println!("   so Low was not starved: about one Low poll per {ratio} High polls"),
        None => println!("   Low did not run at all while High work remained: starved"),
    }
}
