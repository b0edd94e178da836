//! The plug-in point: the [`Queue`] trait, and what travels through it.

use std::fmt;

use crate::task_id::TaskMetadata;

/// A scheduled task, ready to be polled once.
///
/// It exists only while the task is scheduled: the runtime pushes it into a
/// [`Queue`] when the task is spawned or woken, and a worker pops it and calls
/// `run()`. Dropping a `Runnable` without running it cancels the task.
///
/// It carries one word of metadata, [`TaskMetadata`]: the task's id
/// (`runnable.metadata().id()`). A task's priority is known from the queue
/// it sits in, so it is not stored.
pub type Runnable = async_task::Runnable<TaskMetadata>;

/// The scheduling priority of a task.
///
/// Workers run `High` tasks before `Low` ones, but never starve `Low` work
/// forever: after a bounded streak of `High` polls a waiting `Low` task gets
/// its turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum Priority {
    /// Runs before any `Low` task that is waiting.
    High,
    /// The default priority.
    #[default]
    Low,
}

impl Priority {
    /// Index into the per-priority queue arrays: `High` is 0, `Low` is 1.
    pub(crate) fn index(self) -> usize {
        match self {
            Priority::High => 0,
            Priority::Low => 1,
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Priority::High => "high",
            Priority::Low => "low",
        })
    }
}

/// A non-blocking FIFO of [`Runnable`]s: the part of the scheduler you plug in.
///
/// The runtime owns parking and notification: it never waits inside a queue,
/// so `pop` must return `None` at once when the queue is empty. A runtime
/// creates two shared queues (one per [`Priority`]) and two local queues per
/// worker; any thread may push to or pop from any of them (a sibling worker
/// pops from another's local queue when it steals).
///
/// # Contract
/// - `push` never drops or loses its argument; `pop` returns each pushed
///   runnable exactly once, in FIFO order as seen by any single pushing thread.
/// - `len` may be stale under concurrency, but must be exact once pushes and
///   pops have stopped.
/// - No method may block for long or call back into the runtime.
///
/// # Example: a backend in twenty lines
///
/// ```
/// use std::{collections::VecDeque, sync::Mutex};
/// use runtime_core::{Queue, Runnable, Runtime};
///
/// struct StdMutexQueue(Mutex<VecDeque<Runnable>>);
///
/// impl Queue for StdMutexQueue {
///     fn new() -> Self {
///         StdMutexQueue(Mutex::new(VecDeque::new()))
///     }
///     fn push(&self, runnable: Runnable) {
///         self.0.lock().unwrap().push_back(runnable);
///     }
///     fn pop(&self) -> Option<Runnable> {
///         self.0.lock().unwrap().pop_front()
///     }
///     fn len(&self) -> usize {
///         self.0.lock().unwrap().len()
///     }
/// }
///
/// let rt = Runtime::<StdMutexQueue>::builder().worker_threads(2).build()?;
/// assert_eq!(rt.block_on(rt.spawn(async { 6 * 7 })), 42);
/// # Ok::<(), runtime_core::BuildError>(())
/// ```
pub trait Queue: Send + Sync + 'static {
    /// Creates an empty queue.
    fn new() -> Self
    where
        Self: Sized;

    /// Appends a runnable at the back.
    fn push(&self, runnable: Runnable);

    /// Removes the runnable at the front, or returns `None` at once if empty.
    /// Never blocks.
    fn pop(&self) -> Option<Runnable>;

    /// The number of runnables queued.
    fn len(&self) -> usize;

    /// Whether the queue holds nothing.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves up to `max` runnables from the front of `self` to the back of
    /// `dest`, in order, and returns how many moved. Used for batched
    /// stealing and for taking batches from the shared queue.
    ///
    /// The default pops and pushes one at a time; a backend that can take a
    /// batch under one lock should override it.
    fn steal_into(&self, dest: &Self, max: usize) -> usize
    where
        Self: Sized,
    {
        let mut moved = 0;
        while moved < max {
            match self.pop() {
                Some(runnable) => dest.push(runnable),
                None => break,
            }
            moved += 1;
        }
        moved
    }
}

/// A task outside any runtime, with fresh metadata and a schedule function
/// that drops what it is handed: for tests that need real `Runnable`s.
#[cfg(any(test, feature = "testing"))]
pub(crate) fn bare_task<F>(future: F) -> (Runnable, async_task::Task<F::Output, TaskMetadata>)
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    async_task::Builder::new()
        .metadata(TaskMetadata::new(crate::task_id::TaskId::next()))
        .spawn(move |_| future, |_| {})
}
