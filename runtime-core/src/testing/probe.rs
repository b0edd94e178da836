//! A quick probe of a queue on its own, to name the broken `Queue` method
//! when a conformance check fails or hangs.
//!
//! A backend whose `len` lies makes workers park with work queued: the check
//! hangs and its deadline fires, but "did not finish" does not say why. The
//! probe drives a fresh queue on one thread through the contract (push, `len`,
//! `is_empty`, FIFO `pop`, `pop` on empty, `steal_into`) and reports the
//! first method that breaks it. It is self-bounded: it runs under its own
//! short deadline, and a method that blocks is named by the step it was in.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use super::{Watched, deadline, logging_runnable, panic_message, run_and_collect, watch};
use crate::Queue;

/// How many runnables the probe pushes.
const N: usize = 8;

/// The step the probe is in: the method it called and what it was doing.
type Progress = Arc<Mutex<(&'static str, &'static str)>>;

/// Probes a fresh `Q`: `Ok` if it keeps the contract on one thread, else a
/// message naming the first broken method (`` `Queue::len` is broken: ... ``).
pub(crate) fn probe<Q: Queue>() -> Result<(), String> {
    let progress: Progress = Arc::new(Mutex::new(("new", "creating a queue")));
    let limit = deadline(Duration::from_secs(2));
    let at = progress.clone();
    match watch(limit, move || steps::<Q>(&at)) {
        Watched::Finished(verdict) => verdict,
        Watched::Panicked(payload) => {
            let (method, doing) = *progress.lock().unwrap();
            Err(format!("`Queue::{method}` is broken: it panicked ({doing}): {}", panic_message(&*payload)))
        }
        Watched::TimedOut => {
            let (method, doing) = *progress.lock().unwrap();
            Err(format!(
                "`Queue::{method}` is broken: it did not return within {limit:?} ({doing}); no method may block"
            ))
        }
    }
}

fn broken(method: &str, what: impl std::fmt::Display) -> String {
    format!("`Queue::{method}` is broken: {what}")
}

/// The probe's steps, each recorded in `at` before it starts.
fn steps<Q: Queue>(at: &Progress) -> Result<(), String> {
    let step = |method, doing| *at.lock().unwrap() = (method, doing);
    let log = Arc::default();
    let q = Q::new();

    step("push", "pushing 8 runnables onto a fresh queue");
    for i in 0..N {
        q.push(logging_runnable(i, &log));
    }
    step("len", "len() with 8 runnables queued");
    let len = q.len();
    if len != N {
        return Err(broken(
            "len",
            format!("it returned {len} after {N} pushes onto a fresh queue (expected {N})"),
        ));
    }
    step("is_empty", "is_empty() with 8 runnables queued");
    if q.is_empty() {
        return Err(broken("is_empty", format!("it returned true with {N} runnables queued")));
    }

    step("pop", "popping the 8 runnables");
    let mut popped = Vec::with_capacity(N);
    for _ in 0..N {
        match q.pop() {
            Some(runnable) => popped.push(runnable),
            None => {
                let n = popped.len();
                return Err(broken("pop", format!("it returned None after {n} of {N} pushed runnables")));
            }
        }
    }
    let order = run_and_collect(popped, &log);
    if order != (0..N).collect::<Vec<_>>() {
        return Err(broken(
            "pop",
            format!("it returned the runnables pushed as 0..{N} as {order:?} (FIFO order)"),
        ));
    }
    step("pop", "pop() on an empty queue");
    if q.pop().is_some() {
        return Err(broken("pop", format!("it returned a runnable after all {N} pushed were popped")));
    }
    step("len", "len() on an emptied queue");
    let len = q.len();
    if len != 0 {
        return Err(broken("len", format!("it returned {len} after every runnable was popped (expected 0)")));
    }
    step("is_empty", "is_empty() on an emptied queue");
    if !q.is_empty() {
        return Err(broken("is_empty", "it returned false on an emptied queue"));
    }

    step("steal_into", "moving 3 of 5 runnables into a queue holding 1");
    let (src, dest) = (Q::new(), Q::new());
    for i in 0..5 {
        src.push(logging_runnable(i, &log));
    }
    dest.push(logging_runnable(100, &log));
    let moved = src.steal_into(&dest, 3);
    if moved != 3 {
        return Err(broken("steal_into", format!("asked for 3 of 5, it returned {moved}")));
    }
    step("steal_into", "popping what steal_into moved");
    let from_dest: Vec<_> = std::iter::from_fn(|| dest.pop()).take(N).collect();
    let order = run_and_collect(from_dest, &log);
    if order != [100, 0, 1, 2] {
        return Err(broken(
            "steal_into",
            format!("the destination holds {order:?}, expected [100, 0, 1, 2]"),
        ));
    }
    step("steal_into", "moving the last 2 runnables, asked for 10");
    let moved = src.steal_into(&dest, 10);
    if moved != 2 {
        return Err(broken("steal_into", format!("with 2 left and 10 asked for, it returned {moved}")));
    }
    Ok(())
}
