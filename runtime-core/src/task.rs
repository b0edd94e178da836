//! Join handles ([`Task`], [`FallibleTask`]) and the wrapper every spawned
//! future runs inside ([`Tracked`]).
//!
//! `Tracked` is what lets the runtime keep its promises about futures it does
//! not own any more once they are spawned:
//! - it counts completions and panics (async-task catches a panic inside
//!   `Runnable::run` when `propagate_panic` is on, so a `catch_unwind` around
//!   `run` would never see it: the count has to happen here, before the panic
//!   is re-raised for async-task to hand to the awaiter);
//! - when it is dropped unfinished (cancelled, or dropped at shutdown) it
//!   counts a cancellation;
//! - the first time its future returns `Pending` it registers the task's
//!   waker in the live-task registry (see `registry.rs`), and when it
//!   finishes either way it takes the entry out again, so the registry holds
//!   exactly the parked tasks whose futures still exist.

use std::{
    fmt,
    future::Future,
    panic::{AssertUnwindSafe, catch_unwind, resume_unwind},
    pin::Pin,
    task::{Context, Poll},
};

use crate::{context, metrics::Counter, registry::Key, scheduler::Books, sync::Arc};

/// A handle to a spawned task: await it for the task's output.
///
/// - Awaiting it yields the output; if the task panicked, the panic resumes in
///   the awaiter.
/// - Dropping it cancels the task (its future is dropped by a worker without
///   being polled again). Call [`detach`](Task::detach) to let it run on.
/// - If the task was cancelled before finishing (its runtime shut down, or it
///   was spawned onto a runtime already shut down), awaiting panics with a
///   message that says so; use [`fallible`](Task::fallible) to get `None`
///   instead.
#[must_use = "dropping a Task cancels it; call .detach() to let it run in the background"]
pub struct Task<T> {
    inner: async_task::FallibleTask<T>,
}

impl<T> Task<T> {
    pub(crate) fn new(inner: async_task::Task<T>) -> Self {
        Self { inner: inner.fallible() }
    }

    /// Lets the task run to completion in the background; its output is dropped.
    pub fn detach(self) {
        self.inner.detach();
    }

    /// Cancels the task and waits until it has stopped. Returns its output if
    /// it had already finished, `None` otherwise.
    pub async fn cancel(self) -> Option<T> {
        self.inner.cancel().await
    }

    /// Turns this handle into one that yields `None` instead of panicking when
    /// the task was cancelled.
    pub fn fallible(self) -> FallibleTask<T> {
        FallibleTask { inner: self.inner }
    }

    /// Whether the task has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }
}

impl<T> Future for Task<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match Pin::new(&mut self.inner).poll(cx) {
            Poll::Ready(Some(output)) => Poll::Ready(output),
            Poll::Ready(None) => panic!(
                "runtime_core::Task: the task was cancelled before it finished \
                 (its runtime shut down, or it was spawned after shutdown); \
                 use Task::fallible() to get None instead of this panic"
            ),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task").field("finished", &self.is_finished()).finish()
    }
}

/// A [`Task`] that yields `None` when the task was cancelled.
#[must_use = "dropping a FallibleTask cancels it; call .detach() to let it run in the background"]
pub struct FallibleTask<T> {
    inner: async_task::FallibleTask<T>,
}

impl<T> FallibleTask<T> {
    /// Lets the task run to completion in the background.
    pub fn detach(self) {
        self.inner.detach();
    }

    /// Cancels the task and waits until it has stopped.
    pub async fn cancel(self) -> Option<T> {
        self.inner.cancel().await
    }

    /// Whether the task has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }
}

impl<T> Future for FallibleTask<T> {
    type Output = Option<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        Pin::new(&mut self.inner).poll(cx)
    }
}

impl<T> fmt::Debug for FallibleTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FallibleTask").field("finished", &self.is_finished()).finish()
    }
}

/// The wrapper around every spawned future. See the module docs.
pub(crate) struct Tracked<F> {
    future: F,
    books: Arc<Books>,
    state: State,
}

/// Where a [`Tracked`] future stands, in one word.
#[derive(Debug, Clone, Copy)]
enum State {
    /// Not in the registry: never parked yet.
    Unregistered,
    /// Parked at least once: its waker is in the registry under this key.
    Registered(Key),
    /// Finished and counted (or never counted: spawned after shutdown).
    Done,
}

impl<F> Tracked<F> {
    /// A future of a task being spawned.
    pub(crate) fn new(future: F, books: Arc<Books>) -> Self {
        Self { future, books, state: State::Unregistered }
    }

    /// A future of a task refused at spawn (the runtime is shut down): it is
    /// dropped at once and counts as nothing, since it was never spawned.
    pub(crate) fn refused(future: F, books: Arc<Books>) -> Self {
        Self { future, books, state: State::Done }
    }

    fn finish(&mut self, counter: Counter) {
        self.books.stats.bump(counter);
        if let State::Registered(key) = std::mem::replace(&mut self.state, State::Done) {
            self.books.registry.remove(key);
        }
    }

    /// Puts the task's waker in the registry, on its first `Pending`.
    fn register(&mut self, cx: &Context<'_>) {
        let shard = context::worker_index(self.books.id).unwrap_or(0);
        match self.books.registry.insert(shard, cx.waker().clone()) {
            Ok(key) => self.state = State::Registered(key),
            Err(waker) => {
                // Closed: shutdown is under way and will not find this task
                // through the registry. Wake it, so that it is queued (and
                // the drain drops it) or, once drained, dropped at once.
                drop(waker);
                cx.waker().wake_by_ref();
            }
        }
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of
        // `self` and `Tracked` has no `Unpin` impl of its own that would allow
        // it. The other fields are not pinned and are only touched by `&mut`.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; `this.future` stays in place for as long as `self`.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => {
                if let State::Unregistered = this.state {
                    this.register(cx);
                }
                Poll::Pending
            }
            Ok(Poll::Ready(output)) => {
                this.finish(Counter::Completed);
                Poll::Ready(output)
            }
            Err(payload) => {
                this.finish(Counter::Panicked);
                resume_unwind(payload)
            }
        }
    }
}

impl<F> Drop for Tracked<F> {
    fn drop(&mut self) {
        // Not finished: the future is dropped before it completed.
        if !matches!(self.state, State::Done) {
            self.finish(Counter::Cancelled);
        }
    }
}
