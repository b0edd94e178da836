//! The torture suite: the races and abuses that break executors, run against
//! every backend in the workspace.
//!
//! Each check is a generic function below; [`torture!`] expands them into
//! one `#[test]` per backend (tokio's `rt_test!` pattern), so a failure
//! names both the check and the queue. Counts (drops, polls, panics) are
//! asserted exactly. Anything that could hang runs under [`within`], so that
//! a deadlock fails the test with a message instead of stalling CI.
//!
//! Sizes shrink under Miri (`size(normal, miri)`); the whole file runs in a
//! few seconds in debug on two cores.
#![cfg(not(loom))]

use std::{
    cell::RefCell,
    future::{Future, poll_fn},
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{
        Arc, Barrier, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
        mpsc,
    },
    task::{Poll, Waker},
    thread,
    time::{Duration, Instant},
};

use runtime_core::{
    Queue, Runtime,
    testing::{DropCounter, Signal, deadline, panic_message, size, wait_until, within},
};

mod common;

common::per_backend!(
    shutdown_races_many_wakes,
    destructors_wake_other_tasks_during_shutdown,
    wakers_outlive_the_runtime,
    foreign_waker_does_not_keep_runtime_alive,
    hammered_waker_never_overlaps_polls,
    million_yields_in_bounded_stack,
    one_mib_future_spawns_and_runs,
    panics_in_more_tasks_than_workers,
    spawn_after_shutdown_reports_cancellation,
    spawn_racing_shutdown_never_hangs,
    block_on_inside_spawned_block_on_panics,
);

// ---------------------------------------------------------------- helpers

/// A runtime whose worker threads are named `{prefix}-{i}`, with a prefix
/// unique in this process (so their threads can be counted).
fn runtime<Q: Queue>(workers: usize) -> (Runtime<Q>, String) {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let prefix = format!("tt{}", NEXT.fetch_add(1, Ordering::Relaxed));
    // No stall replacements: these tests count the worker threads by name,
    // and a poll that prints a panic's backtrace on a loaded machine can
    // pass the default 10 ms threshold (tests/stall.rs tests replacements).
    let rt = Runtime::<Q>::builder()
        .worker_threads(workers)
        .thread_name(prefix.clone())
        .stall_threshold(None)
        .build()
        .expect("build");
    (rt, prefix)
}

/// The number of live threads of this process whose name starts with `prefix-`.
/// `None` where it cannot be known (no `/proc`, or Miri's emulated threads).
fn threads_named(prefix: &str) -> Option<usize> {
    if cfg!(miri) {
        return None;
    }
    let wanted = format!("{prefix}-");
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    Some(
        tasks
            .filter_map(Result::ok)
            .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.starts_with(&wanted)))
            .count(),
    )
}

/// Asserts that `threads_named(prefix)` reaches `n` within 10 s (a new
/// thread names itself only once it starts running, and a joined thread
/// leaves the list only once the kernel has finished its exit, which may be a
/// little after `join` returned). A no-op where threads cannot be counted.
fn assert_threads_named(prefix: &str, n: usize, what: &str) {
    let deadline = Instant::now() + deadline(Duration::from_secs(10));
    while let Some(count) = threads_named(prefix) {
        if count == n {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {count} threads named {prefix}-*, expected {n}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// A marker left in a thread's thread-locals that counts itself out when the
/// thread runs its thread-local destructors, which the thread does before it
/// terminates, so before `JoinHandle::join` on it returns. (Unlike its entry
/// in `/proc/self/task`: the kernel wakes the joiner when the exiting thread
/// clears its thread-id word, a little before it takes the thread off that
/// list.)
struct ExitProbe(Arc<AtomicUsize>);

thread_local! {
    static EXIT_PROBE: RefCell<Option<ExitProbe>> = const { RefCell::new(None) };
}

impl ExitProbe {
    /// Leaves a probe counted in `live` in the calling thread's thread-locals.
    fn install(live: &Arc<AtomicUsize>) {
        live.fetch_add(1, Ordering::SeqCst);
        // A probe already there (none in these tests) is dropped: counted out.
        EXIT_PROBE.with(|probe| *probe.borrow_mut() = Some(ExitProbe(live.clone())));
    }
}

impl Drop for ExitProbe {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Where a pending task leaves its waker.
type WakerSlot = Arc<Mutex<Option<Waker>>>;

/// Pending forever; leaves its waker in `slot` on every poll, counts polls in
/// `polls`, and its destruction in `drops`.
fn parked(
    slot: WakerSlot,
    polls: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
) -> impl Future<Output = ()> + Send {
    let counter = DropCounter(drops);
    poll_fn(move |cx| {
        let _keep = &counter;
        polls.fetch_add(1, Ordering::SeqCst);
        *slot.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    })
}

/// Waits (up to 10 s) until `slot` holds a waker, and returns a clone.
fn waker_in(slot: &WakerSlot) -> Waker {
    let mut waker = None;
    wait_until("the task to leave its waker", || {
        waker = slot.lock().unwrap().clone();
        waker.is_some()
    });
    waker.expect("checked by wait_until")
}

// ---------------------------------------------------------------- the checks

/// Shutdown races a thread that fires one task's waker 10 000 times; over
/// many rounds the task's future is dropped exactly once, nothing hangs, and
/// the wakes that land after shutdown are harmless.
pub fn shutdown_races_many_wakes<Q: Queue>() {
    let rounds = size(20, 2);
    let wakes = size(10_000, 50);
    for round in 0..rounds {
        within(20, "shutdown racing wakes", move || {
            let (rt, _) = runtime::<Q>(2);
            let (slot, polls, drops) = (WakerSlot::default(), Arc::default(), Arc::new(AtomicUsize::new(0)));
            rt.spawn(parked(slot.clone(), Arc::clone(&polls), drops.clone())).detach();
            let waker = waker_in(&slot);
            let started = Arc::new(Barrier::new(2));
            let waking = thread::spawn({
                let started = started.clone();
                move || {
                    for i in 0..wakes {
                        if i == wakes / 10 {
                            started.wait();
                        }
                        waker.wake_by_ref();
                    }
                    waker.wake();
                }
            });
            started.wait();
            // Vary where in the storm the shutdown lands.
            for _ in 0..round * 50 {
                std::hint::spin_loop();
            }
            drop(rt);
            assert_eq!(drops.load(Ordering::SeqCst), 1, "future dropped exactly once by shutdown");
            waking.join().unwrap();
            assert_eq!(drops.load(Ordering::SeqCst), 1);
            assert!(polls.load(Ordering::SeqCst) >= 1);
            drop(slot.lock().unwrap().take());
        });
    }
}

/// Destructors of futures dropped at shutdown wake other pending tasks and
/// spawn new ones: shutdown neither deadlocks (no lock held while dropping)
/// nor leaves a future undropped, and the late spawns are cancelled.
pub fn destructors_wake_other_tasks_during_shutdown<Q: Queue>() {
    struct WakeOnDrop {
        wake: WakerSlot,
        spawned: Arc<Mutex<Vec<runtime_core::FallibleTask<()>>>>,
        drops: Arc<AtomicUsize>,
        handle: runtime_core::Handle,
    }
    impl Drop for WakeOnDrop {
        fn drop(&mut self) {
            if let Some(waker) = self.wake.lock().unwrap().take() {
                waker.wake();
            }
            let counter = DropCounter(self.drops.clone());
            let task = self.handle.spawn(async move {
                let _counter = counter;
            });
            self.spawned.lock().unwrap().push(task.fallible());
        }
    }

    within(20, "shutdown with waking destructors", || {
        let pairs = size(50, 4);
        let (rt, _) = runtime::<Q>(2);
        let drops = Arc::new(AtomicUsize::new(0));
        let late_drops = Arc::new(AtomicUsize::new(0));
        let spawned = Arc::new(Mutex::new(Vec::new()));
        let polls = Arc::new(AtomicUsize::new(0));
        for _ in 0..pairs {
            // The victim: pending, waker held only in `slot`.
            let slot = WakerSlot::default();
            rt.spawn(parked(slot.clone(), polls.clone(), drops.clone())).detach();
            // The waker-on-drop: pending forever with no waker anywhere.
            let guard = WakeOnDrop {
                wake: slot,
                spawned: spawned.clone(),
                drops: late_drops.clone(),
                handle: rt.handle(),
            };
            let counter = DropCounter(drops.clone());
            rt.spawn(async move {
                let _guard = guard;
                let _counter = counter;
                std::future::pending::<()>().await;
            })
            .detach();
        }
        wait_until("the victims to be polled", || polls.load(Ordering::SeqCst) >= pairs);
        let handle = rt.handle();
        drop(rt);
        assert_eq!(drops.load(Ordering::SeqCst), 2 * pairs, "every future dropped once");
        // Spawns from the destructors were refused (cancelled) or dropped.
        let late: Vec<_> = std::mem::take(&mut *spawned.lock().unwrap());
        assert_eq!(late.len(), pairs);
        for task in late {
            assert_eq!(futures_lite::future::block_on(task), None, "a spawn during shutdown is cancelled");
        }
        assert_eq!(late_drops.load(Ordering::SeqCst), pairs, "late futures dropped, not leaked");
        let m = handle.metrics();
        assert_eq!(m.spawned, m.completed + m.panicked + m.cancelled, "{m:?}");
    });
}

/// Wakers of pending tasks outlive the runtime: fired by value, by
/// reference, cloned and dropped afterwards, from another thread too.
pub fn wakers_outlive_the_runtime<Q: Queue>() {
    within(20, "wakers after the runtime", || {
        let n = size(32, 4);
        let (rt, _) = runtime::<Q>(2);
        let drops = Arc::new(AtomicUsize::new(0));
        let polls = Arc::new(AtomicUsize::new(0));
        let slots: Vec<WakerSlot> = (0..n).map(|_| WakerSlot::default()).collect();
        for slot in &slots {
            rt.spawn(parked(slot.clone(), polls.clone(), drops.clone())).detach();
        }
        let wakers: Vec<Waker> = slots.iter().map(waker_in).collect();
        drop(rt);
        assert_eq!(drops.load(Ordering::SeqCst), n, "shutdown dropped every pending future");
        let polls_at_shutdown = polls.load(Ordering::SeqCst);
        let (here, there) = wakers.split_at(n / 2);
        let there = there.to_vec();
        let other = thread::spawn(move || {
            for waker in there {
                waker.wake_by_ref();
                let clone = waker.clone();
                drop(waker);
                clone.wake();
            }
        });
        for (i, waker) in here.iter().enumerate() {
            if i % 2 == 0 {
                waker.wake_by_ref();
            } else {
                // A clone that is woken by value and a waker dropped unwoken.
                let clone = waker.clone();
                clone.wake();
            }
        }
        other.join().unwrap();
        drop(wakers);
        drop(slots);
        assert_eq!(polls.load(Ordering::SeqCst), polls_at_shutdown, "nothing polled after shutdown");
        assert_eq!(drops.load(Ordering::SeqCst), n);
    });
}

/// A parked task whose waker is held by someone else does not keep the
/// runtime alive: dropping the runtime returns, joins its workers (each has
/// run its thread-local destructors by the time the drop returns), and drops
/// the future while the foreign waker still exists.
pub fn foreign_waker_does_not_keep_runtime_alive<Q: Queue>() {
    within(20, "drop with a foreign waker", || {
        let (rt, prefix) = runtime::<Q>(2);
        let (slot, polls, drops) = (WakerSlot::default(), Arc::default(), Arc::new(AtomicUsize::new(0)));
        rt.spawn(parked(slot.clone(), polls, drops.clone())).detach();
        let foreign = waker_in(&slot);
        assert_threads_named(&prefix, 2, "both workers are running");
        // An exit probe on each worker: two tasks that wait for each other
        // on a blocking barrier cannot run on the same worker.
        let live = Arc::new(AtomicUsize::new(0));
        let both = Arc::new(Barrier::new(2));
        let probes: Vec<_> = (0..2)
            .map(|_| {
                let (live, both) = (live.clone(), both.clone());
                rt.spawn(async move {
                    ExitProbe::install(&live);
                    both.wait();
                })
            })
            .collect();
        rt.block_on(async {
            for probe in probes {
                probe.await;
            }
        });
        assert_eq!(live.load(Ordering::SeqCst), 2, "a probe on each worker");
        let handle = rt.handle();
        drop(rt);
        assert!(handle.is_shutdown());
        assert_eq!(drops.load(Ordering::SeqCst), 1, "the future is dropped although its waker lives");
        assert_eq!(live.load(Ordering::SeqCst), 0, "drop joined every worker");
        // Joined threads leave /proc/self/task shortly after `join` returns,
        // not necessarily before: wait for that instead of assuming it.
        assert_threads_named(&prefix, 0, "the joined workers are gone");
        drop(foreign);
        drop(slot.lock().unwrap().take());
    });
}

/// Eight threads hammer one task's waker while it runs: polls never overlap
/// (an in-poll flag is never found set), and the runtime counts exactly the
/// polls the future saw.
pub fn hammered_waker_never_overlaps_polls<Q: Queue>() {
    within(30, "hammered waker", || {
        let target = size(2_000, 30);
        let (rt, _) = runtime::<Q>(2);
        let in_poll = Arc::new(AtomicBool::new(false));
        let overlaps = Arc::new(AtomicUsize::new(0));
        let polls = Arc::new(AtomicUsize::new(0));
        let slot = WakerSlot::default();
        let task = rt.spawn({
            let (in_poll, overlaps, polls, slot) =
                (in_poll.clone(), overlaps.clone(), polls.clone(), slot.clone());
            poll_fn(move |cx| {
                if in_poll.swap(true, Ordering::SeqCst) {
                    overlaps.fetch_add(1, Ordering::SeqCst);
                }
                let n = polls.fetch_add(1, Ordering::SeqCst) + 1;
                *slot.lock().unwrap() = Some(cx.waker().clone());
                // Stay in the poll a little, so that wakes land while it runs.
                for _ in 0..100 {
                    std::hint::spin_loop();
                }
                in_poll.store(false, Ordering::SeqCst);
                if n >= target { Poll::Ready(n) } else { Poll::Pending }
            })
        });
        let stop = Arc::new(AtomicBool::new(false));
        let hammers: Vec<_> = (0..8)
            .map(|_| {
                let (slot, stop) = (slot.clone(), stop.clone());
                thread::spawn(move || {
                    let waker = waker_in(&slot);
                    while !stop.load(Ordering::Relaxed) {
                        waker.wake_by_ref();
                        thread::yield_now();
                    }
                })
            })
            .collect();
        let handle = rt.handle();
        let seen = rt.block_on(task);
        stop.store(true, Ordering::Relaxed);
        for h in hammers {
            h.join().unwrap();
        }
        drop(rt);
        assert_eq!(overlaps.load(Ordering::SeqCst), 0, "two polls of one task overlapped");
        assert_eq!(seen, target);
        assert_eq!(polls.load(Ordering::SeqCst), target, "no poll after Ready");
        assert_eq!(handle.metrics().polls, target as u64, "the runtime polled it exactly as often as it saw");
        drop(slot.lock().unwrap().take());
    });
}

/// A task that yields a million times finishes on a worker's default stack:
/// a yield goes through the queue, not a nested poll. (About 4 s per backend
/// in a debug build.)
pub fn million_yields_in_bounded_stack<Q: Queue>() {
    let yields = size(1_000_000, 200);
    within(60, "a million yields", move || {
        let (rt, _) = runtime::<Q>(1);
        let handle = rt.handle();
        let n = rt.block_on(rt.spawn(async move {
            for _ in 0..yields {
                runtime_core::yield_now().await;
            }
            yields
        }));
        drop(rt);
        assert_eq!(n, yields);
        assert_eq!(handle.metrics().polls, yields as u64 + 1);
    });
}

/// A future with a 1 MiB state spawns and runs. In release builds it is
/// spawned from a thread with the default 2 MiB stack; in debug builds, where
/// every by-value move of the future on the spawn path is a 1 MiB stack copy
/// the optimizer would remove, from a thread with a 16 MiB stack (see
/// `tests/big_future.rs` for the measured cost, and the ignored regression
/// test that pins it). Under Miri, which has no stack limit to test and
/// takes minutes over a 1 MiB buffer, the state is 8 KiB: still above the
/// size that `spawn` boxes.
pub fn one_mib_future_spawns_and_runs<Q: Queue>() {
    const BIG: usize = size(1 << 20, 8 << 10);
    let stack = if cfg!(debug_assertions) { 16 << 20 } else { 2 << 20 };
    let (rt, _) = runtime::<Q>(2);
    let rt = Arc::new(rt);
    let spawner = thread::Builder::new().stack_size(stack).spawn({
        let rt = rt.clone();
        move || {
            let task = rt.spawn(async {
                let mut buf = [0u8; BIG];
                buf[BIG - 1] = 1;
                runtime_core::yield_now().await;
                buf[0] = 1;
                runtime_core::yield_now().await;
                buf.iter().map(|&b| usize::from(b)).sum::<usize>()
            });
            rt.block_on(task)
        }
    });
    let sum = spawner.expect("spawn").join().expect("spawning a 1 MiB future did not overflow the stack");
    assert_eq!(sum, 2);
}

/// More panicking tasks than workers: every panic is counted, the worker
/// count (and the worker threads) stay the same, and both workers still run
/// tasks afterwards.
pub fn panics_in_more_tasks_than_workers<Q: Queue>() {
    within(20, "panicking tasks", || {
        let (rt, prefix) = runtime::<Q>(2);
        let panics = size(40, 6);
        let awaited: Vec<_> =
            (0..panics / 2).map(|i| rt.spawn(async move { panic!("torture panic {i}") })).collect();
        for i in panics / 2..panics {
            rt.spawn(async move { panic!("torture panic {i}") }).detach();
        }
        for task in awaited {
            let caught = catch_unwind(AssertUnwindSafe(|| rt.block_on(task)));
            assert!(
                panic_message(&*caught.expect_err("the panic reaches the awaiter"))
                    .starts_with("torture panic")
            );
        }
        wait_until("every panic to be counted", || rt.metrics().panicked >= panics as u64);
        let m = rt.metrics();
        assert_eq!((m.panicked, m.worker_threads, m.live_tasks), (panics as u64, 2, 0), "{m:?}");
        assert_threads_named(&prefix, 2, "no worker thread died");
        // Both workers still take work: two tasks that each wait for the other.
        let (a, b) = (Signal::default(), Signal::default());
        let first = rt.spawn({
            let (a, b) = (a.clone(), b.clone());
            async move {
                a.fire();
                b.wait().await;
                thread::current().id()
            }
        });
        let second = rt.spawn(async move {
            a.wait().await;
            b.fire();
            thread::current().id()
        });
        let (x, y) = rt.block_on(async { (first.await, second.await) });
        let _ = (x, y); // which worker ran which is up to the scheduler
        let m = rt.metrics();
        assert_eq!(m.completed, 2);
        assert_eq!(m.spawned, panics as u64 + 2);
    });
}

/// A handle that outlives its runtime spawns tasks that report cancellation
/// at once, and never hang whoever awaits them.
pub fn spawn_after_shutdown_reports_cancellation<Q: Queue>() {
    within(20, "spawn after shutdown", || {
        let (rt, _) = runtime::<Q>(2);
        let handle = rt.handle();
        drop(rt);
        let drops = Arc::new(AtomicUsize::new(0));
        let counter = DropCounter(drops.clone());
        let task = handle.spawn(async move {
            let _counter = counter;
            1
        });
        assert_eq!(drops.load(Ordering::SeqCst), 1, "the refused future is dropped at once");
        assert!(task.is_finished());
        assert_eq!(futures_lite::future::block_on(task.fallible()), None);
        let task = handle.spawn(async { 2 });
        let caught = catch_unwind(AssertUnwindSafe(|| futures_lite::future::block_on(task)));
        assert!(panic_message(&*caught.expect_err("awaiting panics")).contains("cancelled"));
        assert_eq!(handle.metrics().spawned, 0, "refused spawns are not counted");
    });
}

/// A thread keeps spawning through a handle while the runtime shuts down:
/// each task either completes or reports cancellation; no await hangs and
/// every future is dropped exactly once.
pub fn spawn_racing_shutdown_never_hangs<Q: Queue>() {
    within(20, "spawn racing shutdown", || {
        let spawns = size(2_000, 20);
        let (rt, _) = runtime::<Q>(2);
        let handle = rt.handle();
        let drops = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(Barrier::new(2));
        let spawner = thread::spawn({
            let (handle, drops, started) = (handle.clone(), drops.clone(), started.clone());
            move || {
                let mut tasks = Vec::with_capacity(spawns);
                for i in 0..spawns {
                    if i == spawns / 4 {
                        started.wait();
                    }
                    let counter = DropCounter(drops.clone());
                    tasks.push(
                        handle
                            .spawn(async move {
                                let _counter = counter;
                                runtime_core::yield_now().await;
                                i
                            })
                            .fallible(),
                    );
                }
                tasks
            }
        });
        started.wait();
        drop(rt);
        let tasks = spawner.join().unwrap();
        let done = tasks.into_iter().filter_map(futures_lite::future::block_on).count();
        assert_eq!(drops.load(Ordering::SeqCst), spawns, "every future dropped exactly once");
        let m = handle.metrics();
        assert_eq!(m.completed as usize, done);
        assert_eq!(m.spawned, m.completed + m.panicked + m.cancelled, "{m:?}");
    });
}

/// `block_on(spawn(block_on(..)))`: the inner `block_on` runs on a worker,
/// which panics with a message that says so, reaches the outer awaiter, and
/// the runtime keeps working. Nested `block_on` of another runtime panics
/// too. Never a deadlock.
pub fn block_on_inside_spawned_block_on_panics<Q: Queue>() {
    within(20, "block_on misuse", || {
        let (rt, _) = runtime::<Q>(2);
        let rt = Arc::new(rt);
        let inner = rt.clone();
        let task = rt.spawn(async move { inner.block_on(async { 1 }) });
        let caught = catch_unwind(AssertUnwindSafe(|| rt.block_on(task)));
        let message = panic_message(&*caught.expect_err("block_on on a worker panics"));
        assert!(message.contains("worker thread"), "{message}");

        let (other, _) = runtime::<Q>(1);
        let caught = catch_unwind(AssertUnwindSafe(|| rt.block_on(async { other.block_on(async { 2 }) })));
        let message = panic_message(&*caught.expect_err("nested block_on panics"));
        assert!(message.contains("inside another block_on"), "{message}");

        assert_eq!(rt.block_on(rt.spawn(async { 3 })), 3, "the runtime still works");
        assert_eq!(other.block_on(async { 4 }), 4, "and so does the other one");
        assert_eq!(rt.metrics().panicked, 1);
    });
}

/// Regression test for the deadlock loom found in
/// `two_workers_steal_from_a_blocked_third`: with every sibling asleep, a
/// task spawns a child (it lands in the worker's empty LIFO slot) and then
/// keeps its worker busy. Filling the slot used to notify nobody, so the
/// child waited for the parent's poll to end; now it notifies, and an idle
/// sibling steals the child.
#[test]
fn lifo_task_stranded_behind_long_poll() {
    within(20, "stranded LIFO task", || {
        let (rt, _) = runtime::<queue_mutex::MutexQueue>(2);
        // Let both workers go to sleep.
        wait_until("both workers to park", || rt.metrics().parks >= 2);
        thread::sleep(Duration::from_millis(20));
        let child_ran = rt.block_on(rt.spawn(async {
            // The worker that picked this task up woke its sibling (the
            // last searcher to find work does); let the sibling find nothing
            // and go back to sleep.
            thread::sleep(Duration::from_millis(50));
            let (tx, rx) = mpsc::channel();
            runtime_core::spawn(async move {
                let _ = tx.send(());
            })
            .detach();
            // A long (here: blocking) poll; the sibling worker is idle.
            rx.recv_timeout(deadline(Duration::from_secs(2))).is_ok()
        }));
        assert!(child_ran, "the child sat in the busy worker's LIFO slot while the other worker slept");
    });
}
