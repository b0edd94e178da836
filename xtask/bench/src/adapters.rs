//! The adapters: each runtime behind [`Runner`] / [`Spawner`], with its
//! native primitives, the ones its users would call:
//! `runtime_core::Handle::spawn` and `yield_now`; tokio's `Handle::spawn`
//! (which, like `tokio::spawn`, goes to the local queue when called on a
//! worker) and `tokio::task::yield_now`; `Executor::spawn` and
//! `futures_lite::future::yield_now` for async-executor and `tutorial`.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    thread,
};

use crate::{
    runner::{Runner, Spawner},
    tutorial::{Tutorial, TutorialSpawner},
};

// --- this runtime ---------------------------------------------------------

/// `runtime_core::Runtime` with backend `Q`.
pub struct Ours<Q: runtime_core::Queue>(runtime_core::Runtime<Q>);

impl<Q: runtime_core::Queue> Ours<Q> {
    /// Starts it with `workers` worker threads.
    pub fn new(workers: usize) -> Self {
        let rt = runtime_core::Runtime::<Q>::builder()
            .worker_threads(workers)
            .thread_name("bench-ours")
            .build()
            .expect("could not build runtime-core");
        Self(rt)
    }
}

impl Spawner for runtime_core::Handle {
    type Join<T: Send + 'static> = runtime_core::Task<T>;

    fn spawn<F>(&self, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        runtime_core::Handle::spawn(self, future)
    }

    fn detach<T: Send + 'static>(join: Self::Join<T>) {
        join.detach();
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        runtime_core::yield_now()
    }
}

impl<Q: runtime_core::Queue> Runner for Ours<Q> {
    type Spawner = runtime_core::Handle;

    fn spawner(&self) -> Self::Spawner {
        self.0.handle()
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }
}

// --- tokio ----------------------------------------------------------------

/// tokio's multi-thread runtime, built like its own benchmarks build it.
pub struct Tokio(tokio::runtime::Runtime);

impl Tokio {
    /// Starts it with `workers` worker threads.
    pub fn new(workers: usize) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
            .expect("could not build tokio");
        Self(rt)
    }
}

/// tokio's `JoinHandle`, resolving to the output (a task panic is a bench bug).
#[derive(Debug)]
pub struct TokioJoin<T>(tokio::task::JoinHandle<T>);

impl<T> Future for TokioJoin<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.0).poll(cx).map(|result| result.expect("a benchmark task failed under tokio"))
    }
}

impl Spawner for tokio::runtime::Handle {
    type Join<T: Send + 'static> = TokioJoin<T>;

    fn spawn<F>(&self, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        TokioJoin(tokio::runtime::Handle::spawn(self, future))
    }

    fn detach<T: Send + 'static>(join: Self::Join<T>) {
        drop(join);
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }
}

impl Runner for Tokio {
    type Spawner = tokio::runtime::Handle;

    fn spawner(&self) -> Self::Spawner {
        self.0.handle().clone()
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }
}

// --- async-executor -------------------------------------------------------

/// An `async_executor::Executor` run by N threads, as its own benchmarks run it.
pub struct AsyncExecutor {
    spawner: AsyncExecutorSpawner,
    stop: Option<async_channel::Sender<()>>,
    threads: Vec<thread::JoinHandle<()>>,
}

/// A shared `Executor`.
#[derive(Clone)]
pub struct AsyncExecutorSpawner(Arc<async_executor::Executor<'static>>);

impl fmt::Debug for AsyncExecutorSpawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncExecutorSpawner").finish_non_exhaustive()
    }
}

/// How async-executor's threads wait for work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Park {
    /// `futures_lite::future::block_on`, as its own benchmarks run it.
    Plain,
    /// `async_io::block_on`, as smol runs it: an idle thread waits in
    /// async-io's reactor (when no other thread does).
    Reactor,
}

impl AsyncExecutor {
    /// Starts `workers` threads that run it, waiting for work as `park` says.
    pub fn new(workers: usize, park: Park) -> Self {
        let executor = Arc::new(async_executor::Executor::new());
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let threads = (0..workers)
            .map(|i| {
                let (executor, stopped) = (executor.clone(), stopped.clone());
                thread::Builder::new()
                    .name(format!("async-executor-{i}"))
                    .spawn(move || {
                        let run = executor.run(stopped.recv());
                        let _ = match park {
                            Park::Plain => futures_lite::future::block_on(run),
                            Park::Reactor => async_io::block_on(run),
                        };
                    })
                    .expect("could not start an async-executor thread")
            })
            .collect();
        Self { spawner: AsyncExecutorSpawner(executor), stop: Some(stop), threads }
    }
}

impl Drop for AsyncExecutor {
    fn drop(&mut self) {
        // Closing the channel ends every `run`.
        drop(self.stop.take());
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Spawner for AsyncExecutorSpawner {
    type Join<T: Send + 'static> = async_executor::Task<T>;

    fn spawn<F>(&self, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.0.spawn(future)
    }

    fn detach<T: Send + 'static>(join: Self::Join<T>) {
        join.detach();
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        futures_lite::future::yield_now()
    }
}

impl Runner for AsyncExecutor {
    type Spawner = AsyncExecutorSpawner;

    fn spawner(&self) -> Self::Spawner {
        self.spawner.clone()
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        futures_lite::future::block_on(future)
    }
}

// --- tutorial -------------------------------------------------------------

pub struct TutorialRunner(pub Tutorial);

impl Spawner for TutorialSpawner {
    type Join<T: Send + 'static> = async_task::Task<T>;

    fn spawn<F>(&self, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        TutorialSpawner::spawn(self, future)
    }

    fn detach<T: Send + 'static>(join: Self::Join<T>) {
        join.detach();
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        futures_lite::future::yield_now()
    }
}

impl Runner for TutorialRunner {
    type Spawner = TutorialSpawner;

    fn spawner(&self) -> Self::Spawner {
        self.0.spawner()
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        futures_lite::future::block_on(future)
    }
}
