//! Tests of single components, next to them (as tokio keeps
//! `src/runtime/tests/`). Where a test goes:
//! - `src/tests/<component>.rs`: unit tests of one component through its
//!   crate-internal API (not under loom), with the private [`TestQueue`]
//!   so that they need none of the `queue-*` crates;
//! - `src/tests/loom_<component>.rs`: loom models of one component, driven
//!   on its own by a few loom threads: small enough for a higher preemption
//!   bound (3 unless `LOOM_MAX_PREEMPTIONS` says otherwise) than the
//!   whole-runtime models of `tests/loom.rs`. Under `--cfg loom` the
//!   components take their atomics, locks and parkers from loom
//!   (`sync.rs`), so the models explore the real code; async-task's own
//!   atomics are `std`'s and not explored. Run them with `cargo xtask loom`
//!   (or `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p
//!   runtime-core --release --lib tests::loom_`);
//! - inline `#[cfg(test)] mod tests` at the bottom of a file: only for a
//!   test that needs that file's private items;
//! - `tests/*.rs` (the crate's integration tests): behaviour through the
//!   public API, one topic per file, every backend where it matters;
//!   `tests/loom.rs` holds the whole-runtime loom models;
//! - `src/testing/`: not our tests but the conformance kit that backend
//!   authors run (feature `testing`).
//!
//! Wired from `lib.rs` as `#[cfg(test)] mod tests;`.

#[cfg(not(loom))]
mod idle;
#[cfg(not(loom))]
mod lifo;
#[cfg(not(loom))]
mod registry;
#[cfg(not(loom))]
mod scheduler;

#[cfg(loom)]
mod loom_idle;
#[cfg(loom)]
mod loom_lifo;
#[cfg(loom)]
mod loom_reactor;
#[cfg(loom)]
mod loom_registry;
#[cfg(loom)]
mod loom_sleeper;
#[cfg(loom)]
mod loom_stall;
#[cfg(loom)]
mod loom_yield_queue;

#[cfg(not(loom))]
pub(crate) use unit::*;

/// What the unit tests share.
#[cfg(not(loom))]
mod unit {
    use std::{
        collections::VecDeque,
        sync::{
            Arc, Mutex,
            atomic::{AtomicUsize, Ordering},
        },
        task::{Wake, Waker},
    };

    use crate::{Queue, Runnable};

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
    pub(crate) struct CountingWaker {
        pub(crate) wakes: AtomicUsize,
    }

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.wakes.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A counter and a waker that bumps it.
    pub(crate) fn counting_waker() -> (Arc<CountingWaker>, Waker) {
        let counter = Arc::new(CountingWaker::default());
        (counter.clone(), Waker::from(counter))
    }

    /// A runnable whose future holds `drops` (counted when the future is dropped,
    /// run or not) and records `id` in `log` when it runs.
    pub(crate) fn runnable(id: usize, log: &Arc<Mutex<Vec<usize>>>, drops: &Arc<AtomicUsize>) -> Runnable {
        let (log, counter) = (log.clone(), crate::testing::DropCounter(drops.clone()));
        let (runnable, task) = crate::queue::bare_task(async move {
            let _counter = counter;
            log.lock().unwrap().push(id);
        });
        task.detach();
        runnable
    }
}

/// Runs `f` under loom with a preemption bound of 3 unless
/// `LOOM_MAX_PREEMPTIONS` says otherwise.
#[cfg(loom)]
fn model(f: impl Fn() + Sync + Send + 'static) {
    model_with_bound(3, f);
}

/// As [`model`], with at most `max` preemptions (for models with many
/// threads, which would take minutes at the usual bound).
#[cfg(loom)]
fn model_with_bound(max: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(builder.preemption_bound.unwrap_or(3).min(max));
    builder.check(f);
}
