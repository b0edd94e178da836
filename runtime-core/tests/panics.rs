//! Code that misbehaves never aborts the process or hangs the runtime, on
//! every backend: futures that panic in `Drop` (on completion, on cancel, at
//! shutdown), and a backend that panics inside a worker.
//!
//! Before the task wrapper dropped futures inside its own `catch_unwind`,
//! each destructor check here aborted the whole test binary (async-task drops
//! futures under an abort-on-panic guard); before a dying worker closed the
//! runtime, `worker_death_closes_the_runtime` aborted too ("panic in a
//! destructor during cleanup").
#![cfg(not(loom))]

use std::{
    future::Future,
    panic::{AssertUnwindSafe, catch_unwind},
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
};

use runtime_core::{
    Queue, Runnable, Runtime,
    testing::{wait_until, within},
};

mod common;

common::per_backend!(
    destructor_panic_on_cancel_is_contained,
    destructor_panics_at_shutdown_are_contained,
    destructor_panic_after_completion_reaches_the_awaiter,
    poll_panic_wins_over_destructor_panic,
    cancel_of_a_panicked_task_resumes_the_panic,
    detached_output_panicking_in_drop_is_contained,
    worker_death_closes_the_runtime,
    worker_death_closes_the_blocking_pool,
);

// ------------------------------------------------------------- helpers

fn runtime<Q: Queue>(workers: usize) -> Runtime<Q> {
    Runtime::builder().worker_threads(workers).build().unwrap()
}

fn message(payload: &(dyn std::any::Any + Send)) -> String {
    runtime_core::testing::panic_message(payload)
}

/// Panics with `msg` when dropped.
struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("{}", self.0);
    }
}

/// Ready (with `()`) on its first poll unless `pending`; panics on drop.
struct Bomb {
    pending: bool,
    panic_in_poll: bool,
    _fuse: PanicOnDrop,
}

impl Future for Bomb {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u32> {
        if self.panic_in_poll {
            panic!("boom in poll");
        }
        if self.pending { Poll::Pending } else { Poll::Ready(7) }
    }
}

fn bomb(pending: bool, panic_in_poll: bool, msg: &'static str) -> Bomb {
    Bomb { pending, panic_in_poll, _fuse: PanicOnDrop(msg) }
}

// --------------------------------------------------------------- checks

/// A pending task is cancelled (its `Task` dropped); its future panics in
/// `Drop`. Contained, counted, and the runtime carries on.
fn destructor_panic_on_cancel_is_contained<Q: Queue>() {
    within(20, "a destructor panicking on cancel", || {
        let rt = runtime::<Q>(2);
        let task = rt.spawn(bomb(true, false, "boom on cancel"));
        wait_until("the task was polled", || rt.metrics().polls >= 1);
        drop(task);
        wait_until("the cancel was counted", || rt.metrics().cancelled == 1);
        let m = rt.metrics();
        assert_eq!((m.drop_panics, m.panicked, m.live_tasks), (1, 0, 0), "{m:?}");
        assert_eq!(rt.block_on(rt.spawn(async { 5 })), 5, "the runtime carries on");
    });
}

/// Pending tasks whose futures panic in `Drop` when shutdown drops them:
/// `drop(rt)` returns and counts each.
fn destructor_panics_at_shutdown_are_contained<Q: Queue>() {
    within(20, "destructors panicking at shutdown", || {
        let rt = runtime::<Q>(2);
        for _ in 0..10 {
            rt.spawn(bomb(true, false, "boom at shutdown")).detach();
        }
        wait_until("every task was polled", || rt.metrics().polls >= 10);
        let handle = rt.handle();
        drop(rt);
        let m = handle.metrics();
        assert_eq!((m.cancelled, m.drop_panics, m.live_tasks), (10, 10, 0), "{m:?}");
    });
}

/// A future completes, then panics in `Drop`: the task panicked, and the
/// awaiter gets that panic rather than the output.
fn destructor_panic_after_completion_reaches_the_awaiter<Q: Queue>() {
    within(20, "a destructor panicking after completion", || {
        let rt = runtime::<Q>(2);
        let task = rt.spawn(bomb(false, false, "boom after ready"));
        let err = catch_unwind(AssertUnwindSafe(|| rt.block_on(task))).expect_err("the awaiter must panic");
        assert_eq!(message(&*err), "boom after ready");
        let m = rt.metrics();
        assert_eq!((m.panicked, m.completed, m.drop_panics), (1, 0, 0), "{m:?}");
    });
}

/// The poll panics and then the destructor panics too: the awaiter gets the
/// poll's panic; the destructor's is contained and counted.
fn poll_panic_wins_over_destructor_panic<Q: Queue>() {
    within(20, "a destructor panicking after a poll panicked", || {
        let rt = runtime::<Q>(2);
        let task = rt.spawn(bomb(false, true, "boom in drop"));
        let err = catch_unwind(AssertUnwindSafe(|| rt.block_on(task))).expect_err("the awaiter must panic");
        assert_eq!(message(&*err), "boom in poll");
        wait_until("the panic was counted", || rt.metrics().panicked == 1);
        assert_eq!(rt.metrics().drop_panics, 1);
    });
}

/// `Task::cancel` on a task that already panicked re-raises its panic, as
/// awaiting it would (the documented behaviour).
fn cancel_of_a_panicked_task_resumes_the_panic<Q: Queue>() {
    within(20, "cancel of a panicked task", || {
        let rt = runtime::<Q>(2);
        let task = rt.spawn(async { panic!("boom before cancel") });
        // Finished, not just counted: async-task stores the outcome only after
        // the poll returns, and a cancel before that finds none to hand back.
        wait_until("the task panicked", || task.is_finished());
        let err =
            catch_unwind(AssertUnwindSafe(|| rt.block_on(task.cancel()))).expect_err("cancel must re-raise");
        assert_eq!(message(&*err), "boom before cancel");
        // A task that finished normally hands its output to `cancel`.
        let done = rt.spawn(async { 3 });
        wait_until("the task completed", || done.is_finished());
        assert_eq!(rt.block_on(done.cancel()), Some(3));
    });
}

/// A detached task (and a detached blocking closure) whose *output* panics
/// in `Drop`: nobody awaits it, so async-task drops the output inside
/// `Runnable::run` under its abort-on-panic guard, unless the task wrapper
/// hands the output over inside a guard of its own. Before it did, each
/// `detach()` here aborted the test binary (SIGABRT). Now the panic is
/// contained and counted in `drop_panics`, also when the output is dropped
/// by `detach()` itself (the task finished first) or with a dropped `Task`.
fn detached_output_panicking_in_drop_is_contained<Q: Queue>() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("an output that panics in drop");
        }
    }
    within(20, "outputs that panic in drop", || {
        let rt = runtime::<Q>(2);
        rt.spawn(async { PanicOnDrop }).detach();
        wait_until("the task's output was dropped", || rt.metrics().drop_panics == 1);
        rt.spawn_blocking(|| PanicOnDrop).detach();
        wait_until("the closure's output was dropped", || rt.metrics().drop_panics == 2);
        // Finished before its handle lets go: `detach` and `drop` drop the
        // output on this thread.
        let finished = rt.spawn(async { PanicOnDrop });
        wait_until("the task finished", || finished.is_finished());
        finished.detach();
        let finished = rt.spawn_blocking(|| PanicOnDrop);
        wait_until("the closure finished", || finished.is_finished());
        drop(finished);
        let m = rt.metrics();
        assert_eq!((m.drop_panics, m.completed, m.panicked), (4, 4, 0), "{m:?}");
        assert_eq!(rt.block_on(rt.spawn(async { 5 })), 5, "the runtime carries on");
        // An awaited output is the awaiter's: its drop panics there.
        let output = rt.block_on(rt.spawn(async { PanicOnDrop }));
        let dropped = catch_unwind(AssertUnwindSafe(move || drop(output)));
        assert!(dropped.is_err(), "the awaiter owns the output, panic and all");
        assert_eq!(rt.metrics().drop_panics, 4);
    });
}

// ------------------------------------------------ a backend that panics

/// Whether the next `pop` of an `Exploding<Q, K>` panics: one flag per
/// backend and per test (`K`), since the tests run in parallel.
fn armed<Q: 'static, K: 'static>() -> Arc<AtomicBool> {
    common::per_queue_type::<(Q, K), AtomicBool>()
}

/// A backend `Q` whose next `pop` panics once armed; `K` tells apart the
/// tests that arm it.
struct Exploding<Q, K = ()> {
    inner: Q,
    armed: Arc<AtomicBool>,
    tag: std::marker::PhantomData<K>,
}

impl<Q: Queue, K: Send + Sync + 'static> Queue for Exploding<Q, K> {
    fn new() -> Self {
        Exploding { inner: Q::new(), armed: armed::<Q, K>(), tag: std::marker::PhantomData }
    }
    fn push(&self, runnable: Runnable) {
        self.inner.push(runnable);
    }
    fn pop(&self) -> Option<Runnable> {
        if self.armed.swap(false, Ordering::SeqCst) {
            panic!("a broken queue backend");
        }
        self.inner.pop()
    }
    fn len(&self) -> usize {
        self.inner.len()
    }
}

/// A backend panics inside a worker, with one worker (the last one dies:
/// it used to drain a live runtime and abort on a debug assertion) and with
/// two (the dead one was counted as searching, so the healthy one was never
/// woken again). Either way the runtime closes visibly: `is_shutdown` says
/// so, pending tasks report cancellation, later spawns are refused, and
/// dropping it returns.
fn worker_death_closes_the_runtime<Q: Queue>() {
    within(30, "a worker killed by its backend", || {
        for workers in [1, 2] {
            let rt = runtime::<Exploding<Q>>(workers);
            let handle = rt.handle();
            assert_eq!(rt.block_on(rt.spawn(async { 1 })), 1);
            let pending = rt.spawn(std::future::pending::<()>()).fallible();
            armed::<Q, ()>().store(true, Ordering::SeqCst);
            // Every worker pops again: each gets a task.
            let tasks: Vec<_> = (0..4).map(|i| rt.spawn(async move { i }).fallible()).collect();
            wait_until("the runtime reports that it closed", || handle.is_shutdown());
            assert!(!armed::<Q, ()>().load(Ordering::SeqCst), "a worker popped");
            assert_eq!(rt.block_on(pending), None, "a pending task reports cancellation");
            // Tasks spawned just before may have run or been cancelled;
            // none is left hanging.
            for task in tasks {
                let _ = rt.block_on(task);
            }
            assert_eq!(rt.block_on(rt.spawn(async { 2 }).fallible()), None, "spawns are refused");
            drop(rt);
            let m = handle.metrics();
            assert_eq!(m.live_tasks, 0, "{workers} workers: {m:?}");
        }

        // The stall watcher calls the backend too (it hands a stalled
        // worker's queues off): a panic there closes the runtime as well.
        // It used to kill the watcher thread and leave the runtime open
        // (seen under Miri, where every poll is slow enough to stall).
        let rt = Runtime::<Exploding<Q>>::builder()
            .worker_threads(1)
            .stall_threshold(Some(std::time::Duration::from_millis(20)))
            .build()
            .unwrap();
        let handle = rt.handle();
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let blocker = rt.spawn(async move {
            // Two children: the second pushes the first from the LIFO slot
            // into the backend's local queue, which the handoff pops.
            let children = (runtime_core::spawn(async {}), runtime_core::spawn(async {}));
            armed::<Q, ()>().store(true, Ordering::SeqCst);
            let _ = blocked.recv_timeout(std::time::Duration::from_secs(20));
            drop(children);
        });
        wait_until("the watcher's handoff closes the runtime", || handle.is_shutdown());
        release.send(()).unwrap();
        assert!(!armed::<Q, ()>().load(Ordering::SeqCst), "the backend panicked");
        // It was inside its poll when the runtime closed: that poll ends.
        let _ = rt.block_on(blocker.fallible());
        assert_eq!(rt.block_on(rt.spawn(async { 2 }).fallible()), None, "spawns are refused");
        drop(rt);
    });
}

/// A dying worker's close is the handle's: it closes the blocking pool too.
/// With one pool thread busy and a second closure queued behind it, the
/// worker's backend panics: the queued closure never runs and its `Task`
/// reports cancellation. It used to start once the busy one returned, and
/// its `Task` returned `Some(..)`.
fn worker_death_closes_the_blocking_pool<Q: Queue>() {
    struct Pool;
    within(30, "a dying worker closes the blocking pool", || {
        let rt = Runtime::<Exploding<Q, Pool>>::builder()
            .worker_threads(1)
            .max_blocking_threads(1)
            .build()
            .unwrap();
        let handle = rt.handle();
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let (started_tx, started) = std::sync::mpsc::channel::<()>();
        let busy = rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            blocked.recv_timeout(std::time::Duration::from_secs(20)).is_ok()
        });
        started.recv().unwrap();
        let ran = Arc::new(AtomicBool::new(false));
        let queued = {
            let ran = ran.clone();
            rt.spawn_blocking(move || ran.store(true, Ordering::SeqCst)).fallible()
        };
        assert_eq!(handle.metrics().blocking_queued, 1, "the second closure waits for the pool's one thread");
        armed::<Q, Pool>().store(true, Ordering::SeqCst);
        let _woken = rt.spawn(async {}).fallible();
        wait_until("the runtime closed", || handle.is_shutdown());
        release.send(()).unwrap();
        assert!(rt.block_on(busy), "the running closure finishes");
        wait_until("the pool thread exits", || handle.metrics().blocking_threads == 0);
        assert_eq!(rt.block_on(queued), None, "the queued closure reports cancellation");
        assert!(!ran.load(Ordering::SeqCst), "the queued closure never ran");
        drop(rt);
    });
}
