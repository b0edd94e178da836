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
//! - Feature `tracing`: every task runs inside a `tracing` span that
//!   carries its [`TaskId`] and where it was spawned; stalls and panics
//!   nobody awaits are logged as `tracing` events (see `src/trace.rs`).
//!
//! # How it is built: floors
//! The crate reads bottom to top: each file imports only from the floors
//! below it (and from files listed before it on its own floor), and says its
//! protocol in its module docs.
//! 1. **Primitives**: `sync` (the facade that loom swaps out), `context`
//!    (what a thread is to the runtime, as ids), `task_id`, `queue` (the
//!    [`Queue`] trait), `lifo` (the stealable LIFO slot), `yield_queue`,
//!    `sleeper` (a worker's wake-up token, in its parker or the I/O
//!    reactor), `idle` (who sleeps, who searches, whom to wake), `registry` (the
//!    live-task registry), `metrics`, `panic_policy`, `hooks`, `stall` (the
//!    per-worker watch state the watcher reads), `trace` (feature
//!    `tracing`: a span per task, events for stalls and unobserved panics).
//!    Feature `net` adds, in this order: `coop` (the cooperative budget),
//!    `time/wheel.rs` and `time/timers.rs` (the timing wheel, and the timers
//!    behind their lock), and the I/O driver's core in `io/` (`ready`,
//!    `scheduled_io`, `registration`, `driver`: a `Reactor` of `sleeper`'s,
//!    which owns the timers).
//! 2. **Per task**: `config` (checked settings), `books` (the runtime's
//!    queue-independent state, which every task holds), `task` (the
//!    wrapper that counts, registers and contains panicking destructors,
//!    and the join handles).
//! 3. **The scheduler**, `scheduler/`: the queues and the schedule function
//!    (`schedule.rs`), a worker's stealable state (`local.rs`), the drain
//!    and what shutdown promises (`drain.rs`).
//! 4. **The handle**, `handle/`: the type-erased [`Handle`], the spawn path
//!    (`spawn.rs`), shutdown's sequence and thread joining (`shutdown.rs`);
//!    beside it the blocking pool (`blocking.rs`), which its threads reach
//!    through a handle.
//! 5. **The threads**: the worker loop (`worker/`: the search order in
//!    `next.rs`, the park steps in `park.rs`, async-io's reactor loop in
//!    `reactor.rs` (feature `io`), the polls of the runtime's own driver in
//!    `driver.rs` (feature `net`)) and the stall watcher (`watcher.rs`).
//! 6. **What users call**: `builder`, `runtime`, `task_group`,
//!    `block_on`, `yield_now`; with `net`, `net/` (the sockets),
//!    `io/async_fd.rs` (any file descriptor), `time/mod.rs` (`sleep`,
//!    `timeout`, `interval`), each finding the driver through the current
//!    handle; with `hyper`, `hyper/` (hyper's `Executor` and `Timer`, and
//!    its `Read`/`Write` on the sockets, in `net/`).
//!
//! Two pairs import each other, as in tokio: `handle` and `blocking` (the
//! pool is reached through the handle, its threads hold one), and `builder`
//! and `runtime` (`Runtime::builder`, `Builder::build`). Tests have homes
//! by the same rule (`src/tests/mod.rs` says which).
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

// The floors of the crate docs. Within a floor, a file imports only from
// the files the crate docs list before it (rustfmt sorts these lists).
// Floor 1, primitives.
mod context;
#[cfg(all(feature = "net", not(loom)))]
mod coop;
mod hooks;
mod idle;
#[cfg(all(feature = "net", not(loom)))]
pub mod io;
mod lifo;
mod metrics;
mod panic_policy;
mod queue;
mod registry;
mod sleeper;
mod stall;
mod sync;
mod task_id;
#[cfg(feature = "tracing")]
mod trace;
mod yield_queue;
// Floor 2, per task: the settings, the runtime's books, the task wrapper.
mod books;
mod config;
mod task;
// Floor 3: the queues, the schedule function, the drain.
mod scheduler;
// Floor 4: the handle, the spawn path, shutdown; the blocking pool.
mod blocking;
mod handle;
// Floor 5: the threads that run it all.
#[cfg(not(loom))]
mod watcher;
mod worker;
// Floor 6: what users build and call.
mod block_on;
mod builder;
mod runtime;
mod task_group;
mod yield_now;
// The public types of the I/O driver (feature `net`; `io::AsyncFd` is on
// this floor too, the rest of `io/` on the first) and hyper's glue.
#[cfg(all(feature = "hyper", not(loom)))]
pub mod hyper;
#[cfg(all(feature = "net", not(loom)))]
pub mod net;
#[cfg(all(feature = "net", not(loom)))]
pub mod time;

#[cfg(feature = "testing")]
pub mod testing;
#[cfg(test)]
mod tests;

pub use builder::{
    BuildError, Builder, HIGH_PRIORITY_WORKERS_ENV, MAX_BLOCKING_THREADS_ENV, MAX_WORKER_THREADS,
    WORKER_THREADS_ENV,
};
#[doc(hidden)]
pub use handle::LARGE_FUTURE;
pub use handle::{Handle, spawn, spawn_blocking, spawn_with, try_spawn_with};
pub use metrics::Metrics;
pub use panic_policy::{PanicCallback, PanicPolicy};
pub use queue::{Priority, Queue, Runnable};
pub use runtime::Runtime;
pub use stall::StallInfo;
pub use task::{FallibleTask, Task};
pub use task_group::TaskGroup;
pub use task_id::{TaskId, TaskMetadata, task_id};
pub use yield_now::yield_now;
