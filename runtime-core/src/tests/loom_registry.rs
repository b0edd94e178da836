//! `Registry`: an insert racing `close` either lands before it (and `close`
//! hands its waker back to be woken) or is refused (and the waker is handed
//! back to the inserter): never lost, never woken twice.

use std::{
    sync::{
        Arc as StdArc,
        atomic::{AtomicUsize, Ordering::SeqCst},
    },
    task::{Wake, Waker},
};

use super::model;
use crate::{
    registry::Registry,
    sync::{Arc, thread},
};

#[derive(Default)]
struct Wakes(AtomicUsize);

impl Wake for Wakes {
    fn wake(self: StdArc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn waker() -> (StdArc<Wakes>, Waker) {
    let wakes = StdArc::new(Wakes::default());
    (wakes.clone(), Waker::from(wakes))
}

/// A task registering itself the way `task.rs` does: a refused waker wakes
/// its task at once. If `finishes`, the task then finishes and removes its
/// entry.
fn register(registry: &Registry, shard: usize, waker: Waker, finishes: bool) {
    match registry.insert(shard, waker) {
        Ok(key) if finishes => registry.remove(key),
        Ok(_) => {}
        Err(refused) => refused.wake(),
    }
}

#[test]
fn inserts_race_close() {
    model(|| {
        let registry = Arc::new(Registry::new(2));
        let counters: Vec<_> = (0..2)
            .map(|shard| {
                let (wakes, waker) = waker();
                let registry = registry.clone();
                (wakes, thread::spawn(move || register(&registry, shard, waker, false)))
            })
            .collect();
        for waker in registry.close() {
            waker.wake();
        }
        for (wakes, handle) in counters {
            handle.join().unwrap();
            assert_eq!(wakes.0.load(SeqCst), 1, "woken exactly once, by close or by the refusal");
            assert_eq!(StdArc::strong_count(&wakes), 1, "no waker left behind");
        }
        assert!(registry.close().is_empty(), "nothing lands after close");
    });
}

#[test]
fn insert_and_remove_race_close() {
    model(|| {
        let registry = Arc::new(Registry::new(1));
        let (wakes, waker) = waker();
        let task = {
            let registry = registry.clone();
            thread::spawn(move || register(&registry, 0, waker, true))
        };
        for waker in registry.close() {
            waker.wake();
        }
        task.join().unwrap();
        assert!(wakes.0.load(SeqCst) <= 1, "never woken twice");
        assert_eq!(StdArc::strong_count(&wakes), 1, "no waker left behind");
    });
}
