//! Task ids, and the metadata the runtime keeps in every task's header.
//!
//! # Ids
//! A [`TaskId`] is unique within the process for its whole life. Handing
//! them out must not put a contended atomic on the spawn path, so each
//! thread reserves a block of [`ID_BLOCK`] ids from one global counter and
//! hands them out from a thread-local: one `fetch_add` per block. Ids are
//! therefore unique but not in spawn order across threads.
//!
//! # Metadata
//! [`TaskMetadata`] is async-task's per-task metadata: one word in the
//! task's header, the id, readable from the `Runnable` (by the worker, which
//! makes it the thread's current task while it polls) and copied into the
//! join handle.

use std::{fmt, num::NonZeroU64};

/// The id of the task this thread is polling, or `None` outside a task
/// (on a thread that is not a worker, in `block_on`'s own future, in a
/// destructor that runs at shutdown).
///
/// ```
/// # use queue_flume::FlumeQueue;
/// # let rt = runtime_core::Runtime::<FlumeQueue>::builder().worker_threads(1).build()?;
/// let task = rt.spawn(async { runtime_core::task_id() });
/// let id = task.id();
/// assert_eq!(rt.block_on(task), Some(id));
/// assert_eq!(runtime_core::task_id(), None);
/// # Ok::<(), runtime_core::BuildError>(())
/// ```
pub fn task_id() -> Option<TaskId> {
    crate::context::current_task_id()
}

/// Ids a thread reserves at a time.
const ID_BLOCK: u64 = 1024;

/// A task's id: unique within the process, cheap to copy and compare.
///
/// From [`Task::id`](crate::Task::id) for a spawned task, or
/// [`task_id`](crate::task_id) inside the running task; shown in the task's
/// `Debug` output and given to the panic policy.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(NonZeroU64);

impl TaskId {
    /// A fresh id.
    pub(crate) fn next() -> Self {
        #[cfg(not(loom))]
        {
            use std::cell::Cell;
            std::thread_local! {
                /// The next id of this thread's block, and the block's end.
                static BLOCK: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
            }
            BLOCK
                .try_with(|block| {
                    let (mut next, mut end) = block.get();
                    if next == end {
                        next = global_block();
                        end = next + ID_BLOCK;
                    }
                    block.set((next + 1, end));
                    Self::from_raw(next)
                })
                // A thread-local being destroyed (a spawn from a destructor
                // at thread exit): take a block just for this one.
                .unwrap_or_else(|_| Self::from_raw(global_block()))
        }
        #[cfg(loom)]
        {
            Self::from_raw(global_block())
        }
    }

    fn from_raw(raw: u64) -> Self {
        Self(NonZeroU64::new(raw).expect("ids start at 1"))
    }

    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }

    /// The id whose number is `raw`, if any (0 is none).
    pub(crate) fn from_u64(raw: u64) -> Option<Self> {
        NonZeroU64::new(raw).map(Self)
    }
}

/// The first id of a fresh block. The global counter starts at 1 and only
/// grows; 2^64 ids outlast any process.
fn global_block() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(ID_BLOCK, std::sync::atomic::Ordering::Relaxed)
}

impl fmt::Debug for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskId({})", self.0)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// What the runtime keeps in every task's header: its [`TaskId`]. A
/// [`Queue`](crate::Queue) backend can read it from a
/// [`Runnable`](crate::Runnable) with `runnable.metadata().id()`.
#[derive(Debug)]
pub struct TaskMetadata {
    id: TaskId,
}

impl TaskMetadata {
    pub(crate) fn new(id: TaskId) -> Self {
        Self { id }
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }
}
/// A task outside any runtime, with fresh metadata and a schedule function
/// that drops what it is handed: for tests that need real `Runnable`s.
#[cfg(any(test, feature = "testing"))]
pub(crate) fn bare_task<F>(future: F) -> (crate::Runnable, async_task::Task<F::Output, TaskMetadata>)
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    async_task::Builder::new().metadata(TaskMetadata::new(TaskId::next())).spawn(move |_| future, |_| {})
}
