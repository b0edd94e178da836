//! The I/O workloads, written once against [`Runner`] and a [`NetStack`]
//! (each contender names its own: see `contenders`): every socket is on
//! 127.0.0.1, every sample runs for a fixed time.
//!
//! - `tcp_echo`: an echo server and N client tasks on the runtime under
//!   test; each client sends a message and reads it back, again and again.
//!   The sample is round trips per second, with the round trips' p50, p99
//!   and p99.9. Its counting window (see `window`) runs from the moment the
//!   connected clients start to the moment the last one has stopped: the
//!   whole runtime, clients and server alike.
//! - `http_plaintext`: a hyper 1.x HTTP/1.1 keep-alive server answering
//!   `Hello, World!` (TechEmpower's plaintext shape) on the runtime under
//!   test, loaded by [`loadgen`] from a process of its own. The sample is
//!   requests per second, with their p50, p99 and p99.9 as the load
//!   generator saw them. Its counting window runs from the load generator's
//!   start (its connections open) to its report: the server alone.
//!
//! Neither waits on a timer of the runtime under test: the calling thread
//! sleeps, or waits for the load generator, and the tasks read the clock.

use std::{
    convert::Infallible,
    io,
    net::SocketAddr,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicUsize, Ordering::SeqCst},
    },
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use http_body_util::Full;

use crate::{
    loadgen,
    net::{self, NetStack},
    runner::{Runner, Spawner},
    stats::percentile,
    window::Window,
    workload::{Sizes, Workload},
};

/// One sample of an I/O workload.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IoSample {
    /// Round trips or requests per second.
    pub rate: f64,
    /// Median latency, in nanoseconds.
    pub p50_ns: f64,
    /// 99th percentile latency, in nanoseconds.
    pub p99_ns: f64,
    /// 99.9th percentile latency, in nanoseconds.
    pub p999_ns: f64,
    /// Round trips or requests completed in the sample.
    pub requests: u64,
    /// CPU time of the process over the counting window.
    pub cpu_ns: u64,
}

/// What an I/O sample needs beyond the runtime: the load generator's binary
/// (`http_plaintext`) and the counting window.
#[derive(Debug)]
pub struct IoSetup<'a> {
    /// The binary to run as the load generator (`loadgen::CHILD_ARG`).
    pub loadgen: Option<&'a std::path::Path>,
    /// Where the counts are taken.
    pub window: &'a mut Window,
}

/// How long the tasks of a finished sample may take to wind down (sockets
/// closed, connection tasks ended) before the sample is called a failure.
const WIND_DOWN: Duration = Duration::from_secs(5);

/// Runs one sample of the I/O `workload` for `duration` on `rt`, with
/// sockets from `N`.
///
/// # Panics
/// If `workload` is not an I/O workload ([`Workload::is_io`]).
pub fn sample<R: Runner, N: NetStack>(
    rt: &R,
    workload: Workload,
    sizes: &Sizes,
    duration: Duration,
    setup: IoSetup<'_>,
) -> anyhow::Result<IoSample> {
    match workload {
        Workload::TcpEcho => {
            tcp_echo::<R, N>(rt, sizes.echo_clients, sizes.echo_message, duration, setup.window)
        }
        Workload::HttpPlaintext => {
            let loadgen = setup.loadgen.ok_or_else(|| anyhow!("http_plaintext needs a load generator"))?;
            http_plaintext::<R, N>(rt, sizes.http_connections, duration, loadgen, setup.window)
        }
        other => panic!("{} is not an I/O workload", other.name()),
    }
}

fn tcp_echo<R: Runner, N: NetStack>(
    rt: &R,
    clients: usize,
    message: usize,
    duration: Duration,
    window: &mut Window,
) -> anyhow::Result<IoSample> {
    let spawner = rt.spawner();
    let live = Arc::new(AtomicUsize::new(0));
    let deadline: Arc<OnceLock<Instant>> = Arc::default();
    let (stop, stopped) = async_channel::bounded::<()>(1);
    // Closing `gate` starts every client at once, once all are connected.
    let (ready, connected) = async_channel::unbounded::<()>();
    let (gate, opened) = async_channel::bounded::<()>(1);

    let (latencies, start, end, cpu_ns) = rt.block_on(async {
        let listener = N::bind().await.context("bind the echo server")?;
        let addr = N::local_addr(&listener)?;
        let server = spawner.spawn(echo_server::<R::Spawner, N>(
            spawner.clone(),
            listener,
            stopped,
            message,
            live.clone(),
        ));
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let (ready, opened, deadline) = (ready.clone(), opened.clone(), deadline.clone());
                spawner.spawn(echo_client::<N>(addr, message, ready, opened, deadline))
            })
            .collect();
        drop(ready);
        // Until every client is connected, or the channel closes: every
        // client has sent or failed (its error comes below).
        while connected.recv().await.is_ok() {}
        window.begin()?;
        let start = Instant::now();
        let end = start + duration;
        deadline.set(end).expect("set once");
        drop(gate);
        let mut latencies = Vec::new();
        let mut failure = None;
        for task in tasks {
            match task.await {
                Ok(mine) => latencies.extend(mine),
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        let reading = window.end()?;
        drop(stop);
        server.await.context("the echo server's accept loop")?;
        if let Some(e) = failure {
            return Err(anyhow::Error::new(e).context("an echo client failed"));
        }
        Ok::<_, anyhow::Error>((latencies, start, end, reading.cpu_ns))
    })?;
    wind_down(&live, "echo connections")?;
    Ok(summarise(latencies, end - start, cpu_ns))
}

async fn echo_server<S: Spawner, N: NetStack>(
    spawner: S,
    listener: N::Listener,
    stopped: async_channel::Receiver<()>,
    message: usize,
    live: Arc<AtomicUsize>,
) -> io::Result<()> {
    while let Some(stream) = accept_until::<N>(&listener, &stopped).await {
        let mut stream = stream?;
        live.fetch_add(1, SeqCst);
        let live = live.clone();
        S::detach(spawner.spawn(async move {
            let mut buf = vec![0u8; message];
            // Ends when the client closes its end (or anything fails).
            while net::read_exact(&mut stream, &mut buf).await.is_ok() {
                if net::write_all(&mut stream, &buf).await.is_err() {
                    break;
                }
            }
            drop(stream);
            live.fetch_sub(1, SeqCst);
        }));
    }
    Ok(())
}

async fn echo_client<N: NetStack>(
    addr: SocketAddr,
    message: usize,
    ready: async_channel::Sender<()>,
    opened: async_channel::Receiver<()>,
    deadline: Arc<OnceLock<Instant>>,
) -> io::Result<Vec<u64>> {
    // A client that fails to connect drops `ready` unsent, so the others
    // still start (and its error ends the sample).
    let mut stream = N::connect(addr).await?;
    let _ = ready.send(()).await;
    drop(ready);
    let _ = opened.recv().await; // closed: go
    let deadline = *deadline.get().expect("set before the gate opens");
    let out = vec![0x5a; message];
    let mut back = vec![0u8; message];
    let mut latencies = Vec::with_capacity(1 << 14);
    loop {
        let sent = Instant::now();
        if sent >= deadline {
            return Ok(latencies);
        }
        net::write_all(&mut stream, &out).await?;
        net::read_exact(&mut stream, &mut back).await?;
        let done = Instant::now();
        if done <= deadline {
            latencies.push((done - sent).as_nanos() as u64);
        }
    }
}

fn http_plaintext<R: Runner, N: NetStack>(
    rt: &R,
    connections: usize,
    duration: Duration,
    loadgen: &std::path::Path,
    window: &mut Window,
) -> anyhow::Result<IoSample> {
    let spawner = rt.spawner();
    let live = Arc::new(AtomicUsize::new(0));
    let (stop, stopped) = async_channel::bounded::<()>(1);
    let (addr, server) = rt.block_on(async {
        let listener = N::bind().await.context("bind the HTTP server")?;
        let addr = N::local_addr(&listener)?;
        let server =
            spawner.spawn(http_server::<R::Spawner, N>(spawner.clone(), listener, stopped, live.clone()));
        Ok::<_, anyhow::Error>((addr, server))
    })?;
    let report = loadgen::run(loadgen, addr, connections, duration, window);
    drop(stop);
    rt.block_on(server).context("the HTTP server's accept loop")?;
    // The load generator has exited, so every connection is closing.
    wind_down(&live, "HTTP connections")?;
    let (report, reading) = report?;
    Ok(IoSample {
        rate: report.rate(),
        p50_ns: report.p50_ns as f64,
        p99_ns: report.p99_ns as f64,
        p999_ns: report.p999_ns as f64,
        requests: report.requests,
        cpu_ns: reading.cpu_ns,
    })
}

async fn http_server<S: Spawner, N: NetStack>(
    spawner: S,
    listener: N::Listener,
    stopped: async_channel::Receiver<()>,
    live: Arc<AtomicUsize>,
) -> io::Result<()> {
    while let Some(stream) = accept_until::<N>(&listener, &stopped).await {
        let io = N::hyper_io(stream?);
        live.fetch_add(1, SeqCst);
        let live = live.clone();
        S::detach(spawner.spawn(async move {
            // No timer, so no timeouts: none is needed for this load.
            let connection = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .header_read_timeout(None)
                .serve_connection(io, hyper::service::service_fn(hello));
            // The load generator closes connections mid-request at its end.
            let _ = connection.await;
            live.fetch_sub(1, SeqCst);
        }));
    }
    Ok(())
}

/// TechEmpower's plaintext response.
async fn hello(_: hyper::Request<hyper::body::Incoming>) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let mut response = hyper::Response::new(Full::new(Bytes::from_static(b"Hello, World!")));
    response
        .headers_mut()
        .insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("text/plain"));
    Ok(response)
}

/// The next accepted connection, or `None` once `stopped` is closed.
async fn accept_until<N: NetStack>(
    listener: &N::Listener,
    stopped: &async_channel::Receiver<()>,
) -> Option<io::Result<N::Stream>> {
    futures_lite::future::or(async { Some(N::accept(listener).await) }, async {
        let _ = stopped.recv().await;
        None
    })
    .await
}

/// Waits (on the calling thread) until `live` is back to zero.
fn wind_down(live: &AtomicUsize, what: &str) -> anyhow::Result<()> {
    let start = Instant::now();
    while live.load(SeqCst) > 0 {
        if start.elapsed() > WIND_DOWN {
            bail!(
                "{} {what} still open {}s after the clients closed theirs",
                live.load(SeqCst),
                WIND_DOWN.as_secs()
            );
        }
        thread::sleep(Duration::from_micros(200));
    }
    Ok(())
}

fn summarise(mut latencies: Vec<u64>, elapsed: Duration, cpu_ns: u64) -> IoSample {
    latencies.sort_unstable();
    IoSample {
        rate: latencies.len() as f64 / elapsed.as_secs_f64().max(1e-9),
        p50_ns: percentile(&latencies, 0.50) as f64,
        p99_ns: percentile(&latencies, 0.99) as f64,
        p999_ns: percentile(&latencies, 0.999) as f64,
        requests: latencies.len() as u64,
        cpu_ns,
    }
}
