//! Helpers shared by the `io` feature's test binaries (`io.rs`,
//! `io_reactor.rs`, `idle.rs`). Each test file is its own crate and uses a
//! part of this module.
#![allow(dead_code)]

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll, Waker},
    thread,
    time::{Duration, Instant},
};

/// Counts its own drop: put one inside a task's future to see that the
/// future's destructor ran.
pub struct DropCount(pub Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
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
        thread::sleep(Duration::from_millis(1));
    }
}

/// A wake from outside the runtime: `fire` (any thread) bumps a counter and
/// wakes the task waiting in [`Signal::next`].
#[derive(Default)]
pub struct Signal {
    state: Mutex<(u64, Option<Waker>)>,
}

impl Signal {
    pub fn fire(&self) {
        let waker = {
            let mut state = self.state.lock().unwrap();
            state.0 += 1;
            state.1.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Resolves once the count exceeds `seen`, to the new count.
    pub fn next(self: &Arc<Self>, seen: u64) -> impl Future<Output = u64> + Send + 'static {
        let signal = self.clone();
        std::future::poll_fn(move |cx: &mut Context<'_>| {
            let mut state = signal.state.lock().unwrap();
            if state.0 > seen {
                Poll::Ready(state.0)
            } else {
                state.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        })
    }
}

/// A boxed future, for tasks built in loops.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The kernel thread id of the calling thread (Linux: `/proc/thread-self`).
#[cfg(target_os = "linux")]
pub fn current_tid() -> u64 {
    let link = std::fs::read_link("/proc/thread-self").expect("read /proc/thread-self");
    let link = link.to_string_lossy();
    link.rsplit('/')
        .next()
        .and_then(|tid| tid.parse().ok())
        .unwrap_or_else(|| panic!("odd /proc/thread-self: {link}"))
}

/// What thread `tid` of this process is blocked in right now, from
/// `/proc/self/task/<tid>/syscall` (the syscall number, or "running").
#[cfg(target_os = "linux")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    /// `epoll_wait` / `epoll_pwait` / `epoll_pwait2`: waiting in the reactor.
    Epoll,
    /// `futex`: parked (a plain park, or a lock).
    Futex,
    /// Running, or in another syscall.
    Other,
}

#[cfg(target_os = "linux")]
pub fn blocked_in(tid: u64) -> Blocked {
    #[cfg(target_arch = "x86_64")]
    const EPOLL: &[u64] = &[232, 281, 441];
    #[cfg(target_arch = "x86_64")]
    const FUTEX: &[u64] = &[202, 449];
    #[cfg(target_arch = "aarch64")]
    const EPOLL: &[u64] = &[22, 441];
    #[cfg(target_arch = "aarch64")]
    const FUTEX: &[u64] = &[98, 449];
    let path = format!("/proc/self/task/{tid}/syscall");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("cannot read {path} ({e}): this test needs it to see whether a worker waits in the reactor")
    });
    match text.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()) {
        Some(n) if EPOLL.contains(&n) => Blocked::Epoll,
        Some(n) if FUTEX.contains(&n) => Blocked::Futex,
        _ => Blocked::Other,
    }
}
