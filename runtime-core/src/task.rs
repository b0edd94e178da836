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
//! - it hands the future's output to async-task inside an [`Output`], which
//!   drops the value inside a `catch_unwind` if nobody takes it: async-task
//!   drops the output of a detached task (or one whose `Task` was dropped)
//!   inside `Runnable::run`, under the same abort-on-panic guard, and an
//!   output whose destructor panicked there aborted the process. The join
//!   handles unwrap it; a panic of an output nobody received is counted in
//!   `Metrics::drop_panics`, wherever it is dropped (the worker, the blocking
//!   pool's thread, or the thread that detaches or drops a finished `Task`);
//! - the first time its future returns `Pending` it registers the task's
//!   waker in the live-task registry (see `registry.rs`), and when it
//!   finishes either way it takes the entry out again, so the registry holds
//!   exactly the parked tasks whose futures still exist.

use std::{
    any::Any,
    fmt,
    future::Future,
    mem::ManuallyDrop,
    panic::{AssertUnwindSafe, catch_unwind, resume_unwind},
    pin::Pin,
    task::{Context, Poll},
};

use futures_lite::FutureExt;

use crate::{
    books::Books,
    context,
    metrics::Counter,
    panic_policy::drop_payload,
    registry::Key,
    sync::Arc,
    task_id::{TaskId, TaskMetadata},
};

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
    inner: Join<T>,
}

impl<T> Task<T> {
    pub(crate) fn new(inner: async_task::Task<Output<T>, TaskMetadata>) -> Self {
        Self { inner: Join::new(inner) }
    }

    /// The task's id, unique within the process.
    pub fn id(&self) -> TaskId {
        self.inner.id()
    }

    /// Lets the task run to completion in the background; its output is
    /// dropped, and a panic goes to the runtime's [`PanicPolicy`](crate::PanicPolicy).
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
        match self.inner.poll(cx) {
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
        f.debug_struct("Task").field("id", &self.id()).field("finished", &self.is_finished()).finish()
    }
}

/// A [`Task`] that yields `None` when the task was cancelled.
#[must_use = "dropping a FallibleTask cancels it; call .detach() to let it run in the background"]
pub struct FallibleTask<T> {
    inner: Join<T>,
}

impl<T> FallibleTask<T> {
    /// The task's id, unique within the process.
    pub fn id(&self) -> TaskId {
        self.inner.id()
    }

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
        self.inner.poll(cx)
    }
}

impl<T> fmt::Debug for FallibleTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FallibleTask").field("id", &self.id()).field("finished", &self.is_finished()).finish()
    }
}

/// What both join handles hold: async-task's fallible handle (polling it
/// yields `None` for a cancelled task, with no race against the
/// cancellation), and the task's id.
struct Join<T> {
    /// `None` only while `detach` or `cancel` consume it.
    task: Option<async_task::FallibleTask<Output<T>, TaskMetadata>>,
    id: TaskId,
}

impl<T> Unpin for Join<T> {}

impl<T> Join<T> {
    fn new(task: async_task::Task<Output<T>, TaskMetadata>) -> Self {
        let id = task.metadata().id();
        Self { task: Some(task.fallible()), id }
    }

    fn id(&self) -> TaskId {
        self.id
    }

    fn detach(mut self) {
        if let Some(task) = self.task.take() {
            task.detach();
        }
    }

    async fn cancel(mut self) -> Option<T> {
        let task = self.task.take()?;
        match AssertUnwindSafe(task.cancel()).catch_unwind().await {
            Ok(output) => output.map(Output::into_inner),
            Err(payload) => resume_unwind(Unobserved::open(payload)),
        }
    }

    fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(|task| task.is_finished())
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let Some(task) = &mut self.task else {
            return Poll::Ready(None);
        };
        match catch_unwind(AssertUnwindSafe(|| Pin::new(task).poll(cx))) {
            Ok(poll) => poll.map(|output| output.map(Output::into_inner)),
            Err(payload) => resume_unwind(Unobserved::open(payload)),
        }
    }
}

/// A task's output on its way to its join handle (see the module docs): if
/// nobody takes it, its value is dropped inside a `catch_unwind`, and a
/// panic there is counted in `Metrics::drop_panics`. The books are held
/// only for an output that has a destructor (a `()` costs nothing more).
pub(crate) struct Output<T> {
    /// Dropped in [`Output`]'s `Drop`, or moved out by [`Output::into_inner`].
    value: ManuallyDrop<T>,
    books: Option<Arc<Books>>,
}

impl<T> Output<T> {
    fn new(value: T, books: &Arc<Books>) -> Self {
        let books = std::mem::needs_drop::<T>().then(|| books.clone());
        Self { value: ManuallyDrop::new(value), books }
    }

    /// The value, for the join handle that received it.
    fn into_inner(self) -> T {
        let mut this = ManuallyDrop::new(self);
        drop(this.books.take());
        // SAFETY: `this` is never dropped (it is a `ManuallyDrop`), so the
        // value is moved out exactly once and never dropped in place.
        unsafe { ManuallyDrop::take(&mut this.value) }
    }
}

impl<T> Drop for Output<T> {
    fn drop(&mut self) {
        let value = &mut self.value;
        // SAFETY: dropped once, here (`into_inner` never lets this run).
        let dropped = catch_unwind(AssertUnwindSafe(|| unsafe { ManuallyDrop::drop(value) }));
        match &self.books {
            Some(books) => contain(books, dropped),
            // Without a destructor a value cannot panic when dropped.
            None => {
                if let Err(payload) = dropped {
                    drop_payload(payload);
                }
            }
        }
    }
}

/// A task's panic on its way to an awaiter: what the task wrapper resumes
/// with, so that async-task stores it as the task's output. Every join
/// handle opens it and resumes the task's own payload, so an awaiter sees
/// exactly what the task panicked with. If nobody ever opens it (the `Task`
/// was detached or dropped, before or after the panic), async-task drops it
/// with the output, and the drop applies the runtime's
/// [`PanicPolicy`](crate::PanicPolicy): on the worker right after the poll,
/// or on the thread that let go of the `Task`.
struct Unobserved {
    payload: Option<Box<dyn Any + Send>>,
    books: Arc<Books>,
    id: Option<TaskId>,
}

impl Unobserved {
    /// The task's own payload, out of an `Unobserved` (any other payload,
    /// say a panic from the join machinery itself, passes through).
    fn open(payload: Box<dyn Any + Send>) -> Box<dyn Any + Send> {
        match payload.downcast::<Unobserved>() {
            Ok(mut unobserved) => unobserved.payload.take().expect("opened once"),
            Err(other) => other,
        }
    }
}

impl Drop for Unobserved {
    fn drop(&mut self) {
        let Some(payload) = self.payload.take() else {
            return;
        };
        if let Some(id) = self.id {
            self.books.on_unobserved_panic(id, &*payload);
        }
        drop_payload(payload);
    }
}

/// The payload to resume a task's panic with (see [`Unobserved`]).
/// A panic with a known cause gets its hint here (`panic_policy.rs`).
fn to_awaiter(books: &Arc<Books>, payload: Box<dyn Any + Send>) -> Box<dyn Any + Send> {
    let id = crate::task_id::task_id();
    let payload = crate::panic_policy::with_hint(payload);
    Box::new(Unobserved { payload: Some(payload), books: books.clone(), id })
}

pin_project_lite::pin_project! {
    /// The wrapper around every spawned future. See the module docs.
    ///
    /// It costs the future plus two words: every task pays for it, and the
    /// runtime promises at most 120 bytes per parked task.
    pub(crate) struct Tracked<F> {
        // Dropped by the wrapper itself, in place, inside its own
        // `catch_unwind` (async-task drops what it owns under an
        // abort-on-panic guard); `state` says whether it has been. Not an
        // `Option`: a future has no niche, so its tag would cost a word.
        #[pin]
        future: ManuallyDrop<F>,
        books: Arc<Books>,
        state: State,
    }

    impl<F> PinnedDrop for Tracked<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if !this.state.is_done() {
                // Dropped before it finished: cancelled (its `Task` was
                // dropped, or the runtime shut down). Nobody can receive a
                // panic from its destructor: it is counted and contained.
                // SAFETY: not done, so the future has not been dropped.
                let dropped = unsafe { drop_future(this.future) };
                // Counted before the task is: whoever sees it finished sees
                // its destructor's panic counted too.
                contain(this.books, dropped);
                finish(this.books, this.state, Counter::Cancelled);
            }
        }
    }
}

/// Where a [`Tracked`] future stands, in one word.
#[derive(Debug, Clone, Copy)]
struct State(u64);

impl State {
    /// Alive, and never parked: not in the registry.
    const LIVE: State = State(0);
    /// The future has been dropped (finished and counted, or refused at
    /// spawn). Any other value is the registry key of a parked task, alive.
    const DONE: State = State(u64::MAX);

    fn registered(key: Key) -> Self {
        let state = State(key.raw());
        // The registry never hands out these two values; if it did, the task
        // would be taken for never parked, or for finished.
        assert!(state.key().is_some(), "runtime-core bug: a registry key is LIVE or DONE");
        state
    }

    fn key(self) -> Option<Key> {
        if self.is_done() { None } else { Key::from_raw(self.0) }
    }

    fn is_done(self) -> bool {
        self.0 == Self::DONE.0
    }
}

impl<F> Tracked<F> {
    /// A future of a task being spawned.
    pub(crate) fn new(future: F, books: Arc<Books>) -> Self {
        Self { future: ManuallyDrop::new(future), books, state: State::LIVE }
    }

    /// A task refused at spawn (the runtime is shut down): its future is
    /// dropped right here, on the spawning thread, and it counts as nothing,
    /// since it was never spawned.
    pub(crate) fn refused(future: F, books: Arc<Books>) -> Self {
        let mut future = ManuallyDrop::new(future);
        // SAFETY: dropped once, here; `State::DONE` keeps anything from
        // touching it again (it is neither polled nor dropped afterwards).
        unsafe { ManuallyDrop::drop(&mut future) };
        Self { future, books, state: State::DONE }
    }
}

/// The pinned future inside its `ManuallyDrop`.
fn pinned<F>(future: Pin<&mut ManuallyDrop<F>>) -> Pin<&mut F> {
    // SAFETY: `ManuallyDrop<F>` is a transparent wrapper: the `F` is pinned
    // exactly as long as its wrapper is, it is never moved out, and it is
    // dropped in place only by `drop_future`.
    unsafe { future.map_unchecked_mut(|future| &mut **future) }
}

/// Drops the future in place, catching a panic from its destructor.
///
/// # Safety
/// At most once per future, and never touching it afterwards: callers check
/// that the state is not `DONE`, then set it (`finish`).
unsafe fn drop_future<F>(future: Pin<&mut ManuallyDrop<F>>) -> std::thread::Result<()> {
    // SAFETY: pinned data may be dropped in place (it is not moved); the
    // caller guarantees this is the only drop.
    let future = unsafe { future.get_unchecked_mut() };
    // SAFETY: as above.
    catch_unwind(AssertUnwindSafe(move || unsafe { ManuallyDrop::drop(future) }))
}

/// Counts a destructor's panic that nobody can receive, and drops its
/// payload (whose own destructor may panic too: that one is forgotten).
fn contain(books: &Books, result: std::thread::Result<()>) {
    if let Err(payload) = result {
        books.stats.bump(Counter::DropPanics);
        drop_payload(payload);
    }
}

/// Counts how a task finished, takes it out of the registry, and marks its
/// future dropped (the caller just dropped it).
fn finish(books: &Books, state: &mut State, counter: Counter) {
    books.stats.bump(counter);
    if let Some(key) = std::mem::replace(state, State::DONE).key() {
        books.registry.remove(key);
    }
}

/// Puts the task's waker in the registry, on its first `Pending`.
fn register(books: &Books, state: &mut State, cx: &Context<'_>) {
    let shard = context::worker_index(books.id).unwrap_or(0);
    match books.registry.insert(shard, cx.waker().clone()) {
        Ok(key) => *state = State::registered(key),
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
    type Output = Output<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Output<F::Output>> {
        let mut this = self.project();
        // async-task never polls a task again once it returned `Ready` or
        // panicked, and those are the only ways the future goes.
        assert!(!this.state.is_done(), "runtime_core: a task was polled after it finished");
        let future = pinned(this.future.as_mut());
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => {
                if this.state.0 == State::LIVE.0 {
                    register(this.books, this.state, cx);
                }
                Poll::Pending
            }
            Ok(Poll::Ready(output)) => {
                // SAFETY: not done (checked above); `finish` marks it done.
                let dropped = unsafe { drop_future(this.future) };
                match dropped {
                    Ok(()) => {
                        finish(this.books, this.state, Counter::Completed);
                        Poll::Ready(Output::new(output, this.books))
                    }
                    // The destructor panicked: the task panicked, and the
                    // awaiter gets that panic instead of the output (whose
                    // own destructor's panic is contained and counted).
                    Err(payload) => {
                        finish(this.books, this.state, Counter::Panicked);
                        drop(Output::new(output, this.books));
                        resume_unwind(to_awaiter(this.books, payload))
                    }
                }
            }
            Err(payload) => {
                // A destructor panicking while the poll's panic is on its way
                // to the awaiter: that first panic is the one it gets.
                // SAFETY: not done (checked above); `finish` marks it done.
                let dropped = unsafe { drop_future(this.future) };
                contain(this.books, dropped);
                finish(this.books, this.state, Counter::Panicked);
                resume_unwind(to_awaiter(this.books, payload))
            }
        }
    }
}
