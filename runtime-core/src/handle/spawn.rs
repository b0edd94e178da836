//! The spawn path: [`Handle::spawn`], [`Runtime::spawn`](crate::Runtime::spawn)
//! and the free functions [`spawn`], [`spawn_with`], [`try_spawn_with`] and
//! [`spawn_blocking`] (whose pool is in `blocking.rs`).
//!
//! A spawn from inside a task reads the current runtime's scheduler (one
//! thread-local, one reference count) and this thread's worker index (one
//! more), builds the task in its wrapper, counts it, and queues it with one
//! dynamic call, on the worker's own queues when it is one of the runtime's
//! workers.

use std::{future::Future, panic::Location};

use async_task::WithInfo;

use super::{Handle, SchedulerRef, current_scheduler};
use crate::{
    blocking,
    books::Books,
    context,
    metrics::Counter,
    queue::Priority,
    stall::Located,
    sync::Arc,
    task::{Output, Task, Tracked},
    task_id::{TaskId, TaskMetadata},
};

/// Futures (and `spawn_blocking` closures) of at least this many bytes are
/// boxed on spawn, in the frame of the public function they were passed to.
#[doc(hidden)]
pub const LARGE_FUTURE: usize = 2048;

/// Calls `$spawn($($arg,)* value)` with `$value` boxed (by `Box::pin` for a
/// future, `Box::new` for a closure) if it is large
/// ([`LARGE_FUTURE`]): in the caller's own frame, before the future is moved
/// any further. In debug builds each move is a copy on the stack, and a
/// 1 MiB future passed down through a few frames would overflow a 2 MiB
/// thread stack (async-task would box it too, but only at the bottom of the
/// call chain). Public, hidden, so that the facade's spawns box in their
/// frame with the same rule; not an API.
#[doc(hidden)]
#[macro_export]
macro_rules! __box_if_large {
    ($boxed:path: $value:ident => $spawn:path $(, $arg:expr)*) => {
        if ::core::mem::size_of_val(&$value) >= $crate::LARGE_FUTURE {
            $spawn($($arg,)* $boxed($value))
        } else {
            $spawn($($arg,)* $value)
        }
    };
}

/// Spawns `future` with `scheduler`'s runtime and priority, boxed if large.
macro_rules! spawn_on {
    ($scheduler:expr, $future:ident) => {
        $crate::__box_if_large!(::std::boxed::Box::pin: $future => crate::handle::spawn_sized, $scheduler)
    };
}
pub(crate) use spawn_on;

#[track_caller]
pub(crate) fn spawn_sized<F>(scheduler: SchedulerRef, future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // Feature `tracing`: the task's span (`trace.rs`).
    #[cfg(feature = "tracing")]
    let future = crate::trace::Traced::new(future, Location::caller());
    if scheduler.books.track_locations {
        return spawn_located(scheduler, Located::new(future, Location::caller()));
    }
    spawn_located(scheduler, future)
}

fn spawn_located<F>(scheduler: SchedulerRef, future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let books = scheduler.books.clone();
    // Refused once the runtime is shut down. A spawn that passes this check
    // while shutdown starts is still caught: its push either lands before the
    // drain (which drops it) or sees `drained` and drops it itself.
    let refused = books.is_closed();
    let worker = context::worker_index(books.id);
    let first: *const super::Scheduler = std::sync::Arc::as_ptr(&scheduler);
    let schedule = move |runnable, info| scheduler.schedule_woken(runnable, info);
    let (runnable, task) = build(books, refused, worker, future, WithInfo(schedule));
    if let Some(runnable) = runnable {
        // SAFETY: `first` points into the `Arc` that `schedule` owns, and
        // async-task drops a task's schedule function only when it destroys
        // the task, which no thread can do while a `Task` of it exists: `task`
        // is held here until after this call. So the `Scheduler` is alive
        // for the whole call, as for a wake (async-task's `schedule` keeps
        // the task alive around the call the same way).
        unsafe { &*first }.schedule(runnable, false, worker);
    }
    Task::new(task)
}

/// Spawns `future` inside its task wrapper with `schedule` as its schedule
/// function, and schedules it once: what every spawn shares
/// (`spawn_blocking`'s too). A `refused` spawn (the runtime is closed)
/// drops the future here, counts nothing, and returns a task already
/// cancelled.
pub(crate) fn spawn_tracked<F, S>(books: Arc<Books>, refused: bool, future: F, schedule: S) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: async_task::Schedule<TaskMetadata> + Send + Sync + 'static,
{
    let worker = context::worker_index(books.id);
    let (runnable, task) = build(books, refused, worker, future, schedule);
    if let Some(runnable) = runnable {
        runnable.schedule();
    }
    Task::new(task)
}

/// The task of `future`, counted as spawned in `worker`'s row of the
/// counters, with its `Runnable` to schedule; `None` (the runnable dropped,
/// the task cancelled) if the spawn is `refused`.
fn build<F, S>(
    books: Arc<Books>,
    refused: bool,
    worker: Option<usize>,
    future: F,
    schedule: S,
) -> (Option<crate::queue::Runnable>, async_task::Task<Output<F::Output>, TaskMetadata>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: async_task::Schedule<TaskMetadata> + Send + Sync + 'static,
{
    if !refused {
        books.stats.add_for(worker, Counter::Spawned, 1);
    }
    let tracked = if refused { Tracked::refused(future, books) } else { Tracked::new(future, books) };
    let (runnable, task) = async_task::Builder::new()
        .propagate_panic(true)
        .metadata(TaskMetadata::new(TaskId::next()))
        .spawn(move |_| tracked, schedule);
    if refused {
        // Cancelled at once; awaiting the task says so.
        drop(runnable);
        return (None, task);
    }
    (Some(runnable), task)
}

impl Handle {
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
    #[track_caller]
    pub fn spawn_blocking<F, T>(&self, f: F) -> Task<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        crate::__box_if_large!(Box::new: f => blocking::spawn, self)
    }
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
    match current_scheduler(Priority::Low) {
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
    match current_scheduler(priority) {
        Some(scheduler) => spawn_on!(scheduler, future),
        None => outside_a_runtime(),
    }
}

/// Spawns a task with the given priority onto the current runtime, or
/// hands the future back outside a runtime: for a library (or a facade)
/// that falls back to a runtime of its own.
///
/// ```
/// # use queue_flume::FlumeQueue;
/// use runtime_core::{Priority, try_spawn_with};
///
/// // Outside a runtime: the future comes back.
/// assert!(try_spawn_with(Priority::Low, async { 1 }).is_err());
/// let rt = runtime_core::Runtime::<FlumeQueue>::builder().worker_threads(1).build()?;
/// let two = rt.block_on(async { try_spawn_with(Priority::Low, async { 2 }).ok().unwrap().await });
/// assert_eq!(two, 2);
/// # Ok::<(), runtime_core::BuildError>(())
/// ```
#[track_caller]
pub fn try_spawn_with<F>(priority: Priority, future: F) -> Result<Task<F::Output>, F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match current_scheduler(priority) {
        Some(scheduler) => Ok(spawn_on!(scheduler, future)),
        None => Err(future),
    }
}

/// Runs the blocking closure `f` on the current runtime's pool of blocking
/// threads, so that it never holds up a worker: for synchronous file or
/// network I/O, a DNS lookup, a CPU-heavy step, a lock held across a slow
/// call.
///
/// The returned [`Task`] is like any other: await it for `f`'s result (a
/// panic in `f` resumes in the awaiter and is counted in
/// [`Metrics::panicked`](crate::Metrics::panicked)), or
/// [`detach`](Task::detach) it. Dropping it cancels `f` only if `f` has not
/// started: a running closure cannot be interrupted. Threads start on
/// demand, up to
/// [`Builder::max_blocking_threads`](crate::Builder::max_blocking_threads)
/// at once (more closures wait in a queue), and exit after
/// [`Builder::blocking_keep_alive`](crate::Builder::blocking_keep_alive)
/// idle. At shutdown, closures that have not started are dropped (their
/// `Task`s report cancellation) and running ones are detached; only
/// `shutdown_timeout` waits for them, within its timeout. Inside `f`,
/// [`spawn`] and [`Handle::current`] target this runtime. The closure counts
/// as a task in [`Metrics`](crate::Metrics) (`spawned`, `completed`, ...),
/// and the pool's state shows in `Metrics::blocking_threads` and
/// `blocking_queued`.
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
    match Handle::try_current() {
        Some(handle) => handle.spawn_blocking(f),
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
