//! The schedule function (where a spawned or woken task goes, and who is
//! told), the dispatch of wakes from the I/O reactor, and the handoff of a
//! stalled worker's tasks. The rules are in the module docs of
//! `scheduler/`: "Queues" and "Who notifies".

#[cfg(any(feature = "io", feature = "net"))]
use crate::{context, sync::fence};
use crate::{
    metrics::Counter,
    queue::{Priority, Queue, Runnable},
    sync::Ordering,
};

use super::Shared;

impl<Q: Queue> Shared<Q> {
    /// The schedule function of every task of this runtime: queue
    /// `runnable` and notify. `yielded`: the task woke itself while running
    /// (async-task's `woken_while_running`). `worker`: this thread's index
    /// among the runtime's workers (`context::worker_index`), which a spawn
    /// has looked up already.
    pub(crate) fn schedule(
        &self,
        runnable: Runnable,
        priority: Priority,
        yielded: bool,
        worker: Option<usize>,
    ) {
        if self.drained.load(Ordering::Acquire) {
            // Drained: the only live futures are ones a worker is still
            // polling, so this runs inside `Runnable::run` with no lock held.
            drop(runnable);
            return;
        }
        if priority == Priority::High {
            self.high_queued.fetch_add(1, Ordering::Relaxed);
        }
        match worker {
            // A reserved worker runs no `Low` task: one it spawns or wakes
            // goes where the others look first.
            Some(index) if self.is_reserved(index) && priority == Priority::Low => {
                self.shared_queue(priority).push(runnable);
                self.injected.fetch_add(1, Ordering::Relaxed);
                self.count(index, Counter::LocalSchedules, 1);
            }
            Some(index) => {
                self.count(index, Counter::LocalSchedules, 1);
                let local = &self.locals[index];
                // Whether this wake is dispatched from the reactor, read
                // once (one thread-local read) and noted for `dispatched`.
                #[cfg(any(feature = "io", feature = "net"))]
                let reactor = context::note_dispatch();
                match (priority, yielded) {
                    // A wake dispatched by the reactor (an I/O event, a timer
                    // due) goes to the back of the local queue: a batch of
                    // them runs in the order the reactor found them (timers
                    // due together, in deadline order), not the last one
                    // first, which the LIFO slot would do. The slot is for a
                    // task that wakes another while it runs.
                    #[cfg(any(feature = "io", feature = "net"))]
                    (Priority::Low, false) if reactor != context::Reactor::Away => {
                        local.push(Priority::Low, runnable)
                    }
                    (Priority::Low, false) => {
                        if let Some(previous) = local.lifo.replace(runnable) {
                            local.push(Priority::Low, previous);
                        }
                    }
                    // A yield: scheduled at the end of `Runnable::run`, so on
                    // the worker that polled it, the yield queue's one
                    // producer. No `notify_one` (see `yield_queue.rs`), and
                    // no `drained` check: this thread is a worker still
                    // counted as running, so the last worker out drains
                    // after it.
                    (Priority::Low, true) => match local.yields.push(runnable) {
                        Ok(()) => return,
                        Err(runnable) => local.push(Priority::Low, runnable),
                    },
                    (Priority::High, _) => local.push(Priority::High, runnable),
                }
                #[cfg(any(feature = "io", feature = "net"))]
                if self.dispatched(index, reactor) {
                    // This worker runs the task when it is back from the
                    // reactor, but it may be busy long before it gets to a
                    // second `High` one: a reserved worker is told, as after
                    // any `High` push (`dispatched`'s fence orders the push
                    // before `notify_reserved`'s load).
                    if priority == Priority::High && self.reserved > 0 {
                        self.idle.notify_reserved();
                    }
                    return;
                }
            }
            None => {
                self.shared_queue(priority).push(runnable);
                self.injected.fetch_add(1, Ordering::Relaxed);
                self.books.stats.add_for(None, Counter::RemoteSchedules, 1);
            }
        }
        self.notify_after_push();
        if priority == Priority::High && self.reserved > 0 {
            // After `notify_one`'s fence: see "Reserved workers" in `idle.rs`.
            self.idle.notify_reserved();
        }
    }

    /// After a push onto worker `index`'s own queues: if that worker is
    /// dispatching events from the I/O reactor, makes sure it comes back to
    /// run the task, without waking anyone else, and returns `true` (see
    /// "The I/O reactor" in `idle.rs`). Returns `false` if the worker is
    /// running tasks: the caller notifies as after any push. `reactor` is
    /// what `context::note_dispatch` said for this wake.
    #[cfg(any(feature = "io", feature = "net"))]
    fn dispatched(&self, index: usize, reactor: context::Reactor) -> bool {
        let first = match reactor {
            context::Reactor::Away => return false,
            context::Reactor::Inside => true,
            context::Reactor::Dispatched => false,
        };
        self.count(index, Counter::ReactorWakes, 1);
        if first {
            // Ends the worker's wait in `block_on` (if it waits rather than
            // polls): the reactor returns to the worker loop after this
            // batch of events.
            self.idle.wake_worker(index);
        }
        // The shutdown Dekker pair, as in `notify_after_push`.
        fence(Ordering::SeqCst);
        if self.drained.load(Ordering::SeqCst) {
            self.drain_queues();
        }
        true
    }

    /// After a push: wake a sleeper if needed, or drain if the final drain
    /// raced us (see "The final pass" in `drain.rs`).
    pub(crate) fn notify_after_push(&self) {
        // `notify_one` starts with a SeqCst fence, which also orders our push
        // before the `drained` load below.
        self.idle.notify_one();
        if self.drained.load(Ordering::SeqCst) {
            self.drain_queues();
        }
    }

    /// Moves everything queued on worker `slot` (LIFO slot, yield queue,
    /// local queues) to the shared queues and notifies, as a push from
    /// outside does: the handoff of a stalled worker's tasks (`stall.rs`),
    /// and what a worker that steps aside leaves behind. Any thread.
    pub(crate) fn hand_off(&self, slot: usize) {
        let mut moved = [0usize; 2];
        self.locals[slot].take_all(|priority, r| {
            self.shared_queue(priority).push(r);
            moved[priority.index()] += 1;
        });
        if moved != [0, 0] {
            self.injected.fetch_add(moved[0] + moved[1], Ordering::Relaxed);
            self.notify_after_push();
            if moved[Priority::High.index()] > 0 && self.reserved > 0 {
                self.idle.notify_reserved();
            }
        }
    }
}
