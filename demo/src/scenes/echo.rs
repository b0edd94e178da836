//! `echo`: a TCP echo server on 127.0.0.1 and a few hundred clients, all
//! tasks of one runtime, on real loopback sockets: the runtime's own
//! (`runtime_core::net`, feature `net`), registered once with its I/O
//! driver, in which idle workers wait.
//!
//! Bounded in count ([`CLIENTS`] × [`ROUNDS`] requests) and in time
//! ([`DEADLINE`]); the server listens on an ephemeral port.

use std::{
    net::Ipv4Addr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use runtime_core::{
    Metrics, Priority, Queue,
    net::{TcpListener, TcpStream},
    spawn, spawn_with, time,
};

use crate::{
    report::{percentile, show},
    settings::Settings,
};

/// Concurrent client tasks, and the requests each sends in turn.
const CLIENTS: usize = 200;
const ROUNDS: usize = 5;
/// Connections opened and not yet accepted, at most (below the listen backlog).
const WINDOW: usize = 64;
/// The request size in bytes.
const MESSAGE: usize = 32;
/// The whole exchange must finish within this.
const DEADLINE: Duration = Duration::from_secs(10);

/// Runs the scene; returns the runtime's metrics at its end.
pub fn run<Q: Queue>(settings: &Settings) -> anyhow::Result<Metrics> {
    let rt = settings.runtime::<Q>()?;
    rt.block_on(async {
        match time::timeout(DEADLINE, exchange()).await {
            Ok(done) => done,
            Err(_) => bail!("the echo exchange did not finish within {DEADLINE:?}"),
        }
    })?;
    let metrics = rt.metrics();
    // Readiness events reach the tasks from the workers themselves (the one
    // waiting in the driver, or a busy one polling it), not from a thread of
    // the driver's own; each socket was registered once.
    println!(
        "   sockets registered with the driver: {}; readiness events: {}; reads that found nothing: {}",
        metrics.io_registered, metrics.io_ready_events, metrics.io_would_block
    );
    println!(
        "   wakes dispatched by the workers from the I/O driver: {}; scheduled from other threads: {}",
        metrics.reactor_wakes, metrics.remote_schedules
    );
    Ok(metrics)
}

/// Starts the server, runs every client, and reports.
async fn exchange() -> anyhow::Result<()> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.context("bind 127.0.0.1")?;
    let addr = listener.local_addr()?;
    let accepted = Arc::new(AtomicUsize::new(0));
    // The accept loop runs at High priority, ahead of queued client work.
    let server = spawn_with(Priority::High, serve(listener, accepted.clone()));
    println!("   server on {addr}; {CLIENTS} client tasks send {ROUNDS} requests of {MESSAGE} bytes each");

    // Linux drops new SYNs while 128 connections wait to be accepted, and the
    // client retries a second later; a loaded machine can leave the accept
    // loop that far behind. So connections are opened one after another,
    // never more than `WINDOW` ahead of the accept loop; the exchanges then
    // run concurrently.
    let start = Instant::now();
    let mut clients = Vec::with_capacity(CLIENTS);
    for id in 0..CLIENTS {
        while id >= accepted.load(Ordering::Acquire) + WINDOW {
            time::sleep(Duration::from_millis(1)).await;
        }
        let stream = TcpStream::connect(addr).await.with_context(|| format!("client {id}: connect"))?;
        clients.push(spawn(client(stream, id)));
    }
    let mut round_trips = Vec::with_capacity(CLIENTS * ROUNDS);
    for client in clients {
        round_trips.extend(client.await?);
    }
    let served = server.await?;
    let elapsed = start.elapsed();

    round_trips.sort_unstable();
    println!(
        "   {served} requests served in {} ms: {:.0} requests/s",
        elapsed.as_millis(),
        served as f64 / elapsed.as_secs_f64()
    );
    println!(
        "   round trip: p50 {}, p99 {}",
        show(percentile(&round_trips, 50)),
        show(percentile(&round_trips, 99))
    );
    Ok(())
}

/// Accepts the clients' connections, one echo task each, and returns the
/// number of requests served once every client has closed.
async fn serve(listener: TcpListener, accepted: Arc<AtomicUsize>) -> anyhow::Result<u64> {
    let mut connections = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let (stream, _) = listener.accept().await?;
        connections.push(spawn(echo(stream)));
        accepted.fetch_add(1, Ordering::Release);
    }
    let mut bytes = 0;
    for connection in connections {
        bytes += connection.await?;
    }
    Ok(bytes / MESSAGE as u64)
}

/// Writes back whatever arrives until the client closes; returns the
/// number of bytes echoed.
async fn echo(mut stream: TcpStream) -> std::io::Result<u64> {
    stream.set_nodelay(true)?;
    let mut buf = [0; 1024];
    let mut echoed = 0;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(echoed);
        }
        stream.write_all(&buf[..n]).await?;
        echoed += n as u64;
    }
}

/// Sends `ROUNDS` requests one after the other; returns their round trips.
async fn client(mut stream: TcpStream, id: usize) -> anyhow::Result<Vec<Duration>> {
    stream.set_nodelay(true)?;
    let mut round_trips = Vec::with_capacity(ROUNDS);
    let mut reply = [0; MESSAGE];
    for round in 0..ROUNDS {
        let request = [(id + round) as u8; MESSAGE];
        let sent = Instant::now();
        stream.write_all(&request).await?;
        stream.read_exact(&mut reply).await.with_context(|| format!("client {id}: read"))?;
        round_trips.push(sent.elapsed());
        if reply != request {
            bail!("client {id}: the echo differs from the request");
        }
    }
    Ok(round_trips)
}
