//! Hooks the user runs on the worker threads: `on_thread_start`,
//! `on_thread_stop`, `on_thread_park`, `on_thread_unpark` (tokio's names).
//!
//! Each is optional and costs one branch when unset. A hook runs on the
//! worker thread, with no lock held, inside `catch_unwind`: a panic in a hook
//! is contained (the default panic hook prints it, as for any panic) and
//! counted in [`Metrics::hook_panics`](crate::Metrics::hook_panics); it never
//! kills the worker. `on_thread_stop` runs when a worker leaves its loop
//! normally; not when it dies unwinding, where a second panic would abort.

use std::{fmt, sync::Arc};

/// A user's hook.
pub(crate) type Hook = Arc<dyn Fn() + Send + Sync>;

/// The hooks set on a [`Builder`](crate::Builder).
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    pub(crate) thread_start: Option<Hook>,
    pub(crate) thread_stop: Option<Hook>,
    pub(crate) thread_park: Option<Hook>,
    pub(crate) thread_unpark: Option<Hook>,
}

impl Hooks {
    /// Runs `hook` if set; returns `false` if it panicked (contained).
    #[inline]
    pub(crate) fn run(hook: &Option<Hook>) -> bool {
        hook.as_ref().is_none_or(|hook| crate::panic_policy::call_contained(|| hook()))
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("thread_start", &self.thread_start.is_some())
            .field("thread_stop", &self.thread_stop.is_some())
            .field("thread_park", &self.thread_park.is_some())
            .field("thread_unpark", &self.thread_unpark.is_some())
            .finish()
    }
}
