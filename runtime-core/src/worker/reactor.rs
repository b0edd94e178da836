//! Feature `io` (without `net`, whose own driver wins: `driver.rs`): the worker loop as the future that one long-lived
//! `async_io::block_on` polls, so that an idle worker waits in async-io's
//! reactor and readiness events are dispatched on it. The protocol is
//! "The I/O reactor" in `idle.rs`.

use std::{
    task::{Context, Poll},
    time::Instant,
};

use super::{REACTOR_INTERVAL, Worker, next::FAIRNESS_INTERVAL};
use crate::{context, queue::Queue};

impl<Q: Queue> Worker<Q> {
    /// Returns `Pending` to wait (registered as a sleeper, after the
    /// re-check: the thread then waits in the reactor, or parks if another
    /// thread holds it), and, while busy, every [`FAIRNESS_INTERVAL`] tasks
    /// once [`REACTOR_INTERVAL`] has passed, to let `block_on` poll the
    /// reactor without waiting (having woken itself first): so readiness
    /// events reach a busy runtime from its own workers, not only from
    /// async-io's fallback thread.
    pub(super) fn poll_loop(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let dispatched = context::leave_reactor();
        self.reactor_seen = Instant::now();
        if self.waiting {
            self.waiting = false;
            self.hook(|hooks| &hooks.thread_unpark);
            let with_work = self.shared.locals[self.index].has_work();
            self.transition_from_parked(with_work);
            if !dispatched {
                // Woken by a notifier, not by events of our own: most often
                // a wake that async-io's own thread dispatched. Let
                // `block_on` poll the reactor once, at once: that thread
                // retakes the reactor 50 us after each event unless
                // someone else polled it meanwhile, and a worker that only
                // came back to park after that would lose it to that thread
                // for good (every later event would then reach the runtime
                // from outside).
                return self.poll_reactor(cx);
            }
        } else {
            if !self.waker_set {
                // The first poll: from now on notifiers wake this worker
                // through `block_on`'s waker.
                self.shared.idle.set_waker(self.index, Some(cx.waker().clone()));
                self.waker_set = true;
            }
            if dispatched && self.shared.locals[self.index].stealable() {
                self.shared.idle.notify_one();
            }
        }
        while !self.shared.is_closed() && !self.retired {
            if let Some((runnable, priority)) = self.next_task().or_else(|| self.search()) {
                self.run_task(runnable, priority);
                if self.tick.is_multiple_of(FAIRNESS_INTERVAL)
                    && self.reactor_seen.elapsed() >= REACTOR_INTERVAL
                {
                    return self.poll_reactor(cx);
                }
                continue;
            }
            if self.transition_to_parked() {
                self.waiting = true;
                context::enter_reactor();
                return Poll::Pending;
            }
            self.transition_from_parked(false);
        }
        Poll::Ready(())
    }

    /// Lets `block_on` poll the reactor once without waiting: wakes its
    /// own waker, then returns `Pending`.
    fn poll_reactor(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        cx.waker().wake_by_ref();
        context::enter_reactor();
        Poll::Pending
    }
}
