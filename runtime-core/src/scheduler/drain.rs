//! Shutdown: close, then drain.
//!
//! # The protocol
//!
//! 1. `closed` is set once, by the runtime's shutdown, a failed build, or a
//!    worker that died (a `Queue` backend panicked: the runtime closes
//!    visibly rather than run on short-handed; see `worker.rs`). Workers stop
//!    taking tasks (a worker that popped one just before checks again and
//!    drops it unpolled), spawns are refused, and every worker is unparked so
//!    that it exits.
//! 2. `Shared::drain` runs once the workers are gone (on the thread that
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
//!    drain waits (`Backoff`) for it to land in a queue, then drops it
//!    itself. The wait is bounded (`IN_FLIGHT_WAIT`) so that a backend that
//!    loses a runnable (a broken `push`) cannot hang shutdown.
//! 4. Then the drain sets `drained` and makes one more pass. After `drained`
//!    no future of the runtime is alive but one that a worker still running
//!    is polling (`shutdown_timeout` gave up on it), so the schedule function
//!    drops what it is handed: that happens inside `Runnable::run`, on that
//!    worker, with no lock held.
//!
//! # The final pass
//! A push that raced with step 4 is caught by a Dekker pair: the pusher does
//! "push; `SeqCst` fence (in `notify_one`); load `drained`" and drains the
//! queues itself if it is set, the drain does "set `drained`; fence; pop".
//! Either the drain sees the push or the pusher sees `drained`, so no
//! runnable is left in a queue (where its schedule function's reference to
//! this state would keep both alive forever). Every push takes part, the
//! batches moved by `steal_into` included (`Shared::notify_after_push`):
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

use crate::{
    queue::Queue,
    sync::{Backoff, Ordering, fence},
};

use super::Shared;

/// The longest the drain waits for wakes in flight to land in a queue
/// (step 3), counted in [`Backoff::snooze`] calls: about a second. Only a
/// backend that loses runnables makes it wait that long.
#[cfg(not(loom))]
const IN_FLIGHT_WAIT: u32 = 1_000;

impl<Q: Queue> Shared<Q> {
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
            local.take_all(|_, runnable| {
                drop(runnable);
                found = true;
            });
        }
        found
    }

    /// Cancels every task: see the module docs of `drain.rs`. `running` is the number of
    /// workers that may still be polling a task. Safe to call more than once
    /// and from any thread, with no lock held.
    pub(crate) fn drain(&self, running: usize) {
        // A state the runtime must never be in (tasks would be cancelled
        // while spawns are still accepted): fail loudly, in release too.
        assert!(self.is_closed(), "runtime-core bug: the drain ran while the runtime was open");
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
}
