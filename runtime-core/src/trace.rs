//! `tracing` support (feature `tracing`): a span per task, and events for
//! what the runtime reports on its own (stalls, panics nobody awaits).
//!
//! # Spans
//! Every task, a `spawn_blocking` closure included, runs inside a span of
//! its own: name `task`, level `INFO`, target `runtime_core::task`, fields
//! `task.id` (its [`TaskId`] as a number, as in `Debug` and in the panic
//! policy) and `spawned_at` (`file:line:column` of the `spawn` call). So a
//! subscriber shows every event a task emits under the task that emitted
//! it, wherever it runs. The span has no parent, as tokio's task spans: a
//! task outlives the code that spawned it. [`Traced`] wraps the task's
//! future: it makes the span on the first poll (on the thread that runs the
//! task, where [`task_id`] is the task's), enters it around every poll, and
//! closes it when the future is dropped. With no subscriber interested, a
//! poll costs one check of a disabled span.
//!
//! # Events
//! - A stall, from the watcher thread right before `on_stall` is called:
//!   level `WARN`, target `runtime_core::stall`, fields `worker`,
//!   `task.id`, `spawned_at` (with `Builder::track_spawn_locations`, else
//!   empty), `stalled_for_ms`.
//! - A panic nobody awaits, on the thread that applies the panic policy
//!   right before it applies it: level `ERROR`, target
//!   `runtime_core::panic`, fields `task.id`, `panic` (the message, when
//!   the payload is a string) and `policy`.

use std::{
    future::Future,
    panic::Location,
    pin::Pin,
    task::{Context, Poll},
};

use tracing::Span;

use crate::{
    stall::StallInfo,
    task_id::{TaskId, task_id},
};

pin_project_lite::pin_project! {
    /// A task's future inside the task's span (see "Spans").
    pub(crate) struct Traced<F> {
        #[pin]
        future: F,
        location: &'static Location<'static>,
        // Made on the first poll, where the task's id is known.
        span: Option<Span>,
    }
}

impl<F> Traced<F> {
    /// The future of a task spawned at `location`.
    pub(crate) fn new(future: F, location: &'static Location<'static>) -> Self {
        Self { future, location, span: None }
    }
}

impl<F: Future> Future for Traced<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let location = *this.location;
        let span = this.span.get_or_insert_with(|| task_span(task_id(), location));
        let _entered = span.enter();
        this.future.poll(cx)
    }
}

/// The span of task `id`, spawned at `location`.
fn task_span(id: Option<TaskId>, location: &'static Location<'static>) -> Span {
    tracing::info_span!(
        target: "runtime_core::task",
        parent: None,
        "task",
        "task.id" = id.map(TaskId::as_u64),
        spawned_at = %location,
    )
}

/// The event of a stall (see "Events").
pub(crate) fn stall(info: &StallInfo) {
    tracing::warn!(
        target: "runtime_core::stall",
        worker = info.worker,
        "task.id" = info.task.map(TaskId::as_u64),
        spawned_at = info.spawned_at.map(tracing::field::display),
        stalled_for_ms = info.stalled_for.as_secs_f64() * 1e3,
        "a worker is stalled: a task has been inside one poll for longer than the stall threshold \
         (it blocks its thread; move the blocking call to spawn_blocking)"
    );
}

/// The event of a panic nobody awaits (see "Events").
pub(crate) fn unobserved_panic(id: TaskId, message: Option<&str>, policy: &dyn std::fmt::Debug) {
    tracing::error!(
        target: "runtime_core::panic",
        policy = ?policy,
        "task.id" = id.as_u64(),
        panic = message,
        "a task panicked and nobody awaits it"
    );
}
