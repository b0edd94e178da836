//! The global runtime behind the free [`spawn`], [`spawn_with`] and
//! [`block_on`], and its [`shutdown`].
//!
//! # Which runtime a free function uses
//! Inside a runtime (in a task, or inside a `block_on` of any runtime) `spawn`
//! and `spawn_with` use that runtime, exactly as `runtime_core::spawn` does.
//! Anywhere else they use the global runtime: a `Runtime<DefaultQueue>` built
//! on first use, with the default settings, so `RUNTIME_WORKER_THREADS` sets
//! its worker count (a bad value panics, naming the variable and the value).
//! [`block_on`] drives its future on the calling thread with the global
//! runtime as the current one.
//!
//! # Its lifetime
//! A `static` is never dropped, so the global runtime's workers run until the
//! process exits, or until [`shutdown`] (or [`shutdown_timeout`]) cancels
//! every task it holds. After that its spawns are refused: the returned
//! [`Task`]s report cancellation, as with any runtime that has shut down.

use std::{any::Any, future::Future, sync::OnceLock, time::Duration};

use runtime_core::{Builder, Handle, Priority, Queue, Runtime, Task};

use crate::select::{DefaultQueueFor, EnabledBackends, HasDefaultQueue};

/// The global runtime, once built: its handle, and the `Runtime<DefaultQueue>`
/// itself, type-erased so that [`shutdown`] needs no backend.
struct Global {
    handle: Handle,
    /// Leaked on purpose: it lives as long as the process (a `static` is
    /// never dropped anyway).
    runtime: &'static (dyn Any + Send + Sync),
}

/// Built on first use; an `Err` holds why it could not be, for every caller.
static GLOBAL: OnceLock<Result<Global, String>> = OnceLock::new();

/// The global runtime, built on first use.
///
/// # Panics
/// If it cannot be built (a bad `RUNTIME_WORKER_THREADS`, or the OS refuses a
/// thread), with the reason; every later call panics with it too.
#[track_caller]
fn global<Q: Queue>() -> &'static Runtime<Q> {
    let global = GLOBAL.get_or_init(|| {
        let runtime = Builder::<Q>::new().build().map_err(|error| error.to_string())?;
        Ok(Global { handle: runtime.handle(), runtime: Box::leak(Box::new(runtime)) })
    });
    match global {
        Ok(global) => global
            .runtime
            .downcast_ref()
            .expect("the global runtime is a Runtime<DefaultQueue>: there is one DefaultQueue per build"),
        Err(error) => panic!("pluggable_runtime: could not build the global runtime: {error}"),
    }
}

/// Spawns a `Low`-priority task on the current runtime, or on the global one
/// outside any runtime.
///
/// ```
/// let task = pluggable_runtime::spawn(async { 6 * 7 });
/// assert_eq!(pluggable_runtime::block_on(task), 42);
/// ```
///
/// # Panics
/// Outside a runtime, if the global runtime cannot be built: a bad
/// `RUNTIME_WORKER_THREADS` (the message names it and its value).
///
/// The bound `EnabledBackends<F>: HasDefaultQueue` holds whenever a backend
/// feature is enabled; without one, calling this is a compile error that
/// says which features to enable.
#[track_caller]
pub fn spawn<F>(future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    EnabledBackends<F>: HasDefaultQueue,
{
    spawn_with(Priority::Low, future)
}

/// Spawns a task with the given priority, like [`spawn`].
///
/// ```
/// use pluggable_runtime::Priority;
///
/// let urgent = pluggable_runtime::spawn_with(Priority::High, async { "first" });
/// assert_eq!(pluggable_runtime::block_on(urgent), "first");
/// ```
///
/// # Panics
/// As [`spawn`].
#[track_caller]
pub fn spawn_with<F>(priority: Priority, future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    EnabledBackends<F>: HasDefaultQueue,
{
    // Boxed here if large, by runtime-core's one rule: a large future copied
    // through a few frames in a debug build can overflow a thread's stack.
    runtime_core::__box_if_large!(Box::pin: future => spawn_sized::<F, _>, priority)
}

/// The spawn, for a future that is small or boxed; `M` is the caller's type
/// that the bound is on.
#[track_caller]
fn spawn_sized<M, F>(priority: Priority, future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    EnabledBackends<M>: HasDefaultQueue,
{
    match runtime_core::try_spawn_with(priority, future) {
        Ok(task) => task,
        Err(future) => global::<DefaultQueueFor<M>>().spawn_with(priority, future),
    }
}

/// Runs the blocking closure `f` on a blocking thread of the current
/// runtime, or of the global one outside a runtime (see
/// `runtime_core::spawn_blocking`): for synchronous work that would
/// otherwise stall a worker.
///
/// ```
/// let task = pluggable_runtime::spawn_blocking(|| std::fs::read_to_string("Cargo.toml").is_ok());
/// assert!(pluggable_runtime::block_on(task));
/// ```
#[track_caller]
pub fn spawn_blocking<F, T>(f: F) -> Task<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
    EnabledBackends<F>: HasDefaultQueue,
{
    match Handle::try_current() {
        Some(current) => current.spawn_blocking(f),
        None => global::<DefaultQueueFor<F>>().spawn_blocking(f),
    }
}

/// Drives `future` to completion on the calling thread, with the global
/// runtime as the current one: [`spawn`] inside it, and in the tasks it
/// spawns, uses the global runtime.
///
/// ```
/// let sum = pluggable_runtime::block_on(async {
///     let tasks: Vec<_> = (1..=10).map(|i| pluggable_runtime::spawn(async move { i })).collect();
///     let mut sum = 0;
///     for task in tasks {
///         sum += task.await;
///     }
///     sum
/// });
/// assert_eq!(sum, 55);
/// ```
///
/// # Panics
/// Inside a runtime (in a task, or inside another `block_on`): blocking there
/// could deadlock, so it panics instead, with a message that points at the
/// caller; `.await` the future there. And as [`spawn`] if the global runtime
/// cannot be built.
#[track_caller]
pub fn block_on<F>(future: F) -> F::Output
where
    F: Future,
    EnabledBackends<F>: HasDefaultQueue,
{
    global::<DefaultQueueFor<F>>().block_on(future)
}

/// Shuts the global runtime down, if it was ever built: every task it holds is
/// cancelled and dropped, its workers exit, and its later spawns are refused
/// (their [`Task`]s report cancellation). See [`Handle::shutdown`] for what
/// it guarantees, and from where it may be called. Calling it again is
/// harmless; if the global runtime was never used it does nothing (and a
/// later use builds it).
///
/// ```
/// let pending = pluggable_runtime::spawn(std::future::pending::<()>()).fallible();
/// pluggable_runtime::shutdown();
/// assert_eq!(pluggable_runtime::block_on(pending), None); // cancelled
/// ```
pub fn shutdown() {
    if let Some(Ok(global)) = GLOBAL.get() {
        global.handle.shutdown();
    }
}

/// Like [`shutdown`], waiting at most `timeout` for the workers; see
/// [`Handle::shutdown_timeout`].
pub fn shutdown_timeout(timeout: Duration) {
    if let Some(Ok(global)) = GLOBAL.get() {
        global.handle.shutdown_timeout(timeout);
    }
}
