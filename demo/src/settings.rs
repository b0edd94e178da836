//! The flags every scene shares, and the runtimes built from them.

use anyhow::Context as _;
use runtime_core::{Builder, Queue, Runtime};

/// The worker threads' name prefix: worker `i` is `"worker-{i}"`.
const THREAD_NAME: &str = "worker";

/// The flags every scene sees.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// `--workers`, or `None` for the runtime's default (which honours
    /// `RUNTIME_WORKER_THREADS`).
    pub workers: Option<usize>,
    /// `--verbose`.
    pub verbose: bool,
}

impl Settings {
    /// A runtime with these settings.
    pub fn runtime<Q: Queue>(&self) -> anyhow::Result<Runtime<Q>> {
        build(self.workers)
    }

    /// A runtime with exactly `workers` worker threads, whatever the flags say.
    pub fn runtime_with<Q: Queue>(&self, workers: usize) -> anyhow::Result<Runtime<Q>> {
        build(Some(workers))
    }

    /// The builder behind [`runtime`](Self::runtime), for a scene that sets
    /// more (finish with [`finish`]).
    pub fn builder<Q: Queue>(&self) -> Builder<Q> {
        builder(self.workers)
    }
}

fn builder<Q: Queue>(workers: Option<usize>) -> Builder<Q> {
    let builder = Runtime::<Q>::builder().thread_name(THREAD_NAME);
    match workers {
        Some(n) => builder.worker_threads(n),
        None => builder,
    }
}

fn build<Q: Queue>(workers: Option<usize>) -> anyhow::Result<Runtime<Q>> {
    finish(builder(workers))
}

/// Builds the runtime, with the error every scene reports.
pub fn finish<Q: Queue>(builder: Builder<Q>) -> anyhow::Result<Runtime<Q>> {
    builder.build().context("could not build the runtime")
}

/// The index of the worker thread this runs on, from its name; `None` off
/// the workers of a runtime built by [`Settings`].
pub fn worker_index() -> Option<usize> {
    let thread = std::thread::current();
    thread.name()?.strip_prefix(THREAD_NAME)?.strip_prefix('-')?.parse().ok()
}
