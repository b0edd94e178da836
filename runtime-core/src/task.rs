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
//! - it drops the future itself, inside its own `catch_unwind`, as soon as
//!   the future is done with (completed, panicked, cancelled): async-task
//!   drops the futures it owns under an abort-on-panic guard, so a destructor
//!   that panicked there would abort the process. A destructor's panic after
//!   completion becomes the task's panic (the awaiter gets it); one nobody
//!   can receive (a cancelled task) is counted in `Metrics::drop_panics`;
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
    ///
    /// # Panics
    /// If the task had already panicked, that panic resumes here, as it
    /// would when awaiting the task: a panic is never silently dropped by
    /// the one place that asked for the task's outcome.
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
                 (its runtime shut down, or closed because a worker died, or the task \
                 was spawned after shutdown); use Task::fallible() to get None instead \
                 of this panic"
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

    /// Cancels the task and waits until it has stopped; like
    /// [`Task::cancel`] (a panic of the task resumes here).
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

pin_project_lite::pin_project! {
    /// The wrapper around every spawned future. See the module docs.
    ///
    /// Its state is derived from its two options, so that it costs no more
    /// than the future, a pointer and one word:
    /// - `future: Some`, `key: None`: running, never parked;
    /// - `future: Some`, `key: Some`: parked at least once, registered;
    /// - `future: None`: finished and counted (or refused at spawn).
    pub(crate) struct Tracked<F> {
        // Dropped by the wrapper itself, inside its own `catch_unwind`,
        // because async-task drops what it owns under an abort-on-panic guard.
        #[pin]
        future: Option<F>,
        books: Arc<Books>,
        // Where the task's waker sits in the registry, once it has parked.
        key: Option<Key>,
    }

    impl<F> PinnedDrop for Tracked<F> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            if this.future.is_some() {
                // Dropped before it finished: cancelled (its `Task` was
                // dropped, or the runtime shut down). Nobody can receive a
                // panic from its destructor: it is counted and contained.
                let dropped = drop_future(this.future.as_mut());
                finish(this.books, this.key, Counter::Cancelled);
                contain(this.books, dropped);
            }
        }
    }
}

impl<F> Tracked<F> {
    /// A future of a task being spawned.
    pub(crate) fn new(future: F, books: Arc<Books>) -> Self {
        Self { future: Some(future), books, key: None }
    }

    /// A task refused at spawn (the runtime is shut down): its future is
    /// dropped right here, on the spawning thread, and it counts as nothing,
    /// since it was never spawned.
    pub(crate) fn refused(future: F, books: Arc<Books>) -> Self {
        drop(future);
        Self { future: None, books, key: None }
    }
}

/// Drops the future in place, catching a panic from its destructor.
fn drop_future<F>(mut future: Pin<&mut Option<F>>) -> std::thread::Result<()> {
    // Pinned data may be dropped in place; `set` does exactly that.
    catch_unwind(AssertUnwindSafe(move || future.set(None)))
}

/// Counts a destructor's panic that nobody can receive, and drops its
/// payload (whose own destructor may panic too: that one is forgotten).
fn contain(books: &Books, result: std::thread::Result<()>) {
    if let Err(payload) = result {
        books.stats.bump(Counter::DropPanics);
        if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
            std::mem::forget(again);
        }
    }
}

/// Counts how a task finished and takes it out of the registry.
fn finish(books: &Books, key: &mut Option<Key>, counter: Counter) {
    books.stats.bump(counter);
    if let Some(key) = key.take() {
        books.registry.remove(key);
    }
}

/// Puts the task's waker in the registry, on its first `Pending`.
fn register(books: &Books, key: &mut Option<Key>, cx: &Context<'_>) {
    let shard = context::worker_index(books.id).unwrap_or(0);
    match books.registry.insert(shard, cx.waker().clone()) {
        Ok(inserted) => *key = Some(inserted),
        Err(waker) => {
            // Closed: shutdown is under way and will not find this task
            // through the registry. Wake it, so that it is queued (and the
            // drain drops it) or, once drained, dropped at once.
            drop(waker);
            cx.waker().wake_by_ref();
        }
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let mut this = self.project();
        let Some(future) = this.future.as_mut().as_pin_mut() else {
            // async-task never polls a task again once it returned `Ready`
            // or panicked, and those are the only ways the future goes.
            unreachable!("runtime_core: a task was polled after it finished");
        };
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => {
                if this.key.is_none() {
                    register(this.books, this.key, cx);
                }
                Poll::Pending
            }
            Ok(Poll::Ready(output)) => match drop_future(this.future) {
                Ok(()) => {
                    finish(this.books, this.key, Counter::Completed);
                    Poll::Ready(output)
                }
                // The destructor panicked: the task panicked, and the
                // awaiter gets that panic instead of the output.
                Err(payload) => {
                    finish(this.books, this.key, Counter::Panicked);
                    drop(output);
                    resume_unwind(payload)
                }
            },
            Err(payload) => {
                // A destructor panicking while the poll's panic is on its way
                // to the awaiter: that first panic is the one it gets.
                let dropped = drop_future(this.future);
                finish(this.books, this.key, Counter::Panicked);
                contain(this.books, dropped);
                resume_unwind(payload)
            }
        }
    }
}
