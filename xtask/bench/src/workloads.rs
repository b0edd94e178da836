//! The workloads, written once against [`Runner`] / [`Spawner`] so that every
//! contender runs the same code.
//!
//! They mirror the peers' own benchmarks so that the numbers mean the same
//! thing: tokio's `benches/rt_multi_threaded.rs` (`spawn_many_*`,
//! `yield_many`, `ping_pong`, `chained_spawn`) and async-executor's
//! `benches/executor.rs` (`spawn_recursively`, `channels`, `web_server`),
//! plus two million-task ones: spawn throughput and memory per parked task.
//! `yield_many_agnostic` is `yield_many` with the runtime-agnostic yield of
//! futures-lite for every contender. The I/O rows (`tcp_echo`,
//! `http_plaintext`) are in `io_workloads`.
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
    contenders::{Runner, Spawner},
    memory,
};

/// One benchmark workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    /// 10 000 tasks spawned from inside a task, each decrementing a counter.
    SpawnManyLocal,
    /// 10 000 tasks spawned from outside the runtime, then awaited.
    SpawnManyRemoteIdle,
    /// The same while every worker is kept busy by tasks that yield and stall 10 µs.
    SpawnManyRemoteBusy,
    /// 200 tasks × 1 000 yields.
    YieldMany,
    /// The same with the runtime-agnostic yield (`futures_lite::future::yield_now`:
    /// `cx.waker().wake_by_ref()`, then `Pending`) for every contender.
    YieldManyAgnostic,
    /// 1 000 ping-pong pairs over oneshot channels, spawned from inside a task.
    PingPong,
    /// A chain of 1 000 tasks, each spawning the next.
    ChainedSpawn,
    /// 300 chains of tasks, each spawning and awaiting the next, 300 deep.
    SpawnRecursively,
    /// A ring of 300 tasks passing a token over `bounded(1)` channels, 300 rounds.
    Channels,
    /// A simulated service: request tasks that yield and round-trip to a "database" task.
    WebServer,
    /// 64 client tasks doing 64-byte round trips to an echo server on the
    /// same runtime, over 127.0.0.1: round trips per second, p50 and p99.
    TcpEcho,
    /// A hyper HTTP/1.1 "Hello, World!" server, 64 keep-alive connections from
    /// a load generator in its own process: requests per second, p50 and p99.
    HttpPlaintext,
    /// 1 000 000 empty tasks spawned from outside in batches of 10 000: tasks per second.
    Throughput,
    /// Peak RSS per pending task with 1 000 000 parked tasks (a child process each).
    Memory,
}

/// How a workload's samples are expressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Nanoseconds per iteration: lower is better.
    Nanos,
    /// Tasks per second: higher is better.
    TasksPerSec,
    /// Round trips per second: higher is better.
    RoundTripsPerSec,
    /// Requests per second: higher is better.
    RequestsPerSec,
    /// Bytes per parked task: lower is better.
    BytesPerTask,
}

impl Unit {
    /// The name used in the JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Nanos => "ns/iter",
            Unit::TasksPerSec => "tasks/s",
            Unit::RoundTripsPerSec => "round trips/s",
            Unit::RequestsPerSec => "req/s",
            Unit::BytesPerTask => "bytes/task",
        }
    }

    /// Whether a larger sample is the better one.
    pub fn higher_is_better(self) -> bool {
        matches!(self, Unit::TasksPerSec | Unit::RoundTripsPerSec | Unit::RequestsPerSec)
    }
}

impl Workload {
    /// Every workload, in the order of the table's rows.
    pub const ALL: [Workload; 14] = [
        Workload::SpawnManyLocal,
        Workload::SpawnManyRemoteIdle,
        Workload::SpawnManyRemoteBusy,
        Workload::YieldMany,
        Workload::YieldManyAgnostic,
        Workload::PingPong,
        Workload::ChainedSpawn,
        Workload::SpawnRecursively,
        Workload::Channels,
        Workload::WebServer,
        Workload::TcpEcho,
        Workload::HttpPlaintext,
        Workload::Throughput,
        Workload::Memory,
    ];

    /// The name used on the command line and in the reports.
    pub fn name(self) -> &'static str {
        match self {
            Workload::SpawnManyLocal => "spawn_many_local",
            Workload::SpawnManyRemoteIdle => "spawn_many_remote_idle",
            Workload::SpawnManyRemoteBusy => "spawn_many_remote_busy",
            Workload::YieldMany => "yield_many",
            Workload::YieldManyAgnostic => "yield_many_agnostic",
            Workload::PingPong => "ping_pong",
            Workload::ChainedSpawn => "chained_spawn",
            Workload::SpawnRecursively => "spawn_recursively",
            Workload::Channels => "channels",
            Workload::WebServer => "web_server",
            Workload::TcpEcho => "tcp_echo",
            Workload::HttpPlaintext => "http_plaintext",
            Workload::Throughput => "throughput",
            Workload::Memory => "memory",
        }
    }

    /// Every name, for error messages.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|w| w.name()).collect()
    }

    /// The workload called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.name() == name)
    }

    /// The unit of its samples.
    pub fn unit(self) -> Unit {
        match self {
            Workload::Throughput => Unit::TasksPerSec,
            Workload::TcpEcho => Unit::RoundTripsPerSec,
            Workload::HttpPlaintext => Unit::RequestsPerSec,
            Workload::Memory => Unit::BytesPerTask,
            _ => Unit::Nanos,
        }
    }

    /// Whether it is an I/O workload (`io_workloads`): sampled for a fixed
    /// time on freshly started contenders, with latencies beside its rate.
    pub fn is_io(self) -> bool {
        matches!(self, Workload::TcpEcho | Workload::HttpPlaintext)
    }
}

/// The sizes of the workloads.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Sizes {
    /// Tasks per `spawn_many_*` iteration.
    pub spawn_many: usize,
    /// Busy tasks per worker in `spawn_many_remote_busy`.
    pub busy_per_worker: usize,
    /// Tasks in `yield_many` and `yield_many_agnostic`.
    pub yield_tasks: usize,
    /// Yields per task in `yield_many` and `yield_many_agnostic`.
    pub yields: usize,
    /// Pairs in `ping_pong`.
    pub pings: usize,
    /// Links in `chained_spawn`.
    pub chain: usize,
    /// Tasks (chains, ring members, requests) in the async-executor workloads.
    pub tasks: usize,
    /// Steps (depth, rounds, database calls) in the async-executor workloads.
    pub steps: usize,
    /// Tasks in `throughput`.
    pub throughput_tasks: usize,
    /// Tasks spawned before awaiting them, in `throughput`.
    pub throughput_batch: usize,
    /// Parked tasks in `memory`.
    pub memory_tasks: usize,
    /// Client tasks (and connections) in `tcp_echo`.
    pub echo_clients: usize,
    /// Bytes per message in `tcp_echo`.
    pub echo_message: usize,
    /// How long one `tcp_echo` sample runs, in milliseconds.
    pub echo_millis: u64,
    /// Keep-alive connections in `http_plaintext`.
    pub http_connections: usize,
    /// How long one `http_plaintext` sample runs, in milliseconds.
    pub http_millis: u64,
}

impl Sizes {
    /// The peers' sizes.
    pub fn full() -> Self {
        Self {
            spawn_many: 10_000,
            busy_per_worker: 2,
            yield_tasks: 200,
            yields: 1_000,
            pings: 1_000,
            chain: 1_000,
            tasks: 300,
            steps: 300,
            throughput_tasks: 1_000_000,
            throughput_batch: 10_000,
            memory_tasks: 1_000_000,
            echo_clients: 64,
            echo_message: 64,
            echo_millis: 1_000,
            http_connections: 64,
            http_millis: 5_000,
        }
    }

    /// `--quick`: a tenth of the spawn-many and million-task workloads,
    /// shorter I/O samples with fewer echo clients, the rest as they are.
    pub fn quick() -> Self {
        Self {
            spawn_many: 1_000,
            throughput_tasks: 100_000,
            memory_tasks: 100_000,
            echo_clients: 16,
            echo_millis: 200,
            http_millis: 1_000,
            ..Self::full()
        }
    }

    /// How long one sample of the I/O `workload` runs (its warm-up: a quarter).
    pub fn io_duration(&self, workload: Workload) -> Duration {
        match workload {
            Workload::HttpPlaintext => Duration::from_millis(self.http_millis),
            _ => Duration::from_millis(self.echo_millis),
        }
    }

    /// For tests: everything small.
    #[cfg(test)]
    pub fn tiny() -> Self {
        Self {
            spawn_many: 100,
            busy_per_worker: 1,
            yield_tasks: 10,
            yields: 10,
            pings: 10,
            chain: 10,
            tasks: 10,
            steps: 10,
            throughput_tasks: 1_000,
            throughput_batch: 100,
            memory_tasks: 100,
            echo_clients: 4,
            echo_message: 64,
            echo_millis: 20,
            http_connections: 4,
            http_millis: 100,
        }
    }
}

/// Runs `iters` iterations of `workload` on `rt` (which has `workers` worker
/// threads) and returns the time taken by them alone (set-up and tear-down,
/// such as `spawn_many_remote_busy`'s busy tasks, excluded).
///
/// # Panics
/// For [`Workload::Memory`]: it runs in a child process, see [`park`]; and
/// for the I/O workloads (see `io_workloads::sample`).
pub fn sample<R: Runner>(rt: &R, workers: usize, workload: Workload, sizes: &Sizes, iters: u32) -> Duration {
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
            Workload::Memory => panic!("the memory workload runs in a child process"),
            Workload::TcpEcho | Workload::HttpPlaintext => {
                panic!("the I/O workloads are sampled by io_workloads::sample")
            }
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
