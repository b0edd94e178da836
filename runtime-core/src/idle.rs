//! Who sleeps, who searches, and whom to wake.
//!
//! # The protocol
//!
//! A worker is in one of three states: *working* (running tasks from its own
//! queues), *searching* (its queues are empty; it is looking in the shared
//! queues and stealing from siblings) or *sleeping* (registered in
//! `sleepers`, parked on its token, a [`Sleeper`]).
//!
//! **Pushers.** Whoever makes work visible to other workers (a push to a
//! shared queue, or to a local queue that siblings may steal from) first
//! pushes, then calls [`Idle::notify_one`]. `notify_one` issues a `SeqCst`
//! fence and wakes one sleeper only if nobody is searching already: a
//! searcher will find the work, so waking a second thread would only burn a
//! context switch (the lesson of the plain-channel designs, which wake a
//! thread on every push). A woken worker is removed from `sleepers` and
//! counted as searching *by the notifier*, under the lock, so two notifiers
//! never both pick the same sleeper and the "somebody is searching" condition
//! holds from the moment of the decision.
//!
//! **Searchers.** At most half the workers search at once
//! ([`Idle::try_start_searching`]). A searcher that finds work stops searching
//! ([`Idle::stop_searching`]); if it was the last searcher it wakes another
//! worker, since where there was one task there may be more and nobody else is
//! looking.
//!
//! **Parking.** A worker that found nothing registers as a sleeper (and stops
//! searching) under the `sleepers` lock, issues a `SeqCst` fence, and only then
//! re-checks every queue and the shutdown flag. This is a Dekker pair with the
//! pusher's "push; fence; read counters": either the pusher sees the worker
//! counted as sleeping (and wakes it, or sees a searcher that will re-check),
//! or the worker's re-check sees the pushed task. A push racing with the last
//! worker going to sleep therefore always runs. If the re-check finds work, the
//! worker unregisters itself ([`Idle::unregister`]) and searches again.
//!
//! **Waking.** [`Sleeper`]'s token is sticky, so an unpark that lands between
//! the re-check and the park is not lost. After `park` returns the worker
//! calls `unregister`: if a notifier already removed it, it is searching (the
//! notifier counted it); if it is still listed (a stale token from an earlier
//! race, or shutdown), it removes itself and searches. Either way the counts
//! stay exact.
//!
//! **Reserved workers** (`Builder::high_priority_workers`) run only `High`
//! tasks, so they must not take part in the protocol above: a notification
//! for a `Low` push that woke one, or found one searching, would be lost.
//! They never search and never count as searchers; they sleep on a list of
//! their own (`reserved_sleepers`). A `High` push, after `notify_one` (whose
//! `SeqCst` fence orders the push first), calls [`Idle::notify_reserved`],
//! which wakes one reserved sleeper if `num_reserved_sleeping` says there is
//! one. A reserved worker parks with the same Dekker pair as the others:
//! register (count itself), `SeqCst` fence, re-check the `High` queues, park.
//! Either the pusher sees it counted, or its re-check sees the push. When no
//! worker is reserved, `notify_reserved` is never called.
//!
//! **Shutdown** sets the runtime's `closed` flag, then [`Idle::unpark_all`];
//! every worker checks `closed` after registering as a sleeper and after
//! waking, so none sleeps through it.
//!
//! # The I/O reactor (feature `io`, without `net`)
//!
//! With the `io` feature a worker runs its whole loop inside one long-lived
//! `async_io::block_on` (`worker.rs`), and "park" means: return `Pending` to
//! that `block_on`. async-io then lets the thread wait *in the reactor*
//! (epoll) if no other thread holds it, or park plainly if one does; so one
//! idle worker at a time waits in the reactor and the others park as before.
//! Readiness events and timers are then dispatched on that worker thread.
//!
//! **Who sleeps and who wakes is unchanged.** A worker registers as a sleeper,
//! fences, re-checks, and only then returns `Pending`, exactly as above. The
//! one difference is the wake-up: instead of its token, each such worker
//! hands [`Idle::set_waker`] the `block_on`'s waker before it first
//! registers, and [`Idle`] wakes that waker where it would unpark the
//! parker. async-io's waker is a sticky token too (a wake before the thread
//! waits makes the wait return at once), and when the thread waits in the
//! reactor it also interrupts the reactor (async-io writes to its notify
//! pipe). So the Dekker pair above loses no wake, whether the worker waits
//! in the reactor or not; and a push while nobody sleeps costs what it cost
//! before (`notify_one`'s fence and two loads; the reactor is not touched).
//!
//! **Dispatch stays on the worker.** A wake that the reactor dispatches on a
//! worker (a socket became readable while that worker polled the reactor)
//! runs the schedule function on that worker thread, which knows it
//! (`context::note_dispatch`). The task goes to that worker's own queues
//! (the back of its local queue, not the LIFO slot, so that a batch of
//! wakes runs in the order the reactor found them: timers due together in
//! deadline order) with *no* `notify_one`: this worker will run it, and
//! waking a sibling for it is the wasted context switch of the plain-channel
//! designs. The first such wake wakes the worker's own waker, so that
//! `block_on` returns to the worker loop instead of waiting on. The push
//! still takes part in the shutdown Dekker pair (fence; load `drained`).
//!
//! **Back from the reactor with work in hand**, the worker leaves the
//! sleepers list *without* becoming a searcher ([`Idle::unregister_working`]):
//! it has its own work, and counting it as a searcher would make it wake a
//! sibling when it takes that work (the last searcher to find work wakes
//! another). If a notifier had already taken it off the list (and counted
//! it as searching), it stops searching as any searcher that found work
//! does, and wakes another if it was the last. Then, if its local queues
//! hold more than the one task it runs next (many events in one batch), it
//! calls `notify_one` so that a sleeping sibling can steal half: a batch of
//! events spreads over the workers without waking anyone for a single one.
//! Without the `io` feature none of this exists: `set_waker` is never
//! called, and workers park on their tokens.
//!
//! # The I/O driver (feature `net`)
//!
//! With `net` the runtime has its own driver (`io/`), and an idle worker
//! waits *in it*: "park" means [`Idle::park`] with `in_reactor`, which
//! waits in the driver if no other worker does (its turn is a try-lock),
//! else on the worker's parker. Who sleeps and who wakes is again
//! unchanged; what differs is only where the wait is, and [`Sleeper`]
//! (`sleeper.rs`) makes a wake reach the worker there: a write to the
//! driver's eventfd if it waits in the driver, a condvar notification if
//! on its parker, the sticky token either way (its protocol, and the loom
//! model `tests/loom_sleeper.rs`). A push while nobody sleeps costs what it
//! did before.
//!
//! A worker waits in the driver marked as inside the reactor
//! (`context::enter_reactor`), so the wakes the driver dispatches on its
//! thread go to its own queues with no `notify_one`, exactly as above;
//! back from the wait it leaves the sleepers list with work in hand
//! ([`Idle::unregister_working`]) and wakes a sibling only if it holds more
//! than its next task. While every worker is busy nobody waits in the
//! driver, so each busy worker polls it without waiting now and then
//! (`worker/driver.rs`), and right after a task spent its whole
//! cooperative budget. Reserved workers never wait in the driver.
//!
//! # Which reactor
//!
//! With both `io` and `net`, idle workers wait in the runtime's own driver,
//! and async-io's types are served by async-io's own reactor thread (as
//! without `io`): a thread can wait in one poller only, and the native
//! sockets are the ones registered once, edge-triggered, at one read and
//! one write per request, where async-io re-arms a oneshot registration
//! per wait. BENCHMARKS.md measures both stacks side by side.

use std::task::Waker;

use crossbeam_utils::CachePadded;

use crate::{
    sleeper::{Reactor, Sleeper},
    sync::{AtomicUsize, Mutex, Ordering, fence},
};

/// Where an idle worker waits (see the module docs).
pub(crate) enum WaitIn {
    /// On its parker (no reactor).
    Parker,
    /// In async-io's reactor, through the waker of the `block_on` its loop
    /// runs in (feature `io`): [`Idle::set_waker`].
    BlockOn,
    /// In the runtime's own I/O driver when no other worker does, else on
    /// its parker (feature `net`): see `sleeper.rs`.
    // Used by the driver (`net`), and by the loom model of `sleeper.rs`.
    #[cfg_attr(any(loom, not(feature = "net")), allow(dead_code))]
    Reactor(std::sync::Arc<dyn Reactor>),
}

/// # Invariants
/// Every access to the two counters is `SeqCst`: they take part in the
/// Dekker pair (push; fence; read counters) against (count myself; fence;
/// re-check queues), which needs one total order over both sides' accesses.
#[derive(Debug)]
pub(crate) struct Idle {
    /// Workers searching, or woken by a notifier and about to search. Raised
    /// by `try_start_searching`, `unregister` and `notify_one` (for the worker
    /// it wakes), lowered by `stop_searching`, `register` and `abandon`.
    num_searching: CachePadded<AtomicUsize>,
    /// Always `sleepers.len()`, changed only under the `sleepers` lock;
    /// readable without it, so that `notify_one` costs no lock when nobody
    /// sleeps.
    num_sleeping: CachePadded<AtomicUsize>,
    /// Indices of registered sleepers, most recent last; each index at most
    /// once.
    sleepers: Mutex<Vec<usize>>,
    /// One per worker slot; its token is sticky (see [`Sleeper`]).
    tokens: Box<[CachePadded<Sleeper>]>,
    /// The reactor an idle worker waits in (feature `net`), if any.
    reactor: Option<std::sync::Arc<dyn Reactor>>,
    /// Feature `io` ([`WaitIn::BlockOn`]), one per worker slot: the waker of
    /// the `block_on` a worker waits in when it drives async-io's reactor,
    /// used instead of its token while set. Set by that worker before it
    /// first registers as a sleeper (the `sleepers` lock orders it before any
    /// notifier's read); cleared when it exits, so that a replacement worker
    /// that later takes the slot (`stall.rs`) starts with the token. Cloned
    /// out of the lock before it is woken. `None` in the other modes, so
    /// that a wake takes no lock there.
    wakers: Option<Box<[Mutex<Option<Waker>>]>>,
    /// Workers running at start: the searchers' cap is half of them.
    active: usize,
    /// Always `reserved_sleepers.len()`, changed only under its lock; read
    /// by `notify_reserved` without it.
    num_reserved_sleeping: CachePadded<AtomicUsize>,
    /// Indices of reserved workers registered as sleepers; each at most once.
    reserved_sleepers: Mutex<Vec<usize>>,
}

impl Idle {
    /// `workers` workers waiting on their parkers.
    #[cfg(test)]
    pub(crate) fn new(workers: usize) -> Self {
        Self::with_slots(workers, workers, WaitIn::Parker)
    }

    /// `slots` worker places of which `workers` run at start (the others are
    /// spares for replacements of stalled workers), waiting as `wait` says.
    pub(crate) fn with_slots(workers: usize, slots: usize, wait: WaitIn) -> Self {
        let slots = slots.max(workers);
        let (reactor, wakers) = match wait {
            WaitIn::Parker => (None, None),
            WaitIn::BlockOn => (None, Some((0..slots).map(|_| Mutex::new(None)).collect())),
            WaitIn::Reactor(reactor) => (Some(reactor), None),
        };
        Self {
            active: workers,
            num_searching: CachePadded::new(AtomicUsize::new(0)),
            num_sleeping: CachePadded::new(AtomicUsize::new(0)),
            sleepers: Mutex::new(Vec::with_capacity(slots)),
            tokens: (0..slots).map(|_| CachePadded::new(Sleeper::new())).collect(),
            reactor,
            wakers,
            num_reserved_sleeping: CachePadded::new(AtomicUsize::new(0)),
            reserved_sleepers: Mutex::new(Vec::new()),
        }
    }

    fn workers(&self) -> usize {
        self.active
    }

    /// Workers registered as sleepers, reserved ones included (the stall
    /// watcher's "is everybody asleep" check; `SeqCst`, see `stall.rs`).
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn sleeping(&self) -> usize {
        self.num_sleeping.load(Ordering::SeqCst) + self.num_reserved_sleeping.load(Ordering::SeqCst)
    }

    /// Wakes one sleeping worker if nobody is searching. Call after pushing
    /// work that another worker could take. Returns whether it woke one.
    pub(crate) fn notify_one(&self) -> bool {
        // Pairs with the fence at the end of `register`: the caller's push
        // is ordered before the two loads below, so either they see the
        // registering worker counted (and we wake it, or a searcher that
        // will re-check), or that worker's re-check sees the push.
        fence(Ordering::SeqCst);
        // Pair with the `fetch_add`s of `try_start_searching` / `unregister`
        // and with `register`'s increment of `num_sleeping`.
        if self.num_searching.load(Ordering::SeqCst) != 0 || self.num_sleeping.load(Ordering::SeqCst) == 0 {
            return false;
        }
        let mut sleepers = self.sleepers.lock();
        // Another notifier may have woken a searcher since the check above
        // (its increment below happened under this lock).
        if self.num_searching.load(Ordering::SeqCst) != 0 {
            return false;
        }
        let Some(index) = sleepers.pop() else {
            return false;
        };
        // Under the lock, so that `num_sleeping == sleepers.len()` holds and
        // the woken worker is a searcher from the moment of the decision.
        self.num_sleeping.fetch_sub(1, Ordering::SeqCst);
        self.num_searching.fetch_add(1, Ordering::SeqCst);
        drop(sleepers);
        self.unpark(index);
        true
    }

    /// A hint, without the fence of `notify_one`: whether a worker sleeps
    /// while nobody searches. A worker that queued work without notifying
    /// (a yield: `yield_queue.rs`) calls `notify_one` only when this says
    /// someone could take it; being only a hint is fine, since that work is
    /// never stranded (its worker is running and will take it).
    pub(crate) fn idle_without_searcher(&self) -> bool {
        self.num_sleeping.load(Ordering::Relaxed) != 0 && self.num_searching.load(Ordering::Relaxed) == 0
    }

    /// Becomes a searcher unless half the workers already are.
    pub(crate) fn try_start_searching(&self) -> bool {
        // A heuristic cap, not a protocol step: two workers racing here may
        // both pass it, which only means one more searcher.
        let searching = self.num_searching.load(Ordering::SeqCst);
        if 2 * searching >= self.workers().max(2) {
            return false;
        }
        // Read by `notify_one`: while this is non-zero nobody is woken,
        // since this searcher will look (and re-check before it parks).
        self.num_searching.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// A searcher found work. Returns `true` if it was the last searcher (the
    /// caller should then `notify_one`, so that someone keeps looking).
    pub(crate) fn stop_searching(&self) -> bool {
        // The read-modify-write tells exactly one caller that it was the
        // last, even when searchers stop at the same moment.
        self.num_searching.fetch_sub(1, Ordering::SeqCst) == 1
    }

    /// Registers worker `index` as a sleeper, ending its search if
    /// `searching`. The caller must then re-check for work before parking.
    pub(crate) fn register(&self, index: usize, searching: bool) {
        let mut sleepers = self.sleepers.lock();
        sleepers.push(index);
        self.num_sleeping.fetch_add(1, Ordering::SeqCst);
        if searching {
            self.num_searching.fetch_sub(1, Ordering::SeqCst);
        }
        drop(sleepers);
        // Pairs with the fence at the start of `notify_one`: the counts
        // written above are ordered before the caller's re-check of the
        // queues (the other half of the Dekker pair).
        fence(Ordering::SeqCst);
    }

    /// Takes worker `index` off the sleepers list if it is still there and
    /// counts it as searching. After this the worker is a searcher either way
    /// (a notifier that removed it counted it already).
    pub(crate) fn unregister(&self, index: usize) {
        let mut sleepers = self.sleepers.lock();
        if take_off(&mut sleepers, &self.num_sleeping, index) {
            self.num_searching.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Wakes one sleeping reserved worker, if any: call after pushing a
    /// `High` task, after `notify_one` (whose fence orders the push before
    /// the load below; it pairs with the fence in `register_reserved`).
    pub(crate) fn notify_reserved(&self) {
        if self.num_reserved_sleeping.load(Ordering::SeqCst) == 0 {
            return;
        }
        let mut sleepers = self.reserved_sleepers.lock();
        let Some(index) = sleepers.pop() else {
            return;
        };
        self.num_reserved_sleeping.fetch_sub(1, Ordering::SeqCst);
        drop(sleepers);
        self.unpark(index);
    }

    /// Registers reserved worker `index` as a sleeper. The caller must then
    /// re-check the `High` queues before parking.
    pub(crate) fn register_reserved(&self, index: usize) {
        let mut sleepers = self.reserved_sleepers.lock();
        sleepers.push(index);
        self.num_reserved_sleeping.fetch_add(1, Ordering::SeqCst);
        drop(sleepers);
        // Pairs with the fence in `notify_one` that precedes every
        // `notify_reserved`: our count is ordered before the re-check.
        fence(Ordering::SeqCst);
    }

    /// Takes reserved worker `index` off its sleepers list, if a notifier
    /// did not already.
    pub(crate) fn unregister_reserved(&self, index: usize) {
        take_off(&mut self.reserved_sleepers.lock(), &self.num_reserved_sleeping, index);
    }

    /// Worker `index` is dying mid-protocol (a panicking backend): takes it
    /// off the sleepers list if it is there, and out of the searchers if it
    /// was one, or was counted as one by a notifier that woke it. Like
    /// `stop_searching`, wakes another worker if it was the last searcher,
    /// so that no push is left with nobody looking.
    pub(crate) fn abandon(&self, index: usize, searching: bool) {
        // Not on the list: registered, then removed by a notifier that
        // counted it as searching; or searching all along.
        let was_searching = !take_off(&mut self.sleepers.lock(), &self.num_sleeping, index);
        if (was_searching || searching) && self.stop_searching() {
            self.notify_one();
        }
    }

    /// Worker `index` woke up with work in its own queues (events it
    /// dispatched from the I/O reactor): takes it off the sleepers list
    /// without making it a searcher. Returns `true` if a notifier had taken
    /// it off already (counting it as searching) and it was the last
    /// searcher: the caller must then `notify_one`, as a searcher that found
    /// work does. See "The I/O reactor" in the module docs.
    pub(crate) fn unregister_working(&self, index: usize) -> bool {
        let mut sleepers = self.sleepers.lock();
        if take_off(&mut sleepers, &self.num_sleeping, index) {
            return false;
        }
        drop(sleepers);
        self.stop_searching()
    }

    /// From now on, waking worker `index` wakes `waker` instead of unparking
    /// its parker (feature `io`). Call once, before the worker first
    /// registers as a sleeper.
    #[cfg_attr(not(all(feature = "io", not(feature = "net"))), allow(dead_code))]
    pub(crate) fn set_waker(&self, index: usize, waker: Option<Waker>) {
        let wakers = self.wakers.as_ref().expect("set_waker needs an Idle made with WaitIn::BlockOn");
        *wakers[index].lock() = waker;
    }

    /// Worker `index`'s waker, if set (cloned out of its lock).
    fn waker(&self, index: usize) -> Option<Waker> {
        self.wakers.as_ref()?[index].lock().clone()
    }

    /// Wakes worker `index`'s own `block_on` waker (feature `io`): the
    /// worker dispatched a wake onto its own queues from the reactor and must
    /// come back to run it. Leaves the sleepers list alone.
    #[cfg(any(feature = "io", feature = "net"))]
    pub(crate) fn wake_worker(&self, index: usize) {
        if let Some(waker) = self.waker(index) {
            waker.wake();
        }
    }

    /// Wakes worker `index` from its wait: its waker if it waits in the
    /// reactor's `block_on`, else its token (in the reactor or on its
    /// parker, wherever it waits).
    fn unpark(&self, index: usize) {
        match self.waker(index) {
            Some(waker) => waker.wake(),
            None => self.tokens[index].unpark(self.reactor.as_deref()),
        }
    }

    /// Parks worker `index` until it is notified (or a stale token wakes it):
    /// in the reactor if `in_reactor`, the runtime has one and no other
    /// worker waits there; on its parker otherwise.
    pub(crate) fn park(&self, index: usize, in_reactor: bool) {
        let reactor = if in_reactor { self.reactor.as_deref() } else { None };
        self.tokens[index].park(reactor);
    }

    /// Wakes every worker (shutdown): both ways, since a worker may not have
    /// set its waker yet (it then sees `closed` in its first re-check).
    pub(crate) fn unpark_all(&self) {
        for (index, token) in self.tokens.iter().enumerate() {
            token.unpark(self.reactor.as_deref());
            if let Some(waker) = self.waker(index) {
                waker.wake();
            }
        }
    }
}

/// Takes worker `index` off a sleepers list (the caller holds its lock) and
/// lowers that list's count; returns whether it was there.
fn take_off(sleepers: &mut Vec<usize>, count: &AtomicUsize, index: usize) -> bool {
    let Some(pos) = sleepers.iter().position(|&i| i == index) else {
        return false;
    };
    sleepers.swap_remove(pos);
    count.fetch_sub(1, Ordering::SeqCst);
    true
}
