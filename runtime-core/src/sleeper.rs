//! A worker's wake-up token, [`Sleeper`]: a sticky token like
//! [`Parker`]'s, but whose wait may happen *in the I/O reactor* instead of
//! on a condition variable.
//!
//! With the `net` feature the runtime has its own I/O driver, and an idle
//! worker waits in it (in `epoll_wait`), so that readiness events and timers
//! are collected and dispatched by a worker rather than by a thread of
//! their own. Only one thread can wait in the driver at a time; the others
//! wait on their parkers as before. Whoever wakes a worker must then know
//! where it waits: in the driver, a wake is a write to the driver's eventfd
//! ([`Reactor::wake`]); on its parker, a condvar notification.
//!
//! # The protocol
//! One atomic word per worker, `state`: `EMPTY`, `PARKED` (waits on its
//! parker), `IN_REACTOR` (waits in the reactor) or `NOTIFIED` (the sticky
//! token). Every access is `SeqCst` (they are few, and only on the slow
//! path of parking).
//!
//! - **Wake** ([`Sleeper::unpark`]): `swap(NOTIFIED)`. If it took `PARKED`,
//!   unpark the parker; if `IN_REACTOR`, wake the reactor; if `EMPTY` or
//!   `NOTIFIED`, nothing more: the token stays for the next park.
//! - **Park** ([`Sleeper::park`]): a `NOTIFIED` token is consumed at once
//!   (`NOTIFIED -> EMPTY`). Otherwise, if a reactor is offered, try to take
//!   it ([`Reactor::try_wait`]); *holding it*, announce `EMPTY ->
//!   IN_REACTOR` and wait only if the announcement succeeded (it fails only
//!   if a wake landed first, which left `NOTIFIED`). Back from the reactor,
//!   `swap(EMPTY)` consumes whatever is there. If the reactor is held by
//!   another thread, wait on the parker: announce `EMPTY -> PARKED` (a
//!   failure is again a wake that came first), park, and `swap(EMPTY)`.
//!
//! No wake is lost: a waker's swap either comes before the announcement
//! (which then fails and the worker does not wait) or after it (and sees
//! where the worker waits, and wakes it there; the parker's and the
//! reactor's own tokens are sticky, so the wake counts even if it lands
//! before the wait begins). A wake that finds `IN_REACTOR` while the worker
//! is already on its way back (an event ended its wait) leaves the reactor's
//! token set: the next wait in the reactor returns at once, a spurious turn,
//! never a lost one. A wake that finds `PARKED` pairs with exactly one
//! `park` of the parker (the state is `NOTIFIED` after it, so no second wake
//! unparks it again), so the parker never holds a stale token.
//! The loom model `tests/loom_sleeper.rs` explores a worker parking with
//! a reactor against wakes, a second worker and events.

use crate::sync::{AtomicUsize, Ordering, Parker};

const EMPTY: usize = 0;
const PARKED: usize = 1;
const IN_REACTOR: usize = 2;
const NOTIFIED: usize = 3;

/// What an idle worker may wait in instead of its parker: the runtime's I/O
/// driver (feature `net`), or a fake one in the loom models.
pub(crate) trait Reactor: Send + Sync + std::fmt::Debug {
    /// If no other thread waits in the reactor: takes it, calls `announce`
    /// while holding it, and, if that returns `true`, waits until an event
    /// or [`Reactor::wake`], then dispatches what it found on this thread
    /// (with no lock held). Returns `false`, without calling `announce`, if
    /// another thread holds the reactor.
    fn try_wait(&self, announce: &mut dyn FnMut() -> bool) -> bool;

    /// Ends the current wait in [`Reactor::try_wait`] at once, or makes the
    /// next one return at once (sticky).
    fn wake(&self);
}

/// A worker's wake-up token; see the module docs.
#[derive(Debug)]
pub(crate) struct Sleeper {
    state: AtomicUsize,
    parker: Parker,
}

impl Sleeper {
    pub(crate) fn new() -> Self {
        Self { state: AtomicUsize::new(EMPTY), parker: Parker::new() }
    }

    /// Waits until woken: in `reactor` if one is given and no other thread
    /// holds it, else on the parker. Returns at once if a wake is pending.
    pub(crate) fn park(&self, reactor: Option<&dyn Reactor>) {
        if self.state.compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            return;
        }
        if let Some(reactor) = reactor {
            let mut announce =
                || self.state.compare_exchange(EMPTY, IN_REACTOR, Ordering::SeqCst, Ordering::SeqCst).is_ok();
            if reactor.try_wait(&mut announce) {
                // Back from the reactor (an event, a wake, or a wake that
                // came first and kept us from waiting): consume it.
                self.state.swap(EMPTY, Ordering::SeqCst);
                return;
            }
        }
        if self.state.compare_exchange(EMPTY, PARKED, Ordering::SeqCst, Ordering::SeqCst).is_err() {
            // A wake came first.
            self.state.swap(EMPTY, Ordering::SeqCst);
            return;
        }
        self.parker.park();
        self.state.swap(EMPTY, Ordering::SeqCst);
    }

    /// Wakes the worker wherever it waits, or makes its next park return at
    /// once. `reactor` is the one the worker may wait in (the same one it
    /// parks with; `None` if it never waits in one).
    pub(crate) fn unpark(&self, reactor: Option<&dyn Reactor>) {
        match self.state.swap(NOTIFIED, Ordering::SeqCst) {
            PARKED => self.parker.unpark(),
            IN_REACTOR => {
                if let Some(reactor) = reactor {
                    reactor.wake();
                }
            }
            _ => {}
        }
    }
}
