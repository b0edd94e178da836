//! The load generator of `http_plaintext`, in a process of its own (this same
//! binary, re-executed with [`CHILD_ARG`]) so that every contender's server
//! is loaded by the same client, which competes with none of them for a
//! runtime and pays nothing to any of them.
//!
//! It is `wrk -t1 -cN` in spirit: one thread (a tokio `current_thread`
//! runtime) opens N keep-alive connections, says so ([`CONNECTED`] on
//! stdout) and waits for a line on stdin, then each connection sends `GET /`
//! back to back (the next request once the previous response is complete,
//! no pipelining) for a fixed time. Responses are framed by `Content-Length`
//! ([`parse_response`]); the latency of a request runs from its write to its
//! response's last byte. Only requests answered before the deadline count.
//! It prints one [`Report`] as JSON on stdout.
//!
//! The pause between connecting and loading is where the server's counting
//! window opens (see `window`), so that the window holds the load alone.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::SocketAddr,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{stats::percentile, window};

/// The first argument that turns this binary into a load generator.
pub const CHILD_ARG: &str = "__loadgen";

/// What the load generator prints once every connection is open.
pub const CONNECTED: &str = "connected";

/// How long opening the connections may take.
const CONNECT_LIMIT: Duration = Duration::from_secs(10);

/// What every connection sends, again and again.
pub const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// How long past the deadline a response may still take before the load
/// generator calls the server hung.
const GRACE: Duration = Duration::from_secs(3);

/// What one run of the load generator measured.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// Responses completed before the deadline.
    pub requests: u64,
    /// From the first request to the deadline, in nanoseconds.
    pub elapsed_ns: u64,
    /// Median latency of those requests, in nanoseconds.
    pub p50_ns: u64,
    /// 99th percentile latency, in nanoseconds.
    pub p99_ns: u64,
    /// 99.9th percentile latency, in nanoseconds.
    pub p999_ns: u64,
}

impl Report {
    /// Requests per second.
    pub fn rate(&self) -> f64 {
        self.requests as f64 / (self.elapsed_ns as f64 / 1e9).max(1e-9)
    }
}

/// The length of the first response in `buf` if all of it is there,
/// `Ok(None)` if more must be read, or what is wrong with it: a status other
/// than `200`, a response not framed by `Content-Length` (chunked, or none).
pub fn parse_response(buf: &[u8]) -> Result<Option<usize>, String> {
    let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() > 64 * 1024 {
            return Err(format!("no end of the response head in {} bytes", buf.len()));
        }
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| "response head is not UTF-8".to_string())?;
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let mut parts = status.split(' ');
    match (parts.next(), parts.next()) {
        (Some("HTTP/1.1"), Some("200")) => {}
        _ => return Err(format!("unexpected status line {status:?}")),
    }
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("malformed header line {line:?}"));
        };
        if name.eq_ignore_ascii_case("content-length") {
            let value = value.trim().parse::<usize>().map_err(|_| format!("bad Content-Length {value:?}"))?;
            if length.replace(value).is_some_and(|old| old != value) {
                return Err("conflicting Content-Length headers".into());
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(format!(
                "Transfer-Encoding {:?} is not supported; need Content-Length",
                value.trim()
            ));
        }
    }
    let length = length.ok_or("response has no Content-Length")?;
    let total = head_end + 4 + length;
    Ok((buf.len() >= total).then_some(total))
}

/// Runs the load generator `exe` in a child process against `addr`, with
/// `window` open over the load, and returns what both measured. Fails if
/// the load generator fails (it has deadlines of its own: a server that
/// hangs makes it fail, not hang).
pub fn run(
    exe: &Path,
    addr: SocketAddr,
    connections: usize,
    duration: Duration,
    window: &mut window::Window,
) -> anyhow::Result<(Report, window::Reading)> {
    let mut child = Command::new(exe)
        .args([CHILD_ARG, &addr.to_string(), &connections.to_string(), &duration.as_millis().to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start the load generator ({})", exe.display()))?;
    let result = load(&mut child, window);
    if result.is_err() {
        let _ = child.kill();
    }
    let status = child.wait()?;
    let mut stderr = String::new();
    let _ = child.stderr.take().expect("piped").read_to_string(&mut stderr);
    if !status.success() {
        bail!("the load generator failed ({status}): {}", stderr.trim());
    }
    result
}

/// Waits for the connections, opens the window, lets the load run, reads
/// the report and closes the window.
fn load(
    child: &mut std::process::Child,
    window: &mut window::Window,
) -> anyhow::Result<(Report, window::Reading)> {
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut line = String::new();
    stdout.read_line(&mut line)?;
    if line.trim() != CONNECTED {
        bail!("the load generator did not connect (it said {:?})", line.trim());
    }
    window.begin()?;
    let mut stdin = child.stdin.take().expect("piped");
    writeln!(stdin, "go").context("could not start the load generator")?;
    drop(stdin);
    let mut report = Vec::new();
    stdout.read_to_end(&mut report)?;
    let reading = window.end()?;
    let report = serde_json::from_slice(&report).context("the load generator printed no report")?;
    Ok((report, reading))
}

/// The child's `main`: `CHILD_ARG ADDR CONNECTIONS MILLIS`; prints
/// [`CONNECTED`], waits for a line on stdin, then prints a [`Report`] as JSON.
pub fn child_main(args: &[String]) -> anyhow::Result<()> {
    let [addr, connections, millis] = args else {
        bail!("usage: bench {CHILD_ARG} ADDR CONNECTIONS MILLIS");
    };
    let addr: SocketAddr = addr.parse().context("ADDR")?;
    let connections: usize = connections.parse().context("CONNECTIONS")?;
    let duration = Duration::from_millis(millis.parse().context("MILLIS")?);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let streams = rt.block_on(async {
        tokio::time::timeout(CONNECT_LIMIT, connect(addr, connections)).await.map_err(|_| {
            anyhow::anyhow!("could not open {connections} connections to {addr} within {CONNECT_LIMIT:?}")
        })?
    })?;
    println!("{CONNECTED}");
    std::io::stdout().flush()?;
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).context("waiting for the go")?;
    let report = rt.block_on(generate(streams, duration))?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

async fn connect(addr: SocketAddr, connections: usize) -> anyhow::Result<Vec<tokio::net::TcpStream>> {
    let mut streams = Vec::with_capacity(connections);
    for _ in 0..connections {
        let stream = tokio::net::TcpStream::connect(addr).await.with_context(|| format!("connect {addr}"))?;
        stream.set_nodelay(true)?;
        streams.push(stream);
    }
    Ok(streams)
}

async fn generate(streams: Vec<tokio::net::TcpStream>, duration: Duration) -> anyhow::Result<Report> {
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = streams.into_iter().map(|s| tokio::spawn(connection(s, deadline))).collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.context("a load generator task panicked")??);
    }
    latencies.sort_unstable();
    Ok(Report {
        requests: latencies.len() as u64,
        elapsed_ns: (deadline - start).as_nanos() as u64,
        p50_ns: percentile(&latencies, 0.50),
        p99_ns: percentile(&latencies, 0.99),
        p999_ns: percentile(&latencies, 0.999),
    })
}

/// One keep-alive connection: requests back to back until the deadline;
/// the latencies (ns) of those answered before it.
async fn connection(mut stream: tokio::net::TcpStream, deadline: Instant) -> anyhow::Result<Vec<u64>> {
    let mut latencies = Vec::with_capacity(1 << 16);
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    while Instant::now() < deadline {
        let sent = Instant::now();
        stream.write_all(REQUEST).await?;
        let len = loop {
            if let Some(len) = parse_response(&buf).map_err(anyhow::Error::msg)? {
                break len;
            }
            let read = tokio::time::timeout_at((deadline + GRACE).into(), stream.read(&mut chunk));
            let n = read.await.map_err(|_| {
                anyhow::anyhow!(
                    "no response within {}s after the deadline: is the server hung?",
                    GRACE.as_secs()
                )
            })??;
            if n == 0 {
                bail!("the server closed a keep-alive connection");
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        buf.drain(..len);
        let done = Instant::now();
        if done <= deadline {
            latencies.push((done - sent).as_nanos() as u64);
        }
    }
    Ok(latencies)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &[u8] =
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 13\r\ndate: Sun, 30 Nov 2026 12:00:00 GMT\r\n\r\nHello, World!";

    #[test]
    fn a_whole_response_is_measured_by_its_content_length() {
        assert_eq!(parse_response(HELLO), Ok(Some(HELLO.len())));
        // Case-insensitive header names, no space after the colon.
        let upper = b"HTTP/1.1 200 OK\r\nContent-Length:5\r\n\r\nhello";
        assert_eq!(parse_response(upper), Ok(Some(upper.len())));
        let empty = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(parse_response(empty), Ok(Some(empty.len())));
    }

    #[test]
    fn a_partial_response_needs_more_bytes() {
        for cut in 0..HELLO.len() {
            assert_eq!(parse_response(&HELLO[..cut]), Ok(None), "cut at {cut}");
        }
    }

    #[test]
    fn only_the_first_of_two_responses_is_consumed() {
        let two = [HELLO, HELLO].concat();
        assert_eq!(parse_response(&two), Ok(Some(HELLO.len())));
        assert_eq!(parse_response(&two[HELLO.len()..]), Ok(Some(HELLO.len())));
    }

    #[test]
    fn responses_it_cannot_frame_are_errors() {
        let err = |r: &[u8]| parse_response(r).unwrap_err();
        assert!(err(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n").contains("500"));
        assert!(err(b"HTTP/1.1 200 OK\r\n\r\n").contains("no Content-Length"));
        assert!(err(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n").contains("Transfer-Encoding"));
        assert!(err(b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n").contains("bad Content-Length"));
        assert!(
            err(b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n").contains("conflicting")
        );
        assert!(err(&vec![b'a'; 70_000]).contains("no end of the response head"));
    }
}
