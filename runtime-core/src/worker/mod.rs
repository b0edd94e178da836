//! The worker loop: find a task, run it, and sleep only when there is none.
//!
//! Each turn a worker looks, in order:
//! 1. every `FAIRNESS_INTERVAL` turns, and right after a task yielded if
//!    work was spawned from outside since it last looked, moves its fair
//!    share of each shared queue (at least one task, at most `MAX_BATCH`) to
//!    the back of its local queue, so that a worker busy with its own tasks
//!    (say, tasks that keep yielding) still makes progress on work spawned
//!    from outside; appending rather than running them first keeps tasks
//!    spawned from one thread in spawn order. (A yield is a task saying
//!    "let others run"; with polls that stall, 61 turns can be a long time);
//! 2. `High` work, if the `high_queued` hint says there is any, unless
//!    `HIGH_STREAK` `High` tasks ran in a row and a `Low` task is waiting;
//! 3. its LIFO slot (at most `LIFO_STREAK` times in a row, so two tasks
//!    waking each other cannot starve the local queue), its local `Low`
//!    queue, then a batch from the shared `Low` queue;
//! 4. otherwise it *searches* (see `idle.rs`): a few rounds of stealing
//!    half of a sibling's local queue (and, from the second round on, its LIFO
//!    slot), and of checking the shared queues, with a short spin between
//!    rounds;
//! 5. otherwise it registers as a sleeper, re-checks everything, and parks.
//!
//! A reserved worker (`Builder::high_priority_workers`) looks only for
//! `High` work: its local `High` queue, the shared `High` queue, then the
//! siblings' local `High` queues; otherwise it parks on the reserved
//! sleepers' list (`idle.rs`).
//!
//! A task's poll runs inside `catch_unwind`, so nothing a task does can kill
//! its worker; the panic count itself is kept by the task wrapper.
//!
//! On exit (after shutdown) the worker counts itself out on the runtime's
//! exit latch; the last worker out drains the queues, since the thread that
//! dropped the runtime may be a worker that cannot wait for itself.
//!
//! A worker dies only if the runtime's own machinery panics: a `Queue`
//! backend that breaks its contract (task panics, destructors included, are
//! caught). A dying worker leaves the idle protocol's counts as they would be
//! had it parked (it stops searching, and leaves the sleepers list), then
//! closes the runtime (the workers' side and the blocking pool, as every
//! close does: `Handle::close`): a runtime never runs on silently
//! short-handed, nor drains itself while still open. Spawns are then refused
//! and every pending `Task` reports cancellation (blocking closures not yet
//! started too), the backend's panic message is on stderr,
//! and `Handle::is_shutdown` says `true`. The last worker out drains inside
//! `catch_unwind`, since a backend that panicked once may panic again while
//! the thread is already unwinding.
//!
//! # Files
//! `next.rs`: where the next task comes from (`next_task`,
//! `next_local_task`, `steal_work`, `search`); `park.rs`: the park steps
//! (`transition_to_parked`, `wait_parked`, `transition_from_parked`);
//! `reactor.rs` (feature `io`): the loop as a future inside the reactor's
//! `block_on`.
//!

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    thread,
};

use crate::{
    context,
    handle::{Handle, enter_current},
    hooks::{Hook, Hooks},
    metrics::Counter,
    queue::{Priority, Queue, Runnable},
    scheduler::Shared,
    stall::{Replacement, enter_watch},
    sync::{Arc, Ordering},
    task_id::enter_task,
};

#[cfg(all(feature = "net", not(loom)))]
mod driver;
mod next;
mod park;
#[cfg(all(feature = "io", not(feature = "net"), not(loom)))]
mod reactor;

/// A busy worker lets the reactor be polled (without waiting) at most this
/// often, checked every `FAIRNESS_INTERVAL` tasks, so that events reach a
/// runtime whose workers never run dry, at the cost of one `epoll_wait` per
/// interval per worker (features `io` and `net`).
#[cfg(all(any(feature = "io", feature = "net"), not(loom)))]
const REACTOR_INTERVAL: std::time::Duration = std::time::Duration::from_micros(200);

struct Worker<Q> {
    shared: Arc<Shared<Q>>,
    index: usize,
    tick: u32,
    high_streak: u32,
    lifo_streak: u32,
    searching: bool,
    /// The last poll ended with the task waking itself (it yielded).
    yielded: bool,
    /// Between `transition_to_parked` and `transition_from_parked`.
    registered: bool,
    /// Runs only `High` tasks.
    reserved: bool,
    /// `Low` tasks taken in a row from elsewhere while the yield queue held
    /// tasks.
    yield_wait: u32,
    /// `Shared::injected` when this worker last emptied its view of the
    /// shared queues.
    injected_seen: usize,
    rng: u32,
    /// Feature `io` (without `net`): the worker returned `Pending` to the
    /// reactor's `block_on` to wait (registered as a sleeper), not just to
    /// poll it.
    #[cfg(all(feature = "io", not(feature = "net"), not(loom)))]
    waiting: bool,
    /// Features `io` or `net`: when the worker last came back from the
    /// reactor (waited there, or polled it).
    #[cfg(all(any(feature = "io", feature = "net"), not(loom)))]
    reactor_seen: std::time::Instant,
    /// Feature `net`: the last poll spent its whole cooperative budget; the
    /// worker polls the I/O driver before it runs anything else.
    #[cfg(all(feature = "net", not(loom)))]
    budget_spent: bool,
    /// Feature `io` (without `net`): `Idle` has this worker's `block_on` waker.
    #[cfg(all(feature = "io", not(feature = "net"), not(loom)))]
    waker_set: bool,
    /// Stalls are watched: publish each poll (`stall.rs`).
    watched: bool,
    /// A replacement took over while this worker was stalled: it leaves its
    /// loop and exits (`stall.rs`, "Threads").
    retired: bool,
}

/// The body of worker thread `index`; a replacement of a stalled worker
/// (`replaces`) first takes over from it, or exits at once if that worker
/// carried on (`stall.rs`, "Threads", step 3).
pub(crate) fn run<Q: Queue>(
    shared: Arc<Shared<Q>>,
    index: usize,
    handle: Handle,
    replaces: Option<Replacement>,
) {
    // Declared first, so dropped last: counts the worker out even if the
    // loop unwinds (a panicking `Queue` backend), so that shutdown never
    // waits for a worker that is gone.
    let _exit = ExitGuard { shared: shared.clone(), handle: handle.clone() };
    if let Some(replacement) = replaces {
        if !shared.stall.take_over(&replacement) {
            shared.stall.release(replacement);
            return;
        }
    }
    let _current = enter_current(handle);
    let _worker = context::enter_worker(shared.books.id, index);
    let _watch = shared.books.track_locations.then(|| enter_watch(shared.stall.clone(), index));
    let mut worker = Worker::new(shared, index);
    worker.hook(|hooks| &hooks.thread_start);
    if worker.reserved {
        worker.run_reserved_loop();
    } else {
        #[cfg(all(feature = "io", not(feature = "net"), not(loom)))]
        async_io::block_on(std::future::poll_fn(|cx| worker.poll_loop(cx)));
        #[cfg(not(all(feature = "io", not(feature = "net"), not(loom))))]
        worker.run_loop();
    }
    // A normal exit only: not while unwinding (see `hooks.rs`).
    worker.hook(|hooks| &hooks.thread_stop);
}

/// Counts a worker out on the exit latch; the last one out drains.
struct ExitGuard<Q: Queue> {
    shared: Arc<Shared<Q>>,
    handle: Handle,
}

impl<Q: Queue> Drop for ExitGuard<Q> {
    fn drop(&mut self) {
        let dying = thread::panicking();
        if dying {
            // Never a half-state: see the module docs. The handle's close,
            // so that the blocking pool closes too.
            self.handle.close();
        }
        count_out(&self.shared, &self.handle, dying);
    }
}

/// Counts a worker out on the exit latch (or a replacement whose thread
/// never started: `watcher.rs`); the last one out drains. `dying`: the
/// thread is unwinding. The last one out while the runtime is open would
/// be a bug of this crate's ("Threads" in `stall.rs` rules it out): it then
/// closes the runtime and drains, so that nothing waits forever, and panics
/// with a message that says what broke.
pub(crate) fn count_out<Q: Queue>(shared: &Shared<Q>, handle: &Handle, dying: bool) {
    if !shared.exit.count_down() {
        return;
    }
    let open = !shared.is_closed();
    if open {
        handle.close();
    }
    {
        // The last one out: nothing can push to a local queue any more. The
        // runtime is current, so that destructors the drain runs may still
        // spawn (and get cancelled tasks).
        let _current = enter_current(handle.clone());
        if dying {
            // A second panic while unwinding would abort the process.
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| shared.drain(0))) {
                crate::panic_policy::drop_payload(payload);
            }
        } else {
            shared.drain(0);
        }
    }
    assert!(
        !open,
        "runtime-core bug: the last worker thread exited while the runtime was open (the stall \
         replacement protocol must rule this out); the runtime has been closed"
    );
}

impl<Q> Drop for Worker<Q> {
    /// Gives back the worker's place in the idle protocol: needed when it
    /// unwinds mid-loop (a panicking backend); harmless after a normal exit
    /// (it leaves the loop counted as a searcher, and the runtime is closed).
    fn drop(&mut self) {
        #[cfg(all(feature = "io", not(feature = "net"), not(loom)))]
        if self.waker_set {
            self.shared.idle.set_waker(self.index, None);
        }
        if self.reserved {
            if self.registered {
                self.shared.idle.unregister_reserved(self.index);
            }
        } else if self.searching || self.registered {
            self.shared.idle.abandon(self.index, self.searching);
        }
        // Last: from here on nothing of this worker's uses its slot, which
        // a later replacement may take (a spare, once its worker retired).
        if self.retired {
            self.shared.stall.free_slot(self.index);
        }
    }
}

impl<Q: Queue> Worker<Q> {
    /// Worker `index`'s state, before it runs anything.
    fn new(shared: Arc<Shared<Q>>, index: usize) -> Self {
        Worker {
            rng: 0x9E37_79B9 ^ (index as u32).wrapping_mul(0x85EB_CA6B) | 1,
            reserved: shared.is_reserved(index),
            // No watcher thread runs under loom: publishing polls there would
            // only add atomics to the models.
            watched: cfg!(not(loom)) && shared.stall.threshold.is_some(),
            shared,
            index,
            tick: 0,
            high_streak: 0,
            lifo_streak: 0,
            searching: false,
            yielded: false,
            yield_wait: 0,
            registered: false,
            injected_seen: 0,
            #[cfg(all(feature = "io", not(feature = "net"), not(loom)))]
            waiting: false,
            #[cfg(all(any(feature = "io", feature = "net"), not(loom)))]
            reactor_seen: std::time::Instant::now(),
            #[cfg(all(feature = "net", not(loom)))]
            budget_spent: false,
            #[cfg(all(feature = "io", not(feature = "net"), not(loom)))]
            waker_set: false,
            retired: false,
        }
    }

    /// Runs one of the user's hooks, counting a panic (contained).
    fn hook(&self, which: impl FnOnce(&Hooks) -> &Option<Hook>) {
        if !Hooks::run(which(&self.shared.hooks)) {
            self.shared.count(self.index, Counter::HookPanics, 1);
        }
    }

    /// The loop of a reserved worker: `High` tasks only.
    fn run_reserved_loop(&mut self) {
        while !self.shared.is_closed() && !self.retired {
            match self.take_high_anywhere() {
                Some(runnable) => self.run_task(runnable, Priority::High),
                None => self.park(),
            }
        }
    }

    #[cfg_attr(all(feature = "io", not(feature = "net"), not(loom)), allow(dead_code))]
    fn run_loop(&mut self) {
        while !self.shared.is_closed() && !self.retired {
            match self.next_task().or_else(|| self.search()) {
                Some((runnable, priority)) => {
                    self.run_task(runnable, priority);
                    #[cfg(all(feature = "net", not(loom)))]
                    self.poll_driver_if_due();
                }
                None => self.park(),
            }
        }
    }

    /// A replacement runs in this worker's stead (it was stalled; see
    /// "Threads" in `stall.rs`): hand what its last poll queued to the
    /// others, and leave the loop. Its slot is freed when it drops.
    fn retire(&mut self) {
        self.retired = true;
        self.shared.stall.retire();
        self.shared.hand_off(self.index);
    }

    fn run_task(&mut self, runnable: Runnable, priority: Priority) {
        if self.shared.is_closed() {
            // Taken just before shutdown: never polled after it, and not
            // dropped here either but put back for the drain, which runs
            // once this thread is no longer a worker (the last worker out,
            // or the thread that shuts down). A future's destructor may
            // drop a runtime it owns, whose shutdown waits only off a
            // worker thread (`handle/shutdown.rs`). After the final drain
            // (`shutdown_timeout` gave up on this worker) the push drops it
            // right here instead.
            self.shared.shared_queue(priority).push(runnable);
            self.shared.notify_after_push();
            return;
        }
        if self.searching {
            self.searching = false;
            if self.shared.idle.stop_searching() {
                self.shared.idle.notify_one();
            }
        }
        if priority == Priority::High {
            self.shared.high_queued.fetch_sub(1, Ordering::Relaxed);
        }
        self.shared.count(self.index, Counter::Polls, 1);
        // The task wrapper counts panics and async-task hands them to the
        // awaiter; this catch only keeps the worker alive if something
        // outside the future's poll (a destructor) panics.
        let id = runnable.metadata().id();
        let _task = enter_task(id);
        let watch = &self.shared.stall.watches[self.index];
        if self.watched {
            watch.begin(id);
        }
        // The cooperative budget (`coop.rs`, feature `net`): a full one for
        // each poll, restored when the guard drops.
        #[cfg(all(feature = "net", not(loom)))]
        let budget = crate::coop::budget();
        self.yielded = catch_unwind(AssertUnwindSafe(|| runnable.run())).unwrap_or(false);
        #[cfg(all(feature = "net", not(loom)))]
        {
            self.budget_spent = budget.exhausted();
            drop(budget);
        }
        if self.watched && watch.end() && watch.resume() {
            self.retire();
        }
        if self.yielded && priority == Priority::Low {
            // The task went to the yield queue without `notify_one`: if a
            // sibling sleeps while nobody searches and there is more here
            // than this worker's next task, wake it to share the load.
            let local = &self.shared.locals[self.index];
            if self.shared.idle.idle_without_searcher()
                && local.yields.len() + usize::from(!local.lifo.is_empty()) >= 2
            {
                self.shared.idle.notify_one();
            }
        }
    }
}
