//! `YieldQueue`: the owner pushing and taking races thieves taking batches;
//! every runnable pushed is taken out, and run, exactly once, also when the
//! ring wraps around while a thief holds a stale view of it.

use std::sync::{
    Arc as StdArc,
    atomic::{AtomicUsize, Ordering::SeqCst},
};

use super::{loom_lifo::counted, model};
use crate::{
    sync::{Arc, thread},
    yield_queue::{CAPACITY, YieldQueue},
};

fn owner_races_thieves(thieves: usize, pushes: usize) {
    model(move || {
        let (runs, drops) = (StdArc::new(AtomicUsize::new(0)), StdArc::new(AtomicUsize::new(0)));
        let queue = Arc::new(YieldQueue::new());
        queue.push(counted(&runs, &drops)).unwrap();
        let handles: Vec<_> = (0..thieves)
            .map(|_| {
                let queue = queue.clone();
                thread::spawn(move || {
                    let mut stolen = Vec::new();
                    queue.take(2, |r| stolen.push(r));
                    stolen.into_iter().for_each(|r| {
                        r.run();
                    });
                })
            })
            .collect();
        // The owner takes one and pushes more, as a worker running yields does.
        if let Some(r) = queue.pop() {
            r.run();
        }
        for _ in 1..pushes {
            queue.push(counted(&runs, &drops)).unwrap();
        }
        for handle in handles {
            handle.join().unwrap();
        }
        while let Some(r) = queue.pop() {
            r.run();
        }
        assert!(queue.is_empty());
        assert_eq!(runs.load(SeqCst), pushes, "each runnable ran exactly once");
        assert_eq!(drops.load(SeqCst), pushes, "each future dropped exactly once");
    });
}

#[test]
fn owner_races_one_thief() {
    owner_races_thieves(1, 3);
}

#[test]
fn owner_races_two_thieves() {
    owner_races_thieves(2, 2);
}

/// A full ring refuses a push (the worker then uses the backend queue) and
/// takes it again once a thief made room; slots are reused across laps.
#[test]
fn full_ring_refuses_then_wraps() {
    model(|| {
        let (runs, drops) = (StdArc::new(AtomicUsize::new(0)), StdArc::new(AtomicUsize::new(0)));
        let queue = Arc::new(YieldQueue::new());
        for _ in 0..CAPACITY {
            queue.push(counted(&runs, &drops)).unwrap();
        }
        let refused = queue.push(counted(&runs, &drops)).expect_err("a full ring refuses");
        refused.run();
        let thief = {
            let queue = queue.clone();
            thread::spawn(move || {
                if let Some(r) = queue.pop() {
                    r.run();
                }
            })
        };
        // Racing the thief: this push succeeds only once it took a slot.
        if let Err(r) = queue.push(counted(&runs, &drops)) {
            r.run();
        }
        thief.join().unwrap();
        while let Some(r) = queue.pop() {
            r.run();
        }
        assert_eq!(runs.load(SeqCst), CAPACITY + 2);
        assert_eq!(drops.load(SeqCst), CAPACITY + 2);
    });
}
