//! Configuration from the environment. One test function, run alone in its
//! own process (this file), because it changes `RUNTIME_WORKER_THREADS`.

use queue_mutex::MutexQueue;
use runtime_core::{Builder, HIGH_PRIORITY_WORKERS_ENV, Runtime, WORKER_THREADS_ENV};

fn set(value: Option<&str>) {
    set_var(WORKER_THREADS_ENV, value);
}

fn set_var(name: &str, value: Option<&str>) {
    // SAFETY: this test binary has a single test and it starts no other
    // thread while it changes the environment (runtimes are built and
    // dropped between changes, and `build` reads the variable before it
    // spawns any worker).
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
}
