//! Feature `net`: how late timers fire, on the interim timer thread.
//!
//! 1000 sleeps due 1-50 ms ahead. Two measurements, printed as
//! percentiles of `fired - deadline`:
//! - *wake*: the sleeps polled with wakers that record when they are
//!   woken: the timer thread's own lateness (millisecond rounding plus its
//!   wake-up);
//! - *poll*: each sleep awaited by its own task on 2 workers: what a task
//!   sees, with the hop through the shared queue to a worker.
//!
//! What it asserts is only what is deterministic: no timer fires before its
//! deadline, and wakes come in deadline order (at millisecond granularity:
//! two deadlines in the same millisecond may fire either way round). Alone
//! in its binary, one measurement at a time, so that other tests do not add
//! to the numbers.
#![cfg(all(feature = "net", not(miri), not(loom)))]

mod common;

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard},
    task::{Context, Wake, Waker},
    time::{Duration, Instant},
};

use common::per_backend;
use runtime_core::{
    Queue, Runtime,
    testing::{wait_until, within},
    time,
};

const SLEEPS: usize = 1000;

/// One measurement at a time in this binary (see the module docs).
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Deadlines `start + 1..=50 ms`, spread by a fixed sequence (not sorted).
fn deadlines(start: Instant) -> Vec<Instant> {
    (0..SLEEPS as u64).map(|i| start + Duration::from_micros(1_000 + (i * 7_919_123) % 49_000)).collect()
}

/// `(p50, p99, max)` of `samples`.
fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration, Duration) {
    samples.sort_unstable();
    let at = |q: usize| samples[(samples.len() - 1) * q / 100];
    (at(50), at(99), *samples.last().unwrap())
}

struct Recorder {
    index: usize,
    log: Arc<Mutex<Vec<(usize, Instant)>>>,
}

impl Wake for Recorder {
    fn wake(self: Arc<Self>) {
        self.log.lock().unwrap().push((self.index, Instant::now()));
    }
}

/// The timer thread's own lateness, and the order of its wakes.
#[test]
fn wake_lateness() {
    let _serial = serial();
    within(60, "1000 sleeps woken", || {
        let rt = Runtime::<queue_crossbeam::CrossbeamQueue>::builder().worker_threads(2).build().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let deadlines = deadlines(Instant::now() + Duration::from_millis(5));
        let mut sleeps: Vec<_> =
            rt.block_on(async { deadlines.iter().map(|&d| time::sleep_until(d)).collect() });
        // Sleeps whose deadline passed before their first poll resolve
        // there and are never woken: not measured.
        let mut expected = 0;
        for (index, sleep) in sleeps.iter_mut().enumerate() {
            let waker = Waker::from(Arc::new(Recorder { index, log: log.clone() }));
            if Pin::new(sleep).poll(&mut Context::from_waker(&waker)).is_pending() {
                expected += 1;
            }
        }
        wait_until("every registered sleep woken", || log.lock().unwrap().len() == expected);
        let woken = log.lock().unwrap().clone();
        let mut late = Vec::with_capacity(woken.len());
        for &(index, at) in &woken {
            assert!(
                at >= deadlines[index],
                "sleep {index} woken {:?} before its deadline",
                deadlines[index] - at
            );
            late.push(at - deadlines[index]);
        }
        for pair in woken.windows(2) {
            let (a, b) = (deadlines[pair[0].0], deadlines[pair[1].0]);
            assert!(
                a < b + Duration::from_millis(1),
                "woken out of order: a deadline {:?} after the next",
                a - b
            );
        }
        let (p50, p99, max) = percentiles(late);
        println!("wake lateness of {expected} sleeps of 1-50 ms: p50 {p50:?}, p99 {p99:?}, max {max:?}");
        drop(sleeps);
    });
}

/// What tasks see: each awaits its sleep and notes how late it ran.
fn poll_lateness<Q: Queue>() {
    let _serial = serial();
    within(60, "1000 sleeping tasks", || {
        let rt = Runtime::<Q>::builder().worker_threads(2).build().unwrap();
        let deadlines = deadlines(Instant::now() + Duration::from_millis(5));
        let tasks: Vec<_> = deadlines
            .iter()
            .map(|&deadline| {
                rt.spawn(async move {
                    time::sleep_until(deadline).await;
                    Instant::now().checked_duration_since(deadline)
                })
            })
            .collect();
        let late: Vec<Duration> = rt.block_on(async {
            let mut late = Vec::with_capacity(SLEEPS);
            for (index, task) in tasks.into_iter().enumerate() {
                late.push(task.await.unwrap_or_else(|| panic!("task {index} ran before its deadline")));
            }
            late
        });
        let (p50, p99, max) = percentiles(late);
        println!(
            "{}: poll lateness of {SLEEPS} sleeping tasks (1-50 ms, 2 workers): p50 {p50:?}, p99 {p99:?}, max {max:?}",
            std::any::type_name::<Q>()
        );
    });
}

per_backend!(poll_lateness);
