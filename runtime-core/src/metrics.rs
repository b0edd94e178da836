//! Counters, kept per worker and summed on read.
//!
//! Each worker thread owns one cache-padded row of counters and is its only
//! writer, so a bump is a relaxed load and store: no read-modify-write, no
//! shared cache line on the hot path. Threads that are not workers of the
//! runtime (spawning from outside, dropping at shutdown) share one extra row
//! and use `fetch_add`. Reads sum the rows with relaxed loads, so a
//! [`Metrics`] snapshot may lag by the tasks in flight but is exact once the
//! runtime is idle.

use crossbeam_utils::CachePadded;

use crate::{
    context,
    sync::{AtomicU64, Ordering},
};

/// A snapshot of a runtime's counters, from [`Runtime::metrics`](crate::Runtime::metrics)
/// or [`Handle::metrics`](crate::Handle::metrics).
///
/// Counters may lag by the task in flight, and are exact once the runtime is
/// idle. Every spawned task ends up counted exactly once as completed,
/// panicked or cancelled: `spawned == completed + panicked + cancelled + live_tasks`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// The number of worker threads.
    pub worker_threads: usize,
    /// Tasks spawned (tasks refused because the runtime was shut down are not counted).
    pub spawned: u64,
    /// Tasks whose future returned `Ready`.
    pub completed: u64,
    /// Tasks whose poll panicked, or whose future panicked in its destructor
    /// right after completing; awaited or detached.
    pub panicked: u64,
    /// Tasks dropped before they finished: their `Task` was dropped or
    /// cancelled, or the runtime shut down.
    pub cancelled: u64,
    /// Polls run by workers.
    pub polls: u64,
    /// Tasks taken from a sibling worker's local queue or LIFO slot (a task
    /// stolen twice counts twice).
    pub steals: u64,
    /// Times a worker went to sleep because it found no work.
    pub parks: u64,
    /// Destructors of task futures that panicked where nobody could receive
    /// the panic (a cancelled task, or one dropped at shutdown), or while the
    /// task's own panic was already on its way to the awaiter. Contained and
    /// counted; the worker carries on. (A destructor that panics when its
    /// task completes makes the task panic instead: see [`Metrics::panicked`].)
    pub drop_panics: u64,
    /// Hooks (`on_thread_*`) and panic-policy callbacks that panicked:
    /// contained and counted; the worker carries on.
    pub hook_panics: u64,
    /// Tasks scheduled (spawned or woken) by a worker of this runtime onto
    /// its own queues: by the task it is running, or by a readiness event or
    /// timer it dispatched from the I/O reactor (feature `io`).
    pub local_schedules: u64,
    /// Tasks scheduled from a thread that is not a worker of this runtime
    /// (through the shared queues): spawns from outside, and wakes by other
    /// threads, such as async-io's own reactor thread.
    pub remote_schedules: u64,
    /// Tasks woken by a readiness event or timer that a worker dispatched
    /// from the I/O reactor onto its own queues (feature `io`; always 0
    /// without it). Counted in [`Metrics::local_schedules`] too.
    pub reactor_wakes: u64,
    /// Times a worker stayed inside one poll longer than
    /// `Builder::stall_threshold`: each stalled poll counts once.
    pub stalls: u64,
    /// Tasks that exist (spawned, not yet finished).
    pub live_tasks: u64,
    /// Tasks queued right now, in the shared and the local queues.
    pub queued: usize,
    /// Threads of the blocking pool alive right now, running a
    /// `spawn_blocking` closure or idle within their keep-alive.
    pub blocking_threads: usize,
    /// `spawn_blocking` closures waiting for a blocking thread right now.
    pub blocking_queued: usize,
    /// Sources (sockets, `AsyncFd`s) registered with the runtime's own I/O
    /// driver so far (feature `net`; 0 without it): one `epoll_ctl(ADD)`
    /// each. A registration is never modified afterwards.
    pub io_registered: u64,
    /// Sources deregistered so far (dropped, or turned back into std types):
    /// one `epoll_ctl(DEL)` each.
    pub io_deregistered: u64,
    /// Readiness events the driver dispatched to registered sources.
    pub io_ready_events: u64,
    /// Operations on the driver's sources whose syscall returned
    /// `WouldBlock` (each clears that direction's readiness). A stream read
    /// that comes back short clears the readiness without that syscall, so
    /// a keep-alive connection's reads add nothing here in steady state; a
    /// read that filled its buffer exactly, an accept or a receive that
    /// found nothing left, a write into a full buffer do.
    pub io_would_block: u64,
    /// Timers registered with the runtime right now (feature `net`; always
    /// 0 without it): each `runtime_core::time::Sleep` polled before its
    /// deadline holds one until it resolves or is dropped.
    pub timers: usize,
}

/// One counter of a [`Row`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Counter {
    Spawned,
    Completed,
    Panicked,
    Cancelled,
    Polls,
    Steals,
    Parks,
    DropPanics,
    HookPanics,
    LocalSchedules,
    RemoteSchedules,
    ReactorWakes,
    Stalls,
}

const COUNTERS: usize = 13;

#[derive(Debug, Default)]
struct Row([AtomicU64; COUNTERS]);

/// All the counters of one runtime.
#[derive(Debug)]
pub(crate) struct Stats {
    /// The runtime's id, to recognise its own worker threads.
    runtime_id: usize,
    /// The configured worker count (rows include spare slots for
    /// replacements of stalled workers).
    worker_threads: usize,
    workers: Box<[CachePadded<Row>]>,
    outside: CachePadded<Row>,
}

impl Stats {
    pub(crate) fn new(runtime_id: usize, worker_threads: usize, slots: usize) -> Self {
        Self {
            runtime_id,
            worker_threads,
            workers: (0..slots).map(|_| CachePadded::new(Row::default())).collect(),
            outside: CachePadded::new(Row::default()),
        }
    }

    /// Adds one to `counter`, in the calling worker's row if it is one of ours.
    #[inline]
    pub(crate) fn bump(&self, counter: Counter) {
        self.add(counter, 1);
    }

    /// Adds `n` to `counter`, in the calling worker's row if it is one of ours.
    pub(crate) fn add(&self, counter: Counter, n: u64) {
        self.add_for(context::worker_index(self.runtime_id), counter, n);
    }

    /// Adds `n` to `counter` in the row of `worker`, which the caller found
    /// to be this thread's index among the runtime's workers (`None`: not a
    /// worker of it, the shared row).
    #[inline]
    pub(crate) fn add_for(&self, worker: Option<usize>, counter: Counter, n: u64) {
        match worker {
            Some(index) => self.add_at(index, counter, n),
            None => {
                self.outside.0[counter as usize].fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    /// Adds `n` to `counter` in worker `index`'s row. Only worker `index`
    /// may call this: it is the row's single writer, which is what makes a
    /// plain load and store (no read-modify-write) exact.
    #[inline]
    pub(crate) fn add_at(&self, index: usize, counter: Counter, n: u64) {
        let cell = &self.workers[index].0[counter as usize];
        cell.store(cell.load(Ordering::Relaxed) + n, Ordering::Relaxed);
    }

    fn sum(&self, counter: Counter) -> u64 {
        let i = counter as usize;
        self.workers.iter().map(|row| row.0[i].load(Ordering::Relaxed)).sum::<u64>()
            + self.outside.0[i].load(Ordering::Relaxed)
    }

    /// Sums every row into a snapshot (`queued` and the blocking pool's
    /// fields are filled in by the caller).
    pub(crate) fn snapshot(&self) -> Metrics {
        let spawned = self.sum(Counter::Spawned);
        let completed = self.sum(Counter::Completed);
        let panicked = self.sum(Counter::Panicked);
        let cancelled = self.sum(Counter::Cancelled);
        Metrics {
            worker_threads: self.worker_threads,
            spawned,
            completed,
            panicked,
            cancelled,
            polls: self.sum(Counter::Polls),
            steals: self.sum(Counter::Steals),
            parks: self.sum(Counter::Parks),
            drop_panics: self.sum(Counter::DropPanics),
            hook_panics: self.sum(Counter::HookPanics),
            local_schedules: self.sum(Counter::LocalSchedules),
            remote_schedules: self.sum(Counter::RemoteSchedules),
            reactor_wakes: self.sum(Counter::ReactorWakes),
            stalls: self.sum(Counter::Stalls),
            live_tasks: spawned.saturating_sub(completed + panicked + cancelled),
            queued: 0,
            blocking_threads: 0,
            blocking_queued: 0,
            io_registered: 0,
            io_deregistered: 0,
            io_ready_events: 0,
            io_would_block: 0,
            timers: 0,
        }
    }
}
