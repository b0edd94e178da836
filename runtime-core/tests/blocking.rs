//! `spawn_blocking`: the pool's cap, panics, metrics, keep-alive and
//! shutdown, on every backend. Every wait is on the condition it checks,
//! under a deadline.
#![cfg(not(loom))]

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{
        Arc, Condvar, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use futures_lite::future::block_on;
use runtime_core::{
    Handle, Metrics, Queue, Runtime,
    testing::{DropCounter, panic_message, size, wait_until, within},
};

mod common;

common::per_backend!(
    never_more_threads_than_the_cap,
    a_panic_resumes_in_the_awaiter_and_is_counted,
    threads_and_queued_closures_are_visible,
    threads_exit_after_keep_alive,
    spawned_from_inside_and_outside,
    dropping_a_queued_task_cancels_the_closure,
    shutdown_cancels_queued_and_detaches_running,
    shutdown_timeout_waits_for_running_closures,
    shutdown_timeout_gives_up_on_a_blocked_closure,
    spawn_after_shutdown_is_cancelled,
);

/// Closures block on it until the test opens it.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    condvar: Condvar,
}

impl Gate {
    fn wait(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.condvar.wait(open).unwrap();
        }
    }

    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.condvar.notify_all();
    }
}

fn runtime<Q: Queue>(max_blocking: usize) -> Runtime<Q> {
    Runtime::builder().worker_threads(2).max_blocking_threads(max_blocking).build().unwrap()
}

fn metrics_where(handle: &Handle, what: &str, cond: impl Fn(&Metrics) -> bool) {
    wait_until(what, || cond(&handle.metrics()));
}

fn never_more_threads_than_the_cap<Q: Queue>() {
    within(60, "1000 closures on 8 threads", || {
        let rt = runtime::<Q>(8);
        let n = size(1_000, 50);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                let (running, most) = (running.clone(), most.clone());
                rt.spawn_blocking(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    thread::sleep(Duration::from_micros(200));
                    running.fetch_sub(1, Ordering::SeqCst);
                    i
                })
            })
            .collect();
        let sum = rt.block_on(async {
            let mut sum = 0;
            for task in tasks {
                sum += task.await;
            }
            sum
        });
        assert_eq!(sum, n * (n - 1) / 2, "every closure ran once");
        let most = most.load(Ordering::SeqCst);
        assert!((1..=8).contains(&most), "{most} closures ran at once, with max_blocking_threads(8)");
        let m = rt.metrics();
        assert!(m.blocking_threads <= 8, "{m:?}");
        assert_eq!((m.spawned, m.completed, m.blocking_queued), (n as u64, n as u64, 0), "{m:?}");
    });
}

fn a_panic_resumes_in_the_awaiter_and_is_counted<Q: Queue>() {
    within(20, "a panicking closure", || {
        let rt = runtime::<Q>(2);
        let task = rt.spawn_blocking(|| -> u32 { panic!("blocking boom") });
        let payload = catch_unwind(AssertUnwindSafe(|| rt.block_on(task))).expect_err("the awaiter panics");
        assert_eq!(panic_message(&*payload), "blocking boom");
        assert_eq!(rt.metrics().panicked, 1);

        // Detached, from inside a task: counted all the same.
        rt.block_on(async { runtime_core::spawn_blocking(|| panic!("detached boom")).detach() });
        metrics_where(&rt.handle(), "the detached panic counted", |m| m.panicked == 2);
        // The pool's thread survives both.
        assert_eq!(rt.block_on(rt.spawn_blocking(|| 7)), 7);
        let m = rt.metrics();
        assert_eq!((m.spawned, m.completed, m.panicked, m.cancelled), (3, 1, 2, 0), "{m:?}");
    });
}

fn threads_and_queued_closures_are_visible<Q: Queue>() {
    within(20, "metrics of blocked closures", || {
        let rt = runtime::<Q>(2);
        let handle = rt.handle();
        let gate = Arc::new(Gate::default());
        let tasks: Vec<_> = (0..5)
            .map(|i| {
                let gate = gate.clone();
                rt.spawn_blocking(move || {
                    gate.wait();
                    i
                })
            })
            .collect();
        metrics_where(&handle, "2 threads busy and 3 closures queued", |m| {
            m.blocking_threads == 2 && m.blocking_queued == 3
        });
        gate.open();
        let outputs: Vec<_> = tasks.into_iter().map(|task| rt.block_on(task)).collect();
        assert_eq!(outputs, [0, 1, 2, 3, 4]);
        let m = rt.metrics();
        assert_eq!(m.blocking_queued, 0, "{m:?}");
        assert!(m.blocking_threads <= 2, "{m:?}");
    });
}

fn threads_exit_after_keep_alive<Q: Queue>() {
    within(20, "keep-alive", || {
        let rt = Runtime::<Q>::builder()
            .worker_threads(1)
            .max_blocking_threads(4)
            .blocking_keep_alive(Duration::from_millis(100))
            .build()
            .unwrap();
        let handle = rt.handle();
        let gate = Arc::new(Gate::default());
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let gate = gate.clone();
                rt.spawn_blocking(move || gate.wait())
            })
            .collect();
        metrics_where(&handle, "4 threads started", |m| m.blocking_threads == 4);
        gate.open();
        for task in tasks {
            rt.block_on(task);
        }
        metrics_where(&handle, "every blocking thread exited after its keep-alive", |m| {
            m.blocking_threads == 0
        });
        // Threads start again on demand.
        assert_eq!(rt.block_on(rt.spawn_blocking(|| 5)), 5);
        metrics_where(&handle, "the new thread exited too", |m| m.blocking_threads == 0);
    });
}

fn spawned_from_inside_and_outside<Q: Queue>() {
    within(20, "spawn_blocking from everywhere", || {
        let rt = Runtime::<Q>::builder().worker_threads(2).thread_name("custom").build().unwrap();
        let handle = rt.handle();
        // From a task, with the free function.
        let name = rt.block_on(rt.spawn(async {
            runtime_core::spawn_blocking(|| thread::current().name().map(str::to_owned)).await
        }));
        let name = name.expect("pool threads are named");
        assert!(name.starts_with("custom-blocking-"), "{name}");
        // From block_on, with the free function.
        assert_eq!(rt.block_on(async { runtime_core::spawn_blocking(|| 1).await }), 1);
        // From a thread outside the runtime, through a handle.
        let outside = handle.clone();
        let task = thread::spawn(move || outside.spawn_blocking(|| 2)).join().unwrap();
        assert_eq!(rt.block_on(task), 2);
        // Inside the closure the runtime is current: it can spawn tasks.
        let nested = rt.block_on(rt.spawn_blocking(|| {
            assert!(Handle::current().metrics().worker_threads == 2);
            runtime_core::spawn(async { 3 })
        }));
        assert_eq!(rt.block_on(nested), 3);
        let m = rt.metrics();
        assert_eq!((m.spawned, m.completed), (6, 6), "{m:?}");
    });
}

fn dropping_a_queued_task_cancels_the_closure<Q: Queue>() {
    within(20, "cancel a queued closure", || {
        let rt = runtime::<Q>(1);
        let handle = rt.handle();
        let gate = Arc::new(Gate::default());
        let blocker = {
            let gate = gate.clone();
            rt.spawn_blocking(move || gate.wait())
        };
        let ran = Arc::new(AtomicBool::new(false));
        let drops = Arc::new(AtomicUsize::new(0));
        let queued = {
            let (ran, guard) = (ran.clone(), DropCounter(drops.clone()));
            rt.spawn_blocking(move || {
                let _guard = guard;
                ran.store(true, Ordering::SeqCst);
            })
        };
        metrics_where(&handle, "one closure queued", |m| m.blocking_queued == 1);
        drop(queued);
        gate.open();
        rt.block_on(blocker);
        metrics_where(&handle, "the queued closure cancelled", |m| m.cancelled == 1);
        assert!(!ran.load(Ordering::SeqCst), "a cancelled closure never runs");
        assert_eq!(drops.load(Ordering::SeqCst), 1, "its captures are dropped once");
    });
}

fn shutdown_cancels_queued_and_detaches_running<Q: Queue>() {
    within(20, "shutdown with closures queued and running", || {
        let rt = runtime::<Q>(1);
        let handle = rt.handle();
        let gate = Arc::new(Gate::default());
        let started = Arc::new(AtomicBool::new(false));
        let finished = Arc::new(AtomicBool::new(false));
        let running = {
            let (gate, started, finished) = (gate.clone(), started.clone(), finished.clone());
            rt.spawn_blocking(move || {
                started.store(true, Ordering::SeqCst);
                gate.wait();
                finished.store(true, Ordering::SeqCst);
                "done"
            })
        };
        let ran = Arc::new(AtomicUsize::new(0));
        let drops = Arc::new(AtomicUsize::new(0));
        let queued: Vec<_> = (0..3)
            .map(|_| {
                let (ran, guard) = (ran.clone(), DropCounter(drops.clone()));
                rt.spawn_blocking(move || {
                    let _guard = guard;
                    ran.fetch_add(1, Ordering::SeqCst);
                })
                .fallible()
            })
            .collect();
        wait_until("the first closure started", || started.load(Ordering::SeqCst));
        metrics_where(&handle, "three closures queued", |m| m.blocking_queued == 3);

        // Dropping the runtime returns while the closure is still blocked.
        drop(rt);
        assert!(handle.is_shutdown());
        assert!(!finished.load(Ordering::SeqCst), "the running closure was not waited for");
        assert_eq!(drops.load(Ordering::SeqCst), 3, "the queued closures were dropped by shutdown");
        for task in queued {
            assert_eq!(block_on(task), None, "a queued closure reports cancellation");
        }
        assert_eq!(ran.load(Ordering::SeqCst), 0, "no queued closure ran");
        let m = handle.metrics();
        assert_eq!((m.cancelled, m.blocking_queued, m.blocking_threads), (3, 0, 1), "{m:?}");

        // The detached closure finishes on its own thread, which then exits.
        gate.open();
        assert_eq!(block_on(running), "done", "a Task still held gets the output");
        metrics_where(&handle, "the detached thread exited", |m| m.blocking_threads == 0);
        let m = handle.metrics();
        assert_eq!((m.spawned, m.completed, m.cancelled), (4, 1, 3), "{m:?}");
    });
}

fn shutdown_timeout_waits_for_running_closures<Q: Queue>() {
    within(20, "shutdown_timeout waits for a closure", || {
        let rt = runtime::<Q>(2);
        let handle = rt.handle();
        let started = Arc::new(AtomicBool::new(false));
        let finished = Arc::new(AtomicBool::new(false));
        {
            let (started, finished) = (started.clone(), finished.clone());
            rt.spawn_blocking(move || {
                started.store(true, Ordering::SeqCst);
                thread::sleep(Duration::from_millis(100));
                finished.store(true, Ordering::SeqCst);
            })
            .detach();
        }
        wait_until("the closure started", || started.load(Ordering::SeqCst));
        rt.shutdown_timeout(Duration::from_secs(10));
        assert!(finished.load(Ordering::SeqCst), "shutdown_timeout waited for the running closure");
        let m = handle.metrics();
        assert_eq!((m.completed, m.blocking_threads), (1, 0), "{m:?}");
    });
}

fn shutdown_timeout_gives_up_on_a_blocked_closure<Q: Queue>() {
    within(20, "shutdown_timeout gives up", || {
        let rt = runtime::<Q>(2);
        let handle = rt.handle();
        let gate = Arc::new(Gate::default());
        let started = Arc::new(AtomicBool::new(false));
        {
            let (gate, started) = (gate.clone(), started.clone());
            rt.spawn_blocking(move || {
                started.store(true, Ordering::SeqCst);
                gate.wait();
            })
            .detach();
        }
        wait_until("the closure started", || started.load(Ordering::SeqCst));
        let timeout = Duration::from_millis(100);
        let begun = Instant::now();
        rt.shutdown_timeout(timeout);
        assert!(begun.elapsed() >= timeout, "it waited out the timeout for the running closure");
        assert_eq!(handle.metrics().blocking_threads, 1);
        gate.open();
        metrics_where(&handle, "the detached closure finished and its thread exited", |m| {
            m.completed == 1 && m.blocking_threads == 0
        });
    });
}

fn spawn_after_shutdown_is_cancelled<Q: Queue>() {
    within(20, "spawn_blocking after shutdown", || {
        let rt = runtime::<Q>(2);
        let handle = rt.handle();
        handle.shutdown();
        let ran = Arc::new(AtomicBool::new(false));
        let drops = Arc::new(AtomicUsize::new(0));
        let task = {
            let (ran, guard) = (ran.clone(), DropCounter(drops.clone()));
            handle.spawn_blocking(move || {
                let _guard = guard;
                ran.store(true, Ordering::SeqCst);
            })
        };
        assert_eq!(drops.load(Ordering::SeqCst), 1, "the closure is dropped at once");
        let payload = catch_unwind(AssertUnwindSafe(|| block_on(task))).expect_err("awaiting panics");
        assert!(panic_message(&*payload).contains("cancelled"), "{}", panic_message(&*payload));
        assert_eq!(block_on(rt.spawn_blocking(|| 1).fallible()), None);
        assert!(!ran.load(Ordering::SeqCst));
        let m = rt.metrics();
        assert_eq!((m.spawned, m.blocking_threads), (0, 0), "refused closures are not counted: {m:?}");
    });
}
