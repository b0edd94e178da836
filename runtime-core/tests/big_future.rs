//! How much stack spawning a large future takes.
//!
//! Every public `spawn` boxes a future of 2 KiB or more in its own frame,
//! before moving it any further (regression: it used to move it through the
//! registry closure, `Tracked::new` and async-task's builder closure first,
//! and a 1 MiB future needed about 6 MiB of stack in a debug build). Now a
//! 1 MiB future spawns from a default 2 MiB stack in release builds, and from
//! 4 MiB in debug builds, where the caller's own frames still copy it.
//!
//! The check runs in a child process (this test binary again), because a
//! stack overflow aborts the whole process. Under Miri, which cannot spawn
//! processes and has no stack limit to overflow, it runs in-process with an
//! 8 KiB future (still above the size `spawn` boxes): what Miri checks there
//! is the boxing path itself (no UB, no leak).
#![cfg(not(loom))]

use std::{process::Command, thread};

use runtime_core::{Runtime, testing::SLOW_TESTS_ENV};

const BIG: usize = runtime_core::testing::size(1 << 20, 8 << 10);
const CHILD: &str = "RUNTIME_CORE_BIG_FUTURE_CHILD";
/// The spawning thread's stack: the default 2 MiB in release builds; in debug
/// builds, where every move of the future through the caller's own frames is
/// a 1 MiB copy, 4 MiB.
const STACK: usize = if cfg!(debug_assertions) { 4 << 20 } else { 2 << 20 };

/// `STACK`, except 4 times that in instrumented builds (`cargo xtask tsan`
/// sets [`SLOW_TESTS_ENV`]): ThreadSanitizer's instrumentation grows every
/// frame, so the budget measured for plain builds does not apply there.
fn stack() -> usize {
    if std::env::var_os(SLOW_TESTS_ENV).is_some() { 4 * STACK } else { STACK }
}

/// In the child: spawns a 1 MiB future from a thread with a `STACK` stack.
#[test]
fn big_future_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    spawn_big_future();
}

/// Spawns a `BIG` future from a thread with a `STACK` stack.
fn spawn_big_future() {
    let rt = Runtime::<queue_mutex::MutexQueue>::builder().worker_threads(1).build().expect("build");
    let sum = thread::scope(|s| {
        thread::Builder::new()
            .stack_size(stack())
            .spawn_scoped(s, || {
                rt.block_on(rt.spawn(async {
                    let mut buf = [0u8; BIG];
                    buf[BIG - 1] = 1;
                    runtime_core::yield_now().await;
                    buf.iter().map(|&b| usize::from(b)).sum::<usize>()
                }))
            })
            .expect("spawn")
            .join()
            .expect("join")
    });
    assert_eq!(sum, 1);
}

/// Runs `big_future_child` in a child process and checks it succeeded
/// (in-process under Miri, see the module docs).
fn spawn_big_future_in_child() {
    if cfg!(miri) {
        spawn_big_future();
        return;
    }
    let exe = std::env::current_exe().expect("current exe");
    let output = Command::new(exe)
        .args(["--exact", "big_future_child", "--nocapture", "--test-threads", "1"])
        .env(CHILD, "1")
        .output()
        .expect("run child");
    assert!(
        output.status.success(),
        "spawning a 1 MiB future from a {} MiB stack failed ({}):\n{}",
        stack() >> 20,
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Release builds: a 1 MiB future spawns from a default-sized (2 MiB) stack.
#[test]
#[cfg(not(debug_assertions))]
fn one_mib_future_spawns_from_default_stack() {
    spawn_big_future_in_child();
}

/// Debug builds: the same from a 4 MiB stack (see `STACK`).
#[test]
#[cfg(debug_assertions)]
fn one_mib_future_spawns_in_debug() {
    spawn_big_future_in_child();
}
