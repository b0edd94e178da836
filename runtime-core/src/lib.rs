//! A small multi-threaded async executor built on [`async-task`], whose task
//! queue is a plug-in.
//!
//! ```
//! use queue_flume::FlumeQueue;
//! use runtime_core::Runtime;
//!
//! let rt = Runtime::<FlumeQueue>::builder().worker_threads(2).build()?;
//! let total = rt.block_on(async {
//!     let tasks: Vec<_> = (0..100u64).map(|i| runtime_core::spawn(async move { i * i })).collect();
//!     let mut total = 0;
//!     for task in tasks {
//!         total += task.await;
//!     }
//!     total
//! });
//! assert_eq!(total, 328_350);
//! # Ok::<(), runtime_core::BuildError>(())
//! ```
//!
//! # What is here
//! - [`Queue`]: the trait a backend implements (`queue-flume`, `queue-crossbeam`
//!   and `queue-mutex` are three; the trait docs show one in twenty lines).
//! - [`Runtime`] and its [`Builder`]: worker threads, each with local queues
//!   and a LIFO slot, two shared queues, work stealing, two [`Priority`]
//!   levels, idle parking that loses no wakeup, [`Runtime::block_on`],
//!   [`Metrics`], and shutdown that cancels everything still pending.
//! - [`spawn`] and [`Handle`]: spawning from inside tasks, or from anywhere
//!   with a handle. A [`Task`] is the join handle: await it for the output
//!   (a panic in the task resumes in the awaiter), drop it to cancel.
//! - [`spawn_blocking`]: a blocking closure runs on the runtime's pool of
//!   blocking threads, and its `Task` is awaited like any other.
//! - Feature `net`: the runtime's own I/O driver (`runtime_core::io`, with
//!   `AsyncFd` for descriptors of your own) and its sockets
//!   (`runtime_core::net`: TCP, UDP, Unix streams), registered once,
//!   edge-triggered, with a cooperative budget per poll. Feature `hyper`:
//!   hyper 1.x on those sockets with no adaptor (`runtime_core::hyper`).
//!
//! # How it schedules
//! The design is written down next to the code that implements it, one
//! concern per file: the queues, the schedule function and the shutdown
//! protocol (with exactly what shutdown promises) in `scheduler.rs`, the LIFO
//! slot in `lifo.rs`, the worker's search order and what happens when a
//! worker dies in `worker.rs`, the parking / notification protocol in
//! `idle.rs`, the live-task registry in `registry.rs`, the task wrapper that
//! counts, registers and contains panicking destructors in `task.rs`;
//! settings in `builder.rs`, the type-erased handle and the spawn path in
//! `handle.rs`, the threads and shutdown in `runtime.rs`, the blocking pool
//! in `blocking.rs`.
//!
//! # Misbehaving code
//! A panic in a task's poll resumes in its awaiter; a panic in a future's
//! destructor is caught too (it becomes the task's panic if the task had just
//! completed, else it is counted in [`Metrics::drop_panics`]); neither ever
//! kills a worker. A `Queue` backend that panics does kill its worker, and
//! the runtime then closes visibly ([`Handle::is_shutdown`]) rather than run
//! on short-handed.
//!
//! [`async-task`]: https://docs.rs/async-task

mod block_on;
mod blocking;
mod builder;
mod context;
#[cfg(all(feature = "net", not(loom)))]
mod coop;
mod handle;
mod hooks;
#[cfg(all(feature = "hyper", not(loom)))]
pub mod hyper;
mod idle;
#[cfg(all(feature = "net", not(loom)))]
pub mod io;
mod lifo;
#[cfg(all(test, loom))]
mod loom_tests;
mod metrics;
#[cfg(all(feature = "net", not(loom)))]
pub mod net;
mod panic_policy;
mod queue;
mod registry;
mod runtime;
mod scheduler;
mod stall;
mod sync;
mod task;
mod task_group;
mod task_id;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(all(test, not(loom)))]
mod tests;
mod worker;
mod yield_now;
mod yield_queue;

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

pub use builder::{
    BuildError, Builder, HIGH_PRIORITY_WORKERS_ENV, MAX_BLOCKING_THREADS_ENV, MAX_WORKER_THREADS,
    WORKER_THREADS_ENV,
};
pub use handle::{Handle, spawn, spawn_blocking, spawn_with};
pub use metrics::Metrics;
pub use panic_policy::{PanicCallback, PanicPolicy};
pub use queue::{Priority, Queue, Runnable};
pub use runtime::Runtime;
pub use stall::StallInfo;
pub use task::{FallibleTask, Task};
pub use task_group::TaskGroup;
pub use task_id::{TaskId, TaskMetadata, task_id};
pub use yield_now::yield_now;
