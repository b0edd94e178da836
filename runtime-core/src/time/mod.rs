//! Timers of the runtime's own driver (feature `net`): [`sleep`],
//! [`sleep_until`], [`timeout`] and [`interval`].
//!
//! ```
//! use std::time::{Duration, Instant};
//!
//! use queue_flume::FlumeQueue;
//! use runtime_core::{Runtime, time};
//!
//! let rt = Runtime::<FlumeQueue>::builder().worker_threads(2).build()?;
//! rt.block_on(async {
//!     let start = Instant::now();
//!     time::sleep(Duration::from_millis(10)).await;
//!     assert!(start.elapsed() >= Duration::from_millis(10));
//!
//!     // A future that never completes, cut short.
//!     let cut = time::timeout(Duration::from_millis(10), std::future::pending::<()>()).await;
//!     assert!(cut.is_err());
//!
//!     // The first tick comes at once, the next ones every period.
//!     let mut ticks = time::interval(Duration::from_millis(5));
//!     let first = ticks.tick().await;
//!     let second = ticks.tick().await;
//!     assert_eq!(second - first, Duration::from_millis(5));
//! });
//! # Ok::<(), runtime_core::BuildError>(())
//! ```
//!
//! # How timers work
//! Each runtime keeps its pending timers in a hierarchical timing wheel
//! (`wheel.rs`: 6 levels of 64 slots, 1 ms resolution; inserting, cancelling
//! and firing a timer are O(1), and a million pending timers cost 32 MB
//! and nothing per tick), behind one lock, in `Timers` (`timers.rs`, which
//! also says how a new timer ends the wait of the thread that waits for
//! them). A timer never fires before its deadline; it fires on the
//! millisecond after it (deadlines round up to the millisecond), plus the
//! waiting thread's wake-up latency.
//!
//! A [`Sleep`] registers lazily, on its first poll: one created and dropped
//! unpolled, or polled first after its deadline, costs no lock; a
//! [`timeout`] around a future that is ready at once never touches the
//! wheel. A registered `Sleep` takes the lock when it is polled again before
//! its deadline (to keep its waker current), when it is reset, and when it
//! is dropped (its entry is freed: a dropped `Sleep` leaves nothing behind;
//! [`Metrics::timers`](crate::Metrics::timers) counts the entries).
//!
//! # Memory
//! `Sleep` is 32 bytes, `Unpin`, `Send` and `Sync`; a registered one also
//! holds a 32-byte entry in its runtime's wheel (allocated in pages of 1024
//! entries that are reused, never returned). `tests/time_memory.rs` measures
//! the heap growth per pending `Sleep`, the `Sleep` itself included: 64
//! bytes.
//!
//! # Outside a runtime, and after shutdown
//! [`sleep`], [`sleep_until`], [`timeout`] and [`interval`] find their
//! runtime when they are called: called outside a task or a
//! `Runtime::block_on`, they panic with a message that says so and points
//! at the caller.
//!
//! When the runtime shuts down, every pending timer is woken and its entry
//! freed; the runtime's own tasks are then dropped, never polled again. A
//! `Sleep` polled after its runtime shut down does one of two things:
//! - on a worker of that runtime (a poll that was already running when the
//!   shutdown began) it stays pending: the task is about to be dropped, and
//!   resolving would let a loop of sleeps spin inside that one poll and
//!   keep its worker from exiting;
//! - anywhere else (a `Sleep` moved out to a plain thread or another
//!   executor, a `block_on` racing the shutdown) it **panics**, with a
//!   message that says its runtime shut down. It can neither resolve (the
//!   deadline has not passed, and a loop of sleeps would spin) nor stay
//!   pending (nothing would ever wake it: a hang). tokio does the same.
//!
//! [`Sleep::is_elapsed`] and [`Sleep::deadline`] keep working.

mod timers;
mod wheel;
#[cfg(all(test, not(loom)))]
mod wheel_tests;

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use timers::Polled;
pub(crate) use timers::Timers;
use wheel::Key;

/// How far ahead "never" is: a `Duration` too long for an [`Instant`] (such
/// as `Duration::MAX`) sets the deadline this far ahead, as tokio does.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// `now + duration`, or [`FAR_FUTURE`] from now if that overflows.
fn deadline_after(now: Instant, duration: Duration) -> Instant {
    now.checked_add(duration).unwrap_or_else(|| now + FAR_FUTURE)
}

/// The current runtime's timers, or a panic that names `what` and points at
/// the caller.
#[track_caller]
fn current_timers(what: &str) -> Arc<Timers> {
    match crate::Handle::try_current() {
        Some(handle) => handle.books().io.timers().clone(),
        None => panic!(
            "{what} called outside a runtime: timers must be created from a task or from inside \
             Runtime::block_on of a runtime-core runtime"
        ),
    }
}

/// Waits until `duration` has passed.
///
/// Equivalent to `sleep_until(Instant::now() + duration)`; a duration too
/// long for an `Instant` (`Duration::MAX`) waits about 30 years. The timer
/// registers on the first poll; see the [module docs](self).
///
/// # Panics
/// Outside a runtime (a task or `Runtime::block_on`), with a message that
/// points at the caller.
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    let timers = current_timers("runtime_core::time::sleep");
    Sleep::new(timers, deadline_after(Instant::now(), duration))
}

/// Waits until `deadline`; at once if it has passed.
///
/// # Panics
/// Outside a runtime (a task or `Runtime::block_on`), with a message that
/// points at the caller.
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(current_timers("runtime_core::time::sleep_until"), deadline)
}

/// The future of [`sleep`] and [`sleep_until`]: resolves once its deadline
/// has passed.
///
/// # Panics
/// If polled after its runtime shut down, off that runtime's workers; see
/// the [module docs](self).
///
/// `Unpin`: it needs no pinning, and can be reset in place
/// ([`Sleep::reset`]) and polled again.
#[must_use = "a Sleep does nothing unless polled or awaited"]
pub struct Sleep {
    deadline: Instant,
    timers: Arc<Timers>,
    /// The wheel entry, once registered (first poll before the deadline).
    entry: Option<Key>,
    /// Set once a poll returned `Ready` (until a reset).
    elapsed: bool,
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("registered", &self.entry.is_some())
            .field("elapsed", &self.elapsed)
            .finish()
    }
}

impl Sleep {
    fn new(timers: Arc<Timers>, deadline: Instant) -> Self {
        Self { deadline, timers, entry: None, elapsed: false }
    }

    /// When this sleep resolves.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has passed (a poll now returns `Ready`), or a
    /// poll already returned `Ready`. Takes no lock.
    pub fn is_elapsed(&self) -> bool {
        self.elapsed || Instant::now() >= self.deadline
    }

    /// Makes this sleep resolve at `deadline` instead, whether it was
    /// pending or had resolved already. A registered sleep moves its entry
    /// (keeping its waker, so the task waiting on it is woken at the new
    /// deadline without polling it first); an unregistered one just takes
    /// the new deadline.
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        self.elapsed = false;
        if let Some(key) = &self.entry {
            self.timers.reset(key, deadline);
        }
    }

    /// Frees the wheel entry, if any.
    fn deregister(&mut self) {
        if let Some(key) = self.entry.take() {
            self.timers.deregister(key);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.elapsed {
            return Poll::Ready(());
        }
        // Past the deadline: ready, whether the wheel fired it yet or not.
        if Instant::now() >= this.deadline {
            this.deregister();
            this.elapsed = true;
            return Poll::Ready(());
        }
        let polled = if this.entry.is_some() {
            this.timers.poll_registered(&mut this.entry, cx.waker())
        } else {
            match this.timers.register(this.deadline, cx.waker()) {
                Some(key) => {
                    this.entry = Some(key);
                    Polled::Pending
                }
                None => Polled::ShutDown,
            }
        };
        match polled {
            Polled::Pending => Poll::Pending,
            Polled::Fired => {
                this.elapsed = true;
                Poll::Ready(())
            }
            Polled::ShutDown => after_shutdown(&this.timers),
        }
    }
}

/// A sleep polled after its runtime shut down: pending on that runtime's
/// own workers, a panic elsewhere (module docs).
fn after_shutdown(timers: &Arc<Timers>) -> Poll<()> {
    let own_worker = crate::Handle::try_current().is_some_and(|handle| {
        Arc::ptr_eq(handle.books().io.timers(), timers)
            && crate::context::worker_index(handle.books().id).is_some()
    });
    if own_worker {
        return Poll::Pending;
    }
    panic!(
        "runtime_core::time::Sleep polled after its runtime shut down: no timer of that runtime \
         fires any more (a Sleep, Timeout or Interval must not outlive its runtime)"
    )
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.deregister();
    }
}

/// The error of a [`timeout`] whose deadline passed before its future
/// completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(elapsed: Elapsed) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, elapsed)
    }
}

/// Runs `future` for at most `duration`: `Ok` with its output if it
/// completes first, `Err(Elapsed)` if the deadline passes first (the future
/// is then dropped with the `Timeout`).
///
/// The future is polled first on every poll, so one that is ready at once
/// returns `Ok` even with a zero `duration`, and never registers a timer.
///
/// # Panics
/// Outside a runtime (a task or `Runtime::block_on`), with a message that
/// points at the caller.
#[track_caller]
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    let timers = current_timers("runtime_core::time::timeout");
    Timeout { future, delay: Sleep::new(timers, deadline_after(Instant::now(), duration)) }
}

/// Runs `future` until `deadline` at most; see [`timeout`].
///
/// # Panics
/// Outside a runtime (a task or `Runtime::block_on`), with a message that
/// points at the caller.
#[track_caller]
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    let timers = current_timers("runtime_core::time::timeout_at");
    Timeout { future, delay: Sleep::new(timers, deadline) }
}

pin_project_lite::pin_project! {
    /// The future of [`timeout`]: `Result<F::Output, Elapsed>`.
    #[derive(Debug)]
    #[must_use = "a Timeout does nothing unless polled or awaited"]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        delay: Sleep,
    }
}

impl<F> Timeout<F> {
    /// The wrapped future.
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// The wrapped future, mutably.
    pub fn get_mut(&mut self) -> &mut F {
        &mut self.future
    }

    /// The wrapped future, giving up the deadline.
    pub fn into_inner(self) -> F {
        self.future
    }

    /// When the deadline passes.
    pub fn deadline(&self) -> Instant {
        self.delay.deadline()
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        Pin::new(this.delay).poll(cx).map(|()| Err(Elapsed(())))
    }
}

/// What an [`Interval`] does when ticks were missed (the task was busy, or
/// not polled, past one or more tick times).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Ticks as fast as it is polled until it has caught up, then keeps the
    /// original schedule (`start + n * period`). The default, as tokio's.
    #[default]
    Burst,
    /// The next tick is one period after the late one: the schedule shifts.
    Delay,
    /// Skips the missed ticks: the next one is the next time of the original
    /// schedule after now.
    Skip,
}

/// Ticks every `period`, the first tick at once.
///
/// ```
/// # use std::time::Duration;
/// # use queue_flume::FlumeQueue;
/// # use runtime_core::{Runtime, time};
/// # let rt = Runtime::<FlumeQueue>::builder().worker_threads(1).build()?;
/// rt.block_on(async {
///     let mut interval = time::interval(Duration::from_millis(2));
///     for _ in 0..3 {
///         interval.tick().await; // at 0, 2 and 4 ms
///     }
/// });
/// # Ok::<(), runtime_core::BuildError>(())
/// ```
///
/// # Panics
/// If `period` is zero, or outside a runtime (a task or
/// `Runtime::block_on`), with a message that points at the caller.
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    let timers = current_timers("runtime_core::time::interval");
    Interval::new(timers, Instant::now(), period)
}

/// Ticks every `period`, the first tick at `start`; see [`interval`].
///
/// # Panics
/// If `period` is zero, or outside a runtime (a task or
/// `Runtime::block_on`), with a message that points at the caller.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    let timers = current_timers("runtime_core::time::interval_at");
    Interval::new(timers, start, period)
}

/// The stream of ticks of [`interval`]: [`Interval::tick`] waits for the
/// next one.
#[derive(Debug)]
pub struct Interval {
    delay: Sleep,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    #[track_caller]
    fn new(timers: Arc<Timers>, start: Instant, period: Duration) -> Self {
        assert!(
            !period.is_zero(),
            "runtime_core::time::interval called with a zero period: the period must be longer than zero"
        );
        Self { delay: Sleep::new(timers, start), period, missed_tick_behavior: MissedTickBehavior::default() }
    }

    /// Waits for the next tick and returns when it was due (not when it
    /// came: the two differ by the timer's lateness).
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick: `Ready` with the time it was due once it has
    /// come; `Pending` (and `cx`'s waker woken then) before.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.delay).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let due = self.delay.deadline();
        let now = Instant::now();
        let on_schedule = deadline_after(due, self.period);
        let next = if on_schedule > now {
            on_schedule
        } else {
            match self.missed_tick_behavior {
                MissedTickBehavior::Burst => on_schedule,
                MissedTickBehavior::Delay => deadline_after(now, self.period),
                MissedTickBehavior::Skip => {
                    // The first time of the schedule `due + n * period` after now.
                    let period = self.period.as_nanos();
                    let behind = (now - due).as_nanos() % period;
                    let ahead = u64::try_from(period - behind).unwrap_or(u64::MAX);
                    deadline_after(now, Duration::from_nanos(ahead))
                }
            }
        };
        self.delay.reset(next);
        Poll::Ready(due)
    }

    /// Makes the next tick come one period from now.
    pub fn reset(&mut self) {
        self.delay.reset(deadline_after(Instant::now(), self.period));
    }

    /// The period between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// What this interval does about missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets what this interval does about missed ticks (from the next one).
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }
}
