//! The free functions: outside a runtime they use the global one, inside a
//! runtime they use that one; `block_on` works from any thread outside a
//! runtime, and panics inside one. (Shutting the global runtime down is in
//! `global_shutdown.rs`: a process has one global runtime.)
// They use the default queue: without a backend feature they do not compile.
#![cfg(any(feature = "flume", feature = "crossbeam", feature = "mutex"))]

use std::panic;

use pluggable_runtime::{DefaultQueue, Handle, Priority, block_on, generic, spawn, spawn_with};

#[test]
fn spawn_and_block_on_work_from_any_thread_outside_a_runtime() {
    let threads: Vec<_> =
        (0..4u64).map(|i| std::thread::spawn(move || block_on(spawn(async move { i * 10 })))).collect();
    let outputs: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(outputs, [0, 10, 20, 30]);
    assert_eq!(block_on(spawn_with(Priority::High, async { "high" })), "high");
}

#[test]
fn block_on_makes_the_global_runtime_current() {
    let (outer, inner) = block_on(async {
        let outer = Handle::current().metrics().worker_threads;
        // A task spawned inside sees the same runtime.
        let inner = spawn(async { Handle::current().metrics().worker_threads }).await;
        (outer, inner)
    });
    assert_eq!(outer, inner);
    assert!(outer >= 1);
}

#[test]
fn inside_a_runtime_spawn_uses_that_runtime() {
    // No stall watcher: on a loaded machine a poll descheduled for longer
    // than the threshold looks like a stall, and a replacement worker
    // (`runtime-worker-1`) would rightly take over.
    let rt =
        generic::Runtime::<DefaultQueue>::builder().worker_threads(1).stall_threshold(None).build().unwrap();
    let before = rt.metrics().spawned;
    let on_worker = rt.block_on(async {
        // From inside `block_on`, and from a task of that runtime.
        spawn(async { spawn(async { std::thread::current().name().map(str::to_owned) }).await }).await
    });
    assert_eq!(rt.metrics().spawned - before, 2);
    assert_eq!(on_worker.as_deref(), Some("runtime-worker-0"));
}

#[test]
fn block_on_inside_a_runtime_panics_at_the_caller() {
    let rt = generic::Runtime::<DefaultQueue>::builder().worker_threads(1).build().unwrap();
    let task = rt.spawn(async {
        panic::catch_unwind(|| block_on(async {})).map_err(|e| {
            e.downcast_ref::<String>().cloned().or(e.downcast_ref::<&str>().map(|s| s.to_string()))
        })
    });
    let message = rt.block_on(task).unwrap_err().unwrap_or_default();
    assert!(message.contains("block_on called from a runtime worker thread"), "{message}");
}
