//! Loom models of single components, next to them (as tokio keeps
//! `src/runtime/tests/loom_*.rs`): the idle protocol (also with a worker
//! waiting in a fake I/O reactor), the LIFO slot, the yield queue and the
//! live-task registry, each driven on its own by a few loom threads.
//!
//! They are much smaller than the whole-runtime models of `tests/loom.rs`,
//! so they run at a higher preemption bound (3 unless `LOOM_MAX_PREEMPTIONS`
//! says otherwise). Run them with
//!
//! ```text
//! RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
//!     cargo test -p runtime-core --release --lib loom_tests
//! ```
//!
//! Wired from `lib.rs` as `#[cfg(all(test, loom))] mod loom_tests;`. Under
//! `--cfg loom` the components take their atomics, locks and parkers from
//! loom (`sync.rs`), so these models explore the real code. `async-task`'s
//! own atomics are `std`'s and not explored; counters the models only read
//! after joining every thread are plain `std` atomics too.

mod idle;
mod lifo;
mod reactor;
mod registry;
mod stall;
mod yield_queue;

/// Runs `f` under loom with a preemption bound of 3 unless
/// `LOOM_MAX_PREEMPTIONS` says otherwise.
fn model(f: impl Fn() + Sync + Send + 'static) {
    model_with_bound(3, f);
}

/// As [`model`], with at most `max` preemptions (for models with many
/// threads, which would take minutes at the usual bound).
fn model_with_bound(max: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(builder.preemption_bound.unwrap_or(3).min(max));
    builder.check(f);
}
