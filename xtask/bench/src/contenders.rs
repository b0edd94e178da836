//! The contenders, behind one small interface so that every one of them runs
//! the same workload code.
//!
//! - [`Spawner`]: a cloneable handle that tasks carry to spawn more tasks, the
//!   join handle it returns, and the executor's own `yield_now`.
//! - [`Runner`]: owns the worker threads and drives a future on the calling
//!   thread (`block_on`) while they run the tasks. In every contender the
//!   calling thread is not one of the N workers.
//!
//! Each contender uses its native primitives, the ones its users would call:
//! `runtime_core::Handle::spawn` and `yield_now`; tokio's `Handle::spawn`
//! (which, like `tokio::spawn`, goes to the local queue when called on a
//! worker) and `tokio::task::yield_now`; `Executor::spawn` and
//! `futures_lite::future::yield_now` for async-executor and `tutorial`.
//!
//! For the I/O rows each contender also names its network stack
//! ([`Runner::Net`]): `tokio::net` for tokio, `async-net` for the others.
//! Those rows start their contenders afresh ([`start_io`]), and there
//! async-executor's threads run it as smol does, inside
//! `async_io::block_on`, so that they drive async-io's reactor while idle.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::{Arc, OnceLock},
    task::{Context, Poll},
    thread,
    time::Duration,
};

use anyhow::bail;

use crate::{
    io_workloads::{self, IoSample},
    memory,
    net::{AsyncNet, NetStack, TokioNet},
    tutorial::{Tutorial, TutorialSpawner},
    workloads::{self, Sizes, Workload},
};

/// Every contender, in the order of the table's columns: this runtime on
/// each of [`BACKENDS`](backends::BACKENDS), then the references.
pub const CONTENDERS: [&str; 6] = {
    let [flume, crossbeam, mutex] = backends::BACKENDS;
    [flume, crossbeam, mutex, "tokio", "async-executor", "tutorial"]
};

/// A user's queue, run as one more contender (see [`add_queue`]).
struct Extra {
    name: &'static str,
    start: fn(usize) -> Box<dyn Contender>,
}

/// Set at most once, before anything runs, by [`crate::main_with_queue`].
static EXTRA: OnceLock<Extra> = OnceLock::new();

/// Adds this runtime on the queue `Q` as a contender called `name`, after the
/// built-in backends. Once per process, before anything runs.
pub fn add_queue<Q: runtime_core::Queue>(name: &str) -> anyhow::Result<()> {
    let name = name.trim();
    if name.is_empty() || name.contains(',') {
        bail!("--queue: {name:?} cannot name a contender (it must be non-empty, without commas)");
    }
    if CONTENDERS.contains(&name) || ALIASES.iter().any(|(alias, _)| *alias == name) {
        bail!("--queue: {name:?} is already a contender's name; valid contenders: {}", CONTENDERS.join(", "));
    }
    // Leaked once: every name in the results is a `&'static str`.
    let name: &'static str = Box::leak(name.to_owned().into_boxed_str());
    let extra = Extra { name, start: |workers| Box::new(Harness(Ours::<Q>::new(workers), workers)) };
    if EXTRA.set(extra).is_err() {
        bail!("a queue was already added to this benchmark: one --queue per run");
    }
    Ok(())
}

/// The name of the user's queue, if one was added.
pub fn extra_name() -> Option<&'static str> {
    EXTRA.get().map(|extra| extra.name)
}

/// Every contender of this run, in the order of the table's columns:
/// [`CONTENDERS`], with the user's queue, if any, after the built-in backends.
pub fn names() -> Vec<&'static str> {
    let mut names = CONTENDERS.to_vec();
    if let Some(extra) = extra_name() {
        names.insert(backends::BACKENDS.len(), extra);
    }
    names
}

/// Other names the command line accepts for a contender: `seed` is what
/// `tutorial` used to be called.
pub const ALIASES: [(&str, &str); 1] = [("seed", "tutorial")];

/// The contender every ratio is taken against.
pub const BASELINE: &str = "tokio";

/// Spawning side of a contender; see the module docs.
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

/// Owning side of a contender; see the module docs.
pub trait Runner: Send + Sync + 'static {
    /// Its spawner.
    type Spawner: Spawner;

    /// Its sockets, for the I/O workloads.
    type Net: NetStack;

    /// A spawner for this runner's workers.
    fn spawner(&self) -> Self::Spawner;

    /// Runs `future` to completion on the calling thread.
    fn block_on<F: Future>(&self, future: F) -> F::Output;
}

/// A started contender, type-erased for the measurement loop.
pub trait Contender: Send + Sync {
    /// Runs `iters` iterations of `workload` and returns the time they took
    /// (set-up and tear-down excluded).
    fn sample(&self, workload: Workload, sizes: &Sizes, iters: u32) -> Duration;

    /// Parks `tasks` pending tasks and reads the process's memory before and
    /// after (see [`workloads::park`]). Used in the memory child process.
    fn park(&self, tasks: usize) -> memory::Reading;

    /// Runs one sample of the I/O `workload` for `duration` (see
    /// [`io_workloads::sample`]).
    fn io_sample(&self, workload: Workload, sizes: &Sizes, duration: Duration) -> anyhow::Result<IoSample>;
}

/// A runner and its worker count.
struct Harness<R>(R, usize);

impl<R: Runner> Contender for Harness<R> {
    fn sample(&self, workload: Workload, sizes: &Sizes, iters: u32) -> Duration {
        workloads::sample(&self.0, self.1, workload, sizes, iters)
    }

    fn park(&self, tasks: usize) -> memory::Reading {
        workloads::park(&self.0, tasks)
    }

    fn io_sample(&self, workload: Workload, sizes: &Sizes, duration: Duration) -> anyhow::Result<IoSample> {
        io_workloads::sample(&self.0, workload, sizes, duration)
    }
}

/// Starts contender `name` with `workers` worker threads.
///
/// # Panics
/// If `name` is not in [`names`] (names are checked when parsing flags).
pub fn start(name: &str, workers: usize) -> Box<dyn Contender> {
    if let Some(extra) = EXTRA.get().filter(|extra| extra.name == name) {
        return (extra.start)(workers);
    }
    let ours = backends::with_backend!(name, |Q| {
        Box::new(Harness(Ours::<Q>::new(workers), workers)) as Box<dyn Contender>
    });
    ours.unwrap_or_else(|| match name {
        "tokio" => Box::new(Harness(Tokio::new(workers), workers)),
        "async-executor" => Box::new(Harness(AsyncExecutor::new(workers, Park::Plain), workers)),
        "tutorial" => Box::new(Harness(TutorialRunner(Tutorial::new(workers)), workers)),
        other => panic!("unknown contender {other:?} (valid: {})", names().join(", ")),
    })
}

/// Starts contender `name` with `workers` worker threads for an I/O row:
/// like [`start`], but async-executor's threads park in async-io's reactor.
///
/// # Panics
/// If `name` is not in [`names`].
pub fn start_io(name: &str, workers: usize) -> Arc<dyn Contender> {
    match name {
        "async-executor" => Arc::new(Harness(AsyncExecutor::new(workers, Park::Reactor), workers)),
        other => Arc::from(start(other, workers)),
    }
}

// --- this runtime ---------------------------------------------------------

/// `runtime_core::Runtime` with backend `Q`.
struct Ours<Q: runtime_core::Queue>(runtime_core::Runtime<Q>);

impl<Q: runtime_core::Queue> Ours<Q> {
    fn new(workers: usize) -> Self {
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
    type Net = AsyncNet;

    fn spawner(&self) -> Self::Spawner {
        self.0.handle()
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }
}

// --- tokio ----------------------------------------------------------------

/// tokio's multi-thread runtime, built like its own benchmarks build it.
struct Tokio(tokio::runtime::Runtime);

impl Tokio {
    fn new(workers: usize) -> Self {
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
    type Net = TokioNet;

    fn spawner(&self) -> Self::Spawner {
        self.0.handle().clone()
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }
}

// --- async-executor -------------------------------------------------------

/// An `async_executor::Executor` run by N threads, as its own benchmarks run it.
struct AsyncExecutor {
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
enum Park {
    /// `futures_lite::future::block_on`, as its own benchmarks run it.
    Plain,
    /// `async_io::block_on`, as smol runs it: an idle thread waits in
    /// async-io's reactor (when no other thread does).
    Reactor,
}

impl AsyncExecutor {
    fn new(workers: usize, park: Park) -> Self {
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
    type Net = AsyncNet;

    fn spawner(&self) -> Self::Spawner {
        self.spawner.clone()
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        futures_lite::future::block_on(future)
    }
}

// --- tutorial -------------------------------------------------------------

struct TutorialRunner(Tutorial);

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
    type Net = AsyncNet;

    fn spawner(&self) -> Self::Spawner {
        self.0.spawner()
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        futures_lite::future::block_on(future)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every contender runs every workload, at its smallest size, to the end.
    #[test]
    fn every_contender_runs_every_workload() {
        let sizes = Sizes::tiny();
        for name in CONTENDERS {
            for workers in [1, 2] {
                let contender = start(name, workers);
                for workload in Workload::ALL.iter().filter(|w| **w != Workload::Memory && !w.is_io()) {
                    contender.sample(*workload, &sizes, 1);
                }
                contender.park(100);
            }
        }
    }

    /// Every contender runs `tcp_echo` on its own stack, with round trips to
    /// show for it. (`http_plaintext` needs this binary as its load
    /// generator, so the bench's own runs check it.)
    #[test]
    fn every_contender_echoes_over_tcp() {
        let sizes = Sizes::tiny();
        for name in CONTENDERS {
            let contender = start_io(name, 2);
            let sample = contender.io_sample(Workload::TcpEcho, &sizes, Duration::from_millis(50)).unwrap();
            assert!(
                sample.rate > 0.0 && sample.p50_ns > 0.0 && sample.p99_ns >= sample.p50_ns,
                "{name}: {sample:?}"
            );
        }
    }
}
