//! The yield queue: where a task that woke itself while running (it yielded)
//! waits for its next turn, in front of the backend's local queue.
//!
//! A runtime-agnostic yield (`cx.waker().wake_by_ref(); Poll::Pending`, what
//! futures-lite's `yield_now` and most libraries do) reschedules the task
//! from inside its own poll, on its own worker. Sending it through the
//! backend's local queue costs a push and a pop on a queue built for many
//! producers (a lock or a CAS loop each) plus `notify_one`'s fence, on every
//! yield. This queue is cheaper because only one thread ever pushes to it,
//! while every thread may still take from it, so no task in it is stranded.
//!
//! # Protocol
//! A bounded ring of [`CAPACITY`] slots, each an `AtomicPtr` holding an owned
//! `Runnable` (from `Runnable::into_raw`), and two counters that only grow:
//! `head` (the next slot to take) and `tail` (the next slot to fill).
//!
//! - **Only the owner pushes** (the schedule function, running on the worker
//!   thread that polled the task: a self-wake is always scheduled there, at
//!   the end of `Runnable::run`). It reads `head` (`Acquire`: pairs with the
//!   `AcqRel` CAS of whoever took the slot's previous occupant, so that
//!   taker's read of the slot happens before the owner refills it), refuses
//!   if the ring is full (the caller then uses the backend queue), stores
//!   the pointer, and publishes it with a `Release` store of `tail`.
//! - **Anyone takes** (the owner, a stealing sibling, the shutdown drain): it
//!   reads `head`, then `tail` (`Acquire`: pairs with the owner's `Release`,
//!   so the slots below `tail` are written), reads the pointers of the slots
//!   it wants, and claims them with one CAS of `head` from the value it read.
//!   Only the CAS transfers ownership: a taker whose CAS fails forgets what
//!   it read (the pointers may be stale: the slots may have been taken and
//!   refilled) and retries. A successful CAS proves that nobody took those
//!   slots first, and then the owner cannot have refilled them either (it
//!   refills a slot only after seeing `head` move past it), so the pointers
//!   read are the ones pushed there, each taken exactly once. The slots are
//!   atomics, so a racing read of a slot being refilled is not a data race.
//!   The counters are `usize` and never wrap in practice (2^64 pushes), so a
//!   stale `head` can never match again (no ABA).
//!
//! **Who notifies.** A push here does not call `notify_one`: the owner is
//! running and will take the task itself, so nothing is stranded. Instead
//! the owner, after each poll, wakes a sleeping sibling if its own queues
//! hold more than one task and nobody is searching (`worker.rs`), so that
//! idle workers still share the load; the sibling's search steals from this
//! queue like from the others. The parking re-check (`Shared::has_work`)
//! looks here too.

use std::ptr::{self, NonNull};

use crossbeam_utils::CachePadded;

use crate::{
    queue::Runnable,
    sync::{AtomicPtr, AtomicUsize, Ordering},
};

/// Slots in one worker's yield queue. Yields beyond it go to the backend's
/// local queue.
#[cfg(not(loom))]
pub(crate) const CAPACITY: usize = 256;
/// Small under loom, so that a model can fill the ring and wrap around it.
#[cfg(loom)]
pub(crate) const CAPACITY: usize = 4;

/// One worker's yield queue: single producer (its worker), any consumer.
#[derive(Debug)]
pub(crate) struct YieldQueue {
    /// The next slot to take; advanced only by a successful CAS.
    head: CachePadded<AtomicUsize>,
    /// The next slot to fill; written only by the owner.
    tail: CachePadded<AtomicUsize>,
    /// Slot `i % CAPACITY` holds the task pushed `i`-th, for `head <= i < tail`.
    slots: Box<[AtomicPtr<()>]>,
}

impl YieldQueue {
    pub(crate) fn new() -> Self {
        Self {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            slots: (0..CAPACITY).map(|_| AtomicPtr::new(ptr::null_mut())).collect(),
        }
    }

    /// Appends `runnable`, or hands it back if the queue is full. Only the
    /// owning worker may call this.
    pub(crate) fn push(&self, runnable: Runnable) -> Result<(), Runnable> {
        // Only this thread writes `tail`.
        let tail = self.tail.load(Ordering::Relaxed);
        // Pairs with the takers' AcqRel CAS: the slot we refill was read
        // before its taker moved `head` past it.
        let head = self.head.load(Ordering::Acquire);
        if tail.wrapping_sub(head) >= CAPACITY {
            return Err(runnable);
        }
        self.slots[tail % CAPACITY].store(runnable.into_raw().as_ptr(), Ordering::Relaxed);
        // Publishes the slot: pairs with the takers' Acquire load of `tail`.
        self.tail.store(tail.wrapping_add(1), Ordering::Release);
        Ok(())
    }

    /// Takes the oldest task: `take` for one slot.
    pub(crate) fn pop(&self) -> Option<Runnable> {
        let mut head = self.head.load(Ordering::Acquire);
        loop {
            // As in `take`.
            let available = self.tail.load(Ordering::Acquire).wrapping_sub(head);
            if available == 0 {
                return None;
            }
            if available > CAPACITY {
                head = self.head.load(Ordering::Acquire);
                continue;
            }
            let p = self.slots[head % CAPACITY].load(Ordering::Relaxed);
            match self.head.compare_exchange(head, head.wrapping_add(1), Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    let p = NonNull::new(p).expect("a slot below `tail` holds a task");
                    // SAFETY: as in `take`: the CAS transferred this slot to
                    // us, and its pointer came from `Runnable::into_raw`.
                    return Some(unsafe { Runnable::from_raw(p) });
                }
                Err(current) => head = current,
            }
        }
    }

    /// Takes up to `max` of the oldest tasks, handing each to `sink` in
    /// order; returns how many.
    pub(crate) fn take(&self, max: usize, mut sink: impl FnMut(Runnable)) -> usize {
        let mut head = self.head.load(Ordering::Acquire);
        let mut claimed = [ptr::null_mut::<()>(); 32];
        loop {
            // Pairs with the owner's Release store: slots below `tail` are
            // written. (`tail` was read after `head`, so `tail >= head`.)
            let tail = self.tail.load(Ordering::Acquire);
            let available = tail.wrapping_sub(head);
            if available == 0 || max == 0 {
                return 0;
            }
            if available > CAPACITY {
                // `head` is stale by more than a lap: reload it.
                head = self.head.load(Ordering::Acquire);
                continue;
            }
            let n = available.min(max).min(claimed.len());
            for (i, slot) in claimed.iter_mut().enumerate().take(n) {
                *slot = self.slots[head.wrapping_add(i) % CAPACITY].load(Ordering::Relaxed);
            }
            match self.head.compare_exchange(head, head.wrapping_add(n), Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    for &p in &claimed[..n] {
                        let p = NonNull::new(p).expect("a slot below `tail` holds a task");
                        // SAFETY: the successful CAS transferred these slots
                        // to us (module docs): each pointer came from
                        // `Runnable::into_raw` in `push` and is taken out
                        // exactly once, here.
                        sink(unsafe { Runnable::from_raw(p) });
                    }
                    return n;
                }
                // Someone took first: what we read may be stale; retry.
                Err(current) => head = current,
            }
        }
    }

    /// The number of tasks queued (a hint while others push or take).
    pub(crate) fn len(&self) -> usize {
        let head = self.head.load(Ordering::Acquire);
        let tail = self.tail.load(Ordering::Acquire);
        tail.wrapping_sub(head).min(CAPACITY)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for YieldQueue {
    fn drop(&mut self) {
        while self.pop().is_some() {}
    }
}
