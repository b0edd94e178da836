//! Feature `io`: what happens while a worker waits in async-io's reactor.
//! Timers fire on workers (their wakes are dispatched from the reactor by a
//! worker), and a push from outside wakes the only worker while it waits in
//! the reactor's `epoll_wait`.
//!
//! Alone in its own test binary, and its tests one at a time (`serial`):
//! async-io's reactor is one per process, so another runtime's worker, or
//! another test's, could hold it and dispatch this runtime's events
//! (correctly, but not locally).
//!
//! Not with `net` too: then idle workers wait in the runtime's own driver,
//! and async-io's own thread dispatches its events (see "Which reactor" in
//! `src/idle.rs`).
#![cfg(all(feature = "io", not(feature = "net"), target_os = "linux", not(miri), not(loom)))]

mod io_common;

use std::{
    future::Future,
    io::Write,
    pin::Pin,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures_lite::AsyncReadExt;
use io_common::{Blocked, Signal, blocked_in, current_tid, wait_until};
use runtime_core::{Queue, Runtime};

/// One test at a time in this binary (see the module docs).
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A runtime whose workers record their kernel thread ids.
fn runtime<Q: Queue>(workers: usize) -> (Runtime<Q>, Arc<Mutex<Vec<u64>>>) {
    let tids = Arc::new(Mutex::new(Vec::new()));
    let recorder = tids.clone();
    let rt = Runtime::<Q>::builder()
        .worker_threads(workers)
        .on_thread_start(move || recorder.lock().unwrap().push(current_tid()))
        .build()
        .unwrap();
    wait_until(
        Duration::from_secs(5),
        "the workers to start",
        || tids.lock().unwrap().len() == workers,
        String::new,
    );
    (rt, tids)
}

/// A task awaits a 20 ms `async_io::Timer`, round after round: every timer
/// fires (not early, and within a deadline), and its wake is dispatched by a
/// worker from the reactor (`Metrics::reactor_wakes`), not by async-io's own
/// thread (a remote schedule).
///
/// async-io's thread takes the reactor whenever a worker lets go of it (it
/// waits on the reactor's lock), so which thread dispatches a given timer is
/// a race, lost by the workers more often on a loaded machine. So with one
/// worker the test looks (in `/proc`) at where the worker waits while the
/// timer is pending: in a round where it was seen in `epoll_wait` for 2 ms
/// after the timer was registered, it holds the reactor until the timer
/// fires, and the wake must be local. Rounds continue until 10 such rounds
/// (at most 200). With two workers it checks that timers fire, and that some
/// fire on a worker.
fn timers_fire_on_workers<Q: Queue>(name: &str, workers: usize) {
    let (rt, tids) = runtime::<Q>(workers);
    let tids = tids.lock().unwrap().clone();
    let (mut local, mut remote, mut seen_waiting, mut rounds) = (0u64, 0u64, 0u64, 0u64);
    while rounds < 200 && (if workers == 1 { seen_waiting < 10 } else { rounds < 20 }) {
        let round = rounds;
        rounds += 1;
        let before = rt.metrics();
        let registered = Arc::new(AtomicBool::new(false));
        let task = rt.spawn({
            let registered = registered.clone();
            async move {
                let start = Instant::now();
                let mut timer = async_io::Timer::after(Duration::from_millis(20));
                // The first poll registers the timer with the reactor.
                std::future::poll_fn(|cx| {
                    let poll = Pin::new(&mut timer).poll(cx);
                    registered.store(true, Ordering::SeqCst);
                    poll
                })
                .await;
                start.elapsed()
            }
        });
        // Where the worker waits until the timer fires.
        let mut epoll_since: Option<Instant> = None;
        let mut waited_in_epoll = false;
        let deadline = Instant::now() + Duration::from_secs(5);
        while !task.is_finished() {
            assert!(
                Instant::now() < deadline,
                "{name}, {workers} workers: round {round}: a task awaiting a 20 ms timer did not finish within 5 s; \
                 metrics {:?}",
                rt.metrics()
            );
            if workers == 1 && registered.load(Ordering::SeqCst) {
                if blocked_in(tids[0]) == Blocked::Epoll {
                    let since = *epoll_since.get_or_insert_with(Instant::now);
                    waited_in_epoll |= since.elapsed() >= Duration::from_millis(2);
                } else {
                    epoll_since = None;
                }
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        let waited = rt.block_on(task);
        assert!(waited >= Duration::from_millis(20), "{name}: timer {round} fired early, after {waited:?}");
        let after = rt.metrics();
        let reactor_wakes = after.reactor_wakes - before.reactor_wakes;
        // The spawn from outside is one remote schedule.
        let from_outside = after.remote_schedules - before.remote_schedules - 1;
        assert_eq!(reactor_wakes + from_outside, 1, "{name}, {workers} workers: round {round}: {after:?}");
        if waited_in_epoll {
            seen_waiting += 1;
            assert_eq!(
                reactor_wakes, 1,
                "{name}: round {round}: the only worker waited in epoll_wait while the timer was pending, \
                 yet the timer's wake came from another thread"
            );
        }
        local += reactor_wakes;
        remote += from_outside;
    }
    let checked = if workers == 1 {
        format!("; rounds with the worker seen waiting in epoll {seen_waiting}")
    } else {
        String::new()
    };
    println!(
        "{name}, {workers} workers: {rounds} timers; dispatched by a worker {local}, from outside {remote}{checked}"
    );
    if workers == 1 {
        assert!(
            seen_waiting > 0,
            "{name}: in {rounds} rounds the only worker was never seen waiting in the reactor for a pending \
             timer (async-io's own thread dispatched {remote} of them)"
        );
    }
    assert!(local > 0, "{name}, {workers} workers: none of {rounds} timers was dispatched by a worker");
}

#[test]
fn timers_fire_on_workers_every_backend() {
    let _serial = serial();
    for workers in [1, 2] {
        timers_fire_on_workers::<queue_flume::FlumeQueue>("flume", workers);
        timers_fire_on_workers::<queue_crossbeam::CrossbeamQueue>("crossbeam", workers);
        timers_fire_on_workers::<queue_mutex::MutexQueue>("mutex", workers);
    }
}

/// How a round of `outside_push_reaches_reactor_waiter` reaches the task.
#[derive(Clone, Copy, Debug)]
enum Push {
    /// A new task spawned from the test thread.
    Spawn,
    /// A task already pending, woken from the test thread.
    Wake,
}

/// One worker, idle, waiting in the reactor's `epoll_wait` (seen in
/// `/proc`); then a push from the test thread: it must run. Between rounds
/// async-io's own thread may take the reactor (it does whenever a worker lets
/// go of it), leaving the worker parked plainly; a byte written to a socket
/// that a task of the runtime reads then makes the reactor change hands
/// again, until the worker is the one in `epoll_wait`.
fn outside_push_reaches_reactor_waiter<Q: Queue>(name: &str) {
    let (rt, tids) = runtime::<Q>(1);
    let worker = tids.lock().unwrap()[0];
    let timeout = Duration::from_secs(5);

    // A poke connection: every byte written to `poke` wakes the reader task.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut poke = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    poke.set_nodelay(true).unwrap();
    let server = async_net::TcpStream::try_from(listener.accept().unwrap().0).unwrap();
    let poked = Arc::new(AtomicU64::new(0));
    let reader = rt.spawn({
        let poked = poked.clone();
        async move {
            let mut server = server;
            let mut buf = [0u8; 64];
            loop {
                match server.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => poked.fetch_add(n as u64, Ordering::SeqCst),
                };
            }
        }
    });
    // A timer an hour away: the reactor has a timer to wait for too.
    let timer = rt.spawn(async { async_io::Timer::after(Duration::from_secs(3600)).await });
    // The task that `Push::Wake` rounds wake, acknowledging each wake.
    let signal = Arc::new(Signal::default());
    let acked = Arc::new(AtomicU64::new(0));
    let waiter = rt.spawn({
        let (signal, acked) = (signal.clone(), acked.clone());
        async move {
            let mut seen = 0;
            loop {
                seen = signal.next(seen).await;
                acked.store(seen, Ordering::SeqCst);
            }
        }
    });

    let rounds = 1000u64;
    let mut pokes = 0u64;
    let mut spawned = 0u64;
    let mut woken = 0u64;
    // Rounds whose push landed while the worker was seen in `epoll_wait`;
    // rounds where it could not be brought there within a second.
    let (mut in_epoll, mut misses) = (0u64, 0u64);
    for round in 0..rounds {
        // Until the worker waits in `epoll_wait`, poke every 20 ms. Whether
        // it gets the reactor back is a race with async-io's own thread,
        // which retakes it 50 us after each event it dispatched if nobody
        // else did; on a loaded machine the woken worker can lose it every
        // time. So after a few rounds that could not get there, the pushes
        // go on with the worker parked plainly: every push must still run.
        let deadline = Instant::now() + Duration::from_secs(1);
        let mut last_poke = Instant::now();
        while misses < 3 && blocked_in(worker) != Blocked::Epoll {
            if Instant::now() >= deadline {
                misses += 1;
                break;
            }
            if last_poke.elapsed() >= Duration::from_millis(20) {
                let before = poked.load(Ordering::SeqCst);
                poke.write_all(b"x").unwrap();
                pokes += 1;
                wait_until(
                    timeout,
                    "the reader task to take a poke",
                    || poked.load(Ordering::SeqCst) > before,
                    || format!("{name}: round {round}; metrics {:?}", rt.metrics()),
                );
                last_poke = Instant::now();
            }
            std::thread::sleep(Duration::from_micros(100));
        }
        if blocked_in(worker) == Blocked::Epoll {
            in_epoll += 1;
        }
        // A little jitter, so that the push lands at different points of
        // the wait (it is in `epoll_wait` already; this only varies how
        // long it has been there).
        std::thread::sleep(Duration::from_micros(round % 7 * 30));
        let push = if round % 2 == 0 { Push::Spawn } else { Push::Wake };
        match push {
            Push::Spawn => {
                let (tx, rx) = std::sync::mpsc::sync_channel(1);
                rt.spawn(async move { tx.send(round).unwrap() }).detach();
                let got = rx.recv_timeout(timeout).unwrap_or_else(|_| {
                    panic!(
                        "{name}: round {round}: a task spawned while the only worker waited in the reactor \
                         did not run within {timeout:?}; worker in {:?}; metrics {:?}",
                        blocked_in(worker),
                        rt.metrics()
                    )
                });
                assert_eq!(got, round);
                spawned += 1;
            }
            Push::Wake => {
                woken += 1;
                signal.fire();
                wait_until(
                    timeout,
                    "the task woken from outside while the only worker waited in the reactor to run",
                    || acked.load(Ordering::SeqCst) == woken,
                    || {
                        format!(
                            "{name}: round {round}; worker in {:?}; metrics {:?}",
                            blocked_in(worker),
                            rt.metrics()
                        )
                    },
                );
            }
        }
    }
    println!(
        "{name}: {spawned} spawns and {woken} wakes from outside all ran; {in_epoll} of them pushed while the \
         worker waited in epoll ({pokes} pokes; {misses} rounds could not bring it there)"
    );
    drop(poke);
    rt.block_on(reader);
    drop((timer, waiter));
}

#[test]
fn outside_push_reaches_reactor_waiter_every_backend() {
    let _serial = serial();
    outside_push_reaches_reactor_waiter::<queue_flume::FlumeQueue>("flume");
    outside_push_reaches_reactor_waiter::<queue_crossbeam::CrossbeamQueue>("crossbeam");
    outside_push_reaches_reactor_waiter::<queue_mutex::MutexQueue>("mutex");
}
