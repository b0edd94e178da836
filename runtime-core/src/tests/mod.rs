//! Unit tests of internals that the integration tests cannot reach (the
//! LIFO slot, the registry and its keys, the idle counts, the drain), with a
//! private test queue, so that they need none of the `queue-*` crates.
//!
//! Wired from `lib.rs` as `#[cfg(all(test, not(loom)))] mod tests;` (the
//! component loom models are in `loom_tests/`).

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Wake, Waker},
};

use crate::{Queue, Runnable};

mod idle;
mod lifo;
mod registry;
mod scheduler;

/// The smallest honest backend: a `std` mutex around a `VecDeque`.
#[derive(Debug, Default)]
pub(crate) struct TestQueue(Mutex<VecDeque<Runnable>>);

impl Queue for TestQueue {
    fn new() -> Self {
        Self::default()
    }
    fn push(&self, runnable: Runnable) {
        self.0.lock().unwrap().push_back(runnable);
    }
    fn pop(&self) -> Option<Runnable> {
        self.0.lock().unwrap().pop_front()
    }
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// A waker that counts its wakes; `Arc::strong_count` of the counter tells
/// how many wakers for it are still alive.
#[derive(Debug, Default)]
struct CountingWaker {
    wakes: AtomicUsize,
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

/// A counter and a waker that bumps it.
fn counting_waker() -> (Arc<CountingWaker>, Waker) {
    let counter = Arc::new(CountingWaker::default());
    (counter.clone(), Waker::from(counter))
}

/// A runnable whose future holds `drops` (counted when the future is dropped,
/// run or not) and records `id` in `log` when it runs.
fn runnable(id: usize, log: &Arc<Mutex<Vec<usize>>>, drops: &Arc<AtomicUsize>) -> Runnable {
    let (log, counter) = (log.clone(), crate::testing::DropCounter(drops.clone()));
    let (runnable, task) = crate::task_id::bare_task(async move {
        let _counter = counter;
        log.lock().unwrap().push(id);
    });
    task.detach();
    runnable
}
