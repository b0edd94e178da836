//! `http`: a hyper 1.x "Hello, World!" server and its keep-alive clients,
//! all tasks of one runtime, on the runtime's own sockets with no adaptor
//! (feature `hyper`: `runtime_core::net::TcpStream` is hyper's `Read` and
//! `Write`, `runtime_core::hyper::{Executor, Timer}` its executor and timer).
//!
//! Bounded in count ([`CLIENTS`] connections × [`REQUESTS`] requests) and in
//! time ([`DEADLINE`]); the server listens on an ephemeral port. Prints the
//! requests per second, the p50 and p99 of a request, and what the I/O
//! driver did for them.

use std::{
    convert::Infallible,
    net::{Ipv4Addr, SocketAddr},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::{Request, Response, body::Incoming};
use runtime_core::{
    Metrics, Queue,
    net::{TcpListener, TcpStream},
    spawn, time,
};

use crate::{
    report::{percentile, show},
    settings::Settings,
};

/// Keep-alive connections, each sending its requests one after another.
const CLIENTS: usize = 32;
const REQUESTS: usize = 200;
/// The body every request gets.
const BODY: &str = "Hello, World!";
/// The whole exchange must finish within this.
const DEADLINE: Duration = Duration::from_secs(20);

/// Runs the scene; returns the runtime's metrics at its end.
pub fn run<Q: Queue>(settings: &Settings) -> anyhow::Result<Metrics> {
    let rt = settings.runtime::<Q>()?;
    let before = rt.metrics();
    rt.block_on(async {
        match time::timeout(DEADLINE, exchange()).await {
            Ok(done) => done,
            Err(_) => bail!("the HTTP exchange did not finish within {DEADLINE:?}"),
        }
    })?;
    let metrics = rt.metrics();
    let requests = (CLIENTS * REQUESTS) as f64;
    println!(
        "   per request: {:.2} readiness events, {:.3} reads or writes that found the socket not ready; \
         {} sockets registered once each",
        (metrics.io_ready_events - before.io_ready_events) as f64 / requests,
        (metrics.io_would_block - before.io_would_block) as f64 / requests,
        metrics.io_registered - before.io_registered,
    );
    Ok(metrics)
}

/// Starts the server, runs every client, and reports.
async fn exchange() -> anyhow::Result<()> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.context("bind 127.0.0.1")?;
    let addr = listener.local_addr()?;
    spawn(serve(listener)).detach();
    println!("   hyper server on http://{addr}/; {CLIENTS} keep-alive clients send {REQUESTS} requests each");

    let start = Instant::now();
    let clients: Vec<_> = (0..CLIENTS).map(|id| spawn(client(addr, id))).collect();
    let mut latencies = Vec::with_capacity(CLIENTS * REQUESTS);
    for client in clients {
        latencies.extend(client.await?);
    }
    let elapsed = start.elapsed();
    latencies.sort_unstable();
    println!(
        "   {} requests in {} ms: {:.0} requests/s",
        latencies.len(),
        elapsed.as_millis(),
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "   request: p50 {}, p99 {}",
        show(percentile(&latencies, 50)),
        show(percentile(&latencies, 99))
    );
    Ok(())
}

/// Accepts connections for as long as the runtime runs, one hyper
/// connection task each (the runtime's shutdown drops them).
async fn serve(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(runtime_core::hyper::Timer::new())
                .serve_connection(stream, hyper::service::service_fn(hello));
            // A client that closes mid-request ends its connection: nothing to report.
            let _ = connection.await;
        })
        .detach();
    }
}

async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(BODY.as_bytes()))))
}

/// One keep-alive connection: `REQUESTS` requests one after the other;
/// returns how long each took.
async fn client(addr: SocketAddr, id: usize) -> anyhow::Result<Vec<Duration>> {
    let stream = TcpStream::connect(addr).await.with_context(|| format!("client {id}: connect"))?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(stream).await?;
    spawn(async move {
        let _ = connection.await;
    })
    .detach();
    let mut latencies = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let request = Request::get(format!("http://{addr}/")).body(Empty::<Bytes>::new())?;
        let sent = Instant::now();
        // The previous response's end reached the connection task first.
        sender.ready().await.with_context(|| format!("client {id}: connection"))?;
        let response = sender.send_request(request).await.with_context(|| format!("client {id}: request"))?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        latencies.push(sent.elapsed());
        if !status.is_success() || body != BODY.as_bytes() {
            bail!("client {id}: got {status} {body:?}, expected 200 {BODY:?}");
        }
    }
    Ok(latencies)
}
