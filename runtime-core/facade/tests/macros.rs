//! `#[pluggable_runtime::main]` and `#[pluggable_runtime::test]`: what they
//! run on, and (with trybuild, under `tests/ui/`) the compile errors for
//! wrong arguments.
// They use the default queue: without a backend feature they do not compile.
#![cfg(any(feature = "flume", feature = "crossbeam", feature = "mutex"))]

use std::sync::atomic::{AtomicUsize, Ordering};

use pluggable_runtime::{Handle, spawn};

#[pluggable_runtime::test]
async fn a_test_runs_on_the_default_queue() {
    assert_eq!(spawn(async { 6 * 7 }).await, 42);
    assert!(Handle::current().metrics().worker_threads >= 1);
}

#[pluggable_runtime::test(worker_threads = 3, queue = queue_mutex::MutexQueue)]
async fn a_test_takes_worker_threads_and_queue() {
    assert_eq!(Handle::current().metrics().worker_threads, 3);
    let on_worker = spawn(async { std::thread::current().name().map(str::to_owned) }).await;
    assert!(on_worker.unwrap().starts_with("runtime-worker-"));
}

#[pluggable_runtime::test(worker_threads = 1)]
async fn a_test_may_return_a_result() -> Result<(), std::num::ParseIntError> {
    let n: u32 = spawn(async { "7".parse() }).await?;
    assert_eq!(n, 7);
    Ok(())
}

static MAIN_RAN: AtomicUsize = AtomicUsize::new(0);

mod app {
    #[pluggable_runtime::main(worker_threads = 2)]
    pub async fn main() -> usize {
        super::MAIN_RAN.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        pluggable_runtime::Handle::current().metrics().worker_threads
    }
}

#[test]
fn main_builds_a_runtime_and_blocks_on_its_body() {
    assert_eq!(app::main(), 2);
    assert_eq!(MAIN_RAN.load(Ordering::SeqCst), 1);
}

#[test]
fn wrong_arguments_are_compile_errors_at_the_right_tokens() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
