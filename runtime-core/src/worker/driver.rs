//! Feature `net`: a busy worker polls the runtime's own I/O driver now and
//! then. An idle worker waits in it (`park.rs`, `sleeper.rs`), but while
//! every worker has work nobody waits there, so each one polls it without
//! waiting every `FAIRNESS_INTERVAL` tasks once `REACTOR_INTERVAL` has
//! passed, and right after a task spent its whole cooperative budget
//! (`coop.rs`: a task that is always ready yields to the driver), if no
//! other thread holds it. What the poll dispatches lands on
//! this worker's own queues (it is inside the reactor meanwhile, as when it
//! waits there), and a sibling is told only if that leaves more than the
//! next task here.

use std::time::Instant;

use super::{REACTOR_INTERVAL, Worker, next::FAIRNESS_INTERVAL};
use crate::{context, queue::Queue};

impl<Q: Queue> Worker<Q> {
    /// Polls the driver without waiting if it is due (see the module docs),
    /// or at once after a poll that spent its whole cooperative budget.
    pub(super) fn poll_driver_if_due(&mut self) {
        let due =
            self.tick.is_multiple_of(FAIRNESS_INTERVAL) && self.reactor_seen.elapsed() >= REACTOR_INTERVAL;
        if !std::mem::take(&mut self.budget_spent) && !due {
            return;
        }
        self.reactor_seen = Instant::now();
        context::enter_reactor();
        let polled = self.shared.books.io.try_turn(Some(std::time::Duration::ZERO));
        let dispatched = context::leave_reactor();
        if polled.is_some() && dispatched && self.shared.locals[self.index].stealable() {
            self.shared.idle.notify_one();
        }
    }
}
