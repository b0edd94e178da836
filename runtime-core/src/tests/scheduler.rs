//! `Shared`: what is queued, and emptying the queues at shutdown.

use std::sync::{Arc, atomic::Ordering};

use super::{TestQueue, runnable};
use crate::{Queue, scheduler::Shared};

#[test]
fn drain_queues_drops_every_queued_runnable() {
    let (log, drops) = (Arc::default(), Arc::default());
    let shared = Shared::<TestQueue>::new(usize::MAX, &crate::config::Config::for_tests(2));
    assert!(!shared.has_work());
    shared.shared_queues[0].push(runnable(0, &log, &drops));
    shared.shared_queues[1].push(runnable(1, &log, &drops));
    shared.locals[1].queues[1].push(runnable(2, &log, &drops));
    assert!(shared.locals[0].lifo.replace(runnable(3, &log, &drops)).is_none());
    assert!(shared.has_work());
    assert_eq!(shared.queued(), 4);

    assert!(shared.close(), "this call closed it");
    assert!(!shared.close());
    assert!(shared.drain_queues(), "it found runnables");
    assert!(!shared.drain_queues(), "and left none");
    assert!(!shared.has_work());
    assert_eq!(shared.queued(), 0);
    assert_eq!(drops.load(Ordering::SeqCst), 4, "every future was dropped");
    assert!(log.lock().unwrap().is_empty(), "and none ran");
}
