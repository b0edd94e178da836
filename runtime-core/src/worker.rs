//! The worker loop: find a task, run it, and sleep only when there is none.
//!
//! Each turn a worker looks, in order:
//! 1. every [`FAIRNESS_INTERVAL`] turns, and right after a task yielded if
//!    work was spawned from outside since it last looked, moves its fair
//!    share of each shared queue (at least one task, at most [`MAX_BATCH`]) to
//!    the back of its local queue, so that a worker busy with its own tasks
//!    (say, tasks that keep yielding) still makes progress on work spawned
//!    from outside; appending rather than running them first keeps tasks
//!    spawned from one thread in spawn order. (A yield is a task saying
//!    "let others run"; with polls that stall, 61 turns can be a long time);
//! 2. `High` work, if the `high_queued` hint says there is any, unless
//!    [`HIGH_STREAK`] `High` tasks ran in a row and a `Low` task is waiting;
//! 3. its LIFO slot (at most [`LIFO_STREAK`] times in a row, so two tasks
//!    waking each other cannot starve the local queue), its local `Low`
//!    queue, then a batch from the shared `Low` queue;
//! 4. otherwise it *searches* (see [`crate::idle`]): a few rounds of stealing
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
//! closes the runtime: a runtime never runs on silently short-handed, nor
//! drains itself while still open. Spawns are then refused and every pending
//! `Task` reports cancellation, the backend's panic message is on stderr,
//! and `Handle::is_shutdown` says `true`. The last worker out drains inside
//! `catch_unwind`, since a backend that panicked once may panic again while
//! the thread is already unwinding.

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    thread,
};

use crate::{
    context,
    handle::Handle,
    hooks::{Hook, Hooks},
    metrics::Counter,
    queue::{Priority, Queue, Runnable},
    scheduler::Shared,
    sync::{Arc, Ordering},
};

/// Turns between moves of a shared-queue task onto the local queue.
const FAIRNESS_INTERVAL: u32 = 61;
/// `High` polls in a row after which a waiting `Low` task runs.
const HIGH_STREAK: u32 = 16;
/// LIFO-slot polls in a row after which the local queue goes first.
const LIFO_STREAK: u32 = 3;
/// `Low` polls in a row from other queues after which a task waiting in the
/// yield queue runs.
const YIELD_STREAK: u32 = 16;
/// Upper bound on tasks moved by one steal or one shared-queue batch.
const MAX_BATCH: usize = 64;
/// Search rounds before parking; each round after the first spins a little longer.
const SEARCH_ROUNDS: u32 = 4;
/// Feature `io`: a busy worker lets the reactor be polled (without waiting)
/// at most this often, checked every [`FAIRNESS_INTERVAL`] tasks, so that
/// events reach a runtime whose workers never run dry, at the cost of one
/// `epoll_wait` per interval per worker.
#[cfg(all(feature = "io", not(loom)))]
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
    /// Between `Idle::register` and `Idle::unregister` in `park` (or their
    /// reserved counterparts).
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
    /// Feature `io`: the worker returned `Pending` to the reactor's
    /// `block_on` to wait (registered as a sleeper), not just to poll it.
    #[cfg(feature = "io")]
    waiting: bool,
    /// Feature `io`: when the worker last came back from the reactor.
    #[cfg(all(feature = "io", not(loom)))]
    reactor_seen: std::time::Instant,
    /// Feature `io`: `Idle` has this worker's `block_on` waker.
    #[cfg(feature = "io")]
    waker_set: bool,
    /// Stalls are watched: publish each poll (`stall.rs`).
    watched: bool,
    /// A replacement took over while this worker was stalled: it leaves its
    /// loop and exits (`stall.rs`, "Threads").
    retired: bool,
}

/// The body of worker thread `index`.
pub(crate) fn run<Q: Queue>(shared: Arc<Shared<Q>>, index: usize, handle: Handle) {
    // Declared first, so dropped last: counts the worker out even if the
    // loop unwinds (a panicking `Queue` backend), so that shutdown never
    // waits for a worker that is gone.
    let _exit = ExitGuard { shared: shared.clone(), handle: handle.clone() };
    let _worker = context::enter_worker(shared.books.id, index, handle);
    let _watch = shared.books.track_locations.then(|| context::enter_watch(shared.stall.clone(), index));
    let mut worker = Worker::new(shared, index);
    worker.hook(|hooks| &hooks.thread_start);
    if worker.reserved {
        worker.run_reserved_loop();
    } else {
        #[cfg(all(feature = "io", not(loom)))]
        async_io::block_on(std::future::poll_fn(|cx| worker.poll_loop(cx)));
        #[cfg(not(all(feature = "io", not(loom))))]
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
            // Never a half-state: see the module docs.
            self.shared.close();
        }
        if self.shared.exit.count_down() {
            // The last worker out: nothing can push to a local queue any
            // more. The runtime is current, so that destructors the drain
            // runs may still spawn (and get cancelled tasks).
            let _current = context::enter_current(self.handle.clone());
            if dying {
                // A second panic while unwinding would abort the process.
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| self.shared.drain(0))) {
                    crate::panic_policy::drop_payload(payload);
                }
            } else {
                self.shared.drain(0);
            }
        }
    }
}

impl<Q> Drop for Worker<Q> {
    /// Gives back the worker's place in the idle protocol: needed when it
    /// unwinds mid-loop (a panicking backend); harmless after a normal exit
    /// (it leaves the loop counted as a searcher, and the runtime is closed).
    fn drop(&mut self) {
        #[cfg(feature = "io")]
        if self.waker_set {
            self.shared.idle.set_waker(self.index, None);
        }
        if self.retired {
            self.shared.stall.free_slot(self.index);
        }
        if self.reserved {
            if self.registered {
                self.shared.idle.unregister_reserved(self.index);
            }
        } else if self.searching || self.registered {
            self.shared.idle.abandon(self.index, self.searching);
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
            #[cfg(feature = "io")]
            waiting: false,
            #[cfg(all(feature = "io", not(loom)))]
            reactor_seen: std::time::Instant::now(),
            #[cfg(feature = "io")]
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
                None => self.park_reserved(),
            }
        }
    }

    /// A `High` task from this worker's queue, the shared queue, or a
    /// sibling's queue.
    fn take_high_anywhere(&mut self) -> Option<Runnable> {
        if let Some(r) = self.take(Priority::High) {
            return Some(r);
        }
        let n = self.shared.locals.len();
        let start = self.next_random() as usize % n;
        let high = Priority::High.index();
        (0..n).map(|i| (start + i) % n).filter(|&i| i != self.index).find_map(|victim| {
            let r = self.shared.locals[victim].queues[high].pop()?;
            self.shared.count(self.index, Counter::Steals, 1);
            Some(r)
        })
    }

    /// Registers on the reserved sleepers' list, re-checks, and parks. See
    /// "Reserved workers" in [`crate::idle`].
    fn park_reserved(&mut self) {
        let shared = &*self.shared;
        shared.idle.register_reserved(self.index);
        self.registered = true;
        if !shared.is_closed() && !shared.has_high_work() {
            self.sleep();
        }
        self.shared.idle.unregister_reserved(self.index);
        self.registered = false;
        self.shared.stall.worker_woke();
    }

    #[cfg_attr(all(feature = "io", not(loom)), allow(dead_code))]
    fn run_loop(&mut self) {
        while !self.shared.is_closed() && !self.retired {
            if let Some((runnable, priority)) = self.next_task() {
                self.run_task(runnable, priority);
                continue;
            }
            if let Some((runnable, priority)) = self.search() {
                self.run_task(runnable, priority);
                continue;
            }
            self.park();
        }
    }

    /// The worker loop as the future that the reactor's `block_on` polls
    /// (feature `io`; see "The I/O reactor" in [`crate::idle`]). Returns
    /// `Pending` to wait (registered as a sleeper, after the re-check: the
    /// thread then waits in the reactor, or parks if another thread holds
    /// it), and, while busy, every [`FAIRNESS_INTERVAL`] tasks once
    /// [`REACTOR_INTERVAL`] has passed, to let `block_on` poll the reactor
    /// without waiting (having woken itself first): so readiness events
    /// reach a busy runtime from its own workers, not only from async-io's
    /// fallback thread.
    #[cfg(all(feature = "io", not(loom)))]
    fn poll_loop(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        use std::task::Poll;
        let dispatched = context::leave_reactor();
        self.reactor_seen = std::time::Instant::now();
        if self.waiting {
            self.waiting = false;
            self.wake_up();
            if !dispatched {
                // Woken by a notifier, not by events of our own: most often
                // a wake that async-io's own thread dispatched. Let
                // `block_on` poll the reactor once, at once: that thread
                // retakes the reactor 50 us after each event unless
                // someone else polled it meanwhile, and a worker that only
                // came back to park after that would lose it to that thread
                // for good (every later event would then reach the runtime
                // from outside).
                cx.waker().wake_by_ref();
                context::enter_reactor();
                return Poll::Pending;
            }
        } else {
            if !self.waker_set {
                // The first poll: from now on notifiers wake this worker
                // through `block_on`'s waker.
                self.shared.idle.set_waker(self.index, Some(cx.waker().clone()));
                self.waker_set = true;
            }
            if dispatched && self.local_stealable() {
                self.shared.idle.notify_one();
            }
        }
        while !self.shared.is_closed() && !self.retired {
            if let Some((runnable, priority)) = self.next_task().or_else(|| self.search()) {
                self.run_task(runnable, priority);
                if self.tick.is_multiple_of(FAIRNESS_INTERVAL)
                    && self.reactor_seen.elapsed() >= REACTOR_INTERVAL
                {
                    cx.waker().wake_by_ref();
                    context::enter_reactor();
                    return Poll::Pending;
                }
                continue;
            }
            if self.go_to_sleep() {
                self.waiting = true;
                context::enter_reactor();
                return Poll::Pending;
            }
            self.stop_sleeping();
        }
        Poll::Ready(())
    }

    /// A replacement runs in this worker's stead (it was stalled; see
    /// "Threads" in `stall.rs`): hand what its last poll queued to the
    /// others, and leave the loop. Its slot is freed when it drops.
    fn retire(&mut self) {
        self.retired = true;
        self.shared.stall.live.fetch_sub(1, Ordering::SeqCst);
        self.shared.hand_off(self.index);
    }

    /// Back from a wait in the reactor's `block_on` (feature `io`): leave
    /// the sleepers list, as a worker with work in hand if the reactor
    /// dispatched some onto this worker's queues, else as a searcher.
    #[cfg(feature = "io")]
    fn wake_up(&mut self) {
        self.hook(|hooks| &hooks.thread_unpark);
        self.shared.stall.worker_woke();
        if self.shared.locals[self.index].has_work() {
            self.registered = false;
            self.searching = false;
            if self.shared.idle.unregister_working(self.index) | self.local_stealable() {
                self.shared.idle.notify_one();
            }
        } else {
            self.stop_sleeping();
        }
    }

    /// Whether this worker's local queues hold tasks beyond its LIFO slot:
    /// work a sibling could steal.
    #[cfg(feature = "io")]
    fn local_stealable(&self) -> bool {
        let local = &self.shared.locals[self.index];
        !local.yields.is_empty() || local.queues.iter().any(|q| !q.is_empty())
    }

    fn run_task(&mut self, runnable: Runnable, priority: Priority) {
        if self.shared.is_closed() {
            // Taken just before shutdown: never polled after it. Dropped
            // here, on the worker, with no lock held.
            drop(runnable);
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
        let _task = context::enter_task(id);
        let watch = &self.shared.stall.watches[self.index];
        if self.watched {
            watch.begin(id);
        }
        // Issue 20: the cooperative budget (`coop.rs`, feature `net`), a
        // full one for each poll; restored when the guard drops.
        #[cfg(all(feature = "net", not(loom)))]
        let _budget = crate::coop::budget();
        self.yielded = catch_unwind(AssertUnwindSafe(|| runnable.run())).unwrap_or(false);
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

    /// Takes a task from this worker's own queues or the shared ones.
    fn next_task(&mut self) -> Option<(Runnable, Priority)> {
        let shared = &*self.shared;
        let local = &shared.locals[self.index];
        self.tick = self.tick.wrapping_add(1);
        let injected = shared.injected.load(Ordering::Relaxed);
        if self.tick.is_multiple_of(FAIRNESS_INTERVAL) || (self.yielded && injected != self.injected_seen) {
            let mut left = false;
            for p in [Priority::High, Priority::Low] {
                let shared_queue = &shared.shared_queues[p.index()];
                if !shared_queue.is_empty()
                    && shared_queue.steal_into(&local.queues[p.index()], self.fair_share(shared_queue).max(1))
                        > 0
                {
                    local.note_batch(p);
                    // Only stealable now: make sure somebody is looking if a
                    // worker sleeps (as in `take`).
                    shared.notify_after_push();
                    left |= !shared_queue.is_empty();
                }
            }
            if !left {
                // Seen it all; a later push changes the count again.
                self.injected_seen = injected;
            }
        }

        let high_waiting = shared.high_queued.load(Ordering::Relaxed) != 0;
        if high_waiting && (self.high_streak < HIGH_STREAK || !self.low_waiting()) {
            if let Some(r) = self.take(Priority::High) {
                self.high_streak = self.high_streak.saturating_add(1);
                return Some((r, Priority::High));
            }
        }

        if self.lifo_streak < LIFO_STREAK {
            if let Some(r) = local.lifo.take() {
                self.lifo_streak += 1;
                self.high_streak = 0;
                return Some((r, Priority::Low));
            }
        }
        self.lifo_streak = 0;
        // Tasks that yielded go after the others (they yielded to let them
        // run), but after a bounded streak of others one of them runs.
        let yields_turn = self.yield_wait >= YIELD_STREAK;
        let low = if yields_turn {
            local.yields.pop().or_else(|| self.take(Priority::Low))
        } else if !local.yields.is_empty() {
            // The local queue if something was pushed there; the shared
            // one only on the fairness turns above, whose check of
            // `injected` costs nothing: a worker cycling through its
            // yielded tasks touches no queue another worker uses.
            local.pop_low().or_else(|| local.yields.pop())
        } else {
            self.take(Priority::Low)
        };
        self.yield_wait =
            if yields_turn || local.yields.is_empty() { 0 } else { self.yield_wait.saturating_add(1) };
        if let Some(r) = low.or_else(|| local.lifo.take()) {
            self.high_streak = 0;
            return Some((r, Priority::Low));
        }
        // The hint may lag a push; look at the high queues anyway.
        self.take(Priority::High).map(|r| (r, Priority::High))
    }

    /// Whether a `Low` task is waiting where this worker would take it.
    fn low_waiting(&self) -> bool {
        let local = &self.shared.locals[self.index];
        !local.lifo.is_empty()
            || !local.yields.is_empty()
            || !local.queues[Priority::Low.index()].is_empty()
            || !self.shared.shared_queues[Priority::Low.index()].is_empty()
    }

    /// Pops from the local queue of `priority`, else takes a batch from the
    /// shared one: the first to run, up to a fair share more into the local
    /// queue.
    fn take(&self, priority: Priority) -> Option<Runnable> {
        let shared = &*self.shared;
        let local = &shared.locals[self.index].queues[priority.index()];
        if let Some(r) = local.pop() {
            return Some(r);
        }
        let shared_queue = &shared.shared_queues[priority.index()];
        let first = shared_queue.pop()?;
        let share = self.fair_share(shared_queue);
        if share > 0 && shared_queue.steal_into(local, share) > 0 {
            shared.locals[self.index].note_batch(priority);
            // Those tasks are now only reachable by stealing: make sure
            // somebody is looking if a worker sleeps. (And like every push,
            // a batch that lands after the final drain is drained here.)
            shared.notify_after_push();
        }
        Some(first)
    }

    /// How many tasks of a shared queue this worker should take in one go:
    /// an equal split among the live workers (not the spare slots kept for
    /// replacements of stalled workers), at most [`MAX_BATCH`].
    fn fair_share(&self, shared_queue: &Q) -> usize {
        let workers = self.shared.stall.live.load(Ordering::Relaxed).max(1);
        (shared_queue.len() / workers).min(MAX_BATCH)
    }

    fn next_random(&mut self) -> u32 {
        // xorshift32
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x
    }

    /// Steals half of a sibling's local queue (the first to run, the rest
    /// into ours), or its LIFO task.
    fn steal(&mut self, include_lifo: bool) -> Option<(Runnable, Priority)> {
        let n = self.shared.locals.len();
        if n < 2 {
            return None;
        }
        let start = self.next_random() as usize % n;
        let shared = &*self.shared;
        let mine = &shared.locals[self.index];
        for i in 0..n {
            let victim_index = (start + i) % n;
            if victim_index == self.index {
                continue;
            }
            let victim = &shared.locals[victim_index];
            for p in [Priority::High, Priority::Low] {
                let from = &victim.queues[p.index()];
                let len = from.len();
                if len == 0 {
                    continue;
                }
                let want = len.div_ceil(2).min(MAX_BATCH);
                let moved = from.steal_into(&mine.queues[p.index()], want);
                if moved > 0 {
                    mine.note_batch(p);
                    shared.count(self.index, Counter::Steals, moved as u64);
                    // A push like any other: see `take`.
                    shared.notify_after_push();
                    if let Some(r) = mine.queues[p.index()].pop() {
                        return Some((r, p));
                    }
                }
            }
            // Tasks that yielded: half of them, like a local queue.
            let len = victim.yields.len();
            if len > 0 {
                let low = &mine.queues[Priority::Low.index()];
                let moved = victim.yields.take(len.div_ceil(2).min(MAX_BATCH), |r| low.push(r));
                if moved > 0 {
                    mine.note_batch(Priority::Low);
                    shared.count(self.index, Counter::Steals, moved as u64);
                    shared.notify_after_push();
                    if let Some(r) = low.pop() {
                        return Some((r, Priority::Low));
                    }
                }
            }
            if !include_lifo {
                continue;
            }
            if let Some(r) = victim.lifo.take() {
                shared.count(self.index, Counter::Steals, 1);
                return Some((r, Priority::Low));
            }
        }
        None
    }

    /// Looks for work beyond this worker's own queues, a few rounds.
    fn search(&mut self) -> Option<(Runnable, Priority)> {
        if !self.searching {
            if !self.shared.idle.try_start_searching() {
                return None;
            }
            self.searching = true;
        }
        for round in 0..SEARCH_ROUNDS {
            // LIFO slots only after a first round: see "Who notifies" in
            // `scheduler.rs`.
            if let Some(r) = self.steal(round > 0).or_else(|| self.next_task()) {
                return Some(r);
            }
            if self.shared.is_closed() {
                return None;
            }
            for _ in 0..(32u32 << round) {
                std::hint::spin_loop();
            }
        }
        None
    }

    /// Parks this worker's thread, counted and between the park hooks. The
    /// caller registered as a sleeper and re-checked first.
    fn sleep(&self) {
        self.about_to_sleep();
        self.shared.idle.park(self.index);
        self.hook(|hooks| &hooks.thread_unpark);
    }

    /// Counts a park and runs the park hook: right before any wait.
    fn about_to_sleep(&self) {
        self.shared.count(self.index, Counter::Parks, 1);
        self.hook(|hooks| &hooks.thread_park);
    }

    /// Registers as a sleeper, re-checks, and parks. See [`crate::idle`].
    #[cfg_attr(all(feature = "io", not(loom)), allow(dead_code))]
    fn park(&mut self) {
        if self.go_to_sleep() {
            self.shared.idle.park(self.index);
            self.hook(|hooks| &hooks.thread_unpark);
        }
        self.stop_sleeping();
        self.shared.stall.worker_woke();
    }

    /// Leaves the sleepers list as a searcher (see `Idle::unregister`).
    fn stop_sleeping(&mut self) {
        self.shared.idle.unregister(self.index);
        self.registered = false;
        self.searching = true;
    }

    /// Registers as a sleeper and re-checks. Returns `true` if the worker
    /// should now wait (counted as a park, after the park hook); `false` if
    /// the re-check found work or shutdown, and the worker must unregister
    /// and search again. See [`crate::idle`].
    fn go_to_sleep(&mut self) -> bool {
        let shared = &*self.shared;
        shared.idle.register(self.index, self.searching);
        self.searching = false;
        self.registered = true;
        if shared.is_closed() || shared.has_work() {
            return false;
        }
        self.about_to_sleep();
        true
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::tests::TestQueue;

    /// A worker that has run `u32::MAX` `High` tasks in a row takes one more
    /// without overflowing its streak (a debug build used to panic there,
    /// outside any `catch_unwind`, killing the worker).
    #[test]
    fn high_streak_saturates() {
        let shared = Arc::new(Shared::<TestQueue>::new(usize::MAX, &crate::builder::Config::for_tests(1)));
        let mut worker = Worker::new(shared.clone(), 0);
        worker.high_streak = u32::MAX;
        let (runnable, task) = crate::task_id::bare_task(async {});
        shared.locals[0].queues[Priority::High.index()].push(runnable);
        shared.high_queued.fetch_add(1, Ordering::Relaxed);
        let (next, priority) = worker.next_task().expect("the High task");
        assert_eq!((priority, worker.high_streak), (Priority::High, u32::MAX));
        drop((next, task));
    }
}
