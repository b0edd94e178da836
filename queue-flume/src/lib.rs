//! A [`Queue`] backend over a [`flume`] unbounded channel.
//!
//! The runtime only ever uses it as a non-blocking queue (`send` / `try_recv`):
//! it never blocks in `recv`, which is what made the one-channel executor of
//! the tutorial wake a thread on every push.
//!
//! ```
//! use queue_flume::FlumeQueue;
//! use runtime_core::Runtime;
//!
//! let rt = Runtime::<FlumeQueue>::builder().worker_threads(2).build()?;
//! assert_eq!(rt.block_on(rt.spawn(async { 1 + 1 })), 2);
//! # Ok::<(), runtime_core::BuildError>(())
//! ```
#![forbid(unsafe_code)]

use runtime_core::{Queue, Runnable};

/// A `flume::unbounded` channel used as a FIFO. Holding both ends, it can
/// never be disconnected.
#[derive(Debug)]
pub struct FlumeQueue {
    sender: flume::Sender<Runnable>,
    receiver: flume::Receiver<Runnable>,
}

impl Queue for FlumeQueue {
    fn new() -> Self {
        let (sender, receiver) = flume::unbounded();
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
