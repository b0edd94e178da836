//! `tutorial`: the tutorial program this project grew from, on our runtime.
//!
//! The tutorial kept its runtime in a `static` `LazyLock` behind a
//! `spawn_task` function, and so does this scene. A static's type cannot
//! depend on the `--queue` chosen at run time, so its queue is [`TutorialQueue`]:
//! a user-defined backend that wraps the chosen one behind a `dyn Queue` and
//! prints the tutorial's "Received runnable" trace under `--verbose`.
//!
//! Like the tutorial's, the runtime is never dropped (statics are not): its
//! workers sleep until the process exits.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        LazyLock, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
};

use runtime_core::{Metrics, Queue, Runnable, Runtime, Task};

use crate::settings::Settings;

/// The thread name prefix of this scene's runtime, apart from the other scenes'.
const THREAD_NAME: &str = "tutorial-worker";

/// What `run` decides before the static runtime is first touched.
struct TutorialConfig {
    new_backend: fn() -> Box<dyn Queue>,
    workers: Option<usize>,
}

static CONFIG: OnceLock<TutorialConfig> = OnceLock::new();
static VERBOSE: AtomicBool = AtomicBool::new(false);

/// The tutorial's global runtime, built on first use.
static RUNTIME: LazyLock<Result<Runtime<TutorialQueue>, runtime_core::BuildError>> = LazyLock::new(|| {
    let config = CONFIG.get().expect("tutorial::run configures the runtime before first use");
    let mut builder = Runtime::builder().thread_name(THREAD_NAME);
    if let Some(n) = config.workers {
        builder = builder.worker_threads(n);
    }
    builder.build()
});

/// The chosen backend behind a `dyn Queue`, printing each runnable a worker
/// receives from it when `--verbose` is on.
///
/// Tasks that a worker runs straight from its LIFO slot (a task spawned or
/// woken by the task running before it) never pass through a queue, so they
/// have no trace line: the trace shows queue traffic, and `polls` in the
/// metrics counts every poll.
struct TutorialQueue {
    inner: Box<dyn Queue>,
}

impl Queue for TutorialQueue {
    fn new() -> Self {
        let config = CONFIG.get().expect("tutorial::run configures the runtime before first use");
        TutorialQueue { inner: (config.new_backend)() }
    }

    fn push(&self, runnable: Runnable) {
        self.inner.push(runnable);
    }

    fn pop(&self) -> Option<Runnable> {
        let runnable = self.inner.pop();
        if runnable.is_some() && VERBOSE.load(Ordering::Relaxed) {
            println!("   Received runnable");
        }
        runnable
    }

    fn len(&self) -> usize {
        self.inner.len()
    }

    fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Moving tasks between queues (stealing, batching) is not receiving
    /// them: no trace here.
    fn steal_into(&self, dest: &Self, max: usize) -> usize {
        let mut moved = 0;
        while moved < max {
            let Some(runnable) = self.inner.pop() else { break };
            dest.inner.push(runnable);
            moved += 1;
        }
        moved
    }
}

fn new_backend<Q: Queue>() -> Box<dyn Queue> {
    Box::new(Q::new())
}

/// The runtime, once `run` has checked that it built.
fn runtime() -> &'static Runtime<TutorialQueue> {
    RUNTIME.as_ref().expect("tutorial::run checks that the runtime built")
}

/// The tutorial's `spawn_task`: spawns onto the global runtime.
fn spawn_task<F, T>(future: F) -> Task<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    runtime().spawn(future)
}

/// A call to some external service: not ready for five polls (each time it
/// wakes itself to be polled again), ready on the sixth.
struct ExternalCall {
    name: &'static str,
    polls: u32,
}

impl ExternalCall {
    const READY_ON_POLL: u32 = 6;

    fn new(name: &'static str) -> Self {
        Self { name, polls: 0 }
    }
}

impl Future for ExternalCall {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls += 1;
        if self.polls < Self::READY_ON_POLL {
            println!("   {:<8} External call not ready yet", self.name);
            cx.waker().wake_by_ref();
            Poll::Pending
        } else {
            println!("   {:<8} External call done", self.name);
            Poll::Ready(())
        }
    }
}

/// The tutorial's `main`.
/// Runs the scene; returns the runtime's metrics at its end.
pub fn run<Q: Queue>(settings: &Settings) -> anyhow::Result<Metrics> {
    // Only the first `run` in a process configures the static runtime.
    let _ = CONFIG.set(TutorialConfig { new_backend: new_backend::<Q>, workers: settings.workers });
    VERBOSE.store(settings.verbose, Ordering::Relaxed);
    let rt = RUNTIME.as_ref().map_err(|e| anyhow::anyhow!("could not build the runtime: {e}"))?;

    let group = spawn_task(async {
        ExternalCall::new("group-1").await;
        ExternalCall::new("group-2").await;
    });
    println!("   queue length after spawning the group: {}", rt.metrics().queued);
    let one = spawn_task(ExternalCall::new("call-1"));
    println!("   queue length after spawning call-1: {}", rt.metrics().queued);
    let two = spawn_task(ExternalCall::new("call-2"));
    println!("   queue length after spawning call-2: {}", rt.metrics().queued);

    rt.block_on(one);
    rt.block_on(two);
    rt.block_on(group);
    Ok(rt.metrics())
}
