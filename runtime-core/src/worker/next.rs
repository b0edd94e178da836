//! Where a worker's next task comes from, in the order of the module docs
//! of `worker/`: [`Worker::next_task`] (the fairness turn, `High` work,
//! then [`Worker::next_local_task`]), and when that finds nothing,
//! [`Worker::search`] through [`Worker::steal_work`].

use super::Worker;
use crate::{
    metrics::Counter,
    queue::{Priority, Queue, Runnable},
    sync::Ordering,
};

/// Turns between moves of a shared-queue task onto the local queue.
pub(super) const FAIRNESS_INTERVAL: u32 = 61;
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

impl<Q: Queue> Worker<Q> {
    /// Takes a task from this worker's own queues or the shared ones.
    pub(super) fn next_task(&mut self) -> Option<(Runnable, Priority)> {
        self.tick = self.tick.wrapping_add(1);
        let injected = self.shared.injected.load(Ordering::Relaxed);
        if self.tick.is_multiple_of(FAIRNESS_INTERVAL) || (self.yielded && injected != self.injected_seen) {
            self.take_fair_share(injected);
        }
        if let Some(r) = self.next_high_task() {
            return Some((r, Priority::High));
        }
        if let Some(r) = self.next_local_task() {
            self.high_streak = 0;
            return Some((r, Priority::Low));
        }
        // The hint may lag a push; look at the high queues anyway.
        self.take(Priority::High).map(|r| (r, Priority::High))
    }

    /// The fairness turn: moves this worker's fair share of each shared
    /// queue to the back of its local queue (module docs, step 1).
    /// `injected` is the count of shared-queue pushes read before.
    fn take_fair_share(&mut self, injected: usize) {
        let shared = &*self.shared;
        let local = &shared.locals[self.index];
        let mut left = false;
        for p in [Priority::High, Priority::Low] {
            let shared_queue = shared.shared_queue(p);
            if shared_queue.is_empty() {
                continue;
            }
            let moved = shared_queue.steal_into(local.queue(p), self.fair_share(shared_queue).max(1));
            if moved > 0 {
                self.moved_into_local(p, moved, false);
                left |= !shared_queue.is_empty();
            }
        }
        if !left {
            // Seen it all; a later push changes the count again.
            self.injected_seen = injected;
        }
    }

    /// A `High` task, if the `high_queued` hint says one waits, unless
    /// [`HIGH_STREAK`] ran in a row and a `Low` task is waiting.
    fn next_high_task(&mut self) -> Option<Runnable> {
        let high_waiting = self.shared.high_queued.load(Ordering::Relaxed) != 0;
        if !high_waiting || (self.high_streak >= HIGH_STREAK && self.low_waiting()) {
            return None;
        }
        let r = self.take(Priority::High)?;
        self.high_streak = self.high_streak.saturating_add(1);
        Some(r)
    }

    /// A `Low` task: the LIFO slot (at most [`LIFO_STREAK`] in a row), the
    /// local `Low` queue or a batch from the shared one, the yield queue
    /// (after the others, but after [`YIELD_STREAK`] of them one yielded
    /// task runs), and the LIFO slot again if all else is empty.
    pub(super) fn next_local_task(&mut self) -> Option<Runnable> {
        let local = &self.shared.locals[self.index];
        if self.lifo_streak < LIFO_STREAK {
            if let Some(r) = local.lifo.take() {
                self.lifo_streak += 1;
                return Some(r);
            }
        }
        self.lifo_streak = 0;
        let yields_turn = self.yield_wait >= YIELD_STREAK;
        let low = if yields_turn {
            local.yields.pop().or_else(|| self.take(Priority::Low))
        } else if !local.yields.is_empty() {
            // The local queue if something was pushed there; the shared
            // one only on the fairness turns, whose check of `injected`
            // costs nothing: a worker cycling through its yielded tasks
            // touches no queue another worker uses.
            local.pop_low().or_else(|| local.yields.pop())
        } else {
            self.take(Priority::Low)
        };
        self.yield_wait =
            if yields_turn || local.yields.is_empty() { 0 } else { self.yield_wait.saturating_add(1) };
        low.or_else(|| local.lifo.take())
    }

    /// Whether a `Low` task is waiting where this worker would take it.
    fn low_waiting(&self) -> bool {
        self.shared.locals[self.index].has_low() || !self.shared.shared_queue(Priority::Low).is_empty()
    }

    /// Pops from the local queue of `priority`, else takes a batch from the
    /// shared one: the first to run, up to a fair share more into the local
    /// queue.
    pub(super) fn take(&self, priority: Priority) -> Option<Runnable> {
        let local = self.shared.locals[self.index].queue(priority);
        if let Some(r) = local.pop() {
            return Some(r);
        }
        let shared_queue = self.shared.shared_queue(priority);
        let first = shared_queue.pop()?;
        let share = self.fair_share(shared_queue);
        if share > 0 {
            let moved = shared_queue.steal_into(local, share);
            if moved > 0 {
                self.moved_into_local(priority, moved, false);
            }
        }
        Some(first)
    }

    /// `n` tasks were moved into this worker's local queue of `priority`, a
    /// batch from a shared queue or (`stolen`) from a sibling: note it for
    /// the owner's hint, count a steal, and notify, since they are now only
    /// reachable by stealing (and like every push, a batch that lands after
    /// the final drain is drained there).
    fn moved_into_local(&self, priority: Priority, n: usize, stolen: bool) {
        self.shared.locals[self.index].note_batch(priority);
        if stolen {
            self.shared.count(self.index, Counter::Steals, n as u64);
        }
        self.shared.notify_after_push();
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

    /// The siblings' indices, from a random one on.
    fn siblings(&mut self) -> impl Iterator<Item = usize> + use<Q> {
        let n = self.shared.locals.len();
        let start = self.next_random() as usize % n;
        let me = self.index;
        (0..n).map(move |i| (start + i) % n).filter(move |&i| i != me)
    }

    /// Steals half of a sibling's local queue or yield queue (the first to
    /// run, the rest into ours), or its LIFO task.
    fn steal_work(&mut self, include_lifo: bool) -> Option<(Runnable, Priority)> {
        for victim_index in self.siblings() {
            let shared = &*self.shared;
            let mine = &shared.locals[self.index];
            let victim = &shared.locals[victim_index];
            for p in [Priority::High, Priority::Low] {
                let from = victim.queue(p);
                let len = from.len();
                if len == 0 {
                    continue;
                }
                let moved = from.steal_into(mine.queue(p), len.div_ceil(2).min(MAX_BATCH));
                if moved > 0 {
                    self.moved_into_local(p, moved, true);
                    if let Some(r) = mine.queue(p).pop() {
                        return Some((r, p));
                    }
                }
            }
            // Tasks that yielded: half of them, like a local queue.
            let len = victim.yields.len();
            if len > 0 {
                let low = mine.queue(Priority::Low);
                let moved = victim.yields.take(len.div_ceil(2).min(MAX_BATCH), |r| low.push(r));
                if moved > 0 {
                    self.moved_into_local(Priority::Low, moved, true);
                    if let Some(r) = low.pop() {
                        return Some((r, Priority::Low));
                    }
                }
            }
            if include_lifo {
                if let Some(r) = victim.lifo.take() {
                    shared.count(self.index, Counter::Steals, 1);
                    return Some((r, Priority::Low));
                }
            }
        }
        None
    }

    /// A `High` task from this worker's queue, the shared queue, or a
    /// sibling's queue (what a reserved worker runs).
    pub(super) fn take_high_anywhere(&mut self) -> Option<Runnable> {
        if let Some(r) = self.take(Priority::High) {
            return Some(r);
        }
        for victim in self.siblings() {
            if let Some(r) = self.shared.locals[victim].queue(Priority::High).pop() {
                self.shared.count(self.index, Counter::Steals, 1);
                return Some(r);
            }
        }
        None
    }

    /// Looks for work beyond this worker's own queues, a few rounds (see
    /// "Searchers" in `idle.rs`).
    pub(super) fn search(&mut self) -> Option<(Runnable, Priority)> {
        if !self.searching {
            if !self.shared.idle.try_start_searching() {
                return None;
            }
            self.searching = true;
        }
        for round in 0..SEARCH_ROUNDS {
            // LIFO slots only after a first round: see "Who notifies" in
            // `scheduler/`.
            if let Some(r) = self.steal_work(round > 0).or_else(|| self.next_task()) {
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
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::{config::Config, scheduler::Shared, sync::Arc, tests::TestQueue};

    /// A worker that has run `u32::MAX` `High` tasks in a row takes one more
    /// without overflowing its streak (a debug build used to panic there,
    /// outside any `catch_unwind`, killing the worker).
    #[test]
    fn high_streak_saturates() {
        let shared = Arc::new(Shared::<TestQueue>::new(usize::MAX, &Config::for_tests(1)));
        let mut worker = Worker::new(shared.clone(), 0);
        worker.high_streak = u32::MAX;
        let (runnable, task) = crate::queue::bare_task(async {});
        shared.locals[0].queue(Priority::High).push(runnable);
        shared.high_queued.fetch_add(1, Ordering::Relaxed);
        let (next, priority) = worker.next_task().expect("the High task");
        assert_eq!((priority, worker.high_streak), (Priority::High, u32::MAX));
        drop((next, task));
    }
}
