//! Feature `net`: creating a timer outside a runtime panics with a message
//! that says so and points at the caller (`#[track_caller]`), as does an
//! interval with a zero period. One test function: the panic hook it
//! installs is process-wide.
#![cfg(all(feature = "net", not(miri), not(loom)))]

use std::{
    panic::{self, AssertUnwindSafe, catch_unwind},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use queue_mutex::MutexQueue;
use runtime_core::{Runtime, testing::panic_message, time};

/// Runs `f`, which must panic; returns the file its panic points at and
/// its message.
fn panic_site(locations: &Arc<Mutex<Vec<String>>>, f: impl FnOnce()) -> (String, String) {
    locations.lock().unwrap().clear();
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    let file = locations.lock().unwrap().first().cloned().expect("the hook saw the panic");
    (file, panic_message(&*payload))
}

#[test]
fn misuse_panics_point_at_the_caller() {
    let locations = Arc::new(Mutex::new(Vec::new()));
    let seen = locations.clone();
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if let Some(location) = info.location() {
            seen.lock().unwrap().push(location.file().to_owned());
        }
    }));
    let second = Duration::from_secs(1);
    let checks = vec![
        (
            "runtime_core::time::sleep called outside a runtime",
            panic_site(&locations, || drop(time::sleep(second))),
        ),
        (
            "runtime_core::time::sleep_until called outside a runtime",
            panic_site(&locations, || drop(time::sleep_until(Instant::now()))),
        ),
        (
            "runtime_core::time::timeout called outside a runtime",
            panic_site(&locations, || drop(time::timeout(second, async {}))),
        ),
        (
            "runtime_core::time::timeout_at called outside a runtime",
            panic_site(&locations, || drop(time::timeout_at(Instant::now(), async {}))),
        ),
        (
            "runtime_core::time::interval called outside a runtime",
            panic_site(&locations, || drop(time::interval(second))),
        ),
        (
            "runtime_core::time::interval_at called outside a runtime",
            panic_site(&locations, || drop(time::interval_at(Instant::now(), second))),
        ),
        (
            "runtime_core::time::interval called with a zero period",
            panic_site(&locations, || {
                let rt = Runtime::<MutexQueue>::builder().worker_threads(1).build().unwrap();
                rt.block_on(async { drop(time::interval(Duration::ZERO)) });
            }),
        ),
    ];
    panic::set_hook(previous);
    for (expected, (file, message)) in checks {
        assert!(message.starts_with(expected), "expected {expected:?}, got {message:?}");
        assert!(file.ends_with("time_panic.rs"), "{expected}: the panic points at {file}, not at the caller");
    }
}
