//! A panic with a known cause gets a hint that says what to do: tokio's "no
//! reactor running" panic, in a task (for its awaiter and for the panic
//! policy) and in `block_on`'s own future. Any other panic passes through
//! untouched. (The facade's `tests/tokio_hint.rs` does the same with tokio
//! itself.)
#![cfg(not(loom))]

use std::{
    any::Any,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{Arc, Mutex},
};

use queue_flume::FlumeQueue;
use runtime_core::{PanicPolicy, Runtime, testing::wait_until};

/// What tokio 1.x panics with when a tokio resource is made outside its
/// context (tokio's `TryCurrentError`, through `panic!("{}", e)`).
const TOKIO_PANIC: &str =
    "there is no reactor running, must be called from the context of a Tokio 1.x runtime";

fn message(payload: &(dyn Any + Send)) -> String {
    match (payload.downcast_ref::<String>(), payload.downcast_ref::<&str>()) {
        (Some(s), _) => s.clone(),
        (None, Some(s)) => (*s).to_owned(),
        (None, None) => panic!("the payload is not a string"),
    }
}

fn assert_hinted(message: &str) {
    assert!(message.starts_with(TOKIO_PANIC), "tokio's own message comes first: {message}");
    for needle in ["async-compat", "Compat::new(async {", "sleep(d).compat()` still panics"] {
        assert!(message.contains(needle), "the hint names {needle:?}: {message}");
    }
}

#[test]
fn a_tasks_tokio_panic_reaches_its_awaiter_with_the_hint() {
    let rt = Runtime::<FlumeQueue>::builder().worker_threads(1).build().unwrap();
    let task = rt.spawn(async { panic!("{}", TOKIO_PANIC) });
    let payload = catch_unwind(AssertUnwindSafe(|| rt.block_on(task))).unwrap_err();
    assert!(payload.is::<String>(), "a hinted payload stays a String, as tokio's");
    assert_hinted(&message(&*payload));
    assert_eq!(rt.metrics().panicked, 1);
}

#[test]
fn the_panic_policy_sees_the_hint_too() {
    let seen = Arc::new(Mutex::new(None));
    let recorded = seen.clone();
    let rt = Runtime::<FlumeQueue>::builder()
        .worker_threads(1)
        .on_task_panic(PanicPolicy::callback(move |_, payload| {
            *recorded.lock().unwrap() = Some(message(payload))
        }))
        .build()
        .unwrap();
    rt.spawn(async { panic!("{}", TOKIO_PANIC) }).detach();
    wait_until("the panic policy ran", || seen.lock().unwrap().is_some());
    assert_hinted(seen.lock().unwrap().as_deref().unwrap());
}

#[test]
fn a_tokio_panic_in_block_on_gets_the_hint() {
    let rt = Runtime::<FlumeQueue>::builder().worker_threads(1).build().unwrap();
    let payload =
        catch_unwind(AssertUnwindSafe(|| rt.block_on(async { panic!("{}", TOKIO_PANIC) }))).unwrap_err();
    assert_hinted(&message(&*payload));
}

#[test]
fn other_panics_pass_through_untouched() {
    let rt = Runtime::<FlumeQueue>::builder().worker_threads(1).build().unwrap();
    let task = rt.spawn(async { panic!("boom") });
    let payload = catch_unwind(AssertUnwindSafe(|| rt.block_on(task))).unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"), "the payload is the task's own");
    let payload =
        catch_unwind(AssertUnwindSafe(|| rt.block_on(async { std::panic::panic_any(7u32) }))).unwrap_err();
    assert_eq!(payload.downcast_ref::<u32>(), Some(&7));
}
