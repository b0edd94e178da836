//! An axum `Router` (routes, a path parameter, a JSON extractor, shared
//! state) served through hyper on `pluggable_runtime::net`. axum's own
//! `serve` is tokio-only; the twelve lines of `serve` below take its place:
//! an accept loop, a task per connection, and hyper calling the router
//! through `tower_service::Service`.
//!
//! ```text
//! cargo run -p pluggable-runtime --example axum             # round trip, prints requests/s
//! cargo run -p pluggable-runtime --example axum -- --serve  # then:
//! curl http://127.0.0.1:3000/hello/you
//! curl -H 'content-type: application/json' -d '{"values":[1,2,3]}' http://127.0.0.1:3000/sum
//! curl http://127.0.0.1:3000/stats
//! ```
//!
//! Dependencies: `pluggable-runtime = { path = "…", features = ["hyper"] }`,
//! `axum = { version = "0.8", default-features = false, features = ["json"] }`,
//! `hyper = { version = "1", features = ["http1", "server", "client"] }`,
//! `tower-service = "0.3"`, `serde`, `serde_json`, `http-body-util`, `bytes`.

use std::{
    error::Error,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    extract::{Path, State},
    routing::{get, post},
};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode, body::Incoming, server::conn::http1, service::service_fn};
use pluggable_runtime::net::{TcpListener, TcpStream};
use serde::{Deserialize, Serialize};
use tower_service::Service;

/// Errors of the client side, which may cross tasks.
type BoxError = Box<dyn Error + Send + Sync>;

/// The state every handler shares.
#[derive(Clone, Default)]
struct AppState {
    sums: Arc<AtomicU64>,
}

#[derive(Deserialize)]
struct Numbers {
    values: Vec<i64>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(crate) struct Sum {
    pub(crate) sum: i64,
    /// Sums computed so far, this one included (from the shared state).
    pub(crate) sums_so_far: u64,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(crate) struct Stats {
    pub(crate) sums: u64,
}

/// The application: what would be the same on tokio.
fn app() -> Router {
    Router::new()
        .route("/hello/{name}", get(|Path(name): Path<String>| async move { format!("Hello, {name}!") }))
        .route(
            "/sum",
            post(|State(state): State<AppState>, Json(numbers): Json<Numbers>| async move {
                let sums_so_far = state.sums.fetch_add(1, Ordering::Relaxed) + 1;
                Json(Sum { sum: numbers.values.iter().sum(), sums_so_far })
            }),
        )
        .route(
            "/stats",
            get(|State(state): State<AppState>| async move {
                Json(Stats { sums: state.sums.load(Ordering::Relaxed) })
            }),
        )
        .with_state(AppState::default())
}

/// axum's `serve`, on this runtime: accepts connections until the task is
/// dropped, and serves each through hyper on a task of its own.
async fn serve(listener: TcpListener, app: Router) {
    loop {
        let Ok((stream, _peer)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        pluggable_runtime::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| app.clone().call(request));
            if let Err(error) = http1::Builder::new().serve_connection(stream, service).await {
                eprintln!("connection failed: {error}");
            }
        })
        .detach();
    }
}

/// A keep-alive hyper client connection.
struct Client {
    addr: SocketAddr,
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Result<Self, BoxError> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(stream).await?;
        pluggable_runtime::spawn(connection).detach();
        Ok(Client { addr, sender })
    }

    /// Sends a request (a JSON body if `json` is some) and returns the
    /// status and the body.
    async fn call(
        &mut self,
        method: &str,
        path: &str,
        json: Option<String>,
    ) -> Result<(StatusCode, Bytes), BoxError> {
        let mut request = Request::builder().method(method).uri(format!("http://{}{path}", self.addr));
        if json.is_some() {
            request = request.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let request = request.body(Full::new(Bytes::from(json.unwrap_or_default())))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        Ok((status, response.into_body().collect().await?.to_bytes()))
    }
}

/// What a round trip measured (`pub(crate)`: `tests/examples.rs` runs it too).
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) greeting: String,
    pub(crate) last_sum: Sum,
    pub(crate) rejected: StatusCode,
    pub(crate) stats: Stats,
    pub(crate) requests: usize,
    pub(crate) elapsed: Duration,
}

/// The whole round trip: the app on a free port of 127.0.0.1, then
/// `rounds` times a greeting and a JSON sum over one connection, a request
/// the JSON extractor rejects, and the shared state read back.
pub(crate) async fn round_trip(rounds: usize) -> Result<Report, BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = pluggable_runtime::spawn(serve(listener, app()));
    let mut client = Client::connect(addr).await?;
    let start = Instant::now();
    let (mut greeting, mut last_sum) = (String::new(), None);
    for i in 0..rounds {
        let (status, body) = client.call("GET", &format!("/hello/user{i}"), None).await?;
        greeting = String::from_utf8(body.to_vec())?;
        if status != StatusCode::OK || greeting != format!("Hello, user{i}!") {
            return Err(format!("GET /hello/user{i}: {status} {greeting:?}").into());
        }
        let json = serde_json::json!({ "values": [i, 2 * i, 3] }).to_string();
        let (status, body) = client.call("POST", "/sum", Some(json)).await?;
        let sum: Sum = serde_json::from_slice(&body)?;
        let expected = Sum { sum: 3 * i as i64 + 3, sums_so_far: i as u64 + 1 };
        if status != StatusCode::OK || sum != expected {
            return Err(format!("POST /sum: {status} {sum:?}, expected {expected:?}").into());
        }
        last_sum = Some(sum);
    }
    let elapsed = start.elapsed();
    let (rejected, _) = client.call("POST", "/sum", Some("{\"values\": \"not numbers\"}".into())).await?;
    let (_, body) = client.call("GET", "/stats", None).await?;
    let stats: Stats = serde_json::from_slice(&body)?;
    drop(server);
    let last_sum = last_sum.ok_or("no round made")?;
    Ok(Report { greeting, last_sum, rejected, stats, requests: 2 * rounds, elapsed })
}

#[pluggable_runtime::main]
async fn main() -> Result<(), BoxError> {
    if std::env::args().any(|arg| arg == "--serve") {
        let listener = TcpListener::bind("127.0.0.1:3000").await?;
        println!(
            "serving axum on http://{}/ (routes /hello/NAME, POST /sum, /stats); Ctrl-C stops it",
            listener.local_addr()?
        );
        serve(listener, app()).await;
        return Ok(());
    }
    let report = round_trip(1000).await?;
    println!("GET /hello/user999 -> {:?}", report.greeting);
    println!("POST /sum {{\"values\":[999,1998,3]}} -> {:?}", report.last_sum);
    println!("POST /sum with a bad body -> {} (the JSON extractor's rejection)", report.rejected);
    println!("GET /stats -> {:?} (the shared state)", report.stats);
    println!(
        "{} requests over one keep-alive connection in {:.0?}: {:.0} requests/s",
        report.requests,
        report.elapsed,
        report.requests as f64 / report.elapsed.as_secs_f64()
    );
    Ok(())
}
