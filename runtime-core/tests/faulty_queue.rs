//! The conformance suite fails, never hangs, on a broken backend, and says
//! which `Queue` method is broken.
//!
//! Each test runs one generated check (through the same wrapper that
//! `queue_conformance!` expands to, with a short deadline) on a faulty queue
//! and asserts on the panic message. A check that hangs leaves its threads
//! behind, parked: the test binary still exits.
//!
//! Not under Miri: the hung runtimes are leaked on purpose, which Miri's leak
//! check would (rightly) report, and the probes' deadlines would stretch to
//! minutes.
#![cfg(all(feature = "testing", not(miri)))]

use std::{
    collections::VecDeque,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{
        Condvar, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use runtime_core::{
    Queue, Runnable,
    testing::{checks, panic_message, run_check_within},
};

/// A backend whose `len` always says 0 (so `is_empty` always says `true`).
struct LyingLen(Mutex<VecDeque<Runnable>>);

impl Queue for LyingLen {
    fn new() -> Self {
        LyingLen(Mutex::new(VecDeque::new()))
    }
    fn push(&self, runnable: Runnable) {
        self.0.lock().unwrap().push_back(runnable);
    }
    fn pop(&self) -> Option<Runnable> {
        self.0.lock().unwrap().pop_front()
    }
    fn len(&self) -> usize {
        0
    }
}

/// A backend whose every second `pop` drops the front runnable (cancelling
/// its task) and returns the next one.
struct LossyPop(Mutex<VecDeque<Runnable>>, AtomicBool);

impl Queue for LossyPop {
    fn new() -> Self {
        LossyPop(Mutex::new(VecDeque::new()), AtomicBool::new(false))
    }
    fn push(&self, runnable: Runnable) {
        self.0.lock().unwrap().push_back(runnable);
    }
    fn pop(&self) -> Option<Runnable> {
        let loses = self.1.fetch_xor(true, Ordering::Relaxed);
        if !loses {
            return self.0.lock().unwrap().pop_front();
        }
        let lost = self.0.lock().unwrap().pop_front();
        drop(lost); // with the lock released: dropping a runnable cancels its task
        self.0.lock().unwrap().pop_front()
    }
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// A backend whose `pop` waits for a runnable instead of returning `None`
/// (a channel's `recv`).
struct BlockingPop(Mutex<VecDeque<Runnable>>, Condvar);

impl Queue for BlockingPop {
    fn new() -> Self {
        BlockingPop(Mutex::new(VecDeque::new()), Condvar::new())
    }
    fn push(&self, runnable: Runnable) {
        self.0.lock().unwrap().push_back(runnable);
        self.1.notify_one();
    }
    fn pop(&self) -> Option<Runnable> {
        let mut queue = self.0.lock().unwrap();
        loop {
            match queue.pop_front() {
                Some(runnable) => return Some(runnable),
                None => queue = self.1.wait(queue).unwrap(),
            }
        }
    }
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// Runs the conformance check `module::name` for `Q` under a 3 s deadline
/// and returns its failure message; panics if the check passed.
fn failure<Q: Queue>(check: &str) -> String {
    let (name, run) = checks::<Q>().into_iter().find(|(name, _)| *name == check).expect("a listed check");
    let caught = catch_unwind(AssertUnwindSafe(|| run_check_within::<Q>(Duration::from_secs(3), name, run)));
    panic_message(&*caught.expect_err("the check fails on a faulty queue"))
}

#[test]
fn lying_len_fails_a_runtime_check_and_names_len() {
    // With `len` always 0 a worker's re-check before parking sees no work:
    // this check hung until it ran under a deadline.
    let message = failure::<LyingLen>("runtime::low_priority_not_starved");
    assert!(message.contains("runtime::low_priority_not_starved"), "{message}");
    assert!(message.contains("`Queue::len` is broken"), "{message}");
}

#[test]
fn lying_len_fails_a_queue_check_and_names_len() {
    let message = failure::<LyingLen>("queue::queue_len_and_is_empty");
    assert!(message.contains("queue::queue_len_and_is_empty"), "{message}");
    assert!(message.contains("`Queue::len` is broken"), "{message}");
}

#[test]
fn lossy_pop_fails_and_names_pop() {
    for check in ["queue::queue_fifo_order", "runtime::spawn_and_join"] {
        let message = failure::<LossyPop>(check);
        assert!(message.contains(check), "{message}");
        assert!(message.contains("`Queue::pop` is broken"), "{message}");
    }
}

#[test]
fn blocking_pop_fails_by_deadline_and_names_pop() {
    let message = failure::<BlockingPop>("queue::queue_fifo_order");
    assert!(message.contains("queue::queue_fifo_order") && message.contains("did not return"), "{message}");
    assert!(message.contains("`Queue::pop` is broken") && message.contains("empty queue"), "{message}");
}
