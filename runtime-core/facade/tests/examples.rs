//! The examples' round trips, each once at a small size: every example's
//! `main` calls a function that does the whole round trip (a server on a
//! free port of 127.0.0.1, its client, the checks), and these tests call
//! the same function. `.ci/run` also runs each example binary once.
#![cfg(unix)]

use std::time::Duration;

use pluggable_runtime::time::timeout;

#[allow(dead_code)]
#[path = "../examples/hello_hyper.rs"]
mod hello_hyper;

#[allow(dead_code)]
#[path = "../examples/axum.rs"]
mod axum;

#[allow(dead_code)]
#[path = "../examples/websocket_echo.rs"]
mod websocket_echo;

#[allow(dead_code)]
#[path = "../examples/tokio_crates.rs"]
mod tokio_crates;

#[allow(dead_code)]
#[path = "../examples/custom_queue.rs"]
mod custom_queue;

/// Far above what each round trip takes (well under a second here).
const DEADLINE: Duration = Duration::from_secs(60);

#[pluggable_runtime::test(worker_threads = 2)]
async fn hello_hyper_round_trip() {
    let report =
        timeout(DEADLINE, hello_hyper::round_trip(50)).await.expect("hello_hyper: deadline").unwrap();
    assert_eq!(report.requests, 50);
    assert_eq!(report.first_body, "Hello, user0!");
}

#[pluggable_runtime::test(worker_threads = 2)]
async fn axum_round_trip() {
    let report = timeout(DEADLINE, axum::round_trip(20)).await.expect("axum: deadline").unwrap();
    assert_eq!(report.greeting, "Hello, user19!");
    assert_eq!(report.last_sum, axum::Sum { sum: 3 * 19 + 3, sums_so_far: 20 });
    assert_eq!(report.rejected.as_u16(), 422, "axum's Json extractor rejects a body of the wrong shape");
    assert_eq!(report.stats, axum::Stats { sums: 20 }, "the shared state counted every sum");
    assert_eq!(report.requests, 40);
}

#[pluggable_runtime::test(worker_threads = 2)]
async fn websocket_echo_round_trip() {
    let report =
        timeout(DEADLINE, websocket_echo::round_trip(50)).await.expect("websocket_echo: deadline").unwrap();
    assert_eq!(report.messages, 50);
    assert_eq!(report.first_echo, "hello 0");
}

/// Runs on its own runtimes (this one and tokio's), so a plain test,
/// bounded by a thread and a channel.
#[test]
fn tokio_crates_round_trip() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(tokio_crates::round_trip(2, 2, 10).map_err(|e| e.to_string()));
    });
    let report = rx.recv_timeout(DEADLINE).expect("tokio_crates: deadline").unwrap();
    assert_eq!(report.requests, 2 * tokio_crates::USERS * 10);
    assert!(report.compat > 0.0 && report.tokio > 0.0, "{report:?}");
    assert!(report.compat_slept >= Duration::from_millis(2), "tokio's sleep returned early: {report:?}");
}

#[pluggable_runtime::test(worker_threads = 2, queue = custom_queue::CountingQueue)]
async fn custom_queue_runs_on_the_users_queue() {
    let report = timeout(DEADLINE, custom_queue::workload(200, 3)).await.expect("custom_queue: deadline");
    assert_eq!(report.sum, (0..200u64).sum::<u64>() + 1000);
    assert_eq!(report.tasks, 1201);
    assert!(report.pushes > 0 && report.pops > 0, "the runtime never used CountingQueue: {report:?}");
}
