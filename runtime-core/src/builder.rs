//! Settings and their errors: [`Builder`] and [`BuildError`].
//!
//! A setting comes from a `Builder` call, else from its environment variable,
//! else from a default. A bad value is an error that names the setting and
//! the value, never a silent fallback.

use std::{env, fmt, io, marker::PhantomData};

use crate::{queue::Queue, runtime::Runtime};

/// The environment variable that sets the default number of worker threads.
pub const WORKER_THREADS_ENV: &str = "RUNTIME_WORKER_THREADS";

/// The most worker threads a runtime accepts.
pub const MAX_WORKER_THREADS: usize = 1024;

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
}

impl BuildError {
    fn invalid(setting: impl Into<String>, value: impl Into<String>, expected: &'static str) -> Self {
        Self { kind: BuildErrorKind::Invalid { setting: setting.into(), value: value.into(), expected } }
    }

    /// The OS refused to start the thread `name`.
    pub(crate) fn spawn(name: String, error: io::Error) -> Self {
        Self { kind: BuildErrorKind::Spawn { name, error } }
    }

    /// The setting that was wrong (`"worker_threads"`, `"RUNTIME_WORKER_THREADS"`,
    /// `"thread_name"`), or `None` if the error is not about a setting.
    pub fn setting(&self) -> Option<&str> {
        match &self.kind {
            BuildErrorKind::Invalid { setting, .. } => Some(setting),
            BuildErrorKind::Spawn { .. } => None,
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
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            BuildErrorKind::Spawn { error, .. } => Some(error),
            BuildErrorKind::Invalid { .. } => None,
        }
    }
}

const WORKERS_EXPECTED: &str = "a whole number of worker threads from 1 to 1024";

fn check_workers(setting: &str, value: &str, n: Option<usize>) -> Result<usize, BuildError> {
    match n {
        Some(n) if (1..=MAX_WORKER_THREADS).contains(&n) => Ok(n),
        _ => Err(BuildError::invalid(setting, value, WORKERS_EXPECTED)),
    }
}

/// Configures and builds a [`Runtime`].
///
/// Defaults: as many workers as [`std::thread::available_parallelism`]
/// reports, unless the environment variable `RUNTIME_WORKER_THREADS` says
/// otherwise; explicit calls win over both.
///
/// ```
/// use queue_crossbeam::CrossbeamQueue;
/// use runtime_core::Runtime;
///
/// let rt = Runtime::<CrossbeamQueue>::builder()
///     .worker_threads(2)
///     .thread_name("my-pool")
///     .build()?;
/// assert_eq!(rt.metrics().worker_threads, 2);
/// # Ok::<(), runtime_core::BuildError>(())
/// ```
pub struct Builder<Q: Queue> {
    /// From `worker_threads()`: wins over the environment.
    worker_threads: Option<usize>,
    thread_name: String,
    _queue: PhantomData<fn() -> Q>,
}

impl<Q: Queue> fmt::Debug for Builder<Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("worker_threads", &self.worker_threads)
            .field("thread_name", &self.thread_name)
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
        Self { worker_threads: None, thread_name: "runtime-worker".to_owned(), _queue: PhantomData }
    }

    /// Sets the number of worker threads (1 to [`MAX_WORKER_THREADS`]).
    /// Overrides `RUNTIME_WORKER_THREADS`.
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = Some(n);
        self
    }

    /// Sets the prefix of the worker threads' names; worker `i` is named
    /// `"{prefix}-{i}"`.
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Self {
        self.thread_name = prefix.into();
        self
    }

    /// The worker count this builder would use, or why it is invalid.
    fn resolve_workers(&self) -> Result<usize, BuildError> {
        if let Some(n) = self.worker_threads {
            return check_workers("worker_threads", &n.to_string(), Some(n));
        }
        match env::var(WORKER_THREADS_ENV) {
            Ok(value) => check_workers(WORKER_THREADS_ENV, &value, value.trim().parse().ok()),
            Err(env::VarError::NotPresent) => {
                Ok(std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_WORKER_THREADS))
            }
            Err(env::VarError::NotUnicode(value)) => Err(BuildError::invalid(
                WORKER_THREADS_ENV,
                value.to_string_lossy().into_owned(),
                WORKERS_EXPECTED,
            )),
        }
    }

    /// Checks the settings and starts the worker threads.
    pub fn build(self) -> Result<Runtime<Q>, BuildError> {
        let workers = self.resolve_workers()?;
        if self.thread_name.contains('\0') {
            return Err(BuildError::invalid("thread_name", self.thread_name, "a name without NUL bytes"));
        }
        Runtime::start(workers, &self.thread_name)
    }
}
