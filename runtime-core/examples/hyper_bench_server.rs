//! A hyper 1.x "Hello, World!" HTTP/1.1 keep-alive server on runtime-core's
//! own sockets, with nothing else added: what the syscall counts of issue
//! 20 are measured on (`wrk -t1 -c64 -d4s http://ADDR/` against it, and
//! `perf stat -e 'syscalls:sys_enter_*' -p PID` on it).
//!
//! ```text
//! cargo run --release -p runtime-core --features hyper --example hyper_bench_server -- \
//!     [flume|crossbeam|mutex] [WORKERS] [ADDR]
//! ```
//!
//! Defaults: flume, 2 workers, 127.0.0.1:8080. It prints the address it
//! listens on, then serves until killed; on stdin's end it prints the
//! runtime's metrics and exits.

use std::{convert::Infallible, error::Error, io::Write, net::SocketAddr};

use bytes::Bytes;
use http_body_util::Full;
use runtime_core::{Queue, Runtime, net::TcpListener};

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let backend = args.next().unwrap_or_else(|| "flume".to_owned());
    let workers = match args.next() {
        None => 2,
        Some(n) => n.parse::<usize>().map_err(|e| format!("invalid WORKERS = {n:?}: {e}"))?,
    };
    let addr: SocketAddr = match args.next() {
        None => "127.0.0.1:8080".parse()?,
        Some(a) => a.parse().map_err(|e| format!("invalid ADDR = {a:?}: {e}"))?,
    };
    match backend.as_str() {
        "flume" => serve::<queue_flume::FlumeQueue>(workers, addr),
        "crossbeam" => serve::<queue_crossbeam::CrossbeamQueue>(workers, addr),
        "mutex" => serve::<queue_mutex::MutexQueue>(workers, addr),
        other => Err(format!("invalid backend = {other:?}: expected flume, crossbeam or mutex").into()),
    }
}

fn serve<Q: Queue>(workers: usize, addr: SocketAddr) -> Result<(), Box<dyn Error>> {
    let rt = Runtime::<Q>::builder().worker_threads(workers).build()?;
    let listener = rt.block_on(TcpListener::bind(addr))?;
    println!("listening on http://{}/ (pid {})", listener.local_addr()?, std::process::id());
    std::io::stdout().flush()?;
    rt.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            runtime_core::spawn(async move {
                // No timer here, so no timeouts (none is needed for this load).
                let connection = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .header_read_timeout(None)
                    .serve_connection(stream, hyper::service::service_fn(hello));
                // wrk closes connections mid-request at its end.
                let _ = connection.await;
            })
            .detach();
        }
    })
    .detach();
    // Serve until stdin ends (or the process is killed).
    let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
    println!("{:?}", rt.metrics());
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
