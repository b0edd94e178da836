//! The conformance suite: tests that any [`Queue`] backend can run through.
//!
//! Enable the `testing` feature in your backend's dev-dependencies and expand
//! [`queue_conformance!`](crate::queue_conformance) in an integration test:
//!
//! ```ignore
//! // tests/conformance.rs of a backend crate
//! runtime_core::queue_conformance!(my_backend::MyQueue);
//! ```
//!
//! That expands to one `#[test]` per check, each run with your queue type:
//! first the queue on its own (FIFO order, batch moves, concurrent pushes and
//! pops with nothing lost or duplicated), then a whole runtime on it (spawn
//! and join, nested spawn, cross-thread wakes, priorities, stealing, panics,
//! shutdown, errors). Sizes shrink under Miri.
//!
//! Every generated test runs under a deadline ([`deadline`]-scaled), so a
//! broken backend fails the suite instead of hanging it. When a check fails
//! or times out, the failure message names the check and, where a quick probe
//! of a fresh queue finds one, the `Queue` method that misbehaves (a `len`
//! that lies, a `pop` that loses runnables or blocks).
//!
//! The module holds the helpers that tests across the workspace use
//! ([`size`], [`deadline`], [`within`], [`wait_until`], [`Signal`],
//! [`DropCounter`], [`panic_message`]); the checks themselves live in the
//! hidden submodules `queue` (the queue alone) and `runtime` (a runtime over
//! the queue).

use std::{
    any::Any,
    future::Future,
    panic::{AssertUnwindSafe, catch_unwind, resume_unwind},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    task::{Poll, Waker},
    thread,
    time::{Duration, Instant},
};

use crate::{Queue, Runnable};

// The checks are public only so that `queue_conformance!`, expanded in other
// crates, can call them: hidden from the docs, not a stable API.
#[doc(hidden)]
pub mod queue;
#[doc(hidden)]
pub mod runtime;

mod probe;

/// Expands the conformance suite into one `#[test]` per check, for `$queue`.
///
/// Each test runs its check under a deadline (60 s, [`deadline`]-scaled) and
/// fails with a message that names the check, and the broken `Queue` method
/// where a probe of the queue finds one.
#[macro_export]
macro_rules! queue_conformance {
    ($queue:ty) => {
        $crate::__conformance_checks!(__conformance_tests!($queue));
    };
}

/// The one list of conformance checks, as `module::name` paths under
/// `runtime_core::testing`: expands to `$crate::$then! { $args; list }`.
/// Every consumer of the list expands through here, and a unit test checks
/// that every `pub fn name<Q: Queue>()` of `queue.rs` and `runtime.rs` is in
/// it.
///
/// Public only for `queue_conformance!`: hidden from the docs.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_checks {
    ($then:ident!($($args:tt)*)) => {
        $crate::$then! {
            $($args)*;
            queue::queue_fifo_order,
            queue::queue_len_and_is_empty,
            queue::queue_steal_into_moves_in_order,
            queue::queue_concurrent_push_pop,
            runtime::spawn_and_join,
            runtime::nested_spawn,
            runtime::cross_thread_wake,
            runtime::yield_now_round_robin,
            runtime::high_priority_runs_first,
            runtime::one_worker_runs_in_spawn_order,
            runtime::low_priority_not_starved,
            runtime::stealing_spreads_work,
            runtime::panic_reaches_awaiter,
            runtime::detached_panic_is_counted,
            runtime::panics_do_not_kill_workers,
            runtime::metrics_exact_when_idle,
            runtime::shutdown_drops_pending_tasks,
            runtime::waker_after_shutdown_is_harmless,
            runtime::spawn_after_shutdown_is_cancelled,
            runtime::shutdown_timeout_returns,
            runtime::block_on_misuse_panics,
            runtime::drop_runtime_on_own_worker,
            runtime::zero_workers_is_an_error,
        }
    };
}

/// One `#[test]` per listed check, each under [`run_check`].
///
/// Public only for `queue_conformance!`: hidden from the docs.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($queue:ty; $($module:ident :: $name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::testing::run_check::<$queue>(
                    ::core::stringify!($name),
                    $crate::testing::$module::$name::<$queue>,
                );
            }
        )*
    };
}

/// `checks::<Q>()`: the listed checks as `(name, function)` pairs.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_list {
    ($queue:ident; $($module:ident :: $name:ident),* $(,)?) => {
        ::std::vec![$(
            (::core::concat!(::core::stringify!($module), "::", ::core::stringify!($name)),
             $crate::testing::$module::$name::<$queue> as fn()),
        )*]
    };
}

/// Every conformance check, as `("module::name", check::<Q>)`, in the order
/// `queue_conformance!` expands them. For tests of the suite itself (a faulty
/// queue must fail it) and of the list.
///
/// Public only for tests of the suite: hidden from the docs.
#[doc(hidden)]
pub fn checks<Q: Queue>() -> Vec<(&'static str, fn())> {
    crate::__conformance_checks!(__conformance_list!(Q))
}

/// How long one generated test may run before it fails as a hang, before
/// [`deadline`] scaling. The slowest check takes about a second in a debug
/// build on two cores.
#[doc(hidden)]
pub const CHECK_LIMIT: Duration = Duration::from_secs(60);

/// Runs one conformance check for `Q` under [`CHECK_LIMIT`]: what every
/// generated test calls.
///
/// Public only for `queue_conformance!`: hidden from the docs.
#[doc(hidden)]
pub fn run_check<Q: Queue>(name: &str, check: fn()) {
    run_check_within::<Q>(CHECK_LIMIT, name, check);
}

/// Runs `check` (named `name`, for queue type `Q`) on its own thread under
/// `limit` ([`deadline`]-scaled). If it times out, panics with a message that
/// names the check, what was waited for, and the first `Queue` method that a
/// probe of a fresh `Q` finds broken; if it fails, adds the probe's finding
/// to its message (or passes the panic on unchanged if the probe finds
/// nothing). The timed-out thread is left behind, blocked.
///
/// Public only for tests of the suite: hidden from the docs.
#[doc(hidden)]
pub fn run_check_within<Q: Queue>(limit: Duration, name: &str, check: fn()) {
    let limit = deadline(limit);
    let queue = std::any::type_name::<Q>();
    match watch(limit, check) {
        Watched::Finished(()) => {}
        Watched::Panicked(payload) => match probe::probe::<Q>() {
            Ok(()) => resume_unwind(payload),
            Err(broken) => panic!(
                "conformance check `{name}` on `{queue}` failed: {}\n{broken}",
                panic_message(&*payload)
            ),
        },
        Watched::TimedOut => {
            let verdict = match probe::probe::<Q>() {
                Ok(()) => "a probe of a fresh queue found no broken method on one thread, so look for a \
                           lost wakeup or a deadlock"
                    .to_owned(),
                Err(broken) => broken,
            };
            panic!(
                "conformance check `{name}` on `{queue}` did not return within {limit:?} \
                 (a hang: workers parked with work queued, or a task never woken)\n{verdict}"
            )
        }
    }
}

/// How a watched closure ended.
enum Watched<T> {
    Finished(T),
    Panicked(Box<dyn Any + Send>),
    TimedOut,
}

/// Runs `f` on its own thread for at most `limit`. On a timeout the thread
/// is left behind (still blocked, or still running).
fn watch<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> Watched<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = thread::Builder::new()
        .name("watched".into())
        .stack_size(8 << 20)
        .spawn(move || {
            let result = catch_unwind(AssertUnwindSafe(f));
            let _ = tx.send(());
            result
        })
        .expect("spawn watched thread");
    match rx.recv_timeout(limit) {
        Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            match worker.join().expect("caught above") {
                Ok(value) => Watched::Finished(value),
                Err(payload) => Watched::Panicked(payload),
            }
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Watched::TimedOut,
    }
}

/// Scales a test size down under Miri.
pub const fn size(normal: usize, miri: usize) -> usize {
    if cfg!(miri) { miri } else { normal }
}

/// The environment variable that stretches test deadlines: set it to a
/// factor (`RUNTIME_CORE_SLOW_TESTS=10`) when the tests run instrumented
/// (`cargo xtask tsan` sets it); a value that is not a number counts as 10.
pub const SLOW_TESTS_ENV: &str = "RUNTIME_CORE_SLOW_TESTS";

/// Scales a deadline for slow builds: 30 times under Miri, and by the factor
/// in [`SLOW_TESTS_ENV`] where that is set. A deadline only turns a hang into
/// a failure, so a generous one costs nothing when the test passes; what the
/// test checks stays the same.
pub fn deadline(normal: Duration) -> Duration {
    if cfg!(miri) {
        return normal * 30;
    }
    match std::env::var(SLOW_TESTS_ENV) {
        Ok(factor) if !factor.trim().is_empty() => match factor.trim().parse::<u32>() {
            Ok(n) if n >= 1 => normal * n,
            _ => panic!("{SLOW_TESTS_ENV}={factor:?}: expected a whole number factor of at least 1"),
        },
        _ => normal,
    }
}

/// Runs `f` on its own thread and fails if it does not finish within
/// `secs` seconds ([`deadline`]-scaled under Miri and TSan): a deadlock
/// becomes a test failure that says what hung.
pub fn within<T: Send + 'static>(secs: u64, what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let limit = deadline(Duration::from_secs(secs));
    match watch(limit, f) {
        Watched::Finished(value) => value,
        Watched::Panicked(payload) => resume_unwind(payload),
        Watched::TimedOut => panic!("deadlock: {what} did not finish in {limit:?}"),
    }
}

/// Waits up to 10 s ([`deadline`]-scaled) for `cond`, polling every
/// millisecond, and panics with `what` if it never holds.
#[track_caller]
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + deadline(Duration::from_secs(10));
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// The message of a panic payload (`panic!` with a literal or a format
/// string), or `""` for any other payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// A runnable whose task records `id` into `log` when it runs.
pub fn logging_runnable(id: usize, log: &Arc<Mutex<Vec<usize>>>) -> Runnable {
    let log = log.clone();
    let (runnable, task) = crate::queue::bare_task(async move { log.lock().unwrap().push(id) });
    task.detach();
    runnable
}

/// Runs `runnables` (from [`logging_runnable`]) and returns the ids they
/// logged, in run order, emptying `log`.
fn run_and_collect(
    runnables: impl IntoIterator<Item = Runnable>,
    log: &Arc<Mutex<Vec<usize>>>,
) -> Vec<usize> {
    for r in runnables {
        r.run();
    }
    std::mem::take(&mut *log.lock().unwrap())
}

/// A one-shot signal that a task can await and any thread can fire.
#[derive(Clone, Default, Debug)]
pub struct Signal {
    inner: Arc<(AtomicBool, Mutex<Option<Waker>>)>,
}

impl Signal {
    /// Fires the signal, waking its waiter (with no lock held).
    pub fn fire(&self) {
        self.inner.0.store(true, Ordering::SeqCst);
        let waker = self.inner.1.lock().unwrap().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Resolves once the signal has fired.
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let inner = self.inner.clone();
        std::future::poll_fn(move |cx| {
            if inner.0.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            *inner.1.lock().unwrap() = Some(cx.waker().clone());
            if inner.0.load(Ordering::SeqCst) { Poll::Ready(()) } else { Poll::Pending }
        })
    }
}

/// Counts its own drops.
#[derive(Debug)]
pub struct DropCounter(pub Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::collections::BTreeSet;

    use crate::tests::TestQueue;

    /// The `module::name` of every `pub fn name<Q: Queue>()` in `source`.
    fn checks_in(module: &str, source: &str) -> BTreeSet<String> {
        source
            .lines()
            .filter_map(|line| line.strip_prefix("pub fn "))
            .filter_map(|rest| rest.split_once("<Q: Queue>()"))
            .map(|(name, _)| format!("{module}::{name}"))
            .collect()
    }

    #[test]
    fn every_check_is_in_the_list() {
        let defined: BTreeSet<String> = checks_in("queue", include_str!("queue.rs"))
            .into_iter()
            .chain(checks_in("runtime", include_str!("runtime.rs")))
            .collect();
        assert!(defined.len() > 20, "the scan found the checks: {defined:?}");
        let listed: Vec<&str> = super::checks::<TestQueue>().into_iter().map(|(name, _)| name).collect();
        let listed_set: BTreeSet<String> = listed.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(listed.len(), listed_set.len(), "a check is listed twice: {listed:?}");
        let missing: Vec<_> = defined.difference(&listed_set).collect();
        assert!(missing.is_empty(), "add these to __conformance_checks! in testing/mod.rs: {missing:?}");
    }

    #[test]
    fn probe_passes_an_honest_queue() {
        assert_eq!(super::probe::probe::<TestQueue>(), Ok(()));
    }
}
