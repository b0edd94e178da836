//! Feature `io`: sockets and timers of async-io / async-net on the runtime,
//! on every backend: shutdown with I/O still registered, and a stress test
//! of short-lived connections (no wake lost between the reactor and the
//! queues). Where a wake is dispatched is checked in `io_local.rs` and
//! `io_reactor.rs`, each alone in its binary; here many runtimes share
//! async-io's one reactor at once, which is part of the stress.
#![cfg(all(feature = "io", not(miri), not(loom)))]

mod common;
mod io_common;

use std::{
    io::{ErrorKind, Read, Write},
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use common::per_backend;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use io_common::{DropCount, wait_until};
use runtime_core::{Queue, Runtime};

// ---------------------------------------------------------------------------
// Shutdown with sockets and timers still registered.

/// Connections held open across the shutdown.
const OPEN_CONNECTIONS: usize = 64;

/// A runtime with tasks waiting on every kind of I/O source: an accept loop
/// (waiting in `accept` once every client is in), one reader per open
/// connection (waiting in `read`: the clients send nothing), and a timer an
/// hour away. Then `shut_down` ends it: it must return promptly, every
/// future's destructor must have run (so every socket is closed: the clients
/// read EOF, the listener refuses connections) and the books must balance.
fn shutdown_with_io_registered<Q: Queue>(name: &str, shut_down: impl FnOnce(Runtime<Q>)) {
    let rt = Runtime::<Q>::builder().worker_threads(2).build().unwrap();
    let handle = rt.handle();
    let started = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    // Set by a task whose I/O completed: nothing should.
    let woke = Arc::new(Mutex::new(Vec::<String>::new()));

    let listener = rt.block_on(async_net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn({
        let (started, dropped, woke) = (started.clone(), dropped.clone(), woke.clone());
        async move {
            let _guard = DropCount(dropped.clone());
            started.fetch_add(1, Ordering::SeqCst);
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let (started, dropped, woke) = (started.clone(), dropped.clone(), woke.clone());
                runtime_core::spawn(async move {
                    let _guard = DropCount(dropped);
                    started.fetch_add(1, Ordering::SeqCst);
                    let mut buf = [0u8; 16];
                    let read = stream.read(&mut buf).await;
                    woke.lock().unwrap().push(format!("a reader's read returned {read:?}"));
                })
                .detach();
            }
        }
    })
    .detach();
    rt.spawn({
        let (started, dropped, woke) = (started.clone(), dropped.clone(), woke.clone());
        async move {
            let _guard = DropCount(dropped);
            started.fetch_add(1, Ordering::SeqCst);
            async_io::Timer::after(Duration::from_secs(3600)).await;
            woke.lock().unwrap().push("the hour-long timer fired".to_owned());
        }
    })
    .detach();

    let clients: Vec<std::net::TcpStream> =
        (0..OPEN_CONNECTIONS).map(|_| std::net::TcpStream::connect(addr).unwrap()).collect();
    let tasks = OPEN_CONNECTIONS + 2;
    wait_until(
        Duration::from_secs(10),
        "every task to start",
        || started.load(Ordering::SeqCst) == tasks,
        || format!("{name}: {} of {tasks} started; {:?}", started.load(Ordering::SeqCst), handle.metrics()),
    );
    // Every task waits on its I/O source now (or is about to).
    let start = Instant::now();
    shut_down(rt);
    let took = start.elapsed();
    assert!(took < Duration::from_secs(2), "{name}: shutdown with I/O registered took {took:?}");
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        tasks,
        "{name}: destructors run by the time shutdown returned"
    );
    assert!(woke.lock().unwrap().is_empty(), "{name}: {:?}", woke.lock().unwrap());
    let metrics = handle.metrics();
    assert!(handle.is_shutdown());
    // (A shutdown from a task adds that task, which completes.)
    assert_eq!(metrics.cancelled, tasks as u64, "{name}: {metrics:?}");
    assert_eq!(metrics.spawned, metrics.completed + metrics.cancelled, "{name}: {metrics:?}");
    assert_eq!(metrics.live_tasks, 0, "{name}: {metrics:?}");
    assert_eq!(metrics.queued, 0, "{name}: {metrics:?}");

    // The server's sockets were closed with their tasks: each client reads
    // EOF (or a reset), and nobody accepts on the listener's port.
    for mut client in clients {
        client.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        match client.read(&mut [0u8; 1]) {
            Ok(0) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            other => panic!("{name}: a client of a dropped server socket read {other:?}, not EOF"),
        }
    }
    let refused = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5));
    assert!(refused.is_err(), "{name}: the listener still accepts after shutdown");
}

fn drop_with_io_registered<Q: Queue>() {
    shutdown_with_io_registered::<Q>(std::any::type_name::<Q>(), drop);
}

fn shutdown_timeout_with_io_registered<Q: Queue>() {
    shutdown_with_io_registered::<Q>(std::any::type_name::<Q>(), |rt| {
        rt.shutdown_timeout(Duration::from_secs(1))
    });
}

/// Shut down from a handle, from inside a task, while the sockets stay
/// registered: a worker cannot wait for itself, so the last worker out
/// drains; the runtime is dropped afterwards.
fn shutdown_from_a_task_with_io_registered<Q: Queue>() {
    shutdown_with_io_registered::<Q>(std::any::type_name::<Q>(), |rt| {
        let handle = rt.handle();
        rt.spawn(async { runtime_core::Handle::current().shutdown() }).detach();
        wait_until(Duration::from_secs(2), "the runtime to close", || handle.is_shutdown(), String::new);
        drop(rt);
    });
}

// ---------------------------------------------------------------------------
// Stress: many short-lived connections.

/// Client tasks on the runtime, and connect/echo/close cycles each.
const CLIENT_TASKS: usize = 8;
const CYCLES_PER_TASK: usize = 250;
/// Cycles of the client on a plain thread.
const THREAD_CYCLES: usize = 200;
/// The whole test, and one round trip.
const TEST_DEADLINE: Duration = Duration::from_secs(120);
const ROUND_TRIP_DEADLINE: Duration = Duration::from_secs(10);

/// An echo server: one task per connection, which echoes until EOF and
/// closes.
async fn serve(listener: async_net::TcpListener) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else { continue };
        runtime_core::spawn(async move {
            let mut buf = [0u8; 256];
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if stream.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                }
            }
        })
        .detach();
    }
}

/// Progress, for the message of a test that ran out of time.
#[derive(Default)]
struct Progress {
    cycles: AtomicUsize,
    /// Per client (the tasks, then the thread): the cycle it is in, and
    /// where in it: 0 connect, 1 write, 2 read, 3 close.
    at: Mutex<Vec<(usize, u8)>>,
    /// The slowest round trip (connect to close) so far, in microseconds.
    slowest_us: AtomicU64,
}

impl Progress {
    fn step(&self, client: usize, cycle: usize, step: u8) {
        self.at.lock().unwrap()[client] = (cycle, step);
    }
    fn done(&self, start: Instant) {
        self.cycles.fetch_add(1, Ordering::SeqCst);
        self.slowest_us.fetch_max(start.elapsed().as_micros() as u64, Ordering::SeqCst);
    }
}

/// One cycle from a client task: connect, send a message, read it back,
/// close. Every other cycle the client half-closes first and reads the
/// server's EOF (so the server closes first); the others just drop the
/// socket.
async fn client_cycle(addr: SocketAddr, client: usize, cycle: usize, progress: &Progress) {
    let start = Instant::now();
    progress.step(client, cycle, 0);
    let mut stream = async_net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let message = [(client * 31 + cycle) as u8; 48];
    progress.step(client, cycle, 1);
    stream.write_all(&message).await.unwrap();
    progress.step(client, cycle, 2);
    let mut back = [0u8; 48];
    stream.read_exact(&mut back).await.unwrap();
    assert_eq!(back, message);
    progress.step(client, cycle, 3);
    if cycle.is_multiple_of(2) {
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let n = stream.read(&mut back).await.unwrap();
        assert_eq!(n, 0, "the server echoed more than was sent");
    }
    drop(stream);
    progress.done(start);
}

fn thread_cycle(addr: SocketAddr, client: usize, cycle: usize, progress: &Progress) {
    let start = Instant::now();
    progress.step(client, cycle, 0);
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    // A lost wake in the server shows up here as a timeout, not a hang.
    stream.set_read_timeout(Some(ROUND_TRIP_DEADLINE)).unwrap();
    let message = [(client * 31 + cycle) as u8; 48];
    progress.step(client, cycle, 1);
    stream.write_all(&message).unwrap();
    progress.step(client, cycle, 2);
    let mut back = [0u8; 48];
    stream.read_exact(&mut back).unwrap_or_else(|e| {
        panic!("the plain-thread client's round trip {cycle} failed ({e}): the server task was not woken?")
    });
    assert_eq!(back, message);
    progress.step(client, cycle, 3);
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let n = stream.read(&mut back).unwrap_or_else(|e| panic!("the plain-thread client's close {cycle}: {e}"));
    assert_eq!(n, 0, "the server echoed more than was sent");
    drop(stream);
    progress.done(start);
}

fn short_connections<Q: Queue>(workers: usize) {
    let name = format!("{}, {workers} workers", std::any::type_name::<Q>());
    let rt = Runtime::<Q>::builder().worker_threads(workers).build().unwrap();
    let listener = rt.block_on(async_net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(serve(listener)).detach();

    let progress = Arc::new(Progress::default());
    *progress.at.lock().unwrap() = vec![(0, 0); CLIENT_TASKS + 1];
    let clients: Vec<_> = (0..CLIENT_TASKS)
        .map(|client| {
            let progress = progress.clone();
            rt.spawn(async move {
                for cycle in 0..CYCLES_PER_TASK {
                    client_cycle(addr, client, cycle, &progress).await;
                }
            })
        })
        .collect();
    let thread = std::thread::spawn({
        let progress = progress.clone();
        move || {
            for cycle in 0..THREAD_CYCLES {
                thread_cycle(addr, CLIENT_TASKS, cycle, &progress);
            }
        }
    });

    // The watchdog: a lost wake fails the test with where every client
    // stood, rather than hanging it.
    let total = CLIENT_TASKS * CYCLES_PER_TASK + THREAD_CYCLES;
    wait_until(
        TEST_DEADLINE,
        "every connect/echo/close cycle",
        // Or a client failed: the thread returned early, or a task panicked.
        || {
            progress.cycles.load(Ordering::SeqCst) == total
                || thread.is_finished() && progress.at.lock().unwrap()[CLIENT_TASKS].0 + 1 < THREAD_CYCLES
                || rt.metrics().panicked != 0
        },
        || {
            format!(
                "{name}: {} of {total} cycles done; (cycle, step) per client {:?} (steps: 0 connect, 1 write, \
                 2 read, 3 close; the last is the plain thread, finished: {}); {:?}",
                progress.cycles.load(Ordering::SeqCst),
                progress.at.lock().unwrap(),
                thread.is_finished(),
                rt.metrics()
            )
        },
    );
    if let Err(panic) = thread.join() {
        std::panic::resume_unwind(panic);
    }
    assert_eq!(rt.metrics().panicked, 0, "{name}: a client task panicked (its message is above)");
    for client in clients {
        rt.block_on(client);
    }
    let slowest = Duration::from_micros(progress.slowest_us.load(Ordering::SeqCst));
    let metrics = rt.metrics();
    println!(
        "{name}: {total} cycles, slowest {slowest:?}; reactor_wakes {}, local {}, remote {}",
        metrics.reactor_wakes, metrics.local_schedules, metrics.remote_schedules
    );
    assert!(slowest < ROUND_TRIP_DEADLINE, "{name}: a connect/echo/close cycle took {slowest:?}");
}

fn short_connections_1_worker<Q: Queue>() {
    short_connections::<Q>(1);
}

fn short_connections_2_workers<Q: Queue>() {
    short_connections::<Q>(2);
}

fn short_connections_4_workers<Q: Queue>() {
    short_connections::<Q>(4);
}

per_backend!(
    drop_with_io_registered,
    shutdown_timeout_with_io_registered,
    shutdown_from_a_task_with_io_registered,
    short_connections_1_worker,
    short_connections_2_workers,
    short_connections_4_workers,
);
