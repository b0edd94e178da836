//! The driver: one `mio::Poll` per runtime, the slab of registered sources,
//! and the turn that waits for events and dispatches them (the protocol is in
//! the module docs of [`crate::io`]).

use std::{
    io,
    panic::{AssertUnwindSafe, catch_unwind},
    task::Waker,
    time::{Duration, Instant},
};

use slab::Slab;

use super::{ready::Ready, scheduled_io::ScheduledIo};
use crate::time::Timers;
use crate::{
    metrics::Metrics,
    sleeper::Reactor,
    sync::{Arc, AtomicU64, Mutex, MutexGuard, Ordering},
};

/// Events taken from the OS per wait; more stay queued for the next turn.
const EVENTS: usize = 1024;

/// A token's low bits are the source's slab key, the rest a generation
/// that tells a reused key's new source from the old one.
const KEY_BITS: u32 = 24;
const KEY_MASK: usize = (1 << KEY_BITS) - 1;
/// The most sources registered at once: one less than the key space, so
/// that no token is all ones ([`WAKE_TOKEN`]).
const MAX_SOURCES: usize = KEY_MASK;
/// The token of the `mio::Waker` that [`Driver::unpark`] uses.
const WAKE_TOKEN: usize = usize::MAX;

/// A runtime's I/O driver (feature `net`).
pub(crate) struct Driver {
    /// Held by the thread in [`Driver::try_turn`]: a try-lock, never waited for.
    turn: Mutex<Turn>,
    /// For (de)registrations, which never wait for the turn.
    registry: mio::Registry,
    /// Ends a wait (`unpark`); shared with the timers, whose `unpark` it is.
    waker: Arc<mio::Waker>,
    /// The runtime's timers (`time/timers.rs`): the thread holding the turn
    /// waits at most until the next one is due, and fires them.
    timers: Arc<Timers>,
    sources: Mutex<Sources>,
    stats: Stats,
}

/// The state only the thread holding the turn touches.
struct Turn {
    poll: mio::Poll,
    events: mio::Events,
    /// The sources of the current batch of events, and what each event
    /// said: collected under one lock of the slab.
    batch: Vec<(Arc<ScheduledIo>, Ready)>,
    /// The wakers the batch takes, woken once no lock is held.
    wakers: Vec<Waker>,
}

/// The registered sources.
struct Sources {
    slab: Slab<Arc<ScheduledIo>>,
    /// Bumped by every registration: the high bits of its token.
    generation: usize,
    /// Set by shutdown, under this lock: no registration after it.
    shut_down: bool,
}

/// The driver's counters, for [`Metrics`]: few and rare (registrations,
/// `WouldBlock`s) or once per turn (events), so plain shared atomics.
#[derive(Debug, Default)]
struct Stats {
    registered: AtomicU64,
    deregistered: AtomicU64,
    ready_events: AtomicU64,
    would_block: AtomicU64,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver").field("stats", &self.stats).finish_non_exhaustive()
    }
}

impl Driver {
    /// A driver with its own OS poller (an epoll instance on Linux) and the
    /// waker that ends its waits. Fails if the OS refuses one (out of file
    /// descriptors).
    pub(crate) fn new() -> io::Result<Self> {
        let poll = mio::Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = Arc::new(mio::Waker::new(poll.registry(), mio::Token(WAKE_TOKEN))?);
        let timers = Arc::new(Timers::new(Box::new({
            let waker = waker.clone();
            // As `unpark`: fails only if the eventfd cannot be reset.
            move || drop(waker.wake())
        })));
        Ok(Self {
            turn: Mutex::new(Turn {
                poll,
                events: mio::Events::with_capacity(EVENTS),
                batch: Vec::new(),
                wakers: Vec::new(),
            }),
            registry,
            waker,
            timers,
            sources: Mutex::new(Sources { slab: Slab::new(), generation: 0, shut_down: false }),
            stats: Stats::default(),
        })
    }

    /// If no other thread holds the driver: waits at most `timeout` for
    /// readiness (`None`: no limit; `Some(ZERO)`: a poll without waiting),
    /// dispatches what it found (wakers woken on this thread, with no lock
    /// held) and returns `Some(wakes)`. `None`: another thread holds it.
    pub(crate) fn try_turn(&self, timeout: Option<Duration>) -> Option<usize> {
        let guard = self.turn.try_lock()?;
        Some(self.turn(guard, timeout))
    }

    /// The turn, by the thread that holds `guard`: wait at most `timeout`,
    /// collect, release the turn, wake. Returns how many wakers it woke.
    fn turn(&self, mut guard: MutexGuard<'_, Turn>, timeout: Option<Duration>) -> usize {
        let turn = &mut *guard;
        // No longer than until the next timer is due (and recorded so, for a
        // timer registered meanwhile: `time/timers.rs`).
        let timeout = match (timeout, self.timers.before_wait(Instant::now())) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match turn.poll.poll(&mut turn.events, timeout) {
            Ok(()) => {}
            // A signal ended the wait: a turn with no events.
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            // Only a broken epoll descriptor can make this fail; carrying on
            // would spin.
            Err(error) => panic!("runtime-core's I/O driver could not wait for events: {error}"),
        }
        {
            // One lock of the slab for the whole batch.
            let sources = self.sources.lock();
            for event in turn.events.iter() {
                let token = event.token().0;
                if token == WAKE_TOKEN {
                    continue;
                }
                // A source dropped since (its key free, or reused by another
                // source with a new token) gets nothing.
                if let Some(io) = sources.slab.get(token & KEY_MASK).filter(|io| io.token == token) {
                    turn.batch.push((io.clone(), Ready::from_event(event)));
                }
            }
        }
        // Readiness first, then the wakers (module docs, "Waiting").
        for (io, ready) in &turn.batch {
            io.set_readiness(*ready);
            io.take_wakers(Some(*ready), &mut turn.wakers);
        }
        let (mut batch, mut wakers) = (std::mem::take(&mut turn.batch), std::mem::take(&mut turn.wakers));
        // While still holding the turn: the next holder records its own wait.
        self.timers.forget_wait();
        drop(guard);
        self.stats.ready_events.fetch_add(batch.len() as u64, Ordering::Relaxed);
        let woken = wakers.len() + self.timers.fire_due(Instant::now());
        wake_all(&mut wakers);
        // The last reference to a source may be one of these: dropped with
        // no lock held.
        batch.clear();
        // The buffers go back for the next turn, unless another thread has
        // taken the turn meanwhile (then they are simply freed).
        if let Some(mut turn) = self.turn.try_lock() {
            turn.batch = batch;
            turn.wakers = wakers;
        }
        woken
    }

    /// Ends a wait in [`try_turn`](Self::try_turn) at once, or makes the
    /// next wait return at once (sticky: the waker's event stays pending
    /// until a wait collects it).
    pub(crate) fn unpark(&self) {
        // Fails only if the eventfd's counter cannot be reset, which its
        // own read cannot fail to do; nothing to report to.
        let _ = self.waker.wake();
    }

    /// Shutdown: every registered source is marked shut down (its
    /// operations return an error that says the runtime shut down) and its
    /// wakers woken; registrations fail from now on. Idempotent.
    pub(crate) fn shutdown(&self) {
        // Every pending timer too: woken, and void from now on.
        self.timers.shutdown();
        let sources: Vec<Arc<ScheduledIo>> = {
            let mut sources = self.sources.lock();
            if sources.shut_down {
                return;
            }
            sources.shut_down = true;
            sources.slab.iter().map(|(_, io)| io.clone()).collect()
        };
        let mut wakers = Vec::new();
        for io in &sources {
            io.shut_down();
            io.take_wakers(None, &mut wakers);
        }
        wake_all(&mut wakers);
        drop(sources);
    }

    /// The runtime's timers.
    pub(crate) fn timers(&self) -> &Arc<Timers> {
        &self.timers
    }

    /// Registers `source` for both directions, edge-triggered, once: its
    /// registration is never touched again until [`deregister`](Self::deregister).
    pub(crate) fn register(&self, source: &mut impl mio::event::Source) -> io::Result<Arc<ScheduledIo>> {
        let io = {
            let mut sources = self.sources.lock();
            if sources.shut_down {
                return Err(super::scheduled_io::shut_down_error());
            }
            if sources.slab.len() >= MAX_SOURCES {
                return Err(io::Error::other(format!(
                    "runtime-core's I/O driver holds {MAX_SOURCES} sources already, its most"
                )));
            }
            sources.generation = sources.generation.wrapping_add(1);
            let generation = sources.generation;
            let entry = sources.slab.vacant_entry();
            let token = entry.key() | (generation << KEY_BITS);
            let io = Arc::new(ScheduledIo::new(token));
            entry.insert(io.clone());
            io
        };
        let interest = mio::Interest::READABLE | mio::Interest::WRITABLE;
        match self.registry.register(source, mio::Token(io.token), interest) {
            Ok(()) => {
                self.stats.registered.fetch_add(1, Ordering::Relaxed);
                Ok(io)
            }
            Err(error) => {
                self.release(&io);
                Err(error)
            }
        }
    }

    /// Removes `source` from the OS poller (before its descriptor closes).
    pub(crate) fn deregister(&self, source: &mut impl mio::event::Source) -> io::Result<()> {
        self.stats.deregistered.fetch_add(1, Ordering::Relaxed);
        self.registry.deregister(source)
    }

    /// Frees `io`'s slab entry: its registration is gone. An event already
    /// collected for it is still dispatched (the batch holds a reference); a
    /// later one finds the key free or holding another token.
    pub(crate) fn release(&self, io: &Arc<ScheduledIo>) {
        let removed = {
            let mut sources = self.sources.lock();
            let key = io.token & KEY_MASK;
            match sources.slab.get(key) {
                Some(entry) if Arc::ptr_eq(entry, io) => Some(sources.slab.remove(key)),
                _ => None,
            }
        };
        // Not the last reference (the caller holds one), but dropped outside
        // the lock all the same.
        drop(removed);
    }

    /// Notes an operation whose syscall returned `WouldBlock`.
    pub(crate) fn count_would_block(&self) {
        self.stats.would_block.fetch_add(1, Ordering::Relaxed);
    }

    /// Fills the driver's fields of a [`Metrics`] snapshot.
    pub(crate) fn fill(&self, metrics: &mut Metrics) {
        metrics.io_registered = self.stats.registered.load(Ordering::Relaxed);
        metrics.io_deregistered = self.stats.deregistered.load(Ordering::Relaxed);
        metrics.io_ready_events = self.stats.ready_events.load(Ordering::Relaxed);
        metrics.io_would_block = self.stats.would_block.load(Ordering::Relaxed);
        metrics.timers = self.timers.len();
    }
}

/// Wakes every waker of `wakers`, each inside `catch_unwind`: a waker that
/// panics (user code: a waker of another executor) neither kills the
/// thread that holds the driver nor keeps the others from waking.
fn wake_all(wakers: &mut Vec<Waker>) {
    for waker in wakers.drain(..) {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| waker.wake())) {
            crate::panic_policy::drop_payload(payload);
        }
    }
}

/// An idle worker waits in the driver (see `sleeper.rs`): it takes the turn
/// if no other thread holds it, announces itself while holding it, and
/// waits in the OS poller until an event or [`Driver::unpark`]. The wakes it
/// then dispatches run on the worker, which marked itself as inside the
/// reactor (`context::enter_reactor`) before parking, so that they go to its
/// own queues.
impl Reactor for Driver {
    fn try_wait(&self, announce: &mut dyn FnMut() -> bool) -> bool {
        let Some(guard) = self.turn.try_lock() else {
            return false;
        };
        if announce() {
            self.turn(guard, None);
        }
        true
    }

    fn wake(&self) {
        self.unpark();
    }
}
