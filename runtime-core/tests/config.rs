//! Configuration from the environment. One test function, run alone in its
//! own process (this file), because it changes `RUNTIME_WORKER_THREADS`.

use std::{
    sync::{Arc, Condvar, Mutex},
    time::Duration,
};

use queue_mutex::MutexQueue;
use runtime_core::{
    Builder, HIGH_PRIORITY_WORKERS_ENV, MAX_BLOCKING_THREADS_ENV, Runtime, WORKER_THREADS_ENV,
    testing::wait_until,
};

fn set(value: Option<&str>) {
    set_var(WORKER_THREADS_ENV, value);
}

fn set_var(name: &str, value: Option<&str>) {
    // SAFETY: this test binary has a single test and it starts no other
    // thread while it changes the environment (runtimes are built and
    // dropped between changes, and `build` reads the variable before it
    // spawns any worker; runtimes that started blocking threads are shut
    // down with `shutdown_timeout`, which waits for those to exit).
    unsafe {
        match value {
            Some(v) => std::env::set_var(name, v),
            None => std::env::remove_var(name),
        }
    }
}

#[test]
fn worker_threads_from_the_environment() {
    set(Some("3"));
    let rt = Runtime::<MutexQueue>::new().unwrap();
    assert_eq!(rt.metrics().worker_threads, 3);
    drop(rt);

    set(Some(" 2 "));
    assert_eq!(Runtime::<MutexQueue>::new().unwrap().metrics().worker_threads, 2, "whitespace is trimmed");

    // Explicit builder calls win over the environment.
    set(Some("3"));
    let rt = Builder::<MutexQueue>::new().worker_threads(1).build().unwrap();
    assert_eq!(rt.metrics().worker_threads, 1);
    drop(rt);

    for bad in ["abc", "0", "-1", "", "2x", "100000"] {
        set(Some(bad));
        let err = Runtime::<MutexQueue>::new().expect_err(bad);
        let message = err.to_string();
        assert!(message.contains(WORKER_THREADS_ENV), "names the setting: {message}");
        assert!(message.contains(&format!("{bad:?}")), "names the value: {message}");
        assert_eq!(err.setting(), Some(WORKER_THREADS_ENV));
        // ... and an explicit count still wins.
        assert!(Builder::<MutexQueue>::new().worker_threads(1).build().is_ok());
    }

    set(None);
    let expected = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(Runtime::<MutexQueue>::new().unwrap().metrics().worker_threads, expected);

    // Workers reserved for `High` tasks: fewer than the workers, from the
    // builder or the environment, with errors that name the setting.
    set(Some("2"));
    set_var(HIGH_PRIORITY_WORKERS_ENV, Some("1"));
    drop(Runtime::<MutexQueue>::new().expect("1 of 2 workers reserved"));
    for bad in ["2", "x", "-1", ""] {
        set_var(HIGH_PRIORITY_WORKERS_ENV, Some(bad));
        let err = Runtime::<MutexQueue>::new().expect_err(bad);
        let message = err.to_string();
        assert_eq!(err.setting(), Some(HIGH_PRIORITY_WORKERS_ENV), "{message}");
        assert!(message.contains(&format!("{bad:?}")) || message.contains(bad), "names the value: {message}");
        // ... and an explicit count wins.
        assert!(Builder::<MutexQueue>::new().high_priority_workers(0).build().is_ok());
    }
    set_var(HIGH_PRIORITY_WORKERS_ENV, None);
    let err = Builder::<MutexQueue>::new().worker_threads(2).high_priority_workers(2).build().unwrap_err();
    assert_eq!(err.setting(), Some("high_priority_workers"));
    assert!(err.to_string().contains("smaller than the worker count"), "{err}");
    set(None);

    max_blocking_threads_from_the_environment();
}

/// How many closures run at once on a runtime built with `builder`: it
/// blocks `n` closures and waits until the pool stops growing at its cap.
fn blocking_cap(builder: Builder<MutexQueue>, n: usize, cap: usize) {
    let rt = builder.worker_threads(1).build().unwrap();
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let gate = gate.clone();
            rt.spawn_blocking(move || {
                let mut open = gate.0.lock().unwrap();
                while !*open {
                    open = gate.1.wait(open).unwrap();
                }
            })
        })
        .collect();
    wait_until(&format!("{cap} blocking threads busy and {} closures queued", n - cap), || {
        let m = rt.metrics();
        m.blocking_threads == cap && m.blocking_queued == n - cap
    });
    *gate.0.lock().unwrap() = true;
    gate.1.notify_all();
    for task in tasks {
        rt.block_on(task);
    }
    rt.shutdown_timeout(Duration::from_secs(10));
}

/// `RUNTIME_MAX_BLOCKING_THREADS`, with the same precedence and errors as
/// `RUNTIME_WORKER_THREADS`.
fn max_blocking_threads_from_the_environment() {
    set_var(MAX_BLOCKING_THREADS_ENV, Some("2"));
    blocking_cap(Builder::new(), 3, 2);
    set_var(MAX_BLOCKING_THREADS_ENV, Some(" 1 "));
    blocking_cap(Builder::new(), 2, 1);
    // Explicit builder calls win over the environment.
    set_var(MAX_BLOCKING_THREADS_ENV, Some("1"));
    blocking_cap(Builder::new().max_blocking_threads(3), 4, 3);

    for bad in ["abc", "0", "-1", "", "2x"] {
        set_var(MAX_BLOCKING_THREADS_ENV, Some(bad));
        let err = Runtime::<MutexQueue>::new().expect_err(bad);
        let message = err.to_string();
        assert!(message.contains(MAX_BLOCKING_THREADS_ENV), "names the setting: {message}");
        assert!(message.contains(&format!("{bad:?}")), "names the value: {message}");
        assert_eq!(err.setting(), Some(MAX_BLOCKING_THREADS_ENV));
        // ... and an explicit cap still wins.
        assert!(Builder::<MutexQueue>::new().max_blocking_threads(1).build().is_ok());
    }
    set_var(MAX_BLOCKING_THREADS_ENV, None);
    let err = Builder::<MutexQueue>::new().max_blocking_threads(0).build().unwrap_err();
    assert_eq!(err.setting(), Some("max_blocking_threads"));
    assert!(err.to_string().contains("at least 1"), "{err}");
}
