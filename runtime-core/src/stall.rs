//! Stalls: a worker stuck inside one poll, found by a watcher thread, and
//! the handoff that keeps the runtime's parallelism while it is stuck.
//!
//! A task that blocks inside its poll (a synchronous read, a long loop, a
//! lock held across a slow call) holds its worker. Without help, the tasks
//! queued behind it wait, and so does a child it spawned just before
//! blocking (into the LIFO slot): its siblings steal only when their own
//! queues are empty.
//!
//! # Detection
//! Each worker slot has a [`Watch`]. Around every poll its worker writes the
//! task's id and bumps `seq` (odd while a poll runs, even between polls):
//! relaxed stores to its own cache line, no read-modify-write. The watcher
//! thread (one per runtime, only with a `stall_threshold`) looks every
//! quarter threshold: a slot whose odd `seq` it has seen unchanged for a
//! whole threshold is *stalled*. It counts the stall (`Metrics::stalls`,
//! once per stalled poll), and calls the user's `on_stall` with a
//! [`StallInfo`]: the task's id and, with `track_spawn_locations`, where it
//! was spawned (a store per poll: the task's wrapper publishes it).
//!
//! # Handoff
//! **Queues.** From the moment it is stalled, and at each later look while
//! it stays stalled, the watcher moves everything queued on that worker (its
//! LIFO slot, its yield queue, its local queues) to the shared queues and
//! notifies, as any push from outside does. Every worker looks at the shared
//! queues at least every 61 tasks and right after a yield when something
//! was pushed there (`worker.rs`), so the moved tasks run soon even if every
//! other worker has work of its own; and a waiting `Low` task is visible to
//! every worker's `High` streak check there, so the priority promise holds
//! across workers. The moves are ordinary queue operations, safe against the
//! stalled worker pushing at the same time (from inside its stuck poll).
//!
//! **Threads.** If every worker that runs `Low` tasks is stalled, the
//! watcher starts a replacement worker thread in a spare slot (its own
//! queues, idle-protocol place and metrics row), so that the runtime keeps
//! its parallelism: at most one per stalled poll, and never more threads
//! than twice the worker count. The first `workers` slots are the original
//! workers'; replacements take spares, `workers..3 * workers` (an original
//! slot is never reused, so a replacement's index, in `StallInfo::worker`
//! and in its thread's name, is at or above the worker count; with every
//! original retired, up to `2 * workers` replacements may be alive).
//!
//! A replacement is started, and committed only once it runs. Who steps
//! aside is decided by one atomic per slot, `state`:
//! 1. the watcher moves it `RUNNING -> STALLED` when it reports the stall;
//! 2. the watcher *reserves* a replacement ([`Stall::reserve`]): claims a
//!    spare slot and counts it in `live` (so that its next look starts no
//!    second one for the same stall, and its sleep check counts it awake),
//!    then, under the threads lock and only if the runtime is open, counts
//!    it up on the exit latch and starts its thread. If the OS refuses the
//!    thread, the watcher undoes both ([`Stall::release`], then counts it
//!    out): nothing was committed, the stalled worker carries on when its
//!    poll returns, and the watcher tries again at its next look;
//! 3. the replacement, first of all ([`Stall::take_over`]), commits with a
//!    CAS `STALLED -> REPLACED`, and then checks that the stalled worker is
//!    still in the poll the watcher saw stalled (its `seq`). If the CAS
//!    fails (the worker's poll returned and it took `RUNNING` back), or the
//!    poll has ended and a CAS `REPLACED -> STALLED` takes the commit back
//!    before the worker saw it, the replacement releases its reservation
//!    and exits without running anything;
//! 4. the stalled worker, when its poll returns and it sees a state other
//!    than `RUNNING`, swaps it back to `RUNNING`. If it took `REPLACED`, a
//!    replacement runs in its stead: it moves what its last poll queued to
//!    the shared queues, leaves `live` ([`Stall::retire`]) and exits (a
//!    spare slot is freed for a later replacement once its thread is gone
//!    from it). If it took `STALLED`, it simply carries on.
//!
//! So `REPLACED` is only ever written by a replacement that is running and
//! already counted on the exit latch: a worker that steps aside is never
//! the last one out while the runtime is open, and a replacement that never
//! started leaves nothing to undo but its own reservation. The swap and the
//! CASes are read-modify-writes of one atomic, so they are ordered: either
//! the commit lands first and the worker steps aside (one replacement, one
//! exit), or the worker's swap lands first and the replacement steps back
//! (none). `src/tests/loom_stall.rs` models it with a spawn that can fail.
//!
//! **A stall that has just ended.** A poll's end is two plain stores and a
//! load on the worker (`Watch::end`), with no fence, so the watcher's
//! `RUNNING -> STALLED` can land just after a poll ended without the worker
//! seeing it; the state then stays `STALLED` on a worker that runs on. The
//! replacement's `seq` check in step 3 catches that (the poll it was started
//! for is over), and its undo leaves `STALLED`, which the worker's next
//! poll end turns back into `RUNNING`. If the poll ends between the commit
//! and that check, the worker steps aside at that poll's end or, if it read
//! its state just before the commit, at the end of its next poll: the
//! runtime runs one thread more than needed for that long, and none fewer.
//!
//! The watcher calls the backend (the handoff's pops and pushes) inside
//! `catch_unwind`: a backend that panics there closes the runtime, exactly
//! as when it panics on a worker (`worker.rs`), and the watcher exits.
//!
//! # Sleeping
//! The watcher sleeps while every worker sleeps (an idle runtime uses no
//! CPU): it sets `asleep`, then re-checks that every live worker is
//! registered as a sleeper (a `SeqCst` Dekker pair with a worker that wakes:
//! the idle protocol takes it off the sleepers list, then it reads `asleep`
//! and wakes the watcher). Shutdown wakes it too, and it exits. A worker
//! wakes it after it has left the sleepers list, on every path back from a
//! wait (`worker/park.rs`, `transition_from_parked`), so the watcher never
//! sleeps through a poll that starts right after the runtime was idle.
//!
//! # What is promised, as tested
//! - A poll that the watcher sees running twice a threshold apart is counted
//!   once in `Metrics::stalls` and reported once to `on_stall`, with the
//!   task's id and, if tracked, the caller's spawn location (`spawn`,
//!   `Handle::spawn`, `TaskGroup::spawn_on`, ...). The watcher sees every
//!   poll that runs long enough while its own thread gets the CPU; a poll
//!   on a machine too loaded to schedule the watcher can end unseen
//!   (`tests/stall.rs`, where a stalled poll waits for its own report).
//! - Tasks queued on a stalled worker (its LIFO slot, local and yield
//!   queues), and tasks spawned while every worker is stalled, start within
//!   the threshold plus 100 ms (`tests/stall.rs`).
//! - A replacement has an index at or above the worker count; the threads
//!   never outnumber twice the worker count; the runtime is never left
//!   without a worker, nor drained, while open, also when the OS refuses
//!   replacement threads (`tests/stall_threads.rs`, the loom models in
//!   `src/tests/loom_stall.rs`).
//! - A worker that stepped aside is joined by the time the next replacement
//!   starts: 200 stalls grow the process's mappings by fewer than 20
//!   (`tests/stall_threads.rs`).
//! - The watcher uses no CPU while the runtime is idle, and a panicking
//!   `on_stall` is contained and counted in `Metrics::hook_panics`.

use std::{cell::RefCell, fmt, panic::Location, sync::Arc, time::Duration};

use crossbeam_utils::CachePadded;

use crate::{
    sync::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering},
    task_id::TaskId,
};

/// The user's stall callback.
pub(crate) type StallCallback = Arc<dyn Fn(&StallInfo) + Send + Sync>;

/// What [`Builder::on_stall`](crate::Builder::on_stall) is told about a
/// stalled poll.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StallInfo {
    /// The stalled worker's index (a replacement worker has an index at or
    /// above the worker count).
    pub worker: usize,
    /// The task inside the stalled poll.
    pub task: Option<TaskId>,
    /// Where that task was spawned, with
    /// [`Builder::track_spawn_locations`](crate::Builder::track_spawn_locations).
    pub spawned_at: Option<&'static Location<'static>>,
    /// How long the poll had been running when the watcher noticed (at least
    /// the threshold).
    pub stalled_for: Duration,
}

/// A replacement reserved by the watcher ([`Stall::reserve`]): the spare
/// slot it runs in, and the stalled worker's slot and poll (`seq`) it takes
/// over from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Replacement {
    pub(crate) slot: usize,
    stalled: usize,
    seq: u64,
}

/// How [`Stall::wait`] ended.
#[cfg(not(loom))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// The runtime is closed: the watcher exits.
    Closed,
    /// Every worker slept until one woke: what the watcher had seen of the
    /// running polls is stale.
    Slept,
    /// An interval passed (or a spurious wake-up): look.
    Looked,
}

/// `Watch::state`: the worker runs normally.
pub(crate) const RUNNING: usize = 0;
/// `Watch::state`: the watcher reported the worker's current poll stalled.
pub(crate) const STALLED: usize = 1;
/// `Watch::state`: a replacement thread runs in the stalled worker's stead.
pub(crate) const REPLACED: usize = 2;

/// One worker slot's poll counter, as the watcher sees it.
#[derive(Debug)]
pub(crate) struct Watch {
    /// Twice the polls begun, plus one while a poll runs. Written only by
    /// the slot's worker; `Release`, so that the watcher that sees an odd
    /// value also sees `task` and `location` of that poll.
    seq: AtomicU64,
    /// The raw id of the task in the current poll (0: none yet).
    task: AtomicU64,
    /// Where that task was spawned, if tracked (null otherwise).
    location: AtomicPtr<Location<'static>>,
    /// `RUNNING`, `STALLED` or `REPLACED`: see "Threads" above.
    pub(crate) state: AtomicUsize,
}

impl Watch {
    pub(crate) fn new() -> Self {
        Self {
            seq: AtomicU64::new(0),
            task: AtomicU64::new(0),
            location: AtomicPtr::new(std::ptr::null_mut()),
            state: AtomicUsize::new(RUNNING),
        }
    }

    /// The worker starts polling task `id`.
    #[inline]
    pub(crate) fn begin(&self, id: TaskId) {
        let seq = self.seq.load(Ordering::Relaxed);
        self.task.store(id.as_u64(), Ordering::Relaxed);
        self.seq.store(seq | 1, Ordering::Release);
    }

    /// The poll returned. Returns `true` if the watcher marked it stalled
    /// meanwhile (the worker must then call [`Watch::resume`]).
    #[inline]
    pub(crate) fn end(&self) -> bool {
        let seq = self.seq.load(Ordering::Relaxed);
        self.seq.store(seq.wrapping_add(1), Ordering::Release);
        self.state.load(Ordering::Relaxed) != RUNNING
    }

    /// After a stalled poll: back to `RUNNING`. Returns `true` if a
    /// replacement took over (the caller steps aside).
    pub(crate) fn resume(&self) -> bool {
        self.state.swap(RUNNING, Ordering::AcqRel) == REPLACED
    }

    /// The task's wrapper publishes where the task was spawned.
    pub(crate) fn set_location(&self, location: &'static Location<'static>) {
        self.location.store(std::ptr::from_ref(location).cast_mut(), Ordering::Relaxed);
    }

    /// The running poll: `(seq, task id, spawn location)`.
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn snapshot(&self) -> (u64, Option<TaskId>, Option<&'static Location<'static>>) {
        let seq = self.seq.load(Ordering::Acquire);
        let task = TaskId::from_u64(self.task.load(Ordering::Relaxed));
        let location = self.location.load(Ordering::Relaxed);
        // SAFETY: the pointer is null or was made from a
        // `&'static Location<'static>` in `set_location`.
        (seq, task, unsafe { location.as_ref() })
    }
}

/// The stall watcher's settings and shared state.
pub(crate) struct Stall {
    pub(crate) threshold: Option<Duration>,
    #[cfg_attr(loom, allow(dead_code))]
    on_stall: Option<StallCallback>,
    /// One per slot: the workers, then the spares for replacements.
    pub(crate) watches: Box<[CachePadded<Watch>]>,
    /// The worker count: slots `0..workers` are the original workers'.
    workers: usize,
    /// Which spare slots are taken by a replacement (reserved, running, or
    /// retired but not yet gone); the original slots' entries stay `true`.
    used: Box<[AtomicBool]>,
    /// Worker threads in charge: the original workers, plus reserved
    /// replacements, minus workers that stepped aside. Starts at the worker
    /// count; never above twice that.
    pub(crate) live: AtomicUsize,
    /// Set while the watcher sleeps because every worker does.
    asleep: AtomicBool,
    /// Guards the watcher's sleep.
    sleep: parking_lot::Mutex<()>,
    wake: parking_lot::Condvar,
}

impl fmt::Debug for Stall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stall")
            .field("threshold", &self.threshold)
            .field("live", &self.live.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Stall {
    pub(crate) fn new(
        workers: usize,
        slots: usize,
        threshold: Option<Duration>,
        on_stall: Option<StallCallback>,
    ) -> Self {
        Self {
            threshold,
            on_stall,
            watches: (0..slots).map(|_| CachePadded::new(Watch::new())).collect(),
            workers,
            used: (0..slots).map(|slot| AtomicBool::new(slot < workers)).collect(),
            live: AtomicUsize::new(workers),
            asleep: AtomicBool::new(false),
            sleep: parking_lot::Mutex::new(()),
            wake: parking_lot::Condvar::new(),
        }
    }

    /// Slots in total: workers, plus twice as many spares when stalls are
    /// watched (see "Threads": with every original worker retired, up to
    /// `2 * workers` replacements may be alive).
    pub(crate) fn slots(workers: usize, threshold: Option<Duration>) -> usize {
        if threshold.is_some() { 3 * workers } else { workers }
    }

    /// A worker woke up: wakes the watcher if it sleeps. Call after the
    /// worker left the sleepers list (the other half of the Dekker pair in
    /// "Sleeping").
    #[inline]
    pub(crate) fn worker_woke(&self) {
        if self.asleep.load(Ordering::SeqCst) {
            self.notify();
        }
    }

    /// Wakes the watcher (a worker woke, or shutdown).
    pub(crate) fn notify(&self) {
        let _guard = self.sleep.lock();
        self.asleep.store(false, Ordering::SeqCst);
        self.wake.notify_all();
    }

    /// The watcher's wait between two looks: `interval`, or, if every
    /// worker sleeps, until one wakes ([`Stall::worker_woke`]) or shutdown
    /// ([`Stall::notify`]). `all_asleep` is re-checked after `asleep` is set
    /// (the watcher's half of the Dekker pair in "Sleeping"); `closed` under
    /// the sleep lock, so that a shutdown's `notify` is never missed.
    #[cfg(not(loom))]
    pub(crate) fn wait(
        &self,
        interval: Duration,
        closed: impl Fn() -> bool,
        all_asleep: impl Fn() -> bool,
    ) -> Wait {
        let mut guard = self.sleep.lock();
        if closed() {
            return Wait::Closed;
        }
        self.asleep.store(true, Ordering::SeqCst);
        if all_asleep() && !closed() {
            while self.asleep.load(Ordering::SeqCst) {
                self.wake.wait(&mut guard);
            }
            return Wait::Slept;
        }
        self.asleep.store(false, Ordering::SeqCst);
        self.wake.wait_for(&mut guard, interval);
        Wait::Looked
    }

    /// The watcher reserves a replacement for the worker in slot `stalled`,
    /// whose poll `seq` it saw stalled (step 2 of "Threads"): claims a free
    /// spare slot and counts the replacement in `live`. `None` if no spare
    /// is free or `live` is at twice the worker count. Only the watcher
    /// calls it (so `live` cannot rise between the check and the add).
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn reserve(&self, stalled: usize, seq: u64) -> Option<Replacement> {
        if self.live.load(Ordering::SeqCst) >= 2 * self.workers {
            return None;
        }
        let slot = (self.workers..self.used.len()).find(|&slot| {
            self.used[slot].compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed).is_ok()
        })?;
        self.live.fetch_add(1, Ordering::SeqCst);
        Some(Replacement { slot, stalled, seq })
    }

    /// Undoes [`Stall::reserve`]: the replacement's thread never started,
    /// or it started and stepped back (step 3). The caller then counts it
    /// out on the exit latch, if it was counted up.
    pub(crate) fn release(&self, replacement: Replacement) {
        self.live.fetch_sub(1, Ordering::SeqCst);
        self.free_slot(replacement.slot);
    }

    /// The replacement's first act (step 3 of "Threads"): commits the
    /// takeover if the stalled worker is still in the poll it was started
    /// for. `true`: it runs in that worker's stead, which steps aside when
    /// its poll returns. `false`: the worker carries on; the caller
    /// releases the reservation and exits.
    pub(crate) fn take_over(&self, replacement: &Replacement) -> bool {
        let watch = &self.watches[replacement.stalled];
        if watch.state.compare_exchange(STALLED, REPLACED, Ordering::AcqRel, Ordering::Relaxed).is_err() {
            // Its poll returned and it took `RUNNING` back: it carries on.
            return false;
        }
        // Pairs with the worker's `Release` stores of `seq`.
        if watch.seq.load(Ordering::Acquire) == replacement.seq {
            return true;
        }
        // That poll is over (the watcher's `RUNNING -> STALLED` landed after
        // it ended): take the commit back unless the worker already took
        // `REPLACED`, in which case it is stepping aside and this thread
        // must run. `STALLED` goes back, not `RUNNING`: a later poll of the
        // worker's may be the one stalled now, and its next poll end turns
        // it into `RUNNING` either way.
        watch.state.compare_exchange(REPLACED, STALLED, Ordering::AcqRel, Ordering::Relaxed).is_err()
    }

    /// A worker whose poll returned to `REPLACED` steps aside (step 4): it
    /// is no longer in charge. Its slot, if a spare, is freed once its
    /// thread is gone from it ([`Stall::free_slot`]).
    pub(crate) fn retire(&self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }

    /// A spare slot's thread is gone from it (retired, or stepped back):
    /// a later replacement may take it. A no-op for an original slot,
    /// which is never reused.
    pub(crate) fn free_slot(&self, slot: usize) {
        if slot >= self.workers {
            self.used[slot].store(false, Ordering::Release);
        }
    }

    /// How many spare slots are taken (the loom models check it).
    #[cfg(all(test, loom))]
    pub(crate) fn spares_taken(&self) -> usize {
        self.used[self.workers..].iter().filter(|used| used.load(Ordering::Acquire)).count()
    }

    /// Calls the user's `on_stall`; `false` if it panicked (contained).
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn report(&self, info: &StallInfo) -> bool {
        self.on_stall.as_ref().is_none_or(|callback| crate::panic_policy::call_contained(|| callback(info)))
    }
}

crate::sync::thread_locals! {
    /// A worker's stall watch: the runtime's `Stall` and the worker's slot
    /// (only with `track_spawn_locations`: the task wrapper publishes where
    /// each polled task was spawned).
    static WATCH: RefCell<Option<(Arc<Stall>, usize)>> = const { RefCell::new(None) };
}

/// Publishes where the task being polled on this worker thread was spawned,
/// for the watcher; a no-op elsewhere.
fn publish_spawn_location(location: &'static Location<'static>) {
    let _ = WATCH.try_with(|watch| {
        if let Some((stall, slot)) = watch.borrow().as_ref() {
            stall.watches[*slot].set_location(location);
        }
    });
}

/// Makes slot `index` of `stall` this thread's watch until the guard drops
/// (a worker, for its whole life).
pub(crate) fn enter_watch(stall: Arc<Stall>, index: usize) -> WatchGuard {
    let _ = WATCH.try_with(|watch| *watch.borrow_mut() = Some((stall, index)));
    WatchGuard(())
}

/// Undoes [`enter_watch`] on drop.
pub(crate) struct WatchGuard(());

impl Drop for WatchGuard {
    fn drop(&mut self) {
        // Taken out first: dropping the `Arc` must not find the cell borrowed.
        let taken = WATCH.try_with(|watch| watch.borrow_mut().take()).ok().flatten();
        drop(taken);
    }
}

pin_project_lite::pin_project! {
    /// A task's future that publishes where it was spawned while it is
    /// polled (with `track_spawn_locations`): one relaxed store per poll.
    pub(crate) struct Located<F> {
        #[pin]
        future: F,
        location: &'static Location<'static>,
    }
}

impl<F> Located<F> {
    pub(crate) fn new(future: F, location: &'static Location<'static>) -> Self {
        Self { future, location }
    }
}

impl<F: std::future::Future> std::future::Future for Located<F> {
    type Output = F::Output;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<F::Output> {
        let this = self.project();
        publish_spawn_location(this.location);
        this.future.poll(cx)
    }
}
