//! [`Books`]: the part of a runtime's state that does not depend on its
//! queue type (its id, the live-task registry, the counters, the panic
//! policy, whether it is closed). What every task's
//! [`Tracked`](crate::task::Tracked) wrapper holds on to, so it sits below
//! the task wrapper and knows nothing of queues, handles or threads.

use std::{any::Any, fmt, sync::OnceLock};

use crate::{
    config::Config,
    metrics::{Counter, Stats},
    panic_policy::{Action, PanicPolicy},
    registry::Registry,
    sync::{AtomicBool, Ordering},
    task_id::TaskId,
};

/// The runtime's books; see the module docs.
pub(crate) struct Books {
    /// Distinguishes this runtime's worker threads from others'.
    pub(crate) id: usize,
    pub(crate) registry: Registry,
    pub(crate) stats: Stats,
    pub(crate) panic_policy: PanicPolicy,
    /// Wrap each task to publish where it was spawned (`stall.rs`).
    pub(crate) track_locations: bool,
    /// Set once, by the first close (see "Shutdown" in `scheduler/`).
    /// `SeqCst`: it takes part in the shutdown protocol's fences.
    closed: AtomicBool,
    /// Closes the runtime (for `PanicPolicy::ShutdownRuntime`): set once the
    /// runtime's handle exists, holding it weakly.
    closer: OnceLock<Box<dyn Fn() + Send + Sync>>,
    /// The runtime's I/O driver (`io/`, feature `net`).
    #[cfg(all(feature = "net", not(loom)))]
    pub(crate) io: std::sync::Arc<crate::io::Driver>,
}

impl Books {
    /// The books of runtime `id`, with `slots` worker slots.
    pub(crate) fn new(id: usize, config: &Config, slots: usize) -> Self {
        Self {
            id,
            registry: Registry::new(slots),
            stats: Stats::new(id, config.workers, slots),
            panic_policy: config.panic_policy.clone(),
            track_locations: config.track_spawn_locations && config.stall_threshold.is_some(),
            closed: AtomicBool::new(false),
            closer: OnceLock::new(),
            #[cfg(all(feature = "net", not(loom)))]
            io: config.io.clone(),
        }
    }

    /// Whether the runtime is closed: spawns are refused, no task is polled
    /// again.
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Marks the runtime closed; returns `true` if this call closed it. The
    /// caller wakes the workers (`Shared::close`).
    pub(crate) fn set_closed(&self) -> bool {
        !self.closed.swap(true, Ordering::SeqCst)
    }

    /// Sets how `PanicPolicy::ShutdownRuntime` closes the runtime (once).
    pub(crate) fn set_closer(&self, close: impl Fn() + Send + Sync + 'static) {
        let _ = self.closer.set(Box::new(close));
    }

    /// A panic nobody will see (`task.rs`): apply the policy.
    pub(crate) fn on_unobserved_panic(&self, id: TaskId, payload: &(dyn Any + Send)) {
        #[cfg(feature = "tracing")]
        crate::trace::unobserved_panic(id, crate::panic_policy::message(payload), &self.panic_policy);
        match self.panic_policy.apply(id, payload) {
            Action::Nothing => {}
            Action::Shutdown => {
                if let Some(close) = self.closer.get() {
                    close();
                }
            }
            Action::CallbackPanicked => self.stats.bump(Counter::HookPanics),
        }
    }
}

impl fmt::Debug for Books {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Books")
            .field("id", &self.id)
            .field("stats", &self.stats)
            .field("panic_policy", &self.panic_policy)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}
