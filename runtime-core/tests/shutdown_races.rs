//! What shutdown promises, under the races that used to break it (see
//! "Shutdown" in `scheduler.rs`), on every backend.
//!
//! The windows are a few instructions wide in real programs; here an
//! instrumented backend, [`Slow<Q>`], holds them open: its `push` sleeps on a
//! thread that marked itself (a `wake()` caught between async-task marking
//! the task scheduled and the schedule function's push), and its `steal_into`
//! can hold a popped batch for a while (a worker caught between taking a
//! batch from the shared queue and pushing it to its local queue).
#![cfg(not(loom))]

use std::{
    cell::RefCell,
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        mpsc,
    },
    task::{Poll, Waker},
    thread::{self, ThreadId},
    time::Duration,
};

use runtime_core::{
    Handle, Queue, Runnable, Runtime,
    testing::{wait_until, within},
};

mod common;

common::per_backend!(
    wake_in_flight_is_dropped_by_the_drain,
    batch_in_transit_is_dropped_after_shutdown_timeout,
    shutdown_timeout_zero_keeps_its_promise,
);

// ------------------------------------------------------- the slow backend

thread_local! {
    /// Set on a thread whose next `push` should sleep: (how long, a flag the
    /// push raises when it starts sleeping).
    static SLOW_PUSH: RefCell<Option<(Duration, Arc<AtomicBool>)>> = const { RefCell::new(None) };
}

/// How a `Slow<Q>` holds batches: one per backend type `Q`.
#[derive(Default)]
struct BatchHold {
    /// Milliseconds a `steal_into` of two or more runnables holds them.
    millis: AtomicU64,
    /// Raised while a batch is held.
    holding: AtomicBool,
}

fn batch_hold<Q: 'static>() -> Arc<BatchHold> {
    common::per_queue_type::<Q, BatchHold>()
}

/// A backend `Q` with windows held open on demand.
struct Slow<Q> {
    inner: Q,
    hold: Arc<BatchHold>,
}

impl<Q: Queue> Queue for Slow<Q> {
    fn new() -> Self {
        Slow { inner: Q::new(), hold: batch_hold::<Q>() }
    }
    fn push(&self, runnable: Runnable) {
        if let Some((delay, started)) = SLOW_PUSH.with(|s| s.borrow_mut().take()) {
            started.store(true, Ordering::SeqCst);
            thread::sleep(delay);
        }
        self.inner.push(runnable);
    }
    fn pop(&self) -> Option<Runnable> {
        self.inner.pop()
    }
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn steal_into(&self, dest: &Self, max: usize) -> usize {
        let millis = self.hold.millis.load(Ordering::SeqCst);
        if millis == 0 || max < 2 {
            return self.inner.steal_into(&dest.inner, max);
        }
        let batch: Vec<Runnable> = std::iter::from_fn(|| self.inner.pop()).take(max).collect();
        self.hold.holding.store(true, Ordering::SeqCst);
        thread::sleep(Duration::from_millis(millis));
        let moved = batch.len();
        for runnable in batch {
            dest.inner.push(runnable);
        }
        self.hold.holding.store(false, Ordering::SeqCst);
        moved
    }
}

// ------------------------------------------------------------- helpers

/// Records how and where a future was dropped.
#[derive(Default)]
struct Drops {
    count: AtomicUsize,
    /// Threads that dropped one, and whether a runtime was current there.
    by: Mutex<Vec<(ThreadId, bool)>>,
}

struct Tracker(Arc<Drops>);

impl Drop for Tracker {
    fn drop(&mut self) {
        let current = Handle::try_current().is_some();
        self.0.by.lock().unwrap().push((thread::current().id(), current));
        self.0.count.fetch_add(1, Ordering::SeqCst);
    }
}

/// Pending forever; leaves its waker in `slot` (if any) on every poll.
fn parked(
    drops: &Arc<Drops>,
    slot: Option<Arc<Mutex<Option<Waker>>>>,
) -> impl Future<Output = ()> + Send + 'static {
    let tracker = Tracker(drops.clone());
    std::future::poll_fn(move |cx| {
        let _keep = &tracker;
        if let Some(slot) = &slot {
            *slot.lock().unwrap() = Some(cx.waker().clone());
        }
        Poll::<()>::Pending
    })
}

// --------------------------------------------------------------- checks

/// A `wake()` on another thread is caught between async-task marking the
/// task scheduled and the push (held open for 200 ms) while the runtime is
/// dropped. The drain must wait for that push and drop the future itself:
/// when `drop(rt)` returns the future is gone, it was dropped by the drain
/// with the runtime current (so its destructor could even spawn), and not
/// inside the waker's `wake()`.
fn wake_in_flight_is_dropped_by_the_drain<Q: Queue>() {
    within(30, "a wake in flight during drop(rt)", || {
        let rt = Runtime::<Slow<Q>>::builder().worker_threads(1).build().unwrap();
        let drops = Arc::new(Drops::default());
        let slot = Arc::new(Mutex::new(None));
        rt.spawn(parked(&drops, Some(slot.clone()))).detach();
        wait_until("the task parked", || slot.lock().unwrap().is_some());
        // Parked and registered: the worker is idle again.
        wait_until("the worker parked", || rt.metrics().parks >= 1);

        let in_push = Arc::new(AtomicBool::new(false));
        let waker = slot.lock().unwrap().take().unwrap();
        let waking = thread::spawn({
            let in_push = in_push.clone();
            move || {
                SLOW_PUSH.with(|s| *s.borrow_mut() = Some((Duration::from_millis(200), in_push)));
                waker.wake();
                thread::current().id()
            }
        });
        wait_until("the wake reached the push", || in_push.load(Ordering::SeqCst));
        drop(rt);
        let dropped_at_return = drops.count.load(Ordering::SeqCst);
        let waking_thread = waking.join().unwrap();
        assert_eq!(
            (dropped_at_return, drops.count.load(Ordering::SeqCst)),
            (1, 1),
            "(dropped when drop(rt) returned, dropped in all): the in-flight wake escaped the drain"
        );
        // By the drain: on the dropping thread, or on the last worker out.
        let by = drops.by.lock().unwrap().clone();
        assert_ne!(by[0].0, waking_thread, "dropped inside the waker's wake()");
        assert!(by[0].1, "dropped where no runtime was current (a destructor could not spawn)");
    });
}

/// `shutdown_timeout` gives up on a worker stuck in a poll while the other
/// worker holds a batch it took from the shared queue (held open for
/// 300 ms). The batch lands after the drain; it must be dropped right then,
/// not when the stuck worker comes back.
fn batch_in_transit_is_dropped_after_shutdown_timeout<Q: Queue>() {
    within(30, "a batch in transit during shutdown_timeout", || {
        let rt = Runtime::<Slow<Q>>::builder().worker_threads(2).build().unwrap();
        let hold = batch_hold::<Q>();
        // Block both workers, so that the tasks below pile up in the shared queue.
        let (release_a, stuck_a) = mpsc::channel::<()>();
        let (release_b, stuck_b) = mpsc::channel::<()>();
        let running = Arc::new(AtomicUsize::new(0));
        for stuck in [stuck_a, stuck_b] {
            let running = running.clone();
            rt.spawn(async move {
                running.fetch_add(1, Ordering::SeqCst);
                let _ = stuck.recv();
            })
            .detach();
        }
        wait_until("both workers blocked", || running.load(Ordering::SeqCst) == 2);

        const TASKS: usize = 10;
        let drops = Arc::new(Drops::default());
        for _ in 0..TASKS {
            rt.spawn(parked(&drops, None)).detach();
        }
        hold.millis.store(300, Ordering::SeqCst);
        // One worker comes back and takes a batch from the shared queue.
        release_b.send(()).unwrap();
        wait_until("a batch is in transit", || hold.holding.load(Ordering::SeqCst));
        hold.millis.store(0, Ordering::SeqCst);

        rt.shutdown_timeout(Duration::from_millis(50));
        // The other worker is still stuck; the batch lands within 300 ms and
        // must be dropped then.
        wait_until("every queued future was dropped while a worker is still stuck", || {
            drops.count.load(Ordering::SeqCst) == TASKS
        });
        release_a.send(()).unwrap();
    });
}

/// `shutdown_timeout(Duration::ZERO)` waits for nothing; what it promises
/// (see its docs): every future is dropped when it returns except those held
/// by workers still running, at most one each once the tasks are parked, and
/// those soon after.
fn shutdown_timeout_zero_keeps_its_promise<Q: Queue>() {
    within(60, "shutdown_timeout(0) rounds", || {
        const WORKERS: usize = 2;
        const TASKS: usize = 50;
        for round in 0..20 {
            let rt = Runtime::<Q>::builder().worker_threads(WORKERS).build().unwrap();
            let drops = Arc::new(Drops::default());
            for _ in 0..TASKS {
                rt.spawn(parked(&drops, None)).detach();
            }
            wait_until("every task parked", || rt.metrics().polls >= TASKS as u64);
            rt.shutdown_timeout(Duration::ZERO);
            let at_return = drops.count.load(Ordering::SeqCst);
            assert!(
                at_return >= TASKS - WORKERS,
                "round {round}: only {at_return} of {TASKS} futures dropped when shutdown_timeout(0) returned"
            );
            wait_until("the rest were dropped by the workers", || {
                drops.count.load(Ordering::SeqCst) == TASKS
            });
        }
    });
}
