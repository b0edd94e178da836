//! Configuration from the environment. One test function, run alone in its
//! own process (this file), because it changes `RUNTIME_WORKER_THREADS`.

use queue_mutex::MutexQueue;
use runtime_core::{Builder, Runtime, WORKER_THREADS_ENV};

fn set(value: Option<&str>) {
    // SAFETY: this test binary has a single test and it starts no other
    // thread while it changes the environment (runtimes are built and
    // dropped between changes, and `build` reads the variable before it
    // spawns any worker).
    unsafe {
        match value {
            Some(v) => std::env::set_var(WORKER_THREADS_ENV, v),
            None => std::env::remove_var(WORKER_THREADS_ENV),
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
}
