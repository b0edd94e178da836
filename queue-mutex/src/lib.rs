//! A [`Queue`] backend over a `parking_lot::Mutex<VecDeque>`.
//!
//! It overrides [`Queue::steal_into`] to move a whole batch under one lock of
//! each queue (never both at once).
//!
//! ```
//! use queue_mutex::MutexQueue;
//! use runtime_core::Runtime;
//!
//! let rt = Runtime::<MutexQueue>::builder().worker_threads(2).build()?;
//! assert_eq!(rt.block_on(rt.spawn(async { 1 + 1 })), 2);
//! # Ok::<(), runtime_core::BuildError>(())
//! ```
#![forbid(unsafe_code)]

use std::collections::VecDeque;

use parking_lot::Mutex;
use runtime_core::{Queue, Runnable};

/// A `VecDeque` behind a `parking_lot` mutex.
#[derive(Debug, Default)]
pub struct MutexQueue {
    queue: Mutex<VecDeque<Runnable>>,
}

impl Queue for MutexQueue {
    fn new() -> Self {
        Self::default()
    }

    fn push(&self, runnable: Runnable) {
        self.queue.lock().push_back(runnable);
    }

    fn pop(&self) -> Option<Runnable> {
        self.queue.lock().pop_front()
    }

    fn len(&self) -> usize {
        self.queue.lock().len()
    }

    fn steal_into(&self, dest: &Self, max: usize) -> usize {
        let batch: Vec<Runnable> = {
            let mut queue = self.queue.lock();
            let n = max.min(queue.len());
            queue.drain(..n).collect()
        };
        let moved = batch.len();
        if moved > 0 {
            dest.queue.lock().extend(batch);
        }
        moved
    }
}
