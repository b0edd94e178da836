//! Feature `io`: what happens while a worker waits in async-io's reactor.
//! Timers fire on workers (their wakes are dispatched from the reactor by a
//! worker), and a push from outside wakes the only worker while it waits in
//! the reactor's `epoll_wait`.
//!
//! Alone in its own test binary, and its tests one at a time (`serial`):
//! async-io's reactor is one per process, so another runtime's worker, or
//! another test's, could hold it and dispatch this runtime's events
//! (correctly, but not locally).
#![cfg(all(feature = "io", target_os = "linux", not(miri), not(loom)))]

mod io_common;

use std::{
    io::Write,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
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

fn timers_fire_on_workers<Q: Queue>(name: &str, workers: usize) {
    let (rt, _tids) = runtime::<Q>(workers);
    let rounds = 30u64;
    let mut local = 0;
    let mut remote = 0;
    for round in 0..rounds {
        let before = rt.metrics();
        let task = rt.spawn(async move {
            let start = Instant::now();
            async_io::Timer::after(Duration::from_millis(20)).await;
            start.elapsed()
        });
        wait_until(
            Duration::from_secs(5),
            "a task awaiting a 20 ms timer to finish",
            || task.is_finished(),
            || format!("{name}, {workers} workers: round {round}; metrics {:?}", rt.metrics()),
        );
        let waited = rt.block_on(task);
        assert!(waited >= Duration::from_millis(20), "{name}: timer {round} fired early, after {waited:?}");
        let after = rt.metrics();
        let reactor_wakes = after.reactor_wakes - before.reactor_wakes;
        let remote_schedules = after.remote_schedules - before.remote_schedules;
        // The spawn from outside is one remote schedule.
        local += reactor_wakes;
        remote += remote_schedules - 1;
    }
    println!("{name}, {workers} workers: {rounds} timers; reactor wakes {local}, remote {remote}");
    // async-io's own thread may hold the reactor now and then (it takes it
    // whenever a worker lets go), and then it dispatches the timer; most
    // timers must still fire on a worker.
    assert!(
        local >= rounds / 2 && local >= 2 * remote,
        "{name}, {workers} workers: of {rounds} timers {local} were dispatched by a worker, {remote} from outside"
    );
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
    for round in 0..rounds {
        // Until the worker waits in `epoll_wait`, poke every 20 ms.
        let deadline = Instant::now() + timeout;
        let mut last_poke = Instant::now();
        while blocked_in(worker) != Blocked::Epoll {
            assert!(
                Instant::now() < deadline,
                "{name}: round {round}: the only worker never waited in the reactor within {timeout:?} \
                 ({pokes} pokes so far; it is in {:?}); metrics {:?}",
                blocked_in(worker),
                rt.metrics()
            );
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
        "{name}: {spawned} spawns and {woken} wakes from outside, each while the worker waited in epoll; {pokes} pokes"
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
