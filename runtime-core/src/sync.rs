//! The synchronization facade: every atomic, lock, thread, parker and
//! thread-local that a loom model exercises comes from here.
//!
//! Normally these are `std` atomics and threads plus `parking_lot` locks.
//! Under `--cfg loom` they are `loom`'s instrumented versions, so that the
//! models (`src/tests/loom_*.rs`, `tests/loom.rs`) explore every
//! interleaving of the real scheduler code rather than of a copy.
//!
//! The rule: code that runs inside a loom model takes its primitives from
//! here, and declares its thread-locals with [`thread_locals!`] (one
//! declaration for both configurations). Code that no model runs uses `std`
//! and `parking_lot` directly, and its module docs say so: the blocking pool
//! (`blocking.rs`: real OS threads started on demand, waits with timeouts),
//! the stall watcher (`watcher.rs`) and its sleep (`stall.rs`), and process-
//! wide counters that hand out ids (`task_id.rs`, `runtime.rs`).
//!
//! The facade is deliberately small: a [`Mutex`] whose `lock` cannot fail, a
//! [`Parker`] (a sticky wake-up token for one thread), and a [`Latch`] that
//! counts running workers down to zero.

#[cfg(not(loom))]
pub(crate) use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering, fence},
    },
    thread,
};

#[cfg(loom)]
pub(crate) use loom::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering, fence},
    },
    thread,
};

use std::time::Duration;

/// Declares a thread-local once for both configurations: `std`'s with a
/// `const` initialiser normally, loom's (which takes none) under `--cfg loom`.
macro_rules! thread_locals {
    ($(#[$attr:meta])* static $name:ident: $ty:ty = const { $init:expr };) => {
        #[cfg(not(loom))]
        std::thread_local! { $(#[$attr])* static $name: $ty = const { $init }; }
        #[cfg(loom)]
        loom::thread_local! { $(#[$attr])* static $name: $ty = $init; }
    };
}
pub(crate) use thread_locals;

/// A mutual-exclusion lock whose `lock` never fails (no poisoning).
#[derive(Debug, Default)]
pub(crate) struct Mutex<T> {
    #[cfg(not(loom))]
    inner: parking_lot::Mutex<T>,
    #[cfg(loom)]
    inner: loom::sync::Mutex<T>,
}

#[cfg(not(loom))]
pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;
#[cfg(loom)]
pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Self {
            #[cfg(not(loom))]
            inner: parking_lot::Mutex::new(value),
            #[cfg(loom)]
            inner: loom::sync::Mutex::new(value),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        #[cfg(not(loom))]
        {
            self.inner.lock()
        }
        #[cfg(loom)]
        {
            // Poisoning cannot happen: no code panics while holding one of our locks.
            self.inner.lock().unwrap()
        }
    }

    /// The lock if no other thread holds it, at once; `None` otherwise.
    // Used by the driver (`net`), and by the loom model of `sleeper.rs`.
    #[cfg_attr(any(loom, not(feature = "net")), allow(dead_code))]
    pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        #[cfg(not(loom))]
        {
            self.inner.try_lock()
        }
        #[cfg(loom)]
        {
            self.inner.try_lock().ok()
        }
    }
}

/// A condition variable paired with [`Mutex`].
#[derive(Debug, Default)]
struct Condvar {
    #[cfg(not(loom))]
    inner: parking_lot::Condvar,
    #[cfg(loom)]
    inner: loom::sync::Condvar,
}

impl Condvar {
    fn new() -> Self {
        Self {
            #[cfg(not(loom))]
            inner: parking_lot::Condvar::new(),
            #[cfg(loom)]
            inner: loom::sync::Condvar::new(),
        }
    }

    fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        #[cfg(not(loom))]
        {
            let mut guard = guard;
            self.inner.wait(&mut guard);
            guard
        }
        #[cfg(loom)]
        {
            self.inner.wait(guard).unwrap()
        }
    }

    /// Waits at most `timeout`.
    #[cfg(not(loom))]
    fn wait_timeout<'a, T>(&self, guard: MutexGuard<'a, T>, timeout: Duration) -> MutexGuard<'a, T> {
        let mut guard = guard;
        self.inner.wait_for(&mut guard, timeout);
        guard
    }

    fn notify_one(&self) {
        self.inner.notify_one();
    }

    fn notify_all(&self) {
        self.inner.notify_all();
    }
}

/// A one-thread wake-up token.
///
/// `unpark` sets the token and wakes the parked thread; `park` returns at once
/// if the token is set (consuming it), otherwise sleeps until it is. The token
/// is sticky, so an `unpark` that lands before the matching `park` is never
/// lost: this is what makes "register as sleeper, re-check, park" safe.
#[derive(Debug)]
pub(crate) struct Parker {
    notified: Mutex<bool>,
    condvar: Condvar,
}

impl Parker {
    pub(crate) fn new() -> Self {
        Self { notified: Mutex::new(false), condvar: Condvar::new() }
    }

    /// Blocks until the token is set, then clears it.
    pub(crate) fn park(&self) {
        let mut notified = self.notified.lock();
        while !*notified {
            notified = self.condvar.wait(notified);
        }
        *notified = false;
    }

    /// Sets the token and wakes the parked thread, if any.
    pub(crate) fn unpark(&self) {
        let mut notified = self.notified.lock();
        let was_set = std::mem::replace(&mut *notified, true);
        drop(notified);
        if !was_set {
            self.condvar.notify_one();
        }
    }
}

/// Waits a little, longer each call: for a thread that must let another one
/// finish a short step (a wake between async-task's state change and the
/// schedule function's push). Under loom it only yields, so that the model
/// explores the other thread's step.
#[derive(Debug)]
pub(crate) struct Backoff {
    step: u32,
}

impl Backoff {
    /// Steps that yield before the waits start sleeping.
    #[cfg(not(loom))]
    const YIELDS: u32 = 16;

    pub(crate) fn new() -> Self {
        Self { step: 0 }
    }

    /// Yields the thread, or from the seventeenth call on sleeps (up to 1 ms).
    pub(crate) fn snooze(&mut self) {
        self.step = self.step.saturating_add(1);
        #[cfg(not(loom))]
        if self.step > Self::YIELDS {
            let micros = 1u64 << (self.step - Self::YIELDS).min(10);
            std::thread::sleep(Duration::from_micros(micros));
            return;
        }
        thread::yield_now();
    }
}

/// Counts running workers down to zero; `wait_timeout` waits for zero.
#[derive(Debug)]
pub(crate) struct Latch {
    count: Mutex<usize>,
    condvar: Condvar,
}

impl Latch {
    pub(crate) fn new(count: usize) -> Self {
        Self { count: Mutex::new(count), condvar: Condvar::new() }
    }

    /// Decrements the count; returns `true` if this call brought it to zero.
    pub(crate) fn count_down(&self) -> bool {
        let mut count = self.count.lock();
        *count -= 1;
        let last = *count == 0;
        drop(count);
        if last {
            self.condvar.notify_all();
        }
        last
    }

    /// Increments the count (a replacement worker is about to start).
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn count_up(&self) {
        *self.count.lock() += 1;
    }

    /// The count now: workers still running.
    pub(crate) fn count(&self) -> usize {
        *self.count.lock()
    }

    /// Waits until the count is zero or `timeout` has passed (`None`: no
    /// limit). Returns `true` if the count reached zero.
    pub(crate) fn wait(&self, timeout: Option<Duration>) -> bool {
        // No deadline also when it lies beyond what `Instant` can hold
        // (`Duration::MAX`).
        #[cfg(not(loom))]
        let deadline = timeout.and_then(|t| std::time::Instant::now().checked_add(t));
        // Loom has no clock: it explores the waits, not the timeouts.
        #[cfg(loom)]
        let deadline: Option<std::convert::Infallible> = timeout.and(None);
        let mut count = self.count.lock();
        while *count > 0 {
            match deadline {
                None => count = self.condvar.wait(count),
                #[cfg(not(loom))]
                Some(deadline) => match deadline.checked_duration_since(std::time::Instant::now()) {
                    Some(left) if !left.is_zero() => count = self.condvar.wait_timeout(count, left),
                    _ => return false,
                },
            }
        }
        true
    }
}
