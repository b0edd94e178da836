//! [`Timers`]: one runtime's timers, the wheel behind a lock, and the
//! protocol with the thread that waits for them.
//!
//! # Who does what
//! - **Sleeps** (any thread: a worker polling a task, a `block_on`) register,
//!   re-arm, update their waker and deregister, each under the lock
//!   ([`Timers::register`], [`Timers::reset`], [`Timers::poll_registered`],
//!   [`Timers::deregister`]).
//! - **The waiting thread** (the one thread holding the I/O driver's turn:
//!   a worker waiting in it, or a busy worker polling it; `io/driver.rs`)
//!   calls [`Timers::before_wait`] before it waits, waits at most what it
//!   returns, and calls [`Timers::forget_wait`] when the wait is over,
//!   before it lets go of the turn. Only that one thread calls these two.
//!   Then, with the turn released, it calls [`Timers::fire_due`], which
//!   any number of threads may call at once.
//! - **Shutdown** calls [`Timers::shutdown`] once the runtime closes.
//!
//! # The wait deadline, and when a new timer unparks
//! `before_wait` records, in `State::wait_until`, when the coming wait will
//! end at the latest: the wheel's next expiration, or [`WAIT_FOREVER`] with
//! no timer pending. `forget_wait` resets it to [`NOT_WAITING`]. A timer
//! registered (or reset) with a deadline `when` calls `unpark` iff
//! `when < wait_until`: exactly when the wait would otherwise end after the
//! timer is due. While no wait is recorded nothing needs waking: the waiting
//! thread calls `before_wait` before it waits again, and that sees the timer.
//!
//! The deadline is a field under the wheel's lock, not an atomic of its own:
//! every access to it (the store in `before_wait`, the reset in
//! `forget_wait`, the load in `register`/`reset`) happens under the lock, in
//! the same critical section as the wheel operation it belongs with, and the
//! lock orders them. Either a registration's critical section comes first,
//! and `before_wait`'s `next_expiration` sees the new entry; or
//! `before_wait`'s comes first, and the registration sees the recorded
//! deadline and unparks. An atomic would need exactly this pairing, and the
//! lock is taken on both sides anyway. `unpark` is called after the lock is
//! released; it is sticky (a condvar token, a `mio::Waker`), so an unpark
//! that lands between `before_wait` and the wait itself makes the wait
//! return at once.
//!
//! # Clock
//! Deadlines are milliseconds since `origin`, the instant the `Timers` was
//! created. A deadline rounds *up* to its millisecond and `now` rounds
//! *down*, so a timer never fires before its deadline; it fires at most
//! about a millisecond late, plus the waiting thread's wake-up latency.
//!
//! # Locks and wakers
//! The lock is `crate::sync::Mutex` (parking_lot's, or loom's under
//! `--cfg loom`). No waker is woken or dropped with it held: the wheel hands
//! them out, and they are woken (or dropped) after the guard is gone, in
//! batches of [`BATCH`] so that a million timers due at once neither hold
//! the lock for long nor need a million-entry buffer. A waker whose `wake`
//! panics is contained (caught and dropped), so that a misbehaving waker of
//! user code cannot end the waiting thread and with it every timer.
// Under `--cfg loom` the runtime starts no timer thread (no loom model
// waits for timers), so the waiting side is unused there.
#![cfg_attr(loom, allow(dead_code))]

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    task::Waker,
    time::{Duration, Instant},
};

use super::wheel::{Key, MAX_DEADLINE, Wheel};
use crate::sync::Mutex;

/// Wakers handed out per lock hold by `fire_due` (and `shutdown`).
const BATCH: usize = 32;
/// `wait_until` while no wait is recorded: no deadline is before it.
const NOT_WAITING: u64 = 0;
/// `wait_until` for a wait with no deadline: every deadline is before it.
const WAIT_FOREVER: u64 = u64::MAX;

/// What the lock protects.
#[derive(Debug)]
struct State {
    wheel: Wheel,
    /// The recorded wait's deadline (ms): see the module docs.
    wait_until: u64,
    /// Set once by [`Timers::shutdown`]: the wheel is empty, and every key
    /// handed out is void.
    shut_down: bool,
}

/// A runtime's timers: see the module docs.
pub(crate) struct Timers {
    origin: Instant,
    state: Mutex<State>,
    unpark: Box<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for Timers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timers").field("origin", &self.origin).finish_non_exhaustive()
    }
}

/// What a registered sleep finds when it is polled again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Polled {
    /// Not due: the waker is updated.
    Pending,
    /// The wheel fired it.
    Fired,
    /// The runtime shut down: its key is void.
    ShutDown,
}

impl Timers {
    /// `unpark` ends the driver's current wait (or makes the next one return at once).
    pub(crate) fn new(unpark: Box<dyn Fn() + Send + Sync>) -> Self {
        Self {
            origin: Instant::now(),
            state: Mutex::new(State { wheel: Wheel::new(), wait_until: NOT_WAITING, shut_down: false }),
            unpark,
        }
    }

    /// `deadline` in milliseconds since the origin, rounded up.
    fn deadline_ticks(&self, deadline: Instant) -> u64 {
        match deadline.checked_duration_since(self.origin) {
            None => 0,
            Some(since) => {
                let millis = since.as_millis() + u128::from(since.subsec_nanos() % 1_000_000 != 0);
                u64::try_from(millis).unwrap_or(MAX_DEADLINE).min(MAX_DEADLINE)
            }
        }
    }

    /// `now` in milliseconds since the origin, rounded down.
    fn now_ticks(&self, now: Instant) -> u64 {
        let millis = now.saturating_duration_since(self.origin).as_millis();
        u64::try_from(millis).unwrap_or(MAX_DEADLINE).min(MAX_DEADLINE)
    }

    /// The thread holding the driver is about to wait: how long it may wait at most
    /// (`None`: no timer pending; `Some(ZERO)`: a timer is already due). Records the wait's
    /// deadline, so that a timer registered meanwhile that is due earlier calls `unpark`.
    pub(crate) fn before_wait(&self, now: Instant) -> Option<Duration> {
        let mut state = self.state.lock();
        let next = state.wheel.next_expiration();
        state.wait_until = next.unwrap_or(WAIT_FOREVER);
        drop(state);
        next.map(|ticks| {
            self.origin
                .checked_add(Duration::from_millis(ticks))
                .map_or(Duration::MAX, |at| at.saturating_duration_since(now))
        })
    }

    /// The wait is over (or a poll without waiting), by the thread that
    /// still holds the turn: forgets the recorded deadline. (After the turn
    /// is released another thread may record its own.)
    pub(crate) fn forget_wait(&self) {
        self.state.lock().wait_until = NOT_WAITING;
    }

    /// Wakes, with no lock held, every timer due by `now`. Returns how many
    /// it woke. Any thread, any number at once.
    pub(crate) fn fire_due(&self, now: Instant) -> usize {
        let now = self.now_ticks(now);
        let mut batch: [Option<Waker>; BATCH] = [const { None }; BATCH];
        let mut woken = 0;
        loop {
            let mut state = self.state.lock();
            let mut taken = 0;
            while taken < BATCH {
                match state.wheel.pop_due(now) {
                    Some(waker) => {
                        batch[taken] = Some(waker);
                        taken += 1;
                    }
                    None => break,
                }
            }
            drop(state);
            for waker in batch[..taken].iter_mut().filter_map(Option::take) {
                wake(waker);
            }
            woken += taken;
            if taken < BATCH {
                return woken;
            }
        }
    }

    /// Shutdown: the wheel is emptied; every pending timer's waker is woken (its `Sleep`
    /// then resolves or reports shutdown as documented) and dropped.
    ///
    /// Idempotent. Does not call `unpark`: the caller ends the waiting
    /// thread's wait as it sees fit.
    pub(crate) fn shutdown(&self) {
        let mut wakers = Vec::new();
        {
            let mut state = self.state.lock();
            if state.shut_down {
                return;
            }
            state.shut_down = true;
            state.wait_until = NOT_WAITING;
            state.wheel.clear(&mut wakers);
        }
        for waker in wakers {
            wake(waker);
        }
    }

    /// Timer entries held right now: registered sleeps, pending or fired and
    /// not yet dropped or polled ([`Metrics::timers`](crate::Metrics::timers)).
    pub(crate) fn len(&self) -> usize {
        self.state.lock().wheel.len()
    }

    /// Registers a sleep due at `deadline` that wakes `waker`, and unparks
    /// the waiting thread if its wait would end after the deadline. `None`
    /// once the runtime has shut down.
    pub(crate) fn register(&self, deadline: Instant, waker: &Waker) -> Option<Key> {
        let when = self.deadline_ticks(deadline);
        let mut state = self.state.lock();
        if state.shut_down {
            return None;
        }
        let key = state.wheel.insert(when, Some(waker.clone()));
        let unpark = when < state.wait_until;
        drop(state);
        if unpark {
            (self.unpark)();
        }
        Some(key)
    }

    /// A registered sleep (`entry` holds its key) is polled before its
    /// deadline: has it fired, or did the runtime shut down? Either way its
    /// entry is gone afterwards (`entry` is `None`). If neither, makes the
    /// entry wake `waker`.
    pub(crate) fn poll_registered(&self, entry: &mut Option<Key>, waker: &Waker) -> Polled {
        let Some(key) = entry.take() else { return Polled::Fired };
        let mut state = self.state.lock();
        if state.shut_down {
            return Polled::ShutDown;
        }
        let (polled, dropped) = if state.wheel.is_fired(&key) {
            (Polled::Fired, state.wheel.remove(key))
        } else {
            let replaced = state.wheel.set_waker(&key, waker);
            *entry = Some(key);
            (Polled::Pending, replaced)
        };
        drop(state);
        drop(dropped);
        polled
    }

    /// Moves a registered sleep to `deadline` (pending again if it had
    /// fired), unparking the waiting thread as [`Timers::register`] does.
    pub(crate) fn reset(&self, key: &Key, deadline: Instant) {
        let when = self.deadline_ticks(deadline);
        let mut state = self.state.lock();
        if state.shut_down {
            return;
        }
        state.wheel.reset(key, when);
        let unpark = when < state.wait_until;
        drop(state);
        if unpark {
            (self.unpark)();
        }
    }

    /// Frees a registered sleep's entry; its waker is dropped after the lock
    /// is released. Nothing to do once the runtime has shut down.
    pub(crate) fn deregister(&self, key: Key) {
        let mut state = self.state.lock();
        if state.shut_down {
            return;
        }
        let waker = state.wheel.remove(key);
        drop(state);
        drop(waker);
    }
}

/// Wakes `waker`, containing a panic in its `wake` (module docs).
fn wake(waker: Waker) {
    let _ = catch_unwind(AssertUnwindSafe(|| waker.wake()));
}
