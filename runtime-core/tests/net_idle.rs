//! Feature `net`: an idle runtime with 10 000 idle connections wakes
//! nobody for a second. The server (an accept loop and a task per
//! connection waiting in `read`) is this process; the clients are held by a
//! child process (this test binary again, running `hold_clients`), so that
//! each process needs only some 10 000 descriptors. Alone in its binary,
//! one test at a time, because it reads the CPU time of the whole process
//! (Linux: /proc/self/stat).
//!
//! (The idle check also has a timer an hour away: the timers land
//! apart from the driver, and this test gains one when they do.)
#![cfg(all(feature = "net", target_os = "linux", not(miri), not(loom)))]

mod net_common;

use std::{
    io::{BufRead, BufReader, Read, Write},
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering::SeqCst},
    },
    time::Duration,
};

use futures_lite::AsyncReadExt;
use net_common::{cpu_ticks, raise_fd_limit, wait_until};
use runtime_core::net::TcpListener;

const CONNECTIONS: usize = 10_000;
/// Where the child connects to (set only in the child).
const ADDR_ENV: &str = "RUNTIME_CORE_NET_IDLE_ADDR";
/// The line the child prints once every client is connected.
const READY: &str = "hold_clients: connected";

/// Kills the child if the test fails before it ends it.
struct Holder(Child);

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn idle_with_connections<Q: runtime_core::Queue>(name: &str) {
    // Each process holds one end of every connection, plus its own.
    if let Err(reason) = raise_fd_limit(CONNECTIONS as u64 + 256) {
        println!("{name}: skipped: {reason}");
        return;
    }
    let rt = runtime_core::Runtime::<Q>::builder().worker_threads(2).build().unwrap();
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let reading = Arc::new(AtomicUsize::new(0));
    let woke = Arc::new(AtomicUsize::new(0));
    rt.spawn({
        let (reading, woke) = (reading.clone(), woke.clone());
        async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let (reading, woke) = (reading.clone(), woke.clone());
                runtime_core::spawn(async move {
                    reading.fetch_add(1, SeqCst);
                    let _ = stream.read(&mut [0u8; 16]).await;
                    woke.fetch_add(1, SeqCst);
                })
                .detach();
            }
        }
    })
    .detach();

    let child = Command::new(std::env::current_exe().unwrap())
        .args(["hold_clients", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(ADDR_ENV, addr.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the child that holds the clients");
    let mut holder = Holder(child);
    let stdout = holder.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.contains(READY) {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(120)).unwrap_or_else(|_| {
        panic!("{name}: the child did not connect its {CONNECTIONS} clients: {:?}", rt.metrics())
    });
    wait_until(
        Duration::from_secs(60),
        "a server task per connection waiting in read",
        || reading.load(SeqCst) == CONNECTIONS,
        || format!("{name}: {} of {CONNECTIONS}; {:?}", reading.load(SeqCst), rt.metrics()),
    );
    // Let every thread settle (the last reads register their wakers).
    std::thread::sleep(Duration::from_millis(200));
    let before = cpu_ticks();
    let metrics_before = rt.metrics();
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_ticks() - before;
    let metrics = rt.metrics();
    println!("{name}: {used} ticks in one idle second; before {metrics_before:?}, after {metrics:?}");
    assert!(
        used <= 2,
        "{name}: a runtime idle with {CONNECTIONS} connections used {used} ticks of CPU in a second"
    );
    assert_eq!(metrics.parks, metrics_before.parks, "{name}: a worker woke up while idle");
    assert_eq!(metrics.polls, metrics_before.polls, "{name}: something ran while idle");
    assert_eq!(
        metrics.io_ready_events, metrics_before.io_ready_events,
        "{name}: the driver dispatched events"
    );
    assert_eq!(woke.load(SeqCst), 0, "{name}: a read returned");
    assert_eq!(metrics.io_registered, CONNECTIONS as u64 + 1, "{name}: {metrics:?}");
    // Closing stdin ends the child, which closes every client: each server
    // task reads EOF.
    drop(holder.0.stdin.take());
    let status = holder.0.wait().unwrap();
    assert!(status.success(), "{name}: the child failed: {status}");
    wait_until(
        Duration::from_secs(60),
        "every server task to read EOF",
        || woke.load(SeqCst) == CONNECTIONS,
        || format!("{name}: {} of {CONNECTIONS}; {:?}", woke.load(SeqCst), rt.metrics()),
    );
    drop(rt);
}

#[test]
fn idle_runtime_with_connections_wakes_nobody() {
    idle_with_connections::<queue_flume::FlumeQueue>("flume");
    idle_with_connections::<queue_crossbeam::CrossbeamQueue>("crossbeam");
    idle_with_connections::<queue_mutex::MutexQueue>("mutex");
}

/// The child's side (run only by `idle_with_connections`, through
/// `--ignored`): connects the clients, says so, and holds them until its
/// stdin closes.
#[test]
#[ignore = "the child process of idle_runtime_with_connections_wakes_nobody"]
fn hold_clients() {
    let Ok(addr) = std::env::var(ADDR_ENV) else {
        println!("{ADDR_ENV} is not set: nothing to do outside the idle test");
        return;
    };
    raise_fd_limit(CONNECTIONS as u64 + 256).unwrap();
    let clients: Vec<std::net::TcpStream> = (0..CONNECTIONS)
        .map(|i| std::net::TcpStream::connect(&addr).unwrap_or_else(|e| panic!("client {i}: {e}")))
        .collect();
    println!("{READY}");
    std::io::stdout().flush().unwrap();
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
    drop(clients);
}
