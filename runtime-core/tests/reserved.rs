//! Reserved priority lanes (`Builder::high_priority_workers`): the
//! tutorial's `HIGH_NUM` / `LOW_NUM` threads inside one stealing pool, on
//! every backend.
#![cfg(not(loom))]

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use runtime_core::{
    Priority, Queue, Runtime,
    testing::{SLOW_TESTS_ENV, size, within},
};

mod common;

common::per_backend!(
    high_tasks_start_promptly_while_low_tasks_block,
    reserved_worker_runs_no_low_task,
    high_tasks_woken_by_one_timer_run_side_by_side,
);

/// 1 reserved + 1 general worker; `Low` tasks that each block 50 ms in their
/// poll, and a `High` task spawned every millisecond: every `High` task
/// starts within 5 ms of its spawn (p99), and every `Low` task completes.
fn high_tasks_start_promptly_while_low_tasks_block<Q: Queue>() {
    // One backend at a time: this measures wake-up latency, which the other
    // backends' runs of this test would add to on a 2-core machine.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    within(60, "reserved lanes under blocking Low tasks", || {
        let rt = Runtime::<Q>::builder().worker_threads(2).high_priority_workers(1).build().unwrap();
        let low_tasks = size(8, 2);
        let low: Vec<_> = (0..low_tasks)
            .map(|i| {
                rt.spawn(async move {
                    thread::sleep(Duration::from_millis(50));
                    i
                })
            })
            .collect();
        let latencies = Arc::new(Mutex::new(Vec::new()));
        let mut high = Vec::new();
        let end = Instant::now() + Duration::from_millis(low_tasks as u64 * 50);
        while Instant::now() < end {
            let spawned = Instant::now();
            let latencies = latencies.clone();
            high.push(rt.spawn_with(Priority::High, async move {
                latencies.lock().unwrap().push(spawned.elapsed());
            }));
            thread::sleep(Duration::from_millis(1));
        }
        for task in high {
            rt.block_on(task);
        }
        let sum: usize = low.into_iter().map(|t| rt.block_on(t)).sum();
        assert_eq!(sum, (0..low_tasks).sum::<usize>(), "every Low task completed");
        if cfg!(miri) || std::env::var_os(SLOW_TESTS_ENV).is_some() {
            // Under Miri or a sanitizer every step is 10-100x slower: the
            // latency bound is about the scheduler, not about those tools.
            // Every task still ran, which is what they check.
            return;
        }
        let mut latencies = latencies.lock().unwrap().clone();
        latencies.sort();
        let p99 = latencies[latencies.len() * 99 / 100];
        assert!(
            p99 <= Duration::from_millis(5),
            "p99 start latency of {} High tasks was {p99:?} (max {:?})",
            latencies.len(),
            latencies.last().unwrap()
        );
    });
}

/// Nothing `Low` ever runs on a reserved worker, even when it is the only
/// idle one and `Low` work is spawned from a task running on it.
fn reserved_worker_runs_no_low_task<Q: Queue>() {
    within(20, "a reserved worker runs only High tasks", || {
        let rt = Runtime::<Q>::builder()
            .worker_threads(2)
            .high_priority_workers(1)
            .thread_name("lane")
            .build()
            .unwrap();
        let on_reserved = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let on_reserved = on_reserved.clone();
                // High tasks (which may run on the reserved worker) spawn Low ones.
                rt.spawn_with(Priority::High, async move {
                    runtime_core::spawn(async move {
                        if thread::current().name() == Some("lane-0") {
                            on_reserved.fetch_add(1, Ordering::SeqCst);
                        }
                        i
                    })
                    .await
                })
            })
            .collect();
        let sum: usize = tasks.into_iter().map(|t| rt.block_on(t)).sum();
        assert_eq!(sum, (0..200).sum::<usize>());
        assert_eq!(on_reserved.load(Ordering::SeqCst), 0, "a Low task ran on the reserved worker");
    });
}

/// 1 reserved + 1 general worker; two `High` tasks wait on `async-io`
/// timers with the same deadline, then each blocks in its poll until both
/// have started (at most 2 s). Both start: the one the general worker runs,
/// and the other on the reserved worker. With feature `io` the general
/// worker waits in the reactor and the timers' wakes are dispatched onto its
/// own queues; such a dispatch used to skip `notify_reserved`, so the
/// reserved worker slept, the second task waited behind the first, and the
/// first gave up after 2 s (or, with the default stall threshold, waited
/// for the watcher's handoff). 20 rounds.
fn high_tasks_woken_by_one_timer_run_side_by_side<Q: Queue>() {
    // async-io's reactor makes system calls Miri does not run (`io.rs`,
    // `io_*.rs` are not built under Miri either).
    if cfg!(miri) {
        return;
    }
    within(60, "two High tasks woken by one timer event", || {
        // No stall watcher: its handoff would move the waiting task to
        // the shared queue after the threshold and hide a missed wake.
        let rt = Runtime::<Q>::builder()
            .worker_threads(2)
            .high_priority_workers(1)
            .stall_threshold(None)
            .build()
            .unwrap();
        for round in 0..20 {
            let started = Arc::new(AtomicUsize::new(0));
            let at = Instant::now() + Duration::from_millis(5);
            let tasks: Vec<_> = (0..2)
                .map(|_| {
                    let started = started.clone();
                    rt.spawn_with(Priority::High, async move {
                        async_io::Timer::at(at).await;
                        started.fetch_add(1, Ordering::SeqCst);
                        let give_up = Instant::now() + Duration::from_secs(2);
                        while started.load(Ordering::SeqCst) < 2 {
                            if Instant::now() >= give_up {
                                return false;
                            }
                            thread::sleep(Duration::from_micros(100));
                        }
                        true
                    })
                })
                .collect();
            for (i, task) in tasks.into_iter().enumerate() {
                assert!(rt.block_on(task), "round {round}: High task {i} waited 2 s for the other to start");
            }
        }
    });
}
