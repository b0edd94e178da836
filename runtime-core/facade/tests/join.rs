//! `join!` and `try_join!`: outputs in argument order, all futures polled
//! concurrently in one task, the first `Err` returned at once and the rest
//! dropped before `try_join!` returns.
// They use the default queue: without a backend feature they do not compile.
#![cfg(any(feature = "flume", feature = "crossbeam", feature = "mutex"))]

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
};

use pluggable_runtime::{block_on, join, spawn, try_join, yield_now};

/// Pending forever; counts its drops.
struct Forever(Arc<AtomicUsize>);

impl Future for Forever {
    type Output = Result<u8, &'static str>;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Pending
    }
}

impl Drop for Forever {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Ready after `n` yields, with `value`; logs each poll as `name`.
async fn after_yields<T>(
    n: usize,
    value: T,
    log: Arc<std::sync::Mutex<Vec<&'static str>>>,
    name: &'static str,
) -> T {
    for _ in 0..n {
        log.lock().unwrap().push(name);
        yield_now().await;
    }
    log.lock().unwrap().push(name);
    value
}

#[test]
fn outputs_come_in_argument_order_whatever_finishes_first() {
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (a, b, c) = block_on(async {
        join!(
            after_yields(3, 'a', log.clone(), "a"),
            after_yields(0, "b", log.clone(), "b"),
            after_yields(1, 3u64, log.clone(), "c"),
        )
    });
    assert_eq!((a, b, c), ('a', "b", 3));
    // One task polls all three, in turn: a b c, a c, a, a.
    assert_eq!(*log.lock().unwrap(), ["a", "b", "c", "a", "c", "a", "a"]);
}

#[test]
fn join_of_one_is_a_one_tuple() {
    assert_eq!(block_on(async { join!(async { 7 }) }), (7,));
}

#[test]
fn joined_futures_run_concurrently() {
    // Each side waits for the other: sequential awaits would never finish.
    let (to_b, from_a) = std::sync::mpsc::channel::<u32>();
    let seen = Arc::new(AtomicUsize::new(0));
    let seen_b = seen.clone();
    let a = async move {
        to_b.send(1).unwrap();
        while seen.load(Ordering::SeqCst) == 0 {
            yield_now().await;
        }
        "a saw b"
    };
    let b = async move {
        loop {
            if let Ok(n) = from_a.try_recv() {
                seen_b.store(n as usize, Ordering::SeqCst);
                return "b saw a";
            }
            yield_now().await;
        }
    };
    assert_eq!(block_on(async { join!(a, b) }), ("a saw b", "b saw a"));
}

#[test]
fn join_takes_tasks_and_into_futures() {
    let out = block_on(async { join!(spawn(async { 1 }), spawn(async { 2 }), std::future::ready(3)) });
    assert_eq!(out, (1, 2, 3));
}

#[test]
fn try_join_gives_all_oks() {
    let out = block_on(async {
        try_join!(async { Ok::<_, String>(1) }, spawn(async { Ok("two".to_owned()) }), async { Ok(3.5) })
    });
    assert_eq!(out, Ok((1, "two".to_owned(), 3.5)));
}

#[test]
fn try_join_returns_the_first_err_and_drops_the_rest_before_returning() {
    let drops = Arc::new(AtomicUsize::new(0));
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let out = block_on(async {
        let out = try_join!(
            Forever(drops.clone()),
            after_yields(1, Err::<u8, _>("first"), log.clone(), "first"),
            after_yields(3, Err::<u16, _>("later"), log.clone(), "later"),
            Forever(drops.clone()),
        );
        // The pending futures are gone before the caller sees the result.
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        out
    });
    assert_eq!(out, Err("first"));
    // Round one polls every future; in round two the second gives its `Err`
    // and polling stops there: the third never gets to its own error.
    assert_eq!(*log.lock().unwrap(), ["first", "later", "first"]);
}
