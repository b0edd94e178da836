//! Feature `net`: the runtime's own sockets on every backend: TCP basics,
//! UDP, Unix streams, `AsyncFd` on a pipe, the steady state's counters (no
//! registration and no `WouldBlock` per request), a stress test of many
//! short-lived connections at 1, 2 and 4 workers, and shutdown with I/O
//! registered.
// Unix: the Unix streams and `AsyncFd` checks (the TCP and UDP ones would
// run elsewhere too, but nothing here runs on other targets).
#![cfg(all(feature = "net", unix, not(miri), not(loom)))]

mod common;
mod io_common;
mod net_common;

use std::{
    io::{ErrorKind, Read, Write},
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst},
    },
    time::{Duration, Instant},
};

use common::per_backend;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use io_common::{DropCount, Signal};
use net_common::{run, wait_until};
use runtime_core::{
    Queue, Runtime,
    net::{TcpListener, TcpStream, UdpSocket},
};

const DEADLINE: Duration = Duration::from_secs(10);

/// An echo server: a task per connection, echoing until EOF.
async fn serve(listener: TcpListener) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else { continue };
        runtime_core::spawn(async move {
            let mut buf = [0u8; 4096];
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

fn echo_server<Q: Queue>(rt: &Runtime<Q>) -> SocketAddr {
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(serve(listener)).detach();
    addr
}

// ---------------------------------------------------------------------------
// TCP basics.

/// Connect errors, options, std round trips, split and reunite.
fn tcp_basics<Q: Queue>() {
    let rt = Runtime::<Q>::builder().worker_threads(2).build().unwrap();
    let addr = echo_server(&rt);
    run(&rt, DEADLINE, "the TCP basics", async move {
        // A port nobody listens on: the connect fails with the OS's error.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed_addr = closed.local_addr().unwrap();
        drop(closed);
        let error = TcpStream::connect(closed_addr).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ConnectionRefused, "{error}");

        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        assert!(stream.nodelay().unwrap());
        assert_eq!(stream.peer_addr().unwrap(), addr);
        assert!(stream.take_error().unwrap().is_none());
        stream.write_all(b"one").await.unwrap();
        let mut buf = [0u8; 3];
        stream.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"one");

        // Vectored writes.
        let bufs = [std::io::IoSlice::new(b"tw"), std::io::IoSlice::new(b"o")];
        let n = stream.write_vectored(&bufs).await.unwrap();
        assert_eq!(n, 3);
        stream.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"two");

        // Borrowed halves: a read and a write at once in one task.
        let (mut reader, mut writer) = stream.split();
        let (read, wrote) = futures_lite::future::zip(
            async {
                let mut buf = [0u8; 5];
                reader.read_exact(&mut buf).await.map(|()| buf)
            },
            writer.write_all(b"three"),
        )
        .await;
        wrote.unwrap();
        assert_eq!(&read.unwrap(), b"three");

        // Owned halves in two tasks, then back together.
        let (mut reader, mut writer) = stream.into_split();
        let echoed = runtime_core::spawn(async move {
            let mut buf = [0u8; 4];
            reader.read_exact(&mut buf).await.unwrap();
            (reader, buf)
        });
        writer.write_all(b"four").await.unwrap();
        let (reader, mut buf) = echoed.await;
        assert_eq!(&buf, b"four");
        let (other_reader, other_writer) = TcpStream::connect(addr).await.unwrap().into_split();
        let error = reader.reunite(other_writer).unwrap_err();
        assert_eq!(error.to_string(), "tried to reunite halves that are not from the same stream");
        let (reader, other_writer) = (error.0, error.1);
        let mut stream = reader.reunite(writer).expect("the stream's own halves");
        stream.write_all(b"five").await.unwrap();
        stream.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"five");
        // Dropping an owned write half shuts its side down: the echo server
        // sees EOF and closes, so its read half reads EOF.
        drop(other_writer);
        let mut other_reader = other_reader;
        assert_eq!(other_reader.read(&mut buf).await.unwrap(), 0);

        // Back to std and in again.
        let std_stream = stream.into_std().unwrap();
        let mut stream = TcpStream::from_std(std_stream).unwrap();
        stream.write_all(b"six!").await.unwrap();
        stream.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"six!");
        let listener = TcpListener::from_std(std::net::TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
        let local = listener.local_addr().unwrap();
        let std_listener = listener.into_std().unwrap();
        assert_eq!(std_listener.local_addr().unwrap(), local);
    });
}

/// A compile-time check (it is never called): sockets are `Send + Sync +
/// Unpin`, as the docs say.
#[allow(dead_code)]
fn sockets_are_send_sync_unpin() {
    fn send_sync_unpin<T: Send + Sync + Unpin>() {}
    send_sync_unpin::<TcpStream>();
    send_sync_unpin::<TcpListener>();
    send_sync_unpin::<UdpSocket>();
    send_sync_unpin::<runtime_core::net::OwnedReadHalf>();
    send_sync_unpin::<runtime_core::net::OwnedWriteHalf>();
    send_sync_unpin::<runtime_core::net::UnixStream>();
}

/// A socket that outlives its runtime (moved out to a plain thread) fails
/// every operation with an error that says the runtime shut down: no hang,
/// no panic.
fn outlives_its_runtime<Q: Queue>() {
    let rt = Runtime::<Q>::builder().worker_threads(1).build().unwrap();
    let addr = echo_server(&rt);
    let (stream, listener) = rt.block_on(async move {
        let stream = TcpStream::connect(addr).await.unwrap();
        (stream, TcpListener::bind("127.0.0.1:0").await.unwrap())
    });
    drop(rt);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut stream = stream;
        let read = futures_lite::future::block_on(stream.read(&mut [0u8; 8]));
        let write = futures_lite::future::block_on(stream.write(b"x"));
        let accept = futures_lite::future::block_on(listener.accept()).map(drop);
        let _ = tx.send([read.map(drop), write.map(drop), accept]);
    });
    let results = rx.recv_timeout(DEADLINE).expect("operations on a socket whose runtime is gone hung");
    for result in results {
        let error = result.expect_err("an operation succeeded after its runtime shut down");
        assert!(error.to_string().contains("has shut down"), "{error}");
    }
}

/// Outside a runtime a socket cannot be created: a panic that says what to
/// do, pointing at the caller.
#[test]
#[should_panic(expected = "must be created from a task or inside Runtime::block_on")]
fn from_std_outside_a_runtime_panics() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let _ = TcpListener::from_std(listener);
}

// ---------------------------------------------------------------------------
// The steady state: what the driver does per request.

/// One keep-alive connection, 1 000 request/response round trips with
/// short messages (a client task and an echo task, both on the runtime):
/// after the first round trips, no source is registered or deregistered
/// (the driver never re-arms: mio registers once, edge-triggered, and this
/// driver has no re-registration at all), and no operation returns
/// `WouldBlock`, but for the rare stale event described at the check (every
/// read comes back short, which clears the readiness, so the read that
/// would return `EAGAIN` is not made). About one
/// readiness event per message and side.
fn steady_state_makes_no_extra_syscalls<Q: Queue>() {
    const WARM_UP: usize = 10;
    const ROUND_TRIPS: usize = 1000;
    let rt = Runtime::<Q>::builder().worker_threads(2).build().unwrap();
    let addr = echo_server(&rt);
    let (start_tx, start_rx) = std::sync::mpsc::channel();
    let go = Arc::new(Signal::default());
    let go_rx = go.next(0);
    let client = rt.spawn(async move {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let mut buf = [0u8; 4096];
        let mut round_trip = async |i: usize| {
            let message = [i as u8; 64];
            stream.write_all(&message).await.unwrap();
            let mut got = 0;
            while got < message.len() {
                let n = stream.read(&mut buf[got..]).await.unwrap();
                assert!(n > 0, "EOF");
                got += n;
            }
            assert_eq!(&buf[..64], &message);
        };
        for i in 0..WARM_UP {
            round_trip(i).await;
        }
        start_tx.send(()).unwrap();
        go_rx.await;
        for i in 0..ROUND_TRIPS {
            round_trip(i).await;
        }
        // Handed out, so that it closes after the last look at the counters.
        stream
    });
    start_rx.recv_timeout(DEADLINE).expect("the warm-up round trips");
    let before = rt.metrics();
    go.fire();
    let stream = run(&rt, DEADLINE * 3, "the round trips", client);
    let after = rt.metrics();
    drop(stream);
    let per_trip = (after.io_ready_events - before.io_ready_events) as f64 / ROUND_TRIPS as f64;
    println!(
        "{ROUND_TRIPS} round trips: {} registrations, {} deregistrations, {} WouldBlock, {per_trip:.2} events per round trip",
        after.io_registered - before.io_registered,
        after.io_deregistered - before.io_deregistered,
        after.io_would_block - before.io_would_block,
    );
    assert_eq!(after.io_registered, before.io_registered, "a registration in steady state");
    assert_eq!(after.io_deregistered, before.io_deregistered, "a deregistration in steady state");
    // Edge-triggered epoll can still report a readiness the read before it
    // already used up: an event for the peer's ACK (EPOLLOUT) that comes
    // with EPOLLIN set for data which its own event also reports. That read
    // returns WouldBlock once (seen 1 in 1000 round trips, in one run of
    // many); what must not happen is one per wait, as re-armed oneshot
    // registrations make (async-io: about one per round trip).
    let would_block = after.io_would_block - before.io_would_block;
    assert!(
        would_block <= ROUND_TRIPS as u64 / 100,
        "{would_block} reads or writes returned WouldBlock in {ROUND_TRIPS} steady-state round trips"
    );
    assert!((2.0..2.5).contains(&per_trip), "{per_trip} readiness events per round trip; {after:?}");
}

// ---------------------------------------------------------------------------
// UDP.

fn udp<Q: Queue>() {
    let rt = Runtime::<Q>::builder().worker_threads(2).build().unwrap();
    run(&rt, DEADLINE, "the UDP exchanges", async move {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind(("127.0.0.1", 0)).await.unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        let mut buf = [0u8; 64];
        for i in 0..100u8 {
            assert_eq!(a.send_to(&[i; 10], b_addr).await.unwrap(), 10);
            let (n, from) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!((n, from, buf[0]), (10, a_addr, i));
        }
        a.connect(b_addr).await.unwrap();
        b.connect(a_addr).await.unwrap();
        assert_eq!(a.peer_addr().unwrap(), b_addr);
        b.send(b"pong").await.unwrap();
        assert_eq!(a.recv(&mut buf).await.unwrap(), 4);
        assert_eq!(&buf[..4], b"pong");
        let std_socket = a.into_std().unwrap();
        let a = UdpSocket::from_std(std_socket).unwrap();
        b.send(b"again").await.unwrap();
        assert_eq!(a.recv(&mut buf).await.unwrap(), 5);
    });
}

/// Four tasks wait in `recv_from` on one shared socket at once (`&self`
/// operations, any number of waiters): every datagram is received, none
/// is lost to a waker that another waiter overwrote.
fn udp_many_waiters<Q: Queue>() {
    const RECEIVERS: usize = 4;
    const DATAGRAMS: usize = 400;
    let rt = Runtime::<Q>::builder().worker_threads(2).build().unwrap();
    let socket = Arc::new(rt.block_on(UdpSocket::bind("127.0.0.1:0")).unwrap());
    let addr = socket.local_addr().unwrap();
    let received = Arc::new(AtomicUsize::new(0));
    let waiting = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..RECEIVERS)
        .map(|_| {
            let (socket, received, waiting) = (socket.clone(), received.clone(), waiting.clone());
            rt.spawn(async move {
                let mut buf = [0u8; 16];
                waiting.fetch_add(1, SeqCst);
                loop {
                    let (n, _) = socket.recv_from(&mut buf).await.unwrap();
                    if buf[..n] == *b"stop" {
                        return;
                    }
                    received.fetch_add(1, SeqCst);
                }
            })
        })
        .collect();
    wait_until(DEADLINE, "every receiver to start", || waiting.load(SeqCst) == RECEIVERS, String::new);
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..DATAGRAMS {
        sender.send_to(&[i as u8; 8], addr).unwrap();
        if i % 50 == 49 {
            // Let the receivers drain, so that the socket's buffer never
            // overflows (a dropped datagram is not a lost wake-up).
            let want = i + 1;
            wait_until(
                DEADLINE,
                "the datagrams sent so far",
                || received.load(SeqCst) == want,
                || format!("{} of {want}; {:?}", received.load(SeqCst), rt.metrics()),
            );
        }
    }
    for _ in 0..RECEIVERS {
        sender.send_to(b"stop", addr).unwrap();
    }
    for task in tasks {
        run(&rt, DEADLINE, "a receiver to stop", task);
    }
    assert_eq!(received.load(SeqCst), DATAGRAMS);
}

// ---------------------------------------------------------------------------
// Unix domain streams.

fn unix_streams<Q: Queue>() {
    use runtime_core::net::{UnixListener, UnixStream};
    let rt = Runtime::<Q>::builder().worker_threads(2).build().unwrap();
    let dir = std::env::temp_dir().join(format!("runtime-core-net-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("echo.sock");
    let served = path.clone();
    run(&rt, DEADLINE, "the Unix stream exchanges", async move {
        let listener = UnixListener::bind(&served).unwrap();
        runtime_core::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                runtime_core::spawn(async move {
                    let mut buf = [0u8; 256];
                    while let Ok(n @ 1..) = stream.read(&mut buf).await {
                        stream.write_all(&buf[..n]).await.unwrap();
                    }
                })
                .detach();
            }
        })
        .detach();
        for i in 0..20u8 {
            let mut stream = UnixStream::connect(&served).await.unwrap();
            stream.write_all(&[i; 100]).await.unwrap();
            let mut buf = [0u8; 100];
            stream.read_exact(&mut buf).await.unwrap();
            assert_eq!(buf, [i; 100]);
        }
        let (a, b) = UnixStream::pair().unwrap();
        let (mut a_read, mut a_write) = a.into_split();
        let mut b = b;
        a_write.write_all(b"over").await.unwrap();
        let mut buf = [0u8; 4];
        b.read_exact(&mut buf).await.unwrap();
        b.write_all(b"back").await.unwrap();
        a_read.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"back");
        let a = a_read.reunite(a_write).unwrap();
        let a = UnixStream::from_std(a.into_std().unwrap()).unwrap();
        drop(a);
        // The peer's end closed: EOF.
        assert_eq!(b.read(&mut buf).await.unwrap(), 0);
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

fn unique() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, SeqCst)
}

// ---------------------------------------------------------------------------
// AsyncFd on a pipe.

fn nonblocking(fd: &impl std::os::fd::AsRawFd) {
    let fd = fd.as_raw_fd();
    // SAFETY: `fd` is an open descriptor owned by the caller; F_GETFL and
    // F_SETFL only read and set its status flags.
    let set = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK)
    };
    assert_ne!(set, -1, "fcntl(O_NONBLOCK): {}", std::io::Error::last_os_error());
}

/// A pipe through `AsyncFd` at both ends: the writer fills the pipe's
/// buffer (64 KiB) and waits in `writable()`, the reader drains it through
/// `readable()` + `try_io`; 4 MiB go through in order.
fn async_fd_pipe<Q: Queue>() {
    use runtime_core::io::AsyncFd;
    const TOTAL: usize = 4 << 20;
    let rt = Runtime::<Q>::builder().worker_threads(2).build().unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    nonblocking(&reader);
    nonblocking(&writer);
    let (reader, writer) =
        rt.block_on(async { (AsyncFd::new(reader).unwrap(), AsyncFd::new(writer).unwrap()) });
    let write = rt.spawn(async move {
        let chunk: Vec<u8> = (0..8192).map(|i| i as u8).collect();
        let mut done = 0;
        let mut would_block = 0;
        while done < TOTAL {
            let mut guard = writer.writable().await.unwrap();
            let from = done % chunk.len();
            match guard.try_io(|fd| fd.get_ref().write(&chunk[from..])) {
                Ok(result) => done += result.unwrap(),
                Err(_would_block) => would_block += 1,
            }
        }
        would_block
    });
    let read = rt.spawn(async move {
        let mut got = Vec::with_capacity(TOTAL);
        let mut buf = vec![0u8; 16384];
        loop {
            let mut guard = reader.readable().await.unwrap();
            match guard.try_io(|fd| fd.get_ref().read(&mut buf)) {
                Ok(Ok(0)) => return got,
                Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
                Ok(Err(error)) => panic!("read from the pipe: {error}"),
                Err(_would_block) => {}
            }
        }
    });
    let would_block = run(&rt, DEADLINE, "the pipe's writer", write);
    // The writer is done: the write end closes, the reader reads EOF.
    let got = run(&rt, DEADLINE, "the pipe's reader", read);
    assert_eq!(got.len(), TOTAL);
    assert!(got.iter().enumerate().all(|(i, &b)| b == (i % 8192) as u8), "the bytes came out of order");
    assert!(would_block > 0, "the writer never filled the pipe");
}

/// `AsyncFd::new` on a descriptor epoll refuses (a regular file) is an
/// error, not a panic; `into_inner` hands the value back.
fn async_fd_errors<Q: Queue>() {
    use runtime_core::io::AsyncFd;
    let rt = Runtime::<Q>::builder().worker_threads(1).build().unwrap();
    rt.block_on(async {
        let file = std::fs::File::open(std::env::current_exe().unwrap()).unwrap();
        let error = AsyncFd::new(file).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(libc::EPERM), "{error}");
        let (reader, _writer) = std::io::pipe().unwrap();
        let fd = AsyncFd::new(reader).unwrap();
        let reader = fd.into_inner();
        drop(reader);
    });
}

// ---------------------------------------------------------------------------
// Stress: many short-lived connections.

/// Client tasks on the runtime, and connect/echo/close cycles each.
const CLIENT_TASKS: usize = 8;
const CYCLES_PER_TASK: usize = 250;
/// Cycles of the client on a plain thread.
const THREAD_CYCLES: usize = 200;
const TEST_DEADLINE: Duration = Duration::from_secs(120);
const ROUND_TRIP_DEADLINE: Duration = Duration::from_secs(10);

/// Progress, for the message of a test that ran out of time.
#[derive(Default)]
struct Progress {
    cycles: AtomicUsize,
    /// Per client: the cycle it is in, and where in it: 0 connect, 1
    /// write, 2 read, 3 close.
    at: Mutex<Vec<(usize, u8)>>,
    slowest_us: AtomicU64,
}

impl Progress {
    fn step(&self, client: usize, cycle: usize, step: u8) {
        self.at.lock().unwrap()[client] = (cycle, step);
    }
    fn done(&self, start: Instant) {
        self.cycles.fetch_add(1, SeqCst);
        self.slowest_us.fetch_max(start.elapsed().as_micros() as u64, SeqCst);
    }
}

/// Connect, send, read back, close; every other cycle the client
/// half-closes first and reads the server's EOF.
async fn client_cycle(addr: SocketAddr, client: usize, cycle: usize, progress: &Progress) {
    let start = Instant::now();
    progress.step(client, cycle, 0);
    let mut stream = TcpStream::connect(addr).await.unwrap();
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
        stream.close().await.unwrap();
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
    let addr = echo_server(&rt);
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
    let total = CLIENT_TASKS * CYCLES_PER_TASK + THREAD_CYCLES;
    wait_until(
        TEST_DEADLINE,
        "every connect/echo/close cycle",
        || {
            progress.cycles.load(SeqCst) == total
                || thread.is_finished() && progress.at.lock().unwrap()[CLIENT_TASKS].0 + 1 < THREAD_CYCLES
                || rt.metrics().panicked != 0
        },
        || {
            format!(
                "{name}: {} of {total} cycles done; (cycle, step) per client {:?} (steps: 0 connect, 1 write, 2 read, 3 close; the last is the plain thread, finished: {}); {:?}",
                progress.cycles.load(SeqCst),
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
        run(&rt, DEADLINE, "a client task", client);
    }
    let slowest = Duration::from_micros(progress.slowest_us.load(SeqCst));
    let metrics = rt.metrics();
    println!("{name}: {total} cycles, slowest {slowest:?}; {metrics:?}");
    assert!(slowest < ROUND_TRIP_DEADLINE, "{name}: a connect/echo/close cycle took {slowest:?}");
    // Every connection's two ends were registered and are gone again but
    // for the listener (the server tasks close as their clients do).
    wait_until(
        DEADLINE,
        "every closed connection to be deregistered",
        || {
            let m = rt.metrics();
            m.io_registered - m.io_deregistered == 1
        },
        || format!("{name}: {:?}", rt.metrics()),
    );
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

// ---------------------------------------------------------------------------
// Shutdown with sockets registered.

const OPEN_CONNECTIONS: usize = 64;

/// An accept loop (waiting once every client is in) and a reader per open
/// connection (the clients send nothing); then `shut_down` ends the
/// runtime: promptly, every future dropped (so every socket closed: the
/// clients read EOF, the listener refuses connections), the books balanced.
fn shutdown_with_io_registered<Q: Queue>(name: &str, shut_down: impl FnOnce(Runtime<Q>)) {
    let rt = Runtime::<Q>::builder().worker_threads(2).build().unwrap();
    let handle = rt.handle();
    let started = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    let woke = Arc::new(Mutex::new(Vec::<String>::new()));
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn({
        let (started, dropped, woke) = (started.clone(), dropped.clone(), woke.clone());
        async move {
            let _guard = DropCount(dropped.clone());
            started.fetch_add(1, SeqCst);
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let (started, dropped, woke) = (started.clone(), dropped.clone(), woke.clone());
                runtime_core::spawn(async move {
                    let _guard = DropCount(dropped);
                    started.fetch_add(1, SeqCst);
                    let read = stream.read(&mut [0u8; 16]).await;
                    woke.lock().unwrap().push(format!("a reader's read returned {read:?}"));
                })
                .detach();
            }
        }
    })
    .detach();
    let clients: Vec<std::net::TcpStream> =
        (0..OPEN_CONNECTIONS).map(|_| std::net::TcpStream::connect(addr).unwrap()).collect();
    let tasks = OPEN_CONNECTIONS + 1;
    wait_until(
        DEADLINE,
        "every task to start",
        || started.load(SeqCst) == tasks,
        || format!("{name}: {} of {tasks} started; {:?}", started.load(SeqCst), handle.metrics()),
    );
    let start = Instant::now();
    shut_down(rt);
    let took = start.elapsed();
    assert!(took < Duration::from_secs(2), "{name}: shutdown with I/O registered took {took:?}");
    assert_eq!(dropped.load(SeqCst), tasks, "{name}: destructors run by the time shutdown returned");
    assert!(woke.lock().unwrap().is_empty(), "{name}: {:?}", woke.lock().unwrap());
    let metrics = handle.metrics();
    assert_eq!(metrics.cancelled, tasks as u64, "{name}: {metrics:?}");
    assert_eq!(metrics.spawned, metrics.completed + metrics.cancelled, "{name}: {metrics:?}");
    assert_eq!(metrics.live_tasks, 0, "{name}: {metrics:?}");
    assert_eq!(
        metrics.io_registered, metrics.io_deregistered,
        "{name}: a source outlived its task: {metrics:?}"
    );
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

/// Shut down from inside a task: the last worker out drains (and the
/// driver's thread exits on its own); the runtime is dropped afterwards.
fn shutdown_from_a_task_with_io_registered<Q: Queue>() {
    shutdown_with_io_registered::<Q>(std::any::type_name::<Q>(), |rt| {
        let handle = rt.handle();
        rt.spawn(async { runtime_core::Handle::current().shutdown() }).detach();
        wait_until(Duration::from_secs(2), "the runtime to close", || handle.is_shutdown(), String::new);
        drop(rt);
    });
}

per_backend!(
    tcp_basics,
    outlives_its_runtime,
    steady_state_makes_no_extra_syscalls,
    udp,
    udp_many_waiters,
    short_connections_1_worker,
    short_connections_2_workers,
    short_connections_4_workers,
    drop_with_io_registered,
    shutdown_timeout_with_io_registered,
    shutdown_from_a_task_with_io_registered,
    unix_streams,
    async_fd_pipe,
    async_fd_errors,
);
