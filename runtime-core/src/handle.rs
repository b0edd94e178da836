//! The type-erased [`Handle`], the spawn path, and the free functions
//! [`spawn`], [`spawn_with`] and [`spawn_blocking`] (whose pool is in
//! `blocking.rs`).
//!
//! # Type erasure
//! A [`Runtime<Q>`](crate::Runtime) knows its queue type; a `Handle`, a task's
//! schedule function and the thread-local "current runtime" must not. The one
//! idea, a *scheduler* (where a runnable of one runtime and one priority
//! goes), has three names in code:
//! - [`Scheduler`]: the object-safe trait, what everything above the queues
//!   sees;
//! - [`TypedScheduler<Q>`]: its only implementation, which knows `Q`;
//! - [`SchedulerRef`]: the pointer every task's schedule function holds.

use std::{fmt, future::Future, time::Duration};

use async_task::{ScheduleInfo, WithInfo};

use crate::{
    blocking, context,
    metrics::{Counter, Metrics},
    queue::{Priority, Queue, Runnable},
    scheduler::{Books, Shared},
    sync::Arc,
    task::{Task, Tracked},
    task_id::{TaskId, TaskMetadata},
};

/// Where the runnables of one runtime and one priority go, whatever the
/// runtime's queue type.
pub(crate) trait Scheduler: Send + Sync + 'static {
    /// The queue-independent part of the runtime: what a task's wrapper holds.
    fn books(&self) -> &Arc<Books>;
    /// The schedule function: queue `runnable` and notify.
    fn schedule(&self, runnable: Runnable, info: ScheduleInfo);
    fn metrics(&self) -> Metrics;
    fn is_closed(&self) -> bool;
    /// Closes the runtime, waits at most `timeout` for its workers and joins
    /// them, drains with `handle` current.
    fn shutdown(&self, handle: &Handle, timeout: Option<Duration>);
}

/// What every task's schedule function holds: a one-word pointer (an
/// `Arc<dyn Scheduler>` would be two words in each of possibly millions of
/// tasks; the price is one more pointer hop per schedule, to a line that
/// the reference count keeps hot anyway).
pub(crate) type SchedulerRef = std::sync::Arc<Box<dyn Scheduler>>;

/// The [`Scheduler`] of a runtime with queue type `Q`, for one priority: the
/// schedule function of a task holds the one of its priority, so the
/// `Runnable` need not carry it.
pub(crate) struct TypedScheduler<Q> {
    pub(crate) shared: Arc<Shared<Q>>,
    pub(crate) priority: Priority,
}

impl<Q: Queue> Scheduler for TypedScheduler<Q> {
    fn books(&self) -> &Arc<Books> {
        &self.shared.books
    }
    fn schedule(&self, runnable: Runnable, info: ScheduleInfo) {
        self.shared.schedule(runnable, info, self.priority);
    }
    fn metrics(&self) -> Metrics {
        self.shared.metrics()
    }
    fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }
    fn shutdown(&self, handle: &Handle, timeout: Option<Duration>) {
        self.shared.shutdown(handle, timeout);
    }
}

/// A cloneable, `Send + Sync` handle to a runtime, whatever its queue type.
///
/// A handle that outlives its runtime spawns nothing: the tasks it returns
/// are already cancelled (awaiting them panics with a message that says so;
/// [`Task::fallible`] yields `None`).
#[derive(Clone)]
pub struct Handle {
    /// Indexed by [`Priority::index`].
    schedulers: [SchedulerRef; 2],
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("runtime_id", &self.any().books().id)
            .field("closed", &self.is_shutdown())
            .finish()
    }
}

impl Handle {
    /// The handle of the runtime whose shared state is `shared`.
    pub(crate) fn new<Q: Queue>(shared: &Arc<Shared<Q>>) -> Self {
        Self {
            schedulers: [Priority::High, Priority::Low].map(|priority| -> SchedulerRef {
                std::sync::Arc::new(Box::new(TypedScheduler { shared: shared.clone(), priority }))
            }),
        }
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
        context::current()
    }

    /// Spawns a `Low`-priority task on this handle's runtime.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_on!(self.scheduler(Priority::Low).clone(), future)
    }

    /// Spawns a task with the given priority on this handle's runtime.
    #[track_caller]
    pub fn spawn_with<F>(&self, priority: Priority, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_on!(self.scheduler(priority).clone(), future)
    }

    /// Runs the blocking closure `f` on the runtime's blocking pool, not on
    /// a worker; see [`spawn_blocking`].
    pub fn spawn_blocking<F, T>(&self, f: F) -> Task<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        blocking::spawn(self, f)
    }

    /// A snapshot of the runtime's counters.
    pub fn metrics(&self) -> Metrics {
        self.any().metrics()
    }

    /// Shuts the runtime down from any handle: for a runtime that nobody
    /// can drop, such as one in a `static`. Like dropping the runtime, it
    /// cancels every task, waits for the workers to exit and joins them, and
    /// when it returns every future has been dropped (a
    /// [`spawn_blocking`] closure already running is detached, not waited
    /// for). On a worker thread it
    /// cannot wait: it closes the runtime and the last worker out drains.
    /// Calling it again, or dropping the runtime afterwards, is harmless.
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
        self.any().shutdown(self, None);
    }

    /// Like [`Handle::shutdown`], waiting at most `timeout` for the workers:
    /// what it guarantees when it gives up is what
    /// [`Runtime::shutdown_timeout`](crate::Runtime::shutdown_timeout) says.
    pub fn shutdown_timeout(&self, timeout: Duration) {
        self.any().shutdown(self, Some(timeout));
    }

    /// Whether the runtime has shut down (a spawn would be cancelled at once).
    pub fn is_shutdown(&self) -> bool {
        self.any().is_closed()
    }

    /// The runtime's books (its counters and its blocking pool).
    pub(crate) fn books(&self) -> &Arc<Books> {
        self.any().books()
    }

    /// Either scheduler, for what does not depend on the priority.
    fn any(&self) -> &dyn Scheduler {
        &**self.schedulers[0]
    }

    /// The scheduler for tasks of `priority`.
    pub(crate) fn scheduler(&self, priority: Priority) -> &SchedulerRef {
        &self.schedulers[priority.index()]
    }
}

/// Futures of at least this many bytes are boxed on spawn.
pub(crate) const LARGE_FUTURE: usize = 2048;

/// Spawns `future` as a task whose schedule function is `scheduler`.
///
/// A macro rather than a function so that every public `spawn` boxes a large
/// future in its own frame, before the future is moved any further: in debug
/// builds each move is a copy on the stack, and a 1 MiB future passed down
/// through a few frames would overflow a 2 MiB thread stack. (async-task would
/// box it too, but only at the bottom of the call chain.)
macro_rules! spawn_on {
    ($scheduler:expr, $future:ident) => {
        if std::mem::size_of_val(&$future) >= crate::handle::LARGE_FUTURE {
            crate::handle::spawn_sized($scheduler, Box::pin($future))
        } else {
            crate::handle::spawn_sized($scheduler, $future)
        }
    };
}
pub(crate) use spawn_on;

#[track_caller]
pub(crate) fn spawn_sized<F>(scheduler: SchedulerRef, future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    if scheduler.books().track_locations {
        let located = crate::stall::Located::new(future, std::panic::Location::caller());
        return spawn_located(scheduler, located);
    }
    spawn_located(scheduler, future)
}

fn spawn_located<F>(scheduler: SchedulerRef, future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // Refused once the runtime is shut down. A spawn that passes this check
    // while shutdown starts is still caught: its push either lands before the
    // drain (which drops it) or sees `drained` and drops it itself.
    let refused = scheduler.is_closed();
    let books = scheduler.books().clone();
    let schedule = move |runnable, info| scheduler.schedule(runnable, info);
    spawn_tracked(books, refused, future, WithInfo(schedule))
}

/// Spawns `future` inside its task wrapper with `schedule` as its schedule
/// function: what every spawn shares (`spawn_blocking`'s too). A `refused`
/// spawn (the runtime is closed) drops the future here, counts nothing, and
/// returns a task already cancelled.
pub(crate) fn spawn_tracked<F, S>(books: Arc<Books>, refused: bool, future: F, schedule: S) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: async_task::Schedule<TaskMetadata> + Send + Sync + 'static,
{
    if !refused {
        books.stats.bump(Counter::Spawned);
    }
    let tracked = if refused { Tracked::refused(future, books) } else { Tracked::new(future, books) };
    let (runnable, task) = async_task::Builder::new()
        .propagate_panic(true)
        .metadata(TaskMetadata::new(TaskId::next()))
        .spawn(move |_| tracked, schedule);
    if refused {
        // Cancelled at once; awaiting the task says so.
        drop(runnable);
    } else {
        runnable.schedule();
    }
    Task::new(task)
}

/// Spawns a `Low`-priority task onto the runtime of the calling task or
/// `block_on`.
///
/// # Panics
/// Outside a runtime, with a message that says so and points at the caller.
#[track_caller]
pub fn spawn<F>(future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match context::scheduler(Priority::Low) {
        Some(scheduler) => spawn_on!(scheduler, future),
        None => outside_a_runtime(),
    }
}

/// Spawns a task with the given priority onto the current runtime, like [`spawn`].
///
/// # Panics
/// Outside a runtime, with a message that says so and points at the caller.
#[track_caller]
pub fn spawn_with<F>(priority: Priority, future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match context::scheduler(priority) {
        Some(scheduler) => spawn_on!(scheduler, future),
        None => outside_a_runtime(),
    }
}

/// Runs the blocking closure `f` on the current runtime's pool of blocking
/// threads, so that it never holds up a worker: for synchronous file or
/// network I/O, a DNS lookup, a CPU-heavy step, a lock held across a slow
/// call.
///
/// The returned [`Task`] is like any other: await it for `f`'s result (a
/// panic in `f` resumes in the awaiter and is counted in
/// [`Metrics::panicked`]), or [`detach`](Task::detach) it. Dropping it
/// cancels `f` only if `f` has not started: a running closure cannot be
/// interrupted. Threads start on demand, up to
/// [`Builder::max_blocking_threads`](crate::Builder::max_blocking_threads)
/// at once (more closures wait in a queue), and exit after
/// [`Builder::blocking_keep_alive`](crate::Builder::blocking_keep_alive)
/// idle. At shutdown, closures that have not started are dropped (their
/// `Task`s report cancellation) and running ones are detached; only
/// `shutdown_timeout` waits for them, within its timeout. Inside `f`,
/// [`spawn`] and [`Handle::current`] target this runtime. The closure counts
/// as a task in [`Metrics`] (`spawned`, `completed`, ...), and the pool's
/// state shows in `Metrics::blocking_threads` and `blocking_queued`.
///
/// ```
/// # use queue_flume::FlumeQueue;
/// # use runtime_core::Runtime;
/// let rt = Runtime::<FlumeQueue>::builder().worker_threads(1).build()?;
/// let len = rt.block_on(async {
///     runtime_core::spawn_blocking(|| std::fs::read_to_string("Cargo.toml").map(|s| s.len())).await
/// });
/// assert!(len.unwrap() > 0);
/// # Ok::<(), runtime_core::BuildError>(())
/// ```
///
/// # Panics
/// Outside a runtime, with a message that says so and points at the caller.
#[track_caller]
pub fn spawn_blocking<F, T>(f: F) -> Task<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match context::current() {
        Some(handle) => blocking::spawn(&handle, f),
        None => panic!(
            "runtime_core::spawn_blocking called outside a runtime: call it from a task or from \
             inside Runtime::block_on, or use Runtime::spawn_blocking / Handle::spawn_blocking"
        ),
    }
}

#[cold]
#[track_caller]
fn outside_a_runtime() -> ! {
    panic!(
        "runtime_core::spawn called outside a runtime: call it from a task or from inside \
         Runtime::block_on, or use Runtime::spawn / Handle::spawn"
    )
}
