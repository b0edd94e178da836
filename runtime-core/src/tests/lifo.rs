//! `LifoSlot`: each runnable put in comes out exactly once.

use std::sync::{Arc, atomic::Ordering};

use super::runnable;
use crate::lifo::LifoSlot;

#[test]
fn replace_hands_back_the_previous_runnable() {
    let (log, drops) = Default::default();
    let slot = LifoSlot::new();
    assert!(slot.is_empty());
    assert!(slot.take().is_none());
    assert!(slot.replace(runnable(1, &log, &drops)).is_none());
    assert!(!slot.is_empty());
    let previous = slot.replace(runnable(2, &log, &drops)).expect("the first runnable comes back");
    previous.run();
    slot.take().expect("the second runnable is in the slot").run();
    assert!(slot.is_empty() && slot.take().is_none());
    assert_eq!(*log.lock().unwrap(), [1, 2]);
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

#[test]
fn dropping_the_slot_drops_its_runnable() {
    let (log, drops) = (Arc::default(), Arc::default());
    let slot = LifoSlot::new();
    assert!(slot.replace(runnable(1, &log, &drops)).is_none());
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(slot);
    assert_eq!(drops.load(Ordering::SeqCst), 1, "the task's future was dropped with the slot");
    assert!(log.lock().unwrap().is_empty(), "and never ran");
}
