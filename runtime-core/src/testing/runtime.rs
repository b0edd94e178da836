//! The checks on a whole runtime over the queue: spawn and join, nested
//! spawn, cross-thread wakes, priorities, stealing, panics, metrics,
//! shutdown and misuse.
//!
//! Each `pub fn name<Q: Queue>()` here must be listed in
//! `__conformance_checks!` (`mod.rs`); a unit test there checks it.

use std::{
    collections::HashSet,
    future::Future,
    panic::{AssertUnwindSafe, catch_unwind},
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
        mpsc,
    },
    task::{Context, Poll, Waker},
    thread::{self, ThreadId},
    time::{Duration, Instant},
};

use super::{DropCounter, Signal, deadline, panic_message, size, wait_until};
use crate::{Priority, Queue, Runtime, Task};

fn runtime<Q: Queue>(workers: usize) -> Runtime<Q> {
    Runtime::<Q>::builder()
        .worker_threads(workers)
        .thread_name("conformance")
        // Checks count the worker threads that ran tasks; a replacement for
        // a stalled worker would be one more (a panicking task's poll that
        // prints a backtrace on a loaded machine can pass the default 10 ms).
        // Stalls are a scheduling matter, tested in runtime-core.
        .stall_threshold(None)
        .build()
        .expect("build runtime")
}

/// A future that stays pending forever and parks its waker in `slot`.
struct ParkWaker {
    slot: Arc<Mutex<Option<Waker>>>,
}

impl Future for ParkWaker {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.slot.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// A task body that sleeps 2 ms (long enough for another worker to steal
/// its siblings) and then notes the thread it ran on in `threads`.
fn note_thread(threads: &Arc<Mutex<HashSet<ThreadId>>>) -> impl Future<Output = ()> + Send + 'static {
    let threads = threads.clone();
    async move {
        thread::sleep(Duration::from_millis(2));
        threads.lock().unwrap().insert(thread::current().id());
    }
}

/// Spawned tasks run and their handles yield the outputs.
pub fn spawn_and_join<Q: Queue>() {
    let rt = runtime::<Q>(2);
    let n = size(1000, 20);
    let tasks: Vec<_> = (0..n).map(|i| rt.spawn(async move { i * 2 })).collect();
    let outputs: Vec<usize> = rt.block_on(async {
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await);
        }
        out
    });
    assert_eq!(outputs, (0..n).map(|i| i * 2).collect::<Vec<_>>());
}

/// Tasks spawn tasks (with the free `spawn`) to some depth, and all finish.
pub fn nested_spawn<Q: Queue>() {
    fn chain(depth: usize) -> Pin<Box<dyn Future<Output = usize> + Send>> {
        Box::pin(async move { if depth == 0 { 0 } else { crate::spawn(chain(depth - 1)).await + 1 } })
    }
    let rt = runtime::<Q>(2);
    let depth = size(200, 10);
    assert_eq!(rt.block_on(rt.spawn(chain(depth))), depth);
    let fan_out = rt.block_on(async {
        let tasks: Vec<_> =
            (0..10).map(|i| crate::spawn(async move { crate::spawn(async move { i }).await })).collect();
        let mut sum = 0;
        for t in tasks {
            sum += t.await;
        }
        sum
    });
    assert_eq!(fan_out, 45);
}

/// A task woken from a plain thread runs again.
pub fn cross_thread_wake<Q: Queue>() {
    let rt = runtime::<Q>(2);
    let rounds = size(200, 5);
    for _ in 0..rounds {
        let signal = Signal::default();
        let task = rt.spawn({
            let signal = signal.clone();
            async move {
                signal.wait().await;
                7
            }
        });
        let firing = thread::spawn(move || signal.fire());
        assert_eq!(rt.block_on(task), 7);
        firing.join().unwrap();
    }
}

/// Yielding tasks on one worker take turns.
pub fn yield_now_round_robin<Q: Queue>() {
    let rt = runtime::<Q>(1);
    // All three are queued before the worker polls the first: otherwise the
    // first can yield (to the worker's local queue, which goes before the
    // shared one) before the others are even spawned, as under Miri.
    let (release, gate) = occupy_worker(&rt);
    let log = Arc::new(Mutex::new(Vec::new()));
    let tasks: Vec<_> = (0..3)
        .map(|id| {
            let log = log.clone();
            rt.spawn(async move {
                for _ in 0..3 {
                    log.lock().unwrap().push(id);
                    crate::yield_now().await;
                }
            })
        })
        .collect();
    release_and_join(&rt, release, gate, tasks);
    assert_eq!(*log.lock().unwrap(), vec![0, 1, 2, 0, 1, 2, 0, 1, 2]);
}

/// Blocks the only worker until the returned sender is used, so that tasks
/// can be queued up behind it.
fn occupy_worker<Q: Queue>(rt: &Runtime<Q>) -> (mpsc::Sender<()>, Task<()>) {
    let (release, wait) = mpsc::channel::<()>();
    let (started_tx, started) = mpsc::channel::<()>();
    let gate = rt.spawn(async move {
        started_tx.send(()).unwrap();
        wait.recv().unwrap();
    });
    started.recv().unwrap();
    (release, gate)
}

/// Releases the worker that [`occupy_worker`] blocked, then waits for it and
/// for `tasks`.
fn release_and_join<Q: Queue>(
    rt: &Runtime<Q>,
    release: mpsc::Sender<()>,
    gate: Task<()>,
    tasks: Vec<Task<()>>,
) {
    release.send(()).unwrap();
    rt.block_on(async {
        gate.await;
        for t in tasks {
            t.await;
        }
    });
}

/// On one worker, queued `High` tasks run before queued `Low` ones, each
/// priority in spawn order.
pub fn high_priority_runs_first<Q: Queue>() {
    let rt = runtime::<Q>(1);
    let (release, gate) = occupy_worker(&rt);
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for i in 0..8 {
        for (priority, tag) in [(Priority::Low, "low"), (Priority::High, "high")] {
            let log = log.clone();
            tasks.push(rt.spawn_with(priority, async move { log.lock().unwrap().push((tag, i)) }));
        }
    }
    release_and_join(&rt, release, gate, tasks);
    let log = log.lock().unwrap().clone();
    let expected: Vec<_> = (0..8).map(|i| ("high", i)).chain((0..8).map(|i| ("low", i))).collect();
    assert_eq!(log, expected);
}

/// On one worker, tasks of one priority spawned from one thread start in order.
pub fn one_worker_runs_in_spawn_order<Q: Queue>() {
    let rt = runtime::<Q>(1);
    let (release, gate) = occupy_worker(&rt);
    let log = Arc::new(Mutex::new(Vec::new()));
    let n = size(500, 20);
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let log = log.clone();
            rt.spawn(async move { log.lock().unwrap().push(i) })
        })
        .collect();
    release_and_join(&rt, release, gate, tasks);
    assert_eq!(*log.lock().unwrap(), (0..n).collect::<Vec<_>>());
}

/// A `Low` task still runs while `High` tasks keep spawning more `High` work.
pub fn low_priority_not_starved<Q: Queue>() {
    let rt = runtime::<Q>(1);
    let low_ran = Arc::new(AtomicBool::new(false));
    let high_polls = Arc::new(AtomicUsize::new(0));
    fn flood(low_ran: Arc<AtomicBool>, polls: Arc<AtomicUsize>) {
        polls.fetch_add(1, Ordering::SeqCst);
        if !low_ran.load(Ordering::SeqCst) {
            crate::spawn_with(Priority::High, async move { flood(low_ran, polls) }).detach();
        }
    }
    rt.block_on(async {
        for _ in 0..4 {
            let (low_ran, polls) = (low_ran.clone(), high_polls.clone());
            crate::spawn_with(Priority::High, async move { flood(low_ran, polls) }).detach();
        }
        let low_ran = low_ran.clone();
        crate::spawn_with(Priority::Low, async move { low_ran.store(true, Ordering::SeqCst) }).await;
    });
    assert!(low_ran.load(Ordering::SeqCst));
    assert!(high_polls.load(Ordering::SeqCst) > 0);
}

/// Tasks spawned on one worker are stolen and run by the others.
pub fn stealing_spreads_work<Q: Queue>() {
    let rt = runtime::<Q>(2);
    let threads = Arc::new(Mutex::new(HashSet::new()));
    let n = size(64, 8);
    rt.block_on({
        let threads = threads.clone();
        rt.spawn(async move {
            // All spawned from one worker: they land in its local queue.
            let tasks: Vec<_> = (0..n).map(|_| crate::spawn(note_thread(&threads))).collect();
            for t in tasks {
                t.await;
            }
        })
    });
    let metrics = rt.metrics();
    assert!(metrics.steals > 0, "no task was stolen: {metrics:?}");
    assert_eq!(threads.lock().unwrap().len(), 2, "both workers ran tasks");
}

/// Awaiting a task that panicked resumes the panic in the awaiter.
pub fn panic_reaches_awaiter<Q: Queue>() {
    let rt = runtime::<Q>(2);
    let task = rt.spawn(async {
        if true {
            panic!("boom from a task");
        }
    });
    let result = catch_unwind(AssertUnwindSafe(|| rt.block_on(task)));
    let payload = result.expect_err("the awaiter sees the panic");
    assert_eq!(panic_message(&*payload), "boom from a task");
    assert_eq!(rt.metrics().panicked, 1);
    assert_eq!(rt.block_on(rt.spawn(async { 1 })), 1, "the runtime keeps going");
}

/// A detached task's panic is counted.
pub fn detached_panic_is_counted<Q: Queue>() {
    let rt = runtime::<Q>(2);
    rt.spawn(async { panic!("detached boom") }).detach();
    wait_until("panicked == 1", || rt.metrics().panicked == 1);
}

/// More panicking tasks than workers, then normal work still runs everywhere.
pub fn panics_do_not_kill_workers<Q: Queue>() {
    let rt = runtime::<Q>(2);
    // Each panic costs seconds under Miri; 3 is still more than the workers.
    let panics = size(10, 3);
    for _ in 0..panics {
        rt.spawn(async { panic!("worker-killer?") }).detach();
    }
    wait_until("all panics counted", || rt.metrics().panicked == panics as u64);
    let threads = Arc::new(Mutex::new(HashSet::new()));
    let tasks: Vec<_> = (0..size(64, 8)).map(|_| rt.spawn(note_thread(&threads))).collect();
    rt.block_on(async {
        for t in tasks {
            t.await;
        }
    });
    assert_eq!(threads.lock().unwrap().len(), 2, "both workers are alive");
    assert_eq!(rt.metrics().worker_threads, 2);
}

/// Once idle, `spawned == completed + panicked + cancelled` exactly.
pub fn metrics_exact_when_idle<Q: Queue>() {
    let rt = runtime::<Q>(2);
    let n = size(500, 20);
    let tasks: Vec<_> = (0..n).map(|i| rt.spawn(async move { i })).collect();
    rt.block_on(async {
        for t in tasks {
            t.await;
        }
    });
    rt.spawn(async { panic!("counted") }).detach();
    let never = Signal::default();
    drop(rt.spawn(never.wait())); // cancelled
    wait_until("all accounted", || {
        let m = rt.metrics();
        m.completed == n as u64 && m.panicked == 1 && m.cancelled == 1
    });
    let m = rt.metrics();
    assert_eq!(m.spawned, n as u64 + 2);
    assert_eq!(m.live_tasks, 0);
    assert_eq!(m.queued, 0);
    assert!(m.polls >= m.spawned, "every task was polled: {m:?}");
}

/// Dropping the runtime drops queued tasks and pending tasks (also those
/// whose waker is held elsewhere), runs their destructors, and returns.
pub fn shutdown_drops_pending_tasks<Q: Queue>() {
    let drops = Arc::new(AtomicUsize::new(0));
    let slot = Arc::new(Mutex::new(None));
    let rt = runtime::<Q>(2);
    let n = size(100, 10);
    for _ in 0..n {
        // Pending forever, waker held by `slot` (outside every queue).
        let counter = DropCounter(drops.clone());
        let slot = slot.clone();
        rt.spawn(async move {
            let _counter = counter;
            ParkWaker { slot }.await
        })
        .detach();
    }
    for _ in 0..n {
        // Pending forever with no waker anywhere but the runtime's registry.
        let counter = DropCounter(drops.clone());
        rt.spawn(async move {
            let _counter = counter;
            std::future::pending::<()>().await
        })
        .detach();
    }
    wait_until("all tasks polled once", || rt.metrics().polls >= 2 * n as u64);
    let (release, gate) = {
        let (release, wait) = mpsc::channel::<()>();
        let gate = rt.spawn(async move {
            let _ = wait.recv_timeout(Duration::from_millis(50));
        });
        (release, gate)
    };
    for _ in 0..n {
        // Queued, possibly never polled.
        let counter = DropCounter(drops.clone());
        rt.spawn(async move {
            let _counter = counter;
        })
        .detach();
    }
    gate.detach();
    drop(release);
    let m = rt.metrics();
    drop(rt);
    assert_eq!(drops.load(Ordering::SeqCst), 3 * n, "every future was dropped ({m:?})");
    // The waker in `slot` outlived the runtime; waking it does nothing harmful.
    if let Some(waker) = slot.lock().unwrap().take() {
        waker.wake();
    }
}

/// Wakers fired and dropped after shutdown do nothing harmful.
pub fn waker_after_shutdown_is_harmless<Q: Queue>() {
    let slot = Arc::new(Mutex::new(None));
    let rt = runtime::<Q>(2);
    rt.spawn(ParkWaker { slot: slot.clone() }).detach();
    wait_until("the task parked its waker", || slot.lock().unwrap().is_some());
    let waker = slot.lock().unwrap().take().unwrap();
    drop(rt);
    waker.wake_by_ref();
    let clone = waker.clone();
    drop(waker);
    clone.wake();
}

/// A handle that outlives its runtime hands out cancelled tasks.
pub fn spawn_after_shutdown_is_cancelled<Q: Queue>() {
    let rt = runtime::<Q>(2);
    let handle = rt.handle();
    drop(rt);
    assert!(handle.is_shutdown());
    let task = handle.spawn(async { 1 });
    assert_eq!(futures_lite::future::block_on(task.fallible()), None);
    let task = handle.spawn(async { 2 });
    let result = catch_unwind(AssertUnwindSafe(|| futures_lite::future::block_on(task)));
    let payload = result.expect_err("awaiting a cancelled task panics");
    assert!(panic_message(&*payload).contains("cancelled"), "message says why");
}

/// `shutdown_timeout` returns even when a task never yields.
pub fn shutdown_timeout_returns<Q: Queue>() {
    let rt = runtime::<Q>(2);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicBool::new(false));
    {
        let (stop, started) = (stop.clone(), started.clone());
        rt.spawn(async move {
            started.store(true, Ordering::SeqCst);
            while !stop.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(1));
            }
        })
        .detach();
    }
    wait_until("the hog started", || started.load(Ordering::SeqCst));
    let begin = Instant::now();
    rt.shutdown_timeout(Duration::from_millis(50));
    let took = begin.elapsed();
    stop.store(true, Ordering::SeqCst);
    assert!(took < Duration::from_secs(5), "shutdown_timeout(50ms) took {took:?}");
}

/// `block_on` inside `block_on`, or on a worker, panics with a message.
pub fn block_on_misuse_panics<Q: Queue>() {
    let rt = Arc::new(runtime::<Q>(2));
    let inner = rt.clone();
    let nested = catch_unwind(AssertUnwindSafe(|| rt.block_on(async { inner.block_on(async {}) })));
    let payload = nested.expect_err("nested block_on panics");
    assert!(panic_message(&*payload).contains("inside another block_on"));

    let inner = rt.clone();
    let task = rt.spawn(async move { inner.block_on(async {}) });
    let on_worker = catch_unwind(AssertUnwindSafe(|| rt.block_on(task)));
    let payload = on_worker.expect_err("block_on on a worker panics");
    assert!(panic_message(&*payload).contains("worker thread"));
    assert_eq!(rt.block_on(rt.spawn(async { 3 })), 3, "the runtime still works");
}

/// The last `Arc<Runtime>` dropped on one of its own workers neither
/// deadlocks nor panics.
pub fn drop_runtime_on_own_worker<Q: Queue>() {
    let rt = Arc::new(runtime::<Q>(2));
    let (done_tx, done) = mpsc::channel();
    let handle = rt.handle();
    let moved = rt.clone();
    drop(rt);
    handle
        .spawn(async move {
            drop(moved);
            done_tx.send(()).unwrap();
        })
        .detach();
    done.recv_timeout(deadline(Duration::from_secs(10))).expect("the task that dropped the runtime finished");
    wait_until("the runtime shut down", || handle.is_shutdown());
}

/// Bad configuration is an error that names the setting and the value.
pub fn zero_workers_is_an_error<Q: Queue>() {
    let err = Runtime::<Q>::builder().worker_threads(0).build().expect_err("0 workers is invalid");
    let message = err.to_string();
    assert!(message.contains("worker_threads") && message.contains('0'), "{message}");
    assert_eq!(err.setting(), Some("worker_threads"));
    let err = Runtime::<Q>::builder().worker_threads(1).thread_name("bad\0name").build().unwrap_err();
    assert!(err.to_string().contains("thread_name"), "{err}");
}
