//! The replacement protocol ("Threads" in `stall.rs`): a stalled worker
//! whose poll returns races the watcher starting a replacement, whose
//! thread the OS may refuse, and the replacement taking over. The models
//! call the real `Watch` and `Stall` steps and the real exit latch; the
//! watcher's side is `watcher::replace` step by step, with a fake spawn that
//! can fail (the watcher thread itself runs outside loom).
//!
//! What every interleaving must give:
//! - the exit latch never reaches zero while the runtime is open (no worker
//!   count-out is the last one: the runtime is never drained while open,
//!   nor left without a worker);
//! - once the stalled worker has looked at its state again (at the end of
//!   the poll, or of its next one), exactly one thread is in charge: the
//!   worker carried on and no replacement runs, or it stepped aside and one
//!   replacement runs; `live` says 1 and the latch counts that one thread;
//! - the spare slot is taken exactly when a replacement runs.

use super::model;
use crate::{
    stall::{RUNNING, STALLED, Stall, Watch},
    sync::{Arc, Latch, Ordering, thread},
    task_id::TaskId,
};

/// One worker's runtime: its stall state and its exit latch.
struct World {
    stall: Stall,
    exit: Latch,
}

impl World {
    fn new() -> Arc<Self> {
        let threshold = Some(std::time::Duration::from_millis(1));
        Arc::new(World {
            stall: Stall::new(1, Stall::slots(1, threshold), threshold, None),
            exit: Latch::new(1),
        })
    }

    fn watch(&self) -> &Watch {
        &self.stall.watches[0]
    }

    /// A thread counts itself out of the open runtime.
    fn count_out(&self, who: &str) {
        assert!(!self.exit.count_down(), "{who} was the last one out of an open runtime");
    }

    /// The stalled worker's poll returns (`Worker::run_task`): `true` if it
    /// stepped aside (it retires, frees its slot and counts itself out).
    fn poll_returns(&self) -> bool {
        let stepped_aside = self.watch().end() && self.watch().resume();
        if stepped_aside {
            self.stall.retire();
            self.stall.free_slot(0);
            self.count_out("the worker that stepped aside");
        }
        stepped_aside
    }

    /// The watcher's `replace` for the poll `seq` of worker 0, with a spawn
    /// that fails if `refused`. Returns the replacement's thread, which says
    /// whether it took over.
    fn replace(this: &Arc<Self>, seq: u64, refused: bool) -> Option<thread::JoinHandle<bool>> {
        let replacement = this.stall.reserve(0, seq)?;
        this.exit.count_up();
        if refused {
            this.stall.release(replacement);
            this.count_out("a replacement that never started");
            return None;
        }
        let world = this.clone();
        Some(thread::spawn(move || {
            // `worker::run` with `replaces`.
            if world.stall.take_over(&replacement) {
                return true;
            }
            world.stall.release(replacement);
            world.count_out("a replacement that stepped back");
            false
        }))
    }

    /// Checks the end state once every thread is joined: `stepped_aside`
    /// says whether the worker did, `replaced` whether a replacement runs.
    fn check(&self, mut stepped_aside: bool, replaced: bool) {
        if !stepped_aside {
            // The worker's next poll: it looks at its state again.
            self.watch().begin(TaskId::next());
            stepped_aside = self.poll_returns();
        }
        assert_eq!(
            replaced, stepped_aside,
            "a replacement runs exactly when the stalled worker stepped aside"
        );
        assert_eq!(self.stall.live.load(Ordering::SeqCst), 1, "one worker in charge");
        assert_eq!(self.exit.count(), 1, "the latch counts the one thread in charge");
        assert_eq!(self.watch().state.load(Ordering::SeqCst), RUNNING);
        assert_eq!(
            self.stall.spares_taken(),
            usize::from(replaced),
            "the spare slot is taken while a replacement runs"
        );
    }
}

/// The watcher reported the stall (`RUNNING -> STALLED`) and starts a
/// replacement (the spawn succeeds) while the stalled poll returns.
#[test]
fn stalled_worker_returns_while_the_watcher_replaces_it() {
    model(|| {
        let world = World::new();
        world.watch().begin(TaskId::next());
        let (seq, _, _) = world.watch().snapshot();
        world.watch().state.compare_exchange(RUNNING, STALLED, Ordering::AcqRel, Ordering::Relaxed).unwrap();
        let watcher = {
            let world = world.clone();
            thread::spawn(move || World::replace(&world, seq, false).expect("a spare slot").join().unwrap())
        };
        let stepped_aside = world.poll_returns();
        let replaced = watcher.join().unwrap();
        world.check(stepped_aside, replaced);
    });
}

/// As above, but the OS refuses the first thread; the watcher tries again
/// at its next look while the worker is still reported stalled, and that
/// spawn succeeds. A failed attempt never commits anything: it used to put
/// `STALLED` back after the worker may already have retired.
#[test]
fn a_refused_spawn_while_the_stalled_poll_returns() {
    model(|| {
        let world = World::new();
        world.watch().begin(TaskId::next());
        let (seq, _, _) = world.watch().snapshot();
        world.watch().state.compare_exchange(RUNNING, STALLED, Ordering::AcqRel, Ordering::Relaxed).unwrap();
        let watcher = {
            let world = world.clone();
            thread::spawn(move || {
                assert!(World::replace(&world, seq, true).is_none());
                // The next look: only a worker still reported stalled.
                if world.watch().state.load(Ordering::Relaxed) != STALLED {
                    return false;
                }
                World::replace(&world, seq, false).expect("the spare slot was released").join().unwrap()
            })
        };
        let stepped_aside = world.poll_returns();
        let replaced = watcher.join().unwrap();
        world.check(stepped_aside, replaced);
    });
}

/// Every spawn is refused: the worker always carries on.
#[test]
fn refused_spawns_leave_the_stalled_worker_in_charge() {
    model(|| {
        let world = World::new();
        world.watch().begin(TaskId::next());
        let (seq, _, _) = world.watch().snapshot();
        world.watch().state.compare_exchange(RUNNING, STALLED, Ordering::AcqRel, Ordering::Relaxed).unwrap();
        let watcher = {
            let world = world.clone();
            thread::spawn(move || {
                for _ in 0..2 {
                    assert!(World::replace(&world, seq, true).is_none());
                }
            })
        };
        let stepped_aside = world.poll_returns();
        watcher.join().unwrap();
        assert!(!stepped_aside, "nothing was committed");
        world.check(stepped_aside, false);
    });
}

/// The watcher's `RUNNING -> STALLED` races the poll's end (it saw the poll
/// running a threshold ago, and it ends now): the watcher may mark, and
/// start a replacement for, a poll that is over. The replacement's `seq`
/// check takes the commit back, or the worker steps aside at this poll's
/// end or its next one: never two threads in charge for good, never none.
#[test]
fn the_stall_is_marked_as_the_poll_ends() {
    model(|| {
        let world = World::new();
        world.watch().begin(TaskId::next());
        let watcher = {
            let world = world.clone();
            thread::spawn(move || {
                let (seq, _, _) = world.watch().snapshot();
                if seq & 1 == 0 {
                    return false;
                }
                // Nothing else writes the state before this: it succeeds.
                world
                    .watch()
                    .state
                    .compare_exchange(RUNNING, STALLED, Ordering::AcqRel, Ordering::Relaxed)
                    .unwrap();
                World::replace(&world, seq, false).expect("a spare slot").join().unwrap()
            })
        };
        let stepped_aside = world.poll_returns();
        let replaced = watcher.join().unwrap();
        world.check(stepped_aside, replaced);
    });
}
