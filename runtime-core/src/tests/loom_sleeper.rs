//! `Idle` with workers that wait in the runtime's own I/O driver (feature
//! `net`, see `sleeper.rs`): only one worker at a time can wait there, the
//! others wait on their parkers, and whoever wakes a worker must wake it
//! where it waits. No wakeup may be lost between the driver's wait and the
//! queues.
//!
//! The driver is a fake with the real one's shape: a try-lock (one waiter),
//! a sticky token for its wait (the eventfd that `Reactor::wake` writes and
//! that a readiness event also ends), and pending "events" that the holder
//! dispatches onto its *own* queue without `notify_one`, as the schedule
//! function does for a wake dispatched on a worker. Both workers park
//! through the real `Idle::park(index, true)`; each does what
//! `worker/park.rs` does: register, re-check, park, then leave the sleepers
//! list as a worker with work in hand (`unregister_working`) or as a
//! searcher. An I/O thread makes an event ready and wakes the driver (the
//! kernel); an outside thread pushes to the shared queue and calls
//! `notify_one`. Both items must be taken and every worker must stop: a lost
//! wakeup leaves a worker waiting forever, which loom reports as a
//! deadlock.

use std::sync::atomic::Ordering::{AcqRel, Acquire, Release, SeqCst};

use super::model_with_bound;
use crate::{
    context,
    idle::{Idle, WaitIn},
    sleeper::Reactor,
    sync::{Arc, AtomicBool, AtomicUsize, Mutex, Parker, thread},
};

/// The model's runtime id, for `context::worker_index`.
const RUNTIME: usize = 1;

/// The fake driver.
#[derive(Debug)]
struct FakeDriver {
    /// Held by the one worker waiting in it.
    turn: Mutex<()>,
    /// Its wait's sticky token (the eventfd, and epoll's readiness).
    token: Parker,
    /// Events ready and not dispatched yet.
    events: AtomicUsize,
    /// Items in each worker's own queue (stealable by the other).
    locals: [AtomicUsize; 2],
}

impl Reactor for FakeDriver {
    fn try_wait(&self, announce: &mut dyn FnMut() -> bool) -> bool {
        let Some(turn) = self.turn.try_lock() else {
            return false;
        };
        if announce() {
            self.token.park();
        }
        // Dispatch on this thread: onto the holder's own queue, no notify.
        let events = self.events.swap(0, SeqCst);
        drop(turn);
        if events > 0 {
            let me = context::worker_index(RUNTIME).expect("only workers wait in the driver");
            self.locals[me].fetch_add(events, SeqCst);
        }
        true
    }

    fn wake(&self) {
        self.token.unpark();
    }
}

struct Model {
    idle: Idle,
    driver: std::sync::Arc<FakeDriver>,
    /// Items in the shared queue.
    shared: AtomicUsize,
    /// Items taken so far; the model ends at 2.
    taken: AtomicUsize,
    done: AtomicBool,
}

impl Model {
    fn take_from(queue: &AtomicUsize) -> bool {
        let mut n = queue.load(Acquire);
        while n > 0 {
            match queue.compare_exchange(n, n - 1, AcqRel, Acquire) {
                Ok(_) => return true,
                Err(now) => n = now,
            }
        }
        false
    }

    fn has_work(&self) -> bool {
        self.shared.load(SeqCst) > 0 || self.driver.locals.iter().any(|l| l.load(SeqCst) > 0)
    }

    /// Takes an item (its own queue, the shared queue, the other's queue),
    /// as a worker that finds work does: a searcher stops searching and
    /// wakes another if it was the last one.
    fn try_take(&self, index: usize, searching: &mut bool) -> bool {
        let locals = &self.driver.locals;
        if !(Self::take_from(&locals[index])
            || Self::take_from(&self.shared)
            || Self::take_from(&locals[1 - index]))
        {
            return false;
        }
        if std::mem::take(searching) && self.idle.stop_searching() {
            self.idle.notify_one();
        }
        if self.taken.fetch_add(1, SeqCst) + 1 == 2 {
            self.done.store(true, SeqCst);
            self.idle.unpark_all();
        }
        true
    }

    fn worker(&self, index: usize) {
        let _worker = context::enter_worker(RUNTIME, index);
        let mut searching = self.idle.try_start_searching();
        loop {
            if self.try_take(index, &mut searching) {
                continue;
            }
            if self.done.load(SeqCst) {
                break;
            }
            self.idle.register(index, std::mem::take(&mut searching));
            if self.has_work() || self.done.load(SeqCst) {
                self.idle.unregister(index);
                searching = true;
                continue;
            }
            // In the driver if no other worker waits there, else on the
            // parker: `worker/park.rs`'s `wait_parked`.
            self.idle.park(index, true);
            if self.driver.locals[index].load(SeqCst) > 0 {
                if self.idle.unregister_working(index) {
                    self.idle.notify_one();
                }
            } else {
                self.idle.unregister(index);
                searching = true;
            }
        }
        if searching && self.idle.stop_searching() {
            self.idle.notify_one();
        }
    }
}

/// Four threads: at most two preemptions, as the other four-thread model.
#[test]
fn push_and_event_race_workers_waiting_in_the_driver_or_on_parkers() {
    model_with_bound(2, || {
        let driver = std::sync::Arc::new(FakeDriver {
            turn: Mutex::new(()),
            token: Parker::new(),
            events: AtomicUsize::new(0),
            locals: [AtomicUsize::new(0), AtomicUsize::new(0)],
        });
        let m = Arc::new(Model {
            idle: Idle::with_slots(2, 2, WaitIn::Reactor(driver.clone())),
            driver,
            shared: AtomicUsize::new(0),
            taken: AtomicUsize::new(0),
            done: AtomicBool::new(false),
        });
        let workers: Vec<_> = (0..2)
            .map(|index| {
                let m = m.clone();
                thread::spawn(move || m.worker(index))
            })
            .collect();
        let io = {
            let m = m.clone();
            thread::spawn(move || {
                // The kernel: the event becomes ready, epoll returns.
                m.driver.events.fetch_add(1, SeqCst);
                m.driver.token.unpark();
            })
        };
        // A task spawned from outside.
        m.shared.fetch_add(1, Release);
        m.idle.notify_one();
        io.join().unwrap();
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(m.taken.load(SeqCst), 2, "both items were taken");
        assert!(m.idle.try_start_searching(), "nobody is still counted as searching");
        assert!(m.idle.stop_searching());
        assert!(!m.idle.notify_one(), "nobody is still counted as sleeping");
    });
}
