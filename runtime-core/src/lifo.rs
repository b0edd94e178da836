//! The LIFO slot: one stealable task per worker, the crate's only raw-pointer
//! code.
//!
//! A worker puts a task that the task it is running woke or spawned here, so
//! that it runs next with its data still in cache (see "Queues" in
//! `scheduler.rs`). Any thread may take it: siblings steal it, so a task in
//! the slot is never stranded behind a worker stuck in a long poll.
//!
//! # Protocol
//! The slot is one `AtomicPtr` that owns the `Runnable` it points to (made
//! with `Runnable::into_raw`). Every change is a `swap`, so each pointer put
//! in is taken out exactly once, by whichever `swap` removes it: by
//! `replace` (which hands the old task back), by `take`, or by `Drop`. The
//! `AcqRel` swaps pair with each other: the thread that takes a pointer sees
//! everything the thread that put it there wrote before the swap (the task's
//! state). `take`'s first relaxed load is only a shortcut for the empty case;
//! `is_empty` is a hint for searchers and the parking re-check, whose own
//! fences order it.

use std::ptr::{self, NonNull};

use crate::{
    queue::Runnable,
    sync::{AtomicPtr, Ordering},
};

/// A single-task slot that any thread may take from: an owned `Runnable`
/// stored as its raw pointer.
#[derive(Debug)]
pub(crate) struct LifoSlot {
    /// Null, or a pointer from `Runnable::into_raw` that this slot owns.
    ptr: AtomicPtr<()>,
}

impl LifoSlot {
    pub(crate) fn new() -> Self {
        Self { ptr: AtomicPtr::new(ptr::null_mut()) }
    }

    /// Puts `runnable` in the slot and returns what was there.
    pub(crate) fn replace(&self, runnable: Runnable) -> Option<Runnable> {
        let new = runnable.into_raw().as_ptr();
        let old = self.ptr.swap(new, Ordering::AcqRel);
        // SAFETY: every non-null pointer in the slot came from
        // `Runnable::into_raw` and is owned by the slot; the swap removed it,
        // so this is the only `Runnable` made from it.
        NonNull::new(old).map(|p| unsafe { Runnable::from_raw(p) })
    }

    /// Takes the task out of the slot, if any.
    pub(crate) fn take(&self) -> Option<Runnable> {
        if self.ptr.load(Ordering::Relaxed).is_null() {
            return None;
        }
        let old = self.ptr.swap(ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: as in `replace`: the swap transferred ownership of the
        // pointer (if any) from the slot to us, exactly once.
        NonNull::new(old).map(|p| unsafe { Runnable::from_raw(p) })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ptr.load(Ordering::Acquire).is_null()
    }
}

impl Drop for LifoSlot {
    fn drop(&mut self) {
        drop(self.take());
    }
}
