//! Feature `net`: the runtime's own timers (`runtime_core::time`) on every
//! backend: ordering, cancellation (counted by `Metrics::timers`),
//! `timeout`, `interval`, resets, a timer that must end the timer thread's
//! wait early, timers across shutdown, a `Sleep` that outlives its runtime;
//! and, on one backend (the wheel does not depend on it), a million timers.
//! Every test runs under a deadline ([`within`]) that names what it waited
//! for. How late timers fire is measured in `time_lateness.rs`, memory per
//! timer in `time_memory.rs`, misuse panics in `time_panic.rs`.
#![cfg(all(feature = "net", not(miri), not(loom)))]

mod common;

use std::{
    future::Future,
    panic::{AssertUnwindSafe, catch_unwind},
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
    thread,
    time::{Duration, Instant},
};

use common::per_backend;
use runtime_core::{
    Handle, Queue, Runtime,
    testing::{panic_message, wait_until, within},
    time::{self, Elapsed, MissedTickBehavior, Sleep},
};

fn runtime<Q: Queue>(workers: usize) -> Runtime<Q> {
    Runtime::<Q>::builder().worker_threads(workers).build().unwrap()
}

/// Runs `f` inside `rt.block_on`, where timers may be created.
fn inside<Q: Queue, T>(rt: &Runtime<Q>, f: impl FnOnce() -> T) -> T {
    rt.block_on(async { f() })
}

/// Counts its own drop.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Records `(id, when)` into a shared log when woken.
struct Recorder {
    id: usize,
    log: Arc<Mutex<Vec<(usize, Instant)>>>,
}

impl Wake for Recorder {
    fn wake(self: Arc<Self>) {
        self.log.lock().unwrap().push((self.id, Instant::now()));
    }
}

/// Polls `future` once with `waker`.
fn poll_once<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(waker))
}

/// Sleeps of distinct milliseconds, polled with wakers that record: the
/// timer thread wakes them in deadline order, none before its deadline. A
/// sleep already past its deadline at its first poll (a slow machine)
/// resolves there and is left out.
fn wakes_come_in_deadline_order<Q: Queue>() {
    within(30, "64 sleeps 20-146 ms woken in order", || {
        let rt = runtime::<Q>(2);
        let log = Arc::new(Mutex::new(Vec::new()));
        let start = Instant::now() + Duration::from_millis(20);
        // Deadlines 2 ms apart, registered in scrambled order.
        let ids: Vec<usize> = (0..64).map(|i| (i * 37) % 64).collect();
        let mut sleeps: Vec<(usize, Sleep)> = rt.block_on(async {
            ids.iter().map(|&i| (i, time::sleep_until(start + Duration::from_millis(2 * i as u64)))).collect()
        });
        let mut registered = Vec::new();
        for (id, sleep) in &mut sleeps {
            let waker = Waker::from(Arc::new(Recorder { id: *id, log: log.clone() }));
            if poll_once(sleep, &waker).is_pending() {
                registered.push(*id);
            }
        }
        assert_eq!(rt.metrics().timers, registered.len());
        wait_until("every registered sleep woken", || log.lock().unwrap().len() == registered.len());
        let woken = log.lock().unwrap().clone();
        let order: Vec<usize> = woken.iter().map(|&(id, _)| id).collect();
        registered.sort_unstable();
        assert_eq!(order, registered, "woken in deadline order");
        for &(id, at) in &woken {
            let deadline = start + Duration::from_millis(2 * id as u64);
            assert!(at >= deadline, "sleep {id} woken {:?} early", deadline - at);
        }
        // Fired entries stay until their sleep sees them.
        assert_eq!(rt.metrics().timers, registered.len());
        for (id, sleep) in &mut sleeps {
            assert!(poll_once(sleep, Waker::noop()).is_ready(), "sleep {id} is due");
            assert!(sleep.is_elapsed());
        }
        assert_eq!(rt.metrics().timers, 0, "a sleep that resolved holds no entry");
    });
}

/// One worker polls tasks in the order their sleeps woke them (the shared
/// queue is FIFO): tasks sleeping until distinct milliseconds finish in
/// deadline order. A task whose deadline passed before its first poll (a
/// slow machine) resolves in that poll, in spawn order: it is left out of
/// the order, and counted.
fn tasks_finish_in_deadline_order<Q: Queue>() {
    within(30, "32 sleeping tasks finishing in order", || {
        let rt = runtime::<Q>(1);
        let done = Arc::new(Mutex::new(Vec::new()));
        let start = Instant::now() + Duration::from_millis(20);
        let tasks: Vec<_> = (0..32u64)
            .rev()
            .map(|i| {
                let done = done.clone();
                rt.spawn(async move {
                    let deadline = start + Duration::from_millis(3 * i);
                    let mut sleep = time::sleep_until(deadline);
                    let registered =
                        std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut sleep).poll(cx).is_pending()))
                            .await;
                    if registered {
                        sleep.await;
                    }
                    assert!(Instant::now() >= deadline, "task {i} woke early");
                    done.lock().unwrap().push((i, registered));
                })
            })
            .collect();
        rt.block_on(async {
            for task in tasks {
                task.await;
            }
        });
        let done = done.lock().unwrap();
        let woken: Vec<u64> = done.iter().filter(|(_, registered)| *registered).map(|&(i, _)| i).collect();
        let mut sorted = woken.clone();
        sorted.sort_unstable();
        assert_eq!(woken, sorted, "tasks woken by their timers finish in deadline order");
        if woken.len() < done.len() {
            println!("{} of 32 tasks were past their deadline at their first poll", done.len() - woken.len());
        }
        assert_eq!(rt.metrics().timers, 0);
    });
}

/// A dropped sleep leaves nothing behind: registered ones free their entry
/// when dropped, unpolled ones and ones polled after their deadline never
/// take one, and a timeout around a ready future registers nothing.
fn cancelled_sleeps_leave_nothing<Q: Queue>() {
    within(30, "cancelled sleeps", || {
        let rt = runtime::<Q>(2);
        let parked = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let (parked, dropped) = (parked.clone(), DropCount(dropped.clone()));
                rt.spawn(async move {
                    let _dropped = dropped;
                    let sleep = time::sleep(Duration::from_secs(3600 + i));
                    parked.fetch_add(1, Ordering::SeqCst);
                    sleep.await;
                    unreachable!("an hour-long sleep fired");
                })
            })
            .collect();
        wait_until("100 tasks waiting in their sleep", || {
            parked.load(Ordering::SeqCst) == 100 && rt.metrics().timers == 100
        });
        drop(tasks);
        wait_until("every cancelled task's future dropped", || dropped.load(Ordering::SeqCst) == 100);
        assert_eq!(rt.metrics().timers, 0, "{:?}", rt.metrics());
        rt.block_on(async {
            // Created and dropped unpolled; polled only after its deadline.
            drop(time::sleep(Duration::from_secs(1)));
            let mut late = time::sleep(Duration::ZERO);
            assert!(poll_once(&mut late, Waker::noop()).is_ready());
            assert_eq!(time::timeout(Duration::ZERO, async { 7 }).await, Ok(7));
            assert_eq!(Handle::current().metrics().timers, 0);
            // Polled once, then dropped.
            let mut once = time::sleep(Duration::from_secs(60));
            assert!(poll_once(&mut once, Waker::noop()).is_pending());
            assert_eq!(Handle::current().metrics().timers, 1);
            drop(once);
            assert_eq!(Handle::current().metrics().timers, 0);
        });
    });
}

/// `timeout` on a future that never completes returns `Err(Elapsed)` once
/// the deadline passed; on a future that completes first, `Ok`.
fn timeout_cuts_a_pending_future_short<Q: Queue>() {
    within(30, "timeouts", || {
        let rt = runtime::<Q>(2);
        rt.block_on(async {
            let start = Instant::now();
            let cut = time::timeout(Duration::from_millis(20), std::future::pending::<()>()).await;
            assert!(cut.is_err());
            let elapsed = start.elapsed();
            assert!(elapsed >= Duration::from_millis(20), "cut after {elapsed:?}");
            let error = cut.unwrap_err();
            assert_eq!(error.to_string(), "deadline has elapsed");
            let io: std::io::Error = error.into();
            assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);

            // Completes after 5 ms, well within 10 s.
            let ok = time::timeout(Duration::from_secs(10), async {
                time::sleep(Duration::from_millis(5)).await;
                "done"
            })
            .await;
            assert_eq!(ok, Ok("done"));
            let at =
                time::timeout_at(Instant::now() + Duration::from_millis(1), std::future::pending::<u8>());
            assert!(at.deadline() <= Instant::now() + Duration::from_millis(1));
            assert!(at.await.is_err());
        });
        assert_eq!(rt.metrics().timers, 0);
    });
}

/// `interval` ticks at once, then every period, each tick's instant on the
/// schedule and none early; missed ticks burst by default, or are skipped
/// or delayed as asked.
fn interval_ticks_in_order<Q: Queue>() {
    within(30, "interval ticks", || {
        let rt = runtime::<Q>(2);
        rt.block_on(async {
            let period = Duration::from_millis(3);
            let before = Instant::now();
            let mut interval = time::interval(period);
            let first = interval.tick().await;
            assert!(
                first >= before && first.elapsed() < Duration::from_secs(1),
                "the first tick comes at once"
            );
            let mut previous = first;
            for n in 1..10u32 {
                let tick = interval.tick().await;
                assert_eq!(tick, first + period * n, "tick {n} is on the schedule");
                assert!(Instant::now() >= tick, "tick {n} came early");
                assert!(tick > previous);
                previous = tick;
            }
            assert_eq!(interval.period(), period);

            // Burst: after missing ticks, they come at once until caught up.
            let mut burst = time::interval(Duration::from_millis(2));
            let start = burst.tick().await;
            std::thread::sleep(Duration::from_millis(9));
            for n in 1..=4u32 {
                assert_eq!(burst.tick().await, start + Duration::from_millis(2) * n);
            }
            // Skip: the next tick is the next one on the schedule after now.
            let mut skip = time::interval(Duration::from_millis(4));
            skip.set_missed_tick_behavior(MissedTickBehavior::Skip);
            assert_eq!(skip.missed_tick_behavior(), MissedTickBehavior::Skip);
            let start = skip.tick().await;
            std::thread::sleep(Duration::from_millis(10));
            let late = skip.tick().await;
            assert_eq!(late, start + Duration::from_millis(4), "the missed tick itself comes once");
            let next = skip.tick().await;
            assert!(
                next > late && (next - start).as_millis() % 4 == 0,
                "on the schedule: {:?}",
                next - start
            );
            assert!(
                next - start >= Duration::from_millis(12),
                "the ticks missed are skipped: {:?}",
                next - start
            );
            // Delay: the next tick is a period after the late one came.
            let mut delay = time::interval(Duration::from_millis(4));
            delay.set_missed_tick_behavior(MissedTickBehavior::Delay);
            delay.tick().await;
            std::thread::sleep(Duration::from_millis(10));
            let before_late = Instant::now();
            delay.tick().await;
            let next = delay.tick().await;
            assert!(next >= before_late + Duration::from_millis(4), "delayed: {:?}", next - before_late);
            // reset: the next tick a period from now.
            let mut reset = time::interval(Duration::from_millis(50));
            reset.tick().await;
            let from = Instant::now();
            reset.reset();
            let tick = reset.tick().await;
            assert!(tick >= from + Duration::from_millis(50));
        });
    });
}

/// A sleep reset later waits for the new deadline, one reset earlier fires
/// early (waking its task without a poll in between), and one reset after
/// it resolved waits again.
fn reset_moves_a_sleep<Q: Queue>() {
    within(30, "resets", || {
        let rt = runtime::<Q>(2);
        rt.block_on(async {
            let start = Instant::now();
            let mut sleep = time::sleep(Duration::from_secs(10));
            assert!(poll_once(&mut sleep, Waker::noop()).is_pending());
            sleep.reset(start + Duration::from_millis(30));
            assert_eq!(sleep.deadline(), start + Duration::from_millis(30));
            (&mut sleep).await;
            assert!(start.elapsed() >= Duration::from_millis(30), "after {:?}", start.elapsed());
            assert!(sleep.is_elapsed());
            // Again, after it resolved.
            sleep.reset(Instant::now() + Duration::from_millis(5));
            assert!(!sleep.is_elapsed());
            let again = Instant::now();
            (&mut sleep).await;
            assert!(again.elapsed() >= Duration::from_millis(5));
        });
        // Reset earlier, from another thread, while its task waits: the
        // task is woken at the new deadline although nobody polls it.
        let sleep = Arc::new(Mutex::new(inside(&rt, || time::sleep(Duration::from_secs(3600)))));
        let woke = Arc::new(AtomicBool::new(false));
        let task = rt.spawn({
            let (sleep, woke) = (sleep.clone(), woke.clone());
            std::future::poll_fn(move |cx| {
                let polled = Pin::new(&mut *sleep.lock().unwrap()).poll(cx);
                if polled.is_ready() {
                    woke.store(true, Ordering::SeqCst);
                }
                polled
            })
        });
        wait_until("the task waiting in its sleep", || rt.metrics().timers == 1);
        sleep.lock().unwrap().reset(Instant::now() + Duration::from_millis(10));
        rt.block_on(task);
        assert!(woke.load(Ordering::SeqCst));
    });
}

/// The timer thread waits for an hour-long timer; a 10 ms one registered
/// then must end that wait (`unpark`), not wait for the hour.
fn a_sooner_timer_ends_a_long_wait<Q: Queue>() {
    within(30, "a 10 ms sleep while the timer thread waits for an hour", || {
        let rt = runtime::<Q>(2);
        let long = rt.spawn(async { time::sleep(Duration::from_secs(3600)).await });
        wait_until("the hour-long sleep registered", || rt.metrics().timers == 1);
        // Let the timer thread settle into its hour-long wait.
        thread::sleep(Duration::from_millis(20));
        for round in 0..5 {
            let start = Instant::now();
            rt.block_on(async { time::sleep(Duration::from_millis(10)).await });
            let took = start.elapsed();
            assert!(took >= Duration::from_millis(10), "round {round}: {took:?}");
        }
        drop(long);
    });
}

/// Dropping a runtime with sleeps an hour away returns promptly, drops the
/// tasks that wait in them and frees every entry.
fn shutdown_with_pending_timers_is_prompt<Q: Queue>() {
    within(30, "dropping a runtime with hour-long sleeps", || {
        let rt = runtime::<Q>(2);
        let handle = rt.handle();
        let dropped = Arc::new(AtomicUsize::new(0));
        let fired = Arc::new(AtomicBool::new(false));
        for i in 0..50 {
            let (dropped, fired) = (DropCount(dropped.clone()), fired.clone());
            rt.spawn(async move {
                let _dropped = dropped;
                let _ = time::timeout(Duration::from_secs(3600), time::sleep(Duration::from_secs(7200 + i)))
                    .await;
                fired.store(true, Ordering::SeqCst);
            })
            .detach();
        }
        wait_until("50 tasks waiting in their timers", || rt.metrics().timers == 100);
        let start = Instant::now();
        drop(rt);
        let took = start.elapsed();
        assert_eq!(dropped.load(Ordering::SeqCst), 50, "every task's future was dropped");
        assert!(!fired.load(Ordering::SeqCst), "no hour-long timer fired");
        let metrics = handle.metrics();
        assert_eq!(metrics.timers, 0, "{metrics:?}");
        assert_eq!(metrics.cancelled, 50, "{metrics:?}");
        println!("dropped a runtime with 100 hour-long timers in {took:?}");
    });
}

/// A task that shuts its own runtime down from a worker and then sleeps is
/// not woken and does not panic: its sleep stays pending, and the task is
/// dropped with the runtime.
fn a_sleep_polled_on_a_worker_during_shutdown_stays_pending<Q: Queue>() {
    within(30, "a sleep after the runtime shut itself down", || {
        let rt = runtime::<Q>(2);
        let handle = rt.handle();
        let dropped = Arc::new(AtomicUsize::new(0));
        let after = Arc::new(AtomicBool::new(false));
        let reached = Arc::new(AtomicBool::new(false));
        rt.spawn({
            let (dropped, after, reached) = (DropCount(dropped.clone()), after.clone(), reached.clone());
            async move {
                let _dropped = dropped;
                Handle::current().shutdown();
                reached.store(true, Ordering::SeqCst);
                time::sleep(Duration::from_millis(1)).await;
                after.store(true, Ordering::SeqCst);
            }
        })
        .detach();
        wait_until("the task shut its runtime down", || reached.load(Ordering::SeqCst));
        drop(rt);
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
        assert!(!after.load(Ordering::SeqCst), "the sleep never resolved");
        assert_eq!(handle.metrics().panicked, 0, "{:?}", handle.metrics());
    });
}

/// A sleep moved out of its runtime and polled on a plain thread after the
/// runtime is gone panics, saying why (module docs of `time`), rather than
/// hang; one whose deadline has passed still resolves.
fn a_sleep_that_outlives_its_runtime_panics_when_polled<Q: Queue>() {
    within(30, "sleeps outliving their runtime", || {
        let rt = runtime::<Q>(1);
        let (mut registered, mut unpolled, mut short) = rt.block_on(async {
            let mut registered = time::sleep(Duration::from_secs(3600));
            assert!(poll_once(&mut registered, Waker::noop()).is_pending());
            (registered, time::sleep(Duration::from_secs(3600)), time::sleep(Duration::from_millis(1)))
        });
        drop(rt);
        thread::spawn(move || {
            for (what, sleep) in [("registered", &mut registered), ("unpolled", &mut unpolled)] {
                let polled = catch_unwind(AssertUnwindSafe(|| poll_once(sleep, Waker::noop())));
                let payload = polled.expect_err(what);
                let message = panic_message(&*payload);
                assert!(message.contains("polled after its runtime shut down"), "{what}: {message}");
                assert!(!sleep.is_elapsed());
            }
            thread::sleep(Duration::from_millis(2));
            assert!(poll_once(&mut short, Waker::noop()).is_ready(), "its deadline passed");
            drop((registered, unpolled));
        })
        .join()
        .unwrap();
    });
}

/// A waker that panics when woken does not end the timer thread: the
/// timers after it still fire.
fn a_panicking_waker_does_not_stop_the_timers<Q: Queue>() {
    struct Panics;
    impl Wake for Panics {
        fn wake(self: Arc<Self>) {
            panic!("a waker that panics (on purpose)");
        }
    }
    within(30, "timers after a panicking waker", || {
        let rt = runtime::<Q>(1);
        let mut bad = inside(&rt, || time::sleep(Duration::from_secs(3600)));
        assert!(poll_once(&mut bad, &Waker::from(Arc::new(Panics))).is_pending());
        // Due in 2 ms, with the panicking waker still registered.
        bad.reset(Instant::now() + Duration::from_millis(2));
        thread::sleep(Duration::from_millis(10));
        rt.block_on(async { time::sleep(Duration::from_millis(5)).await });
        drop(bad);
        assert_eq!(rt.metrics().timers, 0);
    });
}

per_backend!(
    wakes_come_in_deadline_order,
    tasks_finish_in_deadline_order,
    cancelled_sleeps_leave_nothing,
    timeout_cuts_a_pending_future_short,
    interval_ticks_in_order,
    reset_moves_a_sleep,
    a_sooner_timer_ends_a_long_wait,
    shutdown_with_pending_timers_is_prompt,
    a_sleep_polled_on_a_worker_during_shutdown_stays_pending,
    a_sleep_that_outlives_its_runtime_panics_when_polled,
    a_panicking_waker_does_not_stop_the_timers,
);

/// A million sleeps registered through the public API (each polled once),
/// 99% dropped, the rest reset to within 50 ms and awaited: within a bounded
/// time, and the runtime holds no entry afterwards. One backend: the wheel
/// does not depend on it.
#[test]
fn a_million_sleeps() {
    const SLEEPS: usize = 1_000_000;
    within(120, "a million sleeps registered, cancelled and fired", || {
        let rt = runtime::<queue_crossbeam::CrossbeamQueue>(2);
        let start = Instant::now();
        let (registered, cancelled) = rt.block_on(async {
            let now = Instant::now();
            // From a minute to an hour away: levels 2 and 3 of the wheel.
            let mut sleeps: Vec<Sleep> = (0..SLEEPS as u64)
                .map(|i| time::sleep_until(now + Duration::from_millis(60_000 + (i * 7919) % 3_540_000)))
                .collect();
            for sleep in &mut sleeps {
                assert!(poll_once(sleep, Waker::noop()).is_pending());
            }
            let registered = start.elapsed();
            assert_eq!(Handle::current().metrics().timers, SLEEPS);
            let mut due = Vec::with_capacity(SLEEPS / 100);
            for (i, sleep) in sleeps.into_iter().enumerate() {
                if i % 100 == 0 {
                    due.push(sleep);
                }
            }
            let cancelled = start.elapsed();
            assert_eq!(Handle::current().metrics().timers, due.len());
            let now = Instant::now();
            for (i, sleep) in due.iter_mut().enumerate() {
                sleep.reset(now + Duration::from_millis(1 + (i % 50) as u64));
            }
            for sleep in due {
                sleep.await;
            }
            (registered, cancelled)
        });
        assert_eq!(rt.metrics().timers, 0);
        println!(
            "{SLEEPS} sleeps: registered in {registered:?}, 99% dropped by {cancelled:?}, the rest reset and fired by {:?}",
            start.elapsed()
        );
    });
}

/// `Elapsed` is a plain error value.
#[test]
fn elapsed_is_an_error() {
    fn is_error<E: std::error::Error + Send + Sync + 'static>() {}
    is_error::<Elapsed>();
    fn is_send_sync_unpin<T: Send + Sync + Unpin>() {}
    is_send_sync_unpin::<Sleep>();
    is_send_sync_unpin::<time::Interval>();
    is_send_sync_unpin::<time::Timeout<std::future::Ready<()>>>();
    assert_eq!(std::mem::size_of::<Sleep>(), 32);
}
