//! Shutting the global runtime down (alone in its file: a process has one
//! global runtime, and this test ends it).
// They use the default queue: without a backend feature they do not compile.
#![cfg(any(feature = "flume", feature = "crossbeam", feature = "mutex"))]

use std::time::Duration;

use pluggable_runtime::{Handle, block_on, shutdown, shutdown_timeout, spawn};

#[test]
fn shutdown_cancels_the_global_runtime_and_refuses_later_spawns() {
    // Nothing to shut down yet: harmless, and the runtime is built later.
    shutdown();
    assert_eq!(block_on(spawn(async { 1 })), 1);

    let handle = block_on(async { Handle::current() });
    let pending = spawn(std::future::pending::<()>()).fallible();
    shutdown();
    assert!(handle.is_shutdown());
    assert_eq!(block_on(pending), None, "the pending task was cancelled");
    assert_eq!(block_on(spawn(async { 2 }).fallible()), None, "later spawns are refused");
    // `block_on` itself still drives its future on this thread.
    assert_eq!(block_on(async { 3 }), 3);
    // Again, and with a timeout: harmless.
    shutdown_timeout(Duration::from_millis(10));
    shutdown();
}
