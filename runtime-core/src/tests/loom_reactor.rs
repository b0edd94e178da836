//! `Idle` with a worker that waits in the I/O reactor (feature `io`, see
//! "The I/O reactor" in `idle.rs`): no wakeup is lost between the reactor
//! wait and the queues.
//!
//! The reactor is a fake: a sticky token ([`Parker`]) that worker 0 waits on
//! instead of its own parker, woken through the waker it gave
//! `Idle::set_waker` (as async-io's `block_on` waker interrupts epoll), or by
//! an "I/O event" thread (the kernel). Worker 0 does what `Worker::poll_loop`
//! and `Worker::wake_up` do: register, re-check, wait in the reactor; on
//! waking, dispatch a pending event into its *own* queue without
//! `notify_one`, then leave the sleepers list as a worker with work in hand
//! (`unregister_working`) or as a searcher. Worker 1 parks plainly. An
//! outside thread pushes to the shared queue and calls `notify_one`. Both
//! items must be taken, and every worker must stop: a lost wakeup leaves a
//! worker waiting forever, which loom reports as a deadlock.

use std::{
    sync::{
        Arc as StdArc,
        atomic::Ordering::{AcqRel, Acquire, Release, SeqCst},
    },
    task::{Wake, Waker},
};

use super::model_with_bound;
use crate::{
    idle::{Idle, WaitIn},
    sync::{Arc, AtomicBool, AtomicUsize, Parker, thread},
};

/// The fake reactor's wait, woken like async-io's `block_on` waker.
struct FakeReactor {
    token: Parker,
}

impl Wake for FakeReactor {
    fn wake(self: StdArc<Self>) {
        self.token.unpark();
    }
    fn wake_by_ref(self: &StdArc<Self>) {
        self.token.unpark();
    }
}

struct Model {
    idle: Idle,
    reactor: StdArc<FakeReactor>,
    /// Items in the shared queue.
    shared: AtomicUsize,
    /// Items in worker 0's own queue (stealable by worker 1).
    local: AtomicUsize,
    /// I/O events the reactor has not dispatched yet.
    events: AtomicUsize,
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
        self.shared.load(SeqCst) > 0 || self.local.load(SeqCst) > 0
    }

    /// Takes an item, as a worker that finds work does: a searcher stops
    /// searching and wakes another if it was the last one.
    fn try_take(&self, searching: &mut bool) -> bool {
        if !(Self::take_from(&self.local) || Self::take_from(&self.shared)) {
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
        let mut searching = self.idle.try_start_searching();
        loop {
            if self.try_take(&mut searching) {
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
            if index == 1 {
                self.idle.park(index, false);
                self.idle.unregister(index);
                searching = true;
                continue;
            }
            // Worker 0 waits in the reactor, then dispatches what it found
            // onto its own queue: no `notify_one` (see `idle.rs`).
            self.reactor.token.park();
            let events = self.events.swap(0, SeqCst);
            self.local.fetch_add(events, SeqCst);
            if self.local.load(SeqCst) > 0 {
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

/// Four threads: at most two preemptions (three takes minutes).
#[test]
fn push_and_event_race_a_worker_waiting_in_the_reactor() {
    model_with_bound(2, || {
        let reactor = StdArc::new(FakeReactor { token: Parker::new() });
        let m = Arc::new(Model {
            idle: Idle::with_slots(2, 2, WaitIn::BlockOn),
            reactor: reactor.clone(),
            shared: AtomicUsize::new(0),
            local: AtomicUsize::new(0),
            events: AtomicUsize::new(0),
            taken: AtomicUsize::new(0),
            done: AtomicBool::new(false),
        });
        // Before worker 0 first registers, as `poll_loop` does.
        m.idle.set_waker(0, Some(Waker::from(reactor)));
        let workers: Vec<_> = (0..2)
            .map(|index| {
                let m = m.clone();
                thread::spawn(move || m.worker(index))
            })
            .collect();
        let io = {
            let m = m.clone();
            thread::spawn(move || {
                // The kernel: the event becomes visible, epoll returns.
                m.events.fetch_add(1, SeqCst);
                m.reactor.token.unpark();
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
