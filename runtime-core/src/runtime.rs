//! The public face: [`Builder`], [`Runtime`], [`Handle`], `spawn`, `block_on`.

use std::{
    env, fmt,
    future::Future,
    io,
    marker::PhantomData,
    pin::pin,
    task::{Context, Poll, Wake, Waker},
    time::Duration,
};

use async_task::{ScheduleInfo, WithInfo};

use crate::{
    context,
    metrics::{Counter, Metrics},
    queue::{Priority, Queue, Runnable},
    scheduler::{Core, Shared},
    sync::{Arc, Mutex, Parker, thread},
    task::{Task, Tracked},
    worker,
};

/// Spawns `future` as a task whose schedule function is `scheduler`.
///
/// A macro rather than a function so that every public `spawn` boxes a large
/// future in its own frame, before the future is moved any further: in debug
/// builds each move is a copy on the stack, and a 1 MiB future passed down
/// through a few frames would overflow a 2 MiB thread stack. (async-task would
/// box it too, but only at the bottom of the call chain.)
macro_rules! spawn_on {
    ($scheduler:expr, $future:ident) => {
        if std::mem::size_of_val(&$future) >= LARGE_FUTURE {
            spawn_sized($scheduler, Box::pin($future))
        } else {
            spawn_sized($scheduler, $future)
        }
    };
}

/// The environment variable that sets the default number of worker threads.
pub const WORKER_THREADS_ENV: &str = "RUNTIME_WORKER_THREADS";

/// The most worker threads a runtime accepts.
pub const MAX_WORKER_THREADS: usize = 1024;

/// Why a runtime could not be built.
#[derive(Debug)]
pub struct BuildError {
    kind: BuildErrorKind,
}

#[derive(Debug)]
enum BuildErrorKind {
    /// A setting had a value the runtime cannot use.
    Invalid { setting: String, value: String, expected: &'static str },
    /// The OS refused to start a worker thread.
    Spawn { name: String, error: io::Error },
}

impl BuildError {
    fn invalid(setting: impl Into<String>, value: impl Into<String>, expected: &'static str) -> Self {
        Self { kind: BuildErrorKind::Invalid { setting: setting.into(), value: value.into(), expected } }
    }

    /// The setting that was wrong (`"worker_threads"`, `"RUNTIME_WORKER_THREADS"`,
    /// `"thread_name"`), or `None` if the error is not about a setting.
    pub fn setting(&self) -> Option<&str> {
        match &self.kind {
            BuildErrorKind::Invalid { setting, .. } => Some(setting),
            BuildErrorKind::Spawn { .. } => None,
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            BuildErrorKind::Invalid { setting, value, expected } => {
                write!(f, "invalid {setting} = {value:?}: expected {expected}")
            }
            BuildErrorKind::Spawn { name, error } => {
                write!(f, "could not start worker thread {name:?}: {error}")
            }
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            BuildErrorKind::Spawn { error, .. } => Some(error),
            BuildErrorKind::Invalid { .. } => None,
        }
    }
}

const WORKERS_EXPECTED: &str = "a whole number of worker threads from 1 to 1024";

fn check_workers(setting: &str, value: &str, n: Option<usize>) -> Result<usize, BuildError> {
    match n {
        Some(n) if (1..=MAX_WORKER_THREADS).contains(&n) => Ok(n),
        _ => Err(BuildError::invalid(setting, value, WORKERS_EXPECTED)),
    }
}

/// Configures and builds a [`Runtime`].
///
/// Defaults: as many workers as [`std::thread::available_parallelism`]
/// reports, unless the environment variable `RUNTIME_WORKER_THREADS` says
/// otherwise; explicit calls win over both.
///
/// ```
/// use queue_crossbeam::CrossbeamQueue;
/// use runtime_core::Runtime;
///
/// let rt = Runtime::<CrossbeamQueue>::builder()
///     .worker_threads(2)
///     .thread_name("my-pool")
///     .build()?;
/// assert_eq!(rt.metrics().worker_threads, 2);
/// # Ok::<(), runtime_core::BuildError>(())
/// ```
pub struct Builder<Q: Queue> {
    /// From `worker_threads()`: wins over the environment.
    worker_threads: Option<usize>,
    thread_name: String,
    _queue: PhantomData<fn() -> Q>,
}

impl<Q: Queue> fmt::Debug for Builder<Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("worker_threads", &self.worker_threads)
            .field("thread_name", &self.thread_name)
            .field("queue", &std::any::type_name::<Q>())
            .finish()
    }
}

impl<Q: Queue> Default for Builder<Q> {
    fn default() -> Self {
        Self::new()
    }
}

impl<Q: Queue> Builder<Q> {
    /// A builder with the defaults (see the type docs).
    pub fn new() -> Self {
        Self { worker_threads: None, thread_name: "runtime-worker".to_owned(), _queue: PhantomData }
    }

    /// Sets the number of worker threads (1 to [`MAX_WORKER_THREADS`]).
    /// Overrides `RUNTIME_WORKER_THREADS`.
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = Some(n);
        self
    }

    /// Sets the prefix of the worker threads' names; worker `i` is named
    /// `"{prefix}-{i}"`.
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Self {
        self.thread_name = prefix.into();
        self
    }

    /// The worker count this builder would use, or why it is invalid.
    fn resolve_workers(&self) -> Result<usize, BuildError> {
        if let Some(n) = self.worker_threads {
            return check_workers("worker_threads", &n.to_string(), Some(n));
        }
        match env::var(WORKER_THREADS_ENV) {
            Ok(value) => check_workers(WORKER_THREADS_ENV, &value, value.trim().parse().ok()),
            Err(env::VarError::NotPresent) => {
                Ok(std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_WORKER_THREADS))
            }
            Err(env::VarError::NotUnicode(value)) => Err(BuildError::invalid(
                WORKER_THREADS_ENV,
                value.to_string_lossy().into_owned(),
                WORKERS_EXPECTED,
            )),
        }
    }

    /// Starts the worker threads.
    pub fn build(self) -> Result<Runtime<Q>, BuildError> {
        let workers = self.resolve_workers()?;
        if self.thread_name.contains('\0') {
            return Err(BuildError::invalid("thread_name", self.thread_name, "a name without NUL bytes"));
        }
        let id = next_runtime_id();
        let shared = Arc::new(Shared::<Q>::new(id, workers));
        let handle = Handle {
            schedulers: [Priority::High, Priority::Low].map(|priority| {
                SchedulerRef::new(ErasedScheduler(Box::new(Scheduler { shared: shared.clone(), priority })))
            }),
        };
        let mut threads = Vec::with_capacity(workers);
        for index in 0..workers {
            let name = format!("{}-{index}", self.thread_name);
            let (worker_shared, worker_handle) = (shared.clone(), handle.clone());
            let spawned = thread::Builder::new()
                .name(name.clone())
                .spawn(move || worker::run(worker_shared, index, worker_handle));
            match spawned {
                Ok(thread) => threads.push(thread),
                Err(error) => {
                    // Stop the workers already started; the ones never started
                    // still count on the exit latch, so count them out here.
                    let runtime = Runtime { shared, handle, threads: Mutex::new(threads) };
                    for _ in index..workers {
                        runtime.shared.exit.count_down();
                    }
                    drop(runtime);
                    return Err(BuildError { kind: BuildErrorKind::Spawn { name, error } });
                }
            }
        }
        Ok(Runtime { shared, handle, threads: Mutex::new(threads) })
    }
}

fn next_runtime_id() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

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
    threads: Mutex<Vec<thread::JoinHandle<()>>>,
}

impl<Q: Queue> fmt::Debug for Runtime<Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("queue", &std::any::type_name::<Q>())
            .field("shared", &self.shared)
            .finish_non_exhaustive()
    }
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

    /// Spawns a `Low`-priority task. Await the returned [`Task`] for its
    /// output; drop it to cancel the task, or `detach()` it.
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_on!(self.handle.scheduler(Priority::Low).clone(), future)
    }

    /// Spawns a task with the given priority.
    pub fn spawn_with<F>(&self, priority: Priority, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_on!(self.handle.scheduler(priority).clone(), future)
    }

    /// Drives `future` to completion on the calling thread, while the workers
    /// run spawned tasks. Inside it, [`spawn`](crate::spawn) targets this runtime.
    ///
    /// # Panics
    /// If called from a worker thread of any runtime, or from inside another
    /// `block_on`: blocking there could deadlock, so it panics instead.
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
        let _guard = context::enter_block_on(self.handle.clone());
        block_on(future)
    }

    /// A cloneable, type-erased handle to this runtime.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// A snapshot of the runtime's counters.
    pub fn metrics(&self) -> Metrics {
        self.shared.metrics()
    }

    /// Shuts the runtime down, waiting at most `timeout` for workers to
    /// finish the tasks they are polling. Tasks still pending are dropped;
    /// a worker stuck in a task that never yields is left to finish on its
    /// own (it exits as soon as that poll returns).
    pub fn shutdown_timeout(self, timeout: Duration) {
        self.shutdown(Some(timeout));
    }

    fn shutdown(&self, timeout: Option<Duration>) {
        let threads = std::mem::take(&mut *self.threads.lock());
        self.shared.close();
        if context::is_worker() {
            // Dropped on a worker thread: one of ours cannot wait for itself,
            // and another runtime's worker must not block on us (its tasks
            // may be what ours wait for). The last worker out drains.
            drop(threads);
            return;
        }
        if self.shared.exit.wait(timeout) {
            for thread in threads {
                // Workers catch task panics; a join error would be a bug in
                // the runtime itself, which shutdown must not turn into a panic.
                let _ = thread.join();
            }
        }
        // Idempotent: the last worker out also drains.
        let _current = context::enter_current(self.handle.clone());
        self.shared.drain();
    }
}

impl<Q: Queue> Drop for Runtime<Q> {
    fn drop(&mut self) {
        if !self.shared.is_closed() {
            self.shutdown(None);
        }
    }
}

/// What a [`Handle`] erases: the queue type.
pub(crate) trait Spawner: Send + Sync + 'static {
    fn core(&self) -> &Arc<Core>;
    fn schedule(&self, runnable: Runnable, info: ScheduleInfo);
    fn metrics(&self) -> Metrics;
    fn is_closed(&self) -> bool;
}

/// What every task's schedule function holds: a one-word pointer (an
/// `Arc<dyn Spawner>` would be two words in each of possibly millions of
/// tasks; the price is one more pointer hop per schedule, to a line that
/// the reference count keeps hot anyway).
pub(crate) type SchedulerRef = std::sync::Arc<ErasedScheduler>;

/// A [`Spawner`] of any queue type, behind a thin pointer.
pub(crate) struct ErasedScheduler(Box<dyn Spawner>);

impl std::ops::Deref for ErasedScheduler {
    type Target = dyn Spawner;
    fn deref(&self) -> &(dyn Spawner + 'static) {
        &*self.0
    }
}

/// One per runtime and priority: the schedule function of a task holds the
/// one of its priority, so the `Runnable` need not carry it.
struct Scheduler<Q> {
    shared: Arc<Shared<Q>>,
    priority: Priority,
}

impl<Q: Queue> Spawner for Scheduler<Q> {
    fn core(&self) -> &Arc<Core> {
        &self.shared.core
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
}

/// Futures of at least this many bytes are boxed on spawn.
const LARGE_FUTURE: usize = 2048;

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
            .field("runtime_id", &self.any().core().id)
            .field("closed", &self.is_shutdown())
            .finish()
    }
}

impl Handle {
    /// The handle of the runtime this thread is running a task or a
    /// `block_on` of.
    ///
    /// # Panics
    /// Outside a runtime; see [`Handle::try_current`].
    pub fn current() -> Handle {
        Self::try_current().unwrap_or_else(|| {
            panic!(
                "runtime_core::Handle::current() called outside a runtime: call it from a task \
                 or from inside Runtime::block_on"
            )
        })
    }

    /// The current runtime's handle, or `None` outside a runtime.
    pub fn try_current() -> Option<Handle> {
        context::current()
    }

    /// Spawns a `Low`-priority task on this handle's runtime.
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_on!(self.scheduler(Priority::Low).clone(), future)
    }

    /// Spawns a task with the given priority on this handle's runtime.
    pub fn spawn_with<F>(&self, priority: Priority, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_on!(self.scheduler(priority).clone(), future)
    }

    /// A snapshot of the runtime's counters.
    pub fn metrics(&self) -> Metrics {
        self.any().metrics()
    }

    /// Whether the runtime has shut down (a spawn would be cancelled at once).
    pub fn is_shutdown(&self) -> bool {
        self.any().is_closed()
    }

    /// Either scheduler, for what does not depend on the priority.
    fn any(&self) -> &dyn Spawner {
        &**self.schedulers[0]
    }

    /// The scheduler for tasks of `priority`.
    pub(crate) fn scheduler(&self, priority: Priority) -> &SchedulerRef {
        &self.schedulers[priority.index()]
    }
}

fn spawn_sized<F>(scheduler: SchedulerRef, future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // Refused once the runtime is shut down. A spawn that passes this check
    // while shutdown starts is still caught: its push either lands before the
    // drain (which drops it) or sees `drained` and drops it itself.
    let refused = scheduler.is_closed();
    let core = scheduler.core();
    let tracked =
        if refused { Tracked::refused(future, core.clone()) } else { Tracked::new(future, core.clone()) };
    if !refused {
        core.stats.bump(Counter::Spawned);
    }
    let schedule = move |runnable, info| scheduler.schedule(runnable, info);
    let (runnable, task) =
        async_task::Builder::new().propagate_panic(true).spawn(move |()| tracked, WithInfo(schedule));
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
/// Outside a runtime, with a message that says so.
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
/// Outside a runtime, with a message that says so.
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

#[cold]
fn outside_a_runtime() -> ! {
    panic!(
        "runtime_core::spawn called outside a runtime: call it from a task or from inside \
         Runtime::block_on, or use Runtime::spawn / Handle::spawn"
    )
}

/// Yields once: the task goes to the back of its worker's queue so that
/// others run first.
pub async fn yield_now() {
    struct YieldNow(bool);
    impl Future for YieldNow {
        type Output = ();
        fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
    YieldNow(false).await
}

/// Wakes the thread in `block_on` through the facade's parker (so that loom
/// can model `block_on` too, which `futures_lite::future::block_on` cannot).
struct BlockOnWaker {
    parker: Parker,
}

impl Wake for BlockOnWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.parker.unpark();
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.parker.unpark();
    }
}

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker_state = std::sync::Arc::new(BlockOnWaker { parker: Parker::new() });
    let waker = Waker::from(waker_state.clone());
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        waker_state.parker.park();
    }
}
