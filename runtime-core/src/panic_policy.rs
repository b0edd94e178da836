//! [`PanicPolicy`]: what the runtime does with a panic that nobody awaits.
//!
//! A task's panic normally resumes in whoever awaits its [`Task`](crate::Task).
//! When the task was detached, or its `Task` dropped (before or after it
//! panicked), nobody ever will: the policy decides what happens then
//! (tokio#2002). The panic travels to the awaiter inside a box of the task
//! wrapper's (`Unobserved` in `task.rs`) that every join handle opens; when
//! async-task drops that box unopened, the policy runs, with no lock held:
//! on the worker right after the poll that panicked if the `Task` was
//! already gone, else on the thread that detaches or drops the `Task`. The
//! panic is counted in [`Metrics::panicked`](crate::Metrics::panicked)
//! whatever the policy.
//!
//! What is promised, as tested (`tests/panic_policy.rs`): an awaited panic
//! never reaches the policy; an unawaited one reaches it exactly once, with
//! the task's id and payload, whether the `Task` was detached or dropped
//! before or after the panic; a panicking callback is contained and counted
//! in [`Metrics::hook_panics`](crate::Metrics::hook_panics);
//! `ShutdownRuntime` closes the runtime through its handle, like any close:
//! pending tasks report cancellation, spawns are refused, and blocking
//! closures that had not started never run (their `Task`s yield `None`).

use std::{any::Any, fmt, sync::Arc};

use crate::task_id::TaskId;

/// What to do with the panic of a task that nobody awaits (it was detached,
/// or its `Task` dropped, before or after it panicked). Set with
/// [`Builder::on_task_panic`](crate::Builder::on_task_panic).
///
/// ```
/// # use queue_flume::FlumeQueue;
/// use runtime_core::{PanicPolicy, Runtime};
///
/// let rt = Runtime::<FlumeQueue>::builder()
///     .on_task_panic(PanicPolicy::callback(|id, payload| {
///         let message = payload.downcast_ref::<&str>().copied().unwrap_or("?");
///         eprintln!("task {id} panicked: {message}");
///     }))
///     .build()?;
/// # Ok::<(), runtime_core::BuildError>(())
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum PanicPolicy {
    /// Count it (`Metrics::panicked`) and carry on: the default.
    #[default]
    Ignore,
    /// Shut the runtime down, as if a worker had died: pending tasks report
    /// cancellation, spawns are refused, and `spawn_blocking` closures not
    /// yet started never run. Dropping the `Runtime` (or
    /// `Handle::shutdown`) then joins and drains as usual.
    ShutdownRuntime,
    /// Call a function with the task's id and the panic's payload; made by
    /// [`PanicPolicy::callback`].
    Callback(PanicCallback),
}

/// The function of [`PanicPolicy::Callback`].
#[derive(Clone)]
pub struct PanicCallback(Arc<CallbackFn>);

/// What a [`PanicCallback`] calls: the task's id and the panic's payload.
type CallbackFn = dyn Fn(TaskId, &(dyn Any + Send)) + Send + Sync;

impl PanicPolicy {
    /// Calls `f(task_id, payload)` (see the module docs for on which
    /// thread). A panic inside `f` is contained and counted in
    /// [`Metrics::hook_panics`](crate::Metrics::hook_panics).
    pub fn callback(f: impl Fn(TaskId, &(dyn Any + Send)) + Send + Sync + 'static) -> Self {
        PanicPolicy::Callback(PanicCallback(Arc::new(f)))
    }
}

impl fmt::Debug for PanicPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PanicPolicy::Ignore => "Ignore",
            PanicPolicy::ShutdownRuntime => "ShutdownRuntime",
            PanicPolicy::Callback(_) => "Callback(..)",
        })
    }
}

impl fmt::Debug for PanicCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PanicCallback(..)")
    }
}

/// What applying a policy asks of the runtime.
pub(crate) enum Action {
    Nothing,
    Shutdown,
    /// The callback panicked (contained): count it.
    CallbackPanicked,
}

impl PanicPolicy {
    /// Applies the policy to the panic `payload` of task `id`.
    pub(crate) fn apply(&self, id: TaskId, payload: &(dyn Any + Send)) -> Action {
        match self {
            PanicPolicy::Ignore => Action::Nothing,
            PanicPolicy::ShutdownRuntime => Action::Shutdown,
            PanicPolicy::Callback(PanicCallback(f)) => {
                if call_contained(|| f(id, payload)) {
                    Action::Nothing
                } else {
                    Action::CallbackPanicked
                }
            }
        }
    }
}

/// Calls user code `f` (a hook, a callback), containing a panic: returns
/// `true` if `f` returned, `false` if it panicked (its payload dropped with
/// [`drop_payload`]; the default panic hook has printed it). The callers
/// count the panic where the user can see it.
pub(crate) fn call_contained(f: impl FnOnce()) -> bool {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(()) => true,
        Err(payload) => {
            drop_payload(payload);
            false
        }
    }
}

/// What tokio's panics say when a tokio resource is made, or a task
/// spawned, outside tokio's context.
const TOKIO_NO_CONTEXT: &str = "must be called from the context of a Tokio 1.x runtime";

/// The hint appended to [`TOKIO_NO_CONTEXT`] panics.
pub(crate) const TOKIO_HINT: &str = "hint: a tokio-only crate (reqwest, tokio::time, tokio::spawn, ...) \
    was used on runtime-core (pluggable-runtime), which runs no tokio reactor. Wrap the future that \
    creates the tokio resources in async-compat's Compat: `Compat::new(async { reqwest::get(url).await })`. \
    Careful: `tokio::time::sleep(d).compat()` still panics, because `sleep(d)` runs before the wrapper \
    exists; write `Compat::new(async { tokio::time::sleep(d).await })`. See \"Works with\" in the README.";

/// The message of a panic payload, if it is a string (what `panic!` makes).
pub(crate) fn message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

/// A panic `payload` with the hint for its cause appended, if the cause is
/// known (see "Hints"), the hint also printed to stderr; else `payload`
/// itself. A hinted payload is a `String`, as tokio's own is.
pub(crate) fn with_hint(payload: Box<dyn Any + Send>) -> Box<dyn Any + Send> {
    match message(&*payload) {
        Some(message) if message.contains(TOKIO_NO_CONTEXT) && !message.contains(TOKIO_HINT) => {
            eprintln!("{TOKIO_HINT}");
            let hinted = format!("{message}\n{TOKIO_HINT}");
            drop_payload(payload);
            Box::new(hinted)
        }
        _ => payload,
    }
}

/// Drops a panic payload that has been dealt with. Its destructor may panic
/// in turn (this may run under async-task's abort-on-panic guard, or while
/// unwinding): that second payload is forgotten, the only one ever leaked.
pub(crate) fn drop_payload(payload: Box<dyn Any + Send>) {
    if let Err(again) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
}
