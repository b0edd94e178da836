//! The crate an application adds: [`runtime-core`]'s multi-threaded runtime,
//! with its queue backend picked by Cargo features, a global runtime behind
//! free functions, `#[main]` and `#[test]`, and [`join!`] / [`try_join!`].
//!
//! ```
//! use pluggable_runtime::{Runtime, block_on, spawn};
//!
//! // The global runtime, built on first use: no type parameter anywhere.
//! let task = spawn(async { 6 * 7 });
//! assert_eq!(block_on(task), 42);
//!
//! // A runtime of your own, on the same default queue.
//! let rt = Runtime::builder().worker_threads(2).build()?;
//! let (a, b) = rt.block_on(async { pluggable_runtime::join!(spawn(async { 1 }), async { 2 }) });
//! assert_eq!(a + b, 3);
//! # Ok::<(), pluggable_runtime::BuildError>(())
//! ```
//!
//! # Picking a backend
//! The features `flume` (default), `crossbeam` and `mutex` each enable one
//! backend crate; [`DefaultQueue`] is the first enabled of crossbeam, mutex,
//! flume. Features are additive, so any combination compiles (two crates
//! may each enable one); `flume` comes last because it is the default, and
//! a backend someone enabled on purpose should win over it. So
//!
//! ```toml
//! [dependencies]
//! pluggable-runtime = { path = "…/runtime-core/facade", default-features = false, features = ["crossbeam", "net"] }
//! ```
//!
//! runs everything on `CrossbeamQueue`. With no backend enabled, what uses
//! [`DefaultQueue`] (the non-generic [`Runtime`] and [`Builder`], the free
//! [`spawn`], [`spawn_with`], [`block_on`], `#[main]` without `queue =`) is a
//! compile error that says which features to enable; what names its queue
//! still compiles. [`backends`] lists the enabled backends by name and turns
//! a name chosen at run time into a type.
//!
//! # Sockets and timers
//! The default feature `net` gives the runtime its own I/O driver, and its
//! types: [`net`] (TCP, UDP, Unix sockets, `futures-io` streams), [`time`]
//! (`sleep`, `timeout`, `interval`), [`io`]
//! (`AsyncFd` for descriptors of your own). Idle workers wait in the
//! driver, and what it dispatches runs on the worker that collected it; a
//! socket is registered once, edge-triggered, so a request costs one read
//! and one write. The feature `hyper` adds `pluggable_runtime::hyper`: hyper 1.x
//! served and called on those sockets with no adaptor. Keep `net` when you
//! turn default features off (`features = ["crossbeam", "net"]`).
//!
//! `async-io` / `async-net` types work too, on async-io's own reactor
//! thread; without `net`, the feature `io` has the workers drive async-io's
//! reactor instead.
//!
//! # The generic API
//! [`generic::Runtime<Q>`] and [`generic::Builder<Q>`] take any [`Queue`],
//! your own included:
//!
//! ```
//! use pluggable_runtime::generic::Runtime;
//! use queue_mutex::MutexQueue; // any `Queue`: a backend crate's, or your own
//!
//! let rt = Runtime::<MutexQueue>::builder().worker_threads(2).build()?;
//! assert_eq!(rt.block_on(rt.spawn(async { 6 * 7 })), 42);
//! # Ok::<(), pluggable_runtime::BuildError>(())
//! ```
//!
//! # The global runtime
//! Outside any runtime, [`spawn`], [`spawn_with`] and [`block_on`] use a
//! global `Runtime<DefaultQueue>`, built on first use with the default
//! settings (`RUNTIME_WORKER_THREADS` sets its worker count; a bad value
//! panics, naming the variable and the value). Inside a runtime (a task, or
//! any runtime's `block_on`) `spawn` uses that runtime. The global runtime
//! lives until the process exits, or until [`shutdown`] cancels what it
//! holds ([`shutdown_timeout`] waits at most so long for its workers).
//!
//! # `#[main]` and `#[test]`
//! ```
//! #[pluggable_runtime::main]
//! async fn main() {
//!     let answer = pluggable_runtime::spawn(async { 6 * 7 }).await;
//!     assert_eq!(answer, 42);
//! }
//! # main();
//! ```
//!
//! Both build a runtime for the function and `block_on` its body. They take
//! `worker_threads = N` and `queue = path::To::Queue` (default:
//! [`DefaultQueue`]); the function may return a value, a `Result` for
//! instance:
//!
//! ```
//! #[pluggable_runtime::main(worker_threads = 2, queue = queue_mutex::MutexQueue)]
//! async fn main() -> Result<(), std::num::ParseIntError> {
//!     let n: u32 = pluggable_runtime::spawn(async { "42".parse() }).await?;
//!     assert_eq!(n, 42);
//!     Ok(())
//! }
//! # main().unwrap();
//! ```
//!
//! `#[pluggable_runtime::test]` goes on an `async fn` test in place of
//! `#[test]`. A wrong argument, a function that is not `async`, or a `main`
//! that takes arguments is a compile error at the offending tokens.
//!
//! [`runtime-core`]: runtime_core

pub mod backends;
mod global;
mod join;
mod select;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

/// The README's Rust examples, every one compiled and run as a doctest of
/// this crate (the top floor, which has every crate the README uses).
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

pub use global::{block_on, shutdown, shutdown_timeout, spawn, spawn_blocking, spawn_with};
pub use runtime_core::{
    BuildError, FallibleTask, HIGH_PRIORITY_WORKERS_ENV, Handle, MAX_BLOCKING_THREADS_ENV,
    MAX_WORKER_THREADS, Metrics, PanicCallback, PanicPolicy, Priority, Queue, Runnable, StallInfo, Task,
    TaskGroup, TaskId, TaskMetadata, WORKER_THREADS_ENV, task_id, yield_now,
};
pub use select::{DefaultQueue, EnabledBackends, HasDefaultQueue};

/// hyper 1.x on this runtime's sockets: runtime-core's `hyper` (feature `hyper`).
#[cfg(feature = "hyper")]
pub use runtime_core::hyper;
/// The runtime's own I/O driver, for descriptors of your own: runtime-core's
/// `io` (feature `net`).
#[cfg(feature = "net")]
pub use runtime_core::io;
/// TCP, UDP and Unix sockets on the runtime's own I/O driver: runtime-core's
/// `net` (feature `net`).
#[cfg(feature = "net")]
pub use runtime_core::net;
/// Timers on the runtime's own driver (`sleep`, `timeout`, `interval`):
/// runtime-core's `time` (feature `net`).
#[cfg(feature = "net")]
pub use runtime_core::time;

/// Builds a runtime for `async fn main` and `block_on`s its body.
///
/// Arguments, each optional: `worker_threads = N` (else
/// `RUNTIME_WORKER_THREADS`, else one per CPU) and `queue = path::To::Queue`
/// (else [`DefaultQueue`]). See the crate docs for examples.
pub use pluggable_runtime_macros::main;

/// Runs an `async fn` test on a runtime built for it; use it in place of
/// `#[test]`.
///
/// ```
/// #[pluggable_runtime::test(worker_threads = 2)]
/// async fn spawns_and_joins() {
///     let (a, b) = pluggable_runtime::join!(pluggable_runtime::spawn(async { 1 }), async { 2 });
///     assert_eq!(a + b, 3);
/// }
/// # fn main() {}
/// ```
///
/// It takes the same arguments as [`main`].
pub use pluggable_runtime_macros::test;

/// A runtime on [`DefaultQueue`]: `runtime_core::Runtime<DefaultQueue>`. Name
/// another queue with [`generic::Runtime`].
pub type Runtime = runtime_core::Runtime<DefaultQueue>;

/// A builder of a [`Runtime`] on [`DefaultQueue`]:
/// `runtime_core::Builder<DefaultQueue>`. Name another queue with
/// [`generic::Builder`].
pub type Builder = runtime_core::Builder<DefaultQueue>;

/// The runtime and its builder over any [`Queue`], for those who name one.
pub mod generic {
    pub use runtime_core::{Builder, Runtime};
}
