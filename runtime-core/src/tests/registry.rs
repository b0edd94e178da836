//! `Registry`: insert, remove and close, and where keys point.

use std::sync::{Arc, atomic::Ordering};

use super::counting_waker;
use crate::registry::{Key, Registry};

#[test]
fn insert_remove_close() {
    let registry = Registry::new(2);
    let (a, waker_a) = counting_waker();
    let (b, waker_b) = counting_waker();
    let (c, waker_c) = counting_waker();
    let key_a = registry.insert(0, waker_a).expect("open");
    let key_b = registry.insert(1, waker_b).expect("open");
    registry.insert(0, waker_c).expect("open");
    registry.remove(key_a);
    assert_eq!(Arc::strong_count(&a), 1, "remove dropped the waker");

    let wakers = registry.close();
    assert_eq!(wakers.len(), 2, "close hands back what is left");
    assert_eq!((Arc::strong_count(&b), Arc::strong_count(&c)), (2, 2));
    wakers.into_iter().for_each(|w| w.wake());
    assert_eq!((b.wakes.load(Ordering::SeqCst), c.wakes.load(Ordering::SeqCst)), (1, 1));
    assert_eq!(a.wakes.load(Ordering::SeqCst), 0, "a removed waker is not woken");

    registry.remove(key_b); // taken by close: a no-op
    let (d, waker_d) = counting_waker();
    let refused = registry.insert(0, waker_d).expect_err("closed: refused");
    assert_eq!(Arc::strong_count(&d), 2, "the waker is handed back, not dropped");
    drop(refused);
    assert!(registry.close().is_empty());
}

#[test]
fn keys_name_their_shard_and_slot() {
    let registry = Registry::new(4);
    let counters_and_keys: Vec<_> = (0..6)
        .map(|shard| {
            let (counter, waker) = counting_waker();
            // Shards 4 and 5 wrap to 0 and 1 (slot 1 there).
            (counter, registry.insert(shard, waker).expect("open"))
        })
        .collect();
    for (removed, (counter, key)) in counters_and_keys.iter().enumerate() {
        registry.remove(*key);
        assert_eq!(Arc::strong_count(counter), 1, "key {removed} dropped its own waker");
        let alive =
            counters_and_keys[removed + 1..].iter().filter(|(c, _)| Arc::strong_count(c) == 2).count();
        assert_eq!(alive, 5 - removed, "and no other");
    }
    assert_eq!(size_of::<Option<Key>>(), size_of::<u64>(), "a task's key costs one word");
}
