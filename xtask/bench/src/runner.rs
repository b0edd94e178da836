//! What every workload is written against, so that every contender runs the
//! same code: a [`Spawner`] that tasks carry to spawn more tasks, and a
//! [`Runner`] that owns the worker threads. The adapters that implement them
//! for each runtime are in `adapters`; this file knows none of them.

use std::future::Future;

/// Spawning side of a contender: a cloneable handle, the join handle it
/// returns, and the executor's own `yield_now`.
pub trait Spawner: Clone + Send + Sync + 'static {
    /// The join handle: resolves to the task's output.
    type Join<T: Send + 'static>: Future<Output = T> + Send + 'static;

    /// Spawns a task (onto the local queue when called on a worker, if the
    /// executor has one).
    fn spawn<F>(&self, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Lets the task run on without its handle.
    fn detach<T: Send + 'static>(join: Self::Join<T>);

    /// The executor's own way to yield once.
    fn yield_now() -> impl Future<Output = ()> + Send;
}

/// Owning side of a contender: the worker threads, and a way to drive a
/// future on the calling thread (`block_on`) while they run the tasks. In
/// every contender the calling thread is not one of the N workers.
pub trait Runner: Send + Sync + 'static {
    /// Its spawner.
    type Spawner: Spawner;

    /// A spawner for this runner's workers.
    fn spawner(&self) -> Self::Spawner;

    /// Runs `future` to completion on the calling thread.
    fn block_on<F: Future>(&self, future: F) -> F::Output;
}
