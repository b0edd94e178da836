//! `Idle`: the searching and sleeping counts, and whom `notify_one` wakes.

use crate::idle::Idle;

#[test]
fn at_most_half_the_workers_search() {
    let idle = Idle::new(4);
    assert!(idle.try_start_searching());
    assert!(idle.try_start_searching());
    assert!(!idle.try_start_searching(), "2 of 4 already search");
    assert!(!idle.stop_searching(), "one searcher is left");
    assert!(idle.stop_searching(), "the last searcher stopped");
    // One worker may search even where half rounds down to none.
    assert!(Idle::new(1).try_start_searching());
}

#[test]
fn notify_wakes_a_sleeper_only_when_nobody_searches() {
    let idle = Idle::new(2);
    assert!(!idle.notify_one(), "nobody sleeps");
    idle.register(0, false);
    idle.register(1, false);
    assert!(idle.notify_one(), "wakes the most recent sleeper");
    // Worker 1 was taken off the list and counted as searching, so a second
    // notify leaves worker 0 asleep: the searcher will find the work.
    assert!(!idle.notify_one());
    idle.park(1, false); // the token is sticky: returns at once
    idle.unregister(1); // already off the list: no change
    assert!(idle.stop_searching(), "worker 1 was the only searcher");
    assert!(idle.notify_one(), "now worker 0 is woken");
    idle.park(0, false);
    idle.unregister(0);
    assert!(idle.stop_searching());
}

#[test]
fn unregister_after_a_stale_wake_counts_the_worker_searching() {
    let idle = Idle::new(2);
    idle.register(0, false);
    idle.unpark_all(); // shutdown, say: nobody took worker 0 off the list
    idle.park(0, false);
    idle.unregister(0);
    assert!(!idle.notify_one(), "worker 0 counts as searching now");
    assert!(idle.stop_searching());
    assert!(!idle.notify_one(), "and is no longer a sleeper");
}
