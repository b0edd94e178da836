//! The soak test: a randomized mix of everything a runtime does, for a while,
//! on every backend, with the books balanced at the end.
//!
//! ```text
//! cargo run --release -p soak -- --seconds 10
//! ```
//! (`cargo xtask soak --seconds 10` runs exactly that.)
//!
//! Each backend gets `--seconds` seconds of *rounds*. A round builds a runtime
//! with 1–4 workers and, for a few hundred milliseconds, drives a random mix
//! of operations from `block_on`: spawns at both priorities, tasks that
//! yield, tasks woken from another thread, tasks that spawn and await
//! children, tasks cancelled by dropping or `cancel()`ing their handle,
//! tasks that panic (awaited or detached), and tasks left pending for
//! shutdown to drop. The round then ends one of two ways, at random:
//! *quiesce* (await everything, check the counters at idle, then drop) or
//! *abrupt* (drop the runtime with work in flight).
//!
//! Invariants checked after every round:
//! - every future the round created was dropped exactly once (a ledger of
//!   guards moved into each future);
//! - `Metrics`: `spawned == completed + panicked + cancelled` and
//!   `live_tasks == 0` after shutdown; `completed` and `panicked` equal what
//!   the futures themselves recorded; at idle (quiesce) `spawned` equals the
//!   spawns the round made and `live_tasks` the tasks it left pending;
//! - nothing hangs: a round that overruns its deadline by 30 s fails.
//!
//! And after all rounds: the process has as many threads as before the
//! first round (`/proc/self/task`), and its resident memory (`VmRSS`) is
//! back near the baseline taken after a warm-up round.

use std::{
    future::Future,
    panic::AssertUnwindSafe,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc,
    },
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail, ensure};
use backends::BACKENDS;
use clap::Parser;
use futures_lite::FutureExt as _;
use runtime_core::{Priority, Queue, Runtime, testing::Signal};

#[derive(Debug, Parser)]
#[command(name = "soak", about = "Randomized soak test of every runtime backend")]
struct Args {
    /// Seconds to soak each backend for.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Only this backend.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(BACKENDS))]
    backend: Option<String>,
    /// Random seed (default: from the clock; printed, so a failure can be replayed).
    #[arg(long)]
    seed: Option<u64>,
    /// Allowed growth of resident memory over the baseline, in MiB.
    #[arg(long, default_value_t = 32)]
    rss_tolerance_mib: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    });
    let backends: Vec<&str> = match &args.backend {
        Some(backend) => vec![backend.as_str()],
        None => BACKENDS.to_vec(),
    };
    quiet_soak_panics();
    eprintln!("soak: seed {seed}, {} s per backend, backends {backends:?}", args.seconds);

    // Warm up (thread-local caches, allocator arenas, lazy statics), then
    // take the baseline.
    let mut rng = Rng::new(seed);
    for backend in &backends {
        soak_backend(backend, Duration::from_millis(300), &mut rng).context("warm-up")?;
    }
    trim_heap();
    let threads_before = thread_count()?;
    let rss_before = rss_kib()?;
    eprintln!("soak: baseline {threads_before} threads, {} MiB resident", rss_before / 1024);

    for backend in &backends {
        let start = Instant::now();
        let totals = soak_backend(backend, Duration::from_secs(args.seconds), &mut rng)
            .with_context(|| format!("backend {backend} (seed {seed})"))?;
        eprintln!(
            "soak: {backend:>9}: {} rounds ({} abrupt), {} tasks spawned, {} polls, {} steals, in {:.1?}",
            totals.rounds,
            totals.abrupt,
            totals.spawned,
            totals.polls,
            totals.steals,
            start.elapsed()
        );
    }

    trim_heap();
    let threads_after = wait_for_threads(threads_before)?;
    ensure!(
        threads_after == threads_before,
        "thread leak: {threads_before} threads before, {threads_after} after"
    );
    let rss_after = rss_kib()?;
    let allowed = rss_before + args.rss_tolerance_mib * 1024;
    eprintln!(
        "soak: after: {threads_after} threads, {} MiB resident (baseline {} MiB, allowed {} MiB)",
        rss_after / 1024,
        rss_before / 1024,
        allowed / 1024
    );
    ensure!(rss_after <= allowed, "resident memory grew from {rss_before} KiB to {rss_after} KiB");
    eprintln!("soak: ok");
    Ok(())
}

#[derive(Debug, Default)]
struct Totals {
    rounds: u64,
    abrupt: u64,
    spawned: u64,
    polls: u64,
    steals: u64,
}

fn soak_backend(backend: &str, duration: Duration, rng: &mut Rng) -> anyhow::Result<Totals> {
    backends::with_backend!(backend, |Q| soak::<Q>(duration, rng))
        .unwrap_or_else(|| bail!("unknown backend {backend}"))
}

fn soak<Q: Queue>(duration: Duration, rng: &mut Rng) -> anyhow::Result<Totals> {
    let deadline = Instant::now() + duration;
    let mut totals = Totals::default();
    while Instant::now() < deadline {
        let length = Duration::from_millis(50 + rng.below(250));
        let abrupt = rng.below(3) == 0;
        let round_seed = rng.next();
        let outcome = round::<Q>(length, abrupt, round_seed).with_context(|| {
            format!("round {} (round seed {round_seed}, abrupt: {abrupt})", totals.rounds)
        })?;
        totals.rounds += 1;
        totals.abrupt += u64::from(abrupt);
        totals.spawned += outcome.spawned;
        totals.polls += outcome.polls;
        totals.steals += outcome.steals;
    }
    Ok(totals)
}

/// What every future of a round records, to check against `Metrics`.
#[derive(Debug, Default)]
struct Ledger {
    /// Futures created (each holds a [`Guard`]).
    created: AtomicU64,
    /// Guards dropped, i.e. futures dropped.
    dropped: AtomicU64,
    /// Spawns that returned a handle (the runtime may have refused them after shutdown).
    spawns: AtomicU64,
    /// Futures that ran to their end.
    completed: AtomicU64,
    /// Futures that panicked.
    panicked: AtomicU64,
}

/// Moved into every future; counts the future's destruction.
struct Guard(Arc<Ledger>);

impl Guard {
    fn new(ledger: &Arc<Ledger>) -> Self {
        ledger.created.fetch_add(1, Ordering::Relaxed);
        Guard(ledger.clone())
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

type BoxFuture = Pin<Box<dyn Future<Output = u64> + Send>>;

/// Everything a task of the round can reach.
#[derive(Clone)]
struct Env {
    ledger: Arc<Ledger>,
    /// Signals for the waker thread to fire later.
    to_fire: mpsc::Sender<Signal>,
}

impl Env {
    /// Wraps `body` so the ledger sees its creation, end, panic and drop.
    fn task(&self, body: impl Future<Output = u64> + Send + 'static) -> BoxFuture {
        let guard = Guard::new(&self.ledger);
        Box::pin(async move {
            let guard = guard;
            let out = body.await;
            guard.0.completed.fetch_add(1, Ordering::Relaxed);
            out
        })
    }

    fn spawn(
        &self,
        priority: Priority,
        body: impl Future<Output = u64> + Send + 'static,
    ) -> runtime_core::Task<u64> {
        self.ledger.spawns.fetch_add(1, Ordering::Relaxed);
        runtime_core::spawn_with(priority, self.task(body))
    }

    /// A random operation's future, as a task body.
    fn op(&self, kind: u64, depth: u32, seed: u64) -> BoxFuture {
        let mut rng = Rng::new(seed);
        let env = self.clone();
        match kind {
            // Compute.
            0 => {
                Box::pin(
                    async move { (0..rng.below(200)).fold(seed, |a, b| a.wrapping_mul(31).wrapping_add(b)) },
                )
            }
            // Yield a few times.
            1 => Box::pin(async move {
                let n = 1 + rng.below(20);
                for _ in 0..n {
                    runtime_core::yield_now().await;
                }
                n
            }),
            // Woken from another thread.
            2 => Box::pin(async move {
                let signal = Signal::default();
                if env.to_fire.send(signal.clone()).is_err() {
                    return 0;
                }
                signal.wait().await;
                1
            }),
            // Spawn children at random priorities and await them.
            3 if depth < 3 => Box::pin(async move {
                let children: Vec<_> = (0..1 + rng.below(3))
                    .map(|_| {
                        let kind = rng.below(3);
                        let body = env.op(kind, depth + 1, rng.next());
                        env.spawn(rng.priority(), body)
                    })
                    .collect();
                let mut sum = 0u64;
                for child in children {
                    sum = sum.wrapping_add(child.fallible().await.unwrap_or(0));
                }
                sum
            }),
            // Panic, sometimes after a yield.
            4 => Box::pin(async move {
                if rng.below(2) == 0 {
                    runtime_core::yield_now().await;
                }
                env.ledger.panicked.fetch_add(1, Ordering::Relaxed);
                std::panic::panic_any(SoakPanic)
            }),
            // Pending forever (cancelled by its handle or by shutdown).
            _ => Box::pin(async move {
                std::future::pending::<()>().await;
                0
            }),
        }
    }
}

/// The payload of the soak's deliberate panics (the panic hook keeps quiet about them).
struct SoakPanic;

#[derive(Debug)]
struct Outcome {
    spawned: u64,
    polls: u64,
    steals: u64,
}

fn round<Q: Queue>(length: Duration, abrupt: bool, seed: u64) -> anyhow::Result<Outcome> {
    let mut rng = Rng::new(seed);
    let workers = 1 + rng.below(4) as usize;
    let rt = Runtime::<Q>::builder().worker_threads(workers).thread_name("soak").build()?;
    let handle = rt.handle();
    let ledger = Arc::new(Ledger::default());
    let (to_fire, fire_rx) = mpsc::channel::<Signal>();
    let firing_seed = rng.next();
    let waker = thread::Builder::new().name("soak-waker".into()).spawn(move || {
        let mut rng = Rng::new(firing_seed);
        for signal in fire_rx {
            if rng.below(4) == 0 {
                thread::yield_now();
            }
            signal.fire();
        }
    })?;
    let env = Env { ledger: ledger.clone(), to_fire };
    let watchdog = Watchdog::start(length + Duration::from_secs(30));

    let deadline = Instant::now() + length;
    let mut kept_pending = 0u64;
    let driver_env = env.clone();
    let result = rt.block_on(async {
        let env = driver_env;
        let mut joins: Vec<(runtime_core::Task<u64>, bool)> = Vec::new();
        while Instant::now() < deadline {
            for _ in 0..1 + rng.below(64) {
                let kind = rng.below(10);
                let body = env.op(kind.min(5), 0, rng.next());
                let task = env.spawn(rng.priority(), body);
                match kind {
                    // Panics: await some (the panic must reach us), detach the rest.
                    4 if rng.below(2) == 0 => task.detach(),
                    4 => joins.push((task, true)),
                    // Pending forever: cancel now, cancel by drop, or leave for shutdown.
                    5..=9 => match rng.below(3) {
                        0 => drop(task.cancel().await),
                        1 => drop(task),
                        _ => {
                            task.detach();
                            kept_pending += 1;
                        }
                    },
                    _ if rng.below(4) == 0 => task.detach(),
                    _ => joins.push((task, false)),
                }
            }
            if joins.len() > 256 || rng.below(4) == 0 {
                let keep = if abrupt { joins.len() / 2 } else { 0 };
                for (task, panics) in joins.drain(keep..) {
                    let result = AssertUnwindSafe(task).catch_unwind().await;
                    if result.is_err() != panics {
                        return Err(anyhow::anyhow!("task panicked: {}, expected {panics}", result.is_err()));
                    }
                }
            }
            runtime_core::yield_now().await;
        }
        if !abrupt {
            for (task, panics) in joins.drain(..) {
                let result = AssertUnwindSafe(task).catch_unwind().await;
                ensure!(result.is_err() == panics, "task panicked: {}, expected {panics}", result.is_err());
            }
        }
        // Abrupt: the handles in `joins` are dropped here, cancelling them.
        Ok(())
    });
    result?;
    let phase_drive = Instant::now();

    if !abrupt {
        // Idle: detached work finishes; the books balance with the pending
        // tasks still live.
        let idle_by = Instant::now() + Duration::from_secs(10);
        loop {
            let m = rt.metrics();
            let spawns = ledger.spawns.load(Ordering::Relaxed);
            if m.live_tasks == kept_pending && m.queued == 0 && m.spawned == spawns {
                ensure!(m.spawned == m.completed + m.panicked + m.cancelled + m.live_tasks, "at idle: {m:?}");
                break;
            }
            ensure!(
                Instant::now() < idle_by,
                "never idle: {m:?}, {spawns} spawns, {kept_pending} left pending"
            );
            thread::sleep(Duration::from_millis(1));
        }
    }

    let phase_idle = Instant::now();
    drop(rt);
    let phase_drop = Instant::now();
    drop(env);
    waker.join().map_err(|_| anyhow::anyhow!("the waker thread panicked"))?;
    watchdog.stop();

    let m = handle.metrics();
    ensure!(m.live_tasks == 0, "live tasks after shutdown: {m:?}");
    ensure!(m.spawned == m.completed + m.panicked + m.cancelled, "unbalanced after shutdown: {m:?}");
    let created = ledger.created.load(Ordering::Relaxed);
    let dropped = ledger.dropped.load(Ordering::Relaxed);
    ensure!(created == dropped, "{created} futures created, {dropped} dropped (leaked or double-dropped)");
    ensure!(m.completed == ledger.completed.load(Ordering::Relaxed), "completed: {m:?} vs {ledger:?}");
    ensure!(m.panicked == ledger.panicked.load(Ordering::Relaxed), "panicked: {m:?} vs {ledger:?}");
    ensure!(m.spawned <= ledger.spawns.load(Ordering::Relaxed), "spawned: {m:?} vs {ledger:?}");
    if std::env::var_os("SOAK_DEBUG").is_some() {
        eprintln!(
            "round {length:?} abrupt={abrupt} workers={workers}: drive overran by {:?}, idle {:?}, drop {:?}, join {:?}",
            phase_drive.saturating_duration_since(deadline),
            phase_idle - phase_drive,
            phase_drop - phase_idle,
            phase_drop.elapsed()
        );
    }
    Ok(Outcome { spawned: m.spawned, polls: m.polls, steals: m.steals })
}

/// Aborts the process if a round hangs (a deadlock must not stall CI).
struct Watchdog {
    done: Arc<AtomicBool>,
    thread: thread::JoinHandle<()>,
}

impl Watchdog {
    fn start(limit: Duration) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        let thread = thread::Builder::new()
            .name("soak-watchdog".into())
            .spawn({
                let done = done.clone();
                move || {
                    let deadline = Instant::now() + limit;
                    while !done.load(Ordering::SeqCst) {
                        if Instant::now() > deadline {
                            eprintln!("soak: a round hung for {limit:?}: deadlock or lost wakeup");
                            std::process::exit(3);
                        }
                        thread::park_timeout(Duration::from_millis(50));
                    }
                }
            })
            .expect("spawn the watchdog");
        Watchdog { done, thread }
    }

    fn stop(self) {
        self.done.store(true, Ordering::SeqCst);
        self.thread.thread().unpark();
        let _ = self.thread.join();
    }
}

/// Keeps the default panic hook for every panic but the soak's own.
fn quiet_soak_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !info.payload().is::<SoakPanic>() {
            default(info);
        }
    }));
}

/// xorshift64*: enough randomness for choosing operations, and replayable.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn priority(&mut self) -> Priority {
        if self.below(4) == 0 { Priority::High } else { Priority::Low }
    }
}

fn thread_count() -> anyhow::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/task").context("count threads in /proc/self/task")?.count())
}

/// Joined threads disappear from `/proc` at once, but give stragglers a moment.
fn wait_for_threads(expected: usize) -> anyhow::Result<usize> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let n = thread_count()?;
        if n <= expected || Instant::now() > deadline {
            return Ok(n);
        }
        thread::sleep(Duration::from_millis(10));
    }
}

fn rss_kib() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status").context("read /proc/self/status")?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS in /proc/self/status")?;
    line.split_whitespace().nth(1).context("malformed VmRSS")?.parse().context("malformed VmRSS")
}

/// Returns freed heap memory to the OS, so that `VmRSS` measures what is
/// still allocated rather than what glibc keeps cached.
fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: `malloc_trim` only releases free memory at the top of glibc's
        // heaps and arenas; it has no preconditions and touches no live allocation.
        unsafe {
            malloc_trim(0);
        }
    }
}
