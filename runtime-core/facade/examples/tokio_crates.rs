//! Crates that only run on tokio (reqwest, `tokio::time`), on this runtime
//! through `async-compat`, measured against the same workload on a plain
//! tokio runtime in the same run.
//!
//! ```text
//! cargo run -p pluggable-runtime --example tokio_crates            # both, interleaved; prints requests/s
//! cargo run -p pluggable-runtime --example tokio_crates -- --serve # the server alone, for curl on :3000
//! ```
//!
//! A tokio-only crate panics on this runtime with "there is no reactor
//! running, must be called from the context of a Tokio 1.x runtime" (the
//! runtime appends a hint naming async-compat). Wrap the future that
//! *creates* the tokio resources in `async_compat::Compat`:
//! `Compat::new(async { reqwest::get(url).await })` or
//! `Compat::new(async { tokio::time::sleep(d).await })`. The trap:
//! `tokio::time::sleep(d).compat()` still panics, because `sleep(d)` builds
//! its timer before the wrapper exists.
//!
//! What runs where: the wrapped future itself (building the request,
//! awaiting the response, reading the body) runs on this runtime's
//! workers. Everything tokio owns runs on async-compat's one thread,
//! `async-compat/tokio-1`, a current-thread tokio runtime started on first
//! use: its I/O driver and timer wheel, and the tasks hyper-util spawns
//! with `tokio::spawn` (reqwest's connections, which read and write the
//! sockets). That thread wakes our tasks from outside, through the shared
//! queue.
//!
//! Dependencies: `pluggable-runtime = { path = "…", features = ["hyper"] }`,
//! `async-compat = "0.2"`, `reqwest = { version = "0.13", default-features = false }`
//! (no TLS: the server is on 127.0.0.1), `tokio = { version = "1", features = ["time"] }`;
//! the server is `hello_hyper`'s (`hyper`, `http-body-util`, `bytes`).

use std::{
    convert::Infallible,
    error::Error,
    future::Future,
    time::{Duration, Instant},
};

use async_compat::Compat;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, body::Incoming, server::conn::http1, service::service_fn};
use pluggable_runtime::net::TcpListener;

/// Errors, which may cross tasks.
type BoxError = Box<dyn Error + Send + Sync>;

/// Concurrent users of one `reqwest::Client`, each making its requests one
/// after the other.
pub(crate) const USERS: usize = 8;

/// `hello_hyper`'s handler: `GET /NAME` answers `Hello, NAME!`.
async fn hello(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let name = request.uri().path().trim_start_matches('/').to_owned();
    Ok(Response::new(Full::new(Bytes::from(format!("Hello, {name}!")))))
}

/// `hello_hyper`'s server, natively on this runtime.
async fn serve(listener: TcpListener) {
    loop {
        let Ok((stream, _peer)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        pluggable_runtime::spawn(async move {
            let _ = http1::Builder::new().serve_connection(stream, service_fn(hello)).await;
        })
        .detach();
    }
}

/// One user: a tokio timer, then `requests` GETs with reqwest, each answer
/// checked. Runtime-agnostic code: it needs tokio's context to be entered,
/// by a tokio runtime or by `Compat`.
async fn user(
    client: reqwest::Client,
    base: String,
    user: usize,
    requests: usize,
) -> Result<Duration, BoxError> {
    let before = Instant::now();
    tokio::time::sleep(Duration::from_millis(2)).await;
    let slept = before.elapsed();
    for i in 0..requests {
        let name = format!("u{user}r{i}");
        let body = client.get(format!("{base}{name}")).send().await?.error_for_status()?.text().await?;
        if body != format!("Hello, {name}!") {
            return Err(format!("GET /{name}: {body:?}").into());
        }
    }
    Ok(slept)
}

/// What one round of `USERS` users measured.
#[derive(Debug, Clone, Copy)]
struct Round {
    requests_per_s: f64,
    /// The longest of the users' 2 ms sleeps.
    slept: Duration,
}

/// Runs `USERS` users as tasks spawned by `spawn`, awaits them all.
async fn users<T>(requests: usize, spawn: impl Fn(usize) -> T) -> Result<Round, BoxError>
where
    T: Future<Output = Result<Result<Duration, BoxError>, BoxError>>,
{
    let start = Instant::now();
    let tasks: Vec<T> = (0..USERS).map(&spawn).collect();
    let mut slept = Duration::ZERO;
    for task in tasks {
        slept = slept.max(task.await??);
    }
    let elapsed = start.elapsed();
    Ok(Round { requests_per_s: (USERS * requests) as f64 / elapsed.as_secs_f64(), slept })
}

/// One round on this runtime: each user a task whose future is wrapped in
/// `Compat`.
fn compat_round(
    rt: &pluggable_runtime::Runtime,
    client: &reqwest::Client,
    base: &str,
    requests: usize,
) -> Result<Round, BoxError> {
    rt.block_on(users(requests, |u| {
        let task = pluggable_runtime::spawn(Compat::new(user(client.clone(), base.to_owned(), u, requests)));
        async move { Ok::<_, BoxError>(task.await) }
    }))
}

/// The same round on a plain tokio runtime.
fn tokio_round(
    rt: &tokio::runtime::Runtime,
    client: &reqwest::Client,
    base: &str,
    requests: usize,
) -> Result<Round, BoxError> {
    rt.block_on(users(requests, |u| {
        let task = tokio::spawn(user(client.clone(), base.to_owned(), u, requests));
        async move { Ok::<_, BoxError>(task.await?) }
    }))
}

/// The median of some rates.
fn median(mut rates: Vec<f64>) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

/// What a whole run measured: medians of the interleaved rounds (`pub(crate)`:
/// `tests/examples.rs` runs it too).
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) compat: f64,
    pub(crate) tokio: f64,
    pub(crate) compat_slept: Duration,
    pub(crate) requests: usize,
}

/// The whole round trip: the server on a free port of 127.0.0.1 (on this
/// runtime), then `rounds` rounds of `USERS` users making
/// `requests_per_user` requests each, on this runtime through `Compat` and
/// on a tokio runtime with as many workers, in turn.
pub(crate) fn round_trip(
    workers: usize,
    rounds: usize,
    requests_per_user: usize,
) -> Result<Report, BoxError> {
    let rt = pluggable_runtime::Runtime::builder().worker_threads(workers).build()?;
    let tokio_rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build()?;
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0"))?;
    let base = format!("http://{}/", listener.local_addr()?);
    let server = rt.spawn(serve(listener));
    // One client per side, reused by every round: its pooled connections
    // live in the tokio runtime that opened them.
    let (compat_client, tokio_client) = (reqwest::Client::new(), reqwest::Client::new());
    let (mut compat, mut tokio, mut compat_slept) = (Vec::new(), Vec::new(), Duration::ZERO);
    for _ in 0..rounds {
        let round = compat_round(&rt, &compat_client, &base, requests_per_user)?;
        compat.push(round.requests_per_s);
        compat_slept = compat_slept.max(round.slept);
        tokio.push(tokio_round(&tokio_rt, &tokio_client, &base, requests_per_user)?.requests_per_s);
    }
    drop(server);
    Ok(Report {
        compat: median(compat),
        tokio: median(tokio),
        compat_slept,
        requests: rounds * USERS * requests_per_user,
    })
}

fn main() -> Result<(), BoxError> {
    if std::env::args().any(|arg| arg == "--serve") {
        let rt = pluggable_runtime::Runtime::new()?;
        return rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:3000").await?;
            println!(
                "serving on http://{}/ (try: curl http://127.0.0.1:3000/you); Ctrl-C stops it",
                listener.local_addr()?
            );
            serve(listener).await;
            Ok(())
        });
    }
    let report = round_trip(2, 5, 100)?;
    println!(
        "reqwest + tokio::time::sleep through async-compat on pluggable-runtime: every answer checked, \
         the 2 ms sleeps took at most {:.1?}",
        report.compat_slept
    );
    println!(
        "{} requests per side ({USERS} users, 5 interleaved rounds, medians): async-compat {:.0} requests/s, \
         plain tokio {:.0} requests/s (tokio / compat = {:.2}x)",
        report.requests,
        report.compat,
        report.tokio,
        report.tokio / report.compat
    );
    Ok(())
}
