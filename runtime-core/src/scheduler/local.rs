//! [`Local`]: a worker's stealable state, and the one place that lists
//! where a worker holds tasks (its LIFO slot, its yield queue, its local
//! queues): every question about "what does this worker hold" is a method
//! here.

use crate::{
    lifo::LifoSlot,
    queue::{Priority, Queue, Runnable},
    sync::{AtomicBool, Ordering},
    yield_queue::YieldQueue,
};

/// A worker's stealable state.
pub(crate) struct Local<Q> {
    /// Indexed by [`Priority::index`].
    pub(crate) queues: [Q; 2],
    pub(crate) lifo: LifoSlot,
    /// `Low` tasks that woke themselves while running (`yield_queue.rs`).
    pub(crate) yields: YieldQueue,
    /// A hint for the owner: set by every push to the local `Low` queue,
    /// cleared by the owner when a pop finds that queue empty. Only the
    /// owning worker pushes to its local queues (spawns and wakes on it,
    /// its steals and batches), so `false` means "nothing pushed since it
    /// was last seen empty": a worker whose yield queue holds tasks skips
    /// the backend then. Stealers only pop, which can only make `true`
    /// stale, never `false`. Relaxed: read and written by the owner only.
    low_pushed: AtomicBool,
}

impl<Q: Queue> Local<Q> {
    pub(crate) fn new() -> Self {
        Local {
            queues: [Q::new(), Q::new()],
            lifo: LifoSlot::new(),
            yields: YieldQueue::new(),
            low_pushed: AtomicBool::new(false),
        }
    }

    /// The local queue of `priority`.
    #[inline]
    pub(crate) fn queue(&self, priority: Priority) -> &Q {
        &self.queues[priority.index()]
    }

    /// Pushes to the local queue of `priority`. Only the owning worker may
    /// call this (see `low_pushed`).
    pub(crate) fn push(&self, priority: Priority, runnable: Runnable) {
        self.note_batch(priority);
        self.queue(priority).push(runnable);
    }

    /// Notes tasks moved into the local queue of `priority` by a batch
    /// (`steal_into`, or pushes made on the owner's behalf); as `push`,
    /// owner only.
    pub(crate) fn note_batch(&self, priority: Priority) {
        if priority == Priority::Low {
            self.low_pushed.store(true, Ordering::Relaxed);
        }
    }

    /// Pops from the local `Low` queue, unless nothing was pushed there
    /// since it was last found empty. Owner only.
    pub(crate) fn pop_low(&self) -> Option<Runnable> {
        if !self.low_pushed.load(Ordering::Relaxed) {
            return None;
        }
        let popped = self.queue(Priority::Low).pop();
        if popped.is_none() {
            self.low_pushed.store(false, Ordering::Relaxed);
        }
        popped
    }

    /// Whether the worker holds any task: LIFO slot, yield queue or a
    /// local queue.
    pub(crate) fn has_work(&self) -> bool {
        !self.lifo.is_empty() || self.stealable()
    }

    /// Whether the worker holds tasks beyond its LIFO slot (the task it
    /// runs next): work a sibling could steal in a batch.
    pub(crate) fn stealable(&self) -> bool {
        !self.yields.is_empty() || self.queues.iter().any(|q| !q.is_empty())
    }

    /// Whether a `Low` task waits here (LIFO slot, yield queue, local `Low`
    /// queue).
    pub(crate) fn has_low(&self) -> bool {
        !self.lifo.is_empty() || !self.yields.is_empty() || !self.queue(Priority::Low).is_empty()
    }

    /// The number of tasks the worker holds.
    pub(crate) fn len(&self) -> usize {
        usize::from(!self.lifo.is_empty()) + self.yields.len() + self.queues.iter().map(Q::len).sum::<usize>()
    }

    /// Takes every task the worker holds, LIFO slot first, handing each to
    /// `f` with its priority (the handoff of a stalled worker, the drain).
    /// Any thread; safe against the owner pushing meanwhile (what it pushes
    /// after a place was emptied stays there).
    pub(crate) fn take_all(&self, mut f: impl FnMut(Priority, Runnable)) {
        if let Some(r) = self.lifo.take() {
            f(Priority::Low, r);
        }
        while self.yields.take(32, |r| f(Priority::Low, r)) > 0 {}
        for p in [Priority::High, Priority::Low] {
            while let Some(r) = self.queue(p).pop() {
                f(p, r);
            }
        }
    }
}
