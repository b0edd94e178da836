//! The public API's promises that the type system can check, and a few that
//! need a runtime but no particular backend. (A queue written against the
//! public trait alone runs the whole conformance suite in `conformance.rs`.)

use std::{fmt::Debug, time::Duration};

use queue_crossbeam::CrossbeamQueue;
use runtime_core::{BuildError, Builder, FallibleTask, Handle, Metrics, Priority, Runnable, Runtime, Task};

fn send_sync<T: Send + Sync>() {}
fn send<T: Send>() {}
fn debug<T: Debug>() {}

#[test]
fn thread_safety_and_debug() {
    send_sync::<Runtime<CrossbeamQueue>>();
    send_sync::<Handle>();
    send_sync::<Runnable>();
    send::<Task<String>>();
    send::<FallibleTask<String>>();
    send_sync::<BuildError>();
    debug::<Runtime<CrossbeamQueue>>();
    debug::<Builder<CrossbeamQueue>>();
    debug::<Handle>();
    debug::<Task<()>>();
    debug::<Metrics>();
    fn error<T: std::error::Error + Send + Sync + 'static>() {}
    error::<BuildError>();
}

#[test]
fn priority_basics() {
    assert_eq!(Priority::default(), Priority::Low);
    assert_eq!(Priority::High.to_string(), "high");
    assert_eq!(Priority::Low.to_string(), "low");
    let set: std::collections::HashSet<_> = [Priority::High, Priority::Low, Priority::High].into();
    assert_eq!(set.len(), 2);
}

#[test]
fn handle_current_inside_and_outside() {
    assert!(Handle::try_current().is_none());
    let outside = std::panic::catch_unwind(Handle::current).expect_err("panics outside a runtime");
    let message = outside
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| outside.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    assert!(message.contains("outside a runtime"), "{message}");
    let spawn_outside = std::panic::catch_unwind(|| runtime_core::spawn(async {}).detach());
    assert!(spawn_outside.is_err(), "the free spawn panics outside a runtime");

    let rt = Runtime::<CrossbeamQueue>::builder().worker_threads(1).build().unwrap();
    let in_block_on = rt.block_on(async { Handle::current().metrics().worker_threads });
    assert_eq!(in_block_on, 1);
    let in_task = rt.block_on(rt.spawn(async { Handle::try_current().is_some() }));
    assert!(in_task);
    assert!(Handle::try_current().is_none(), "block_on restores the thread's context");
}

#[test]
fn task_handle_methods() {
    let rt = Runtime::<CrossbeamQueue>::builder().worker_threads(2).build().unwrap();
    let done = rt.spawn(async { 5 });
    while !done.is_finished() {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(rt.block_on(done.cancel()), Some(5), "cancel returns the output of a finished task");
    let pending = rt.spawn(std::future::pending::<()>());
    assert_eq!(rt.block_on(pending.cancel()), None);
    let m = rt.metrics();
    assert_eq!((m.completed, m.cancelled), (1, 1), "{m:?}");
}

#[test]
fn thread_names_use_the_prefix() {
    let rt = Runtime::<CrossbeamQueue>::builder().worker_threads(2).thread_name("pool").build().unwrap();
    let name = rt.block_on(rt.spawn(async { std::thread::current().name().map(str::to_owned) }));
    let name = name.expect("workers are named");
    assert!(name == "pool-0" || name == "pool-1", "{name}");
}

#[test]
fn large_future_spawns() {
    let rt = Runtime::<CrossbeamQueue>::builder().worker_threads(1).build().unwrap();
    // 64 KiB; 8 KiB under Miri (still above the size `spawn` boxes).
    const BIG: usize = runtime_core::testing::size(64 * 1024, 8 * 1024);
    let big = [7u8; BIG];
    let task = rt.spawn(async move {
        runtime_core::yield_now().await;
        big.iter().map(|&b| b as usize).sum::<usize>()
    });
    assert_eq!(rt.block_on(task), 7 * BIG);
}
