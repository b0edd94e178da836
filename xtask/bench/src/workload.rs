//! The bench's vocabulary: the workloads by name ([`Workload`]), how each is
//! sampled ([`Kind`]) and in what unit ([`Unit`]), and their sizes
//! ([`Sizes`]). Bottom floor: it imports nothing of this crate.
//!
//! The workloads' bodies are elsewhere: the time workloads and the memory
//! one in `workloads`, the scheduling-latency ones in `wake`, the I/O ones in
//! `io_workloads`.

use std::time::Duration;

/// One benchmark workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
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
    /// Scheduling latency of tasks woken from outside the runtime (a plain
    /// thread rings them at a steady rate) while every worker is busy:
    /// wake-to-poll p50, p99 and p99.9.
    WakeRemote,
    /// The same, with the tasks woken by other tasks (the busy ones ring
    /// them at the same steady rate).
    WakeLocal,
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

/// How a workload is sampled, which decides everything the measurement
/// loop does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Iterations timed together; a warm-up picks how many make a sample.
    Time,
    /// For a fixed time, reporting wake-to-poll latencies.
    Wake,
    /// For a fixed time over loopback sockets, on contenders started afresh
    /// for the row, reporting a rate, latencies and counts per request.
    Io,
    /// In a fresh process per sample.
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
    /// A latency in nanoseconds (the sample's p99): lower is better.
    LatencyNanos,
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
            Unit::LatencyNanos => "ns (p99)",
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
    pub const ALL: [Workload; 16] = [
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
        Workload::WakeRemote,
        Workload::WakeLocal,
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
            Workload::WakeRemote => "wake_remote",
            Workload::WakeLocal => "wake_local",
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

    /// How it is sampled.
    pub fn kind(self) -> Kind {
        match self {
            Workload::WakeRemote | Workload::WakeLocal => Kind::Wake,
            Workload::TcpEcho | Workload::HttpPlaintext => Kind::Io,
            Workload::Memory => Kind::Memory,
            _ => Kind::Time,
        }
    }

    /// The unit of its samples.
    pub fn unit(self) -> Unit {
        match self {
            Workload::Throughput => Unit::TasksPerSec,
            Workload::TcpEcho => Unit::RoundTripsPerSec,
            Workload::HttpPlaintext => Unit::RequestsPerSec,
            Workload::WakeRemote | Workload::WakeLocal => Unit::LatencyNanos,
            Workload::Memory => Unit::BytesPerTask,
            _ => Unit::Nanos,
        }
    }

    /// Whether it is an I/O workload (`io_workloads`).
    pub fn is_io(self) -> bool {
        self.kind() == Kind::Io
    }
}

/// When a cell stops: after `min` rounds once its median's 95% confidence
/// interval is within `tolerance` of it (half-width over median), and after
/// `max` rounds whatever it is.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Rounds {
    /// Rounds every cell gets (unless its samples overrun its share of the budget).
    pub min: u32,
    /// Rounds no cell goes past.
    pub max: u32,
    /// The confidence interval's half-width, relative to the median, that is tight enough.
    pub tolerance: f64,
}

/// The sizes of the workloads. A child process gets them with every job,
/// so that the parent's sizes hold for every contender, a baseline's too.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sizes {
    /// Tasks per `spawn_many_*` iteration.
    pub spawn_many: usize,
    /// Busy tasks per worker in `spawn_many_remote_busy` and the `wake_*` workloads.
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
    /// Tasks that wait to be woken, in the `wake_*` workloads.
    pub wake_waiters: usize,
    /// Microseconds between two wakes, in the `wake_*` workloads.
    pub wake_period_us: u64,
    /// Microseconds a busy task computes between two yields, in the `wake_*` workloads.
    pub wake_busy_us: u64,
    /// How long one `wake_*` sample runs, in milliseconds.
    pub wake_millis: u64,
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
            wake_waiters: 16,
            wake_period_us: 100,
            wake_busy_us: 20,
            wake_millis: 600,
            echo_clients: 64,
            echo_message: 64,
            echo_millis: 750,
            http_connections: 64,
            http_millis: 1_500,
        }
    }

    /// `--quick`: a tenth of the spawn-many and million-task workloads,
    /// shorter fixed-time samples with fewer echo clients, the rest as they are.
    pub fn quick() -> Self {
        Self {
            spawn_many: 1_000,
            throughput_tasks: 100_000,
            memory_tasks: 100_000,
            wake_millis: 200,
            echo_clients: 16,
            echo_millis: 200,
            http_millis: 500,
            ..Self::full()
        }
    }

    /// How long one sample of a fixed-time workload runs (a [`Kind::Wake`]
    /// or [`Kind::Io`] one); `None` for the others.
    pub fn duration(&self, workload: Workload) -> Option<Duration> {
        let millis = match workload {
            Workload::WakeRemote | Workload::WakeLocal => self.wake_millis,
            Workload::TcpEcho => self.echo_millis,
            Workload::HttpPlaintext => self.http_millis,
            _ => return None,
        };
        Some(Duration::from_millis(millis))
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
            wake_waiters: 4,
            wake_period_us: 200,
            wake_busy_us: 20,
            wake_millis: 50,
            echo_clients: 4,
            echo_message: 64,
            echo_millis: 20,
            http_connections: 4,
            http_millis: 100,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_kinds_match_units() {
        for workload in Workload::ALL {
            assert_eq!(Workload::from_name(workload.name()), Some(workload));
            let fixed_time = Sizes::full().duration(workload).is_some();
            assert_eq!(fixed_time, matches!(workload.kind(), Kind::Wake | Kind::Io), "{workload:?}");
        }
        assert_eq!(Workload::from_name("yield_lots"), None);
    }

    #[test]
    fn sizes_travel_as_json() {
        let sizes = Sizes::quick();
        let back: Sizes = serde_json::from_str(&serde_json::to_string(&sizes).unwrap()).unwrap();
        assert_eq!(back, sizes);
    }
}
