//! `Builder::on_task_panic`: what happens to a panic nobody awaits, for each
//! policy, on every backend.
#![cfg(not(loom))]

use std::sync::{Arc, Mutex, mpsc};

use runtime_core::{
    PanicPolicy, Queue, Runtime, TaskId,
    testing::{panic_message, wait_until, within},
};

mod common;

common::per_backend!(
    ignore_counts_and_carries_on,
    callback_gets_the_id_and_payload_of_unawaited_panics,
    callback_sees_a_panic_after_the_task_was_dropped,
    callback_sees_a_panic_detached_after_it_happened,
    a_panicking_callback_is_contained,
    shutdown_runtime_closes_it,
    shutdown_runtime_closes_the_blocking_pool,
);

type Seen = Arc<Mutex<Vec<(TaskId, String)>>>;

fn recording<Q: Queue>(seen: &Seen) -> Runtime<Q> {
    let seen = seen.clone();
    Runtime::builder()
        .worker_threads(2)
        .on_task_panic(PanicPolicy::callback(move |id, payload| {
            seen.lock().unwrap().push((id, panic_message(payload)));
        }))
        .build()
        .unwrap()
}

fn ignore_counts_and_carries_on<Q: Queue>() {
    within(20, "PanicPolicy::Ignore", || {
        let rt =
            Runtime::<Q>::builder().worker_threads(2).on_task_panic(PanicPolicy::Ignore).build().unwrap();
        rt.spawn(async { panic!("ignored") }).detach();
        wait_until("the panic was counted", || rt.metrics().panicked == 1);
        assert_eq!(rt.block_on(rt.spawn(async { 1 })), 1);
        assert!(!rt.handle().is_shutdown());
    });
}

fn callback_gets_the_id_and_payload_of_unawaited_panics<Q: Queue>() {
    within(20, "PanicPolicy::callback", || {
        let seen = Seen::default();
        let rt = recording::<Q>(&seen);
        let detached = rt.spawn(async { panic!("nobody awaits me") });
        let id = detached.id();
        detached.detach();
        wait_until("the callback ran", || !seen.lock().unwrap().is_empty());
        // An awaited panic goes to its awaiter, not to the policy.
        let awaited = rt.spawn(async { panic!("awaited") });
        assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(awaited))).is_err());
        assert_eq!(*seen.lock().unwrap(), vec![(id, "nobody awaits me".to_owned())]);
        assert_eq!(rt.metrics().panicked, 2);
    });
}

fn callback_sees_a_panic_after_the_task_was_dropped<Q: Queue>() {
    within(20, "a panic after the Task was dropped", || {
        let seen = Seen::default();
        let rt = recording::<Q>(&seen);
        let (started_tx, started) = mpsc::channel();
        let (release, wait) = mpsc::channel::<()>();
        let task = rt.spawn(async move {
            started_tx.send(()).unwrap();
            // Blocks this poll until the handle is gone, then panics.
            wait.recv().unwrap();
            panic!("after the drop");
        });
        let id = task.id();
        started.recv().unwrap();
        drop(task);
        release.send(()).unwrap();
        wait_until("the callback ran", || !seen.lock().unwrap().is_empty());
        assert_eq!(*seen.lock().unwrap(), vec![(id, "after the drop".to_owned())]);
    });
}

/// The `Task` is detached only after its task panicked (the usual
/// `spawn(..).detach()` can lose that race): letting go of the handle hands
/// the unopened panic to the policy.
fn callback_sees_a_panic_detached_after_it_happened<Q: Queue>() {
    within(20, "a panic detached after it happened", || {
        let seen = Seen::default();
        let rt = recording::<Q>(&seen);
        let task = rt.spawn(async { panic!("before the detach") });
        let id = task.id();
        // Finished, not just counted: async-task stores the panic as the
        // task's output only after the poll has unwound.
        wait_until("the task panicked", || task.is_finished());
        assert!(seen.lock().unwrap().is_empty(), "the handle still holds the panic");
        task.detach();
        assert_eq!(*seen.lock().unwrap(), vec![(id, "before the detach".to_owned())]);
    });
}

fn a_panicking_callback_is_contained<Q: Queue>() {
    within(20, "a panicking policy callback", || {
        let rt = Runtime::<Q>::builder()
            .worker_threads(2)
            .on_task_panic(PanicPolicy::callback(|_, _| panic!("the callback panics too")))
            .build()
            .unwrap();
        rt.spawn(async { panic!("first") }).detach();
        wait_until("the callback's panic was counted", || rt.metrics().hook_panics == 1);
        assert_eq!(rt.block_on(rt.spawn(async { 2 })), 2, "the worker carries on");
    });
}

fn shutdown_runtime_closes_it<Q: Queue>() {
    within(20, "PanicPolicy::ShutdownRuntime", || {
        let rt = Runtime::<Q>::builder()
            .worker_threads(2)
            .on_task_panic(PanicPolicy::ShutdownRuntime)
            .build()
            .unwrap();
        let pending = rt.spawn(std::future::pending::<()>()).fallible();
        // An awaited panic does not shut it down.
        let awaited = rt.spawn(async { panic!("awaited") });
        assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(awaited))).is_err());
        assert!(!rt.handle().is_shutdown());
        rt.spawn(async { panic!("fatal") }).detach();
        wait_until("the runtime closed", || rt.handle().is_shutdown());
        assert_eq!(rt.block_on(pending), None, "pending tasks report cancellation");
        assert_eq!(rt.block_on(rt.spawn(async { 1 }).fallible()), None, "spawns are refused");
    });
}

/// `ShutdownRuntime` closes the blocking pool too: with one pool thread busy
/// and a second closure queued behind it, a detached task panics; the queued
/// closure never runs and its `Task` reports cancellation. The policy used
/// to close only the workers' side, and the queued closure started once the
/// busy one returned (its `Task` returned `Some(..)`).
fn shutdown_runtime_closes_the_blocking_pool<Q: Queue>() {
    within(20, "ShutdownRuntime and the blocking pool", || {
        let rt = Runtime::<Q>::builder()
            .worker_threads(1)
            .max_blocking_threads(1)
            .on_task_panic(PanicPolicy::ShutdownRuntime)
            .build()
            .unwrap();
        let handle = rt.handle();
        let (release, blocked) = mpsc::channel::<()>();
        let (started_tx, started) = mpsc::channel::<()>();
        let busy = rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            blocked.recv().is_ok()
        });
        started.recv().unwrap();
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let queued = {
            let ran = ran.clone();
            rt.spawn_blocking(move || ran.store(true, std::sync::atomic::Ordering::SeqCst)).fallible()
        };
        assert_eq!(handle.metrics().blocking_queued, 1, "the second closure waits for the pool's one thread");
        rt.spawn(async { panic!("fatal") }).detach();
        wait_until("the runtime closed", || handle.is_shutdown());
        release.send(()).unwrap();
        assert!(rt.block_on(busy), "the running closure finishes");
        wait_until("the pool thread exits", || handle.metrics().blocking_threads == 0);
        assert_eq!(rt.block_on(queued), None, "the queued closure reports cancellation");
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst), "the queued closure never ran");
    });
}
