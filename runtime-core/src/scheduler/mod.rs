//! Where runnables go: the shared state of one runtime and its schedule
//! function.
//!
//! # Queues
//!
//! - Two *shared* queues (one per [`Priority`]) take tasks spawned or woken
//!   from threads that are not workers of this runtime.
//! - Each worker owns a [`Local`]: two local queues (one per priority) and a
//!   *LIFO slot*. A `Low` task spawned or woken by a task running on that
//!   worker goes into the LIFO slot, so that a task that wakes another (a
//!   channel send, a spawn) has it run next, with its data still in cache. The
//!   task the slot held moves to the back of the local `Low` queue. A task that
//!   woke *itself* (it yielded) goes to the back of its yield queue instead
//!   (see below), so that yielding lets others run. `High` tasks skip the
//!   slot.
//! - A `Runnable` carries no priority: the queue it sits in tells, and the
//!   LIFO slot holds `Low` tasks only.
//! - *Reserved workers* (`Builder::high_priority_workers`, workers `0..n`)
//!   run only `High` tasks: they take from their local `High` queue, the
//!   shared `High` queue, and steal `High` tasks from siblings. A `Low` task
//!   that a task on a reserved worker spawns or wakes goes to the shared
//!   `Low` queue, where the other workers look. They park and are woken
//!   apart from the others (see "Reserved workers" in `idle.rs`).
//! - Any thread may pop from any queue: siblings steal from local queues,
//!   yield queues and LIFO slots when they run dry (the LIFO slot of tokio
//!   was unstealable, tokio#4941). Siblings that are busy do not steal, so
//!   a worker stuck in a long poll is handed off by the stall watcher
//!   (`stall.rs`): once its poll passes `stall_threshold`, everything queued
//!   on it moves to the shared queues, where busy workers look too, and if
//!   every worker is stuck a replacement thread starts. No task is stranded
//!   behind a stuck worker for much longer than the threshold.
//! - A task that woke itself while running (it yielded) goes to its worker's
//!   yield queue (`yield_queue.rs`), not the backend: one producer, cheap.
//!
//! # Who notifies
//!
//! Every push is followed by [`Idle::notify_one`](crate::idle::Idle::notify_one):
//! pushes to the shared queues, to local queues, and into a LIFO slot. The
//! LIFO slot is no exception, because the worker that filled it may stay in
//! its current poll for a long time (or block in it), and a task in a slot
//! that nobody is told about would be stranded there (tokio#4941, where the
//! slot could not even be stolen). `notify_one` costs a fence and two loads
//! when a sibling is already searching or none is asleep, which is the common
//! case under load. To keep a message hop from becoming a hand-off between
//! threads, a searching sibling takes a LIFO slot only after a first round of
//! looking elsewhere: a worker whose poll is short runs its LIFO task itself
//! before the thief gets to it.
//!
//! # Shutdown
//! Close, then drain: the protocol and exactly what shutdown promises are
//! in `drain.rs`, next to the drain that keeps them.
//!
//! # Files
//! `local.rs`: a worker's stealable state (its queues, LIFO slot and yield
//! queue) and the one place that lists them; `schedule.rs`: the schedule
//! function, the I/O dispatch and the handoff; `drain.rs`: shutdown's drain.

use std::fmt;

use crossbeam_utils::CachePadded;

use crate::{
    books::Books,
    config::Config,
    hooks::Hooks,
    idle::{Idle, WaitIn},
    metrics::{Counter, Metrics},
    queue::{Priority, Queue},
    stall::Stall,
    sync::{Arc, AtomicBool, AtomicUsize, Latch, Ordering, fence},
};

mod drain;
mod local;
mod schedule;

pub(crate) use local::Local;

/// Everything the workers of one runtime share.
pub(crate) struct Shared<Q> {
    pub(crate) books: Arc<Books>,
    /// Indexed by [`Priority::index`].
    pub(crate) shared_queues: [Q; 2],
    pub(crate) locals: Box<[CachePadded<Local<Q>>]>,
    pub(crate) idle: Idle,
    /// High-priority runnables pushed and not yet taken to run: a hint that
    /// lets workers skip looking at the high queues when it is zero.
    pub(crate) high_queued: CachePadded<AtomicUsize>,
    /// Pushes to the shared queues so far: a worker whose task just yielded
    /// compares it with the value it last saw, to notice outside work
    /// without touching the queues themselves.
    pub(crate) injected: CachePadded<AtomicUsize>,
    /// Set by the final pass of the drain; see `drain.rs`.
    drained: AtomicBool,
    /// Counts the running workers down; shutdown waits for zero.
    pub(crate) exit: Latch,
    /// Workers `0..reserved` run only `High` tasks (see "Reserved workers").
    pub(crate) reserved: usize,
    pub(crate) hooks: Hooks,
    /// The stall watch state shared with the watcher thread (`stall.rs`).
    pub(crate) stall: std::sync::Arc<Stall>,
}

impl<Q: Queue> Shared<Q> {
    pub(crate) fn new(id: usize, config: &Config) -> Self {
        let workers = config.workers;
        // Worker slots: the workers, and spares for replacements of stalled
        // workers (`stall.rs`).
        let slots = Stall::slots(workers, config.stall_threshold);
        Self {
            books: Arc::new(Books::new(id, config, slots)),
            shared_queues: [Q::new(), Q::new()],
            locals: (0..slots).map(|_| CachePadded::new(Local::new())).collect(),
            idle: Idle::with_slots(workers, slots, wait_in(config)),
            high_queued: CachePadded::new(AtomicUsize::new(0)),
            injected: CachePadded::new(AtomicUsize::new(0)),
            drained: AtomicBool::new(false),
            exit: Latch::new(workers),
            reserved: config.reserved,
            hooks: config.hooks.clone(),
            stall: std::sync::Arc::new(Stall::new(
                workers,
                slots,
                config.stall_threshold,
                config.on_stall.clone(),
            )),
        }
    }

    /// The shared queue of `priority`.
    #[inline]
    pub(crate) fn shared_queue(&self, priority: Priority) -> &Q {
        &self.shared_queues[priority.index()]
    }

    /// Whether worker `index` runs only `High` tasks.
    pub(crate) fn is_reserved(&self, index: usize) -> bool {
        index < self.reserved
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.books.is_closed()
    }

    /// Marks the runtime closed and wakes every worker (and the watcher).
    /// Returns `true` if this call closed it. The handle's `close` also
    /// closes the blocking pool: call that one unless only the workers'
    /// side is meant.
    pub(crate) fn close(&self) -> bool {
        let first = self.books.set_closed();
        fence(Ordering::SeqCst);
        // Every socket fails from now on and its waiters are woken (to be
        // dropped by the drain). A worker waiting in the driver is woken by
        // `unpark_all` below, like any other.
        #[cfg(all(feature = "net", not(loom)))]
        self.books.io.shutdown();
        self.stall.notify();
        self.idle.unpark_all();
        first
    }

    /// Whether any queue holds a `High` runnable (a reserved worker's
    /// re-check before it parks).
    pub(crate) fn has_high_work(&self) -> bool {
        !self.shared_queue(Priority::High).is_empty()
            || self.locals.iter().any(|l| !l.queue(Priority::High).is_empty())
    }

    /// Whether any queue or LIFO slot holds a runnable.
    pub(crate) fn has_work(&self) -> bool {
        self.shared_queues.iter().any(|q| !q.is_empty()) || self.locals.iter().any(|l| l.has_work())
    }

    /// The number of queued runnables.
    pub(crate) fn queued(&self) -> usize {
        self.shared_queues.iter().map(Q::len).sum::<usize>()
            + self.locals.iter().map(|l| l.len()).sum::<usize>()
    }

    /// A snapshot of the counters, with `queued` filled in (the blocking
    /// pool's fields are the handle's to fill).
    pub(crate) fn metrics(&self) -> Metrics {
        let mut metrics = self.books.stats.snapshot();
        metrics.queued = self.queued();
        #[cfg(all(feature = "net", not(loom)))]
        self.books.io.fill(&mut metrics);
        metrics
    }

    /// Adds `n` to `counter` in worker `index`'s row; only that worker calls this.
    pub(crate) fn count(&self, index: usize, counter: Counter, n: u64) {
        self.books.stats.add_at(index, counter, n);
    }
}

/// Where this build's idle workers wait: in the runtime's own I/O driver
/// (feature `net`, which wins over `io`: see "Which reactor" in `idle.rs`),
/// in async-io's reactor through their loop's `block_on` (feature `io`),
/// else on their parkers.
#[cfg_attr(not(all(feature = "net", not(loom))), allow(unused_variables))]
fn wait_in(config: &Config) -> WaitIn {
    #[cfg(all(feature = "net", not(loom)))]
    return WaitIn::Reactor(config.io.clone());
    #[allow(unreachable_code)]
    if cfg!(all(feature = "io", not(loom))) { WaitIn::BlockOn } else { WaitIn::Parker }
}

impl<Q> fmt::Debug for Shared<Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("id", &self.books.id)
            .field("workers", &self.locals.len())
            .field("closed", &self.books.is_closed())
            .finish_non_exhaustive()
    }
}
