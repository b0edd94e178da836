//! `TaskGroup`: completion order, panics, abort, shutdown, from inside and
//! outside the runtime, on every backend.
#![cfg(not(loom))]

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use runtime_core::{
    Queue, Runtime, TaskGroup,
    testing::{DropCounter, Signal, panic_message, wait_until, within},
};

mod common;

common::per_backend!(
    outputs_come_in_completion_order,
    a_panic_resumes_in_join_next,
    abort_all_and_drop_cancel_the_tasks,
    shutdown_waits_for_the_tasks,
    spawned_from_outside_the_runtime,
);

fn runtime<Q: Queue>() -> Runtime<Q> {
    Runtime::builder().worker_threads(2).build().unwrap()
}

fn outputs_come_in_completion_order<Q: Queue>() {
    within(20, "completion order", || {
        let rt = runtime::<Q>();
        let signals: Vec<Signal> = (0..3).map(|_| Signal::default()).collect();
        let order = rt.block_on(async {
            let mut group = TaskGroup::new();
            assert!(group.is_empty());
            for (i, signal) in signals.iter().enumerate() {
                let wait = signal.wait();
                group.spawn(async move {
                    wait.await;
                    i
                });
            }
            assert_eq!(group.len(), 3);
            let mut order = Vec::new();
            for i in [2, 0, 1] {
                signals[i].fire();
                order.push(group.join_next().await.unwrap());
            }
            assert_eq!(group.join_next().await, None);
            assert!(group.is_empty());
            order
        });
        assert_eq!(order, vec![2, 0, 1]);
    });
}

fn a_panic_resumes_in_join_next<Q: Queue>() {
    within(20, "a panic in a group", || {
        let rt = runtime::<Q>();
        let mut group = TaskGroup::new();
        group.spawn_on(&rt.handle(), async { panic!("boom in a group") });
        let err = catch_unwind(AssertUnwindSafe(|| rt.block_on(group.join_next()))).unwrap_err();
        assert_eq!(panic_message(&*err), "boom in a group");
        assert!(group.is_empty(), "the panicked task left the group");
        group.spawn_on(&rt.handle(), async { 5 });
        assert_eq!(rt.block_on(group.join_next()), Some(5), "the group carries on");
    });
}

fn abort_all_and_drop_cancel_the_tasks<Q: Queue>() {
    within(20, "abort_all", || {
        let rt = runtime::<Q>();
        let drops = Arc::new(AtomicUsize::new(0));
        let mut group = TaskGroup::<()>::new();
        for _ in 0..5 {
            let counter = DropCounter(drops.clone());
            group.spawn_on(&rt.handle(), async move {
                let _counter = counter;
                std::future::pending::<()>().await
            });
        }
        group.abort_all();
        assert!(group.is_empty());
        assert_eq!(rt.block_on(group.join_next()), None);
        wait_until("the aborted futures were dropped", || drops.load(Ordering::SeqCst) == 5);

        for _ in 0..5 {
            let counter = DropCounter(drops.clone());
            group.spawn_on(&rt.handle(), async move {
                let _counter = counter;
                std::future::pending::<()>().await
            });
        }
        drop(group);
        wait_until("dropping the group cancelled its tasks", || drops.load(Ordering::SeqCst) == 10);
        // A future is dropped just before its task is counted cancelled.
        wait_until("every cancellation was counted", || rt.metrics().cancelled == 10);
    });
}

fn shutdown_waits_for_the_tasks<Q: Queue>() {
    within(20, "TaskGroup::shutdown", || {
        let rt = runtime::<Q>();
        let drops = Arc::new(AtomicUsize::new(0));
        let dropped_at_return = rt.block_on({
            let drops = drops.clone();
            async move {
                let mut group = TaskGroup::<()>::new();
                for _ in 0..5 {
                    let counter = DropCounter(drops.clone());
                    group.spawn(async move {
                        let _counter = counter;
                        std::future::pending::<()>().await
                    });
                }
                group.spawn(async { panic!("already panicked") });
                group.shutdown().await;
                assert!(group.is_empty());
                drops.load(Ordering::SeqCst)
            }
        });
        assert_eq!(dropped_at_return, 5, "every future dropped when shutdown returned");
    });
}

fn spawned_from_outside_the_runtime<Q: Queue>() {
    within(20, "a group filled from outside", || {
        let rt = runtime::<Q>();
        let mut group = TaskGroup::new();
        for i in 0..100u64 {
            group.spawn_on(&rt.handle(), async move { i });
        }
        let mut sum = 0;
        while let Some(i) = rt.block_on(group.join_next()) {
            sum += i;
        }
        assert_eq!(sum, 4950);
    });
}
