//! Thread hooks run on the workers; a panicking hook is contained and
//! counted, on every backend.
#![cfg(not(loom))]

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use runtime_core::{
    Queue, Runtime,
    testing::{wait_until, within},
};

mod common;

common::per_backend!(hooks_run_on_the_workers, a_panicking_hook_is_contained);

#[derive(Default)]
struct Counts {
    start: AtomicUsize,
    stop: AtomicUsize,
    park: AtomicUsize,
    unpark: AtomicUsize,
    on_worker: AtomicUsize,
}

fn hooks_run_on_the_workers<Q: Queue>() {
    within(20, "thread hooks", || {
        let counts = Arc::new(Counts::default());
        let c = counts.clone();
        let rt = Runtime::<Q>::builder()
            .worker_threads(2)
            .thread_name("hooked")
            .on_thread_start({
                let c = c.clone();
                move || {
                    c.start.fetch_add(1, Ordering::SeqCst);
                    let name = std::thread::current().name().map(str::to_owned);
                    if name.is_some_and(|n| n.starts_with("hooked-")) {
                        c.on_worker.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
            .on_thread_stop({
                let c = c.clone();
                move || {
                    c.stop.fetch_add(1, Ordering::SeqCst);
                }
            })
            .on_thread_park({
                let c = c.clone();
                move || {
                    c.park.fetch_add(1, Ordering::SeqCst);
                }
            })
            .on_thread_unpark(move || {
                c.unpark.fetch_add(1, Ordering::SeqCst);
            })
            .build()
            .unwrap();
        wait_until("both workers started and parked", || {
            counts.start.load(Ordering::SeqCst) == 2 && counts.park.load(Ordering::SeqCst) >= 2
        });
        assert_eq!(rt.block_on(rt.spawn(async { 3 })), 3);
        let handle = rt.handle();
        drop(rt);
        let parks = handle.metrics().parks;
        assert_eq!(counts.on_worker.load(Ordering::SeqCst), 2, "start hooks run on the worker threads");
        assert_eq!(counts.stop.load(Ordering::SeqCst), 2);
        assert_eq!(counts.park.load(Ordering::SeqCst) as u64, parks, "one park hook per park");
        assert!(counts.unpark.load(Ordering::SeqCst) >= 1);
    });
}

fn a_panicking_hook_is_contained<Q: Queue>() {
    within(20, "a panicking hook", || {
        let rt = Runtime::<Q>::builder()
            .worker_threads(2)
            .on_thread_start(|| panic!("start hook"))
            .on_thread_park(|| panic!("park hook"))
            .build()
            .unwrap();
        wait_until("both start hooks panicked", || rt.metrics().hook_panics >= 2);
        for i in 0..10 {
            assert_eq!(rt.block_on(rt.spawn(async move { i })), i, "the workers carry on");
        }
        // Each worker parks when idle, and each park hook panics.
        wait_until("the park hooks' panics were counted too", || rt.metrics().hook_panics > 2);
        assert!(!rt.handle().is_shutdown());
    });
}
