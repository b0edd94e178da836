//! Feature `hyper`: a hyper 1.x HTTP/1.1 server and client on the
//! runtime's own sockets with nothing else added (no adaptor, no
//! hyper-util), keep-alive, 1 000 requests, on every backend; and
//! `runtime_core::hyper::Executor`.
#![cfg(all(feature = "hyper", unix, not(miri), not(loom)))]

mod common;
mod io_common;
mod net_common;

use std::{
    convert::Infallible,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering::SeqCst},
    },
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use common::per_backend;
use http_body_util::{BodyExt, Full};
use io_common::DropCount;
use net_common::{run, wait_until};
use runtime_core::{
    Queue, Runtime,
    hyper::Executor,
    net::{TcpListener, TcpStream},
};

const REQUESTS: usize = 1000;
const DEADLINE: Duration = Duration::from_secs(60);

async fn hello(
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let body = format!("Hello, {}!", request.uri().path().trim_start_matches('/'));
    Ok(hyper::Response::new(Full::new(Bytes::from(body))))
}

/// An HTTP/1.1 server: a task per connection serving `hello`.
async fn serve(listener: TcpListener, connections: Arc<AtomicUsize>) {
    loop {
        let (stream, _) = listener.accept().await.unwrap();
        stream.set_nodelay(true).unwrap();
        connections.fetch_add(1, SeqCst);
        runtime_core::spawn(async move {
            hyper::server::conn::http1::Builder::new()
                .serve_connection(stream, hyper::service::service_fn(hello))
                .await
                .unwrap();
        })
        .detach();
    }
}

/// 1 000 requests over one keep-alive connection, from hyper's client on
/// the same runtime: each answer is the right one, one connection served
/// them all, and in steady state the driver registers nothing and no read
/// or write returns `WouldBlock`.
fn keep_alive_requests<Q: Queue>() {
    let rt = Runtime::<Q>::builder().worker_threads(2).build().unwrap();
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    rt.spawn(serve(listener, connections.clone())).detach();
    let counters = run(&rt, DEADLINE, "1 000 requests over one connection", async move {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(stream).await.unwrap();
        runtime_core::spawn(async move {
            let _ = connection.await;
        })
        .detach();
        let mut before = None;
        for i in 0..REQUESTS {
            if i == 10 {
                before = Some(runtime_core::Handle::current().metrics());
            }
            // The connection task takes the last response's end first.
            sender.ready().await.unwrap();
            let request = hyper::Request::get(format!("/{i}")).body(Full::new(Bytes::new())).unwrap();
            let response = sender.send_request(request).await.unwrap();
            assert_eq!(response.status(), hyper::StatusCode::OK);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body, format!("Hello, {i}!").as_bytes());
        }
        let after = runtime_core::Handle::current().metrics();
        (before.unwrap(), after)
    });
    assert_eq!(connections.load(SeqCst), 1, "keep-alive: one connection for every request");
    let (before, after) = counters;
    let requests = (REQUESTS - 10) as f64;
    println!(
        "{}: {} requests: {:.2} readiness events, {:.3} WouldBlock, {} registrations per request",
        std::any::type_name::<Q>(),
        REQUESTS - 10,
        (after.io_ready_events - before.io_ready_events) as f64 / requests,
        (after.io_would_block - before.io_would_block) as f64 / requests,
        after.io_registered - before.io_registered,
    );
    assert_eq!(after.io_registered, before.io_registered, "a registration in steady state");
    assert_eq!(
        after.io_would_block, before.io_would_block,
        "a read or write returned WouldBlock in steady state"
    );
}

/// The same server over a Unix stream (hyper's traits on `UnixStream`).
fn unix_stream_requests<Q: Queue>() {
    use runtime_core::net::{UnixListener, UnixStream};
    let rt = Runtime::<Q>::builder().worker_threads(2).build().unwrap();
    let path = std::env::temp_dir().join(format!(
        "runtime-core-hyper-{}-{}.sock",
        std::process::id(),
        std::any::type_name::<Q>().len()
    ));
    let _ = std::fs::remove_file(&path);
    let served = path.clone();
    run(&rt, DEADLINE, "requests over a Unix stream", async move {
        let listener = UnixListener::bind(&served).unwrap();
        runtime_core::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(stream, hyper::service::service_fn(hello))
                .await;
        })
        .detach();
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(UnixStream::connect(&served).await.unwrap()).await.unwrap();
        runtime_core::spawn(async move {
            let _ = connection.await;
        })
        .detach();
        for i in 0..100 {
            sender.ready().await.unwrap();
            let request = hyper::Request::get(format!("/unix{i}")).body(Full::new(Bytes::new())).unwrap();
            let body = sender.send_request(request).await.unwrap().into_body().collect().await.unwrap();
            assert_eq!(body.to_bytes(), format!("Hello, unix{i}!").as_bytes());
        }
    });
    std::fs::remove_file(&path).unwrap();
}

/// hyper's `Executor` spawns on the current runtime (or the one it was
/// given); on a runtime that shut down the future is dropped, not run, and
/// nothing panics.
fn executor<Q: Queue>() {
    use hyper::rt::Executor as _;
    let rt = Runtime::<Q>::builder().worker_threads(1).build().unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let ran_inside = ran.clone();
    rt.block_on(async move {
        Executor::new().execute(async move {
            ran_inside.fetch_add(1, SeqCst);
        });
    });
    let on = Executor::on(rt.handle());
    let ran_on = ran.clone();
    on.execute(async move {
        ran_on.fetch_add(1, SeqCst);
    });
    wait_until(DEADLINE, "both executed futures to run", || ran.load(SeqCst) == 2, String::new);
    assert!(format!("{on:?}").contains("Executor"));

    let handle = rt.handle();
    drop(rt);
    let dropped = Arc::new(AtomicUsize::new(0));
    let guard = DropCount(dropped.clone());
    Executor::on(handle).execute(async move {
        let _guard = guard;
        panic!("ran on a runtime that shut down");
    });
    assert_eq!(dropped.load(SeqCst), 1, "the future was not dropped at once");
}

#[test]
#[should_panic(expected = "runtime_core::hyper::Executor::execute called outside a runtime")]
fn executor_outside_a_runtime_panics() {
    use hyper::rt::Executor as _;
    Executor::new().execute(std::future::ready(()));
}

/// The read goes straight into hyper's uninitialised buffer: a `Read` impl
/// check with a cursor over `MaybeUninit` bytes.
fn read_into_uninit<Q: Queue>() {
    let rt = Runtime::<Q>::builder().worker_threads(1).build().unwrap();
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let read = run(&rt, DEADLINE, "a read through hyper's Read", async move {
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        std::io::Write::write_all(&mut client, b"uninit").unwrap();
        let mut storage = [std::mem::MaybeUninit::<u8>::uninit(); 64];
        let mut buf = hyper::rt::ReadBuf::uninit(&mut storage);
        std::future::poll_fn(|cx| ReadOnce(&mut server).poll(cx, buf.unfilled())).await.unwrap();
        buf.filled().to_vec()
    });
    assert_eq!(read, b"uninit");
}

/// Polls `hyper::rt::Read::poll_read` on a stream.
struct ReadOnce<'a>(&'a mut TcpStream);

impl ReadOnce<'_> {
    fn poll(
        &mut self,
        cx: &mut Context<'_>,
        cursor: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        hyper::rt::Read::poll_read(Pin::new(&mut *self.0), cx, cursor)
    }
}

per_backend!(keep_alive_requests, unix_stream_requests, executor, read_into_uninit);
