//! Feature `io`: readiness events are dispatched on the worker that will
//! run the woken task. Alone in its own test binary: async-io's reactor is
//! one per process, and another runtime's worker in the same process could
//! dispatch this runtime's events (correctly, but not locally).
//!
//! Not with `net` too: then idle workers wait in the runtime's own driver,
//! and async-io's own thread dispatches its events (see "Which reactor" in
//! `src/idle.rs`).
#![cfg(all(feature = "io", not(feature = "net"), not(miri), not(loom)))]

use std::{
    future::Future,
    io::{Read, Write},
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll, Wake, Waker},
    thread::{self, ThreadId},
};

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use runtime_core::{Queue, Runtime};

/// Where a future was last woken and where it is polled next.
#[derive(Default)]
struct Seen {
    last_wake: Mutex<Option<ThreadId>>,
    /// (wakes followed by a poll on the waking thread, on another thread)
    same_other: Mutex<(u32, u32)>,
}

struct SpyWaker {
    seen: Arc<Seen>,
    inner: Waker,
}

impl Wake for SpyWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        *self.seen.last_wake.lock().unwrap() = Some(thread::current().id());
        self.inner.wake_by_ref();
    }
}

/// Polls `F` with a waker that records the waking thread.
struct Spy<F> {
    seen: Arc<Seen>,
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for Spy<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        if let Some(waker_thread) = self.seen.last_wake.lock().unwrap().take() {
            let mut counts = self.seen.same_other.lock().unwrap();
            if waker_thread == thread::current().id() {
                counts.0 += 1;
            } else {
                counts.1 += 1;
            }
        }
        let waker = Waker::from(Arc::new(SpyWaker { seen: self.seen.clone(), inner: cx.waker().clone() }));
        self.inner.as_mut().poll(&mut Context::from_waker(&waker))
    }
}

fn echo_is_dispatched_locally<Q: Queue>(name: &str) {
    let rt = Runtime::<Q>::builder().worker_threads(2).build().unwrap();
    let seen = Arc::new(Seen::default());
    let listener = rt.block_on(async { async_net::TcpListener::bind("127.0.0.1:0").await.unwrap() });
    let addr = listener.local_addr().unwrap();
    let server = rt.spawn(Spy {
        seen: seen.clone(),
        inner: Box::pin(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 64];
            loop {
                let n = stream.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                stream.write_all(&buf[..n]).await.unwrap();
            }
        }),
    });
    let before = rt.metrics();
    let mut client = std::net::TcpStream::connect(addr).unwrap();
    client.set_nodelay(true).unwrap();
    let rounds = 500;
    for i in 0..rounds {
        client.write_all(&[i as u8; 16]).unwrap();
        let mut back = [0u8; 16];
        client.read_exact(&mut back).unwrap();
        assert_eq!(back, [i as u8; 16]);
    }
    drop(client);
    rt.block_on(server);
    let after = rt.metrics();
    let (same, other) = *seen.same_other.lock().unwrap();
    let reactor_wakes = after.reactor_wakes - before.reactor_wakes;
    println!(
        "{name}: polls after a wake on the waking thread {same}, on another {other}; reactor_wakes {reactor_wakes}, \
         remote_schedules {}",
        after.remote_schedules - before.remote_schedules
    );
    // async-io's fallback thread may hold the reactor when the workers first
    // park (it starts first), and take it back now and then while they run;
    // nearly every wake must still come from the worker that polls the task.
    assert!(
        same >= 4 * other && same >= 10,
        "{name}: {same} wakes on the polling worker, {other} from other threads"
    );
    // Those wakes are readiness events the worker dispatched from the reactor
    // (a few may be the task waking itself, inside `write_all`).
    assert!(2 * reactor_wakes >= same as u64, "{name}: reactor_wakes {reactor_wakes} for {same} local wakes");
}

#[test]
fn socket_wakes_run_on_the_dispatching_worker() {
    echo_is_dispatched_locally::<queue_flume::FlumeQueue>("flume");
    echo_is_dispatched_locally::<queue_crossbeam::CrossbeamQueue>("crossbeam");
    echo_is_dispatched_locally::<queue_mutex::MutexQueue>("mutex");
}
