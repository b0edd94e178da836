//! The live-task registry: a waker for every task that is *parked*.
//!
//! A pending task whose waker is held by a timer, a socket or a user's struct
//! sits in no queue, so the runtime cannot reach it through its queues. To
//! drop *every* pending future at shutdown, the runtime keeps one waker per
//! such task here; closing the registry takes them all and wakes them, and
//! the drain then drops their runnables, which drops the futures.
//!
//! A task registers lazily, the first time its poll returns `Pending`
//! (before that it is always in a queue or running, where the drain finds it
//! anyway), and leaves when it finishes. So a task that completes in its
//! first poll never touches the registry, and the spawn path never does.
//! Registration happens on the worker that polled the task, in that worker's
//! own shard; removal is from the same shard, usually by the same worker.
//!
//! An entry lives exactly as long as its task's future: `close` takes the
//! wakers out but leaves the entries, and only the task's own wrapper removes
//! its entry, when it drops the future. So [`Registry::len`] counts the
//! registered futures still alive, which is how the shutdown drain knows that
//! a wake is still in flight (see "Shutdown" in `scheduler.rs`).
//!
//! Protocol:
//! - `insert` checks `closed` under the shard lock, so an insert either lands
//!   before `close` takes that shard's wakers (and is woken by the caller) or
//!   is refused; a refused task wakes itself, so that the drain (or, once
//!   drained, the schedule function) drops it.
//! - `close` sets `closed` and takes every waker still in each shard under
//!   its lock, then the caller wakes them with no lock held (a wake may drop
//!   a future, whose destructor may wake or spawn again, re-entering the
//!   registry). Calling it again takes nothing more: nothing is inserted
//!   after the first call.
//! - `remove` frees the entry, whether or not `close` took its waker; keys
//!   are never reused while their task lives.

use std::{num::NonZeroU64, task::Waker};

use slab::Slab;

use crate::sync::Mutex;

/// Where a task's waker sits: shard and slot, packed into one non-zero word
/// (so that `Option<Key>`, which every task carries, is one word too).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key(NonZeroU64);

impl Key {
    fn new(shard: usize, slot: usize) -> Self {
        let packed = ((shard as u64) << 32 | slot as u64) + 1;
        Key(NonZeroU64::new(packed).expect("packed + 1 is never zero"))
    }
    /// The packed word: never 0 and, with at most 1024 shards, never
    /// `u64::MAX` either (the task wrapper uses both as states of its own).
    pub(crate) fn raw(self) -> u64 {
        self.0.get()
    }

    /// A key from [`Key::raw`].
    pub(crate) fn from_raw(raw: u64) -> Option<Self> {
        NonZeroU64::new(raw).map(Key)
    }

    fn shard(self) -> usize {
        ((self.0.get() - 1) >> 32) as usize
    }
    fn slot(self) -> usize {
        ((self.0.get() - 1) & u64::from(u32::MAX)) as usize
    }
}

#[derive(Debug, Default)]
struct Shard {
    closed: bool,
    /// One entry per registered task whose future is alive; `Waker::noop()`
    /// once `close` took the real one (all of them, the first time). (Not an `Option`: slab's entry enum
    /// cannot share `Waker`'s one niche with it, and every parked task would
    /// pay 8 more bytes.)
    wakers: Slab<Waker>,
}

#[derive(Debug)]
pub(crate) struct Registry {
    shards: Box<[crossbeam_utils::CachePadded<Mutex<Shard>>]>,
}

impl Registry {
    /// A registry with one shard per worker.
    pub(crate) fn new(workers: usize) -> Self {
        Self { shards: (0..workers.max(1)).map(|_| Default::default()).collect() }
    }

    /// Registers `waker` in `shard` (the registering worker's index).
    /// Refused, handing the waker back, once the registry is closed.
    pub(crate) fn insert(&self, shard: usize, waker: Waker) -> Result<Key, Waker> {
        let shard = shard % self.shards.len();
        let mut guard = self.shards[shard].lock();
        if guard.closed {
            return Err(waker);
        }
        Ok(Key::new(shard, guard.wakers.insert(waker)))
    }

    /// Removes a task's entry: its future has been dropped.
    pub(crate) fn remove(&self, key: Key) {
        let waker = self.shards[key.shard()].lock().wakers.try_remove(key.slot());
        // Dropped with no lock held: dropping a waker may free the task.
        drop(waker);
    }

    /// Closes the registry (nothing is inserted any more) and takes every
    /// waker it still holds, leaving the entries. The caller wakes them with
    /// no lock held.
    pub(crate) fn close(&self) -> Vec<Waker> {
        let mut all = Vec::new();
        for shard in self.shards.iter() {
            let mut guard = shard.lock();
            if std::mem::replace(&mut guard.closed, true) {
                // Taken by an earlier call: nothing is inserted after it.
                continue;
            }
            let noop = Waker::noop();
            all.extend(guard.wakers.iter_mut().map(|(_, waker)| std::mem::replace(waker, noop.clone())));
        }
        all
    }

    /// The number of registered tasks whose future is still alive.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|shard| shard.lock().wakers.len()).sum()
    }
}
