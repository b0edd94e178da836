//! `Idle`: a push racing workers on their way to sleep is never lost.
//!
//! The pusher does what the scheduler does: push, then `notify_one`. Each
//! worker does what `worker.rs` does when its own queues are empty: search,
//! register as a sleeper, re-check, park, and search again when woken. The
//! "queue" is one atomic counter of items. A lost wakeup leaves the item
//! queued with every worker parked: loom reports that as a deadlock. The
//! worker that takes the item ends the model (like shutdown: a flag, then
//! `unpark_all`), so that the others stop too.

use std::sync::atomic::Ordering::{Acquire, Release, SeqCst};

use super::model;
use crate::{
    idle::Idle,
    sync::{Arc, AtomicBool, AtomicUsize, thread},
};

struct Model {
    idle: Idle,
    /// Items queued.
    queue: AtomicUsize,
    /// Set by the worker that took the item.
    done: AtomicBool,
}

impl Model {
    fn new(workers: usize) -> Arc<Self> {
        Arc::new(Model { idle: Idle::new(workers), queue: AtomicUsize::new(0), done: AtomicBool::new(false) })
    }

    fn push(&self) {
        self.queue.fetch_add(1, Release);
        self.idle.notify_one();
    }

    fn take(&self) -> bool {
        self.queue.compare_exchange(1, 0, Acquire, Acquire).is_ok()
    }

    /// Worker `index` looks for the item until it takes it (`true`) or
    /// another worker did (`false`).
    fn worker(&self, index: usize) -> bool {
        let mut searching = self.idle.try_start_searching();
        let found = loop {
            if self.take() {
                break true;
            }
            if self.done.load(SeqCst) {
                break false;
            }
            self.idle.register(index, searching);
            // The re-check: the registration above is fenced before it.
            let (took, done) = (self.take(), self.done.load(SeqCst));
            if took || done {
                self.idle.unregister(index);
                searching = true;
                break took;
            }
            self.idle.park(index, false);
            self.idle.unregister(index);
            searching = true;
        };
        if found {
            self.done.store(true, SeqCst);
            self.idle.unpark_all();
        }
        if searching && self.idle.stop_searching() {
            self.idle.notify_one();
        }
        found
    }
}

fn push_races_workers_going_to_sleep(workers: usize) {
    model(move || {
        let m = Model::new(workers);
        let handles: Vec<_> = (0..workers)
            .map(|index| {
                let m = m.clone();
                thread::spawn(move || m.worker(index))
            })
            .collect();
        m.push();
        let found = handles.into_iter().map(|h| h.join().unwrap()).filter(|&found| found).count();
        assert_eq!(found, 1, "exactly one worker took the item");
        // Every worker left searching or sleeping behind it.
        assert!(m.idle.try_start_searching(), "nobody is still counted as searching");
        assert!(m.idle.stop_searching());
        assert!(!m.idle.notify_one(), "nobody is still counted as sleeping");
    });
}

#[test]
fn push_races_the_last_worker_going_to_sleep() {
    push_races_workers_going_to_sleep(1);
}

#[test]
fn push_races_two_workers_going_to_sleep() {
    push_races_workers_going_to_sleep(2);
}
