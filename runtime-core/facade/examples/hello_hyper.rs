//! A hyper 1.x server and client on `pluggable_runtime::net`, with no
//! adaptor crate: the feature `hyper` makes the runtime's `TcpStream`
//! implement hyper's `Read` and `Write`, and gives hyper an `Executor` and a
//! `Timer` (`pluggable_runtime::hyper`).
//!
//! ```text
//! cargo run -p pluggable-runtime --example hello_hyper            # round trip, prints requests/s
//! cargo run -p pluggable-runtime --example hello_hyper -- --serve # then: curl http://127.0.0.1:3000/you
//! ```
//!
//! Dependencies: `pluggable-runtime = { path = "…", features = ["hyper"] }`,
//! `hyper = { version = "1", features = ["http1", "server", "client"] }`,
//! `http-body-util = "0.1"`, `bytes = "1"`.

use std::{
    convert::Infallible,
    error::Error,
    net::SocketAddr,
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::{Request, Response, body::Incoming, server::conn::http1, service::service_fn};
use pluggable_runtime::net::{TcpListener, TcpStream};

/// Errors of the client side, which may cross tasks.
type BoxError = Box<dyn Error + Send + Sync>;

/// Answers `GET /NAME` with `Hello, NAME!`.
async fn hello(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let name = request.uri().path().trim_start_matches('/');
    let name = if name.is_empty() { "World" } else { name };
    Ok(Response::new(Full::new(Bytes::from(format!("Hello, {name}!")))))
}

/// Accepts connections until the task is dropped, serving each on a task
/// of its own.
async fn serve(listener: TcpListener) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                eprintln!("accept failed: {error}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        pluggable_runtime::spawn(async move {
            let connection = http1::Builder::new()
                .timer(pluggable_runtime::hyper::Timer::new())
                .serve_connection(stream, service_fn(hello));
            if let Err(error) = connection.await {
                eprintln!("connection failed: {error}");
            }
        })
        .detach();
    }
}

/// `requests` GETs over one keep-alive connection from hyper's client;
/// checks every answer and returns the first one's body.
async fn client(addr: SocketAddr, requests: usize) -> Result<String, BoxError> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(stream).await?;
    // The connection's I/O runs on a task of its own; it ends when
    // `sender` is dropped.
    pluggable_runtime::spawn(connection).detach();
    let mut first = None;
    for i in 0..requests {
        sender.ready().await?;
        let request = Request::get(format!("http://{addr}/user{i}")).body(Empty::<Bytes>::new())?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = String::from_utf8(response.into_body().collect().await?.to_bytes().to_vec())?;
        if status != hyper::StatusCode::OK || body != format!("Hello, user{i}!") {
            return Err(format!("request {i}: {status} {body:?}").into());
        }
        first.get_or_insert(body);
    }
    first.ok_or_else(|| "no request made".into())
}

/// What a round trip measured (`pub(crate)`: `tests/examples.rs` runs it too).
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) requests: usize,
    pub(crate) first_body: String,
    pub(crate) elapsed: Duration,
}

/// The whole round trip: a server on a free port of 127.0.0.1, and
/// `requests` calls to it; the server stops when this returns.
pub(crate) async fn round_trip(requests: usize) -> Result<Report, BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = pluggable_runtime::spawn(serve(listener));
    let start = Instant::now();
    let first_body = client(addr, requests).await?;
    let elapsed = start.elapsed();
    drop(server); // cancels the accept loop
    Ok(Report { requests, first_body, elapsed })
}

#[pluggable_runtime::main]
async fn main() -> Result<(), BoxError> {
    if std::env::args().any(|arg| arg == "--serve") {
        let listener = TcpListener::bind("127.0.0.1:3000").await?;
        println!(
            "serving on http://{}/ (try: curl http://127.0.0.1:3000/you); Ctrl-C stops it",
            listener.local_addr()?
        );
        serve(listener).await;
        return Ok(());
    }
    let report = round_trip(2000).await?;
    println!("hyper client said GET /user0, the server answered {:?}", report.first_body);
    println!(
        "{} requests over one keep-alive connection in {:.0?}: {:.0} requests/s",
        report.requests,
        report.elapsed,
        report.requests as f64 / report.elapsed.as_secs_f64()
    );
    Ok(())
}
