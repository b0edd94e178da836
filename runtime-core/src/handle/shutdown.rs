//! Shutdown, from any handle or from the runtime's drop: close the runtime
//! (the workers' side and the blocking pool), wait for the workers and join
//! them, then drain (`scheduler/drain.rs` says what that promises). Joining
//! threads and driving the pool happen here, on the handle's floor, so that
//! the scheduler never sees a `Handle`.

use std::time::{Duration, Instant};

use super::{Handle, enter_current};
use crate::{context, sync::thread};

impl Handle {
    /// Closes the runtime: workers stop taking tasks, spawns are refused,
    /// and the blocking pool drops the closures it has not started (with
    /// this runtime current). Returns `true` if this call closed it. What
    /// every close goes through: shutdown's, the panic policy's, a dying
    /// worker's.
    ///
    /// The pool closes first: once [`Handle::is_shutdown`] says `true`, no
    /// queued closure can start any more (a pool thread that finishes its
    /// closure in between finds the pool closed).
    pub(crate) fn close(&self) -> bool {
        self.blocking().close(self);
        self.any().close()
    }

    /// Shuts the runtime down from any handle: for a runtime that nobody
    /// can drop, such as one in a `static`. Like dropping the runtime, it
    /// cancels every task, waits for the workers to exit and joins them, and
    /// when it returns every future has been dropped (a
    /// [`spawn_blocking`](crate::spawn_blocking) closure already running is
    /// detached, not waited for). On a worker thread it cannot wait: it
    /// closes the runtime and the last worker out drains. Calling it again,
    /// or dropping the runtime afterwards, is harmless.
    ///
    /// ```
    /// # use queue_flume::FlumeQueue;
    /// # use runtime_core::Runtime;
    /// let rt = Runtime::<FlumeQueue>::builder().worker_threads(1).build()?;
    /// let handle = rt.handle();
    /// let pending = rt.spawn(std::future::pending::<()>()).fallible();
    /// handle.shutdown();
    /// assert!(handle.is_shutdown());
    /// assert_eq!(rt.block_on(pending), None);
    /// # Ok::<(), runtime_core::BuildError>(())
    /// ```
    pub fn shutdown(&self) {
        self.shutdown_within(None);
    }

    /// Like [`Handle::shutdown`], waiting at most `timeout` for the workers:
    /// what it guarantees when it gives up is what
    /// [`Runtime::shutdown_timeout`](crate::Runtime::shutdown_timeout) says.
    /// Once it has given up, dropping the `Runtime` does not wait for the
    /// workers still running either (it drains what it can and returns);
    /// a later [`Handle::shutdown`] waits for them without limit, as asked.
    pub fn shutdown_timeout(&self, timeout: Duration) {
        self.shutdown_within(Some(timeout));
    }

    /// Closes the runtime, waits at most `timeout` (`None`: no limit) for
    /// the workers to exit and joins them, then drains with this runtime
    /// current. Waits for nothing on a worker thread (one of ours cannot
    /// wait for itself, and another runtime's must not block on us): the
    /// last worker out drains. Safe to call more than once, from
    /// `Runtime::drop` and from any handle.
    pub(crate) fn shutdown_within(&self, timeout: Option<Duration>) {
        // The blocking pool's closures still running are waited for only
        // with a timeout, within the same deadline (`blocking.rs`).
        let blocking_deadline = timeout.map(|timeout| Instant::now().checked_add(timeout));
        self.close();
        if context::is_worker() {
            return;
        }
        let shared = self.any();
        if shared.wait_for_workers(timeout) {
            self.join_threads();
        } else {
            self.threads().give_up();
        }
        // Otherwise the timeout passed and the threads stay detached. The
        // drain is idempotent: the last worker out drains too. Workers still
        // running are polling, or about to exit.
        let _current = enter_current(self.clone());
        shared.drain(shared.running());
        if let Some(deadline) = blocking_deadline {
            self.blocking().wait(deadline);
        }
    }

    /// Joins the watcher and every worker thread (they have all exited).
    fn join_threads(&self) {
        let threads = self.threads();
        let watcher = threads.watcher.lock().take();
        // Not from the watcher itself (an `on_stall` callback that shuts the
        // runtime down): it exits on its own, having seen the runtime closed.
        if let Some(watcher) = watcher.filter(|w| w.thread().id() != thread::current().id()) {
            let _ = watcher.join();
        }
        let workers = std::mem::take(&mut *threads.workers.lock());
        // Nor a worker its own thread: the last worker out drains, and a
        // future it drops there may own this runtime and shut it down. It
        // exits on its own once its drain is done.
        let me = thread::current().id();
        for worker in workers.into_iter().filter(|w| w.thread().id() != me) {
            // A worker that died (a panicking backend) already closed the
            // runtime and said why on stderr; shutdown does not turn that
            // into a second panic here.
            let _ = worker.join();
        }
    }
}
