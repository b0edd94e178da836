//! Settings and their errors: [`Builder`] and [`BuildError`].
//!
//! A setting comes from a `Builder` call, else from its environment variable,
//! else from a default. A bad value is an error that names the setting and
//! the value, never a silent fallback.

use std::{env, fmt, io, marker::PhantomData, sync::Arc, time::Duration};

use crate::{
    config::{Config, DEFAULT_BLOCKING_KEEP_ALIVE, DEFAULT_MAX_BLOCKING_THREADS, DEFAULT_STALL_THRESHOLD},
    hooks::{Hook, Hooks},
    panic_policy::PanicPolicy,
    queue::Queue,
    runtime::Runtime,
    stall::StallCallback,
};

/// The environment variable that sets the default number of worker threads.
pub const WORKER_THREADS_ENV: &str = "RUNTIME_WORKER_THREADS";

/// The most worker threads a runtime accepts.
pub const MAX_WORKER_THREADS: usize = 1024;

/// The environment variable that sets the default number of workers reserved
/// for `High` tasks ([`Builder::high_priority_workers`]).
pub const HIGH_PRIORITY_WORKERS_ENV: &str = "RUNTIME_HIGH_PRIORITY_WORKERS";

/// The environment variable that sets the default cap on blocking threads
/// ([`Builder::max_blocking_threads`]).
pub const MAX_BLOCKING_THREADS_ENV: &str = "RUNTIME_MAX_BLOCKING_THREADS";

/// Why a runtime could not be built.
#[derive(Debug)]
pub struct BuildError {
    kind: BuildErrorKind,
}

#[derive(Debug)]
enum BuildErrorKind {
    /// A setting had a value the runtime cannot use.
    Invalid { setting: String, value: String, expected: &'static str },
    /// The OS refused to start a worker thread.
    Spawn { name: String, error: io::Error },
    /// The OS refused the I/O driver's poller or its waker (feature `net`;
    /// most often: out of file descriptors).
    #[cfg_attr(not(all(feature = "net", not(loom))), allow(dead_code))]
    Driver { error: io::Error },
}

impl BuildError {
    fn invalid(setting: impl Into<String>, value: impl Into<String>, expected: &'static str) -> Self {
        Self { kind: BuildErrorKind::Invalid { setting: setting.into(), value: value.into(), expected } }
    }

    /// The OS refused to start the thread `name`.
    pub(crate) fn spawn(name: String, error: io::Error) -> Self {
        Self { kind: BuildErrorKind::Spawn { name, error } }
    }

    /// The OS refused to create the I/O driver (feature `net`).
    #[cfg_attr(not(all(feature = "net", not(loom))), allow(dead_code))]
    pub(crate) fn driver(error: io::Error) -> Self {
        Self { kind: BuildErrorKind::Driver { error } }
    }

    /// The setting that was wrong (`"worker_threads"`, `"RUNTIME_WORKER_THREADS"`,
    /// `"thread_name"`, `"high_priority_workers"`, `"RUNTIME_HIGH_PRIORITY_WORKERS"`,
    /// `"max_blocking_threads"`, `"RUNTIME_MAX_BLOCKING_THREADS"`), or `None`
    /// if the error is not about a setting.
    pub fn setting(&self) -> Option<&str> {
        match &self.kind {
            BuildErrorKind::Invalid { setting, .. } => Some(setting),
            BuildErrorKind::Spawn { .. } | BuildErrorKind::Driver { .. } => None,
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            BuildErrorKind::Invalid { setting, value, expected } => {
                write!(f, "invalid {setting} = {value:?}: expected {expected}")
            }
            BuildErrorKind::Spawn { name, error } => {
                write!(f, "could not start worker thread {name:?}: {error}")
            }
            BuildErrorKind::Driver { error } => {
                write!(f, "could not create the runtime's I/O driver (feature `net`): {error}")
            }
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            BuildErrorKind::Spawn { error, .. } | BuildErrorKind::Driver { error } => Some(error),
            BuildErrorKind::Invalid { .. } => None,
        }
    }
}

/// A whole-number setting: its `Builder` method's name, its environment
/// variable, and what a valid value is.
struct Setting {
    name: &'static str,
    env: &'static str,
    expected: &'static str,
}

const WORKERS: Setting = Setting {
    name: "worker_threads",
    env: WORKER_THREADS_ENV,
    expected: "a whole number of worker threads from 1 to 1024",
};
const RESERVED: Setting = Setting {
    name: "high_priority_workers",
    env: HIGH_PRIORITY_WORKERS_ENV,
    expected: "a whole number of workers smaller than the worker count",
};
const MAX_BLOCKING: Setting = Setting {
    name: "max_blocking_threads",
    env: MAX_BLOCKING_THREADS_ENV,
    expected: "a whole number of blocking threads, at least 1",
};

/// The value of `setting`: the explicit one, else its environment
/// variable's, else `default()`. `check` accepts a number or says what to
/// add to the value in the error (empty: nothing); a value that is not a
/// whole number is an error too, naming whichever of the two gave it.
fn resolve(
    setting: Setting,
    explicit: Option<usize>,
    default: impl FnOnce() -> usize,
    check: impl FnOnce(usize) -> Result<usize, String>,
) -> Result<usize, BuildError> {
    let (name, value, parsed) = match explicit {
        Some(n) => (setting.name, n.to_string(), Some(n)),
        None => match env::var(setting.env) {
            Ok(value) => {
                let n = value.trim().parse().ok();
                (setting.env, value, n)
            }
            Err(env::VarError::NotPresent) => return Ok(default()),
            Err(env::VarError::NotUnicode(value)) => {
                (setting.env, value.to_string_lossy().into_owned(), None)
            }
        },
    };
    match parsed.map(check) {
        Some(Ok(n)) => Ok(n),
        Some(Err(note)) => Err(BuildError::invalid(name, format!("{value}{note}"), setting.expected)),
        None => Err(BuildError::invalid(name, value, setting.expected)),
    }
}

/// Configures and builds a [`Runtime`].
///
/// Defaults: as many workers as [`std::thread::available_parallelism`]
/// reports, unless the environment variable `RUNTIME_WORKER_THREADS` says
/// otherwise; no worker reserved for `High` tasks unless
/// `RUNTIME_HIGH_PRIORITY_WORKERS` says otherwise; at most 512 blocking
/// threads unless `RUNTIME_MAX_BLOCKING_THREADS` says otherwise, each kept
/// 10 s while idle; explicit calls win over the environment.
///
/// ```
/// use queue_crossbeam::CrossbeamQueue;
/// use runtime_core::Runtime;
///
/// let rt = Runtime::<CrossbeamQueue>::builder()
///     .worker_threads(2)
///     .thread_name("my-pool")
///     .on_thread_start(|| println!("worker up"))
///     .build()?;
/// assert_eq!(rt.metrics().worker_threads, 2);
/// # Ok::<(), runtime_core::BuildError>(())
/// ```
pub struct Builder<Q: Queue> {
    /// From `worker_threads()`: wins over the environment.
    worker_threads: Option<usize>,
    thread_name: String,
    /// From `high_priority_workers()`: wins over the environment.
    high_priority_workers: Option<usize>,
    hooks: Hooks,
    panic_policy: PanicPolicy,
    /// From `max_blocking_threads()`: wins over the environment.
    max_blocking_threads: Option<usize>,
    blocking_keep_alive: Duration,
    stall_threshold: Option<Duration>,
    on_stall: Option<StallCallback>,
    track_spawn_locations: bool,
    _queue: PhantomData<fn() -> Q>,
}

impl<Q: Queue> fmt::Debug for Builder<Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("worker_threads", &self.worker_threads)
            .field("thread_name", &self.thread_name)
            .field("high_priority_workers", &self.high_priority_workers)
            .field("hooks", &self.hooks)
            .field("panic_policy", &self.panic_policy)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("blocking_keep_alive", &self.blocking_keep_alive)
            .field("stall_threshold", &self.stall_threshold)
            .field("on_stall", &self.on_stall.is_some())
            .field("track_spawn_locations", &self.track_spawn_locations)
            .field("queue", &std::any::type_name::<Q>())
            .finish()
    }
}

impl<Q: Queue> Default for Builder<Q> {
    fn default() -> Self {
        Self::new()
    }
}

impl<Q: Queue> Builder<Q> {
    /// A builder with the defaults (see the type docs).
    pub fn new() -> Self {
        Self {
            worker_threads: None,
            thread_name: "runtime-worker".to_owned(),
            high_priority_workers: None,
            hooks: Hooks::default(),
            panic_policy: PanicPolicy::default(),
            max_blocking_threads: None,
            blocking_keep_alive: DEFAULT_BLOCKING_KEEP_ALIVE,
            stall_threshold: Some(DEFAULT_STALL_THRESHOLD),
            on_stall: None,
            track_spawn_locations: false,
            _queue: PhantomData,
        }
    }

    /// Sets the number of worker threads (1 to [`MAX_WORKER_THREADS`]).
    /// Overrides `RUNTIME_WORKER_THREADS`.
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = Some(n);
        self
    }

    /// Sets the prefix of the worker threads' names; worker `i` is named
    /// `"{prefix}-{i}"` (a replacement for a stalled worker too, with an
    /// index at or above the worker count), the `n`th blocking thread started
    /// `"{prefix}-blocking-{n}"`, and the stall watcher `"{prefix}.watch"`.
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Self {
        self.thread_name = prefix.into();
        self
    }

    /// Reserves `n` of the workers for `High` tasks: they run nothing else,
    /// so a `High` task never waits behind `Low` tasks that take long in
    /// their polls (the tutorial's `HIGH_NUM` threads, inside one stealing
    /// pool). The other workers run both priorities. `n` must be smaller
    /// than the worker count; 0 (the default) reserves none. Overrides
    /// `RUNTIME_HIGH_PRIORITY_WORKERS`.
    pub fn high_priority_workers(mut self, n: usize) -> Self {
        self.high_priority_workers = Some(n);
        self
    }

    /// Caps the threads that run [`spawn_blocking`](crate::spawn_blocking)
    /// closures (at least 1; the default is 512, as in tokio). Closures
    /// beyond the cap wait in a queue for a thread. Overrides
    /// `RUNTIME_MAX_BLOCKING_THREADS`.
    pub fn max_blocking_threads(mut self, n: usize) -> Self {
        self.max_blocking_threads = Some(n);
        self
    }

    /// How long a blocking thread with nothing to run waits for a closure
    /// before it exits (default 10 s). Threads start again on demand.
    pub fn blocking_keep_alive(mut self, d: Duration) -> Self {
        self.blocking_keep_alive = d;
        self
    }

    /// A worker that stays inside one poll longer than `t` is *stalled*
    /// (default 10 ms; `None` turns stall detection off): it is counted in
    /// [`Metrics::stalls`](crate::Metrics::stalls), reported to
    /// [`on_stall`](Self::on_stall), and its queued tasks are handed to the
    /// other workers; if every worker is stalled, a replacement worker thread
    /// starts (see [`StallInfo`](crate::StallInfo) and the module docs of
    /// `stall.rs`). Nothing is printed. The watcher sleeps while no worker
    /// runs a task. `Some(Duration::ZERO)` is a `BuildError`.
    pub fn stall_threshold(mut self, t: Option<Duration>) -> Self {
        self.stall_threshold = t;
        self
    }

    /// Calls `f` (on the runtime's watcher thread, inside `catch_unwind`)
    /// once for each stalled poll, with the stalled task's id and, with
    /// [`track_spawn_locations`](Self::track_spawn_locations), where it was
    /// spawned. It runs after that stall's handoff (and replacement, if
    /// any); keep it short all the same: it delays the watcher's next look.
    pub fn on_stall(mut self, f: impl Fn(&crate::StallInfo) + Send + Sync + 'static) -> Self {
        self.on_stall = Some(Arc::new(f));
        self
    }

    /// Remembers the `#[track_caller]` location of the `spawn` that created
    /// each task, for [`StallInfo::spawned_at`](crate::StallInfo::spawned_at)
    /// (default off: it costs a word per task and a store per poll).
    pub fn track_spawn_locations(mut self, on: bool) -> Self {
        self.track_spawn_locations = on;
        self
    }

    /// Runs `f` on each worker thread when it starts, before it runs tasks.
    pub fn on_thread_start(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.hooks.thread_start = Some(hook(f));
        self
    }

    /// Runs `f` on each worker thread when it stops (after shutdown).
    pub fn on_thread_stop(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.hooks.thread_stop = Some(hook(f));
        self
    }

    /// Runs `f` on a worker thread right before it parks (it found no work).
    pub fn on_thread_park(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.hooks.thread_park = Some(hook(f));
        self
    }

    /// Runs `f` on a worker thread right after it wakes from parking.
    pub fn on_thread_unpark(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.hooks.thread_unpark = Some(hook(f));
        self
    }

    /// What to do with the panic of a task nobody awaits (detached, or its
    /// `Task` dropped): see [`PanicPolicy`]. The default is
    /// [`PanicPolicy::Ignore`] (count it in `Metrics::panicked`).
    pub fn on_task_panic(mut self, policy: PanicPolicy) -> Self {
        self.panic_policy = policy;
        self
    }

    /// The worker count this builder would use, or why it is invalid.
    fn resolve_workers(&self) -> Result<usize, BuildError> {
        let default = || std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_WORKER_THREADS);
        resolve(WORKERS, self.worker_threads, default, |n| {
            if (1..=MAX_WORKER_THREADS).contains(&n) { Ok(n) } else { Err(String::new()) }
        })
    }

    /// The number of workers reserved for `High` tasks, out of `workers`.
    fn resolve_reserved(&self, workers: usize) -> Result<usize, BuildError> {
        resolve(
            RESERVED,
            self.high_priority_workers,
            || 0,
            |n| {
                if n < workers { Ok(n) } else { Err(format!(" (with {workers} worker threads)")) }
            },
        )
    }

    /// The cap on blocking threads this builder would use, or why it is invalid.
    fn resolve_max_blocking(&self) -> Result<usize, BuildError> {
        resolve(
            MAX_BLOCKING,
            self.max_blocking_threads,
            || DEFAULT_MAX_BLOCKING_THREADS,
            |n| {
                if n >= 1 { Ok(n) } else { Err(String::new()) }
            },
        )
    }

    /// Checks the settings and starts the worker threads.
    pub fn build(self) -> Result<Runtime<Q>, BuildError> {
        let workers = self.resolve_workers()?;
        let reserved = self.resolve_reserved(workers)?;
        let max_blocking_threads = self.resolve_max_blocking()?;
        if self.stall_threshold == Some(Duration::ZERO) {
            return Err(BuildError::invalid("stall_threshold", "Some(0ns)", "a positive duration, or None"));
        }
        if self.thread_name.contains('\0') {
            return Err(BuildError::invalid("thread_name", self.thread_name, "a name without NUL bytes"));
        }
        #[cfg(all(feature = "net", not(loom)))]
        let io = std::sync::Arc::new(crate::io::Driver::new().map_err(BuildError::driver)?);
        Runtime::start(Config {
            workers,
            thread_name: self.thread_name,
            reserved,
            hooks: self.hooks,
            panic_policy: self.panic_policy,
            max_blocking_threads,
            blocking_keep_alive: self.blocking_keep_alive,
            stall_threshold: self.stall_threshold,
            on_stall: self.on_stall,
            track_spawn_locations: self.track_spawn_locations,
            #[cfg(all(feature = "net", not(loom)))]
            io,
        })
    }
}

fn hook(f: impl Fn() + Send + Sync + 'static) -> Hook {
    Arc::new(f)
}
