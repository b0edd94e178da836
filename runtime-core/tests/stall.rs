//! Stalls (`stall.rs`): a task that blocks inside its poll stalls nothing
//! else, is counted once, and is reported with its id and spawn location.
#![cfg(not(miri))]

mod common;

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use runtime_core::{Queue, Runtime, StallInfo, testing::wait_until};

const THRESHOLD: Duration = Duration::from_millis(50);
/// What the issue allows past the threshold.
const SLACK: Duration = Duration::from_millis(100);

fn runtime<Q: Queue>(workers: usize) -> (Runtime<Q>, Arc<Mutex<Vec<StallInfo>>>) {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let seen = reports.clone();
    let rt = Runtime::<Q>::builder()
        .worker_threads(workers)
        .stall_threshold(Some(THRESHOLD))
        .track_spawn_locations(true)
        .on_stall(move |info| seen.lock().unwrap().push(info.clone()))
        .build()
        .unwrap();
    (rt, reports)
}

/// 1 worker, a task that sleeps 2 s in its poll: 100 other tasks, spawned
/// before and after it, from outside and from inside, each finish within
/// the threshold plus 100 ms of being spawned.
fn one_blocked_worker_stalls_nothing<Q: Queue>() {
    let (rt, reports) = runtime::<Q>(1);
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let timed = |latencies: &Arc<Mutex<Vec<Duration>>>| {
        let (latencies, spawned) = (latencies.clone(), Instant::now());
        async move { latencies.lock().unwrap().push(spawned.elapsed()) }
    };
    let before: Vec<_> = (0..25).map(|_| rt.spawn(timed(&latencies))).collect();
    let inner = latencies.clone();
    let blocker = rt.spawn(async move {
        // From inside, right before blocking: the LIFO slot and local queue.
        let children: Vec<_> = (0..25).map(|_| runtime_core::spawn(timed(&inner))).collect();
        std::thread::sleep(Duration::from_secs(2));
        children
    });
    // Let the blocker start blocking, then spawn from outside.
    std::thread::sleep(Duration::from_millis(5));
    let after: Vec<_> = (0..50).map(|_| rt.spawn(timed(&latencies))).collect();
    wait_until("the 100 other tasks finish", || latencies.lock().unwrap().len() == 100);
    let worst = latencies.lock().unwrap().iter().copied().max().unwrap();
    assert!(worst <= THRESHOLD + SLACK, "a task waited {worst:?} behind a blocked worker");
    let children = rt.block_on(blocker);
    rt.block_on(async {
        for t in before.into_iter().chain(after).chain(children) {
            t.await;
        }
    });
    let metrics = rt.metrics();
    assert_eq!(metrics.stalls, 1, "one stalled poll, counted once");
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 1);
    let location = reports[0].spawned_at.expect("tracked location");
    assert!(location.file().ends_with("stall.rs"), "spawned at {location}");
    assert!(reports[0].stalled_for >= THRESHOLD);
}

common::per_backend!(one_blocked_worker_stalls_nothing);
