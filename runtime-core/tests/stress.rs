//! Millions of wakeups across threads: nothing lost, every task accounted for.
//!
//! Two shapes of traffic, on every backend:
//! - *ping-pong*: pairs of tasks on the runtime wake each other through a
//!   shared signal, so every wake crosses the schedule path (LIFO slot, local
//!   queues, stealing);
//! - *outside wakes*: plain threads wake tasks that wait on them, so every
//!   wake goes through the shared queue and the notify / park protocol.
//!
//! A lost wakeup shows up as a hang (the test never finishes), a lost task
//! as a count mismatch. Each backend runs 2 million ping-pong wakes and 1 million outside wakes
//! (sizes shrink under Miri only).

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll, Waker},
    thread,
};

use runtime_core::{Queue, Runtime, testing::size};

/// A counter a task can wait on: `wait_for(n)` resolves once it reaches `n`.
#[derive(Default)]
struct Counter {
    value: AtomicU64,
    waker: Mutex<Option<Waker>>,
}

impl Counter {
    fn bump(&self) {
        self.value.fetch_add(1, Ordering::SeqCst);
        let waker = self.waker.lock().unwrap().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn wait_for(self: &Arc<Self>, target: u64) -> WaitFor {
        WaitFor { counter: self.clone(), target }
    }
}

struct WaitFor {
    counter: Arc<Counter>,
    target: u64,
}

impl Future for WaitFor {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.counter.value.load(Ordering::SeqCst) >= self.target {
            return Poll::Ready(());
        }
        *self.counter.waker.lock().unwrap() = Some(cx.waker().clone());
        // Re-check after publishing the waker: a bump in between would
        // otherwise find no waker and be lost.
        if self.counter.value.load(Ordering::SeqCst) >= self.target { Poll::Ready(()) } else { Poll::Pending }
    }
}

fn ping_pong<Q: Queue>() {
    let rt = Runtime::<Q>::builder().worker_threads(2).build().unwrap();
    let pairs = 8;
    let rounds = (size(2_000_000, 20) / pairs / 2) as u64;
    let finished = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..pairs)
        .flat_map(|_| {
            let (a, b) = (Arc::new(Counter::default()), Arc::new(Counter::default()));
            let ping = {
                let (a, b, finished) = (a.clone(), b.clone(), finished.clone());
                rt.spawn(async move {
                    for i in 1..=rounds {
                        b.bump();
                        a.wait_for(i).await;
                    }
                    finished.fetch_add(1, Ordering::SeqCst);
                })
            };
            let pong = {
                let finished = finished.clone();
                rt.spawn(async move {
                    for i in 1..=rounds {
                        b.wait_for(i).await;
                        a.bump();
                    }
                    finished.fetch_add(1, Ordering::SeqCst);
                })
            };
            [ping, pong]
        })
        .collect();
    rt.block_on(async {
        for t in tasks {
            t.await;
        }
    });
    assert_eq!(finished.load(Ordering::SeqCst), 2 * pairs);
    let m = rt.metrics();
    assert_eq!(m.spawned, 2 * pairs as u64);
    assert_eq!(m.completed, m.spawned, "{m:?}");
}

fn outside_wakes<Q: Queue>() {
    let rt = Runtime::<Q>::builder().worker_threads(2).build().unwrap();
    let wakers = 4;
    let tasks_per_waker = 4;
    let rounds = (size(1_000_000, 20) / wakers / tasks_per_waker) as u64;
    let spawned_before = rt.metrics().spawned;
    let mut handles = Vec::new();
    let mut threads = Vec::new();
    for _ in 0..wakers {
        let counters: Vec<Arc<Counter>> = (0..tasks_per_waker).map(|_| Arc::default()).collect();
        let acks: Vec<Arc<Counter>> = (0..tasks_per_waker).map(|_| Arc::default()).collect();
        for (counter, ack) in counters.iter().zip(&acks) {
            let (counter, ack) = (counter.clone(), ack.clone());
            handles.push(rt.spawn(async move {
                for i in 1..=rounds {
                    counter.wait_for(i).await;
                    ack.bump();
                }
            }));
        }
        threads.push(thread::spawn(move || {
            for i in 1..=rounds {
                for counter in &counters {
                    counter.bump();
                }
                // Wait (spinning politely) until every task saw round `i`, so
                // that no wake is absorbed by an earlier one.
                for ack in &acks {
                    while ack.value.load(Ordering::SeqCst) < i {
                        thread::yield_now();
                    }
                }
            }
        }));
    }
    rt.block_on(async {
        for h in handles {
            h.await;
        }
    });
    for t in threads {
        t.join().unwrap();
    }
    let m = rt.metrics();
    assert_eq!(m.spawned - spawned_before, (wakers * tasks_per_waker) as u64);
    assert_eq!(m.completed, m.spawned, "{m:?}");
    assert_eq!(m.live_tasks, 0, "{m:?}");
}

macro_rules! stress {
    ($($name:ident => $queue:ty),* $(,)?) => {$(
        mod $name {
            #[test]
            fn ping_pong() {
                runtime_core::testing::within(300, "2 M ping-pong wakes (a lost wakeup?)", super::ping_pong::<$queue>);
            }
            #[test]
            fn outside_wakes() {
                runtime_core::testing::within(300, "1 M outside wakes (a lost wakeup?)", super::outside_wakes::<$queue>);
            }
        }
    )*};
}

stress! {
    flume => queue_flume::FlumeQueue,
    crossbeam => queue_crossbeam::CrossbeamQueue,
    mutex => queue_mutex::MutexQueue,
}
