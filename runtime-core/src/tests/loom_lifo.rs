//! `LifoSlot`: a worker replacing the slot's task races thieves taking it;
//! every runnable put in is taken out, and run, exactly once.

use std::sync::{
    Arc as StdArc,
    atomic::{AtomicUsize, Ordering::SeqCst},
};

use super::model;
use crate::{
    lifo::LifoSlot,
    queue::Runnable,
    sync::{Arc, thread},
};

/// A runnable whose task counts its run in `runs` and its future's drop in
/// `drops`.
pub(super) fn counted(runs: &StdArc<AtomicUsize>, drops: &StdArc<AtomicUsize>) -> Runnable {
    struct Dropped(StdArc<AtomicUsize>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    let (runs, dropped) = (runs.clone(), Dropped(drops.clone()));
    let (runnable, task) = crate::queue::bare_task(async move {
        let _dropped = dropped;
        runs.fetch_add(1, SeqCst);
    });
    task.detach();
    runnable
}

fn replace_races_thieves(thieves: usize) {
    model(move || {
        let (runs, drops) = (StdArc::new(AtomicUsize::new(0)), StdArc::new(AtomicUsize::new(0)));
        let slot = Arc::new(LifoSlot::new());
        assert!(slot.replace(counted(&runs, &drops)).is_none());
        let handles: Vec<_> = (0..thieves)
            .map(|_| {
                let slot = slot.clone();
                thread::spawn(move || {
                    if let Some(stolen) = slot.take() {
                        stolen.run();
                    }
                })
            })
            .collect();
        // The owner puts a second task in; the first comes back unless stolen.
        if let Some(previous) = slot.replace(counted(&runs, &drops)) {
            previous.run();
        }
        for handle in handles {
            handle.join().unwrap();
        }
        if let Some(last) = slot.take() {
            last.run();
        }
        assert!(slot.is_empty());
        assert_eq!(runs.load(SeqCst), 2, "each runnable ran exactly once");
        assert_eq!(drops.load(SeqCst), 2, "and each future was dropped once");
    });
}

#[test]
fn replace_races_a_thief() {
    replace_races_thieves(1);
}

#[test]
fn replace_races_two_thieves() {
    replace_races_thieves(2);
}
