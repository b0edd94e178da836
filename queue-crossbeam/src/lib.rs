//! A [`Queue`] backend over a [`crossbeam_channel`] unbounded channel (a
//! lock-free linked list of blocks).
//!
//! ```
//! use queue_crossbeam::CrossbeamQueue;
//! use runtime_core::Runtime;
//!
//! let rt = Runtime::<CrossbeamQueue>::builder().worker_threads(2).build()?;
//! assert_eq!(rt.block_on(rt.spawn(async { 1 + 1 })), 2);
//! # Ok::<(), runtime_core::BuildError>(())
//! ```
#![forbid(unsafe_code)]

use runtime_core::{Queue, Runnable};

/// A `crossbeam_channel::unbounded` channel used as a FIFO. Holding both
/// ends, it can never be disconnected.
#[derive(Debug)]
pub struct CrossbeamQueue {
    sender: crossbeam_channel::Sender<Runnable>,
    receiver: crossbeam_channel::Receiver<Runnable>,
}

impl Queue for CrossbeamQueue {
    fn new() -> Self {
        let (sender, receiver) = crossbeam_channel::unbounded();
        Self { sender, receiver }
    }

    fn push(&self, runnable: Runnable) {
        // Cannot fail: `self.receiver` keeps the channel connected.
        let _ = self.sender.send(runnable);
    }

    fn pop(&self) -> Option<Runnable> {
        self.receiver.try_recv().ok()
    }

    fn len(&self) -> usize {
        self.receiver.len()
    }

    fn is_empty(&self) -> bool {
        self.receiver.is_empty()
    }
}
