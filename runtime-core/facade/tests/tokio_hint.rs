//! Errors users hit on their first day with tokio-only crates: tokio itself
//! used in a task without a compat layer panics with tokio's message and a
//! hint naming async-compat; the `sleep(d).compat()` trap does too; wrapped
//! properly, it works.
#![cfg(unix)]

use std::{
    any::Any,
    panic::{AssertUnwindSafe, catch_unwind},
    time::{Duration, Instant},
};

use async_compat::{Compat, CompatExt};
use pluggable_runtime::Runtime;

fn message(payload: &(dyn Any + Send)) -> &str {
    payload.downcast_ref::<String>().map(String::as_str).expect("tokio panics with a String")
}

fn assert_hinted(payload: &(dyn Any + Send)) {
    let message = message(payload);
    assert!(message.contains("there is no reactor running"), "tokio's own message: {message}");
    assert!(
        message.contains("async-compat") && message.contains("Compat::new(async {"),
        "the hint: {message}"
    );
}

fn runtime() -> Runtime {
    Runtime::builder().worker_threads(1).build().unwrap()
}

#[test]
fn tokio_sleep_in_a_task_panics_with_the_hint() {
    let rt = runtime();
    let task = rt.spawn(async { tokio::time::sleep(Duration::from_millis(1)).await });
    let payload = catch_unwind(AssertUnwindSafe(|| rt.block_on(task))).unwrap_err();
    assert_hinted(&*payload);
}

#[test]
fn tokio_sleep_in_block_on_panics_with_the_hint() {
    let rt = runtime();
    let payload = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async { tokio::time::sleep(Duration::from_millis(1)).await })
    }))
    .unwrap_err();
    assert_hinted(&*payload);
}

/// The trap: `sleep(d)` makes its timer before `.compat()` wraps it.
#[test]
fn sleep_then_compat_still_panics_with_the_hint() {
    let rt = runtime();
    let task = rt.spawn(async { tokio::time::sleep(Duration::from_millis(1)).compat().await });
    let payload = catch_unwind(AssertUnwindSafe(|| rt.block_on(task))).unwrap_err();
    assert_hinted(&*payload);
}

#[test]
fn compat_around_the_sleep_works() {
    let rt = runtime();
    let start = Instant::now();
    let task = rt.spawn(Compat::new(async { tokio::time::sleep(Duration::from_millis(5)).await }));
    rt.block_on(task);
    let slept = start.elapsed();
    assert!(slept >= Duration::from_millis(5), "woke after {slept:?}");
    assert!(slept < Duration::from_secs(10), "took {slept:?}");
}
