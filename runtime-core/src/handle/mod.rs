//! The type-erased [`Handle`], what a thread knows of its current runtime,
//! and, in the files below, the spawn path (`spawn.rs`) and shutdown
//! (`shutdown.rs`). The blocking pool (`blocking.rs`) lives on this floor
//! too: it is reached through the handle, and its threads hold one.
//!
//! # Type erasure
//! A [`Runtime<Q>`](crate::Runtime) knows its queue type; a `Handle`, a
//! task's schedule function and the thread-local current runtime must not.
//! - [`AnyShared`]: the object-safe face of a runtime's `Shared<Q>`, what
//!   everything above the queues calls (one dynamic call per schedule);
//! - [`Scheduler`]: where the runnables of one runtime and one priority go:
//!   the runtime's books (read without a dynamic call) and its `AnyShared`;
//! - [`SchedulerRef`]: the one-word pointer every task's schedule function
//!   holds.
//!
//! # The current runtime
//! [`enter_current`] makes a handle this thread's current runtime (for
//! [`spawn`](crate::spawn) and [`Handle::current`]) until its guard drops:
//! workers for their whole life, `block_on` around its future, blocking
//! threads, and the drains (so that a destructor they run may still spawn,
//! and gets a cancelled task).

use std::{cell::RefCell, fmt, time::Duration};

use async_task::ScheduleInfo;

use crate::{
    blocking::Pool,
    books::Books,
    config::Config,
    context,
    metrics::Metrics,
    queue::{Priority, Queue, Runnable},
    scheduler::Shared,
    sync::{Arc, AtomicBool, Mutex, Ordering, thread},
};

mod shutdown;
mod spawn;

#[doc(hidden)]
pub use spawn::LARGE_FUTURE;
pub use spawn::{spawn, spawn_blocking, spawn_with, try_spawn_with};
pub(crate) use spawn::{spawn_on, spawn_sized, spawn_tracked};

/// A runtime's shared state with its queue type erased.
pub(crate) trait AnyShared: Send + Sync + 'static {
    /// The schedule function (see `scheduler/schedule.rs`).
    fn schedule(&self, runnable: Runnable, priority: Priority, yielded: bool, worker: Option<usize>);
    /// The counters, with `queued` (not the blocking pool's fields).
    fn metrics(&self) -> Metrics;
    /// Closes the workers' side (not the blocking pool: see `Handle::close`).
    fn close(&self) -> bool;
    /// Waits at most `timeout` (`None`: no limit) for every worker to exit.
    fn wait_for_workers(&self, timeout: Option<Duration>) -> bool;
    /// Workers still running.
    fn running(&self) -> usize;
    /// The drain (`scheduler/drain.rs`).
    fn drain(&self, running: usize);
}

impl<Q: Queue> AnyShared for Arc<Shared<Q>> {
    #[inline]
    fn schedule(&self, runnable: Runnable, priority: Priority, yielded: bool, worker: Option<usize>) {
        Shared::schedule(self, runnable, priority, yielded, worker);
    }
    fn metrics(&self) -> Metrics {
        Shared::metrics(self)
    }
    fn close(&self) -> bool {
        Shared::close(self)
    }
    fn wait_for_workers(&self, timeout: Option<Duration>) -> bool {
        self.exit.wait(timeout)
    }
    fn running(&self) -> usize {
        self.exit.count()
    }
    fn drain(&self, running: usize) {
        Shared::drain(self, running);
    }
}

/// Where the runnables of one runtime and one priority go: what a task's
/// schedule function holds (the priority with it, so that a `Runnable`
/// need not carry one).
pub(crate) struct Scheduler {
    pub(crate) books: Arc<Books>,
    priority: Priority,
    shared: Box<dyn AnyShared>,
}

impl Scheduler {
    /// Queues `runnable`: `worker` is this thread's index among the
    /// runtime's workers (`context::worker_index`).
    #[inline]
    pub(crate) fn schedule(&self, runnable: Runnable, yielded: bool, worker: Option<usize>) {
        self.shared.schedule(runnable, self.priority, yielded, worker);
    }

    /// The schedule function async-task calls on a wake.
    #[inline]
    pub(crate) fn schedule_woken(&self, runnable: Runnable, info: ScheduleInfo) {
        self.schedule(runnable, info.woken_while_running, context::worker_index(self.books.id));
    }
}

/// What every task's schedule function holds: one word (a fat
/// `Arc<dyn ..>` would be two in each of possibly millions of tasks).
pub(crate) type SchedulerRef = std::sync::Arc<Scheduler>;

/// A cloneable, `Send + Sync` handle to a runtime, whatever its queue type.
///
/// A handle that outlives its runtime spawns nothing: the tasks it returns
/// are already cancelled (awaiting them panics with a message that says so;
/// [`Task::fallible`](crate::Task::fallible) yields `None`).
#[derive(Clone)]
pub struct Handle {
    inner: std::sync::Arc<Inner>,
}

/// What a handle points to.
struct Inner {
    /// Indexed by [`Priority::index`].
    schedulers: [SchedulerRef; 2],
    /// The threads that run `spawn_blocking` closures (`blocking.rs`).
    blocking: Pool,
    /// The worker and watcher threads, for shutdown to join.
    threads: Threads,
}

/// The runtime's worker threads (replacements of stalled workers too) and
/// its stall watcher, joined by the first shutdown that sees them exit.
/// A replacement is added under the `workers` lock after a check that the
/// runtime is not closed, so that shutdown (which takes them once the exit
/// latch reached zero) joins it too, or the replacement sees it closed.
///
/// A worker that steps aside for a replacement exits long before shutdown:
/// its thread is joined when a later replacement is added (the watcher
/// takes the finished ones out under the lock and joins them after it), so
/// that an exited thread's stack does not stay mapped. The list holds only
/// the threads that were alive when the last replacement was added, and
/// that one (at most `2 * workers + 1`), however many stalls there were.
#[derive(Default)]
pub(crate) struct Threads {
    pub(crate) workers: Mutex<Vec<thread::JoinHandle<()>>>,
    pub(crate) watcher: Mutex<Option<thread::JoinHandle<()>>>,
    /// Set when a timed shutdown gave up waiting for the workers: the
    /// runtime's drop then does not wait for them either (`runtime.rs`).
    gave_up: AtomicBool,
}

impl Threads {
    /// Takes the handles of the threads that have finished out of
    /// `workers` (the `workers` list, locked), to be joined once the lock
    /// is released.
    #[cfg(not(loom))]
    pub(crate) fn take_finished(workers: &mut Vec<thread::JoinHandle<()>>) -> Vec<thread::JoinHandle<()>> {
        let (finished, running) = std::mem::take(workers).into_iter().partition(|t| t.is_finished());
        *workers = running;
        finished
    }

    /// A timed shutdown gave up waiting for the workers.
    pub(crate) fn give_up(&self) {
        self.gave_up.store(true, Ordering::Relaxed);
    }

    /// Whether a timed shutdown gave up waiting for the workers.
    pub(crate) fn gave_up(&self) -> bool {
        self.gave_up.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("runtime_id", &self.books().id)
            .field("closed", &self.is_shutdown())
            .finish()
    }
}

impl Handle {
    /// The handle of the runtime whose shared state is `shared`, with its
    /// blocking pool (sized by `config`).
    pub(crate) fn new<Q: Queue>(shared: &Arc<Shared<Q>>, config: &Config) -> Self {
        let scheduler = |priority| -> SchedulerRef {
            std::sync::Arc::new(Scheduler {
                books: shared.books.clone(),
                priority,
                shared: Box::new(shared.clone()),
            })
        };
        let blocking = Pool::new(
            shared.books.id,
            config.max_blocking_threads,
            config.blocking_keep_alive,
            &config.thread_name,
        );
        let schedulers = [scheduler(Priority::High), scheduler(Priority::Low)];
        Self { inner: std::sync::Arc::new(Inner { schedulers, blocking, threads: Threads::default() }) }
    }

    /// The handle of the runtime this thread is running a task or a
    /// `block_on` of.
    ///
    /// # Panics
    /// Outside a runtime; see [`Handle::try_current`].
    #[track_caller]
    pub fn current() -> Handle {
        match Self::try_current() {
            Some(handle) => handle,
            None => panic!(
                "runtime_core::Handle::current() called outside a runtime: call it from a task \
                 or from inside Runtime::block_on"
            ),
        }
    }

    /// The current runtime's handle, or `None` outside a runtime.
    pub fn try_current() -> Option<Handle> {
        CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
    }

    /// A snapshot of the runtime's counters.
    pub fn metrics(&self) -> Metrics {
        let mut metrics = self.any().metrics();
        self.inner.blocking.fill(&mut metrics);
        metrics
    }

    /// Whether the runtime has shut down (a spawn would be cancelled at once).
    pub fn is_shutdown(&self) -> bool {
        self.books().is_closed()
    }

    /// The runtime's books.
    pub(crate) fn books(&self) -> &Arc<Books> {
        &self.inner.schedulers[0].books
    }

    /// The runtime's blocking pool.
    pub(crate) fn blocking(&self) -> &Pool {
        &self.inner.blocking
    }

    /// The runtime's worker and watcher threads.
    pub(crate) fn threads(&self) -> &Threads {
        &self.inner.threads
    }

    /// The scheduler for tasks of `priority`.
    pub(crate) fn scheduler(&self, priority: Priority) -> &SchedulerRef {
        &self.inner.schedulers[priority.index()]
    }

    /// The runtime's shared state, for what does not depend on the priority.
    fn any(&self) -> &dyn AnyShared {
        &*self.inner.schedulers[0].shared
    }

    /// A weak handle, which does not keep the runtime's state alive (for
    /// the runtime's own books, which the handle holds).
    pub(crate) fn downgrade(&self) -> WeakHandle {
        WeakHandle(std::sync::Arc::downgrade(&self.inner))
    }
}

/// A [`Handle`] that does not keep its runtime alive.
pub(crate) struct WeakHandle(std::sync::Weak<Inner>);

impl WeakHandle {
    pub(crate) fn upgrade(&self) -> Option<Handle> {
        self.0.upgrade().map(|inner| Handle { inner })
    }
}

crate::sync::thread_locals! {
    /// The runtime that `runtime_core::spawn` targets on this thread.
    static CURRENT: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

/// The current runtime's scheduler for `priority`, if any: all that a spawn
/// needs (one reference count, not the whole handle's).
pub(crate) fn current_scheduler(priority: Priority) -> Option<SchedulerRef> {
    CURRENT.try_with(|c| c.borrow().as_ref().map(|h| h.scheduler(priority).clone())).ok().flatten()
}

/// The driver of the runtime this thread runs a task or a `block_on` of.
///
/// # Panics
/// Outside a runtime, saying so.
#[track_caller]
#[cfg(all(feature = "net", not(loom)))]
pub(crate) fn current_driver() -> std::sync::Arc<crate::io::Driver> {
    match CURRENT.try_with(|c| c.borrow().as_ref().map(|h| h.books().io.clone())).ok().flatten() {
        Some(driver) => driver,
        None => panic!(
            "runtime_core's sockets and AsyncFd must be created from a task or inside \
             Runtime::block_on of a runtime-core runtime (built with the feature `net`)"
        ),
    }
}

/// Makes `handle` current until the guard drops, which restores the
/// previous one.
pub(crate) fn enter_current(handle: Handle) -> CurrentGuard {
    let previous = CURRENT.try_with(|c| c.borrow_mut().replace(handle)).ok().flatten();
    CurrentGuard { previous }
}

/// Undoes [`enter_current`] on drop.
pub(crate) struct CurrentGuard {
    previous: Option<Handle>,
}

impl Drop for CurrentGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let ours = CURRENT.try_with(|c| std::mem::replace(&mut *c.borrow_mut(), previous)).ok().flatten();
        // Dropped outside the borrow: dropping a handle may run destructors.
        drop(ours);
    }
}
