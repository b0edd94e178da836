//! Scheduling latency (`wake_remote`, `wake_local`): how long a woken task
//! waits before it is polled, while every worker has other work. Written
//! once against [`Runner`], so every contender runs the same code.
//!
//! One sample, for a fixed time:
//! - `busy_per_worker × workers` busy tasks each compute for `wake_busy_us`
//!   (a spin on the clock), then yield with the executor's own `yield_now`,
//!   again and again: the workers always have a queue of other work.
//! - `wake_waiters` waiter tasks each wait on a [`Doorbell`] of their own, in
//!   a loop.
//! - Doorbells are rung at a steady rate, one every `wake_period_us`, round
//!   robin; a ringer that falls behind skips the ticks it missed rather than
//!   ringing in a burst. `wake_remote`: the calling thread rings them, from
//!   outside the runtime (it sleeps to each tick, its timer slack set to
//!   1 ns). `wake_local`: the busy tasks ring them: after each compute
//!   chunk, a busy task that finds a tick due claims it and rings.
//!
//! Measured from outside the runtime, the same way for every contender:
//! each waiter runs inside a [`Probe`], a future that hands its inner future
//! a waker of its own. That waker stamps the clock when `wake` is called
//! (the first wake since the last poll), then wakes the runtime's waker; the
//! probe's `poll` reads the clock as its first instruction and records the
//! difference. The latency covers the runtime's schedule function, its
//! queues and the wait for a worker, nothing of the doorbell.
//!
//! Concurrency contract: the stamp is one `AtomicU64` (0: none), set with
//! `compare_exchange(0, now, Release)` by whoever wakes first, taken with
//! `swap(0, Acquire)` at the top of `poll`; the runtime's own hand-over of
//! the task (its queue push and pop) orders the two as well. The runtime's
//! waker sits in a `Mutex<Option<Waker>>` that `poll` updates; `wake`
//! clones it out and wakes it after the lock is released. A doorbell's
//! `Mutex` guards `rung` and the waiter's waker: the ringer sets `rung`,
//! takes the waker and wakes it after unlocking; the waiter checks `rung`
//! and leaves its waker under the same lock, so no ring is lost.

use std::{
    future::{Future, poll_fn},
    hint,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
    thread,
    time::{Duration, Instant},
};

use crate::{
    runner::{Runner, Spawner},
    stats::percentile,
    workload::{Sizes, Workload},
};

/// One sample of a `wake_*` workload.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WakeSample {
    /// Median wake-to-poll latency, in nanoseconds.
    pub p50_ns: f64,
    /// 99th percentile.
    pub p99_ns: f64,
    /// 99.9th percentile.
    pub p999_ns: f64,
    /// Doorbells rung.
    pub rung: u64,
    /// Wake-to-poll latencies recorded (fewer than `rung` when a waiter was
    /// rung again before it was polled).
    pub measured: u64,
}

/// Runs one sample of `workload` (`wake_remote` or `wake_local`) for
/// `duration` on `rt`, which has `workers` worker threads.
///
/// # Panics
/// If `workload` is not a `wake_*` workload.
pub fn sample<R: Runner>(
    rt: &R,
    workers: usize,
    workload: Workload,
    sizes: &Sizes,
    duration: Duration,
) -> anyhow::Result<WakeSample> {
    let remote = match workload {
        Workload::WakeRemote => true,
        Workload::WakeLocal => false,
        other => panic!("{} is not a wake workload", other.name()),
    };
    let spawner = rt.spawner();
    let epoch = Instant::now();
    let bells: Arc<[Doorbell]> = (0..sizes.wake_waiters.max(1)).map(|_| Doorbell::default()).collect();
    let ticks =
        Arc::new(Ticks::new(epoch, Duration::from_micros(sizes.wake_period_us.max(1)), bells.clone()));
    let stop = Arc::new(AtomicBool::new(false));
    let recording = Arc::new(AtomicBool::new(false));

    // The waiters first, each parked on its doorbell before anything rings.
    let waiting = Arc::new(AtomicUsize::new(0));
    let waiters: Vec<_> = (0..bells.len())
        .map(|i| {
            let (bells, stop, waiting) = (bells.clone(), stop.clone(), waiting.clone());
            spawner.spawn(Probe::new(epoch, recording.clone(), async move {
                waiting.fetch_add(1, Ordering::SeqCst);
                loop {
                    bells[i].wait().await;
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                }
            }))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while waiting.load(Ordering::SeqCst) < bells.len() {
        anyhow::ensure!(Instant::now() < deadline, "the waiter tasks did not all start within 10 s");
        thread::sleep(Duration::from_micros(100));
    }

    let busy_for = Duration::from_micros(sizes.wake_busy_us);
    let busy: Vec<_> = (0..sizes.busy_per_worker.max(1) * workers)
        .map(|_| {
            let (stop, ticks) = (stop.clone(), ticks.clone());
            spawner.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    spin(busy_for);
                    if !remote {
                        ticks.ring_if_due();
                    }
                    R::Spawner::yield_now().await;
                }
            })
        })
        .collect();
    // Let the busy tasks fill the workers before the clock starts.
    thread::sleep(busy_for * 10);

    recording.store(true, Ordering::SeqCst);
    ticks.arm();
    if remote {
        set_timer_slack_1ns();
        let end = Instant::now() + duration;
        while let Some(next) = ticks.next_due().filter(|next| *next < end) {
            if let Some(wait) = next.checked_duration_since(Instant::now()) {
                thread::sleep(wait);
            }
            ticks.ring_if_due();
        }
    } else {
        thread::sleep(duration);
    }
    ticks.disarm();
    recording.store(false, Ordering::SeqCst);

    // Wind down: the busy tasks stop, every waiter is rung once more to see `stop`.
    stop.store(true, Ordering::SeqCst);
    for bell in bells.iter() {
        bell.ring();
    }
    let mut latencies = rt.block_on(async move {
        for task in busy {
            task.await;
        }
        let mut all = Vec::new();
        for task in waiters {
            all.extend(task.await.1);
        }
        all
    });
    latencies.sort_unstable();
    let rung = ticks.rung.load(Ordering::SeqCst);
    anyhow::ensure!(!latencies.is_empty(), "no wake was measured ({rung} doorbells rung)");
    Ok(WakeSample {
        p50_ns: percentile(&latencies, 0.50) as f64,
        p99_ns: percentile(&latencies, 0.99) as f64,
        p999_ns: percentile(&latencies, 0.999) as f64,
        rung,
        measured: latencies.len() as u64,
    })
}

/// Computes (spins on the clock) for `duration`.
fn spin(duration: Duration) {
    let start = Instant::now();
    while start.elapsed() < duration {
        hint::spin_loop();
    }
}

/// The ringing schedule: tick `n` is due at `armed + n × period` and rings
/// doorbell `n mod len`. Whoever finds a tick due claims it with a
/// `compare_exchange` on `next`, so each tick rings once whoever rings it.
struct Ticks {
    epoch: Instant,
    period: Duration,
    bells: Arc<[Doorbell]>,
    /// When the schedule was armed, in nanoseconds since `epoch`; 0: not armed.
    armed_at: AtomicU64,
    /// The next tick to ring.
    next: AtomicU64,
    /// Doorbells rung while armed.
    rung: AtomicU64,
}

impl Ticks {
    fn new(epoch: Instant, period: Duration, bells: Arc<[Doorbell]>) -> Self {
        Self {
            epoch,
            period,
            bells,
            armed_at: AtomicU64::new(0),
            next: AtomicU64::new(1),
            rung: AtomicU64::new(0),
        }
    }

    fn arm(&self) {
        let now = (self.epoch.elapsed().as_nanos() as u64).max(1);
        self.armed_at.store(now, Ordering::SeqCst);
    }

    fn disarm(&self) {
        self.armed_at.store(0, Ordering::SeqCst);
    }

    /// When the next tick is due, if armed.
    fn next_due(&self) -> Option<Instant> {
        let armed = self.armed_at.load(Ordering::SeqCst);
        (armed != 0).then(|| {
            let next = self.next.load(Ordering::SeqCst);
            self.epoch + Duration::from_nanos(armed + next * self.period.as_nanos() as u64)
        })
    }

    /// Rings the next doorbell if its tick is due (skipping ticks already
    /// missed), unless someone else claims that tick first.
    fn ring_if_due(&self) {
        let armed = self.armed_at.load(Ordering::SeqCst);
        if armed == 0 {
            return;
        }
        let since = (self.epoch.elapsed().as_nanos() as u64).saturating_sub(armed);
        let due = since / self.period.as_nanos() as u64;
        let next = self.next.load(Ordering::SeqCst);
        if next > due {
            return;
        }
        if self.next.compare_exchange(next, due + 1, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            self.rung.fetch_add(1, Ordering::SeqCst);
            self.bells[(due % self.bells.len() as u64) as usize].ring();
        }
    }
}

/// A one-task wake-up: `ring` from anywhere, `wait` from the task.
#[derive(Default)]
struct Doorbell(Mutex<Bell>);

#[derive(Default)]
struct Bell {
    rung: bool,
    waker: Option<Waker>,
}

impl Doorbell {
    fn ring(&self) {
        let waker = {
            let mut bell = self.0.lock().unwrap_or_else(|e| e.into_inner());
            bell.rung = true;
            bell.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn wait(&self) -> impl Future<Output = ()> + '_ {
        poll_fn(|cx| {
            let mut bell = self.0.lock().unwrap_or_else(|e| e.into_inner());
            if std::mem::take(&mut bell.rung) {
                return Poll::Ready(());
            }
            if !bell.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                bell.waker = Some(cx.waker().clone());
            }
            Poll::Pending
        })
    }
}

/// The stamping waker of a [`Probe`]; see the module docs.
struct Stamp {
    epoch: Instant,
    /// When `wake` was first called since the last poll, in nanoseconds
    /// since `epoch` (at least 1); 0: not woken.
    woken_at: AtomicU64,
    /// The runtime's waker, as of the last poll.
    runtime: Mutex<Option<Waker>>,
}

impl Wake for Stamp {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let now = (self.epoch.elapsed().as_nanos() as u64).max(1);
        // Pairs with the `swap(0, Acquire)` in `Probe::poll`; a second wake
        // before that poll keeps the first stamp.
        let _ = self.woken_at.compare_exchange(0, now, Ordering::Release, Ordering::Relaxed);
        let runtime = self.runtime.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(waker) = runtime {
            waker.wake();
        }
    }
}

/// A future that records its own wake-to-poll latencies; see the module docs.
struct Probe<F> {
    future: Pin<Box<F>>,
    stamp: Arc<Stamp>,
    waker: Waker,
    recording: Arc<AtomicBool>,
    latencies: Vec<u64>,
}

impl<F: Future> Probe<F> {
    fn new(epoch: Instant, recording: Arc<AtomicBool>, future: F) -> Self {
        let stamp = Arc::new(Stamp { epoch, woken_at: AtomicU64::new(0), runtime: Mutex::new(None) });
        Self {
            future: Box::pin(future),
            waker: Waker::from(stamp.clone()),
            stamp,
            recording,
            latencies: Vec::with_capacity(1 << 12),
        }
    }
}

impl<F: Future> Future for Probe<F> {
    /// The inner future's output and the latencies, in nanoseconds.
    type Output = (F::Output, Vec<u64>);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let now = self.stamp.epoch.elapsed().as_nanos() as u64;
        let this = self.get_mut();
        let woken_at = this.stamp.woken_at.swap(0, Ordering::Acquire);
        if woken_at != 0 && this.recording.load(Ordering::Relaxed) {
            this.latencies.push(now.saturating_sub(woken_at));
        }
        {
            let mut runtime = this.stamp.runtime.lock().unwrap_or_else(|e| e.into_inner());
            if !runtime.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *runtime = Some(cx.waker().clone());
            }
        }
        match this.future.as_mut().poll(&mut Context::from_waker(&this.waker)) {
            Poll::Ready(output) => Poll::Ready((output, std::mem::take(&mut this.latencies))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Asks the kernel to wake this thread from `sleep` within 1 ns of the
/// deadline instead of the default 50 µs, so that the ticks are steady.
/// Best effort: where it is refused, the ticks are less steady, which the
/// sample's `rung` count shows.
fn set_timer_slack_1ns() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument (the slack in
    // nanoseconds) and touches nothing but the calling thread's slack.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stamp set by `wake` is read, once, by the next poll; a poll with no
    /// wake before it records nothing.
    #[test]
    fn a_probe_records_one_latency_per_wake() {
        let recording = Arc::new(AtomicBool::new(true));
        let bell = Arc::new(Doorbell::default());
        let waiter = bell.clone();
        let mut probe = Box::pin(Probe::new(Instant::now(), recording, async move {
            waiter.wait().await;
            waiter.wait().await;
        }));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(probe.as_mut().poll(&mut cx).is_pending());
        // Polled again without a wake: nothing recorded.
        assert!(probe.as_mut().poll(&mut cx).is_pending());
        bell.ring();
        thread::sleep(Duration::from_millis(2));
        assert!(probe.as_mut().poll(&mut cx).is_pending());
        bell.ring();
        bell.ring();
        let Poll::Ready(((), latencies)) = probe.as_mut().poll(&mut cx) else { panic!("not done") };
        assert_eq!(latencies.len(), 2, "{latencies:?}");
        assert!(latencies[0] >= 2_000_000, "{latencies:?}");
    }

    #[test]
    fn ticks_skip_what_they_missed() {
        let bells: Arc<[Doorbell]> = (0..2).map(|_| Doorbell::default()).collect();
        let ticks = Ticks::new(Instant::now(), Duration::from_millis(1), bells);
        ticks.ring_if_due();
        assert_eq!(ticks.rung.load(Ordering::SeqCst), 0, "not armed");
        ticks.arm();
        thread::sleep(Duration::from_millis(5));
        ticks.ring_if_due();
        ticks.ring_if_due();
        assert_eq!(ticks.rung.load(Ordering::SeqCst), 1, "one ring for the five missed ticks");
        assert!(ticks.next_due().unwrap() > Instant::now());
    }
}
