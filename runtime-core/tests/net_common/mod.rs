//! Helpers shared by the `net` feature's test binaries (`net*.rs`,
//! `hyper*.rs`). Each test file is its own crate and uses a part of this
//! module.
#![allow(dead_code)]

use std::{
    future::Future,
    sync::mpsc,
    time::{Duration, Instant},
};

use runtime_core::{Queue, Runtime};

/// Runs `future` as a task of `rt` and waits at most `limit` for its
/// output; panics naming `what` if it does not come (the runtime's metrics
/// in the message), or if the task panicked (its message is printed above).
#[track_caller]
pub fn run<Q: Queue, T: Send + 'static>(
    rt: &Runtime<Q>,
    limit: Duration,
    what: &str,
    future: impl Future<Output = T> + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    rt.spawn(async move {
        let _ = tx.send(future.await);
    })
    .detach();
    match rx.recv_timeout(limit) {
        Ok(output) => output,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("timed out after {limit:?} waiting for {what}; {:?}", rt.metrics())
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            panic!("{what}: the task panicked or was cancelled (a panic's message is printed above)")
        }
    }
}

/// Polls `cond` every millisecond until it holds; panics after `limit` with
/// `what` and the diagnostics `diag` returns then.
#[track_caller]
pub fn wait_until(
    limit: Duration,
    what: &str,
    mut cond: impl FnMut() -> bool,
    diag: impl FnOnce() -> String,
) {
    let deadline = Instant::now() + limit;
    while !cond() {
        if Instant::now() >= deadline {
            panic!("timed out after {limit:?} waiting for {what}: {}", diag());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Raises this process's soft limit on open files to at least `needed` (up
/// to the hard limit). `Err` with the reason if the hard limit is lower.
pub fn raise_fd_limit(needed: u64) -> Result<(), String> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `limit` is a valid, writable `rlimit`.
    let got = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(got, 0, "getrlimit(RLIMIT_NOFILE): {}", std::io::Error::last_os_error());
    let needed = needed as libc::rlim_t;
    if limit.rlim_cur >= needed {
        return Ok(());
    }
    if limit.rlim_max < needed {
        return Err(format!(
            "this test needs {needed} open files and the hard limit is {} (raise it: `ulimit -Hn {needed}` as root)",
            limit.rlim_max
        ));
    }
    let raised = libc::rlimit { rlim_cur: needed, rlim_max: limit.rlim_max };
    // SAFETY: `raised` is a valid `rlimit`.
    let set = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) };
    assert_eq!(set, 0, "setrlimit(RLIMIT_NOFILE, {needed}): {}", std::io::Error::last_os_error());
    Ok(())
}

/// User + system CPU time of this process, in clock ticks (Linux).
#[cfg(target_os = "linux")]
pub fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("read /proc/self/stat");
    // Fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat.rsplit_once(')').expect("stat format").1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 here.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}
