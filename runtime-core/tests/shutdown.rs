//! Regression tests for shutdown defects found in review, one per defect.
//! Each runs under a deadline, so a deadlock fails instead of hanging CI.
#![cfg(not(loom))]

use std::{
    collections::VecDeque,
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    task::{Context, Poll, Waker},
    thread,
    time::{Duration, Instant},
};

use queue_mutex::MutexQueue;
use runtime_core::{
    Handle, Queue, Runnable, Runtime,
    testing::{DropCounter, wait_until, within},
};

mod common;

common::per_backend!(runtime_dropped_inside_a_drain_is_finished, drop_after_a_timed_shutdown_gave_up);

fn runtime(workers: usize) -> Runtime<MutexQueue> {
    Runtime::builder().worker_threads(workers).build().unwrap()
}

/// A destructor that spawns (or asks for the current handle) while the
/// runtime drops it at shutdown gets a cancelled task, not a panic: the
/// panic used to happen inside async-task's drop of the future, which aborts
/// the process.
#[test]
fn destructor_may_spawn_during_shutdown() {
    within(20, "destructor spawning at shutdown", || {
        struct SpawnOnDrop(Arc<AtomicUsize>);
        impl Drop for SpawnOnDrop {
            fn drop(&mut self) {
                let handle = Handle::current();
                assert!(handle.is_shutdown());
                runtime_core::spawn(async {}).detach();
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let drops = Arc::new(AtomicUsize::new(0));
        let rt = runtime(2);
        for _ in 0..8 {
            let guard = SpawnOnDrop(drops.clone());
            rt.spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await
            })
            .detach();
        }
        while rt.metrics().polls < 8 {
            thread::sleep(Duration::from_millis(1));
        }
        let handle = rt.handle();
        drop(rt);
        assert_eq!(drops.load(Ordering::SeqCst), 8);
        let m = handle.metrics();
        assert_eq!((m.spawned, m.cancelled), (8, 8), "the spawns at shutdown were refused: {m:?}");
    });
}

/// `shutdown_timeout(Duration::MAX)` means "wait as long as it takes"; it
/// used to panic computing the deadline.
#[test]
fn shutdown_timeout_max_waits_without_panicking() {
    within(20, "shutdown_timeout(MAX)", || {
        let rt = runtime(2);
        assert_eq!(rt.block_on(rt.spawn(async { 1 })), 1);
        rt.shutdown_timeout(Duration::MAX);
    });
}

/// A hand-written notifier that wakes its waiters while holding its lock,
/// whose futures lock the same mutex in their destructor: shutdown must not
/// drop a future inside such a `wake()` (it used to, and deadlocked).
#[test]
fn wake_under_user_lock_during_shutdown() {
    #[derive(Default)]
    struct Notifier {
        waiters: Mutex<Vec<Option<Waker>>>,
    }
    struct Wait {
        notifier: Arc<Notifier>,
        slot: Option<usize>,
    }
    impl Future for Wait {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let mut waiters = self.notifier.waiters.lock().unwrap();
            match self.slot {
                Some(i) => waiters[i] = Some(cx.waker().clone()),
                None => {
                    waiters.push(Some(cx.waker().clone()));
                    let i = waiters.len() - 1;
                    drop(waiters);
                    self.slot = Some(i);
                }
            }
            Poll::Pending
        }
    }
    impl Drop for Wait {
        fn drop(&mut self) {
            // Deregister: needs the notifier's lock.
            if let Some(i) = self.slot {
                self.notifier.waiters.lock().unwrap()[i] = None;
            }
        }
    }

    for _ in 0..20 {
        within(20, "wake under a user lock during shutdown", || {
            let notifier = Arc::new(Notifier::default());
            let rt = runtime(2);
            for _ in 0..16 {
                rt.spawn(Wait { notifier: notifier.clone(), slot: None }).detach();
            }
            while rt.metrics().polls < 16 {
                thread::sleep(Duration::from_millis(1));
            }
            let stop = Arc::new(AtomicBool::new(false));
            let waker_thread = thread::spawn({
                let (notifier, stop) = (notifier.clone(), stop.clone());
                move || {
                    while !stop.load(Ordering::SeqCst) {
                        let waiters = notifier.waiters.lock().unwrap();
                        for waker in waiters.iter().flatten() {
                            waker.wake_by_ref();
                        }
                        drop(waiters);
                        thread::yield_now();
                    }
                }
            });
            drop(rt);
            stop.store(true, Ordering::SeqCst);
            waker_thread.join().unwrap();
            assert!(notifier.waiters.lock().unwrap().iter().all(Option::is_none), "every future was dropped");
        });
    }
}

/// Dropping a runtime on a worker of *another* runtime returns at once
/// instead of blocking that worker until our workers finish their polls
/// (which here wait for the other runtime: a deadlock before the fix).
#[test]
fn drop_runtime_on_another_runtimes_worker() {
    within(20, "drop on another runtime's worker", || {
        let outer = runtime(1);
        let released = Arc::new(AtomicBool::new(false));
        let inner = runtime(1);
        let started = Arc::new(AtomicBool::new(false));
        {
            let (released, started) = (released.clone(), started.clone());
            // Blocks inner's only worker until `released`.
            inner
                .spawn(async move {
                    started.store(true, Ordering::SeqCst);
                    while !released.load(Ordering::SeqCst) {
                        thread::sleep(Duration::from_millis(1));
                    }
                })
                .detach();
        }
        while !started.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(1));
        }
        let released_by_outer = released.clone();
        outer.block_on(outer.spawn(async move {
            drop(inner);
            // Only reached if the drop did not wait for inner's worker.
            released_by_outer.store(true, Ordering::SeqCst);
        }));
        assert!(released.load(Ordering::SeqCst));
    });
}

/// A queue whose next `pop` panics once `BROKEN` is set: it kills the worker
/// that calls it (once, so that the drain afterwards works).
struct BrokenQueue(Mutex<VecDeque<Runnable>>);

static BROKEN: AtomicBool = AtomicBool::new(false);
static BROKEN_POPS: AtomicUsize = AtomicUsize::new(0);

impl Queue for BrokenQueue {
    fn new() -> Self {
        BrokenQueue(Mutex::new(VecDeque::new()))
    }
    fn push(&self, runnable: Runnable) {
        self.0.lock().unwrap().push_back(runnable);
    }
    fn pop(&self) -> Option<Runnable> {
        if BROKEN.swap(false, Ordering::SeqCst) {
            BROKEN_POPS.fetch_add(1, Ordering::SeqCst);
            panic!("a broken queue backend");
        }
        self.0.lock().unwrap().pop_front()
    }
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// A worker killed by a panicking backend still counts itself out, so that
/// dropping the runtime returns instead of waiting for it forever.
#[test]
fn worker_killed_by_backend_does_not_hang_shutdown() {
    within(20, "shutdown after a worker died", || {
        let rt = Runtime::<BrokenQueue>::builder().worker_threads(1).build().unwrap();
        assert_eq!(rt.block_on(rt.spawn(async { 1 })), 1);
        BROKEN.store(true, Ordering::SeqCst);
        let task = rt.spawn(async { 2 });
        let deadline = Instant::now() + Duration::from_secs(10);
        while BROKEN_POPS.load(Ordering::SeqCst) == 0 {
            assert!(Instant::now() < deadline, "the worker never popped");
            thread::sleep(Duration::from_millis(1));
        }
        drop(task);
        drop(rt);
    });
}

/// `Handle::shutdown` shuts down a runtime that nobody can drop (one in a
/// `static`, say): every pending future is dropped when it returns, spawns
/// are refused, and dropping the runtime afterwards is harmless.
#[test]
fn handle_shutdown_cancels_everything() {
    within(20, "Handle::shutdown", || {
        static RT: std::sync::LazyLock<Runtime<MutexQueue>> = std::sync::LazyLock::new(|| runtime(2));
        let drops = Arc::new(AtomicUsize::new(0));
        for _ in 0..8 {
            let counter = runtime_core::testing::DropCounter(drops.clone());
            RT.spawn(async move {
                let _counter = counter;
                std::future::pending::<()>().await
            })
            .detach();
        }
        runtime_core::testing::wait_until("every task parked", || RT.metrics().polls >= 8);
        let handle = RT.handle();
        handle.shutdown();
        assert!(handle.is_shutdown());
        assert_eq!(drops.load(Ordering::SeqCst), 8, "every future dropped when shutdown returned");
        assert_eq!(RT.block_on(RT.spawn(async { 1 }).fallible()), None, "spawns are refused");
        handle.shutdown();
        let m = handle.metrics();
        assert_eq!((m.spawned, m.cancelled, m.live_tasks), (8, 8, 0), "{m:?}");
    });
}

/// `Handle::shutdown` called by a task on its own runtime cannot wait for
/// its own worker: it closes the runtime and returns, the task finishes, and
/// the last worker out drains the rest.
#[test]
fn handle_shutdown_from_a_task() {
    within(20, "Handle::shutdown from a task", || {
        let rt = runtime(2);
        let drops = Arc::new(AtomicUsize::new(0));
        let counter = runtime_core::testing::DropCounter(drops.clone());
        rt.spawn(async move {
            let _counter = counter;
            std::future::pending::<()>().await
        })
        .detach();
        let stopper = rt.spawn(async {
            Handle::current().shutdown();
            7
        });
        assert_eq!(rt.block_on(stopper), 7);
        assert!(rt.handle().is_shutdown());
        runtime_core::testing::wait_until("the pending future was dropped", || {
            drops.load(Ordering::SeqCst) == 1
        });
        drop(rt);
    });
}

/// A thread name prefix no other test in this process uses.
fn unique_prefix(base: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{base}{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// How many of this process's threads are named `"{prefix}-…"` (their
/// comm: at most 15 bytes). Not under Miri, whose threads are not the
/// process's.
#[cfg(not(miri))]
fn threads_named(prefix: &str) -> usize {
    let prefix = format!("{prefix}-");
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(Result::ok)
                .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
                .filter(|comm| comm.starts_with(&prefix))
                .count()
        })
        .unwrap_or(0)
}

/// Holds a pop open: the next `pop` of a `SlowPop<Q>` that finds a runnable
/// once `armed` sets `inside` and sleeps 100 ms before returning it.
#[derive(Default)]
struct PopHold {
    armed: AtomicBool,
    inside: AtomicBool,
}

/// A backend `Q` whose pops can be held open ([`PopHold`], one per `Q`).
struct SlowPop<Q> {
    inner: Q,
    hold: Arc<PopHold>,
}

impl<Q: Queue> Queue for SlowPop<Q> {
    fn new() -> Self {
        SlowPop { inner: Q::new(), hold: common::per_queue_type::<Q, PopHold>() }
    }
    fn push(&self, runnable: Runnable) {
        self.inner.push(runnable);
    }
    fn pop(&self) -> Option<Runnable> {
        let runnable = self.inner.pop();
        if runnable.is_some() && self.hold.armed.swap(false, Ordering::SeqCst) {
            self.hold.inside.store(true, Ordering::SeqCst);
            thread::sleep(Duration::from_millis(100));
        }
        runnable
    }
    fn len(&self) -> usize {
        self.inner.len()
    }
}

/// A task of runtime A owns runtime B, and `drop(A)` drops B while A shuts
/// down. When `drop(A)` returns, B is finished too: its 28 pending futures
/// dropped and its worker threads gone. Here an A worker pops A's task just
/// as A closes (the backend holds that pop open across the close), so the
/// worker finds it after the close. It used to drop it right there, in a
/// worker's context, where B's shutdown does not wait: B's workers were
/// still running (and, as often as not, B's futures not yet dropped) when
/// `drop(A)` returned. 10 rounds.
fn runtime_dropped_inside_a_drain_is_finished<Q: Queue>() {
    within(60, "a runtime dropped inside another's shutdown", || {
        let hold = common::per_queue_type::<Q, PopHold>();
        for round in 0..runtime_core::testing::size(10, 2) {
            let a = Runtime::<SlowPop<Q>>::builder().worker_threads(2).build().unwrap();
            let prefix = unique_prefix("inner");
            let b = Runtime::<Q>::builder().worker_threads(2).thread_name(prefix.clone()).build().unwrap();
            let drops = Arc::new(AtomicUsize::new(0));
            for _ in 0..28 {
                let counter = DropCounter(drops.clone());
                b.spawn(async move {
                    let _counter = counter;
                    std::future::pending::<()>().await
                })
                .detach();
            }
            wait_until("B's tasks are parked", || b.metrics().polls >= 28);
            #[cfg(not(miri))]
            wait_until("B's workers are named", || threads_named(&prefix) == 2);
            hold.inside.store(false, Ordering::SeqCst);
            hold.armed.store(true, Ordering::SeqCst);
            a.spawn(async move {
                let _b = b;
                std::future::pending::<()>().await
            })
            .detach();
            wait_until("an A worker is inside the pop of A's task", || hold.inside.load(Ordering::SeqCst));
            drop(a);
            assert_eq!(
                drops.load(Ordering::SeqCst),
                28,
                "round {round}: B's futures dropped when drop(A) returned"
            );
            #[cfg(not(miri))]
            assert_eq!(threads_named(&prefix), 0, "round {round}: B's workers exited when drop(A) returned");
        }
    });
}

/// `Handle::shutdown_timeout` gives up on a worker stuck in its poll; the
/// runtime's drop afterwards does not wait for that worker either (it used
/// to wait without limit): it drains what it can and returns. The stuck
/// poll's future is dropped by its worker once the poll returns.
fn drop_after_a_timed_shutdown_gave_up<Q: Queue>() {
    within(20, "drop after a timed shutdown gave up", || {
        let rt = Runtime::<Q>::builder().worker_threads(1).build().unwrap();
        let handle = rt.handle();
        let (release, stuck) = std::sync::mpsc::channel::<()>();
        let (started_tx, started) = std::sync::mpsc::channel::<()>();
        let drops = Arc::new(AtomicUsize::new(0));
        let counter = DropCounter(drops.clone());
        rt.spawn(async move {
            let _counter = counter;
            started_tx.send(()).unwrap();
            let _ = stuck.recv_timeout(Duration::from_secs(20));
            std::future::pending::<()>().await
        })
        .detach();
        started.recv().unwrap();
        handle.shutdown_timeout(Duration::from_millis(20));
        assert!(handle.is_shutdown());
        let dropping = Instant::now();
        drop(rt);
        let took = dropping.elapsed();
        assert!(took < Duration::from_secs(5), "drop waited {took:?} for the stuck worker");
        assert_eq!(drops.load(Ordering::SeqCst), 0, "the stuck poll still holds its future");
        release.send(()).unwrap();
        wait_until("the worker dropped the future once its poll returned", || {
            drops.load(Ordering::SeqCst) == 1
        });
    });
}

/// Panics on threads whose name starts with `prefix`, counted by a panic
/// hook installed once (other panics are reported as before).
fn panics_on_threads_named(prefix: &'static str) -> Arc<AtomicUsize> {
    static COUNTS: Mutex<Vec<(&'static str, Arc<AtomicUsize>)>> = Mutex::new(Vec::new());
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let name = thread::current().name().unwrap_or("").to_owned();
            for (prefix, count) in COUNTS.lock().unwrap().iter() {
                if name.starts_with(prefix) {
                    count.fetch_add(1, Ordering::SeqCst);
                }
            }
            previous(info);
        }));
    });
    let count = Arc::new(AtomicUsize::new(0));
    COUNTS.lock().unwrap().push((prefix, count.clone()));
    count
}

/// A runtime whose last owner is one of its own pending tasks, closed from a
/// task: the last worker out drains, drops that task, and with it the
/// runtime, whose shutdown then runs on that worker's thread. It neither
/// hangs nor panics (it used to try to join its own thread and panicked
/// there: "failed to join thread: Resource deadlock avoided"), and the
/// other pending future is dropped too.
#[test]
#[cfg(not(miri))] // It waits on `/proc/self/task`, where Miri's threads are not.
fn runtime_owned_by_its_own_task() {
    within(20, "a runtime dropped by its own drain", || {
        let panics = panics_on_threads_named("selfowned-");
        let rt = Arc::new(
            Runtime::<MutexQueue>::builder().worker_threads(2).thread_name("selfowned").build().unwrap(),
        );
        let handle = rt.handle();
        let drops = Arc::new(AtomicUsize::new(0));
        for _ in 0..2 {
            let counter = DropCounter(drops.clone());
            let owner = rt.clone();
            rt.spawn(async move {
                let _counter = counter;
                let _owner = owner;
                std::future::pending::<()>().await
            })
            .detach();
        }
        wait_until("both owners are parked", || handle.metrics().polls >= 2);
        drop(rt);
        handle.spawn(async { Handle::current().shutdown() }).detach();
        wait_until("both owners were dropped", || drops.load(Ordering::SeqCst) == 2);
        wait_until("every worker exited", || threads_named("selfowned") == 0);
        assert_eq!(panics.load(Ordering::SeqCst), 0, "a worker panicked while the runtime dropped itself");
    });
}
