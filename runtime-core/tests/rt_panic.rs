//! Panicking public entry points point at the caller, not at runtime-core
//! (`#[track_caller]`), as tokio's `tests/rt_panic.rs` checks for its own.
//! One test function: the panic hook it installs is process-wide.
// Not under Miri: caller locations are fixed at compile time, so Miri could
// find nothing here that this run does not, and CI's Miri minutes are spent
// on the concurrency tests.
#![cfg(not(miri))]

use std::{
    panic::{self, AssertUnwindSafe, catch_unwind},
    sync::{Arc, Mutex},
};

use queue_mutex::MutexQueue;
use runtime_core::{Handle, Priority, Runtime, TaskGroup};

/// Runs `f`, which must panic, and returns the file its panic points at.
fn panic_file(locations: &Arc<Mutex<Vec<String>>>, f: impl FnOnce()) -> String {
    locations.lock().unwrap().clear();
    assert!(catch_unwind(AssertUnwindSafe(f)).is_err(), "expected a panic");
    locations.lock().unwrap().first().cloned().expect("the hook saw the panic")
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
    let rt = Arc::new(Runtime::<MutexQueue>::builder().worker_threads(1).build().unwrap());
    let checks: Vec<(&str, String)> = vec![
        ("spawn outside a runtime", panic_file(&locations, || drop(runtime_core::spawn(async {})))),
        (
            "spawn_with outside a runtime",
            panic_file(&locations, || drop(runtime_core::spawn_with(Priority::High, async {}))),
        ),
        (
            "spawn_blocking outside a runtime",
            panic_file(&locations, || drop(runtime_core::spawn_blocking(|| ()))),
        ),
        ("Handle::current outside a runtime", panic_file(&locations, || drop(Handle::current()))),
        (
            "TaskGroup::spawn outside a runtime",
            panic_file(&locations, || TaskGroup::<()>::new().spawn(async {})),
        ),
        ("block_on inside block_on", panic_file(&locations, || rt.block_on(async { rt.block_on(async {}) }))),
        (
            "block_on on a worker",
            panic_file(&locations, || {
                let inner = rt.clone();
                rt.block_on(rt.spawn(async move { inner.block_on(async {}) }))
            }),
        ),
    ];
    panic::set_hook(previous);
    for (what, file) in checks {
        assert!(file.ends_with("rt_panic.rs"), "{what}: the panic points at {file}, not at the caller");
    }
}
