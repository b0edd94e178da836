//! Feature `hyper`: `runtime_core::hyper::Timer` as hyper's timer: its
//! sleeps, its in-place `reset`, and hyper's `header_read_timeout` on a
//! server connection driven by it (over an in-memory connection, so that
//! only the timer is under test; the sockets are `hyper*.rs`'s).
#![cfg(all(feature = "hyper", not(miri), not(loom)))]

mod common;

use std::{
    collections::VecDeque,
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll, Waker},
    time::{Duration, Instant},
};

use bytes::Bytes;
use common::per_backend;
use http_body_util::Full;
use hyper::{
    Response,
    rt::{Read, ReadBufCursor, Timer as _, Write},
    server::conn::http1,
    service::service_fn,
};
use runtime_core::{Queue, Runtime, hyper::Timer, testing::within, time};

/// One end of an in-memory connection: reads what the test queued, keeps
/// what hyper writes.
#[derive(Clone, Default)]
struct Memory(Arc<Mutex<Pipe>>);

#[derive(Default)]
struct Pipe {
    incoming: VecDeque<u8>,
    reader: Option<Waker>,
    outgoing: Vec<u8>,
}

impl Read for Memory {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        let mut pipe = self.0.lock().unwrap();
        if pipe.incoming.is_empty() {
            // Nothing yet, and nothing will come: only a timer ends this.
            pipe.reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = pipe.incoming.len().min(buf.remaining());
        let bytes: Vec<u8> = pipe.incoming.drain(..n).collect();
        buf.put_slice(&bytes);
        Poll::Ready(Ok(()))
    }
}

impl Write for Memory {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.0.lock().unwrap().outgoing.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A server connection with a 50 ms header read timeout, fed `request`
/// (maybe nothing): it answers what it got, then times out waiting for
/// the next request's head.
fn header_read_timeout<Q: Queue>(request: &'static [u8]) -> (Duration, Vec<u8>) {
    let rt = Runtime::<Q>::builder().worker_threads(2).build().unwrap();
    let memory = Memory::default();
    memory.0.lock().unwrap().incoming.extend(request);
    let start = Instant::now();
    let result = rt.block_on(rt.spawn({
        let memory = memory.clone();
        async move {
            http1::Builder::new()
                .timer(Timer::default())
                .header_read_timeout(Duration::from_millis(50))
                .serve_connection(
                    memory,
                    service_fn(|_request| async {
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("hi"))))
                    }),
                )
                .await
        }
    }));
    let took = start.elapsed();
    let error = result.expect_err("nothing more came: the connection ends in an error");
    assert!(error.is_timeout(), "a header read timeout, not {error:?}");
    assert!(took >= Duration::from_millis(50), "timed out after {took:?}");
    assert_eq!(rt.metrics().timers, 0, "hyper's sleep was dropped with the connection");
    let written = std::mem::take(&mut memory.0.lock().unwrap().outgoing);
    (took, written)
}

fn idle_connection_times_out<Q: Queue>() {
    within(30, "a connection that sends nothing timing out", || {
        let (took, written) = header_read_timeout::<Q>(b"");
        // hyper closes a connection that never sent a byte without a word.
        assert!(written.is_empty(), "{:?}", String::from_utf8_lossy(&written));
        println!("an idle connection timed out after {took:?}");
    });
}

fn keep_alive_connection_times_out_after_a_request<Q: Queue>() {
    within(30, "a keep-alive connection timing out after one request", || {
        let (took, written) = header_read_timeout::<Q>(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n");
        let written = String::from_utf8_lossy(&written);
        assert!(written.starts_with("HTTP/1.1 200 OK"), "{written}");
        assert!(written.contains("\r\n\r\nhi"), "{written}");
        println!("a keep-alive connection timed out {took:?} after its request");
    });
}

/// `sleep`, `sleep_until` and `reset`: our sleeps move in place, another
/// timer's sleep is replaced by one of ours.
fn timer_sleeps_and_resets<Q: Queue>() {
    struct Foreign;
    impl Future for Foreign {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            Poll::Pending
        }
    }
    impl hyper::rt::Sleep for Foreign {}

    within(30, "hyper Timer sleeps", || {
        let rt = Runtime::<Q>::builder().worker_threads(1).build().unwrap();
        rt.block_on(async {
            let timer = Timer::new();
            let start = Instant::now();
            timer.sleep(Duration::from_millis(5)).await;
            assert!(start.elapsed() >= Duration::from_millis(5));
            timer.sleep_until(Instant::now() + Duration::from_millis(5)).await;

            let mut sleep = timer.sleep(Duration::from_secs(3600));
            let before: *const () = &*sleep as *const dyn hyper::rt::Sleep as *const ();
            let deadline = Instant::now() + Duration::from_millis(5);
            timer.reset(&mut sleep, deadline);
            let after: *const () = &*sleep as *const dyn hyper::rt::Sleep as *const ();
            assert_eq!(before, after, "reset in place, no new allocation");
            let ours = sleep.as_mut().downcast_mut_pin::<time::Sleep>().expect("our Sleep");
            assert_eq!(ours.deadline(), deadline);
            sleep.await;
            assert!(Instant::now() >= deadline);

            let mut foreign: Pin<Box<dyn hyper::rt::Sleep>> = Box::pin(Foreign);
            timer.reset(&mut foreign, Instant::now() + Duration::from_millis(1));
            assert!(foreign.is::<time::Sleep>(), "replaced by one of ours");
            foreign.await;
            assert_eq!(format!("{timer:?}"), "Timer(())");
        });
    });
}

per_backend!(
    idle_connection_times_out,
    keep_alive_connection_times_out_after_a_request,
    timer_sleeps_and_resets
);
