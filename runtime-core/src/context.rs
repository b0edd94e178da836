//! What a thread is to the runtime, as ids only: which runtime's worker it
//! is, whether a `block_on` runs on it, and where it stands with respect to
//! the I/O reactor. One struct, one thread-local.
//!
//! This is the bottom floor: it names no runtime type. What the higher
//! floors keep per thread lives with them: the current runtime's `Handle`
//! in `handle.rs`, the task being polled in `task_id.rs`, a worker's stall
//! watch in `stall.rs`.

use std::cell::Cell;

/// Everything this module knows about the current thread.
struct Context {
    /// `(runtime id, worker index)` on a worker thread.
    worker: Cell<Option<(usize, usize)>>,
    /// Set while a `block_on` is driving a future on this thread.
    in_block_on: Cell<bool>,
    /// A worker's place with respect to the I/O reactor: see [`Reactor`].
    reactor: Cell<Reactor>,
}

impl Context {
    const fn new() -> Self {
        Self { worker: Cell::new(None), in_block_on: Cell::new(false), reactor: Cell::new(Reactor::Away) }
    }
}

crate::sync::thread_locals! {
    static CONTEXT: Context = const { Context::new() };
}

/// Runs `f` on this thread's context; `None` while thread-locals are being
/// destroyed (a destructor running at thread exit).
fn with<R>(f: impl FnOnce(&Context) -> R) -> Option<R> {
    CONTEXT.try_with(f).ok()
}

/// This thread's worker index if it is a worker of runtime `runtime_id`.
#[inline]
pub(crate) fn worker_index(runtime_id: usize) -> Option<usize> {
    with(|c| match c.worker.get() {
        Some((id, index)) if id == runtime_id => Some(index),
        _ => None,
    })
    .flatten()
}

/// Whether this thread is a worker of any runtime.
pub(crate) fn is_worker() -> bool {
    with(|c| c.worker.get().is_some()).unwrap_or(false)
}

/// Marks this thread as worker `index` of runtime `runtime_id` until the
/// guard drops.
pub(crate) fn enter_worker(runtime_id: usize, index: usize) -> WorkerGuard {
    with(|c| c.worker.set(Some((runtime_id, index))));
    WorkerGuard(())
}

/// Undoes [`enter_worker`] on drop.
pub(crate) struct WorkerGuard(());

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        with(|c| c.worker.set(None));
    }
}

/// Whether a `block_on` is running on this thread.
pub(crate) fn in_block_on() -> bool {
    with(|c| c.in_block_on.get()).unwrap_or(false)
}

/// Marks this thread as inside `block_on` until the guard drops.
pub(crate) fn enter_block_on() -> BlockOnGuard {
    with(|c| c.in_block_on.set(true));
    BlockOnGuard(())
}

/// Undoes [`enter_block_on`] on drop.
pub(crate) struct BlockOnGuard(());

impl Drop for BlockOnGuard {
    fn drop(&mut self) {
        with(|c| c.in_block_on.set(false));
    }
}

/// Where a worker thread stands with respect to the I/O reactor (feature
/// `io`): whether a wake scheduled on this thread right now comes from a
/// readiness event or timer that this worker is dispatching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reactor {
    /// Running tasks (or not a worker at all).
    Away,
    /// The worker handed control back to the reactor (to wait there, or to
    /// poll it once); nothing was dispatched to it yet.
    Inside,
    /// As `Inside`, and at least one wake was dispatched onto its queues.
    Dispatched,
}

/// The worker hands control to the reactor: wakes scheduled on this thread
/// until [`leave_reactor`] are readiness events it dispatches.
#[cfg_attr(not(any(feature = "io", feature = "net")), allow(dead_code))]
pub(crate) fn enter_reactor() {
    with(|c| c.reactor.set(Reactor::Inside));
}

/// The worker is back from the reactor; returns whether it dispatched any
/// wake onto its own queues while there.
#[cfg_attr(not(any(feature = "io", feature = "net")), allow(dead_code))]
pub(crate) fn leave_reactor() -> bool {
    with(|c| c.reactor.replace(Reactor::Away) == Reactor::Dispatched).unwrap_or(false)
}

/// Called by the schedule function on a worker thread: `Away` if the worker
/// is running tasks, otherwise where it was before this wake (`Inside` for
/// the first wake dispatched from the reactor, `Dispatched` for later ones),
/// and notes the dispatch.
#[cfg_attr(not(any(feature = "io", feature = "net")), allow(dead_code))]
pub(crate) fn note_dispatch() -> Reactor {
    with(|c| {
        let was = c.reactor.get();
        if was != Reactor::Away {
            c.reactor.set(Reactor::Dispatched);
        }
        was
    })
    .unwrap_or(Reactor::Away)
}
