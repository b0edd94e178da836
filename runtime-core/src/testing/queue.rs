//! The checks on a queue alone: FIFO order, `len` / `is_empty`, batch moves,
//! and concurrent pushes and pops with nothing lost or duplicated.
//!
//! Each `pub fn name<Q: Queue>()` here must be listed in
//! `__conformance_checks!` (`mod.rs`); a unit test there checks it.

use std::{
    collections::HashSet,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    thread,
};

use super::{logging_runnable, run_and_collect, size};
use crate::{Queue, Runnable};

/// Pops return runnables in push order.
pub fn queue_fifo_order<Q: Queue>() {
    let q = Q::new();
    let log = Arc::default();
    let n = size(1000, 50);
    for i in 0..n {
        q.push(logging_runnable(i, &log));
    }
    let popped: Vec<Runnable> = std::iter::from_fn(|| q.pop()).collect();
    assert_eq!(run_and_collect(popped, &log), (0..n).collect::<Vec<_>>());
    assert!(q.pop().is_none(), "pop on an empty queue returns None");
}

/// `len` and `is_empty` track pushes and pops exactly when quiescent.
pub fn queue_len_and_is_empty<Q: Queue>() {
    let q = Q::new();
    let log = Arc::default();
    assert!(q.is_empty());
    assert_eq!(q.len(), 0);
    for i in 0..10 {
        q.push(logging_runnable(i, &log));
        assert_eq!(q.len(), i + 1);
    }
    assert!(!q.is_empty());
    for i in (0..10).rev() {
        drop(q.pop().expect("queue holds runnables"));
        assert_eq!(q.len(), i);
    }
    assert!(q.is_empty());
}

/// `steal_into` moves exactly the requested number from the front, in order.
pub fn queue_steal_into_moves_in_order<Q: Queue>() {
    let (src, dest) = (Q::new(), Q::new());
    let log = Arc::default();
    for i in 0..10 {
        src.push(logging_runnable(i, &log));
    }
    dest.push(logging_runnable(100, &log));
    assert_eq!(src.steal_into(&dest, 4), 4);
    assert_eq!(src.len(), 6);
    assert_eq!(dest.len(), 5);
    let from_dest: Vec<_> = std::iter::from_fn(|| dest.pop()).collect();
    assert_eq!(run_and_collect(from_dest, &log), vec![100, 0, 1, 2, 3]);
    assert_eq!(src.steal_into(&dest, 100), 6, "moves no more than there is");
    assert!(src.is_empty());
    assert_eq!(Q::new().steal_into(&dest, 3), 0, "nothing moves from an empty queue");
}

/// Four pushers and four poppers at once: every runnable popped exactly once.
pub fn queue_concurrent_push_pop<Q: Queue>() {
    let q = Arc::new(Q::new());
    let per_thread = size(20_000, 100);
    let (pushers, poppers) = (4, 4);
    let total = per_thread * pushers;
    let log = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let popped = Arc::new(AtomicUsize::new(0));
    thread::scope(|s| {
        for t in 0..pushers {
            let (q, log) = (&q, &log);
            s.spawn(move || {
                for i in 0..per_thread {
                    q.push(logging_runnable(t * per_thread + i, log));
                }
            });
        }
        for _ in 0..poppers {
            let (q, popped) = (&q, &popped);
            s.spawn(move || {
                while popped.load(Ordering::SeqCst) < total {
                    match q.pop() {
                        Some(r) => {
                            r.run();
                            popped.fetch_add(1, Ordering::SeqCst);
                        }
                        None => thread::yield_now(),
                    }
                }
            });
        }
    });
    let ids = std::mem::take(&mut *log.lock().unwrap());
    assert_eq!(ids.len(), total, "every pushed runnable was popped");
    let unique: HashSet<_> = ids.iter().copied().collect();
    assert_eq!(unique.len(), total, "no runnable was popped twice");
    assert!(q.is_empty());
}
