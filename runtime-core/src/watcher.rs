//! The stall watcher thread: one per runtime with a `stall_threshold`. It
//! looks at every worker slot's [`Watch`](crate::stall::Watch), reports and
//! hands off stalled workers, and starts replacements; the protocol it
//! follows (what it may move, who steps aside, how it sleeps) is written
//! down with the state it shares with the workers, in `stall.rs`.
//!
//! It runs outside every loom model (it sleeps with timeouts): it uses
//! `std` atomics and threads directly.

use std::{sync::atomic::Ordering, time::Instant};

use crate::{
    handle::{Handle, Threads},
    metrics::Counter,
    queue::Queue,
    scheduler::Shared,
    stall::{RUNNING, STALLED, StallInfo, Wait},
    sync::{Arc, thread},
};

/// What the watcher remembers of one slot's running poll.
#[derive(Clone, Copy)]
struct Seen {
    seq: u64,
    since: Instant,
    stalled: bool,
}

/// The watcher thread's body.
pub(crate) fn run<Q: Queue>(shared: Arc<Shared<Q>>, handle: Handle, thread_name: String) {
    let stall = &shared.stall;
    let Some(threshold) = stall.threshold else { return };
    let interval = (threshold / 4).max(std::time::Duration::from_micros(250));
    let slots = stall.watches.len();
    let mut seen: Vec<Option<Seen>> = vec![None; slots];
    while !shared.is_closed() {
        // Every worker asleep: so is the watcher, until one wakes.
        let all_asleep = || shared.idle.sleeping() >= stall.live.load(Ordering::SeqCst);
        match stall.wait(interval, || shared.is_closed(), all_asleep) {
            Wait::Closed => break,
            Wait::Slept => {
                seen.iter_mut().for_each(|s| *s = None);
                continue;
            }
            Wait::Looked => {}
        }
        let now = Instant::now();
        let mut stalled_low = 0;
        let mut reports = Vec::new();
        for (slot, (watch, seen)) in stall.watches.iter().zip(seen.iter_mut()).enumerate() {
            let (seq, task, spawned_at) = watch.snapshot();
            if seq & 1 == 0 {
                *seen = None;
                continue;
            }
            let entry = match *seen {
                Some(entry) if entry.seq == seq => entry,
                _ => {
                    *seen = Some(Seen { seq, since: now, stalled: false });
                    continue;
                }
            };
            let stalled_for = now - entry.since;
            if !entry.stalled && stalled_for >= threshold {
                *seen = Some(Seen { stalled: true, ..entry });
                let _ = watch.state.compare_exchange(RUNNING, STALLED, Ordering::AcqRel, Ordering::Relaxed);
                shared.books.stats.add(Counter::Stalls, 1);
                reports.push(StallInfo { worker: slot, task, spawned_at, stalled_for });
            }
            if seen.is_some_and(|s| s.stalled) {
                // The handoff calls the backend; one that panics (a
                // broken `Queue`) closes the runtime, as it does when it
                // panics on a worker, instead of killing the watcher
                // and leaving the runtime open without it.
                let handed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| shared.hand_off(slot)));
                if let Err(payload) = handed {
                    shared.close();
                    crate::panic_policy::drop_payload(payload);
                    return;
                }
                if !shared.is_reserved(slot) {
                    stalled_low += 1;
                }
            }
        }
        // Every worker that runs `Low` tasks is stalled: start a
        // replacement for one of them (one per look).
        let low_workers = stall.live.load(Ordering::SeqCst).saturating_sub(shared.reserved);
        if stalled_low > 0 && stalled_low >= low_workers && !shared.is_closed() {
            let candidate = (0..slots).find_map(|slot| {
                let seen = seen[slot].filter(|s| s.stalled)?;
                let stalled =
                    !shared.is_reserved(slot) && stall.watches[slot].state.load(Ordering::Relaxed) == STALLED;
                stalled.then_some((slot, seen.seq))
            });
            if let Some((stalled, seq)) = candidate {
                replace(&shared, &handle, stalled, seq, &thread_name);
            }
        }
        // The user's callback last: however long it takes, the handoff
        // and the replacement above have happened.
        for info in &reports {
            #[cfg(feature = "tracing")]
            crate::trace::stall(info);
            if !stall.report(info) {
                shared.books.stats.add(Counter::HookPanics, 1);
            }
        }
    }
}

/// Starts a replacement for the worker in slot `stalled`, whose poll `seq`
/// is stalled, if a spare slot is free (steps 2 and 3 of "Threads" in
/// `stall.rs`): the thread commits the takeover itself once it runs.
fn replace<Q: Queue>(shared: &Arc<Shared<Q>>, handle: &Handle, stalled: usize, seq: u64, thread_name: &str) {
    let stall = &shared.stall;
    let Some(replacement) = stall.reserve(stalled, seq) else { return };
    // Under the threads lock, so that shutdown (which takes the threads
    // after the exit latch reached zero) joins it too, or sees it closed.
    let mut threads = handle.threads().workers.lock();
    if shared.is_closed() {
        drop(threads);
        stall.release(replacement);
        return;
    }
    shared.exit.count_up();
    let (worker_shared, worker_handle) = (shared.clone(), handle.clone());
    let spawned = thread::Builder::new()
        .name(format!("{thread_name}-{}", replacement.slot))
        .spawn(move || crate::worker::run(worker_shared, replacement.slot, worker_handle, Some(replacement)));
    match spawned {
        Ok(thread) => {
            // Retired workers' threads that have exited are joined here, as
            // the replacements come, not only at shutdown (`handle/mod.rs`).
            let finished = Threads::take_finished(&mut threads);
            threads.push(thread);
            drop(threads);
            for thread in finished {
                let _ = thread.join();
            }
        }
        Err(_) => {
            // No thread, nothing committed: the stalled worker carries on
            // when its poll returns, and the next look tries again.
            drop(threads);
            stall.release(replacement);
            crate::worker::count_out(shared, handle, false);
        }
    }
}
