//! The live-task registry: a waker for every task whose future still exists.
//!
//! A pending task whose waker is held by a timer, a socket or a user's struct
//! sits in no queue, so the runtime cannot reach it through its queues. To
//! drop *every* pending future at shutdown, the runtime keeps one waker per
//! live task here; closing the registry takes them all and wakes them, and
//! the schedule function, seeing the runtime closed, drops each `Runnable`,
//! which drops the future.
//!
//! The registry sits on the spawn and completion paths, so it is sharded: a
//! worker uses its own shard, other threads go round-robin over the rest. A task
//! removes its entry from the shard it was registered in (its [`Key`] says
//! which), whichever thread finishes it.
//!
//! Protocol:
//! - `insert` checks `closed` under the shard lock, so an insert either lands
//!   before `close` drains that shard (and is woken by it) or is refused.
//! - `close` sets `closed` and takes every waker out of each shard under its
//!   lock, then wakes them with no lock held (a wake may drop a future, whose
//!   destructor may wake or spawn again, re-entering the registry).
//! - `remove` of a key that `close` already took is a no-op: after `close`
//!   nothing is inserted again, so keys are never reused afterwards.

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
    wakers: Slab<Waker>,
}

#[derive(Debug)]
pub(crate) struct Registry {
    /// Shards `0..workers` belong to the workers, the rest to outside threads.
    workers: usize,
    shards: Box<[crossbeam_utils::CachePadded<Mutex<Shard>>]>,
}

impl Registry {
    /// A registry with one shard per worker plus as many for outside threads.
    pub(crate) fn new(workers: usize) -> Self {
        let shards = (workers * 2).next_power_of_two().max(4);
        Self { workers, shards: (0..shards).map(|_| Default::default()).collect() }
    }

    /// The shard for the calling thread: worker `index` gets its own.
    pub(crate) fn shard_for(&self, worker: Option<usize>) -> usize {
        let n = self.shards.len();
        match worker {
            Some(index) => index,
            // Round-robin over the shards no worker uses (there are at least
            // as many as workers), so that the tasks one outside thread spawns
            // spread out and the workers finishing them rarely contend.
            None => self.workers + crate::context::next_outside_shard() % (n - self.workers),
        }
    }

    /// Reserves a slot in `shard` and fills it with the waker that `make`
    /// returns for the slot's key; `None` (and `make` not called) if the
    /// registry is closed. `make` must not call back into the registry.
    pub(crate) fn insert<T>(
        &self,
        shard: usize,
        make: impl FnOnce(Option<Key>) -> (Waker, T),
    ) -> Result<T, T> {
        let mut guard = self.shards[shard].lock();
        if guard.closed {
            drop(guard);
            let (_waker, value) = make(None);
            return Err(value);
        }
        let entry = guard.wakers.vacant_entry();
        let key = Key::new(shard, entry.key());
        let (waker, value) = make(Some(key));
        entry.insert(waker);
        Ok(value)
    }

    /// Removes a task's entry; a no-op if `close` already took it.
    pub(crate) fn remove(&self, key: Key) {
        let waker = self.shards[key.shard()].lock().wakers.try_remove(key.slot());
        // Dropped with no lock held: dropping a waker may free the task.
        drop(waker);
    }

    /// Closes the registry (nothing is inserted any more) and returns every
    /// waker it held. The caller wakes them with no lock held.
    pub(crate) fn close(&self) -> Vec<Waker> {
        let mut all = Vec::new();
        for shard in self.shards.iter() {
            let mut guard = shard.lock();
            guard.closed = true;
            let wakers = std::mem::take(&mut guard.wakers);
            drop(guard);
            all.extend(wakers.into_iter().map(|(_, w)| w));
        }
        all
    }

    /// The number of live (registered) tasks.
    #[allow(dead_code)]
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().wakers.len()).sum()
    }
}
