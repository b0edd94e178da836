//! The stall handoff (`stall.rs`, "Threads"): a stalled worker whose poll
//! returns races the watcher deciding to replace it. Exactly one of them
//! acts: either a replacement starts and the worker steps aside, or neither
//! happens; never a replacement beside a worker that carries on (one thread
//! too many), never a worker that steps aside with no replacement (one too
//! few). The watcher has already reported the stall (`RUNNING -> STALLED`).

use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering::SeqCst};

use super::model;
use crate::{
    stall::{REPLACED, RUNNING, STALLED, Watch},
    sync::{Arc, Ordering, thread},
    task_id::TaskId,
};

#[test]
fn stalled_worker_returns_while_the_watcher_replaces_it() {
    model(|| {
        let watch = Arc::new(Watch::new());
        watch.begin(TaskId::next());
        // The watcher reported the stall.
        watch.state.compare_exchange(RUNNING, STALLED, Ordering::AcqRel, Ordering::Relaxed).unwrap();
        let replaced = std::sync::Arc::new(StdAtomicUsize::new(0));
        let watcher = {
            let (watch, replaced) = (watch.clone(), replaced.clone());
            thread::spawn(move || {
                // As `watcher::replace`: only a worker still stalled.
                if watch
                    .state
                    .compare_exchange(STALLED, REPLACED, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
                {
                    replaced.fetch_add(1, SeqCst);
                }
            })
        };
        // The stalled poll returns (`Worker::run_task`).
        let stepped_aside = watch.end() && watch.resume();
        watcher.join().unwrap();
        assert_eq!(
            replaced.load(SeqCst),
            usize::from(stepped_aside),
            "a replacement started exactly when the stalled worker stepped aside"
        );
        assert_eq!(watch.state.load(Ordering::Relaxed), RUNNING);
    });
}
