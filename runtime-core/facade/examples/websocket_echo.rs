//! A WebSocket echo server and client: async-tungstenite straight on
//! `pluggable_runtime::net`'s streams, which implement `futures-io`'s
//! `AsyncRead` and `AsyncWrite`, so no glue and no compat layer (the
//! honest choice: tokio-tungstenite would need tokio's I/O traits and, for
//! its sockets, a tokio reactor).
//!
//! ```text
//! cargo run -p pluggable-runtime --example websocket_echo             # round trip, prints round trips/s
//! cargo run -p pluggable-runtime --example websocket_echo -- --serve  # ws://127.0.0.1:3000/, e.g.
//! curl --include --no-buffer -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
//!      -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' http://127.0.0.1:3000/
//! ```
//!
//! Dependencies: `pluggable-runtime = { path = "…" }` (default features),
//! `async-tungstenite = { version = "0.35", default-features = false, features = ["handshake"] }`,
//! `futures-lite = "2"`.

use std::{
    error::Error,
    net::SocketAddr,
    time::{Duration, Instant},
};

use async_tungstenite::tungstenite::Message;
use futures_lite::StreamExt;
use pluggable_runtime::net::{TcpListener, TcpStream};

/// Errors, which may cross tasks.
type BoxError = Box<dyn Error + Send + Sync>;

/// Echoes every text and binary message of one connection until it closes.
async fn echo(stream: TcpStream) -> Result<(), BoxError> {
    let mut ws = async_tungstenite::accept_async(stream).await?;
    while let Some(message) = ws.next().await {
        match message? {
            message @ (Message::Text(_) | Message::Binary(_)) => ws.send(message).await?,
            Message::Close(_) => break,
            // Pings are answered by tungstenite itself.
            _ => {}
        }
    }
    Ok(())
}

/// Accepts connections until the task is dropped, each on a task of its own.
async fn serve(listener: TcpListener) {
    loop {
        let Ok((stream, _peer)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        pluggable_runtime::spawn(async move {
            if let Err(error) = echo(stream).await {
                eprintln!("websocket connection failed: {error}");
            }
        })
        .detach();
    }
}

/// What a round trip measured (`pub(crate)`: `tests/examples.rs` runs it too).
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) first_echo: String,
    pub(crate) messages: usize,
    pub(crate) elapsed: Duration,
}

/// A client: `messages` messages, text and binary in turn, each echo awaited
/// and checked before the next; then a clean close.
async fn client(addr: SocketAddr, messages: usize) -> Result<Report, BoxError> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut ws, _response) = async_tungstenite::client_async(format!("ws://{addr}/"), stream).await?;
    let start = Instant::now();
    let mut first_echo = None;
    for i in 0..messages {
        let sent = if i % 2 == 0 {
            Message::text(format!("hello {i}"))
        } else {
            Message::binary(i.to_le_bytes().to_vec())
        };
        ws.send(sent.clone()).await?;
        let echoed = ws.next().await.ok_or("the server closed the connection")??;
        if echoed != sent {
            return Err(format!("message {i}: sent {sent:?}, got {echoed:?}").into());
        }
        first_echo.get_or_insert_with(|| echoed.to_string());
    }
    let elapsed = start.elapsed();
    ws.close(None).await?;
    Ok(Report { first_echo: first_echo.ok_or("no message sent")?, messages, elapsed })
}

/// The whole round trip: the echo server on a free port of 127.0.0.1 and
/// one client.
pub(crate) async fn round_trip(messages: usize) -> Result<Report, BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = pluggable_runtime::spawn(serve(listener));
    let report = client(addr, messages).await;
    drop(server);
    report
}

#[pluggable_runtime::main]
async fn main() -> Result<(), BoxError> {
    if std::env::args().any(|arg| arg == "--serve") {
        let listener = TcpListener::bind("127.0.0.1:3000").await?;
        println!("echoing WebSocket messages on ws://{}/; Ctrl-C stops it", listener.local_addr()?);
        serve(listener).await;
        return Ok(());
    }
    let report = round_trip(2000).await?;
    println!("sent \"hello 0\", the server echoed {:?}", report.first_echo);
    println!(
        "{} messages echoed over one WebSocket in {:.0?}: {:.0} round trips/s",
        report.messages,
        report.elapsed,
        report.messages as f64 / report.elapsed.as_secs_f64()
    );
    Ok(())
}
