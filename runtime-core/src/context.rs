//! Thread-local context: which runtime's worker this thread is, which runtime
//! `spawn()` targets, and whether a `block_on` is running here.

use std::cell::{Cell, RefCell};

use crate::{
    handle::{Handle, SchedulerRef},
    queue::Priority,
    task_id::TaskId,
};

#[cfg(not(loom))]
std::thread_local! {
    /// `(runtime id, worker index)` on a worker thread.
    static WORKER: Cell<Option<(usize, usize)>> = const { Cell::new(None) };
    /// The runtime that `runtime_core::spawn` targets on this thread.
    static CURRENT: RefCell<Option<Handle>> = const { RefCell::new(None) };
    /// Set while a `block_on` is driving a future on this thread.
    static IN_BLOCK_ON: Cell<bool> = const { Cell::new(false) };
    /// The id of the task a worker is polling on this thread.
    static CURRENT_TASK: Cell<Option<TaskId>> = const { Cell::new(None) };
    /// A worker's place with respect to the I/O reactor: see [`Reactor`].
    static REACTOR: Cell<Reactor> = const { Cell::new(Reactor::Away) };
    /// A worker's stall watch: the runtime's `Stall` and its slot.
    static WATCH: RefCell<Option<(std::sync::Arc<crate::stall::Stall>, usize)>> = const { RefCell::new(None) };
}

// loom's macro takes no `const { .. }` initialisers.
#[cfg(loom)]
loom::thread_local! {
    /// `(runtime id, worker index)` on a worker thread.
    static WORKER: Cell<Option<(usize, usize)>> = Cell::new(None);
    /// The runtime that `runtime_core::spawn` targets on this thread.
    static CURRENT: RefCell<Option<Handle>> = RefCell::new(None);
    /// Set while a `block_on` is driving a future on this thread.
    static IN_BLOCK_ON: Cell<bool> = Cell::new(false);
    /// The id of the task a worker is polling on this thread.
    static CURRENT_TASK: Cell<Option<TaskId>> = Cell::new(None);
    /// A worker's place with respect to the I/O reactor: see [`Reactor`].
    static REACTOR: Cell<Reactor> = Cell::new(Reactor::Away);
    /// A worker's stall watch: the runtime's `Stall` and its slot.
    static WATCH: RefCell<Option<(std::sync::Arc<crate::stall::Stall>, usize)>> = RefCell::new(None);
}

/// This thread's worker index if it is a worker of runtime `runtime_id`.
pub(crate) fn worker_index(runtime_id: usize) -> Option<usize> {
    WORKER
        .try_with(|w| match w.get() {
            Some((id, index)) if id == runtime_id => Some(index),
            _ => None,
        })
        .ok()
        .flatten()
}

/// Whether this thread is a worker of any runtime.
pub(crate) fn is_worker() -> bool {
    WORKER.try_with(|w| w.get().is_some()).unwrap_or(false)
}

/// Whether a `block_on` is running on this thread.
pub(crate) fn in_block_on() -> bool {
    IN_BLOCK_ON.try_with(Cell::get).unwrap_or(false)
}

/// A clone of the current runtime's scheduler for `priority`, if any: all
/// that a spawn needs, without cloning the whole handle.
pub(crate) fn scheduler(priority: Priority) -> Option<SchedulerRef> {
    CURRENT.try_with(|c| c.borrow().as_ref().map(|h| h.scheduler(priority).clone())).ok().flatten()
}

/// A clone of the current runtime's handle, if any.
pub(crate) fn current() -> Option<Handle> {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}

/// Marks this thread as worker `index` of runtime `runtime_id` and makes
/// `handle` current, until the guard drops.
pub(crate) fn enter_worker(runtime_id: usize, index: usize, handle: Handle) -> WorkerGuard {
    WORKER.with(|w| w.set(Some((runtime_id, index))));
    CURRENT.with(|c| *c.borrow_mut() = Some(handle));
    WorkerGuard(())
}

/// Undoes [`enter_worker`] on drop.
pub(crate) struct WorkerGuard(());

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        let _ = WORKER.try_with(|w| w.set(None));
        // Take the handle out before dropping it: dropping may run arbitrary
        // destructors, which must not find the RefCell borrowed.
        let handle = CURRENT.try_with(|c| c.borrow_mut().take()).ok().flatten();
        drop(handle);
    }
}

/// Makes `handle` current (for `spawn` and `Handle::current`) until the
/// guard drops, which restores the previous one. Used around `block_on`, and
/// around a shutdown's drain so that destructors it runs can still spawn
/// (and get a cancelled task) instead of panicking.
pub(crate) fn enter_current(handle: Handle) -> CurrentGuard {
    let previous = CURRENT.try_with(|c| c.borrow_mut().replace(handle)).ok().flatten();
    CurrentGuard { previous }
}

/// Undoes [`enter_current`] on drop.
pub(crate) struct CurrentGuard {
    previous: Option<Handle>,
}

impl Drop for CurrentGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let ours = CURRENT.try_with(|c| std::mem::replace(&mut *c.borrow_mut(), previous)).ok().flatten();
        // Dropped outside the borrow: dropping a handle may run destructors.
        drop(ours);
    }
}

/// Marks this thread as inside `block_on` with `handle` current, until the
/// guard drops.
pub(crate) fn enter_block_on(handle: Handle) -> BlockOnGuard {
    IN_BLOCK_ON.with(|b| b.set(true));
    BlockOnGuard { _current: enter_current(handle) }
}

/// Undoes [`enter_block_on`] on drop.
pub(crate) struct BlockOnGuard {
    _current: CurrentGuard,
}

impl Drop for BlockOnGuard {
    fn drop(&mut self) {
        let _ = IN_BLOCK_ON.try_with(|b| b.set(false));
    }
}

/// Marks task `id` as the one this worker thread is polling, until the
/// guard drops. Only the worker calls this, around `Runnable::run`.
pub(crate) fn enter_task(id: TaskId) -> TaskGuard {
    let _ = CURRENT_TASK.try_with(|c| c.set(Some(id)));
    TaskGuard(())
}

/// Undoes [`enter_task`] on drop (also when the poll unwinds).
pub(crate) struct TaskGuard(());

impl Drop for TaskGuard {
    fn drop(&mut self) {
        let _ = CURRENT_TASK.try_with(|c| c.set(None));
    }
}

/// The id of the task being polled on this thread.
pub(crate) fn current_task_id() -> Option<TaskId> {
    CURRENT_TASK.try_with(Cell::get).ok().flatten()
}

/// Where a worker thread stands with respect to the I/O reactor (feature
/// `io`): whether a wake scheduled on this thread right now comes from a
/// readiness event or timer that this worker is dispatching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reactor {
    /// Running tasks (or not a worker at all).
    Away,
    /// The worker handed control back to the reactor's `block_on` (to wait
    /// there, or to poll it once); nothing was dispatched to it yet.
    Inside,
    /// As `Inside`, and at least one wake was dispatched onto its queues.
    Dispatched,
}

/// The worker hands control to the reactor's `block_on`: wakes scheduled on
/// this thread until [`leave_reactor`] are readiness events it dispatches.
#[cfg_attr(not(feature = "io"), allow(dead_code))]
pub(crate) fn enter_reactor() {
    let _ = REACTOR.try_with(|r| r.set(Reactor::Inside));
}

/// The worker is back from the reactor; returns whether it dispatched any
/// wake onto its own queues while there.
#[cfg_attr(not(feature = "io"), allow(dead_code))]
pub(crate) fn leave_reactor() -> bool {
    REACTOR.try_with(|r| r.replace(Reactor::Away) == Reactor::Dispatched).unwrap_or(false)
}

/// Called by the schedule function on a worker thread: `Away` if the worker
/// is running tasks, otherwise where it was before this wake (`Inside` for
/// the first wake dispatched from the reactor, `Dispatched` for later ones),
/// and notes the dispatch.
#[cfg_attr(not(feature = "io"), allow(dead_code))]
pub(crate) fn note_dispatch() -> Reactor {
    REACTOR
        .try_with(|r| {
            let was = r.get();
            if was != Reactor::Away {
                r.set(Reactor::Dispatched);
            }
            was
        })
        .unwrap_or(Reactor::Away)
}

/// Publishes where the task being polled on this worker thread was spawned,
/// for the stall watcher (`stall.rs`); a no-op elsewhere.
pub(crate) fn publish_spawn_location(location: &'static std::panic::Location<'static>) {
    let _ = WATCH.try_with(|watch| {
        if let Some(watch) = watch.borrow().as_ref() {
            watch.0.watches[watch.1].set_location(location);
        }
    });
}

/// Makes slot `index` of `stall` this thread's [`Watch`](crate::stall::Watch)
/// until the guard drops (a worker, for its whole life).
pub(crate) fn enter_watch(stall: std::sync::Arc<crate::stall::Stall>, index: usize) -> WatchGuard {
    let _ = WATCH.try_with(|watch| *watch.borrow_mut() = Some((stall, index)));
    WatchGuard(())
}

/// Undoes [`enter_watch`] on drop.
pub(crate) struct WatchGuard(());

impl Drop for WatchGuard {
    fn drop(&mut self) {
        let taken = WATCH.try_with(|watch| watch.borrow_mut().take()).ok().flatten();
        drop(taken);
    }
}
