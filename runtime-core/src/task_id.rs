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
//!
//! # The current task
//! While a worker (or a blocking thread) runs a task, [`enter_task`] makes
//! its id this thread's current task, for [`task_id`] and for the panic
//! policy (`task.rs`). It shares one thread-local with the id block.

use std::{cell::Cell, fmt, num::NonZeroU64};

/// This thread's task state: the task being polled, and its block of ids.
struct TaskContext {
    /// The id of the task being polled on this thread.
    current: Cell<Option<TaskId>>,
    /// `(next, end)` of this thread's reserved block of ids.
    block: Cell<(u64, u64)>,
}

crate::sync::thread_locals! {
    static TASK: TaskContext = const { TaskContext { current: Cell::new(None), block: Cell::new((0, 0)) } };
}

/// Marks task `id` as the one this thread is polling, until the guard
/// drops. Only the thread that runs the task calls this, around
/// `Runnable::run`.
pub(crate) fn enter_task(id: TaskId) -> TaskGuard {
    let _ = TASK.try_with(|t| t.current.set(Some(id)));
    TaskGuard(())
}

/// Undoes [`enter_task`] on drop (also when the poll unwinds).
pub(crate) struct TaskGuard(());

impl Drop for TaskGuard {
    fn drop(&mut self) {
        let _ = TASK.try_with(|t| t.current.set(None));
    }
}

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
    TASK.try_with(|t| t.current.get()).ok().flatten()
}

/// Ids a thread reserves at a time.
const ID_BLOCK: u64 = 1024;

/// A task's id: unique within the process, cheap to copy and compare.
///
/// From [`Task::id`](crate::Task::id) for a spawned task, or
/// [`task_id`](crate::task_id()) inside the running task; shown in the task's
/// `Debug` output and given to the panic policy.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(NonZeroU64);

impl TaskId {
    /// A fresh id.
    pub(crate) fn next() -> Self {
        TASK.try_with(|t| {
            let (mut next, mut end) = t.block.get();
            if next == end {
                next = global_block();
                end = next + ID_BLOCK;
            }
            t.block.set((next + 1, end));
            Self::from_raw(next)
        })
        // A thread-local being destroyed (a spawn from a destructor at
        // thread exit): take a block just for this one.
        .unwrap_or_else(|_| Self::from_raw(global_block()))
    }

    fn from_raw(raw: u64) -> Self {
        Self(NonZeroU64::new(raw).expect("ids start at 1"))
    }

    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }

    /// The id whose number is `raw`, if any (0 is none).
    #[cfg_attr(loom, allow(dead_code))]
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
