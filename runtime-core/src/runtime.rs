//! [`Runtime`]: owns the worker threads, and shuts them down.

use std::{fmt, future::Future, time::Duration};

use crate::{
    block_on::block_on,
    builder::{BuildError, Builder},
    config::Config,
    context,
    handle::{Handle, enter_current, spawn_on},
    metrics::Metrics,
    queue::{Priority, Queue},
    scheduler::Shared,
    sync::{Arc, thread},
    task::Task,
    worker,
};

/// A pool of worker threads that runs spawned tasks, with its queue backend `Q`.
///
/// ```
/// use queue_flume::FlumeQueue;
/// use runtime_core::{Priority, Runtime};
///
/// let rt = Runtime::<FlumeQueue>::builder().worker_threads(2).build()?;
/// let answer = rt.spawn(async { 6 * 7 });
/// let urgent = rt.spawn_with(Priority::High, async { "first" });
/// assert_eq!(rt.block_on(async { (answer.await, urgent.await) }), (42, "first"));
///
/// // Tasks can spawn more tasks with `runtime_core::spawn`.
/// let sum = rt.block_on(async {
///     let tasks: Vec<_> = (1..=10).map(|i| runtime_core::spawn(async move { i })).collect();
///     let mut sum = 0;
///     for task in tasks {
///         sum += task.await;
///     }
///     sum
/// });
/// assert_eq!(sum, 55);
/// // Dropping the runtime cancels what is still pending and joins the workers.
/// # Ok::<(), runtime_core::BuildError>(())
/// ```
pub struct Runtime<Q: Queue> {
    shared: Arc<Shared<Q>>,
    handle: Handle,
    /// Set by the first shutdown (explicit or in `drop`): the runtime may
    /// also have been *closed* by a dying worker, which joins nothing.
    shut_down: bool,
}

impl<Q: Queue> fmt::Debug for Runtime<Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("queue", &std::any::type_name::<Q>())
            .field("shared", &self.shared)
            .finish_non_exhaustive()
    }
}

fn next_runtime_id() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl<Q: Queue> Runtime<Q> {
    /// A runtime with the defaults: `Builder::new().build()`.
    pub fn new() -> Result<Self, BuildError> {
        Builder::new().build()
    }

    /// A builder to configure a runtime.
    pub fn builder() -> Builder<Q> {
        Builder::new()
    }

    /// Starts the worker threads, with settings the [`Builder`] has checked.
    pub(crate) fn start(config: Config) -> Result<Self, BuildError> {
        let workers = config.workers;
        let shared = Arc::new(Shared::<Q>::new(next_runtime_id(), &config));
        let handle = Handle::new(&shared, &config);
        // For `PanicPolicy::ShutdownRuntime`: the handle's close (the
        // workers' side and the blocking pool). Held weakly, since the books
        // live inside the handle.
        let weak = handle.downgrade();
        shared.books.set_closer(move || {
            if let Some(handle) = weak.upgrade() {
                handle.close();
            }
        });
        for index in 0..workers {
            let name = format!("{}-{index}", config.thread_name);
            let (worker_shared, worker_handle) = (shared.clone(), handle.clone());
            let spawned = thread::Builder::new()
                .name(name.clone())
                .spawn(move || worker::run(worker_shared, index, worker_handle, None));
            match spawned {
                Ok(thread) => handle.threads().workers.lock().push(thread),
                Err(error) => {
                    // Stop the workers already started; the ones never started
                    // still count on the exit latch, so count them out here.
                    let runtime = Runtime { shared, handle, shut_down: false };
                    for _ in index..workers {
                        runtime.shared.exit.count_down();
                    }
                    drop(runtime);
                    return Err(BuildError::spawn(name, error));
                }
            }
        }
        #[cfg(not(loom))]
        if config.stall_threshold.is_some() {
            let (watcher_shared, watcher_handle, prefix) =
                (shared.clone(), handle.clone(), config.thread_name.clone());
            // Not "{prefix}-…": that names the workers.
            let name = format!("{}.watch", config.thread_name);
            let spawned = thread::Builder::new()
                .name(name.clone())
                .spawn(move || crate::watcher::run(watcher_shared, watcher_handle, prefix));
            match spawned {
                Ok(watcher) => *handle.threads().watcher.lock() = Some(watcher),
                Err(error) => {
                    drop(Runtime { shared, handle, shut_down: false });
                    return Err(BuildError::spawn(name, error));
                }
            }
        }
        Ok(Runtime { shared, handle, shut_down: false })
    }

    /// Spawns a `Low`-priority task. Await the returned [`Task`] for its
    /// output; drop it to cancel the task, or `detach()` it.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_on!(self.handle.scheduler(Priority::Low).clone(), future)
    }

    /// Spawns a task with the given priority.
    #[track_caller]
    pub fn spawn_with<F>(&self, priority: Priority, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_on!(self.handle.scheduler(priority).clone(), future)
    }

    /// Runs the blocking closure `f` on the runtime's blocking pool, not on
    /// a worker; see [`spawn_blocking`](crate::spawn_blocking).
    pub fn spawn_blocking<F, T>(&self, f: F) -> Task<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.handle.spawn_blocking(f)
    }

    /// Drives `future` to completion on the calling thread, while the workers
    /// run spawned tasks. Inside it, [`spawn`](crate::spawn) targets this runtime.
    ///
    /// # Panics
    /// If called from a worker thread of any runtime, or from inside another
    /// `block_on`: blocking there could deadlock, so it panics instead, with a
    /// message that points at the caller.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        if context::is_worker() {
            panic!(
                "Runtime::block_on called from a runtime worker thread: blocking a worker \
                 could deadlock the runtime; `.await` the future instead, or spawn it"
            );
        }
        if context::in_block_on() {
            panic!(
                "Runtime::block_on called inside another block_on on the same thread: \
                 the outer future could never be polled again; `.await` the future instead"
            );
        }
        let _current = enter_current(self.handle.clone());
        let _block_on = context::enter_block_on();
        block_on(future)
    }

    /// A cloneable, type-erased handle to this runtime.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// A snapshot of the runtime's counters.
    pub fn metrics(&self) -> Metrics {
        self.handle.metrics()
    }

    /// Shuts the runtime down, waiting at most `timeout` for the workers to
    /// finish the polls they are in, and within the same deadline for the
    /// [`spawn_blocking`](crate::spawn_blocking) closures already running
    /// (closures not started yet are dropped; dropping the runtime does not
    /// wait for running ones at all: they are detached).
    ///
    /// What it guarantees when it returns:
    /// - no task is polled again, and spawns are refused (their `Task`s
    ///   report cancellation);
    /// - if every worker exited within `timeout`, every future of the runtime
    ///   has been dropped, exactly as when the runtime is dropped;
    /// - otherwise (a task blocks inside its poll, or `timeout` is zero and
    ///   the workers had not exited yet) the worker threads are detached, and
    ///   every future has been dropped except those that the workers still
    ///   running hold: the task each is polling, or a batch it is moving
    ///   between queues. Each of those is dropped by that worker as soon as
    ///   that step ends (a poll that never returns keeps its future). See
    ///   "What shutdown promises" in the scheduler's docs for the one race
    ///   this cannot rule out;
    /// - a blocking closure still running when the deadline passes keeps its
    ///   thread until it returns; its output is dropped unless its `Task` is
    ///   still awaited.
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.shutdown(Some(timeout));
    }

    fn shutdown(&mut self, timeout: Option<Duration>) {
        self.shut_down = true;
        self.handle.shutdown_within(timeout);
    }
}

impl<Q: Queue> Drop for Runtime<Q> {
    /// Shuts the runtime down and waits for its workers, without limit;
    /// but once a [`Handle::shutdown_timeout`] has given up on workers still
    /// running, not again: the drop then drains what it can and returns,
    /// as that call did, and those workers stay detached (what
    /// [`Runtime::shutdown_timeout`] says when it gives up holds).
    fn drop(&mut self) {
        if !self.shut_down {
            let timeout = self.handle.threads().gave_up().then_some(Duration::ZERO);
            self.shutdown(timeout);
        }
    }
}
