//! [`Config`]: the settings a checked [`Builder`](crate::Builder) hands to
//! the runtime, and their defaults. Below the builder, so that the
//! runtime's shared state can be made from it without knowing how the
//! settings were resolved.

use std::time::Duration;

use crate::{hooks::Hooks, panic_policy::PanicPolicy, stall::StallCallback};

/// The default cap on blocking threads, as in tokio.
pub(crate) const DEFAULT_MAX_BLOCKING_THREADS: usize = 512;

/// How long an idle blocking thread waits for work before it exits, by default.
pub(crate) const DEFAULT_BLOCKING_KEEP_ALIVE: Duration = Duration::from_secs(10);
/// The default `stall_threshold`.
pub(crate) const DEFAULT_STALL_THRESHOLD: Duration = Duration::from_millis(10);

/// What a checked [`Builder`](crate::Builder) hands to `Runtime::start`.
pub(crate) struct Config {
    pub(crate) workers: usize,
    pub(crate) thread_name: String,
    /// Workers `0..reserved` run only `High` tasks.
    pub(crate) reserved: usize,
    pub(crate) hooks: Hooks,
    pub(crate) panic_policy: PanicPolicy,
    /// The most threads the blocking pool runs at once (at least 1).
    pub(crate) max_blocking_threads: usize,
    /// How long an idle blocking thread waits for work before it exits.
    pub(crate) blocking_keep_alive: Duration,
    /// A poll longer than this is a stall (`stall.rs`); `None`: not watched.
    pub(crate) stall_threshold: Option<Duration>,
    pub(crate) on_stall: Option<StallCallback>,
    /// Remember where each task was spawned, for the stall report.
    pub(crate) track_spawn_locations: bool,
    /// The runtime's I/O driver (feature `net`), created by `build`.
    #[cfg(all(feature = "net", not(loom)))]
    pub(crate) io: std::sync::Arc<crate::io::Driver>,
}

#[cfg(all(test, not(loom)))]
impl Config {
    /// Defaults with `workers` workers, for unit tests of the internals.
    pub(crate) fn for_tests(workers: usize) -> Self {
        Self {
            workers,
            thread_name: "test".to_owned(),
            reserved: 0,
            hooks: Hooks::default(),
            panic_policy: PanicPolicy::default(),
            max_blocking_threads: DEFAULT_MAX_BLOCKING_THREADS,
            blocking_keep_alive: DEFAULT_BLOCKING_KEEP_ALIVE,
            stall_threshold: None,
            on_stall: None,
            track_spawn_locations: false,
            #[cfg(all(feature = "net", not(loom)))]
            io: std::sync::Arc::new(crate::io::Driver::new().expect("an I/O driver for a unit test")),
        }
    }
}
