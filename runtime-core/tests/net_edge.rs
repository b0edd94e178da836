//! Feature `net`: the edge-triggered driver loses no readiness, on every
//! backend. A read that stops short of `WouldBlock` keeps the next
//! readiness; a write that fills the socket buffer resumes when it drains;
//! one direction's clear never clears the other's; a source dropped with a
//! waker registered leaves nothing behind; a stream whose task moves
//! between workers (stolen) keeps working. The peers are plain blocking std
//! sockets on the test thread, so that the test decides when bytes move.
#![cfg(all(feature = "net", not(miri), not(loom)))]

mod common;
mod io_common;
mod net_common;

use std::{
    io::{Read, Write},
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering::SeqCst},
    },
    time::{Duration, Instant},
};

use common::per_backend;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use io_common::Signal;
use net_common::{run, wait_until};
use runtime_core::{
    Queue, Runtime,
    net::{TcpListener, TcpStream},
};

const DEADLINE: Duration = Duration::from_secs(10);

/// A listener on the runtime, and a std client connected to it; the
/// server's end of the connection.
fn connected<Q: Queue>(rt: &Runtime<Q>) -> (TcpStream, std::net::TcpStream) {
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let client = std::net::TcpStream::connect(addr).unwrap();
    client.set_read_timeout(Some(DEADLINE)).unwrap();
    client.set_nodelay(true).unwrap();
    let (server, _) = run(rt, DEADLINE, "accept", async move { listener.accept().await }).unwrap();
    (server, client)
}

/// The peer writes exactly the reader's buffer size: the read fills the
/// buffer (not short, so the readiness stays), the next read finds nothing
/// (`WouldBlock` clears it), and bytes the peer writes later still arrive.
/// Then the peer writes three buffers and a bit at once: the full reads
/// must keep the readiness (no new event comes for bytes already there).
fn exact_buffer_then_more<Q: Queue>() {
    const BUF: usize = 1024;
    const TOTAL: usize = BUF + 3 * BUF + 100;
    let rt = Runtime::<Q>::builder().worker_threads(2).build().unwrap();
    let (mut server, mut client) = connected(&rt);
    let got = Arc::new(Mutex::new(Vec::<usize>::new()));
    let reader = rt.spawn({
        let got = got.clone();
        async move {
            let mut buf = [0u8; BUF];
            let mut total = 0;
            while total < TOTAL {
                let n = server.read(&mut buf).await.unwrap();
                assert!(n > 0, "EOF after {total} bytes");
                total += n;
                got.lock().unwrap().push(total);
            }
            total
        }
    });
    let would_block = rt.metrics().io_would_block;
    client.write_all(&[1u8; BUF]).unwrap();
    wait_until(
        DEADLINE,
        "the first buffer's bytes",
        || got.lock().unwrap().last() == Some(&BUF),
        || format!("{:?}", got.lock().unwrap()),
    );
    // The reader is back in `read`, past its `WouldBlock`, waiting.
    wait_until(
        DEADLINE,
        "the read after the full buffer to find nothing",
        || rt.metrics().io_would_block > would_block,
        || format!("{:?}", rt.metrics()),
    );
    std::thread::sleep(Duration::from_millis(20));
    client.write_all(&[2u8; 3 * BUF + 100]).unwrap();
    let total = run(&rt, DEADLINE, "the bytes written after the full buffer", reader);
    assert_eq!(total, TOTAL, "{:?}", got.lock().unwrap());
}

/// A writer fills the socket's buffers while the peer reads nothing, then
/// waits; once the peer drains, it resumes and finishes.
fn write_resumes_when_drained<Q: Queue>() {
    // Far more than loopback's socket buffers hold.
    const TOTAL: usize = 64 << 20;
    let rt = Runtime::<Q>::builder().worker_threads(2).build().unwrap();
    let (mut server, mut client) = connected(&rt);
    let written = Arc::new(AtomicUsize::new(0));
    let writer = rt.spawn({
        let written = written.clone();
        async move {
            // Byte `i` of the stream is `i as u8`, whatever the writes' sizes.
            let chunk: Vec<u8> = (0..64 * 1024).map(|i| i as u8).collect();
            let mut done = 0;
            while done < TOTAL {
                let from = done % chunk.len();
                let n = server.write(&chunk[from..]).await.unwrap();
                done += n;
                written.store(done, SeqCst);
            }
            server.close().await.unwrap();
        }
    });
    wait_until_stalled(&written, TOTAL, "the writer to fill the socket buffers");
    let before = written.load(SeqCst);
    let mut received = Vec::with_capacity(TOTAL);
    client.read_to_end(&mut received).unwrap();
    run(&rt, DEADLINE, "the writer to finish", writer);
    assert!(before < TOTAL);
    assert_eq!(received.len(), TOTAL);
    assert!(received.iter().enumerate().all(|(i, &b)| b == i as u8), "the bytes came out of order");
}

/// Waits until `progress` has stopped moving for 100 ms below `total` (the
/// task writing is blocked).
fn wait_until_stalled(progress: &AtomicUsize, total: usize, what: &str) {
    let start = Instant::now();
    let (mut last, mut since) = (progress.load(SeqCst), Instant::now());
    loop {
        std::thread::sleep(Duration::from_millis(5));
        let now = progress.load(SeqCst);
        assert!(now < total, "{what}: everything was written without blocking");
        if now != last || now == 0 {
            (last, since) = (now, Instant::now());
        } else if since.elapsed() >= Duration::from_millis(100) {
            return;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}: {now} bytes written");
    }
}

/// A read's clear does not clear writability: the reader reads a short
/// message (and clears the read readiness) while nothing else happens on
/// the socket; the writer's next write must go through at once, with no new
/// event to tell it.
fn read_clear_keeps_write<Q: Queue>() {
    let rt = Runtime::<Q>::builder().worker_threads(2).build().unwrap();
    let (server, mut client) = connected(&rt);
    let (mut read_half, mut write_half) = server.into_split();
    client.write_all(b"ping").unwrap();
    let n = run(&rt, DEADLINE, "the short read", async move {
        let mut buf = [0u8; 64];
        let n = read_half.read(&mut buf).await.unwrap();
        // Keep the half (and its registration) alive past the write.
        (n, read_half)
    });
    assert_eq!(n.0, 4);
    run(&rt, DEADLINE, "a write after the read's clear (a lost writability hangs here)", async move {
        write_half.write_all(b"pong").await.unwrap();
        write_half
    });
    let mut buf = [0u8; 4];
    client.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"pong");
}

/// A write's clear does not clear readability: bytes arrive (and the driver
/// marks the socket readable) while nobody reads; then the writer fills the
/// send buffer (and clears the write readiness); the reader that starts
/// only then must get the bytes at once, with no new event to tell it.
fn write_clear_keeps_read<Q: Queue>() {
    let rt = Runtime::<Q>::builder().worker_threads(2).build().unwrap();
    let (server, mut client) = connected(&rt);
    let (read_half, mut write_half) = server.into_split();
    client.write_all(b"ping").unwrap();
    // Readable now (`readable()` reads nothing and clears nothing).
    let mut read_half = run(&rt, DEADLINE, "the driver to see the bytes", async move {
        read_half.as_ref().readable().await.unwrap();
        read_half
    });
    let written = Arc::new(AtomicUsize::new(0));
    let writer = rt.spawn({
        let written = written.clone();
        async move {
            let chunk = vec![7u8; 64 * 1024];
            loop {
                let n = write_half.write(&chunk).await.unwrap();
                written.fetch_add(n, SeqCst);
            }
        }
    });
    wait_until_stalled(&written, usize::MAX, "the writer to fill the send buffer");
    let (n, buf) =
        run(&rt, DEADLINE, "the read after the write's clear (a lost readability hangs here)", async move {
            let mut buf = [0u8; 64];
            let n = read_half.read(&mut buf).await.unwrap();
            (n, buf)
        });
    assert_eq!(&buf[..n], b"ping");
    drop(writer);
    drop(client);
}

/// A task waiting in `read` (the reader's slot) and one waiting in
/// `readable()` (the list) are cancelled: their sources are dropped with
/// wakers registered, deregistered, and their slab keys reused by new
/// connections, which work (an event for an old token goes nowhere).
fn dropped_with_waker_registered<Q: Queue>() {
    let rt = Runtime::<Q>::builder().worker_threads(2).build().unwrap();
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = Arc::new(listener);
    for round in 0..3 {
        let mut clients = Vec::new();
        let mut waiting = Vec::new();
        for kind in 0..2 {
            let client = std::net::TcpStream::connect(addr).unwrap();
            let listener = listener.clone();
            let (mut stream, _) =
                run(&rt, DEADLINE, "accept", async move { listener.accept().await }).unwrap();
            let before = rt.metrics().polls;
            waiting.push(rt.spawn(async move {
                if kind == 0 {
                    let _ = stream.read(&mut [0u8; 16]).await;
                } else {
                    let _ = stream.readable().await;
                }
                panic!("woke up with nothing sent");
            }));
            wait_until(DEADLINE, "the task to wait", || rt.metrics().polls > before, String::new);
            clients.push(client);
        }
        let deregistered = rt.metrics().io_deregistered;
        drop(waiting);
        wait_until(
            DEADLINE,
            "both sources to be deregistered",
            || rt.metrics().io_deregistered == deregistered + 2,
            || format!("round {round}: {:?}", rt.metrics()),
        );
        // The peers see the sockets closed; writing to them now raises
        // events for nobody.
        for mut client in clients {
            let _ = client.write_all(b"late");
            let mut buf = [0u8; 1];
            assert!(
                matches!(client.read(&mut buf), Ok(0) | Err(_)),
                "round {round}: the server end stayed open"
            );
        }
        // New connections (reusing the slab keys) work.
        let listener = listener.clone();
        let echoed = run(&rt, DEADLINE, "an echo on a new connection", async move {
            let mut client = TcpStream::connect(addr).await.unwrap();
            let (mut server, _) = listener.accept().await.unwrap();
            client.write_all(b"echo").await.unwrap();
            let mut buf = [0u8; 4];
            server.read_exact(&mut buf).await.unwrap();
            buf
        });
        assert_eq!(&echoed, b"echo");
    }
    assert_eq!(rt.metrics().panicked, 0, "a cancelled task was woken and polled");
}

/// A task that does I/O on its stream is stolen by another worker on every
/// round: after each echo it spawns a task that wakes it onto this worker's
/// LIFO slot and then keeps the worker busy, so a sibling steals it and its
/// next read and write run there. Every echo arrives, and the task ran on
/// several workers.
fn stolen_between_workers<Q: Queue>() {
    const ROUNDS: usize = 40;
    let rt = Runtime::<Q>::builder().worker_threads(4).build().unwrap();
    let (mut server, mut client) = connected(&rt);
    let threads = Arc::new(Mutex::new(Vec::<String>::new()));
    let echo = rt.spawn({
        let threads = threads.clone();
        async move {
            let mut buf = [0u8; 64];
            for _ in 0..ROUNDS {
                let n = server.read(&mut buf).await.unwrap();
                server.write_all(&buf[..n]).await.unwrap();
                threads.lock().unwrap().push(std::thread::current().name().unwrap_or("?").to_owned());
                let signal = Arc::new(Signal::default());
                let wait = signal.next(0);
                runtime_core::spawn(async move {
                    signal.fire();
                    // Hold this worker, so that the woken task is stolen.
                    let start = Instant::now();
                    while start.elapsed() < Duration::from_millis(3) {
                        std::hint::spin_loop();
                    }
                })
                .detach();
                wait.await;
            }
        }
    });
    for round in 0..ROUNDS {
        let message = [round as u8; 32];
        client.write_all(&message).unwrap();
        let mut back = [0u8; 32];
        client.read_exact(&mut back).unwrap_or_else(|e| panic!("round {round}: {e}; {:?}", rt.metrics()));
        assert_eq!(back, message);
    }
    run(&rt, DEADLINE, "the echo task", echo);
    let threads = threads.lock().unwrap();
    let mut distinct = threads.clone();
    distinct.sort();
    distinct.dedup();
    let metrics = rt.metrics();
    assert!(distinct.len() >= 2, "the task never moved: {threads:?}; {metrics:?}");
    assert!(metrics.steals > 0, "nothing was stolen: {metrics:?}");
}

/// An echo over `127.0.0.1` and `[::1]` (if the host has IPv6 loopback),
/// by name and by address.
fn addresses<Q: Queue>() {
    let rt = Runtime::<Q>::builder().worker_threads(1).build().unwrap();
    for addr in ["127.0.0.1:0", "[::1]:0", "localhost:0"] {
        let result = run(&rt, DEADLINE, "bind", async move { TcpListener::bind(addr).await });
        let listener = match result {
            Ok(listener) => listener,
            Err(error) if addr.starts_with('[') => {
                println!("no IPv6 loopback here ({error}): skipped");
                continue;
            }
            Err(error) => panic!("bind {addr}: {error}"),
        };
        let local: SocketAddr = listener.local_addr().unwrap();
        let echoed = run(&rt, DEADLINE, "an echo", async move {
            let mut client = TcpStream::connect(local).await.unwrap();
            let (mut server, peer) = listener.accept().await.unwrap();
            assert_eq!(peer, client.local_addr().unwrap());
            assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
            client.write_all(b"hi").await.unwrap();
            let mut buf = [0u8; 2];
            server.read_exact(&mut buf).await.unwrap();
            buf
        });
        assert_eq!(&echoed, b"hi", "{addr}");
    }
}

per_backend!(
    exact_buffer_then_more,
    write_resumes_when_drained,
    read_clear_keeps_write,
    write_clear_keeps_read,
    dropped_with_waker_registered,
    stolen_between_workers,
    addresses,
);
