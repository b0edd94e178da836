//! The time workloads and the memory one, written once against [`Runner`] /
//! [`Spawner`] so that every contender runs the same code (their names,
//! units and sizes are in `workload`).
//!
//! They mirror the peers' own benchmarks so that the numbers mean the same
//! thing: tokio's `benches/rt_multi_threaded.rs` (`spawn_many_*`,
//! `yield_many`, `ping_pong`, `chained_spawn`) and async-executor's
//! `benches/executor.rs` (`spawn_recursively`, `channels`, `web_server`),
//! plus two million-task ones: spawn throughput and memory per parked task.
//! `yield_many_agnostic` is `yield_many` with the runtime-agnostic yield of
//! futures-lite for every contender. The scheduling-latency rows
//! (`wake_remote`, `wake_local`) are in `wake`, the I/O rows (`tcp_echo`,
//! `http_plaintext`) in `io_workloads`.
//! Channels are runtime-agnostic (`async-channel`, `futures-channel`), so no
//! contender gets a primitive tuned for it.

use std::{
    future::Future,
    hint::black_box,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed},
    },
    thread,
    time::{Duration, Instant},
};

use crate::{
    memory,
    runner::{Runner, Spawner},
    workload::{Kind, Sizes, Workload},
};

/// Runs `iters` iterations of `workload` on `rt` (which has `workers` worker
/// threads) and returns the time taken by them alone (set-up and tear-down,
/// such as `spawn_many_remote_busy`'s busy tasks, excluded).
///
/// # Panics
/// If `workload` is not a [`Kind::Time`] one.
pub fn sample<R: Runner>(rt: &R, workers: usize, workload: Workload, sizes: &Sizes, iters: u32) -> Duration {
    assert_eq!(workload.kind(), Kind::Time, "{} is not a time workload", workload.name());
    if workload == Workload::SpawnManyRemoteBusy {
        return remote_busy(rt, sizes, iters, workers);
    }
    let start = Instant::now();
    for _ in 0..iters {
        match workload {
            Workload::SpawnManyLocal => spawn_many_local(rt, sizes.spawn_many),
            Workload::SpawnManyRemoteIdle => spawn_many_remote(rt, sizes.spawn_many),
            Workload::SpawnManyRemoteBusy => unreachable!("handled above"),
            Workload::YieldMany => yield_many(rt, sizes.yield_tasks, sizes.yields),
            Workload::YieldManyAgnostic => yield_many_agnostic(rt, sizes.yield_tasks, sizes.yields),
            Workload::PingPong => ping_pong(rt, sizes.pings),
            Workload::ChainedSpawn => chained_spawn(rt, sizes.chain),
            Workload::SpawnRecursively => spawn_recursively(rt, sizes.tasks, sizes.steps),
            Workload::Channels => channels(rt, sizes.tasks, sizes.steps),
            Workload::WebServer => web_server(rt, sizes.tasks, sizes.steps),
            Workload::Throughput => throughput(rt, sizes.throughput_tasks, sizes.throughput_batch),
            Workload::WakeRemote
            | Workload::WakeLocal
            | Workload::TcpEcho
            | Workload::HttpPlaintext
            | Workload::Memory => unreachable!("checked above"),
        }
    }
    start.elapsed()
}

/// The signal a workload's last task sends to `block_on`.
fn done_channel() -> (async_channel::Sender<()>, async_channel::Receiver<()>) {
    async_channel::bounded(1)
}

fn spawn_many_local<R: Runner>(rt: &R, n: usize) {
    let spawner = rt.spawner();
    let remaining = Arc::new(AtomicUsize::new(n));
    let (done, finished) = done_channel();
    rt.block_on(async move {
        let inner = spawner.clone();
        R::Spawner::detach(spawner.spawn(async move {
            for _ in 0..n {
                let (remaining, done) = (remaining.clone(), done.clone());
                R::Spawner::detach(inner.spawn(async move {
                    if remaining.fetch_sub(1, Relaxed) == 1 {
                        done.try_send(()).expect("signalled twice");
                    }
                }));
            }
        }));
        finished.recv().await.expect("the last task signals");
    });
}

fn spawn_many_remote<R: Runner>(rt: &R, n: usize) {
    let spawner = rt.spawner();
    let handles: Vec<_> = (0..n).map(|_| spawner.spawn(async {})).collect();
    rt.block_on(async {
        for handle in handles {
            handle.await;
        }
    });
}

/// tokio's `stall`: burn 10 µs, yielding the thread meanwhile.
fn stall() {
    let start = Instant::now();
    while start.elapsed() < Duration::from_micros(10) {
        thread::yield_now();
    }
}

fn remote_busy<R: Runner>(rt: &R, sizes: &Sizes, iters: u32, workers: usize) -> Duration {
    let spawner = rt.spawner();
    let running = Arc::new(AtomicBool::new(true));
    let busy: Vec<_> = (0..sizes.busy_per_worker * workers)
        .map(|_| {
            let running = running.clone();
            spawner.spawn(async move {
                while running.load(Relaxed) {
                    R::Spawner::yield_now().await;
                    stall();
                }
            })
        })
        .collect();
    let start = Instant::now();
    for _ in 0..iters {
        spawn_many_remote(rt, sizes.spawn_many);
    }
    let elapsed = start.elapsed();
    running.store(false, Relaxed);
    rt.block_on(async {
        for task in busy {
            task.await;
        }
    });
    elapsed
}

fn yield_many<R: Runner>(rt: &R, tasks: usize, yields: usize) {
    yield_with(rt, tasks, yields, R::Spawner::yield_now);
}

/// `yield_many` with the yield that runtime-agnostic code uses: wake itself
/// by reference, return `Pending` once.
fn yield_many_agnostic<R: Runner>(rt: &R, tasks: usize, yields: usize) {
    yield_with(rt, tasks, yields, futures_lite::future::yield_now);
}

/// `tasks` tasks, each awaiting `yield_now()` `yields` times.
fn yield_with<R: Runner, Y>(rt: &R, tasks: usize, yields: usize, yield_now: fn() -> Y)
where
    Y: Future<Output = ()> + Send + 'static,
{
    let spawner = rt.spawner();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            spawner.spawn(async move {
                for _ in 0..yields {
                    yield_now().await;
                }
            })
        })
        .collect();
    rt.block_on(async {
        for handle in handles {
            handle.await;
        }
    });
}

fn ping_pong<R: Runner>(rt: &R, pairs: usize) {
    let spawner = rt.spawner();
    let remaining = Arc::new(AtomicUsize::new(pairs));
    let (done, finished) = done_channel();
    rt.block_on(async move {
        let outer = spawner.clone();
        R::Spawner::detach(outer.spawn(async move {
            for _ in 0..pairs {
                let (remaining, done, inner) = (remaining.clone(), done.clone(), spawner.clone());
                R::Spawner::detach(spawner.spawn(async move {
                    let (ping, pinged) = futures_channel::oneshot::channel::<()>();
                    let (pong, ponged) = futures_channel::oneshot::channel::<()>();
                    R::Spawner::detach(inner.spawn(async move {
                        pinged.await.expect("ping");
                        pong.send(()).expect("pong");
                    }));
                    ping.send(()).expect("ping");
                    ponged.await.expect("pong");
                    if remaining.fetch_sub(1, Relaxed) == 1 {
                        done.try_send(()).expect("signalled twice");
                    }
                }));
            }
        }));
        finished.recv().await.expect("the last pair signals");
    });
}

fn chain_link<S: Spawner>(spawner: S, done: async_channel::Sender<()>, left: usize) {
    if left == 0 {
        done.try_send(()).expect("signalled twice");
        return;
    }
    let next = spawner.clone();
    S::detach(spawner.spawn(async move { chain_link(next, done, left - 1) }));
}

fn chained_spawn<R: Runner>(rt: &R, links: usize) {
    let spawner = rt.spawner();
    let (done, finished) = done_channel();
    rt.block_on(async move {
        let first = spawner.clone();
        R::Spawner::detach(first.spawn(async move { chain_link(spawner, done, links) }));
        finished.recv().await.expect("the chain's end signals");
    });
}

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A task that spawns the next link of its chain and awaits it.
fn recurse<S: Spawner>(spawner: S, depth: usize) -> BoxFuture {
    Box::pin(async move {
        if depth > 0 {
            let next = spawner.clone();
            spawner.spawn(recurse(next, depth - 1)).await;
        }
    })
}

fn spawn_recursively<R: Runner>(rt: &R, chains: usize, depth: usize) {
    let spawner = rt.spawner();
    rt.block_on(async {
        let handles: Vec<_> = (0..chains).map(|_| spawner.spawn(recurse(spawner.clone(), depth))).collect();
        for handle in handles {
            handle.await;
        }
    });
}

fn channels<R: Runner>(rt: &R, ring: usize, rounds: usize) {
    let spawner = rt.spawner();
    rt.block_on(async {
        let (first, mut from_prev) = async_channel::bounded::<()>(1);
        let mut members = Vec::with_capacity(ring);
        for _ in 0..ring {
            let (to_next, next_from) = async_channel::bounded::<()>(1);
            let from = std::mem::replace(&mut from_prev, next_from);
            members.push(spawner.spawn(async move {
                for _ in 0..rounds {
                    from.recv().await.expect("token");
                    to_next.send(()).await.expect("token");
                }
            }));
        }
        for _ in 0..rounds {
            first.send(()).await.expect("token");
            from_prev.recv().await.expect("token");
        }
        for member in members {
            member.await;
        }
    });
}

fn web_server<R: Runner>(rt: &R, requests: usize, steps: usize) {
    let spawner = rt.spawner();
    rt.block_on(async move {
        let (to_db, db_inbox) = async_channel::bounded::<async_channel::Sender<usize>>((requests / 5).max(1));
        let mut db_rng = fastrand::Rng::with_seed(0x1234_5678);
        let mut web_rng = db_rng.fork();

        // The database: answers each query after some work; ends once every
        // sender (the server's and the requests') is gone.
        let database = spawner.spawn(async move {
            while let Ok(reply) = db_inbox.recv().await {
                for _ in 0..db_rng.usize(..10) {
                    R::Spawner::yield_now().await;
                }
                let _ = reply.send(db_rng.usize(..)).await;
            }
        });

        // The server: accepts connections and hands each to a request task.
        let requests_spawner = spawner.clone();
        let server = spawner.spawn(async move {
            for i in 0..requests {
                if web_rng.usize(..=16) == 16 {
                    R::Spawner::yield_now().await;
                }
                let mut rng = web_rng.fork();
                let to_db = to_db.clone();
                R::Spawner::detach(requests_spawner.spawn(async move {
                    if rng.bool() {
                        // A cache hit.
                        R::Spawner::yield_now().await;
                        return;
                    }
                    for _ in 0..rng.usize(steps / 2..steps) {
                        let (reply, answer) = async_channel::bounded(1);
                        to_db.send(reply).await.expect("the database outlives its clients");
                        black_box(answer.recv().await.expect("the database answers"));
                    }
                    for _ in 0..rng.usize(3..16) {
                        R::Spawner::yield_now().await;
                    }
                }));
                if i & 16 == 0 {
                    R::Spawner::yield_now().await;
                }
            }
        });
        server.await;
        database.await;
    });
}

fn throughput<R: Runner>(rt: &R, tasks: usize, batch: usize) {
    let spawner = rt.spawner();
    let mut handles = Vec::with_capacity(batch);
    let mut left = tasks;
    while left > 0 {
        let now = batch.min(left);
        handles.extend((0..now).map(|_| spawner.spawn(async {})));
        rt.block_on(async {
            for handle in handles.drain(..) {
                handle.await;
            }
        });
        left -= now;
    }
}

/// The memory workload, in its child process: spawns `tasks` tasks that each
/// stay pending forever, waits until every one has been polled once (so
/// that each is parked, not queued), and reads RSS before and after.
///
/// The join handles are kept (a parked task nobody can reach would be freed
/// by some executors); their vector is allocated and touched before the
/// baseline, so its 8 bytes per task are not counted.
pub fn park<R: Runner>(rt: &R, tasks: usize) -> memory::Reading {
    let spawner = rt.spawner();
    let polled = Arc::new(AtomicUsize::new(0));
    let mut handles: Vec<Option<<R::Spawner as Spawner>::Join<()>>> = (0..tasks).map(|_| None).collect();
    // Warm the workers up, so that lazy set-up is in the baseline.
    rt.block_on(spawner.spawn(async {}));
    let baseline = memory::Status::read();
    for slot in &mut handles {
        let polled = polled.clone();
        *slot = Some(spawner.spawn(async move {
            polled.fetch_add(1, Relaxed);
            std::future::pending::<()>().await;
        }));
    }
    while polled.load(Relaxed) < tasks {
        thread::sleep(Duration::from_millis(1));
    }
    let parked = memory::Status::read();
    drop(handles);
    memory::Reading { tasks, baseline, parked }
}
