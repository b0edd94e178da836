//! Loom models of the runtime's concurrency protocols.
//!
//! Run with `cargo xtask loom` (which sets `RUSTFLAGS="--cfg loom"`, a
//! separate target directory, release mode and `LOOM_MAX_PREEMPTIONS`).
//!
//! These models drive the *real* runtime: under `--cfg loom` every atomic,
//! lock, parker, thread and thread-local of `runtime-core` comes from loom
//! (see `src/sync.rs`), and the queue backend below is a loom mutex around a
//! `VecDeque`. So each model explores the interleavings of the actual
//! idle/notify protocol (`idle.rs`), the local-queue / LIFO-slot hand-off and
//! stealing (`scheduler.rs`, `worker.rs`), and close-then-drain shutdown.
//!
//! What loom checks for us, on top of each model's own assertions:
//! - a lost wakeup shows up as a deadlock (every thread blocked: a worker
//!   parked with a task queued, `block_on` parked forever);
//! - a `loom::sync::Arc` that is never freed (the runtime's `Shared` kept
//!   alive by a leaked task or waker) fails the iteration as a leak.
//!
//! `async-task`'s own state machine uses `std` atomics, which loom does not
//! instrument: the models trust async-task and check the runtime around it.
//!
//! Models are kept small (1–3 workers, 1–3 tasks) so that they finish with
//! `LOOM_MAX_PREEMPTIONS=2`; without that variable they default to 2 here.
#![cfg(loom)]

use std::{
    collections::VecDeque,
    future::{Future, poll_fn},
    task::{Poll, Waker},
};

use loom::{
    sync::{
        Arc, Condvar, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    thread,
};
use runtime_core::{Queue, Runnable, Runtime};

/// The queue backend of the models: a loom mutex around a `VecDeque`, so that
/// loom sees (and interleaves) every push and pop.
struct LoomQueue(Mutex<VecDeque<Runnable>>);

impl Queue for LoomQueue {
    fn new() -> Self {
        LoomQueue(Mutex::new(VecDeque::new()))
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

/// Runs `f` under loom with a preemption bound of 2 unless
/// `LOOM_MAX_PREEMPTIONS` says otherwise.
fn model(f: impl Fn() + Sync + Send + 'static) {
    model_bounded(usize::MAX, f);
}

/// Like [`model`], with the preemption bound capped at `cap` for models too
/// large to explore at the bound the others use.
fn model_bounded(cap: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(builder.preemption_bound.unwrap_or(2).min(cap));
    // A searching worker runs several rounds over every queue before it
    // parks, and re-searches when its re-check finds work; while another
    // worker is blocked in a poll, one execution takes more than loom's
    // default of 1 000 branches (it is still finite).
    builder.max_branches = builder.max_branches.max(10_000);
    let iterations = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = iterations.clone();
    builder.check(move || {
        counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f();
    });
    if std::env::var_os("LOOM_REPORT").is_some() {
        eprintln!("explored {} interleavings", iterations.load(std::sync::atomic::Ordering::Relaxed));
    }
}

fn runtime(workers: usize) -> Runtime<LoomQueue> {
    Runtime::<LoomQueue>::builder()
        .worker_threads(workers)
        .thread_name("loom")
        .build()
        .expect("build runtime")
}

/// The runtime's counters, read after `drop(rt)` joined its workers.
///
/// Workers bump their counters with relaxed stores; in the real program the
/// awaiter of a task synchronizes with them through async-task's atomics, but
/// loom cannot see those (they are `std`'s), so a snapshot taken right after
/// `block_on` may legitimately lag under loom. Joining the workers (loom
/// threads) is a happens-before edge loom does see.
fn metrics_after_join(handle: &runtime_core::Handle) -> runtime_core::Metrics {
    assert!(handle.is_shutdown());
    handle.metrics()
}

/// Where a task leaves its waker for another thread to fire or drop.
#[derive(Clone, Default)]
struct WakerSlot(Arc<Mutex<Option<Waker>>>);

impl WakerSlot {
    fn put(&self, waker: &Waker) {
        *self.0.lock().unwrap() = Some(waker.clone());
    }
    fn take(&self) -> Option<Waker> {
        self.0.lock().unwrap().take()
    }
}

/// Counts drops in a loom atomic.
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A future that is pending forever and leaves its waker in `slot` on every
/// poll; `drops` counts its destruction.
fn parked_forever(slot: WakerSlot, drops: Arc<AtomicUsize>) -> impl Future<Output = ()> + Send + 'static {
    let counter = DropCounter(drops);
    poll_fn(move |cx| {
        let _keep = &counter;
        slot.put(cx.waker());
        Poll::Pending
    })
}

/// Waits (yielding to loom) until the task left a waker in `slot`, or until
/// its future was dropped without doing so. Returns the waker, if any.
fn wait_for_waker(slot: &WakerSlot, drops: &AtomicUsize) -> Option<Waker> {
    loop {
        if let Some(waker) = slot.take() {
            return Some(waker);
        }
        if drops.load(Ordering::SeqCst) != 0 {
            return None;
        }
        thread::yield_now();
    }
}

/// A task spawned from outside while the only worker searches, registers as
/// a sleeper and parks: the push and the park race (the Dekker pair of
/// `idle.rs`). A lost wakeup would leave `block_on` parked forever, which
/// loom reports as a deadlock.
#[test]
fn push_races_last_worker_going_to_sleep() {
    model(|| {
        let rt = runtime(1);
        let handle = rt.handle();
        let task = rt.spawn(async { 7 });
        assert_eq!(rt.block_on(task), 7);
        drop(rt);
        let m = metrics_after_join(&handle);
        assert_eq!((m.spawned, m.completed, m.polls), (1, 1, 1));
    });
}

/// The same race with two workers, both on their way to sleep: one of them
/// must be woken (or still be searching) when the task is pushed.
#[test]
fn push_races_two_workers_going_to_sleep() {
    model(|| {
        let rt = runtime(2);
        let task = rt.spawn(async { 7 });
        assert_eq!(rt.block_on(task), 7);
    });
}

/// A pending task woken from a plain thread while the worker goes to sleep:
/// the wake pushes to the shared queue and must reach the sleeping worker.
#[test]
fn cross_thread_wake_races_sleep() {
    model(|| {
        let rt = runtime(1);
        let slot = WakerSlot::default();
        let polls = Arc::new(AtomicUsize::new(0));
        let task = rt.spawn({
            let (slot, polls) = (slot.clone(), polls.clone());
            poll_fn(move |cx| {
                if polls.fetch_add(1, Ordering::SeqCst) == 0 {
                    slot.put(cx.waker());
                    Poll::Pending
                } else {
                    Poll::Ready(())
                }
            })
        });
        let waker = thread::spawn({
            let slot = slot.clone();
            move || loop {
                if let Some(waker) = slot.take() {
                    waker.wake();
                    return;
                }
                thread::yield_now();
            }
        });
        rt.block_on(task);
        waker.join().unwrap();
        drop(rt);
        assert_eq!(polls.load(Ordering::SeqCst), 2);
    });
}

/// A task on one worker spawns two tasks (the first lands in its LIFO slot,
/// the second displaces it into the local queue, which notifies) and awaits
/// them, while two sibling workers search: the thieves race the owner for
/// the local queue (`steal_into`) and the LIFO slot (`take`). Every child
/// runs exactly once and nothing is lost or stranded.
///
/// Three workers plus the main thread is the largest model here; it runs
/// with at most one preemption (see [`model_bounded`]).
#[test]
fn two_workers_steal_from_a_third() {
    model_bounded(1, || {
        let rt = runtime(3);
        let handle = rt.handle();
        let ran = Arc::new(AtomicUsize::new(0));
        let task = rt.spawn({
            let ran = ran.clone();
            async move {
                let children: Vec<_> = (0..2)
                    .map(|_| {
                        let ran = ran.clone();
                        runtime_core::spawn(async move {
                            ran.fetch_add(1, Ordering::SeqCst);
                        })
                    })
                    .collect();
                for child in children {
                    child.await;
                }
            }
        });
        rt.block_on(task);
        drop(rt);
        // After the join: see `metrics_after_join` for why not before.
        assert_eq!(ran.load(Ordering::SeqCst), 2);
        let m = metrics_after_join(&handle);
        assert_eq!((m.spawned, m.completed), (3, 3), "{m:?}");
        // Each child once; the parent once, or once or twice more (a child
        // that a thief ran before the parent awaited it needs no re-poll).
        assert!((3..=5).contains(&m.polls), "{m:?}");
    });
}

/// The same, but the parent *blocks* its worker until both children ran, so
/// only thieves can run them. Regression: loom found a deadlock here (1
/// preemption, about 3 700 interleavings in): worker 1 stole the first child
/// from the LIFO slot and went back to sleep, worker 2 was asleep, and the
/// parent spawned the second child into its now empty LIFO slot, which did
/// not notify. Both siblings slept; the child was stranded behind the blocked
/// parent. Filling a LIFO slot now notifies like any other push. See also
/// `lifo_task_stranded_behind_long_poll` in `tests/torture.rs`.
#[test]
fn two_workers_steal_from_a_blocked_third() {
    model_bounded(1, || {
        let rt = runtime(3);
        let ran = Arc::new((Mutex::new(0usize), Condvar::new()));
        let task = rt.spawn({
            let ran = ran.clone();
            async move {
                for _ in 0..2 {
                    let ran = ran.clone();
                    runtime_core::spawn(async move {
                        *ran.0.lock().unwrap() += 1;
                        ran.1.notify_all();
                    })
                    .detach();
                }
                let mut count = ran.0.lock().unwrap();
                while *count < 2 {
                    count = ran.1.wait(count).unwrap();
                }
            }
        });
        rt.block_on(task);
    });
}

/// The shape of the three models below: a one-worker runtime with one task
/// parked forever, whose waker another thread takes and hands to `use_waker`
/// while the main thread drops the runtime. The future must be dropped
/// exactly once, by the time `drop(rt)` returns (so never inside the other
/// thread's `wake()`); nothing may leak or deadlock.
fn waker_races_runtime_drop(use_waker: fn(Waker)) {
    model(move || {
        let rt = runtime(1);
        let slot = WakerSlot::default();
        let drops = Arc::new(AtomicUsize::new(0));
        rt.spawn(parked_forever(slot.clone(), drops.clone())).detach();
        let holder = thread::spawn({
            let (slot, drops) = (slot.clone(), drops.clone());
            move || {
                if let Some(waker) = wait_for_waker(&slot, &drops) {
                    use_waker(waker);
                }
            }
        });
        drop(rt);
        // Checked before joining the holder: a wake in flight (async-task
        // marked the task scheduled, the push not done yet) must not escape
        // the drain and leave the future to be dropped inside the holder's
        // `wake()` after `drop(rt)` returned.
        let at_return = drops.load(Ordering::SeqCst);
        holder.join().unwrap();
        assert_eq!(
            (at_return, drops.load(Ordering::SeqCst)),
            (1, 1),
            "(dropped when drop(rt) returned, dropped in all)"
        );
        // A re-poll before shutdown may have left another waker: free it, or
        // loom reports the runtime's state as leaked.
        drop(slot.take());
    });
}

/// Shutdown (`drop(rt)`) races with a plain thread firing the waker of a
/// pending task: the wake after close is harmless.
#[test]
fn shutdown_races_wake() {
    waker_races_runtime_drop(Waker::wake);
}

/// A waker held by another thread is dropped (never fired) while the
/// runtime drops: the task is freed exactly once by whoever lets go last.
#[test]
fn waker_dropped_while_runtime_drops() {
    waker_races_runtime_drop(drop);
}

/// A waker fired by reference and then dropped on another thread, while the
/// runtime drops on the main thread. (With two workers this model runs for
/// more than five minutes at two preemptions; one worker already has the
/// worker exiting, the drain and the wake racing.)
#[test]
fn waker_fired_by_ref_while_runtime_drops() {
    waker_races_runtime_drop(|waker| {
        waker.wake_by_ref();
        drop(waker);
    });
}

/// A task woken by another thread while its poll is still running (between
/// handing out its waker and returning `Pending`) is polled exactly once
/// more, never concurrently, never lost.
#[test]
fn woken_while_running_is_polled_once_more() {
    model(|| {
        let rt = runtime(1);
        let slot = WakerSlot::default();
        let polls = Arc::new(AtomicUsize::new(0));
        let task = rt.spawn({
            let (slot, polls) = (slot.clone(), polls.clone());
            poll_fn(move |cx| {
                let n = polls.fetch_add(1, Ordering::SeqCst) + 1;
                if n == 1 {
                    slot.put(cx.waker());
                    // Give the waker thread a chance to fire right here,
                    // while this poll is still running.
                    thread::yield_now();
                    Poll::Pending
                } else {
                    Poll::Ready(n)
                }
            })
        });
        let waker = thread::spawn({
            let slot = slot.clone();
            move || loop {
                if let Some(waker) = slot.take() {
                    waker.wake();
                    return;
                }
                thread::yield_now();
            }
        });
        let handle = rt.handle();
        assert_eq!(rt.block_on(task), 2);
        waker.join().unwrap();
        drop(rt);
        assert_eq!(polls.load(Ordering::SeqCst), 2);
        assert_eq!(metrics_after_join(&handle).polls, 2);
    });
}

/// A task that wakes itself while running (`yield_now`) goes to the back of
/// its worker's queue and is polled exactly once more.
#[test]
fn yield_now_is_polled_once_more() {
    model(|| {
        let rt = runtime(1);
        let handle = rt.handle();
        let task = rt.spawn(async {
            runtime_core::yield_now().await;
            5
        });
        assert_eq!(rt.block_on(task), 5);
        drop(rt);
        let m = metrics_after_join(&handle);
        assert_eq!((m.polls, m.completed, m.live_tasks), (2, 1, 0));
    });
}
