//! The blocking pool: the threads that run [`spawn_blocking`](crate::spawn_blocking)
//! closures, so that blocking code never sits inside a worker's poll.
//!
//! # A closure is a task
//! [`spawn`] makes each closure an ordinary async-task task, with the same
//! wrapper ([`Tracked`](crate::task::Tracked): counters, panics, destructors), id and join handle
//! as any spawned future. Its future calls the closure on its first poll and
//! never returns `Pending`, so the task is scheduled exactly once (by the
//! spawn), is never woken, and never enters the live-task registry. Its
//! schedule function pushes the `Runnable` onto this pool's queue instead of
//! the workers' queues ([`Pool::push`]). The pool is the runtime's own (one
//! per runtime, sized by `Builder::max_blocking_threads`):
//! the `blocking` crate's pool is one global pool configured by an
//! environment variable, which cannot give per-runtime limits. The pool
//! lives with the runtime's [`Handle`] (as tokio's blocking spawner does),
//! since its threads start with a handle and hold one.
//!
//! # Who pushes, who is told, how threads wait and exit
//! One mutex guards the queue and the counts; idle threads wait on one
//! condvar.
//! - **Push** (the spawning thread, in the schedule function). Under the
//!   lock: push the runnable. Then, if some idle thread is not already
//!   claimed by an earlier push (`idle > claimed`), claim it
//!   (`claimed += 1`) and `notify_one` after unlocking; else, if fewer than
//!   `max` threads are alive, count a new one in (`threads += 1`) and start
//!   it after unlocking; else do nothing more: every thread is busy, and the
//!   first to finish its closure pops the next one.
//! - **Run.** A thread pops under the lock, unlocks, and runs the task with
//!   the runtime current (so that `spawn`, `spawn_blocking` and
//!   `Handle::current` work inside the closure); then it locks and pops
//!   again.
//! - **Wait.** A thread that finds the queue empty counts itself idle and
//!   waits on the condvar until `keep_alive` after it started waiting. When
//!   it wakes it stops counting itself idle and consumes a claim if there is
//!   one (`claimed -= 1`), then looks at the queue again. Claims are counted,
//!   not addressed to a thread: a `notify_one` that lands just as its target
//!   times out is not lost, since whichever idle thread next holds the lock
//!   consumes the claim and looks at the queue. A thread that wakes with no
//!   claim to consume after its deadline counts itself out and exits.
//! - **A thread the OS refuses to start** is counted out again; if no thread
//!   is then alive to take the queue, the queued closures are dropped (their
//!   `Task`s report cancellation) rather than stranded.
//!
//! Nothing runs under the lock: runnables are run and dropped, threads
//! started, and condvars notified after it is released.
//!
//! # Shutdown: close, then drain
//! Every close of the runtime closes the pool ([`Pool::close`], through
//! `Handle::close`): shutdown's, `PanicPolicy::ShutdownRuntime`'s and a
//! dying worker's, right after the workers' side (so from then on spawns
//! are refused and get cancelled tasks).
//! Under the lock it sets `closed` and takes the queue; after unlocking it
//! wakes every idle thread (each finds the queue empty and `closed` set, and
//! exits) and drops the runnables it took, with the runtime current: those
//! closures never run, their `Task`s report cancellation, and a destructor
//! may still `spawn` (it gets a cancelled task). A push that finds the pool
//! closed drops its runnable the same way, outside the lock. A closure
//! already running is detached: its thread finishes it, the output is
//! dropped unless someone still awaits the `Task`, and the thread exits.
//!
//! How long shutdown waits for closures still running:
//! - `shutdown_timeout(d)` waits for them ([`Pool::wait`]) within the same
//!   deadline as for the workers, and gives up when it passes.
//! - Dropping the runtime and `Handle::shutdown` do not wait for them. This
//!   departs from tokio on purpose: tokio's `Runtime` drop waits for every
//!   `spawn_blocking` closure without limit, so one blocked on stdin or a
//!   socket hangs the dropping thread for good. Here such a closure costs a
//!   thread, never a hang; `shutdown_timeout` waits for closures that will
//!   finish.
//!
//! # What is promised, as tested (`tests/blocking.rs` unless said)
//! - Never more than `max_blocking_threads` closures run at once; the rest
//!   wait in the queue (`Metrics::blocking_queued`), and threads exit after
//!   `blocking_keep_alive` idle.
//! - A closure's panic resumes in its awaiter and is counted in
//!   `Metrics::panicked`; the output of a detached closure that panics when
//!   dropped is contained and counted in `Metrics::drop_panics`
//!   (`tests/panics.rs`). Neither kills a pool thread or the process.
//! - Dropping a queued closure's `Task` cancels the closure.
//! - After any close (shutdown, `PanicPolicy::ShutdownRuntime`
//!   (`tests/panic_policy.rs`), a dying worker (`tests/panics.rs`)), a
//!   closure that had not started never runs and its `Task` yields `None`;
//!   a spawn is cancelled at once; a running closure finishes on its thread.
//! - `shutdown_timeout` waits for running closures within its deadline and
//!   gives up on one that blocks; dropping the runtime does not wait.
//!
//! A pool thread holds a `Handle` while it lives, so the runtime's shared
//! state outlives its `Runtime` until the last detached closure returns.
//! The `on_thread_*` hooks are the workers' and do not run on pool threads.
//!
//! # Outside the loom models
//! The pool uses `parking_lot` and `std::thread` directly, not the
//! `sync` facade: its threads are real OS threads started on demand and
//! waiting with timeouts, which loom cannot model, and no loom model spawns
//! a blocking closure (under loom the pool is built, closed and drained
//! empty).

use std::{
    cell::Cell,
    collections::VecDeque,
    future::Future,
    panic::{AssertUnwindSafe, catch_unwind},
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use parking_lot::{Condvar, Mutex};

use crate::{
    handle::{Handle, enter_current, spawn_tracked},
    metrics::Metrics,
    queue::Runnable,
    task::Task,
    task_id::enter_task,
};

std::thread_local! {
    /// The id of the runtime whose pool this thread belongs to (0: none;
    /// runtime ids start at 1). Declared here rather than in `context.rs`:
    /// only [`Pool::wait`] reads it, so that a closure that shuts its own
    /// runtime down does not wait for itself.
    static POOL_OF: Cell<usize> = const { Cell::new(0) };
}

/// The blocking pool of one runtime: see the module docs.
pub(crate) struct Pool {
    state: Mutex<State>,
    /// Where idle threads wait for a closure.
    work: Condvar,
    /// Where [`Pool::wait`] waits for the threads to exit.
    exited: Condvar,
    /// The id of the runtime whose pool this is.
    runtime_id: usize,
    max_threads: usize,
    keep_alive: Duration,
    /// Thread `n` is named `"{thread_name}-blocking-{n}"`.
    thread_name: String,
}

/// What the pool's lock guards.
#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Runnable>,
    /// Threads alive: started (or being started) and not yet exited.
    threads: usize,
    /// Threads waiting on `work`.
    idle: usize,
    /// Notifications sent to idle threads and not yet consumed.
    claimed: usize,
    closed: bool,
    /// The number of the next thread to start, for its name.
    started: usize,
}

impl Pool {
    pub(crate) fn new(
        runtime_id: usize,
        max_threads: usize,
        keep_alive: Duration,
        thread_name: &str,
    ) -> Self {
        // The builder refuses 0 with an error; a pool without threads would
        // strand every closure.
        assert!(max_threads >= 1, "runtime-core bug: a blocking pool of 0 threads (the builder checks)");
        Self {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            exited: Condvar::new(),
            runtime_id,
            max_threads,
            keep_alive,
            thread_name: thread_name.to_owned(),
        }
    }

    /// The schedule function of a blocking task: queue `runnable`, then wake
    /// an idle thread or start one. `handle` is the runtime's, for a thread
    /// that starts.
    fn push(&self, runnable: Runnable, handle: &Handle) {
        enum Then {
            Nothing,
            Notify,
            Start(usize),
            Refuse(Runnable),
        }
        let then = {
            let mut state = self.state.lock();
            if state.closed {
                Then::Refuse(runnable)
            } else {
                state.queue.push_back(runnable);
                if state.idle > state.claimed {
                    state.claimed += 1;
                    Then::Notify
                } else if state.threads < self.max_threads {
                    state.threads += 1;
                    state.started += 1;
                    Then::Start(state.started - 1)
                } else {
                    Then::Nothing
                }
            }
        };
        match then {
            Then::Nothing => {}
            Then::Notify => {
                self.work.notify_one();
            }
            Then::Start(n) => self.start(n, handle),
            Then::Refuse(runnable) => cancel(handle, Some(runnable)),
        }
    }

    /// Starts thread number `n`, already counted in `threads`.
    fn start(&self, n: usize, handle: &Handle) {
        let thread_handle = handle.clone();
        let started = std::thread::Builder::new()
            .name(format!("{}-blocking-{n}", self.thread_name))
            .spawn(move || run_thread(thread_handle));
        if started.is_err() {
            let stranded = {
                let mut state = self.state.lock();
                state.threads -= 1;
                if state.threads == 0 { std::mem::take(&mut state.queue) } else { VecDeque::new() }
            };
            self.exited.notify_all();
            cancel(handle, stranded);
        }
    }

    /// A pool thread's life: run closures, wait for more, exit after
    /// `keep_alive` idle or once the pool is closed.
    fn work(&self) {
        let mut state = self.state.lock();
        'work: loop {
            if let Some(runnable) = state.queue.pop_front() {
                drop(state);
                run(runnable);
                state = self.state.lock();
                continue;
            }
            if state.closed {
                break;
            }
            // `None` (a keep-alive beyond what `Instant` holds): wait forever.
            let deadline = Instant::now().checked_add(self.keep_alive);
            loop {
                state.idle += 1;
                let timed_out = match deadline {
                    Some(deadline) => self.work.wait_until(&mut state, deadline).timed_out(),
                    None => {
                        self.work.wait(&mut state);
                        false
                    }
                };
                state.idle -= 1;
                if state.claimed > 0 {
                    state.claimed -= 1;
                    continue 'work;
                }
                if state.closed || !state.queue.is_empty() {
                    continue 'work;
                }
                if timed_out || deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                    break 'work;
                }
                // A spurious wake-up: wait out the rest of the keep-alive.
            }
        }
        state.threads -= 1;
        drop(state);
        self.exited.notify_all();
    }

    /// Closes the pool and drops the closures not yet started, with `handle`
    /// current (module docs, "Shutdown"). Idempotent.
    pub(crate) fn close(&self, handle: &Handle) {
        let queued = {
            let mut state = self.state.lock();
            state.closed = true;
            std::mem::take(&mut state.queue)
        };
        self.work.notify_all();
        cancel(handle, queued);
    }

    /// Waits until `deadline` (`None`: no limit) for the pool's threads to
    /// exit, after [`Pool::close`]; the calling thread, if it is one of
    /// them, does not wait for itself. Returns whether they all exited.
    pub(crate) fn wait(&self, deadline: Option<Instant>) -> bool {
        let me = usize::from(POOL_OF.with(Cell::get) == self.runtime_id);
        let mut state = self.state.lock();
        while state.threads > me {
            match deadline {
                None => self.exited.wait(&mut state),
                Some(deadline) => {
                    if self.exited.wait_until(&mut state, deadline).timed_out() {
                        return state.threads <= me;
                    }
                }
            }
        }
        true
    }

    /// Fills in the pool's part of a metrics snapshot.
    pub(crate) fn fill(&self, metrics: &mut Metrics) {
        let state = self.state.lock();
        metrics.blocking_threads = state.threads;
        metrics.blocking_queued = state.queue.len();
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("state", &*self.state.lock())
            .field("max_threads", &self.max_threads)
            .field("keep_alive", &self.keep_alive)
            .finish_non_exhaustive()
    }
}

/// Drops runnables that will never run, so that their tasks report
/// cancellation: with no lock held, and with the runtime current, so that a
/// destructor may still `spawn` (and get a cancelled task).
fn cancel(handle: &Handle, runnables: impl IntoIterator<Item = Runnable>) {
    let mut runnables = runnables.into_iter().peekable();
    if runnables.peek().is_some() {
        let _current = enter_current(handle.clone());
        runnables.for_each(drop);
    }
}

/// The body of a pool thread. Its `handle` (and the clone made current)
/// drop after the thread has counted itself out, with no lock held: they
/// may be the last references to the runtime's shared state.
fn run_thread(handle: Handle) {
    let _current = enter_current(handle.clone());
    POOL_OF.with(|p| p.set(handle.books().id));
    handle.blocking().work();
}

/// Runs one blocking task. The task wrapper counts a panic of the closure
/// and async-task hands it to the awaiter, and it contains a panic of the
/// output's destructor when nobody takes the output (`task.rs`, `Output`);
/// this catch is a second line, so that nothing the task wrapper misses can
/// kill a pool thread with its count still held.
fn run(runnable: Runnable) {
    let _task = enter_task(runnable.metadata().id());
    let _ = catch_unwind(AssertUnwindSafe(|| runnable.run()));
}

/// The future of a blocking task: calls the closure on its first poll.
struct Call<F>(Option<F>);

impl<F> Unpin for Call<F> {}

impl<F: FnOnce() -> T, T> Future for Call<F> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<T> {
        let f = self.0.take().expect("a blocking task is polled once");
        Poll::Ready(f())
    }
}

/// Spawns `f` as a blocking task of `handle`'s runtime (module docs); the
/// caller boxed it if it is large, as a spawn boxes a large future.
#[track_caller]
pub(crate) fn spawn<F, T>(handle: &Handle, f: F) -> Task<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // Refused once the runtime is closed; a spawn that passes this check
    // while shutdown starts finds the pool closed in `push` (or is in the
    // queue that `close` takes), and is cancelled there.
    let refused = handle.is_shutdown();
    let schedule_handle = handle.clone();
    let schedule = move |runnable| schedule_handle.blocking().push(runnable, &schedule_handle);
    let call = Call(Some(f));
    // Feature `tracing`: the task's span (`trace.rs`).
    #[cfg(feature = "tracing")]
    let call = crate::trace::Traced::new(call, std::panic::Location::caller());
    spawn_tracked(handle.books().clone(), refused, call, schedule)
}
