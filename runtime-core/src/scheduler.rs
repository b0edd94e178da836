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
//! # Shutdown: close, then drain
//!
//! 1. `closed` is set once, by the runtime's shutdown, a failed build, or a
//!    worker that died (a `Queue` backend panicked: the runtime closes
//!    visibly rather than run on short-handed; see `worker.rs`). Workers stop
//!    taking tasks (a worker that popped one just before checks again and
//!    drops it unpolled), spawns are refused, and every worker is unparked so
//!    that it exits.
//! 2. [`Shared::drain`] runs once the workers are gone (on the thread that
//!    dropped the runtime, and again on the last worker out, since the
//!    dropping thread may have been unable to wait). It closes the registry,
//!    wakes every parked task, and pops and drops everything queued,
//!    repeating until a pass finds nothing: destructors may wake other tasks.
//!    A wake in this phase still *queues* the runnable rather than dropping
//!    it in the schedule function: the schedule function runs inside whoever
//!    called `wake()`, which may hold a lock of its own that the dropped
//!    future's destructor needs (the shape of tokio#2046). Futures are
//!    dropped by the drain, on its own thread, with the runtime current so
//!    that a destructor may still call `spawn` (it gets a cancelled task).
//! 3. **Wakes in flight.** async-task marks a task scheduled *before* it
//!    calls the schedule function, so a `wake()` on another thread can sit
//!    between the two while the drain runs: the drain's own wake of that task
//!    is then a no-op and the queues do not hold it yet. The registry entry
//!    of a parked task lives as long as its future (`registry.rs`), so the
//!    drain knows: while more registered futures are alive than workers are
//!    still running (each may be polling one), a wake is in flight, and the
//!    drain waits ([`Backoff`]) for it to land in a queue, then drops it
//!    itself. The wait is bounded ([`IN_FLIGHT_WAIT`]) so that a backend that
//!    loses a runnable (a broken `push`) cannot hang shutdown.
//! 4. Then the drain sets `drained` and makes one more pass. After `drained`
//!    no future of the runtime is alive but one that a worker still running
//!    is polling (`shutdown_timeout` gave up on it), so the schedule function
//!    drops what it is handed: that happens inside `Runnable::run`, on that
//!    worker, with no lock held.
//!
//! A push that raced with step 4 is caught by a Dekker pair: the pusher does
//! "push; `SeqCst` fence (in `notify_one`); load `drained`" and drains the
//! queues itself if it is set, the drain does "set `drained`; fence; pop".
//! Either the drain sees the push or the pusher sees `drained`, so no
//! runnable is left in a queue (where its schedule function's reference to
//! this state would keep both alive forever). Every push takes part, the
//! batches moved by `steal_into` included ([`Shared::notify_after_push`]):
//! a worker still running after `shutdown_timeout` gave up may be holding a
//! batch it popped from the shared queue.
//!
//! # What shutdown promises
//! When `drop(runtime)` returns, every future of the runtime has been
//! dropped (by a worker, or by the drain on the dropping thread), never
//! inside a user's `wake()`; the one exception is a `spawn` that races with
//! shutdown, whose future the spawning thread drops before `spawn` returns.
//! When `shutdown_timeout` gives up on workers still running, the same holds
//! except for the futures those workers hold (the task each is polling, or a
//! batch it is moving between queues): each is dropped by that worker when
//! that step ends, or by the last worker out. (In that case the drain tells
//! a wake in flight from a stuck poll by counting only, so a wake that races
//! the drain while a worker is stuck in the *first* poll of a task may still
//! land after it; the waking thread then drops that future.) Dropping the
//! runtime on one of its own workers cannot wait: the last worker out
//! drains. `spawn_blocking` closures are not futures a worker holds: those
//! not started are dropped at once, running ones are detached (`blocking.rs`).

use std::{any::Any, fmt, sync::OnceLock, time::Duration};

use async_task::ScheduleInfo;
use crossbeam_utils::CachePadded;

use crate::{
    blocking::Pool,
    builder::Config,
    context,
    handle::Handle,
    hooks::Hooks,
    idle::Idle,
    lifo::LifoSlot,
    metrics::{Counter, Metrics, Stats},
    panic_policy::{Action, PanicPolicy},
    queue::{Priority, Queue, Runnable},
    registry::Registry,
    stall::Stall,
    sync::{AtomicBool, AtomicUsize, Backoff, Mutex, Ordering, fence, thread},
    task_id::TaskId,
    yield_queue::YieldQueue,
};

/// The longest the drain waits for wakes in flight to land in a queue
/// (module docs, step 3), counted in [`Backoff::snooze`] calls: about a
/// second. Only a backend that loses runnables makes it wait that long.
#[cfg(not(loom))]
const IN_FLIGHT_WAIT: u32 = 1_000;

/// The runtime's books: the part of its state that does not depend on the
/// queue type (its id, the live-task registry, the counters, the panic
/// policy). What every task's [`Tracked`](crate::task::Tracked) wrapper
/// holds on to.
pub(crate) struct Books {
    /// Distinguishes this runtime's worker threads from others'.
    pub(crate) id: usize,
    pub(crate) registry: Registry,
    pub(crate) stats: Stats,
    pub(crate) panic_policy: PanicPolicy,
    /// Wrap each task to publish where it was spawned (`stall.rs`).
    pub(crate) track_locations: bool,
    /// Closes the runtime (for `PanicPolicy::ShutdownRuntime`); set once the
    /// runtime's shared state exists, holding it weakly.
    pub(crate) closer: OnceLock<Box<dyn Fn() + Send + Sync>>,
    /// The threads that run `spawn_blocking` closures (`blocking.rs`).
    pub(crate) blocking: Pool,
    /// The runtime's I/O driver (`io/`, feature `net`).
    #[cfg(all(feature = "net", not(loom)))]
    pub(crate) io: crate::sync::Arc<crate::io::Driver>,
}

impl Books {
    /// A panic nobody will see (`task.rs`): apply the policy.
    pub(crate) fn on_unobserved_panic(&self, id: TaskId, payload: &(dyn Any + Send)) {
        match self.panic_policy.apply(id, payload) {
            Action::Nothing => {}
            Action::Shutdown => {
                if let Some(close) = self.closer.get() {
                    close();
                }
            }
            Action::CallbackPanicked => self.stats.bump(Counter::HookPanics),
        }
    }
}

impl fmt::Debug for Books {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Books")
            .field("id", &self.id)
            .field("stats", &self.stats)
            .field("panic_policy", &self.panic_policy)
            .finish_non_exhaustive()
    }
}

/// A worker's stealable state.
pub(crate) struct Local<Q> {
    /// Indexed by [`Priority::index`].
    pub(crate) queues: [Q; 2],
    pub(crate) lifo: LifoSlot,
    /// `Low` tasks that woke themselves while running (`yield_queue.rs`).
    pub(crate) yields: YieldQueue,
    /// A hint for the owner: set by every push to the local `Low` queue,
    /// cleared by the owner when a pop finds that queue empty. Only the
    /// owning worker pushes to its local queues (spawns and wakes on it,
    /// its steals and batches), so `false` means "nothing pushed since it
    /// was last seen empty": a worker whose yield queue holds tasks skips
    /// the backend then. Stealers only pop, which can only make `true`
    /// stale, never `false`. Relaxed: read and written by the owner only.
    low_pushed: AtomicBool,
}

impl<Q: Queue> Local<Q> {
    fn new() -> Self {
        Local {
            queues: [Q::new(), Q::new()],
            lifo: LifoSlot::new(),
            yields: YieldQueue::new(),
            low_pushed: AtomicBool::new(false),
        }
    }

    /// Pushes to the local queue of `priority`. Only the owning worker may
    /// call this (see `low_pushed`).
    pub(crate) fn push(&self, priority: Priority, runnable: Runnable) {
        if priority == Priority::Low {
            self.low_pushed.store(true, Ordering::Relaxed);
        }
        self.queues[priority.index()].push(runnable);
    }

    /// Notes a batch moved into the local queue of `priority` (by
    /// `steal_into`); as `push`, owner only.
    pub(crate) fn note_batch(&self, priority: Priority) {
        if priority == Priority::Low {
            self.low_pushed.store(true, Ordering::Relaxed);
        }
    }

    /// Pops from the local `Low` queue, unless nothing was pushed there
    /// since it was last found empty. Owner only.
    pub(crate) fn pop_low(&self) -> Option<Runnable> {
        if !self.low_pushed.load(Ordering::Relaxed) {
            return None;
        }
        let popped = self.queues[Priority::Low.index()].pop();
        if popped.is_none() {
            self.low_pushed.store(false, Ordering::Relaxed);
        }
        popped
    }

    /// Whether any of this worker's queues or its LIFO slot holds a task.
    pub(crate) fn has_work(&self) -> bool {
        !self.lifo.is_empty() || !self.yields.is_empty() || self.queues.iter().any(|q| !q.is_empty())
    }
}

/// Everything the workers of one runtime share.
pub(crate) struct Shared<Q> {
    pub(crate) books: crate::sync::Arc<Books>,
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
    closed: AtomicBool,
    /// Set by the final pass of [`Shared::drain`]; see the module docs.
    drained: AtomicBool,
    /// Wakes the thread waiting in `shutdown_timeout` when the last worker exits.
    pub(crate) exit: crate::sync::Latch,
    /// The worker threads, joined by the first shutdown that sees them exit.
    pub(crate) threads: Mutex<Vec<thread::JoinHandle<()>>>,
    /// Workers `0..reserved` run only `High` tasks (see "Reserved workers").
    pub(crate) reserved: usize,
    pub(crate) hooks: Hooks,
    /// The stall watcher's state (`stall.rs`); its thread, joined by
    /// shutdown like the workers.
    pub(crate) stall: std::sync::Arc<Stall>,
    pub(crate) watcher: Mutex<Option<thread::JoinHandle<()>>>,
    /// Interim (issue 20): replaced when workers wait in the driver. The
    /// thread that turns the I/O driver, joined by shutdown like the watcher.
    #[cfg(all(feature = "net", not(loom)))]
    pub(crate) io_thread: Mutex<Option<thread::JoinHandle<()>>>,
}

impl<Q: Queue> Shared<Q> {
    pub(crate) fn new(id: usize, config: &Config) -> Self {
        let workers = config.workers;
        // Worker slots: the workers, and spares for replacements of stalled
        // workers (`stall.rs`).
        let slots = Stall::slots(workers, config.stall_threshold);
        Self {
            books: crate::sync::Arc::new(Books {
                id,
                registry: Registry::new(slots),
                stats: Stats::new(id, workers, slots),
                track_locations: config.track_spawn_locations && config.stall_threshold.is_some(),
                panic_policy: config.panic_policy.clone(),
                closer: OnceLock::new(),
                blocking: Pool::new(
                    id,
                    config.max_blocking_threads,
                    config.blocking_keep_alive,
                    &config.thread_name,
                ),
                #[cfg(all(feature = "net", not(loom)))]
                io: config.io.clone(),
            }),
            shared_queues: [Q::new(), Q::new()],
            locals: (0..slots).map(|_| CachePadded::new(Local::new())).collect(),
            idle: Idle::with_slots(workers, slots),
            high_queued: CachePadded::new(AtomicUsize::new(0)),
            injected: CachePadded::new(AtomicUsize::new(0)),
            closed: AtomicBool::new(false),
            drained: AtomicBool::new(false),
            exit: crate::sync::Latch::new(workers),
            threads: Mutex::new(Vec::with_capacity(workers)),
            reserved: config.reserved,
            hooks: config.hooks.clone(),
            stall: std::sync::Arc::new(Stall::new(
                workers,
                slots,
                config.stall_threshold,
                config.on_stall.clone(),
            )),
            watcher: Mutex::new(None),
            #[cfg(all(feature = "net", not(loom)))]
            io_thread: Mutex::new(None),
        }
    }

    /// Moves everything queued on worker `slot` (LIFO slot, yield queue,
    /// local queues) to the shared queues and notifies, as a push from
    /// outside does: the handoff of a stalled worker's tasks (`stall.rs`),
    /// and what a worker that steps aside leaves behind. Any thread.
    pub(crate) fn hand_off(&self, slot: usize) {
        let local = &self.locals[slot];
        let mut moved = [0usize; 2];
        let low = &self.shared_queues[Priority::Low.index()];
        if let Some(r) = local.lifo.take() {
            low.push(r);
            moved[Priority::Low.index()] += 1;
        }
        loop {
            let n = local.yields.take(32, |r| low.push(r));
            if n == 0 {
                break;
            }
            moved[Priority::Low.index()] += n;
        }
        for p in [Priority::High, Priority::Low] {
            while let Some(r) = local.queues[p.index()].pop() {
                self.shared_queues[p.index()].push(r);
                moved[p.index()] += 1;
            }
        }
        if moved != [0, 0] {
            self.injected.fetch_add(moved[0] + moved[1], Ordering::Relaxed);
            self.notify_after_push();
            if moved[Priority::High.index()] > 0 && self.reserved > 0 {
                self.idle.notify_reserved();
            }
        }
    }

    /// Whether worker `index` runs only `High` tasks.
    pub(crate) fn is_reserved(&self, index: usize) -> bool {
        index < self.reserved
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Marks the runtime closed and wakes every worker. Returns `true` if
    /// this call closed it.
    pub(crate) fn close(&self) -> bool {
        let first = !self.closed.swap(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        // Every socket fails from now on and its waiters are woken (to be
        // dropped by the drain); the unpark ends the driver's wait, so that
        // the interim I/O thread sees the shutdown and exits.
        #[cfg(all(feature = "net", not(loom)))]
        {
            self.books.io.shutdown();
            self.books.io.unpark();
        }
        self.stall.notify();
        self.idle.unpark_all();
        first
    }

    /// The schedule function of every task of this runtime.
    pub(crate) fn schedule(&self, runnable: Runnable, info: ScheduleInfo, priority: Priority) {
        if self.drained.load(Ordering::Acquire) {
            // Drained: the only live futures are ones a worker is still
            // polling, so this runs inside `Runnable::run` with no lock held.
            drop(runnable);
            return;
        }
        if priority == Priority::High {
            self.high_queued.fetch_add(1, Ordering::Relaxed);
        }
        match context::worker_index(self.books.id) {
            // A reserved worker runs no `Low` task: one it spawns or wakes
            // goes where the others look first.
            Some(index) if self.is_reserved(index) && priority == Priority::Low => {
                self.shared_queues[priority.index()].push(runnable);
                self.injected.fetch_add(1, Ordering::Relaxed);
                self.count(index, Counter::LocalSchedules, 1);
            }
            Some(index) => {
                self.count(index, Counter::LocalSchedules, 1);
                let local = &self.locals[index];
                match (priority, info.woken_while_running) {
                    (Priority::Low, false) => {
                        if let Some(previous) = local.lifo.replace(runnable) {
                            local.push(Priority::Low, previous);
                        }
                    }
                    // A yield: scheduled at the end of `Runnable::run`, so on
                    // the worker that polled it, the yield queue's one
                    // producer. No `notify_one` (see `yield_queue.rs`), and
                    // no `drained` check: this thread is a worker still
                    // counted as running, so the last worker out drains
                    // after it.
                    (Priority::Low, true) => match local.yields.push(runnable) {
                        Ok(()) => return,
                        Err(runnable) => local.push(Priority::Low, runnable),
                    },
                    (Priority::High, _) => local.push(Priority::High, runnable),
                }
                #[cfg(feature = "io")]
                if self.dispatched(index) {
                    return;
                }
            }
            None => {
                self.shared_queues[priority.index()].push(runnable);
                self.injected.fetch_add(1, Ordering::Relaxed);
                self.books.stats.add(Counter::RemoteSchedules, 1);
            }
        }
        self.notify_after_push();
        if priority == Priority::High && self.reserved > 0 {
            // After `notify_one`'s fence: see "Reserved workers" in `idle.rs`.
            self.idle.notify_reserved();
        }
    }

    /// After a push onto worker `index`'s own queues: if that worker is
    /// dispatching events from the I/O reactor, makes sure it comes back to
    /// run the task, without waking anyone else, and returns `true` (see
    /// "The I/O reactor" in `idle.rs`). Returns `false` if the worker is
    /// running tasks: the caller notifies as after any push.
    #[cfg(feature = "io")]
    fn dispatched(&self, index: usize) -> bool {
        let first = match context::note_dispatch() {
            context::Reactor::Away => return false,
            context::Reactor::Inside => true,
            context::Reactor::Dispatched => false,
        };
        self.count(index, Counter::ReactorWakes, 1);
        if first {
            // Ends the worker's wait in `block_on` (if it waits rather than
            // polls): the reactor returns to the worker loop after this
            // batch of events.
            self.idle.wake_worker(index);
        }
        // The shutdown Dekker pair, as in `notify_after_push`.
        fence(Ordering::SeqCst);
        if self.drained.load(Ordering::SeqCst) {
            self.drain_queues();
        }
        true
    }

    /// After a push: wake a sleeper if needed, or drain if the final drain
    /// raced us (module docs, "Shutdown").
    pub(crate) fn notify_after_push(&self) {
        // `notify_one` starts with a SeqCst fence, which also orders our push
        // before the `drained` load below.
        self.idle.notify_one();
        if self.drained.load(Ordering::SeqCst) {
            self.drain_queues();
        }
    }

    /// Pops and drops every queued runnable. Returns whether it found any.
    pub(crate) fn drain_queues(&self) -> bool {
        let mut found = false;
        for q in &self.shared_queues {
            while let Some(runnable) = q.pop() {
                drop(runnable);
                found = true;
            }
        }
        for local in self.locals.iter() {
            for q in &local.queues {
                while let Some(runnable) = q.pop() {
                    drop(runnable);
                    found = true;
                }
            }
            if let Some(runnable) = local.lifo.take() {
                drop(runnable);
                found = true;
            }
            while let Some(runnable) = local.yields.pop() {
                drop(runnable);
                found = true;
            }
        }
        found
    }

    /// Cancels every task: see the module docs. `running` is the number of
    /// workers that may still be polling a task. Safe to call more than once
    /// and from any thread, with no lock held.
    pub(crate) fn drain(&self, running: usize) {
        debug_assert!(self.is_closed());
        let mut backoff = Backoff::new();
        #[cfg(not(loom))]
        let mut waits = 0;
        loop {
            let wakers = self.books.registry.close();
            let woke = !wakers.is_empty();
            for waker in wakers {
                waker.wake();
            }
            let found = self.drain_queues();
            if woke || found {
                continue;
            }
            // Step 3: a registered future still alive that no running worker
            // can be polling is being woken right now.
            if self.books.registry.len() <= running {
                break;
            }
            #[cfg(not(loom))]
            {
                waits += 1;
                if waits > IN_FLIGHT_WAIT {
                    break;
                }
            }
            backoff.snooze();
        }
        self.drained.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        self.drain_queues();
    }

    /// Shuts the runtime down (see "What shutdown promises"): closes it,
    /// waits at most `timeout` (`None`: no limit) for the workers to exit and
    /// joins them, then drains with `handle` current. Waits for nothing on a
    /// worker thread (one of ours cannot wait for itself, and another
    /// runtime's must not block on us): the last worker out drains. Safe to
    /// call more than once, from `Runtime::drop` and from any handle.
    pub(crate) fn shutdown(&self, handle: &Handle, timeout: Option<Duration>) {
        // The blocking pool's closures still running are waited for only
        // with a timeout, within the same deadline (`blocking.rs`).
        let blocking_deadline = timeout.map(|timeout| std::time::Instant::now().checked_add(timeout));
        self.close();
        self.books.blocking.close(handle);
        if context::is_worker() {
            return;
        }
        if self.exit.wait(timeout) {
            let watcher = self.watcher.lock().take();
            // Not from the watcher itself (an `on_stall` callback that shuts
            // the runtime down): it exits on its own, having seen `closed`.
            if let Some(watcher) = watcher.filter(|w| w.thread().id() != thread::current().id()) {
                let _ = watcher.join();
            }
            // Interim (issue 20): replaced when workers wait in the driver.
            // It exits once `close` shut the driver down.
            #[cfg(all(feature = "net", not(loom)))]
            if let Some(io) =
                self.io_thread.lock().take().filter(|t| t.thread().id() != thread::current().id())
            {
                let _ = io.join();
            }
            let threads = std::mem::take(&mut *self.threads.lock());
            for thread in threads {
                // A worker that died (a panicking backend) already closed the
                // runtime and said why on stderr; shutdown does not turn that
                // into a second panic here.
                let _ = thread.join();
            }
        }
        // Otherwise the timeout passed and the threads stay detached. The
        // drain is idempotent: the last worker out drains too. Workers still
        // running are polling, or about to exit.
        let _current = context::enter_current(handle.clone());
        self.drain(self.exit.count());
        if let Some(deadline) = blocking_deadline {
            self.books.blocking.wait(deadline);
        }
    }

    /// Whether any queue holds a `High` runnable (a reserved worker's
    /// re-check before it parks).
    pub(crate) fn has_high_work(&self) -> bool {
        let high = Priority::High.index();
        !self.shared_queues[high].is_empty() || self.locals.iter().any(|l| !l.queues[high].is_empty())
    }

    /// Whether any queue or LIFO slot holds a runnable.
    pub(crate) fn has_work(&self) -> bool {
        self.shared_queues.iter().any(|q| !q.is_empty()) || self.locals.iter().any(|l| l.has_work())
    }

    /// The number of queued runnables.
    pub(crate) fn queued(&self) -> usize {
        self.shared_queues.iter().map(Q::len).sum::<usize>()
            + self
                .locals
                .iter()
                .map(|l| {
                    usize::from(!l.lifo.is_empty())
                        + l.yields.len()
                        + l.queues.iter().map(Q::len).sum::<usize>()
                })
                .sum::<usize>()
    }

    pub(crate) fn metrics(&self) -> Metrics {
        let mut metrics = self.books.stats.snapshot();
        metrics.queued = self.queued();
        self.books.blocking.fill(&mut metrics);
        #[cfg(all(feature = "net", not(loom)))]
        self.books.io.fill(&mut metrics);
        metrics
    }

    /// Adds `n` to `counter` in worker `index`'s row; only that worker calls this.
    pub(crate) fn count(&self, index: usize, counter: Counter, n: u64) {
        self.books.stats.add_at(index, counter, n);
    }
}

impl<Q> fmt::Debug for Shared<Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("id", &self.books.id)
            .field("workers", &self.locals.len())
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}
