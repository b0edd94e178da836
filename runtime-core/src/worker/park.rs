//! The park steps, named for what each changes (the protocol is
//! "Parking" in `idle.rs`):
//! 1. [`Worker::transition_to_parked`]: register as a sleeper (a reserved
//!    worker on its own list), fence, re-check the queues and shutdown;
//! 2. [`Worker::wait_parked`]: block on the worker's parker (with `io`, the
//!    reactor's `block_on` waits instead: `reactor.rs`);
//! 3. [`Worker::transition_from_parked`]: leave the sleepers list (as a
//!    searcher, or with work in hand), then tell the stall watcher, which
//!    sleeps while every worker does.

use super::Worker;
use crate::{context, metrics::Counter, queue::Queue};

impl<Q: Queue> Worker<Q> {
    /// Parks until notified: the three steps, for a worker with nothing to
    /// run. A re-check that finds work skips the wait.
    pub(super) fn park(&mut self) {
        let mut with_work = false;
        if self.transition_to_parked() {
            with_work = self.wait_parked();
        }
        self.transition_from_parked(with_work);
    }

    /// Registers as a sleeper and re-checks. Returns `true` if the worker
    /// should now wait (counted as a park, after the park hook); `false` if
    /// the re-check found work or shutdown. Either way the worker is
    /// registered until [`Worker::transition_from_parked`].
    pub(super) fn transition_to_parked(&mut self) -> bool {
        let shared = &*self.shared;
        if self.reserved {
            shared.idle.register_reserved(self.index);
        } else {
            shared.idle.register(self.index, self.searching);
            self.searching = false;
        }
        self.registered = true;
        let work = if self.reserved { shared.has_high_work() } else { shared.has_work() };
        if shared.is_closed() || work {
            return false;
        }
        self.shared.count(self.index, Counter::Parks, 1);
        self.hook(|hooks| &hooks.thread_park);
        true
    }

    /// Blocks until a notifier (or a stale token) wakes this worker: in the
    /// runtime's I/O reactor if it has one and no other worker waits there
    /// (never a reserved worker: what it would dispatch is `Low` work for
    /// the others), else on its parker. Then runs the unpark hook. Returns
    /// whether the wait dispatched I/O wakes onto this worker's own queues
    /// (it then holds work, and leaves the sleepers list as a worker that
    /// has some: see "The I/O driver" in `idle.rs`).
    fn wait_parked(&self) -> bool {
        // Wakes the driver dispatches on this thread while it waits there
        // go to its own queues, without a `notify_one`.
        context::enter_reactor();
        self.shared.idle.park(self.index, !self.reserved);
        let dispatched = context::leave_reactor() && self.shared.locals[self.index].has_work();
        self.hook(|hooks| &hooks.thread_unpark);
        dispatched
    }

    /// Leaves the sleepers list. `with_work`: the worker holds tasks of its
    /// own (dispatched to it from the I/O reactor while it waited there), so
    /// it leaves as a worker with work in hand rather than as a searcher,
    /// and wakes a sibling only if it holds more than its next task (see
    /// "The I/O reactor" in `idle.rs`). Then the stall watcher learns that a
    /// worker is up (after the list: its half of the Dekker pair in
    /// "Sleeping", `stall.rs`).
    pub(super) fn transition_from_parked(&mut self, with_work: bool) {
        let idle = &self.shared.idle;
        if self.reserved {
            idle.unregister_reserved(self.index);
        } else if with_work {
            self.searching = false;
            let stealable = self.shared.locals[self.index].stealable();
            if idle.unregister_working(self.index) | stealable {
                idle.notify_one();
            }
        } else {
            idle.unregister(self.index);
            self.searching = true;
        }
        self.registered = false;
        self.shared.stall.worker_woke();
    }
}
