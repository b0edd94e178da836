//! How much stack spawning a large future takes.
//!
//! `Handle::spawn_with` takes the future by value and moves it through the
//! registry closure, `Tracked::new`, async-task's builder closure and
//! `spawn_unchecked` (which boxes futures of 2 KiB or more, but only after
//! those moves). Every move is a stack copy unless the optimizer removes it:
//! in a release build a 1 MiB future spawns from a 2 MiB stack; in a debug
//! build it needs about 6 MiB (measured: 5 MiB overflows), so a test or a
//! debug build that spawns a big future from a default 2 MiB thread (the
//! test harness's own threads included) dies with a stack overflow.
//!
//! The check runs in a child process (this test binary again), because a
//! stack overflow aborts the whole process.
#![cfg(not(loom))]

use std::{process::Command, thread};

use runtime_core::Runtime;

const BIG: usize = 1 << 20;
const CHILD: &str = "RUNTIME_CORE_BIG_FUTURE_CHILD";

/// In the child: spawns a 1 MiB future from a thread with a 2 MiB stack.
#[test]
fn big_future_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let rt = Runtime::<queue_mutex::MutexQueue>::builder().worker_threads(1).build().expect("build");
    let sum = thread::scope(|s| {
        thread::Builder::new()
            .stack_size(2 << 20)
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

/// Runs `big_future_child` in a child process and checks it succeeded.
fn spawn_big_future_in_child() {
    let exe = std::env::current_exe().expect("current exe");
    let output = Command::new(exe)
        .args(["--exact", "big_future_child", "--nocapture", "--test-threads", "1"])
        .env(CHILD, "1")
        .output()
        .expect("run child");
    assert!(
        output.status.success(),
        "spawning a 1 MiB future from a 2 MiB stack failed ({}):\n{}",
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

/// Debug builds: the same, which fails today.
#[test]
#[cfg(debug_assertions)]
#[ignore = "bug: Handle::spawn_with moves a big future by value ~5 times on the stack before async-task boxes it \
            (1 MiB future needs ~6 MiB of stack in debug)"]
fn one_mib_future_spawns_from_default_stack_in_debug() {
    spawn_big_future_in_child();
}
